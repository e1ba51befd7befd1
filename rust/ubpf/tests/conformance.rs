// SPDX-License-Identifier: GPL-2.0-or-later

//! The eBPF ISA conformance suite, interpreter and JIT: every test outside
//! tests/conformance-xfail.txt must pass.
//!
//! The suite's data lives outside the crate; set `BPF_CONFORMANCE_DIR`, or
//! it is looked up in `/work/shared/bpf_conformance`.  Without it the test
//! is skipped with a message.

#[path = "../src/bin/ubpf-run/conformance.rs"]
#[allow(dead_code)]
mod conformance;

use std::path::{Path, PathBuf};

use conformance::{Mode, Xfail};

fn suite_dir() -> Option<PathBuf> {
    let dir = std::env::var_os("BPF_CONFORMANCE_DIR").map_or_else(
        || PathBuf::from("/work/shared/bpf_conformance"),
        PathBuf::from,
    );
    dir.join("tests").is_dir().then_some(dir)
}

fn xfail() -> Xfail {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/conformance-xfail.txt");
    Xfail::parse(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn run(mode: Mode) {
    let Some(dir) = suite_dir() else {
        eprintln!("conformance suite not found: set BPF_CONFORMANCE_DIR; skipped");
        return;
    };
    let s = conformance::run_suite(&dir, mode, &xfail()).unwrap();
    println!("{}", s.line(mode));
    assert!(s.problems.is_empty(), "{}", s.problems.join("\n"));
    assert!(s.passed > 250, "suspiciously few tests passed");
}

#[test]
fn conformance_interpreter() {
    run(Mode::Interpreter);
}

#[test]
fn conformance_jit() {
    run(Mode::Jit);
}

#[test]
fn assembler_syntax() {
    let code = conformance::assemble(
        "mov32 %r0, 0\n\
         jeq %r1, 0xffffffff, done # comment\n\
         lddw %r0, 0x1122334455667788\n\
         call local f\n\
         done:\n\
         exit\n\
         f:\n\
         ldxb %r0, [%r1+0x2]\n\
         exit\n",
    )
    .unwrap();
    assert_eq!(code.len(), 8 * 8);
    // jeq with the immediate sign-extended and the label resolved (+3)
    assert_eq!(&code[8..16], &[0x15, 0x01, 3, 0, 0xff, 0xff, 0xff, 0xff]);
    // call local: src 1, +1
    assert_eq!(&code[32..40], &[0x85, 0x10, 0, 0, 1, 0, 0, 0]);
    conformance::assemble("ja nowhere\nexit\n").unwrap_err();
    conformance::assemble("mov %r0, 0x10000000000000000\nexit\n").unwrap_err();
}
