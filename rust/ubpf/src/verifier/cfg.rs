// SPDX-License-Identifier: GPL-2.0-or-later

//! Control-flow facts the verifier needs: where to compare states
//! (prune points), which registers are live, which jumps go backward.

use crate::check::{Insn, CALL, EXIT, LDDW};

pub struct Cfg {
    /// States are compared (and stored) at these instructions.
    pub prune: Vec<bool>,
    /// Instructions more than one path reaches (several predecessors).
    pub join: Vec<bool>,
    /// Registers live on entry to each instruction (bit k = rk).
    pub live: Vec<u16>,
    /// Whether the program has bpf-to-bpf calls.
    pub has_calls: bool,
}

fn target(i: usize, rel: i64) -> Option<usize> {
    usize::try_from(i64::try_from(i).ok()? + 1 + rel).ok()
}

/// The target of jump instruction `x` at `i` (`gotol`, ISA v4's
/// `JMP32 | JA`, takes it from the immediate).
pub fn jump_target(x: &Insn, i: usize) -> Option<usize> {
    if x.code == GOTOL {
        target(i, i64::from(x.imm))
    } else {
        target(i, i64::from(x.off))
    }
}

/// ISA v4's long jump.
const GOTOL: u8 = 0x06;

/// Whether `x` is an atomic read-modify-write (`STX | ATOMIC`).
pub const fn is_atomic(x: &Insn) -> bool {
    x.code & 0x07 == 0x03 && x.code & 0xe0 == 0xc0
}

const ARGS: u16 = 0b11_1110;
const CALLER_SAVED: u16 = 0b11_1111;

/// Registers used, registers defined, successors.
fn effects(code: &[Insn], i: usize) -> (u16, u16, [Option<usize>; 2]) {
    let x = &code[i];
    let d = 1u16 << (x.dst & 15);
    let s = 1u16 << (x.src & 15);
    let by_reg = x.code & 0x08 != 0;
    let next = Some(i + 1);
    match x.code & 0x07 {
        0x00 if x.code == LDDW => (0, d, [Some(i + 2), None]),
        0x00 => (s | ARGS, 1, [next, None]),
        0x01 => (s, d, [next, None]),
        0x02 => (d, 0, [next, None]),
        0x03 if is_atomic(x) && x.imm == 0xf1 => (d | s | 1, 1, [next, None]),
        0x03 if is_atomic(x) && x.imm & 1 != 0 => (d | s, s, [next, None]),
        0x03 => (d | s, 0, [next, None]),
        0x04 | 0x07 => {
            let op = x.code & 0xf0;
            let src = if by_reg && op != 0xd0 { s } else { 0 };
            let dst = if op == 0xb0 { 0 } else { d };
            (src | dst, d, [next, None])
        }
        _ if x.code == CALL => (ARGS, CALLER_SAVED, [next, None]),
        _ if x.code == crate::check::CALLX => {
            let r = crate::check::callx_reg(x).unwrap_or(0);
            (ARGS | 1u16 << r, CALLER_SAVED, [next, None])
        }
        _ if x.code == EXIT => (1, 0, [None, None]),
        _ if x.code & 0xf0 == 0 => (0, 0, [jump_target(x, i), None]),
        _ => {
            let src = if by_reg { s } else { 0 };
            (d | src, 0, [next, jump_target(x, i)])
        }
    }
}

/// Instructions that begin an instruction slot (not second halves of
/// `lddw`).
fn starts(code: &[Insn]) -> Vec<bool> {
    let mut v = vec![false; code.len()];
    let mut i = 0;
    while i < code.len() {
        v[i] = true;
        i += if code[i].code == LDDW { 2 } else { 1 };
    }
    v
}

pub fn analyse(code: &[Insn]) -> Cfg {
    let n = code.len();
    let start = starts(code);
    let mut prune = vec![false; n];
    let mut has_calls = false;
    for i in (0..n).filter(|&i| start[i]) {
        let x = &code[i];
        let class = x.code & 0x07;
        if x.code == CALL {
            if x.src == 1 {
                has_calls = true;
                if let Some(p) = prune.get_mut(i + 1) {
                    *p = true;
                }
            }
        } else if (class == 0x05 || class == 0x06) && x.code != EXIT {
            if let Some(t) = jump_target(x, i).and_then(|t| prune.get_mut(t)) {
                *t = true;
            }
            if x.code & 0xf0 != 0 {
                if let Some(p) = prune.get_mut(i + 1) {
                    *p = true;
                }
            }
        }
    }
    let eff: Vec<_> = (0..n).map(|i| start[i].then(|| effects(code, i))).collect();
    let mut preds = vec![0u8; n];
    let mut backward = false;
    for (i, e) in eff.iter().enumerate() {
        for t in e.iter().flat_map(|e| e.2).flatten() {
            backward |= t <= i;
            if let Some(p) = preds.get_mut(t) {
                *p = p.saturating_add(1);
            }
        }
    }
    let join = preds.iter().map(|&p| p == 2).collect();
    // backward liveness, to a fixpoint (one pass without backward jumps)
    let mut live = vec![0u16; n];
    let mut changed = true;
    while changed {
        changed = false;
        for (i, e) in eff.iter().enumerate().rev() {
            let Some((used, defined, succ)) = e else {
                continue;
            };
            let out = succ
                .iter()
                .flatten()
                .filter(|&&t| t < n)
                .fold(0, |acc, &t| acc | live[t]);
            let l = used | (out & !defined);
            if l != live[i] {
                live[i] = l;
                changed = backward;
            }
        }
    }
    Cfg {
        prune,
        join,
        live,
        has_calls,
    }
}
