# trace_printk with a format on the stack
stdw [r10-8], 0x6f6c6c65
mov64 r1, r10
add64 r1, -8
mov64 r2, 8
call 6
mov64 r0, 0
exit
