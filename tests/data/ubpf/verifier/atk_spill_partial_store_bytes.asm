# Attack: overwrite the low half of a spilled stack pointer, read the high
# half as a number.
stxdw [r10-8], r10
stw [r10-8], 0
ldxw r0, [r10-4]
exit
