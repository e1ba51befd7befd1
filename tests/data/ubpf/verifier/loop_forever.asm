mov64 r0, 0
add64 r0, 1
ja -2
exit
