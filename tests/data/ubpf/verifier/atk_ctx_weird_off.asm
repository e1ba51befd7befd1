# Attack: the context pointer moved back, then a 4-byte load of data_end
# whose rewritten offset (+8 for the engine's 8-byte field) no longer
# fits an instruction: a saturating rewrite would load host bits.
mov64 r2, r1
add64 r2, -32763
ldxw r0, [r2+32767]
exit
