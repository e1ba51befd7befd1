# Attack (found by the verifier fuzzer): the packet pointer is NULL for an
# empty packet, so a test of it against 0 does not decide a branch; the
# path where r1 == 0 must be checked like any other.
jne r1, 0, +2
ldxb r0, [r1+0]
exit
mov64 r0, 0
exit
