ldxdw r3, [r1+0]
add64 r1, r3
ldxb r0, [r1+0]
exit
