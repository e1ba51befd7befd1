// SPDX-License-Identifier: GPL-2.0-or-later

//! Control-flow facts the verifier needs: where to compare states
//! (prune points), which registers are live, which jumps go backward.

use crate::check::{Insn, CALL, EXIT, LDDW};

#[derive(Default)]
pub struct Cfg {
    /// States are compared (and stored) at these instructions.
    pub prune: Vec<bool>,
    /// Instructions more than one path reaches (several predecessors).
    pub join: Vec<bool>,
    /// Registers live on entry to each instruction (bit k = rk).
    pub live: Vec<u16>,
    /// Whether the program has bpf-to-bpf calls.
    pub has_calls: bool,
    /// The first instruction no path from the entry reaches (following
    /// jumps, fall-throughs and bpf-to-bpf calls), if any: the kernel
    /// refuses such dead code.
    pub unreachable: Option<usize>,
    /// Memory of the analysis, kept for the next one (see [`Cfg::into_memory`]).
    memory: Memory,
}

/// The vectors of an analysis, emptied, for the next one to reuse.
#[derive(Default)]
pub struct Memory {
    prune: Vec<bool>,
    join: Vec<bool>,
    live: Vec<u16>,
    preds: Vec<u8>,
    eff: Vec<(u16, u16, [u32; 2])>,
    seen: Vec<bool>,
}

/// `v` emptied, then `n` times `x`.
pub fn refill<T: Clone>(mut v: Vec<T>, n: usize, x: T) -> Vec<T> {
    v.clear();
    v.resize(n, x);
    v
}

impl Memory {
    /// Bytes it takes.
    pub fn bytes(&self) -> usize {
        self.prune.capacity()
            + self.join.capacity()
            + self.live.capacity() * 2
            + self.preds.capacity()
            + self.eff.capacity() * std::mem::size_of::<(u16, u16, [u32; 2])>()
            + self.seen.capacity()
    }
}

impl Cfg {
    /// Its vectors, for the next analysis to reuse.
    pub fn into_memory(self) -> Memory {
        Memory {
            prune: self.prune,
            join: self.join,
            live: self.live,
            ..self.memory
        }
    }
}

fn target(i: usize, rel: i64) -> Option<usize> {
    usize::try_from(i64::try_from(i).ok()? + 1 + rel).ok()
}

/// The first instruction of the function a bpf-to-bpf call `x` at `i`
/// calls (the offset is in the immediate).
pub fn call_target(x: &Insn, i: usize) -> Option<usize> {
    target(i, i64::from(x.imm))
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

/// Analyse `code`, in `memory` (what an earlier analysis left).
pub fn analyse(code: &[Insn], memory: Memory) -> Cfg {
    let n = code.len();
    let mut prune = refill(memory.prune, n, false);
    let mut preds = refill(memory.preds, n, 0u8);
    // reached from the entry (the second half of a reached lddw too);
    // found in the first pass if every edge goes forward
    let mut seen = refill(memory.seen, n, false);
    if let Some(s) = seen.first_mut() {
        *s = true;
    }
    let mut has_calls = false;
    let mut backward = false;
    // per instruction: registers used, defined, successors (NONE: none)
    const NONE: u32 = u32::MAX;
    let mut eff = refill(memory.eff, n, (0u16, 0u16, [NONE; 2]));
    let mut slot = 0;
    while slot < n {
        let i = slot;
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
        let (used, defined, succ) = effects(code, i);
        let reached = seen[i];
        let mut out = [NONE; 2];
        for k in 0..2 {
            if let Some(t) = succ[k].filter(|&t| t < n) {
                backward |= t <= i;
                preds[t] = preds[t].saturating_add(1);
                seen[t] |= reached;
                out[k] = u32::try_from(t).unwrap_or(NONE);
            }
        }
        eff[i] = (used, defined, out);
        if x.code == LDDW {
            if let Some(s) = seen.get_mut(i + 1) {
                *s = reached;
            }
            slot += 2;
        } else {
            slot += 1;
        }
    }
    let mut join = memory.join;
    join.clear();
    join.extend(preds.iter().map(|&p| p == 2));
    if backward || has_calls {
        // reachability again, following backward jumps and bpf-to-bpf calls
        seen.iter_mut().for_each(|s| *s = false);
        let mut work = vec![0usize];
        while let Some(j) = work.pop() {
            if j >= n || seen[j] {
                continue;
            }
            seen[j] = true;
            let x = &code[j];
            if x.code == LDDW {
                if let Some(s) = seen.get_mut(j + 1) {
                    *s = true;
                }
            }
            work.extend(eff[j].2.iter().filter(|&&t| t != NONE).map(|&t| t as usize));
            if x.code == CALL && x.src == 1 {
                if let Some(t) = call_target(x, j) {
                    work.push(t);
                }
            }
        }
    }
    let unreachable = seen.iter().position(|&s| !s);
    // backward liveness, to a fixpoint (one pass without backward jumps)
    let mut live = refill(memory.live, n, 0u16);
    let mut changed = true;
    while changed {
        changed = false;
        for i in (0..n).rev() {
            let (used, defined, [a, b]) = eff[i];
            let at = |t: u32| if t == NONE { 0 } else { live[t as usize] };
            let l = used | ((at(a) | at(b)) & !defined);
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
        unreachable,
        memory: Memory {
            preds,
            eff,
            seen,
            ..Memory::default()
        },
    }
}
