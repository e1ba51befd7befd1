stxdw [r1+0], r10
mov64 r0, 0
exit
