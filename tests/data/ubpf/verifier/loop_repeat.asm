mov64 r0, 0
ldxb r3, [r1+0]
mov64 r0, 1
jne r3, 0, -2
exit
