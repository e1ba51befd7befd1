mov64 r0, r5
exit
