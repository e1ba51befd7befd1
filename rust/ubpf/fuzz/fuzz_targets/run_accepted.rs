// SPDX-License-Identifier: GPL-2.0-or-later

//! Run after accept: whatever the checks accept runs in the (checked)
//! interpreter on a packet without a panic or an out-of-bounds access; a
//! run-time error is a result, not a crash.  When the verifier also proves
//! the program, it runs on the JIT (unchecked, with the proof) and must
//! give the interpreter's result: a crash here is a verifier soundness
//! bug, a different result a JIT or interpreter bug.
//!
//! Input: byte 0 options (bit 0: context convention), bytes 1-2 the
//! packet length (little-endian, at most 1600), then the packet bytes
//! (zero-padded if the input is short), then the bytecode.

#![no_main]

use libfuzzer_sys::fuzz_target;
use ubpf::{helpers, Convention, Engine, Program, Trust, VerifyOptions, Vm, VmOptions};

/// Whether the code calls a helper whose result differs between runs.
fn nondeterministic(code: &[u8]) -> bool {
    code.chunks_exact(8).any(|i| {
        i[0] == 0x85 && i[1] >> 4 == 0 && {
            let id = i32::from_le_bytes([i[4], i[5], i[6], i[7]]);
            id == helpers::KTIME_GET_NS || id == helpers::GET_PRANDOM_U32
        }
    })
}

fuzz_target!(|data: &[u8]| {
    if data.len() < 3 {
        return;
    }
    let convention = if data[0] & 1 == 0 {
        Convention::Raw
    } else {
        Convention::Context
    };
    let len = usize::from(u16::from_le_bytes([data[1], data[2]])) % 1601;
    let rest = &data[3..];
    let (pkt_bytes, code) = rest.split_at(len.min(rest.len()));
    let mut packet = pkt_bytes.to_vec();
    packet.resize(len, 0);
    let Ok(prog) = Program::from_bytecode(code) else {
        return;
    };
    let opts = VerifyOptions {
        convention,
        min_len: 14,
    };
    let proof = ubpf::verify(&prog, &opts).ok();
    if proof.is_none() && prog.has_back_edges() {
        // never runs without a proof (Vm::new refuses it)
        assert!(Vm::new(prog, Engine::Interpreter).is_err());
        return;
    }
    let vm_opts = VmOptions {
        convention,
        proof: proof.clone(),
    };
    // an unverified program may still be refused when the VM is built
    // (the program type's context rules); a proven one never is
    let mut int = match Vm::with_options(prog.clone(), Engine::Interpreter, vm_opts) {
        Ok(vm) => vm,
        Err(e) => {
            assert!(proof.is_none(), "a proven program is refused a VM: {e}");
            return;
        }
    };
    let mut p1 = packet.clone();
    let r1 = int.run(&mut p1);
    if let Some(proof) = proof {
        let mut jit = Vm::new(prog, Engine::Jit(Trust::Verified(proof))).expect("JIT VM");
        let mut p2 = packet.clone();
        let r2 = jit.run(&mut p2);
        if !nondeterministic(code) {
            assert_eq!(r1, r2, "interpreter and JIT disagree");
            assert_eq!(p1, p2, "interpreter and JIT left different packets");
        }
        // a verified program never fails at run time (packets shorter than
        // the proven minimum are refused before running)
        if packet.len() >= 14 {
            assert!(r1.is_ok(), "verified program failed in the interpreter: {r1:?}");
        }
    }
});
