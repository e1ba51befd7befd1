# Attack: call by register with a value the program read from the packet.
ldxw r2, [r1+0]
ldxw r3, [r1+4]
mov64 r4, r2
add64 r4, 1
jgt r4, r3, +3
ldxb r5, [r2+0]
raw 8d05000000000000   # callx r5
exit
mov64 r0, 2
exit
