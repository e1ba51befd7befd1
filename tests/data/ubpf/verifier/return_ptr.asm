mov64 r0, r1
exit
