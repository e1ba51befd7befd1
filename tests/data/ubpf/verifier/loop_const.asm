# sum 0..9 with a counted loop
mov64 r0, 0
mov64 r3, 0
add64 r0, r3
add64 r3, 1
jlt r3, 10, -3
exit
