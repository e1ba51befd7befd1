ldxdw r3, [r1+8]
stb [r3+0], 0
mov64 r0, 0
exit
