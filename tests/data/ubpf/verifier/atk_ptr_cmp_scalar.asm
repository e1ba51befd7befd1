# Attack: a packet pointer compared with a number: the branch taken
# depends on the host address.
ldxw r2, [r1+0]
mov64 r0, 0
lddw r3, 0x7f0000000000
jgt r2, r3, +1
mov64 r0, 1
exit
