# Attack: the distance between the stack and the packet, returned.
ldxw r2, [r1+0]
mov64 r0, r10
sub64 r0, r2
exit
