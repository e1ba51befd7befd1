# the loop's limit is a 64-bit value from the packet: no useful bound
ldxdw r4, [r1+0]
mov64 r3, 0
mov64 r0, 0
add64 r3, 1
jlt r3, r4, -2
exit
