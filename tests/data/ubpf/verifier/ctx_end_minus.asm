# read the last byte of the packet through data_end - 1
ldxdw r2, [r1+0]
ldxdw r3, [r1+8]
mov64 r4, r2
add64 r4, 1
jgt r4, r3, +3
mov64 r5, r3
ldxb r0, [r5-1]
exit
mov64 r0, 0
exit
