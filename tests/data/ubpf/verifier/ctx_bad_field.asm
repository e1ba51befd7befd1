ldxw r2, [r1+8]
mov64 r0, 0
exit
