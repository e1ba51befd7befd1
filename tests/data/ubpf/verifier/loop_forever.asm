mov64 r0, 0
add64 r0, 1
jne r0, 0, -2
exit
