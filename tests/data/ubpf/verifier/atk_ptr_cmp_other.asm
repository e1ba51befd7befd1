# Attack: a packet pointer compared with a stack pointer.
ldxw r2, [r1+0]
mov64 r0, 0
jgt r2, r10, +1
mov64 r0, 1
exit
