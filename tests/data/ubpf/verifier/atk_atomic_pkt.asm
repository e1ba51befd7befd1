# Attack: an atomic add into the packet (the kernel refuses atomics on
# packet memory too).
ldxw r2, [r1+0]
ldxw r3, [r1+4]
mov64 r4, r2
add64 r4, 8
jgt r4, r3, +2
mov64 r5, 1
raw db52000000000000   # lock *(u64 *)(r2 + 0) += r5
mov64 r0, 2
exit
