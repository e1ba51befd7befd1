# A packet pointer as the buffer of bpf_xdp_load_bytes: as the kernel,
# only the map helpers and bpf_csum_diff take packet memory.
ldxw r2, [r1+0]
ldxw r3, [r1+4]
mov64 r4, r2
add64 r4, 8
jgt r4, r3, +6
mov64 r3, r2
mov64 r2, 0
mov64 r4, 8
call 190
mov64 r0, 2
exit
mov64 r0, 2
exit
