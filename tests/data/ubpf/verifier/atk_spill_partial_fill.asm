# Attack: a 4-byte read of a spilled stack pointer, written into the
# packet (half of a host address).
ldxw r2, [r1+0]
ldxw r3, [r1+4]
mov64 r6, r2
add64 r6, 8
jgt r6, r3, +3
stxdw [r10-8], r10
ldxw r4, [r10-8]
stxw [r2+0], r4
mov64 r0, 2
exit
