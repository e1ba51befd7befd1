// SPDX-License-Identifier: GPL-2.0-or-later

//! Context provenance at load time: which instructions access the
//! context, and their rewriting into accesses of the engine's context
//! block ([`crate::progtype`]).
//!
//! A forward dataflow analysis over the whole program tracks, for every
//! register and 8-byte stack slot, whether it holds the context pointer
//! (plus a constant offset), a stack pointer (plus a constant offset),
//! something else, or different things on different paths.  Like the
//! kernel:
//!
//! - an access through a register that holds the context on one path and
//!   something else on another is refused;
//! - the context pointer must be unmodified at an access (the field is
//!   named by the instruction's offset);
//! - only fields of the program type's context are accessible, with the
//!   sizes and the writability the type describes.
//!
//! The result is used for unverified and verified programs alike: the
//! verifier checks that its own (path-sensitive) view agrees access by
//! access, so proofs are about exactly this rewriting.  The same pass
//! refuses calls to helpers the program type may not use.

use std::collections::BTreeMap;

use crate::check::{Insn, CALL, EXIT, INSN_SIZE, LDDW};
use crate::progtype::{ctx_field, CtxField, ProgType, CTX_FIELDS};

/// One context access.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CtxAccess {
    /// The field.
    pub field: CtxField,
    /// Offset in the kernel structure.
    pub off: i64,
    /// A store.
    pub write: bool,
}

/// What the analysis found: per instruction, its context access.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Analysis {
    /// Per instruction slot (empty for types without a context).
    pub access: Vec<Option<CtxAccess>>,
    /// The program with its context accesses rewritten.
    pub code: Vec<u8>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum V {
    Ctx(i64),
    Fp(i64),
    Other,
    /// The context on one path, something else on another.
    Mixed,
}

fn join(a: V, b: V) -> V {
    match (a, b) {
        _ if a == b => a,
        (V::Ctx(_), _) | (_, V::Ctx(_)) | (V::Mixed, _) | (_, V::Mixed) => V::Mixed,
        _ => V::Other,
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
struct St {
    regs: [V; 11],
    stack: BTreeMap<i64, V>,
}

impl St {
    fn join(&self, o: &Self) -> Self {
        let mut regs = self.regs;
        for (r, b) in regs.iter_mut().zip(o.regs) {
            *r = join(*r, b);
        }
        let mut stack = BTreeMap::new();
        for (k, v) in &self.stack {
            stack.insert(*k, join(*v, o.stack.get(k).copied().unwrap_or(V::Other)));
        }
        for (k, v) in &o.stack {
            stack.entry(*k).or_insert_with(|| join(*v, V::Other));
        }
        stack.retain(|_, v| *v != V::Other);
        Self { regs, stack }
    }

    fn entry(ctx_in_r1: bool) -> Self {
        let mut regs = [V::Other; 11];
        if ctx_in_r1 {
            regs[1] = V::Ctx(0);
        }
        regs[10] = V::Fp(0);
        Self {
            regs,
            stack: BTreeMap::new(),
        }
    }

    /// A store of `size` bytes at stack offset `at`.
    fn store(&mut self, at: i64, size: i64, v: V) {
        let lo = at.div_euclid(8) * 8;
        let mut k = lo;
        while k < at + size {
            self.stack.remove(&k);
            k += 8;
        }
        if size == 8 && at % 8 == 0 && v != V::Other {
            self.stack.insert(at, v);
        }
    }
}

const fn size_of(code: u8) -> i64 {
    match code & 0x18 {
        0x00 => 4,
        0x08 => 2,
        0x10 => 1,
        _ => 8,
    }
}

/// Why the analysis refused the program: instruction, register, text.
pub type Refusal = (usize, Option<u8>, String);

fn fail<T>(insn: usize, reg: Option<u8>, msg: impl Into<String>) -> Result<T, Refusal> {
    Err((insn, reg, msg.into()))
}

/// Successors of instruction `i` within its function (calls continue at
/// the next instruction; their targets are entered separately).
fn successors(code: &[Insn], i: usize) -> Vec<usize> {
    let x = code[i];
    let class = x.code & 0x07;
    if x.code == LDDW {
        return vec![i + 2];
    }
    if x.code == EXIT {
        return Vec::new();
    }
    if matches!(class, 0x05 | 0x06) && x.code != CALL && x.code != crate::check::CALLX {
        let off = if x.code == 0x06 {
            i64::from(x.imm)
        } else {
            i64::from(x.off)
        };
        let t = usize::try_from(i64::try_from(i).unwrap_or(0) + 1 + off).unwrap_or(usize::MAX);
        // `ja` (0x05) and `gotol` (0x06 with op 0) are unconditional
        if x.code & 0xf0 == 0x00 {
            return vec![t];
        }
        return vec![i + 1, t];
    }
    vec![i + 1]
}

/// Why a program of type `ty` may not call helper `id`.
fn not_available(id: i32, ty: ProgType) -> String {
    if crate::helpers::is_internal(id) {
        return format!("ld_abs/ld_ind is not available to {} programs", ty.name());
    }
    format!(
        "{} is not available to {} programs",
        crate::helpers::describe_helper(id),
        ty.name()
    )
}

/// Whether the helpers `bytes` calls are available to type `ty`.
fn check_helpers(bytes: &[u8], ty: ProgType) -> Result<(), Refusal> {
    let n = bytes.len() / INSN_SIZE;
    let mut i = 0;
    while i < n {
        let code = bytes[i * INSN_SIZE];
        // helper calls only (src 0): decode just those
        if code == CALL && bytes[i * INSN_SIZE + 1] >> 4 == 0 {
            let x = Insn::at(bytes, i);
            if !ty.allows_helper(x.imm) {
                return fail(i, None, not_available(x.imm, ty));
            }
        }
        i += if code == LDDW { 2 } else { 1 };
    }
    Ok(())
}

/// Analyse `bytes` for program type `ty`.
pub fn analyse(bytes: &[u8], ty: ProgType) -> Result<Analysis, Refusal> {
    let n = bytes.len() / INSN_SIZE;
    let has_ctx = !ty.info().ctx.is_empty();
    if !has_ctx {
        // no context: nothing to follow, only the type's rules to check
        check_helpers(bytes, ty)?;
        return Ok(Analysis {
            access: Vec::new(),
            code: bytes.to_vec(),
        });
    }
    let code: Vec<Insn> = (0..n).map(|i| Insn::at(bytes, i)).collect();
    let mut states: Vec<Option<St>> = vec![None; n];
    let mut work: Vec<usize> = Vec::new();
    let enter = |sts: &mut Vec<Option<St>>, wl: &mut Vec<usize>, at: usize, s: St| {
        if at >= n {
            return;
        }
        let new = match &sts[at] {
            Some(old) => {
                let j = old.join(&s);
                if j == *old {
                    return;
                }
                j
            }
            None => s,
        };
        sts[at] = Some(new);
        wl.push(at);
    };
    if n > 0 {
        enter(&mut states, &mut work, 0, St::entry(has_ctx));
    }
    while let Some(i) = work.pop() {
        let Some(mut s) = states[i].clone() else {
            continue;
        };
        let x = code[i];
        let class = x.code & 0x07;
        let d = usize::from(x.dst);
        let sr = usize::from(x.src);
        match class {
            0x00 if x.code == LDDW => s.regs[d] = V::Other,
            0x00 => {
                // ld_abs / ld_ind (rewritten into calls before this pass)
                for r in 0..=5 {
                    s.regs[r] = V::Other;
                }
            }
            0x01 => {
                let v = match s.regs[sr] {
                    V::Fp(o) if size_of(x.code) == 8 => s
                        .stack
                        .get(&(o + i64::from(x.off)))
                        .copied()
                        .unwrap_or(V::Other),
                    _ => V::Other,
                };
                s.regs[d] = v;
            }
            0x02 | 0x03 => {
                if let V::Fp(o) = s.regs[d] {
                    let v = if class == 0x03 && x.code & 0xe0 == 0x60 {
                        s.regs[sr]
                    } else {
                        V::Other
                    };
                    s.store(o + i64::from(x.off), size_of(x.code), v);
                    if class == 0x03 && x.code & 0xe0 == 0xc0 {
                        // atomic: fetch results land in src or r0
                        s.regs[sr] = V::Other;
                        s.regs[0] = V::Other;
                    }
                } else if x.code & 0xe0 == 0xc0 {
                    s.regs[sr] = V::Other;
                    s.regs[0] = V::Other;
                }
            }
            0x04 => s.regs[d] = V::Other,
            0x07 => {
                let op = x.code & 0xf0;
                let k = x.code & 0x08 != 0;
                s.regs[d] = match (op, k, s.regs[d]) {
                    // mov64 rX, rY (not movsx)
                    (0xb0, true, _) if x.off == 0 => s.regs[sr],
                    (0x00, false, V::Ctx(o)) => V::Ctx(o + i64::from(x.imm)),
                    (0x10, false, V::Ctx(o)) => V::Ctx(o - i64::from(x.imm)),
                    (0x00, false, V::Fp(o)) => V::Fp(o + i64::from(x.imm)),
                    (0x10, false, V::Fp(o)) => V::Fp(o - i64::from(x.imm)),
                    (_, _, V::Ctx(_) | V::Mixed) => V::Mixed,
                    _ => V::Other,
                };
            }
            _ if x.code == CALL && x.src == 1 => {
                let t = usize::try_from(i64::try_from(i).unwrap_or(0) + 1 + i64::from(x.imm))
                    .unwrap_or(usize::MAX);
                let mut callee = St::entry(false);
                callee.regs[1..=5].copy_from_slice(&s.regs[1..=5]);
                enter(&mut states, &mut work, t, callee);
                for r in 0..=5 {
                    s.regs[r] = V::Other;
                }
            }
            _ if x.code == CALL || x.code == crate::check::CALLX => {
                for r in 0..=5 {
                    s.regs[r] = V::Other;
                }
            }
            _ => {}
        }
        for t in successors(&code, i) {
            enter(&mut states, &mut work, t, s.clone());
        }
    }
    // decide with the fixed point
    let mut access = vec![None; n];
    let mut out = bytes.to_vec();
    for i in 0..n {
        let Some(s) = &states[i] else { continue };
        let x = code[i];
        let class = x.code & 0x07;
        if x.code == CALL && x.src == 0 && !ty.allows_helper(x.imm) {
            return fail(i, None, not_available(x.imm, ty));
        }
        if x.code == CALL
            && x.src == 0
            && crate::helpers::is_internal(x.imm)
            && s.regs[1] != V::Ctx(0)
        {
            // the rewritten ld_abs/ld_ind copies r6 into r1 (crate::rewrite)
            return fail(
                i,
                Some(6),
                "ld_abs/ld_ind needs the context in r6 (the pointer the program received in \
                 r1), as in the kernel",
            );
        }
        let (base, write) = match class {
            0x01 => (x.src, false),
            0x02 | 0x03 => (x.dst, true),
            _ => continue,
        };
        let o = match s.regs[usize::from(base)] {
            V::Ctx(o) => o,
            V::Mixed => {
                return fail(
                    i,
                    Some(base),
                    format!(
                        "r{base} holds the context on one path and something else (or another \
                         context offset) on another: the same instruction must access the same \
                         kind of memory on every path"
                    ),
                )
            }
            _ => continue,
        };
        if o != 0 {
            return fail(
                i,
                Some(base),
                format!(
                    "access through a modified context pointer (r{base} = ctx{o:+}): name the \
                     field with the instruction's offset"
                ),
            );
        }
        if class == 0x03 && x.code & 0xe0 != 0x60 {
            return fail(i, Some(base), "atomic operation on the context");
        }
        let size = size_of(x.code);
        let off = i64::from(x.off);
        let field = ctx_field(ty, off, u32::try_from(size).unwrap_or(0), write)
            .map_err(|m| (i, Some(base), m))?;
        let sx = class == 0x01 && x.code & 0xe0 == 0x80;
        if field.is_pointer() && sx {
            return fail(
                i,
                Some(base),
                format!("sign-extending load of {}", field.name),
            );
        }
        if write && class == 0x03 && matches!(s.regs[usize::from(x.src)], V::Ctx(_) | V::Fp(_)) {
            return fail(
                i,
                Some(x.src),
                "storing a pointer into the context would leak a host address",
            );
        }
        let b = &mut out[i * INSN_SIZE..(i + 1) * INSN_SIZE];
        let new_off = if field.is_pointer() {
            b[0] = 0x79; // ldxdw
            field.block_off() as i64
        } else {
            off + CTX_FIELDS as i64
        };
        let new_off =
            i16::try_from(new_off).map_err(|_| (i, Some(base), "context offset".to_owned()))?;
        b[2..4].copy_from_slice(&new_off.to_le_bytes());
        access[i] = Some(CtxAccess { field, off, write });
    }
    Ok(Analysis { access, code: out })
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::check::assemble as asm;

    #[test]
    fn rewrites_xdp_pointers_and_skb_scalars() {
        let code = asm("ldxw r2, [r1+4]\nldxw r3, [r1]\nmov64 r0, 2\nexit");
        let a = analyse(&code, ProgType::Xdp).unwrap();
        assert_eq!(a.code[0], 0x79);
        assert_eq!(i16::from_le_bytes([a.code[2], a.code[3]]), 8);
        assert_eq!(a.code[8], 0x79);
        let code2 = asm("ldxw r2, [r1+8]\nstxw [r1+48], r2\nmov64 r0, 0\nexit");
        let b = analyse(&code2, ProgType::SchedCls).unwrap();
        assert_eq!(i16::from_le_bytes([b.code[2], b.code[3]]), 40);
        assert_eq!(i16::from_le_bytes([b.code[10], b.code[11]]), 80);
        analyse(&code2, ProgType::SocketFilter).unwrap();
        // mark is read-only for socket filters
        let code3 = asm("stw [r1+8], 1\nmov64 r0, 0\nexit");
        analyse(&code3, ProgType::SocketFilter).unwrap_err();
        analyse(&code3, ProgType::SchedCls).unwrap();
    }

    #[test]
    fn follows_spills_and_refuses_mixed() {
        let code4 = asm("stxdw [r10-8], r1\nmov64 r1, 0\nldxdw r6, [r10-8]\nldxw r0, [r6+4]\nexit");
        let a = analyse(&code4, ProgType::Xdp).unwrap();
        assert!(a.access[3].is_some());
        let code5 = asm("jeq r2, 0, +1\nmov64 r1, r10\nldxw r0, [r1-4]\nexit");
        analyse(&code5, ProgType::Xdp).unwrap_err();
        let code6 = asm("add64 r1, 4\nldxw r0, [r1]\nexit");
        analyse(&code6, ProgType::Xdp).unwrap_err();
    }
}
