mov64 r0, 0
stxdw [r10-520], r0
exit
