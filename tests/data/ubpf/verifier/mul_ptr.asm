mul64 r1, 2
mov64 r0, 0
exit
