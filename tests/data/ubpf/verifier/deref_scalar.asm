mov64 r3, 100
ldxb r0, [r3+0]
exit
