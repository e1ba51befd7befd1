# spill the packet pointer, reload it, read through it
stxdw [r10-8], r1
mov64 r1, 0
ldxdw r3, [r10-8]
ldxb r0, [r3+13]
exit
