# Cost: a counted loop (2^20 iterations) with every stack slot filled:
# each prune point compares full stack frames.  Refused by the work
# budget, quickly, instead of holding QEMU's main loop for seconds.
mov64 r1, 0
stxdw [r10-8], r1
stxdw [r10-16], r1
stxdw [r10-24], r1
stxdw [r10-32], r1
stxdw [r10-40], r1
stxdw [r10-48], r1
stxdw [r10-56], r1
stxdw [r10-64], r1
stxdw [r10-72], r1
stxdw [r10-80], r1
stxdw [r10-88], r1
stxdw [r10-96], r1
stxdw [r10-104], r1
stxdw [r10-112], r1
stxdw [r10-120], r1
stxdw [r10-128], r1
stxdw [r10-136], r1
stxdw [r10-144], r1
stxdw [r10-152], r1
stxdw [r10-160], r1
stxdw [r10-168], r1
stxdw [r10-176], r1
stxdw [r10-184], r1
stxdw [r10-192], r1
stxdw [r10-200], r1
stxdw [r10-208], r1
stxdw [r10-216], r1
stxdw [r10-224], r1
stxdw [r10-232], r1
stxdw [r10-240], r1
stxdw [r10-248], r1
stxdw [r10-256], r1
ldxdw r2, [r10-8]
add64 r2, 1
stxdw [r10-8], r2
mov64 r0, r2
jlt r2, 0x100000, -5
exit
