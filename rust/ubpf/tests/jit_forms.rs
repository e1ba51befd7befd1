// SPDX-License-Identifier: GPL-2.0-or-later

//! The JIT compiles some instruction sequences into shorter x86-64 forms
//! (the rbpf patch): the zero-extension `mov; lsh 32; rsh 32` (and the two
//! shifts alone) as one 32-bit `mov`, unless a jump lands inside it;
//! 32-bit unsigned constants as a 32-bit `mov`; a comparison with 0 as a
//! `test`; a load of 0 as an `xor`; a jump to an `exit` straight to the
//! epilogue.  Each program here runs on the interpreter and on the JIT,
//! with and without a proof, on random packets, against the value
//! computed in Rust.

mod common;

use common::{insn, Rng};
use ubpf::{Convention, Engine, Program, Trust, VerifyOptions, Vm};

const LDXDW: u8 = 0x79;
const LDXB: u8 = 0x71;
const MOV64_REG: u8 = 0xbf;
const MOV64_IMM: u8 = 0xb7;
const MOV32_IMM: u8 = 0xb4;
const LSH64_IMM: u8 = 0x67;
const RSH64_IMM: u8 = 0x77;
const XOR64_REG: u8 = 0xaf;
const ADD64_IMM: u8 = 0x07;
const JEQ_IMM: u8 = 0x15;
const JNE_IMM: u8 = 0x55;
const JEQ32_IMM: u8 = 0x16;
const JGT_IMM: u8 = 0x25;
const JA: u8 = 0x05;
const LDDW: u8 = 0x18;
const EXIT: u8 = 0x95;

/// `r0 = 0; if r2 < 16 goto exit` then `body` (which reads r1 = the
/// packet, 16 bytes of it), then `exit`.
fn program(body: &[[u8; 8]]) -> Vec<u8> {
    let mut code = vec![
        insn(MOV64_IMM, 0, 0, 0, 0),
        // the length test jumps over the first exit
        insn(JGT_IMM, 2, 0, 1, 15),
        insn(EXIT, 0, 0, 0, 0),
        insn(LDXDW, 3, 1, 0, 0),
        insn(LDXB, 4, 1, 8, 0),
    ];
    code.extend_from_slice(body);
    code.push(insn(EXIT, 0, 0, 0, 0));
    code.concat()
}

/// Run `code` on every engine over random 16-byte packets (byte 8 zero
/// half of the time) and compare with `want(r3, r4)`, where r3 is the
/// packet's first 8 bytes and r4 its byte 8.
fn check(what: &str, code: &[u8], want: impl Fn(u64, u64) -> u64) {
    let prog = Program::from_bytecode(code).unwrap_or_else(|e| panic!("{what}: {e}"));
    let opts = VerifyOptions {
        convention: Convention::Raw,
        min_len: 0,
    };
    let proof = ubpf::verify(&prog, &opts).unwrap_or_else(|e| panic!("{what}: verify: {e}"));
    let mut engines = [
        (
            "interpreter",
            Vm::new(prog.clone(), Engine::Interpreter).unwrap(),
        ),
        (
            "JIT",
            Vm::new(prog.clone(), Engine::Jit(Trust::Trusted)).unwrap(),
        ),
        (
            "JIT with a proof",
            Vm::new(prog, Engine::Jit(Trust::Verified(proof))).unwrap(),
        ),
    ];
    let mut rng = Rng::new(0x5eed);
    for k in 0..64 {
        let mut pkt = [0u8; 16];
        for b in &mut pkt {
            *b = rng.next_u64() as u8;
        }
        if k % 2 == 0 {
            pkt[8] = 0;
        }
        let r3 = u64::from_le_bytes(pkt[..8].try_into().unwrap());
        let expect = want(r3, u64::from(pkt[8]));
        for (name, vm) in &mut engines {
            let got = vm
                .run(&mut pkt.clone())
                .unwrap_or_else(|e| panic!("{what}: {e}"));
            assert_eq!(got, expect, "{what} on the {name}, r3={r3:#x}");
        }
    }
}

#[test]
fn zero_extension_is_exact() {
    // mov; lsh 32; rsh 32
    check(
        "mov, lsh 32, rsh 32",
        &program(&[
            insn(MOV64_REG, 0, 3, 0, 0),
            insn(LSH64_IMM, 0, 0, 0, 32),
            insn(RSH64_IMM, 0, 0, 0, 32),
        ]),
        |r3, _| r3 & 0xffff_ffff,
    );
    // the two shifts alone, then a copy
    check(
        "lsh 32, rsh 32",
        &program(&[
            insn(LSH64_IMM, 3, 0, 0, 32),
            insn(RSH64_IMM, 3, 0, 0, 32),
            insn(MOV64_REG, 0, 3, 0, 0),
        ]),
        |r3, _| r3 & 0xffff_ffff,
    );
    // shifts of other amounts or other registers are not the sequence
    check(
        "lsh 32, rsh 31",
        &program(&[
            insn(MOV64_REG, 0, 3, 0, 0),
            insn(LSH64_IMM, 0, 0, 0, 32),
            insn(RSH64_IMM, 0, 0, 0, 31),
        ]),
        |r3, _| (r3 << 32) >> 31,
    );
    check(
        "lsh r0, rsh r3",
        &program(&[
            insn(MOV64_REG, 0, 3, 0, 0),
            insn(LSH64_IMM, 0, 0, 0, 32),
            insn(RSH64_IMM, 3, 0, 0, 32),
            insn(XOR64_REG, 0, 3, 0, 0),
        ]),
        |r3, _| (r3 << 32) ^ (r3 >> 32),
    );
}

#[test]
fn a_jump_into_the_sequence_keeps_it_apart() {
    // when byte 8 is 0 the jump lands on the rsh: r3 >> 32
    check(
        "jump to the rsh",
        &program(&[
            insn(MOV64_REG, 0, 3, 0, 0),
            insn(JEQ_IMM, 4, 0, 1, 0),
            insn(LSH64_IMM, 0, 0, 0, 32),
            insn(RSH64_IMM, 0, 0, 0, 32),
        ]),
        |r3, b| if b == 0 { r3 >> 32 } else { r3 & 0xffff_ffff },
    );
    // a jump to the lsh skips the mov: r0 keeps its 0
    check(
        "jump to the lsh",
        &program(&[
            insn(JEQ_IMM, 4, 0, 1, 0),
            insn(MOV64_REG, 0, 3, 0, 0),
            insn(LSH64_IMM, 0, 0, 0, 32),
            insn(RSH64_IMM, 0, 0, 0, 32),
        ]),
        |r3, b| if b == 0 { 0 } else { r3 & 0xffff_ffff },
    );
}

#[test]
fn constants_and_zero() {
    for c in [
        0u64,
        1,
        0x7fff_ffff,
        0x8000_0000,
        0xffff_ff00,
        0xffff_ffff,
        1 << 32,
    ] {
        let lddw = [
            insn(LDDW, 0, 0, 0, c as u32 as i32),
            insn(0, 0, 0, 0, (c >> 32) as u32 as i32),
        ];
        let mut body = lddw.to_vec();
        body.push(insn(XOR64_REG, 0, 3, 0, 0));
        check(&format!("lddw {c:#x}"), &program(&body), |r3, _| r3 ^ c);
    }
    // mov 0 and mov32 0 clear all 64 bits
    for op in [MOV64_IMM, MOV32_IMM] {
        check(
            "mov 0",
            &program(&[insn(MOV64_REG, 0, 3, 0, 0), insn(op, 0, 0, 0, 0)]),
            |_, _| 0,
        );
    }
    // mov -1: not a 32-bit unsigned constant
    check(
        "mov -1",
        &program(&[insn(MOV64_IMM, 0, 0, 0, -1)]),
        |_, _| u64::MAX,
    );
}

#[test]
fn comparisons_with_zero() {
    // 64-bit: r3 == 0 only when all 64 bits are; the packet makes the
    // low or high half zero often
    let body = |op: u8| {
        vec![
            insn(MOV64_REG, 5, 3, 0, 0),
            insn(JEQ_IMM, 4, 0, 1, 0),
            insn(LSH64_IMM, 5, 0, 0, 32),
            insn(MOV64_IMM, 0, 0, 0, 1),
            insn(op, 5, 0, 1, 0),
            insn(MOV64_IMM, 0, 0, 0, 2),
        ]
    };
    // r5 = r3 (byte 8 zero) or r3 << 32
    let r5 = |r3: u64, b: u64| if b == 0 { r3 } else { r3 << 32 };
    check("jeq 0", &program(&body(JEQ_IMM)), move |r3, b| {
        if r5(r3, b) == 0 {
            1
        } else {
            2
        }
    });
    check("jne 0", &program(&body(JNE_IMM)), move |r3, b| {
        if r5(r3, b) != 0 {
            1
        } else {
            2
        }
    });
    // 32-bit: only the low half counts (zero whenever r5 = r3 << 32)
    check("jeq32 0", &program(&body(JEQ32_IMM)), move |r3, b| {
        if r5(r3, b) as u32 == 0 {
            1
        } else {
            2
        }
    });
}

#[test]
fn jumps_to_an_exit() {
    // an exit in the middle of the program, reached by a conditional jump
    // and by a goto; the value set before each jump is the result
    check(
        "jumps to an exit",
        &program(&[
            insn(MOV64_IMM, 0, 0, 0, 7),
            insn(JEQ_IMM, 4, 0, 4, 0),
            insn(MOV64_IMM, 0, 0, 0, 8),
            insn(ADD64_IMM, 0, 0, 0, 1),
            insn(JGT_IMM, 4, 0, 1, 0x7f),
            insn(JA, 0, 0, 1, 0),
            insn(EXIT, 0, 0, 0, 0),
            insn(ADD64_IMM, 0, 0, 0, 100),
        ]),
        |_, b| match b {
            0 => 7,
            0x80.. => 9,
            _ => 109,
        },
    );
}
