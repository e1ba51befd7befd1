# Attack: the length as a number (data_end - data), then data - len: a
# pointer before the packet.
ldxw r2, [r1+0]
ldxw r3, [r1+4]
mov64 r4, r3
sub64 r4, r2
jlt r4, 14, +4
mov64 r5, r2
sub64 r5, r4
ldxb r0, [r5+0]
exit
mov64 r0, 2
exit
