# struct xdp_md: 32-bit data/data_end loads (rewritten), check, read
ldxw r2, [r1+0]
ldxw r3, [r1+4]
mov64 r4, r2
add64 r4, 4
jgt r4, r3, +2
ldxw r0, [r2+0]
exit
mov64 r0, 0
exit
