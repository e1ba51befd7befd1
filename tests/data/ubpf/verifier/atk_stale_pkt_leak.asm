# Attack (found by the verifier fuzzer): a packet pointer kept across a
# helper that moves the packet (bpf_xdp_adjust_meta) and returned: as an
# unknown number it would hand the packet's host address to the caller.
# The kernel makes it unreadable for programs that may not leak pointers.
ldxw r8, [r1+0]
mov64 r2, 8
call 54
mov64 r0, r8
exit
