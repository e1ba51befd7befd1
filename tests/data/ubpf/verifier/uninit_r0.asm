mov64 r1, 1
exit
