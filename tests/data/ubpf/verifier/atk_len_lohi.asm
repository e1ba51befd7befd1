# Attack: data - data_end (minus the length) compared unsigned with -14:
# true for long packets and for the empty one.
ldxw r2, [r1+0]
ldxw r3, [r1+4]
mov64 r4, r2
sub64 r4, r3
mov64 r5, -14
jgt r4, r5, +2
ldxb r0, [r2+13]
exit
mov64 r0, 2
exit
