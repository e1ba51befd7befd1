// SPDX-License-Identifier: GPL-2.0-or-later

//! [`Program::tag`] against the kernel's tags.
//!
//! Every program of a set of objects is loaded into the kernel with
//! `bpf()` (tests/common/kernel.rs: the engine's linked code, its map
//! references relocated as libbpf relocates them), and the tag the
//! kernel computed (`BPF_OBJ_GET_INFO_BY_FD`, `struct bpf_prog_info`'s
//! `tag`) must be the engine's, in the host kernel's digest
//! ([`TagHash::host`]).  The objects cover map references, global data
//! (`.rodata`, `.data`, `.bss`), bpf-to-bpf calls, tail calls and
//! `ld_abs`/`ld_ind` (the last two rewritten by the engine: the tag is
//! that of the code as loaded).
//!
//! The same objects loaded by libbpf itself (`bpftool prog loadall`)
//! must get the same tags too: that checks that the engine links
//! subprograms as libbpf does.  That test needs bpftool and a bpffs at
//! /sys/fs/bpf.  Without `bpf()` (not root) or bpftool, the tests say so
//! and pass.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::kernel::{self, ProgType};
use ubpf::{Program, TagHash};

/// The objects (in tests/data/ubpf) whose programs are compared, with the
/// kernel program type of their programs (None: by section name).
const OBJECTS: &[(&str, Option<ProgType>)] = &[
    // subprograms in libbpf's order, maps and global data in them
    ("subprog_order.bpf.c", None),
    // bpf-to-bpf calls, between static functions too
    ("verifier/call_frames.bpf.c", None),
    ("verifier/call_void.bpf.c", None),
    // maps of several types, a tail call
    ("qtest-maps3.bpf.c", None),
    // tail calls; the program array the object initialises
    ("tail_call.bpf.c", Some(ProgType::SchedCls)),
    // ld_abs/ld_ind in socket filters and tc programs
    ("ld_abs.bpf.c", None),
    ("csum_diff.bpf.c", Some(ProgType::SchedCls)),
    ("kernel_ringbuf.bpf.c", None),
    ("kernel_perf.bpf.c", None),
    ("qtest-verdicts.bpf.c", None),
    ("qtest-xdp.bpf.c", None),
    ("verifier/xdp_eth.bpf.c", None),
    ("verifier/xdp_vlan.bpf.c", None),
    ("verifier/xdp_meta.bpf.c", None),
    ("verifier/ringbuf_ok.bpf.c", None),
];

/// The objects libbpf loads whole (`bpftool prog loadall`): those whose
/// programs the engine and the kernel all accept.
const LIBBPF_OBJECTS: &[&str] = &[
    "subprog_order.bpf.c",
    "verifier/call_frames.bpf.c",
    "verifier/call_void.bpf.c",
    "qtest-maps3.bpf.c",
    "tail_call.bpf.c",
    "kernel_ringbuf.bpf.c",
    "qtest-xdp.bpf.c",
];

/// Compile `rel` (relative to tests/data/ubpf) as the tests do.
fn compile(rel: &str) -> PathBuf {
    let out_dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("ubpf-kernel-tag");
    std::fs::create_dir_all(&out_dir).expect("create output directory");
    let obj = out_dir.join(format!(
        "{}.{}.o",
        rel.trim_end_matches(".bpf.c").replace('/', "-"),
        std::process::id()
    ));
    if obj.exists() {
        return obj;
    }
    let clang = std::env::var("CLANG").unwrap_or_else(|_| "clang".to_owned());
    let status = Command::new(&clang)
        .args(["-O2", "-g", "-target", "bpf", "-c"])
        .arg(format!("-I/usr/include/{}", common::multiarch(&clang)))
        .arg("-I")
        .arg(common::data_dir())
        .arg(common::data_dir().join(rel))
        .arg("-o")
        .arg(&obj)
        .status()
        .unwrap_or_else(|e| panic!("cannot run {clang}: {e}"));
    assert!(status.success(), "{clang} failed on {rel}");
    obj
}

fn hex(tag: [u8; 8]) -> String {
    tag.iter().map(|b| format!("{b:02x}")).collect()
}

/// Every program of the object at `obj` ("section/function" names), as
/// the engine loads it, or why it does not.
fn programs(obj: &Path, rel: &str) -> Vec<(String, Result<Program, String>)> {
    let bytes = std::fs::read(obj).expect("read object");
    let names = match Program::load_elf(&bytes, rel, None) {
        Ok(p) => p.object_programs().to_vec(),
        Err(e) => match e.kind() {
            ubpf::ErrorKind::AmbiguousSection { available } => available.clone(),
            _ => panic!("{rel}: {e}"),
        },
    };
    // a section of several functions is listed by its functions
    let first = Program::load_elf(&bytes, rel, Some(&names[0])).expect("first program");
    let names = if first.object_programs().is_empty() {
        names
    } else {
        first.object_programs().to_vec()
    };
    names
        .into_iter()
        .map(|name| {
            let prog = Program::load_elf(&bytes, rel, Some(&name)).map_err(|e| e.to_string());
            (name, prog)
        })
        .collect()
}

/// What a program exercises, for the figures: a map reference, global
/// data, a bpf-to-bpf call, a tail call, `ld_abs`/`ld_ind`.
fn features(prog: &Program) -> [bool; 5] {
    let code = prog.source_bytecode();
    let has = |f: &dyn Fn(&[u8]) -> bool| code.chunks_exact(8).any(f);
    [
        prog.map_refs().iter().any(|r| r.value_offset.is_none()),
        prog.map_refs().iter().any(|r| r.value_offset.is_some()),
        has(&|x| x[0] == 0x85 && x[1] >> 4 == 1),
        !prog.tail_targets().is_empty(),
        has(&|x| matches!(x[0], 0x20 | 0x28 | 0x30 | 0x40 | 0x48 | 0x50)),
    ]
}

const FEATURES: [&str; 5] = [
    "map references",
    "global data",
    "bpf-to-bpf calls",
    "tail calls",
    "ld_abs/ld_ind",
];

#[test]
fn tags_are_the_kernels() {
    if !kernel::available() {
        println!("skipped: bpf() is not available");
        return;
    }
    let hash = TagHash::host();
    let mut compared = 0;
    let mut targets = 0;
    let mut rewritten = 0;
    let mut with = [0usize; 5];
    let mut mismatches = Vec::new();
    let mut skipped = Vec::new();
    for &(rel, ty) in OBJECTS {
        let obj = compile(rel);
        for (name, prog) in programs(&obj, rel) {
            let prog = match prog {
                Ok(p) => p,
                Err(e) => {
                    skipped.push(format!("{rel}:{name}: the engine refuses it: {e}"));
                    continue;
                }
            };
            let ty = ty
                .or_else(|| ProgType::from_section(prog.section()))
                .unwrap_or_else(|| panic!("{rel}:{name}: no kernel program type"));
            let kern = match kernel::load(&prog, ty).expect("bpf() works") {
                Ok(k) => k,
                Err(r) => {
                    skipped.push(format!(
                        "{rel}:{name}: the kernel refuses it: {}",
                        r.reason()
                    ));
                    continue;
                }
            };
            let mut pairs = vec![(name.clone(), &prog, kern.tag().expect("the kernel's tag"))];
            for (index, tag) in kern.target_tags().expect("the targets' tags") {
                let target = prog.tail_targets()[index as usize]
                    .as_ref()
                    .expect("a loaded target");
                pairs.push((
                    format!("{name} -> {}", prog.object_programs()[index as usize]),
                    target,
                    tag,
                ));
                targets += 1;
            }
            for (what, p, kernel_tag) in pairs {
                let ours = p.tag(hash);
                println!(
                    "{rel}:{what}: kernel {} ours {}",
                    hex(kernel_tag),
                    hex(ours)
                );
                compared += 1;
                rewritten += usize::from(p.bytecode() != p.source_bytecode());
                for (n, f) in with.iter_mut().zip(features(p)) {
                    *n += usize::from(f);
                }
                if ours != kernel_tag {
                    mismatches.push(format!(
                        "{rel}:{what}: kernel {}, ours {}",
                        hex(kernel_tag),
                        hex(ours)
                    ));
                }
            }
        }
    }
    for s in &skipped {
        println!("not compared: {s}");
    }
    println!(
        "{compared} tags compared ({hash:?}: {} programs, {targets} tail-call targets loaded \
         with them), {} equal; {rewritten} of programs the engine rewrites; {} programs not \
         compared",
        compared - targets,
        compared - mismatches.len(),
        skipped.len()
    );
    for (name, n) in FEATURES.iter().zip(with) {
        println!("  with {name}: {n}");
        assert!(n > 0, "no program with {name} was compared");
    }
    assert!(rewritten > 0, "no rewritten program was compared");
    assert!(compared >= 40, "only {compared} programs compared");
    assert!(
        mismatches.is_empty(),
        "tags differ:\n{}",
        mismatches.join("\n")
    );
}

/// Removes a bpffs directory of pinned programs when dropped.
struct Pins(PathBuf);

impl Drop for Pins {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The `"tag"` of `bpftool --json prog show` output.
fn json_tag(json: &str) -> Option<String> {
    let at = json.find("\"tag\":\"")? + 7;
    json.get(at..at + 16).map(str::to_owned)
}

#[test]
fn tags_are_bpftools() {
    if !kernel::available() {
        println!("skipped: bpf() is not available");
        return;
    }
    let bpftool = std::env::var("BPFTOOL").unwrap_or_else(|_| "bpftool".to_owned());
    if Command::new(&bpftool).arg("version").output().is_err() {
        println!("skipped: no {bpftool} (set BPFTOOL)");
        return;
    }
    let bpffs = Path::new("/sys/fs/bpf");
    if !bpffs.is_dir() {
        println!("skipped: no bpffs at /sys/fs/bpf");
        return;
    }
    let hash = TagHash::host();
    let mut compared = 0;
    for rel in LIBBPF_OBJECTS {
        let obj = compile(rel);
        let pins = Pins(bpffs.join(format!(
            "ubpf-tag-{}-{}",
            std::process::id(),
            rel.trim_end_matches(".bpf.c").replace('/', "-")
        )));
        let load = Command::new(&bpftool)
            .args(["prog", "loadall"])
            .arg(&obj)
            .arg(&pins.0)
            .output()
            .expect("run bpftool");
        assert!(
            load.status.success(),
            "bpftool prog loadall {rel}: {}",
            String::from_utf8_lossy(&load.stderr)
        );
        for (name, prog) in programs(&obj, rel) {
            let prog = prog.unwrap_or_else(|e| panic!("{rel}:{name}: {e}"));
            // libbpf pins a program under its function's name
            let function = name.rsplit('/').next().unwrap_or(&name);
            let out = Command::new(&bpftool)
                .args(["--json", "prog", "show", "pinned"])
                .arg(pins.0.join(function))
                .output()
                .expect("run bpftool");
            let json = String::from_utf8_lossy(&out.stdout);
            let theirs = json_tag(&json).unwrap_or_else(|| panic!("{rel}:{name}: {json}"));
            let ours = hex(prog.tag(hash));
            println!("{rel}:{name}: bpftool {theirs} ours {ours}");
            assert_eq!(ours, theirs, "{rel}:{name}");
            compared += 1;
        }
    }
    println!("{compared} tags equal to bpftool's ({hash:?})");
    assert!(compared >= 15, "only {compared} programs compared");
}
