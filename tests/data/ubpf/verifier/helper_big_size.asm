stdw [r10-8], 0
mov64 r1, r10
add64 r1, -8
mov64 r2, 1000
call 6
exit
