mov64 r2, 0
stxdw [r1+8], r2
mov64 r0, 0
exit
