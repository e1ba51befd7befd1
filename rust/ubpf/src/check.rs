// SPDX-License-Identifier: GPL-2.0-or-later

//! Checks run on every program before it may run.
//!
//! These complement rbpf's structural verifier: every instruction must be
//! one of the ISA (RFC 9669, with the atomics and the v4 additions) that
//! rbpf executes (unknown encodings are refused instead of being silently
//! misinterpreted), registers and reserved fields must be valid, jumps and calls must stay inside the
//! program and never land on the second half of an `lddw`, and execution
//! cannot run past the last instruction.  Bpf-to-bpf calls must not
//! recurse.  Backward jumps are recorded ([`Checked::back_edge`]): a
//! program with loops only runs once the verifier proved that it
//! terminates; without loops every program terminates by construction.

use crate::error::ErrorKind;
use crate::helpers;

/// Size of one eBPF instruction slot.
pub const INSN_SIZE: usize = 8;

/// Most instructions a program may have.
pub const MAX_INSNS: usize = 32768;

/// Deepest bpf-to-bpf call nesting (rbpf's limit).
pub const MAX_CALL_DEPTH: usize = 8;

/// One decoded instruction slot.
#[derive(Clone, Copy, Debug)]
pub struct Insn {
    pub code: u8,
    pub dst: u8,
    pub src: u8,
    pub off: i16,
    pub imm: i32,
}

impl Insn {
    /// Decode slot `i` of `code` (which must be long enough).
    pub fn at(code: &[u8], i: usize) -> Self {
        let b = &code[i * INSN_SIZE..(i + 1) * INSN_SIZE];
        Self {
            code: b[0],
            dst: b[1] & 0x0f,
            src: b[1] >> 4,
            off: i16::from_le_bytes([b[2], b[3]]),
            imm: i32::from_le_bytes([b[4], b[5], b[6], b[7]]),
        }
    }
}

// Instruction classes
const LD: u8 = 0x00;
const LDX: u8 = 0x01;
const ST: u8 = 0x02;
const STX: u8 = 0x03;
const ALU: u8 = 0x04;
const JMP: u8 = 0x05;
const JMP32: u8 = 0x06;
const ALU64: u8 = 0x07;

const SRC_X: u8 = 0x08;

// ALU operations
const OP_DIV: u8 = 0x30;
const OP_NEG: u8 = 0x80;
const OP_MOD: u8 = 0x90;
const OP_MOV: u8 = 0xb0;
const OP_END: u8 = 0xd0;

// Atomic operations (immediate of STX | ATOMIC)
const ATOMIC_FETCH: i32 = 0x01;
const ATOMIC_XCHG: i32 = 0xe0 | ATOMIC_FETCH;
const ATOMIC_CMPXCHG: i32 = 0xf0 | ATOMIC_FETCH;

// JMP operations
const OP_JA: u8 = 0x00;
const OP_CALL: u8 = 0x80;
const OP_EXIT: u8 = 0x90;

/// Opcode of `lddw`.
pub const LDDW: u8 = 0x18;
/// Opcode of `call`.
pub const CALL: u8 = 0x85;
/// Call by register (`callx`, the register in `dst`): the verifier turns
/// it into a [`CALL`] of the helper whose ID it proves the register holds.
pub const CALLX: u8 = 0x8d;

/// The register of a `callx`: LLVM 19 and later put it in `dst`, older
/// LLVM (and uBPF) in the immediate.
pub fn callx_reg(x: &Insn) -> Option<u8> {
    match (x.dst, x.imm) {
        (d, 0) if d < 10 => Some(d),
        (0, r) => u8::try_from(r).ok().filter(|&r| r < 10),
        _ => None,
    }
}
/// Opcode of `exit`.
pub const EXIT: u8 = 0x95;

type Result<T> = std::result::Result<T, ErrorKind>;

// The checks below run on every instruction of every program loaded: the
// tests are inline, the errors built out of line.

#[inline]
fn reserved(insn: usize, ok: bool, detail: &'static str) -> Result<()> {
    if ok {
        Ok(())
    } else {
        Err(invalid_field(insn, detail))
    }
}

#[cold]
const fn invalid_field(insn: usize, detail: &'static str) -> ErrorKind {
    ErrorKind::InvalidField { insn, detail }
}

#[inline]
fn check_src(i: usize, x: &Insn) -> Result<()> {
    if x.src > 10 {
        return Err(bad_register(i, "invalid source register", x.src));
    }
    Ok(())
}

#[inline]
fn check_dst(i: usize, x: &Insn, write: bool) -> Result<()> {
    if x.dst > 10 || write && x.dst == 10 {
        return Err(bad_register(i, "invalid destination register", x.dst));
    }
    Ok(())
}

#[cold]
fn bad_register(insn: usize, what: &str, r: u8) -> ErrorKind {
    ErrorKind::InvalidRegister {
        insn,
        detail: if r == 10 {
            "r10 (frame pointer) is read-only".to_owned()
        } else {
            format!("{what} r{r}")
        },
    }
}

fn check_alu(i: usize, x: &Insn, is64: bool) -> Result<()> {
    let op = x.code & 0xf0;
    let by_reg = x.code & SRC_X != 0;
    match op {
        0x00..=0x70 | OP_NEG | OP_MOD | 0xa0 | OP_MOV | 0xc0 => {}
        OP_END => {
            // ALU: le/be (source bit); ALU64: bswap, which has no source bit
            reserved(
                i,
                !(is64 && by_reg),
                "bswap: invalid source bit (must be 0)",
            )?;
            reserved(i, x.src == 0, "byte swap: source register must be 0")?;
            reserved(i, x.off == 0, "byte swap: offset must be 0")?;
            if !matches!(x.imm, 16 | 32 | 64) {
                return Err(ErrorKind::InvalidField {
                    insn: i,
                    detail: "byte swap width must be 16, 32 or 64",
                });
            }
            return check_dst(i, x, true);
        }
        _ => {
            return Err(ErrorKind::InvalidOpcode {
                insn: i,
                opcode: x.code,
            })
        }
    }
    // The offset selects the signed variant of div/mod (1) and the
    // source width of movsx (8, 16, and 32 for 64-bit moves).
    let off_ok = match op {
        OP_DIV | OP_MOD => matches!(x.off, 0 | 1),
        OP_MOV if by_reg => matches!((x.off, is64), (0 | 8 | 16, _) | (32, true)),
        _ => x.off == 0,
    };
    if !off_ok {
        return Err(ErrorKind::InvalidField {
            insn: i,
            detail: match op {
                OP_DIV | OP_MOD => "div/mod: offset must be 0 (unsigned) or 1 (signed)",
                OP_MOV if by_reg && is64 => "mov: offset must be 0, or 8, 16 or 32 (movsx)",
                OP_MOV if by_reg => "mov32: offset must be 0, or 8 or 16 (movsx)",
                _ => "ALU instruction: offset must be 0",
            },
        });
    }
    if op == OP_NEG {
        reserved(i, !by_reg, "neg: invalid source bit")?;
        reserved(
            i,
            x.src == 0 && x.imm == 0,
            "neg: reserved fields must be 0",
        )?;
    } else if by_reg {
        reserved(i, x.imm == 0, "register operand: immediate must be 0")?;
        check_src(i, x)?;
    } else {
        reserved(
            i,
            x.src == 0,
            "immediate operand: source register must be 0",
        )?;
    }
    check_dst(i, x, true)
}

/// Which instructions are jump targets or function entries, and the
/// instruction count; filled by the first pass.
struct Flow {
    len: usize,
    /// `second[i]`: slot i is the second half of an lddw.
    second: Vec<bool>,
}

fn jump_target(i: usize, rel: i64, flow: &Flow) -> Result<usize> {
    let target = i64::try_from(i).unwrap_or(i64::MAX) + 1 + rel;
    let t = usize::try_from(target)
        .ok()
        .filter(|&t| t < flow.len)
        .ok_or(ErrorKind::JumpOutOfRange {
            insn: i,
            target,
            len: flow.len,
        })?;
    if flow.second[t] {
        return Err(ErrorKind::JumpIntoLddw { insn: i, target: t });
    }
    Ok(t)
}

fn check_jmp(
    i: usize,
    x: &Insn,
    flow: &Flow,
    calls: &mut Vec<(usize, usize)>,
    back: &mut Option<(usize, usize)>,
) -> Result<()> {
    let op = x.code & 0xf0;
    let class = x.code & 0x07;
    let by_reg = x.code & SRC_X != 0;
    match op {
        OP_JA if class == JMP32 => {
            // gotol: the offset is in the immediate
            reserved(
                i,
                !by_reg && x.src == 0 && x.dst == 0 && x.off == 0,
                "gotol: reserved fields must be 0",
            )?;
            let t = jump_target(i, i64::from(x.imm), flow)?;
            if t <= i && back.is_none() {
                *back = Some((i, t));
            }
            return Ok(());
        }
        OP_JA => {
            reserved(
                i,
                !by_reg && x.src == 0 && x.dst == 0 && x.imm == 0,
                "ja: reserved fields must be 0",
            )?;
        }
        OP_CALL | OP_EXIT if class == JMP32 => {
            return Err(ErrorKind::InvalidOpcode {
                insn: i,
                opcode: x.code,
            })
        }
        OP_CALL => {
            if by_reg {
                // callx (what clang -O0 emits for helper calls): only a
                // verified program runs it, the verifier proving which
                // helper the register names (see verifier::exec)
                reserved(
                    i,
                    x.src == 0 && x.off == 0 && callx_reg(x).is_some(),
                    "callx: reserved fields must be 0",
                )?;
                return Ok(());
            }
            reserved(
                i,
                x.dst == 0 && x.off == 0,
                "call: reserved fields must be 0",
            )?;
            return match x.src {
                0 => {
                    if helpers::is_known(x.imm) {
                        Ok(())
                    } else {
                        Err(ErrorKind::UnknownHelper { insn: i, id: x.imm })
                    }
                }
                1 => {
                    let t = jump_target(i, i64::from(x.imm), flow)?;
                    calls.push((i, t));
                    Ok(())
                }
                _ => Err(ErrorKind::UnsupportedInstruction {
                    insn: i,
                    what: "call to kernel function (kfunc)",
                }),
            };
        }
        OP_EXIT => {
            reserved(
                i,
                !by_reg && x.src == 0 && x.dst == 0 && x.off == 0 && x.imm == 0,
                "exit: reserved fields must be 0",
            )?;
            return Ok(());
        }
        0x10..=0x70 | 0xa0..=0xd0 => {
            check_dst(i, x, false)?;
            if by_reg {
                reserved(i, x.imm == 0, "register comparison: immediate must be 0")?;
                check_src(i, x)?;
            } else {
                reserved(
                    i,
                    x.src == 0,
                    "immediate comparison: source register must be 0",
                )?;
            }
        }
        _ => {
            return Err(ErrorKind::InvalidOpcode {
                insn: i,
                opcode: x.code,
            })
        }
    }
    let t = jump_target(i, i64::from(x.off), flow)?;
    if t <= i && back.is_none() {
        *back = Some((i, t));
    }
    Ok(())
}

fn check_mem(i: usize, x: &Insn) -> Result<()> {
    let class = x.code & 0x07;
    let mode = x.code & 0xe0;
    match (class, mode) {
        // absolute and indirect packet loads (legacy)
        (LD, 0x20 | 0x40) => {
            reserved(
                i,
                x.dst == 0 && x.off == 0,
                "ld_abs/ld_ind: reserved fields must be 0",
            )?;
            if mode == 0x20 {
                reserved(i, x.src == 0, "ld_abs: source register must be 0")
            } else {
                check_src(i, x)
            }
        }
        (LDX, 0x60) => {
            reserved(i, x.imm == 0, "load: immediate must be 0")?;
            check_src(i, x)?;
            check_dst(i, x, true)
        }
        // sign-extending loads: 1, 2 or 4 bytes
        (LDX, 0x80) => {
            reserved(
                i,
                x.code & 0x18 != 0x18,
                "sign-extending load: size must be b, h or w",
            )?;
            reserved(i, x.imm == 0, "load: immediate must be 0")?;
            check_src(i, x)?;
            check_dst(i, x, true)
        }
        (ST, 0x60) => {
            reserved(i, x.src == 0, "store immediate: source register must be 0")?;
            check_dst(i, x, false)
        }
        (STX, 0x60) => {
            reserved(i, x.imm == 0, "store: immediate must be 0")?;
            check_src(i, x)?;
            check_dst(i, x, false)
        }
        // atomic operations on [dst + off]: 4 or 8 bytes
        (STX, 0xc0) => {
            reserved(
                i,
                matches!(x.code & 0x18, 0x00 | 0x18),
                "atomic operation: size must be w or dw",
            )?;
            let known = matches!(x.imm & !ATOMIC_FETCH, 0x00 | 0x40 | 0x50 | 0xa0)
                || x.imm == ATOMIC_XCHG
                || x.imm == ATOMIC_CMPXCHG;
            reserved(i, known, "atomic operation: unknown operation (immediate)")?;
            check_src(i, x)?;
            check_dst(i, x, false)?;
            // the fetching operations but cmpxchg write the old value
            // into src (cmpxchg writes r0)
            if x.imm & ATOMIC_FETCH != 0 && x.imm != ATOMIC_CMPXCHG && x.src == 10 {
                return Err(ErrorKind::InvalidRegister {
                    insn: i,
                    detail: "r10 (frame pointer) is read-only".to_owned(),
                });
            }
            Ok(())
        }
        _ => Err(ErrorKind::InvalidOpcode {
            insn: i,
            opcode: x.code,
        }),
    }
}

/// What the checks found out about a program.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Checked {
    /// The first backward jump (instruction, target), if any.
    pub back_edge: Option<(usize, usize)>,
}

/// Check `code` (a whole program, entry at instruction 0).
pub fn check(code: &[u8]) -> Result<Checked> {
    if code.is_empty() {
        return Err(ErrorKind::Truncated("the program is empty".to_owned()));
    }
    if code.len() % INSN_SIZE != 0 {
        return Err(ErrorKind::Truncated(format!(
            "size {} is not a multiple of {INSN_SIZE}",
            code.len()
        )));
    }
    let len = code.len() / INSN_SIZE;
    if len > MAX_INSNS {
        return Err(ErrorKind::TooManyInstructions {
            count: len,
            max: MAX_INSNS,
        });
    }

    // First pass: find lddw pairs.
    let mut second = vec![false; len];
    let mut j = 0;
    while j < len {
        let x = Insn::at(code, j);
        if x.code == LDDW {
            if j + 1 >= len {
                return Err(ErrorKind::IncompleteLddw { insn: j });
            }
            let y = Insn::at(code, j + 1);
            if y.code != 0 || y.dst != 0 || y.src != 0 || y.off != 0 {
                return Err(ErrorKind::InvalidField {
                    insn: j + 1,
                    detail: "second half of lddw must have zero opcode, registers and offset",
                });
            }
            second[j + 1] = true;
            j += 2;
        } else {
            j += 1;
        }
    }
    let flow = Flow { len, second };

    // Second pass: each instruction.
    let mut calls = Vec::new();
    let mut back = None;
    let mut i = 0;
    while i < len {
        let x = Insn::at(code, i);
        match x.code & 0x07 {
            LD if x.code == LDDW => {
                reserved(i, x.off == 0, "lddw: offset must be 0")?;
                match x.src {
                    0 => {}
                    1 | 2 | 5 | 6 => {
                        return Err(ErrorKind::UnsupportedInstruction {
                            insn: i,
                            what: "lddw map reference (maps are not supported yet)",
                        })
                    }
                    _ => {
                        return Err(ErrorKind::UnsupportedInstruction {
                            insn: i,
                            what: "lddw pseudo source",
                        })
                    }
                }
                check_dst(i, &x, true)?;
                i += 2;
                continue;
            }
            LD | LDX | ST | STX => check_mem(i, &x)?,
            ALU => check_alu(i, &x, false)?,
            ALU64 => check_alu(i, &x, true)?,
            JMP | JMP32 => check_jmp(i, &x, &flow, &mut calls, &mut back)?,
            _ => {
                return Err(ErrorKind::InvalidOpcode {
                    insn: i,
                    opcode: x.code,
                })
            }
        }
        i += 1;
    }

    // The last instruction must not fall through (only it can run past
    // the end).
    let last = len - 1;
    let x = Insn::at(code, last);
    // exit, ja or gotol
    if x.code != EXIT && x.code != JMP | OP_JA && x.code != JMP32 | OP_JA {
        return Err(ErrorKind::FallsOffEnd { insn: last });
    }

    check_calls(len, &calls)?;
    Ok(Checked { back_edge: back })
}

/// Refuse recursion and too deep nesting of bpf-to-bpf calls.
fn check_calls(len: usize, calls: &[(usize, usize)]) -> Result<()> {
    if calls.is_empty() {
        return Ok(());
    }
    // Function entries: 0 and every call target; a call belongs to the
    // function whose entry is the closest one at or before it.
    let mut entries: Vec<usize> = calls.iter().map(|&(_, t)| t).collect();
    entries.push(0);
    entries.sort_unstable();
    entries.dedup();
    let func_of = |insn: usize| match entries.binary_search(&insn) {
        Ok(k) => k,
        Err(k) => k - 1,
    };
    let mut edges: Vec<Vec<(usize, usize)>> = vec![Vec::new(); entries.len()];
    for &(at, t) in calls {
        let callee = entries.binary_search(&t).unwrap_or(0);
        edges[func_of(at)].push((at, callee));
    }
    debug_assert!(len > 0);

    // Depth-first search from the entry; state 1 = on the path, 2 = done
    // (with its depth known).
    let mut state = vec![0u8; entries.len()];
    let mut depth = vec![0usize; entries.len()];
    dfs(0, &edges, &mut state, &mut depth)?;
    Ok(())
}

fn dfs(
    f: usize,
    edges: &[Vec<(usize, usize)>],
    state: &mut [u8],
    depth: &mut [usize],
) -> Result<usize> {
    state[f] = 1;
    let mut d = 0;
    for &(at, callee) in &edges[f] {
        let sub = match state[callee] {
            1 => return Err(ErrorKind::Recursion { insn: at }),
            2 => depth[callee],
            _ => dfs(callee, edges, state, depth)?,
        };
        if sub + 1 > MAX_CALL_DEPTH {
            return Err(ErrorKind::CallDepth {
                insn: at,
                max: MAX_CALL_DEPTH,
            });
        }
        d = d.max(sub + 1);
    }
    state[f] = 2;
    depth[f] = d;
    Ok(d)
}

/// `src` in rbpf's assembler syntax, as bytecode (for unit tests).
#[cfg(test)]
pub fn assemble(src: &str) -> Vec<u8> {
    rbpf::assembler::assemble(src)
        .unwrap()
        .iter()
        .flat_map(|w| w.to_le_bytes())
        .collect()
}
