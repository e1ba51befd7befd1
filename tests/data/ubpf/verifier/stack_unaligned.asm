mov64 r0, 0
stw [r10-6], 1
exit
