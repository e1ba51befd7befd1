// SPDX-License-Identifier: GPL-2.0-or-later

//! Atomic operations and ISA v4 instructions from clang
//! (`-mcpu=v4`, `tests/data/ubpf/isa_v4.bpf.c`), in the interpreter and the
//! JIT, against a model of the program in Rust.

mod common;

use common::{clang_v4, compile_with, vms, Rng};
use ubpf::{Convention, Program, VerifyOptions};

const NOUT: usize = 40;
const WORDS: usize = 4 + NOUT;

fn load() -> Program {
    let obj = compile_with("isa_v4", &clang_v4(), &["-mcpu=v4"]);
    Program::load_file(&obj, None).unwrap_or_else(|e| panic!("{e}"))
}

/// What the program computes from the operands `a`, `b` and the load
/// bytes `bytes` (word 2 of the memory).
fn model(a: u64, b: u64, bytes: [u8; 8]) -> Vec<u64> {
    let mut o = vec![0u64; NOUT];
    let mut cell = a;
    o[0] = cell;
    cell = cell.wrapping_add(b);
    cell = cell.wrapping_add(3);
    o[1] = cell;
    o[2] = cell;
    cell |= b << 1;
    cell |= 0x100;
    o[3] = cell;
    o[4] = cell;
    cell &= !b;
    cell &= 0xffff_ffff_0fff_ffff;
    o[5] = cell;
    o[6] = cell;
    cell ^= a;
    cell ^= b;
    o[7] = cell;
    o[8] = cell;
    cell = a ^ b;
    o[9] = cell;
    if cell == a {
        cell = 7;
    }
    o[10] = cell;
    if cell == a ^ b {
        cell = 7;
    }
    o[11] = cell;

    let mut c = a as u32;
    o[12] = c.into();
    c = c.wrapping_add(b as u32).wrapping_add(5);
    o[13] = c.into();
    o[14] = c.into();
    c |= (b >> 32) as u32;
    o[15] = c.into();
    c &= !(b as u32);
    o[16] = c.into();
    c ^= a as u32;
    o[17] = c.into();
    o[18] = c.into();
    c = b as u32;
    o[19] = c.into();
    if c == b as u32 {
        c = (a >> 16) as u32;
    }
    o[20] = c.into();

    let (sa, sb) = (a as i64, b as i64);
    o[21] = (sa / sb) as u64;
    o[22] = (sa % sb) as u64;
    o[23] = i64::from(a as i32 / b as i32) as u64;
    o[24] = i64::from(a as i32 % b as i32) as u64;
    o[25] = (sa / -7) as u64;
    o[26] = (sa % -7) as u64;

    o[27] = i64::from(a as i8) as u64;
    o[28] = i64::from(a as i16) as u64;
    o[29] = i64::from(a as i32) as u64;
    o[30] = u64::from(i32::from(b as i8) as u32);
    o[31] = u64::from(i32::from(b as i16) as u32);

    o[32] = i64::from(bytes[1] as i8) as u64;
    o[33] = i64::from(i16::from_le_bytes([bytes[2], bytes[3]])) as u64;
    o[34] = i64::from(i32::from_le_bytes([bytes[4], bytes[5], bytes[6], bytes[7]])) as u64;

    o[35] = u64::from((a as u16).swap_bytes());
    o[36] = u64::from((a as u32).swap_bytes());
    o[37] = a.swap_bytes();
    o
}

/// Whether `code` has an instruction with opcode `op`, offset `off` and
/// immediate `imm` (None: any).
fn has(code: &[u8], op: u8, off: Option<i16>, imm: Option<i32>) -> bool {
    code.chunks_exact(8).any(|x| {
        x[0] == op
            && off.is_none_or(|off| i16::from_le_bytes([x[2], x[3]]) == off)
            && imm.is_none_or(|imm| i32::from_le_bytes([x[4], x[5], x[6], x[7]]) == imm)
    })
}

#[test]
fn clang_emits_the_new_instructions() {
    let prog = load();
    let code = prog.bytecode();
    let want: &[(&str, u8, Option<i16>, Option<i32>)] = &[
        ("lock add (64)", 0xdb, None, Some(0x00)),
        ("lock fetch add (64)", 0xdb, None, Some(0x01)),
        ("lock or (64)", 0xdb, None, Some(0x40)),
        ("lock fetch or (64)", 0xdb, None, Some(0x41)),
        ("lock and (64)", 0xdb, None, Some(0x50)),
        ("lock fetch and (64)", 0xdb, None, Some(0x51)),
        ("lock xor (64)", 0xdb, None, Some(0xa0)),
        ("lock fetch xor (64)", 0xdb, None, Some(0xa1)),
        ("xchg (64)", 0xdb, None, Some(0xe1)),
        ("cmpxchg (64)", 0xdb, None, Some(0xf1)),
        ("lock add (32)", 0xc3, None, Some(0x00)),
        ("lock fetch add (32)", 0xc3, None, Some(0x01)),
        ("lock fetch or (32)", 0xc3, None, Some(0x41)),
        ("lock fetch and (32)", 0xc3, None, Some(0x51)),
        ("lock fetch xor (32)", 0xc3, None, Some(0xa1)),
        ("xchg (32)", 0xc3, None, Some(0xe1)),
        ("cmpxchg (32)", 0xc3, None, Some(0xf1)),
        ("sdiv (64)", 0x3f, Some(1), None),
        ("sdiv imm (64)", 0x37, Some(1), Some(-7)),
        ("smod imm (64)", 0x97, Some(1), Some(7)),
        ("sdiv (32)", 0x3c, Some(1), None),
        ("movsx 8 (32)", 0xbc, Some(8), None),
        ("movsx 16 (32)", 0xbc, Some(16), None),
        ("movsx 8 (64)", 0xbf, Some(8), None),
        ("movsx 16 (64)", 0xbf, Some(16), None),
        ("movsx 32 (64)", 0xbf, Some(32), None),
        ("ldxsb", 0x91, None, None),
        ("ldxsh", 0x89, None, None),
        ("ldxsw", 0x81, None, None),
        ("bswap16", 0xd7, Some(0), Some(16)),
        ("bswap32", 0xd7, Some(0), Some(32)),
        ("bswap64", 0xd7, Some(0), Some(64)),
    ];
    let missing: Vec<&str> = want
        .iter()
        .filter(|(_, op, off, imm)| !has(code, *op, *off, *imm))
        .map(|w| w.0)
        .collect();
    assert!(missing.is_empty(), "clang did not emit {missing:?}");
}

#[test]
fn atomics_and_v4_in_both_engines() {
    let prog = load();
    let (mut int, mut jit) = vms(&prog);
    let mut rng = Rng::new(0x15a_0004);
    let mut cases: Vec<(u64, u64)> = vec![
        (0, 7),
        (u64::MAX, 2),
        (i64::MIN as u64, 3),
        (0x8000_0000, 0x1_0000_0002),
        (0x1234_5678_9abc_def0, 0xffff_ffff_ffff_fff9), // b = -7
    ];
    for _ in 0..200 {
        cases.push((rng.next_u64(), rng.next_u64() >> rng.below(64)));
    }
    for (a, b) in cases {
        // b must be a valid divisor in C: neither 0 nor -1, 64 and 32-bit
        if matches!(b as i64, 0 | -1) || matches!(b as i32, 0 | -1) {
            continue;
        }
        let bytes = rng.next_u64().to_le_bytes();
        let mut mem = vec![0u8; WORDS * 8];
        mem[0..8].copy_from_slice(&a.to_le_bytes());
        mem[8..16].copy_from_slice(&b.to_le_bytes());
        mem[16..24].copy_from_slice(&bytes);
        let mut m_int = mem.clone();
        let mut m_jit = mem.clone();
        assert_eq!(int.run(&mut m_int), Ok(1), "interpreter, a={a:#x} b={b:#x}");
        assert_eq!(jit.run(&mut m_jit), Ok(1), "jit, a={a:#x} b={b:#x}");
        let want = model(a, b, bytes);
        for (engine, m) in [("interpreter", &m_int), ("jit", &m_jit)] {
            let got: Vec<u64> = m[32..]
                .chunks_exact(8)
                .map(|w| u64::from_le_bytes(w.try_into().unwrap()))
                .collect();
            for (i, (g, w)) in got.iter().zip(&want).enumerate() {
                assert_eq!(g, w, "{engine}: output {i}, a={a:#x} b={b:#x}");
            }
        }
    }
}

#[test]
fn the_verifier_proves_atomics_and_v4() {
    // the verifier models every instruction of the program: it is proven
    // and then runs on the JIT with the proof, with the model's results
    let prog = load();
    let opts = VerifyOptions {
        convention: Convention::Raw,
        min_len: 0,
    };
    let proof = ubpf::verify(&prog, &opts).unwrap_or_else(|e| panic!("{e}"));
    let mut int = ubpf::Vm::new(prog.clone(), ubpf::Engine::Interpreter).unwrap();
    let mut jit = ubpf::Vm::new(prog, ubpf::Engine::Jit(ubpf::Trust::Verified(proof))).unwrap();
    let mut rng = Rng::new(7);
    for _ in 0..64 {
        let (a, b) = (rng.next_u64(), rng.next_u64());
        let bytes = rng.next_u64().to_le_bytes();
        let mut mem = vec![0u8; WORDS * 8];
        mem[..8].copy_from_slice(&a.to_le_bytes());
        mem[8..16].copy_from_slice(&b.to_le_bytes());
        mem[16..24].copy_from_slice(&bytes);
        let mut m_jit = mem.clone();
        assert_eq!(int.run(&mut mem), Ok(1));
        assert_eq!(jit.run(&mut m_jit), Ok(1));
        assert_eq!(mem, m_jit);
        let want = model(a, b, bytes);
        let got: Vec<u64> = m_jit[32..]
            .chunks_exact(8)
            .map(|w| u64::from_le_bytes(w.try_into().unwrap()))
            .collect();
        assert_eq!(got, want, "a={a:#x} b={b:#x}");
        // shorter memory: the program's length test refuses it
        let mut short = vec![0u8; 16];
        assert_eq!(jit.run(&mut short), Ok(0));
    }
}
