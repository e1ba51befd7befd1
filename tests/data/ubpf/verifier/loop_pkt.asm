# xor of up to 32 bytes of the packet: counter bound and length test
mov64 r0, 0
mov64 r3, 0
jge r3, r2, +6
mov64 r4, r1
add64 r4, r3
ldxb r5, [r4+0]
xor64 r0, r5
add64 r3, 1
jlt r3, 32, -7
exit
