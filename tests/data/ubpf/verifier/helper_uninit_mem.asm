mov64 r1, r10
add64 r1, -16
mov64 r2, 16
stdw [r10-8], 0
call 6
exit
