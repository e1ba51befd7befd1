# Attack on precision tracking: the first path learnt that the packet has
# 30 bytes, the second only 1; both then read byte 20 without another
# check.  What is known of the packet's length must stay part of the
# stored state's proof.
ldxw r2, [r1+0]
ldxw r3, [r1+4]
mov64 r6, r2
add64 r6, 30
jgt r6, r3, +1
ja +3
mov64 r6, r2
add64 r6, 1
jgt r6, r3, +2
ldxb r0, [r2+20]
exit
mov64 r0, 0
exit
