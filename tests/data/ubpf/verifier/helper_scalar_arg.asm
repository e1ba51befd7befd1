mov64 r1, 5
mov64 r2, 8
call 6
exit
