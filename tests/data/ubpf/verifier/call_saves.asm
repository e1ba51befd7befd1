# bpf-to-bpf calls keep the caller's r6-r9, whatever the callee writes:
# the JIT saves at each call site only the registers the called function
# may write (func_a: r7, r9; func_b: r6, r8, and r1-r5 through a helper).
# The corpus test runs it on the interpreter and the JIT: 4321 on both.
mov64 r6, 1
mov64 r7, 2
mov64 r8, 3
mov64 r9, 4
raw 8510000008000000   # call func_a (insn 13)
mul64 r7, 10
mul64 r8, 100
mul64 r9, 1000
mov64 r0, r6
add64 r0, r7
add64 r0, r8
add64 r0, r9
exit
# func_a: writes r7 and r9, which must survive its own call
mov64 r7, 20
mov64 r9, 40
raw 8510000003000000   # call func_b (insn 19)
add64 r7, r9
mov64 r0, r7
exit
# func_b: writes r6 and r8, and calls a helper
mov64 r6, 7
mov64 r8, 9
call 7
mov64 r0, r6
add64 r0, r8
exit
