ldxdw r2, [r1+0]
ldxdw r3, [r1+8]
mov64 r4, r2
add64 r4, 14
jgt r4, r3, +2
ldxb r0, [r2+14]
exit
mov64 r0, 0
exit
