# Attack on precision tracking: after the meeting point a comparison is
# decided by r7's value on the first path (0: never above 100), so the
# branch it does not take is never explored from there; the second path
# (r7 = 200) takes it, to an uninitialised stack read.
ldxw r2, [r1+0]
ldxw r3, [r1+4]
mov64 r4, r2
add64 r4, 1
jgt r4, r3, +10
ldxb r6, [r2+0]
jgt r6, 10, +2
mov64 r7, 0
ja +1
mov64 r7, 200
jgt r7, 100, +2
mov64 r0, 0
exit
ldxdw r0, [r10-16]
exit
mov64 r0, 0
exit
