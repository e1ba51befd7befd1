// SPDX-License-Identifier: GPL-2.0-or-later

//! The checks and the verifier on arbitrary instruction streams: refusals
//! are errors, never panics; the verifier terminates within its budget.
//!
//! Input: byte 0 chooses the verifier's options (bit 0: context
//! convention, bits 1-7: minimum packet length), the rest is bytecode.

#![no_main]

use libfuzzer_sys::fuzz_target;
use ubpf::{Convention, Program, VerifyOptions};

fuzz_target!(|data: &[u8]| {
    let Some((&opt, code)) = data.split_first() else {
        return;
    };
    let prog = match Program::from_bytecode(code) {
        Ok(p) => p,
        Err(e) => {
            let _ = e.to_string();
            return;
        }
    };
    let opts = VerifyOptions {
        convention: if opt & 1 == 0 {
            Convention::Raw
        } else {
            Convention::Context
        },
        min_len: usize::from(opt >> 1),
    };
    if let Err(e) = ubpf::verify(&prog, &opts) {
        let _ = e.to_string();
    }
});
