# write 4 bytes, read them back as a word, then two halves
stb [r10-4], 1
stb [r10-3], 2
sth [r10-2], 3
ldxw r0, [r10-4]
ldxh r1, [r10-4]
add64 r0, r1
exit
