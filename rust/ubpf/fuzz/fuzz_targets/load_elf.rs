// SPDX-License-Identifier: GPL-2.0-or-later

//! The ELF loader on arbitrary bytes: every input is refused with an error
//! or loads; nothing panics, overflows its stack or reads out of bounds.
//! A program that loads is also prepared for the interpreter (maps
//! created), which must not panic either.

#![no_main]

use libfuzzer_sys::fuzz_target;
use ubpf::{Engine, ErrorKind, Program, Vm};

fn prepare(prog: Program) {
    let _ = Vm::new(prog, Engine::Interpreter);
}

fuzz_target!(|data: &[u8]| {
    match Program::load_elf(data, "fuzz.o", None) {
        Ok(prog) => prepare(prog),
        Err(e) => {
            // several programs: load each of them
            if let ErrorKind::AmbiguousSection { available } = e.kind() {
                for s in available.iter().take(4) {
                    if let Ok(prog) = Program::load_elf(data, "fuzz.o", Some(s)) {
                        prepare(prog);
                    }
                }
            }
            // the message is built from the input: formatting must not panic
            let _ = e.to_string();
        }
    }
});
