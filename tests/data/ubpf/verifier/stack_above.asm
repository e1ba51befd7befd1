mov64 r0, 0
stb [r10+0], 1
exit
