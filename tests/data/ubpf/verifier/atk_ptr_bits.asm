# Attack: test one bit of the stack pointer (jset): the address, bit by
# bit.
mov64 r0, 0
mov64 r2, r10
jset r2, 0x1000, +1
mov64 r0, 1
exit
