# Code behind a branch the verifier decides never runs, so it is never
# checked (the kernel accepts such programs too): a callx whose helper is
# never proven, a call of a helper, an lddw.  The engine gets
# exits in their place (the kernel's sanitize_dead_code), so the JIT has
# nothing it cannot compile.  Found by the run_accepted fuzz target.
mov64 r0, 0
jeq r0, 0, +5
raw 8d01000000000000   # callx r1, never reached
call 7
lddw r3, 0x1122334455667788
exit
mov64 r0, 1
exit
