# clang -O0 style helper call: the helper's ID in a register, callx; the
# verifier proves the ID and the engine calls the helper directly.
mov64 r1, 7
raw 8d01000000000000   # callx r1 (bpf_get_prandom_u32)
mov64 r0, 0
exit
