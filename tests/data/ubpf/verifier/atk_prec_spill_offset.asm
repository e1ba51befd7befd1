# Attack on precision tracking: two paths meet with r7 = 0 and r7 = 200;
# after the meeting point r7 goes through a stack slot and becomes a
# packet offset, safe only for 0.  The first path's state must keep r7
# (and the slot it is filled from) precise, or the second one would be
# pruned against it.
ldxw r2, [r1+0]
ldxw r3, [r1+4]
mov64 r4, r2
add64 r4, 20
jgt r4, r3, +10
ldxb r6, [r2+0]
jgt r6, 10, +2
mov64 r7, 0
ja +1
mov64 r7, 200
stxdw [r10-8], r7
ldxdw r5, [r10-8]
add64 r2, r5
ldxb r0, [r2+0]
exit
mov64 r0, 0
exit
