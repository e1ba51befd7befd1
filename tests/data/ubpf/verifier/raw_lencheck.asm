# raw convention, no minimum: test r2 before reading 4 bytes
jlt r2, 4, +2
ldxw r0, [r1+0]
exit
mov64 r0, 0
exit
