ldxw r2, [r1+20]
mov64 r0, 0
exit
