# 32-bit length test (as clang emits for int lengths)
mov64 r3, r2
jlt32 r3, 8, +2
ldxdw r0, [r1+0]
exit
mov64 r0, 0
exit
