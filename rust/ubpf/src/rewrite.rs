// SPDX-License-Identifier: GPL-2.0-or-later

//! Load-time rewriting: instructions replaced by sequences of ordinary
//! instructions, with every jump and bpf-to-bpf call relocated (what the
//! kernel does when it patches a program).
//!
//! Two instructions need it, because rbpf cannot do what they mean:
//!
//! - `call bpf_tail_call`: a helper cannot end the program that called it.
//!   The helper records the target and returns 0 on success (a negative
//!   errno on failure, when the program goes on), and the rewrite appends
//!   `if r0 == 0 { exit }` behind the call: the program ends, and the run
//!   loop ([`crate::Vm`]) runs the target on the same context.  The exit
//!   path is an ordinary exit with r0 = 0, so the verifier, the
//!   interpreter and the JIT need nothing special, and the verifier proves
//!   the rewritten program.  (A tail call in a bpf-to-bpf function would
//!   only leave that function: it is refused, as the kernel refuses it for
//!   programs without BTF function information.)
//! - `ld_abs`/`ld_ind` (legacy packet loads): replaced, as the kernel's
//!   `bpf_gen_ld_abs` does, by the offset in r2 (the immediate, or the
//!   source register plus the immediate), the context (r6) in r1, a call
//!   to an internal load helper ([`crate::helpers::LD_ABS_B`], `_H`, `_W`)
//!   that returns the value in host order or a negative errno, and
//!   `if r0 s< 0 { r0 = 0; exit }`, which ends the program with 0.  As
//!   for tail calls, the kernel refuses them in bpf-to-bpf functions of
//!   programs without BTF function information, and so does this pass
//!   (there that exit would only leave the function).
//!
//! The internal helpers cannot be called by programs directly (their IDs
//! are refused by the load-time checks); only this pass inserts them.

use crate::check::{Insn, CALL, CALLX, EXIT, INSN_SIZE, LDDW};
use crate::error::ErrorKind;
use crate::helpers;

/// A program after rewriting, and how its instructions map to the
/// original's.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Rewritten {
    pub code: Vec<u8>,
    /// Per original instruction slot: its index in `code` (the first
    /// instruction of its replacement).
    pub new_index: Vec<usize>,
    /// Per instruction slot of `code`: the original instruction it comes
    /// from.
    pub old_index: Vec<usize>,
}

impl Rewritten {
    /// Whether anything was inserted.
    pub fn changed(&self) -> bool {
        self.old_index.len() != self.new_index.len()
    }
}

fn raw(code: u8, dst: u8, src: u8, off: i16, imm: i32) -> [u8; INSN_SIZE] {
    let mut b = [0u8; INSN_SIZE];
    b[0] = code;
    b[1] = (src << 4) | (dst & 0x0f);
    b[2..4].copy_from_slice(&off.to_le_bytes());
    b[4..8].copy_from_slice(&imm.to_le_bytes());
    b
}

const MOV64_IMM: u8 = 0xb7;
const MOV64_REG: u8 = 0xbf;
const ADD64_IMM: u8 = 0x07;
const JNE_IMM: u8 = 0x55;
const JSGE_IMM: u8 = 0x75;

/// Whether `x` is a legacy packet load (`ld_abs`/`ld_ind`).
pub const fn is_ld_abs(x: &Insn) -> bool {
    x.code & 0x07 == 0x00 && x.code != LDDW
}

/// The replacement of a legacy packet load, or why it has none.
fn ld_abs(i: usize, x: &Insn) -> Result<Vec<[u8; INSN_SIZE]>, ErrorKind> {
    let helper = match x.code & 0x18 {
        0x10 => helpers::LD_ABS_B,
        0x08 => helpers::LD_ABS_H,
        0x00 => helpers::LD_ABS_W,
        _ => {
            return Err(ErrorKind::InvalidOpcode {
                insn: i,
                opcode: x.code,
            })
        }
    };
    let mut seq = Vec::with_capacity(7);
    if x.code & 0xe0 == 0x40 {
        // ld_ind: r2 = src + imm, computed before r1 is overwritten
        seq.push(raw(MOV64_REG, 2, x.src, 0, 0));
        if x.imm != 0 {
            seq.push(raw(ADD64_IMM, 2, 0, 0, x.imm));
        }
    } else {
        seq.push(raw(MOV64_IMM, 2, 0, 0, x.imm));
    }
    seq.push(raw(MOV64_REG, 1, 6, 0, 0));
    seq.push(raw(CALL, 0, 0, 0, helper));
    // a failed load ends the program (or function) with 0
    seq.push(raw(JSGE_IMM, 0, 0, 2, 0));
    seq.push(raw(MOV64_IMM, 0, 0, 0, 0));
    seq.push(raw(EXIT, 0, 0, 0, 0));
    Ok(seq)
}

/// The function each instruction belongs to: entries are 0 and the
/// targets of bpf-to-bpf calls, as in the load-time checks.
fn in_subprogram(code: &[Insn]) -> Vec<bool> {
    let mut entry = vec![false; code.len()];
    for (i, x) in code.iter().enumerate() {
        if x.code == CALL && x.src == 1 {
            let t = i64::try_from(i).unwrap_or(0) + 1 + i64::from(x.imm);
            if let Some(e) = usize::try_from(t).ok().and_then(|t| entry.get_mut(t)) {
                *e = true;
            }
        }
    }
    let mut sub = false;
    entry
        .iter()
        .enumerate()
        .map(|(i, &e)| {
            if e && i > 0 {
                sub = true;
            }
            sub
        })
        .collect()
}

/// Whether `bytes` may have something to rewrite (a quick scan of the
/// opcodes: the second half of an `lddw` may look like a candidate, never
/// the reverse).
pub fn needed(bytes: &[u8]) -> bool {
    bytes.chunks_exact(INSN_SIZE).any(|b| {
        let imm = i32::from_le_bytes([b[4], b[5], b[6], b[7]]);
        (b[0] & 0x07 == 0x00 && b[0] != LDDW && b[0] != 0)
            || (b[0] == CALL && b[1] >> 4 == 0 && imm == helpers::TAIL_CALL)
    })
}

/// Rewrite `bytes` (a program that passed the load-time checks): tail
/// calls and legacy packet loads as described in the module's
/// documentation.
pub fn rewrite(bytes: &[u8]) -> Result<Rewritten, ErrorKind> {
    let n = bytes.len() / INSN_SIZE;
    let code: Vec<Insn> = (0..n).map(|i| Insn::at(bytes, i)).collect();
    let mut patches: Vec<(usize, Vec<[u8; INSN_SIZE]>)> = Vec::new();
    let mut sub: Option<Vec<bool>> = None;
    let mut i = 0;
    while i < n {
        let x = code[i];
        if x.code == LDDW {
            i += 2;
            continue;
        }
        if is_ld_abs(&x) {
            let subs = sub.get_or_insert_with(|| in_subprogram(&code));
            if subs[i] {
                return Err(ErrorKind::UnsupportedInstruction {
                    insn: i,
                    what: "ld_abs/ld_ind in a bpf-to-bpf function (the kernel refuses them \
                           there for programs without BTF function information)",
                });
            }
            patches.push((i, ld_abs(i, &x)?));
        } else if x.code == CALL && x.src == 0 && x.imm == helpers::TAIL_CALL {
            let subs = sub.get_or_insert_with(|| in_subprogram(&code));
            if subs[i] {
                return Err(ErrorKind::UnsupportedInstruction {
                    insn: i,
                    what: "bpf_tail_call in a bpf-to-bpf function (tail calls leave only the \
                           main program, as in the kernel for programs without BTF function \
                           information)",
                });
            }
            let own: [u8; INSN_SIZE] = bytes[i * INSN_SIZE..(i + 1) * INSN_SIZE]
                .try_into()
                .unwrap_or_default();
            patches.push((
                i,
                vec![own, raw(JNE_IMM, 0, 0, 1, 0), raw(EXIT, 0, 0, 0, 0)],
            ));
        }
        i += 1;
    }
    apply(bytes, &patches)
}

/// Replace each instruction `at` of `patches` (in increasing order, none
/// of them a jump or call to relocate) by its sequence, and relocate the
/// jumps and bpf-to-bpf calls of the other instructions: a jump to a
/// replaced instruction lands on the first of its sequence.  Jumps inside
/// a sequence are relative to the sequence and left as they are.
pub fn apply(
    bytes: &[u8],
    patches: &[(usize, Vec<[u8; INSN_SIZE]>)],
) -> Result<Rewritten, ErrorKind> {
    let n = bytes.len() / INSN_SIZE;
    let mut seqs: Vec<Option<&[[u8; INSN_SIZE]]>> = vec![None; n];
    for (at, seq) in patches {
        if let Some(slot) = seqs.get_mut(*at) {
            *slot = Some(seq);
        }
    }
    let mut new_index = Vec::with_capacity(n);
    let mut old_index = Vec::with_capacity(n);
    for (i, seq) in seqs.iter().enumerate() {
        new_index.push(old_index.len());
        let k = seq.map_or(1, <[_]>::len);
        old_index.extend(std::iter::repeat_n(i, k));
    }
    let total = old_index.len();
    if total == n {
        return Ok(Rewritten {
            code: bytes.to_vec(),
            new_index,
            old_index,
        });
    }
    if total > crate::check::MAX_INSNS {
        return Err(ErrorKind::TooManyInstructions {
            count: total,
            max: crate::check::MAX_INSNS,
        });
    }
    // the offset from (new) instruction `from` to the new place of the
    // original instruction `from_old + 1 + rel`
    let relocate = |from_old: usize, rel: i64| -> Result<i64, ErrorKind> {
        let t = i64::try_from(from_old).unwrap_or(0) + 1 + rel;
        let nt = usize::try_from(t)
            .ok()
            .and_then(|t| new_index.get(t))
            .ok_or(ErrorKind::JumpOutOfRange {
                insn: from_old,
                target: t,
                len: n,
            })?;
        Ok(i64::try_from(*nt).unwrap_or(0) - i64::try_from(new_index[from_old]).unwrap_or(0) - 1)
    };
    let mut out = Vec::with_capacity(total * INSN_SIZE);
    let mut i = 0;
    while i < n {
        if let Some(seq) = seqs[i] {
            for s in seq {
                out.extend_from_slice(s);
            }
            i += 1;
            continue;
        }
        let x = Insn::at(bytes, i);
        if x.code == LDDW {
            out.extend_from_slice(&bytes[i * INSN_SIZE..(i + 2) * INSN_SIZE]);
            i += 2;
            continue;
        }
        let mut b: [u8; INSN_SIZE] = bytes[i * INSN_SIZE..(i + 1) * INSN_SIZE]
            .try_into()
            .unwrap_or_default();
        let jump = matches!(x.code & 0x07, 0x05 | 0x06)
            && x.code != EXIT
            && x.code != CALL
            && x.code != CALLX;
        if x.code == CALL && x.src == 1 || x.code == 0x06 {
            // bpf-to-bpf call, gotol: the immediate
            let imm = i32::try_from(relocate(i, i64::from(x.imm))?).map_err(|_| too_far(i))?;
            b[4..8].copy_from_slice(&imm.to_le_bytes());
        } else if jump {
            let off = i16::try_from(relocate(i, i64::from(x.off))?).map_err(|_| too_far(i))?;
            b[2..4].copy_from_slice(&off.to_le_bytes());
        }
        out.extend_from_slice(&b);
        i += 1;
    }
    Ok(Rewritten {
        code: out,
        new_index,
        old_index,
    })
}

fn too_far(insn: usize) -> ErrorKind {
    ErrorKind::UnsupportedInstruction {
        insn,
        what: "jump whose offset no longer fits 16 bits once tail calls and ld_abs/ld_ind are \
               expanded",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::check::assemble as asm;

    #[test]
    fn jumps_over_and_onto_patches_are_relocated() {
        // 0: jeq r1, 0, +2 (to 3, over the ld_abs at 1)
        // 1: ldabsh 12
        // 2: ja -2 (back to 1: onto the patch's start)
        // 3: exit
        let code = asm("jeq r1, 0, +2\nldabsh 12\nja -2\nexit");
        let r = rewrite(&code).unwrap();
        assert!(r.changed());
        assert_eq!(r.new_index, [0, 1, 7, 8]);
        let first = Insn::at(&r.code, 0);
        assert_eq!(first.off, 7, "jeq now lands on exit at 8");
        let back = Insn::at(&r.code, 7);
        assert_eq!(back.off, -7, "ja lands on the patch's first instruction");
        assert_eq!(Insn::at(&r.code, 1).imm, 12);
        assert_eq!(Insn::at(&r.code, 3).imm, helpers::LD_ABS_H);
        assert_eq!(r.old_index[4], 1);
    }

    #[test]
    fn bpf_to_bpf_calls_are_relocated() {
        let code = asm("ldabsb 0\ncall 12\ncall 1\nexit\nmov r0, 1\nexit");
        // the assembler has no local calls: make insn 2 one (src 1)
        let mut code = code;
        code[2 * INSN_SIZE + 1] = 0x10;
        let r = rewrite(&code).unwrap();
        let call = Insn::at(&r.code, r.new_index[2]);
        let target = r.new_index[2] as i64 + 1 + i64::from(call.imm);
        assert_eq!(target as usize, r.new_index[4]);
    }

    #[test]
    fn tail_call_in_a_function_is_refused() {
        let mut code = asm("call 1\nexit\ncall 12\nexit");
        code[1] = 0x10;
        let e = rewrite(&code).unwrap_err();
        assert_eq!(e.insn(), Some(2));
    }
}
