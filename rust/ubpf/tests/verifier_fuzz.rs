// SPDX-License-Identifier: GPL-2.0-or-later

//! Verifier fuzzer (see `vfuzz/mod.rs`): programs biased toward the
//! verifier's bug classes, every accepted one run with its proof in the
//! checked interpreter at two placements and on the JIT.
//!
//! - `smoke`: a few seconds, fixed seed, part of `cargo test`: no
//!   finding, and a fair share of the programs accepted.
//! - `long` (ignored): `UBPF_FUZZ_SECONDS` (default 60), `UBPF_FUZZ_SEED`
//!   (default: from the clock), `UBPF_FUZZ_OUT` (reproducers, default
//!   `target/vfuzz`), `UBPF_FUZZ_KEEP` (reproducers per class, default 8);
//!   see scripts/ubpf/robust/verifier-fuzz.sh.

mod common;
mod vfuzz;

use std::path::PathBuf;
use std::time::Duration;

use vfuzz::{Settings, Stats};

fn template_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("vfuzz")
}

fn report(st: &Stats, kept: &[vfuzz::Finding], tmpl: bool) {
    println!("verifier fuzz: {st}");
    if !tmpl {
        println!("verifier fuzz: no clang: map programs not generated");
    }
    for f in kept {
        println!("---- {:?}: {}", f.class, f.detail);
        println!("{}", vfuzz::reproducer(f, None));
    }
}

#[test]
fn smoke() {
    let tmpl = vfuzz::MapTemplate::build(&template_dir());
    let have_maps = tmpl.is_some();
    let secs = if cfg!(debug_assertions) { 8 } else { 5 };
    let s = Settings {
        seed: 0x005e_ed0f_f022,
        time: Duration::from_secs(secs),
        out: None,
        packets: 8,
        keep_per_class: 2,
        progress: None,
    };
    let (st, kept) = vfuzz::fuzz(&s, tmpl);
    report(&st, &kept, have_maps);
    assert!(st.executions > 500, "{st}");
    // not vacuous: a fair share of the programs is accepted, and run
    assert!(st.accepted * 5 > st.valid, "{st}");
    assert!(st.packets > st.accepted, "{st}");
    // UBPF_FUZZ_REPORT_ONLY=1: report findings without failing
    if std::env::var_os("UBPF_FUZZ_REPORT_ONLY").is_none() {
        assert!(st.findings.is_empty(), "{st}");
    }
}

#[test]
#[ignore = "long-running: scripts/ubpf/robust/verifier-fuzz.sh"]
fn long() {
    let env = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
    let secs = env("UBPF_FUZZ_SECONDS").map_or(60, |v| v.parse().expect("UBPF_FUZZ_SECONDS"));
    let seed = env("UBPF_FUZZ_SEED").map_or_else(
        || {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(1, |d| d.as_nanos() as u64)
        },
        |v| {
            let v = v.trim_start_matches("0x");
            u64::from_str_radix(v, 16).expect("UBPF_FUZZ_SEED (hex)")
        },
    );
    let out = env("UBPF_FUZZ_OUT").map_or_else(
        || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/vfuzz"),
        PathBuf::from,
    );
    let keep = env("UBPF_FUZZ_KEEP").map_or(8, |v| v.parse().expect("UBPF_FUZZ_KEEP"));
    let tmpl = vfuzz::MapTemplate::build(&template_dir());
    let have_maps = tmpl.is_some();
    println!(
        "verifier fuzz: seed {seed:#x}, {secs} s, reproducers in {}",
        out.display()
    );
    let s = Settings {
        seed,
        time: Duration::from_secs(secs),
        out: Some(out),
        packets: 16,
        keep_per_class: keep,
        progress: Some(Duration::from_secs(30)),
    };
    let (st, kept) = vfuzz::fuzz(&s, tmpl);
    report(&st, &kept, have_maps);
    assert!(st.findings.is_empty(), "{st}");
}
