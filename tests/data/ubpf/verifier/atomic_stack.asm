# Atomics on the stack: fetch-add and cmpxchg, results used as numbers.
mov64 r1, 5
stxdw [r10-8], r1
mov64 r2, 3
raw db2af8ff01000000   # r2 = atomic_fetch_add((u64 *)(r10 - 8), r2)
mov64 r0, 8
raw db2af8fff1000000   # r0 = cmpxchg((u64 *)(r10 - 8), r0, r2)
ldxdw r3, [r10-8]
add64 r0, r3
exit
