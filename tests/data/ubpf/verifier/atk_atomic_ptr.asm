# Attack: xchg a stack pointer into a stack slot holding a number, then
# read the slot back (a pointer stored as data).
mov64 r1, 0
stxdw [r10-8], r1
mov64 r2, r10
raw db2af8ffe1000000   # r2 = xchg(*(u64 *)(r10 - 8), r2)
ldxdw r0, [r10-8]
exit
