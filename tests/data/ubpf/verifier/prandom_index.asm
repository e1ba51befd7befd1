# random index below 8 into a packet of at least 14 bytes
mov64 r6, r1
call 7
and64 r0, 7
add64 r6, r0
ldxb r0, [r6+0]
exit
