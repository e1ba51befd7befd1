// SPDX-License-Identifier: GPL-2.0-or-later

//! Property: for random structured programs (length tests, constant and
//! variable-offset loads, `data_end` comparisons) that the verifier accepts,
//! the checked interpreter never reports an out-of-bounds access on random
//! packets.  Both outcomes must occur.

mod common;

use common::Rng;
use ubpf::{Convention, Engine, Program, RunError, VerifyOptions, Vm, VmOptions};

const END: i16 = i16::MAX; // placeholder: jump to the final "r0 = 0; exit"

fn ins(code: u8, dst: u8, src: u8, off: i16, imm: i32) -> [u8; 8] {
    let o = off.to_le_bytes();
    let i = imm.to_le_bytes();
    [code, dst | (src << 4), o[0], o[1], i[0], i[1], i[2], i[3]]
}

fn load_op(rng: &mut Rng) -> u8 {
    [0x71, 0x69, 0x61, 0x79][usize::try_from(rng.below(4)).unwrap()]
}

/// A random program; in the context convention r1 is first turned into
/// r1 = data, r2 = `data_end` - data (so both conventions share the body)
/// or r9 = `data_end` for pointer comparisons.
fn program(rng: &mut Rng, ctx: bool) -> Vec<[u8; 8]> {
    let mut p = Vec::new();
    if ctx {
        p.push(ins(0x79, 9, 1, 8, 0)); // r9 = data_end
        p.push(ins(0x79, 1, 1, 0, 0)); // r1 = data
        p.push(ins(0xbf, 2, 9, 0, 0)); // r2 = data_end
        p.push(ins(0x1f, 2, 1, 0, 0)); // r2 -= r1
    }
    p.push(ins(0xb7, 0, 0, 0, 0));
    for _ in 0..1 + rng.below(6) {
        let off = i16::try_from(rng.below(40)).unwrap() - 2;
        match rng.below(6) {
            // if len < k goto end
            0 => p.push(ins(0xa5, 2, 0, END, i32::try_from(rng.below(48)).unwrap())),
            // if k > len goto end (register form)
            1 => {
                p.push(ins(0xb7, 5, 0, 0, i32::try_from(rng.below(48)).unwrap()));
                p.push(ins(0x2d, 5, 2, END, 0));
            }
            // data_end comparison (context) or another length test
            2 if ctx => {
                p.push(ins(0xbf, 4, 1, 0, 0));
                p.push(ins(0x07, 4, 0, 0, i32::try_from(rng.below(48)).unwrap()));
                p.push(ins(0x2d, 4, 9, END, 0));
            }
            // load at a constant offset
            2..=3 => p.push(ins(load_op(rng), 3, 1, off, 0)),
            // variable offset: r3 = pkt[0] & mask; if r3 + k > len goto end;
            // load at r1 + r3 + off
            4 => {
                let mask = [3, 7, 15, 60][usize::try_from(rng.below(4)).unwrap()];
                p.push(ins(0x71, 3, 1, 0, 0));
                p.push(ins(0x57, 3, 0, 0, mask));
                if rng.below(3) != 0 {
                    p.push(ins(0xbf, 4, 3, 0, 0));
                    p.push(ins(0x07, 4, 0, 0, i32::try_from(rng.below(24)).unwrap()));
                    p.push(ins(0x2d, 4, 2, END, 0));
                }
                p.push(ins(0xbf, 6, 1, 0, 0));
                p.push(ins(0x0f, 6, 3, 0, 0));
                p.push(ins(load_op(rng), 3, 6, off, 0));
            }
            // accumulate
            _ => p.push(ins(0x0f, 0, 3, 0, 0)),
        }
    }
    p.push(ins(0x95, 0, 0, 0, 0));
    let end = p.len();
    p.push(ins(0xb7, 0, 0, 0, 0));
    p.push(ins(0x95, 0, 0, 0, 0));
    for (i, x) in p.iter_mut().enumerate() {
        if i16::from_le_bytes([x[2], x[3]]) == END {
            let rel = i16::try_from(end - i - 1).unwrap();
            x[2..4].copy_from_slice(&rel.to_le_bytes());
        }
    }
    p
}

#[test]
fn accepted_programs_never_fault() {
    let mut rng = Rng::new(0x00c0_ffee);
    let (mut tried, mut accepted, mut rejected, mut packets, mut faults_of_rejected) =
        (0, 0, 0, 0, 0);
    for _ in 0..3000 {
        let ctx = rng.below(2) == 0;
        let code: Vec<u8> = program(&mut rng, ctx).concat();
        let Ok(prog) = Program::from_bytecode(&code) else {
            continue;
        };
        tried += 1;
        let convention = if ctx {
            Convention::Context
        } else {
            Convention::Raw
        };
        let min_len = [0, 14, 20][usize::try_from(rng.below(3)).unwrap()];
        let opts = VerifyOptions {
            convention,
            min_len,
        };
        let proof = ubpf::verify(&prog, &opts);
        let verified = proof.is_ok();
        if verified {
            accepted += 1;
        } else {
            rejected += 1;
        }
        let vopts = VmOptions {
            convention,
            proof: proof.ok(),
        };
        let mut vm = Vm::with_options(prog, Engine::Interpreter, vopts).unwrap();
        let mut faulted = false;
        for _ in 0..40 {
            let len = min_len + usize::try_from(rng.below(64)).unwrap();
            let mut pkt = rng.bytes(len);
            match vm.run(&mut pkt) {
                Err(RunError::OutOfBounds { insn, detail, .. }) => {
                    assert!(
                        !verified,
                        "verified program faulted at {insn:?}: {detail}\ncode: {code:02x?}\npacket: {pkt:02x?}"
                    );
                    faulted = true;
                }
                Err(e) => panic!("{e}"),
                Ok(_) => {}
            }
            packets += 1;
        }
        faults_of_rejected += usize::from(faulted);
    }
    println!(
        "property: {tried} programs, {accepted} verified, {rejected} refused \
         ({faults_of_rejected} of which fault at run time), {packets} packets, 0 faults of verified programs"
    );
    assert!(accepted > 200 && rejected > 200, "{accepted} / {rejected}");
    assert!(faults_of_rejected > 0);
}
