# Attack on precision tracking: on the first path r8 is a copy of r7, so
# bounding r7 bounds r8; on the second r8 is another packet byte.  r8
# becomes a packet offset after r7 alone is bounded: the copy relation
# must be part of what the first path's proof relied on.
ldxw r2, [r1+0]
ldxw r3, [r1+4]
mov64 r4, r2
add64 r4, 16
jgt r4, r3, +12
ldxb r6, [r2+0]
ldxb r7, [r2+1]
jgt r6, 10, +2
mov64 r8, r7
ja +1
ldxb r8, [r2+2]
jgt r7, 10, +3
add64 r2, r8
ldxb r0, [r2+0]
exit
mov64 r0, 0
exit
mov64 r0, 0
exit
