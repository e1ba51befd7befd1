ldxb r3, [r1+0]
mov64 r4, r10
add64 r4, r3
mov64 r0, 0
exit
