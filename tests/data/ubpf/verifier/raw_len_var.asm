# variable offset: off = pkt[0] & 0x3f; require off + 2 <= len; read pkt[off+1]
ldxb r3, [r1+0]
and64 r3, 0x3f
mov64 r4, r3
add64 r4, 2
jgt r4, r2, +4
mov64 r5, r1
add64 r5, r3
ldxb r0, [r5+1]
exit
mov64 r0, 0
exit
