// SPDX-License-Identifier: GPL-2.0-or-later

//! The verifier and maps: the map programs of `tests/data/ubpf` are
//! proven safe and then run with the proof, on the interpreter and the
//! JIT, with the same results as in `tests/maps.rs`; map misuse is
//! refused with the instruction, the register and what is not proven.

mod common;

use std::path::PathBuf;
use std::process::Command;

use common::maps::{self, frame, ipv4, u64_value};
use common::{load, verdict};
use ubpf::maps::BPF_ANY;
use ubpf::{Convention, Engine, Error, Program, Trust, Verified, VerifyOptions, Vm, VmOptions};

/// ip-mode: the packet starts with the IPv4 header.
const IP: VerifyOptions = VerifyOptions {
    convention: Convention::Raw,
    min_len: 20,
};
/// raw mode: the packet starts with the Ethernet header.
const RAW: VerifyOptions = VerifyOptions {
    convention: Convention::Raw,
    min_len: 14,
};

/// Verify `prog` under `opts`, or fail with the refusal.
fn prove(prog: &Program, opts: &VerifyOptions) -> Verified {
    ubpf::verify(prog, opts).unwrap_or_else(|e| panic!("refused: {e}"))
}

/// Both engines running `prog` with its proof: the interpreter and the
/// JIT (unchecked, on the strength of the proof).
fn verified_vms(prog: &Program, opts: &VerifyOptions) -> (Vm, Vm) {
    let proof = prove(prog, opts);
    let vm_opts = VmOptions {
        convention: proof.convention(),
        proof: Some(proof.clone()),
    };
    let int = Vm::with_options(prog.clone(), Engine::Interpreter, vm_opts)
        .unwrap_or_else(|e| panic!("{e}"));
    let jit = Vm::new(prog.clone(), Engine::Jit(Trust::Verified(proof)))
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(int.is_verified() && jit.is_verified());
    assert_eq!(jit.is_jit(), ubpf::JIT_AVAILABLE);
    (int, jit)
}

#[test]
fn per_protocol_counter() {
    let prog = load("maps_counter");
    maps::per_protocol_counter(&prog, verified_vms(&prog, &IP));
}

#[test]
fn blocklist_filled_by_the_host() {
    let prog = load("maps_blocklist");
    maps::blocklist_filled_by_the_host(&prog, verified_vms(&prog, &IP));
}

#[test]
fn rate_limiter_with_timestamps_and_a_full_table() {
    let prog = load("maps_ratelimit");
    maps::rate_limiter_with_timestamps_and_a_full_table(&prog, verified_vms(&prog, &IP));
}

#[test]
fn global_variables_are_single_entry_arrays() {
    let prog = load("maps_globals");
    maps::global_variables_are_single_entry_arrays(&prog, verified_vms(&prog, &RAW));
}

#[test]
fn legacy_map_definition() {
    let prog = load("maps_legacy");
    maps::legacy_map_definition(&prog, verified_vms(&prog, &RAW));
}

#[test]
fn keep_maps_across_a_verified_replacement() {
    let prog = load("maps_counter");
    let (mut old, _) = verified_vms(&prog, &IP);
    for _ in 0..4 {
        old.run(&mut ipv4([10, 0, 0, 9], 6)).unwrap();
    }
    let proof = prove(&prog, &IP);
    let mut new =
        Vm::new_keeping_maps(prog, Engine::Jit(Trust::Verified(proof)), &mut old).unwrap();
    new.run(&mut ipv4([10, 0, 0, 9], 6)).unwrap();
    assert_eq!(u64_value(&new, "proto_count", &6u32.to_le_bytes()), 5);
}

/// The refusal of `prog` under `opts`.
fn refusal(prog: &Program, opts: &VerifyOptions) -> Error {
    match ubpf::verify(prog, opts) {
        Ok(_) => panic!("{}: accepted", prog.origin()),
        Err(e) => e,
    }
}

/// `e` names instruction `insn` and register `reg`, and says `text`.
fn assert_refusal(e: &Error, insn: usize, reg: u8, text: &str) {
    let msg = e.to_string();
    assert_eq!((e.insn(), e.reg()), (Some(insn), Some(reg)), "{msg}");
    assert!(
        msg.contains(&format!("instruction {insn}: r{reg}: ")),
        "{msg}"
    );
    assert!(msg.contains(text), "{msg}");
    assert!(!msg.contains('\n'), "{msg}");
}

#[test]
fn key_past_the_packet_end_is_refused() {
    let prog = load("maps_badptr");
    let e = refusal(&prog, &IP);
    assert_refusal(
        &e,
        9,
        2,
        "packet read (helper 1 (map_lookup_elem), key of map \"m\") of 4 bytes at offset \
         data_end-2 not proven within the packet",
    );
}

/// Compile C source `src` (a program in section "ubpf" and its maps) and
/// load it.
fn c_program(name: &str, src: &str) -> Program {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("ubpf-verifier-maps");
    std::fs::create_dir_all(&dir).expect("create output directory");
    let c = dir.join(format!("{name}.{}.bpf.c", std::process::id()));
    let obj = c.with_extension("o");
    let text = format!(
        "#include <linux/bpf.h>\n#include <bpf/bpf_helpers.h>\n{src}\n\
         char _license[] SEC(\"license\") = \"GPL\";\n"
    );
    std::fs::write(&c, text).expect("write source");
    let clang = std::env::var("CLANG").unwrap_or_else(|_| "clang".to_owned());
    let status = Command::new(&clang)
        .args(["-O2", "-g", "-target", "bpf", "-c"])
        .arg("-I/usr/include/x86_64-linux-gnu")
        .arg(&c)
        .arg("-o")
        .arg(&obj)
        .status()
        .unwrap_or_else(|e| panic!("cannot run {clang}: {e}"));
    assert!(status.success(), "{clang} failed on {}", c.display());
    Program::load_file(&obj, None).unwrap_or_else(|e| panic!("{e}"))
}

fn array_map(name: &str, value: &str, entries: u32) -> String {
    format!(
        "struct {{ __uint(type, BPF_MAP_TYPE_ARRAY); __uint(max_entries, {entries}); \
         __type(key, __u32); __type(value, {value}); }} {name} SEC(\".maps\");\n"
    )
}

/// `asm` between a lookup of key `pkt[0] & 3` in the array `m` of 8-byte
/// values (result in r0) and `exit` (r0 = 0 first when `zero`); nothing
/// follows (the kernel and the verifier refuse dead code).
fn asm_after_lookup(name: &str, asm: &str) -> Program {
    let asm = asm.replace('\n', "\\n");
    let src = format!(
        "{}SEC(\"ubpf\") int {name}(unsigned char *pkt, unsigned long len) {{\n\
         __u32 key = pkt[0] & 3;\n\
         asm volatile(\"r1 = %[map]\\n r2 = %[key]\\n call 1\\n {asm}\\n exit\\n\"\n\
         :: [map] \"r\"(&m), [key] \"r\"(&key)\n\
         : \"r0\", \"r1\", \"r2\", \"r3\", \"r4\", \"r5\", \"r6\", \"r7\", \"memory\");\n\
         __builtin_unreachable(); }}\n",
        array_map("m", "__u64", 4)
    );
    c_program(name, &src)
}

/// The instruction index of the first `call 1` of `prog`.
fn lookup_at(prog: &Program) -> usize {
    let code = prog.bytecode();
    (0..code.len() / 8)
        .find(|&i| code[i * 8] == 0x85 && code[i * 8 + 4] == 1)
        .expect("a lookup")
}

#[test]
fn null_checks() {
    // checked through a copy; the original is usable
    let ok = asm_after_lookup(
        "copy",
        "r6 = r0\n if r6 == 0 goto +1\n r1 = *(u64 *)(r0 + 0)\n r0 = 0",
    );
    prove(&ok, &RAW);
    // 32-bit check: only the non-NULL side is known
    let ok32 = asm_after_lookup(
        "ok32",
        "if w0 == 0 goto +2\n r1 = *(u64 *)(r0 + 0)\n r0 = 0\n r0 = 0",
    );
    prove(&ok32, &RAW);
    let bad32 = asm_after_lookup(
        "bad32",
        "if w0 != 0 goto +2\n r1 = *(u64 *)(r0 + 0)\n r0 = 0\n r0 = 0",
    );
    let c = lookup_at(&bad32);
    assert_refusal(
        &refusal(&bad32, &RAW),
        c + 2,
        0,
        "check the result of bpf_map_lookup_elem against NULL first",
    );
    // the NULL side: r0 is the number 0 there
    let null = asm_after_lookup("null", "if r0 != 0 goto +1\n r0 += 7\n r0 = 0");
    prove(&null, &RAW);
    // two lookups: checking the second says nothing of the first
    let two = asm_after_lookup(
        "two",
        "r6 = r0\n r1 = %[map]\n r2 = %[key]\n call 1\n if r0 == 0 goto +2\n \
         r1 = *(u64 *)(r6 + 0)\n r0 = 0\n r0 = 0",
    );
    let e = refusal(&two, &RAW);
    assert_refusal(&e, lookup_at(&two) + 6, 6, "may be NULL");
    // a spilled copy is checked with the original
    let spill = asm_after_lookup(
        "spill",
        "*(u64 *)(r10 - 16) = r0\n if r0 == 0 goto +3\n r1 = *(u64 *)(r10 - 16)\n \
         r1 = *(u64 *)(r1 + 0)\n r0 = 0\n r0 = 0",
    );
    prove(&spill, &RAW);
    // arithmetic before the check
    let arith = asm_after_lookup("arith", "r0 += 8\n if r0 == 0 goto +1\n r0 = 0\n r0 = 0");
    assert_refusal(
        &refusal(&arith, &RAW),
        lookup_at(&arith) + 1,
        0,
        "may be NULL",
    );
}

#[test]
fn value_accesses() {
    // the last byte is fine, one more is not
    let last = asm_after_lookup("last", "if r0 == 0 goto +1\n r1 = *(u8 *)(r0 + 7)\n r0 = 0");
    prove(&last, &RAW);
    let past = asm_after_lookup(
        "past",
        "if r0 == 0 goto +1\n r1 = *(u16 *)(r0 + 7)\n r0 = 0",
    );
    assert_refusal(
        &refusal(&past, &RAW),
        lookup_at(&past) + 2,
        0,
        "map \"m\" value read of 2 bytes at offset 7 not proven within its 8-byte value",
    );
    let before = asm_after_lookup(
        "before",
        "if r0 == 0 goto +2\n r0 += -1\n r1 = *(u8 *)(r0 + 0)\n r0 = 0",
    );
    assert_refusal(
        &refusal(&before, &RAW),
        lookup_at(&before) + 3,
        0,
        "at offset -1 not proven",
    );
    // variable offsets: bounded by a comparison, then fine
    prove(&bounded(7), &RAW);
    let e = refusal(&bounded(8), &RAW);
    assert!(
        e.to_string()
            .contains("value read of 1 byte at offset [0, 8] not proven within its 8-byte value"),
        "{e}"
    );
    // a pointer must not be stored into a map value
    let leak = asm_after_lookup(
        "leak",
        "if r0 == 0 goto +1\n *(u64 *)(r0 + 0) = r0\n r0 = 0",
    );
    assert_refusal(
        &refusal(&leak, &RAW),
        lookup_at(&leak) + 2,
        0,
        "storing a map value pointer into a map value would leak a host address",
    );
    // nor returned
    let ret = asm_after_lookup("ret", "");
    assert_refusal(
        &refusal(&ret, &RAW),
        lookup_at(&ret) + 1,
        0,
        "returns a map value pointer",
    );
    // pointers are spilled whole
    let partial = asm_after_lookup(
        "partial",
        "if r0 == 0 goto +1\n *(u32 *)(r10 - 16) = r0\n r0 = 0",
    );
    assert_refusal(
        &refusal(&partial, &RAW),
        lookup_at(&partial) + 2,
        0,
        "partial store of a map value pointer",
    );
    // the handle is not memory
    let handle = asm_after_lookup("handle", "r1 = %[map]\n r0 = *(u64 *)(r1 + 0)");
    assert_refusal(
        &refusal(&handle, &RAW),
        lookup_at(&handle) + 2,
        1,
        "the handle of map \"m\"",
    );
}

/// A byte read at `pkt[1]` (at most `max`) of a value of 8 bytes.
fn bounded(max: u32) -> Program {
    let src = format!(
        "{}SEC(\"ubpf\") int bounded(unsigned char *pkt, unsigned long len) {{\n\
         __u32 key = pkt[0] & 3;\n\
         asm volatile(\"r6 = %[pkt]\\n r1 = %[map]\\n r2 = %[key]\\n call 1\\n \
         if r0 == 0 goto +5\\n r1 = *(u8 *)(r6 + 1)\\n if r1 > {max} goto +2\\n r0 += r1\\n \
         r1 = *(u8 *)(r0 + 0)\\n r0 = 0\\n exit\\n\"\n\
         :: [map] \"r\"(&m), [key] \"r\"(&key), [pkt] \"r\"(pkt)\n\
         : \"r0\", \"r1\", \"r2\", \"r3\", \"r4\", \"r5\", \"r6\", \"memory\");\n\
         __builtin_unreachable(); }}\n",
        array_map("m", "__u64", 4)
    );
    c_program(&format!("bounded{max}"), &src)
}

#[test]
fn helper_arguments() {
    // update: the value must have the map's value size
    let short = c_program(
        "short_value",
        &format!(
            "{}SEC(\"ubpf\") int short_value(unsigned char *pkt, unsigned long len) {{\n\
             __u32 key = 1; __u32 v = pkt[0];\n\
             return bpf_map_update_elem(&m, &key, &v, BPF_ANY); }}\n",
            array_map("m", "__u64[2]", 4)
        ),
    );
    let e = refusal(&short, &RAW);
    assert!(
        e.to_string().contains(
            "stack read (helper 2 (map_update_elem), value of map \"m\") of 16 bytes at fp-8 \
             outside the 512-byte stack frame"
        ),
        "{e}"
    );
    // a map value as the key of another map
    let chained = c_program(
        "chained",
        &format!(
            "{}{}SEC(\"ubpf\") int chained(unsigned char *pkt, unsigned long len) {{\n\
             __u32 key = pkt[0] & 3;\n\
             __u32 *next = bpf_map_lookup_elem(&first, &key);\n\
             if (!next) return 0;\n\
             return bpf_map_lookup_elem(&second, next) != 0; }}\n",
            array_map("first", "__u32", 4),
            array_map("second", "__u64", 4)
        ),
    );
    let (mut int, mut jit) = verified_vms(&chained, &RAW);
    assert_eq!(verdict(&mut int, &mut jit, &frame(0x0800, 2)), 1);
    for vm in [&int, &jit] {
        vm.map("first")
            .unwrap()
            .update(&2u32.to_le_bytes(), &9u32.to_le_bytes(), BPF_ANY)
            .unwrap();
    }
    assert_eq!(verdict(&mut int, &mut jit, &frame(0x0800, 2)), 0);
    // a value too small to be the other map's key
    let small = c_program(
        "small_key",
        &format!(
            "{}struct {{ __uint(type, BPF_MAP_TYPE_HASH); __uint(max_entries, 4); \
             __type(key, __u64); __type(value, __u64); }} big SEC(\".maps\");\n\
             SEC(\"ubpf\") int small_key(unsigned char *pkt, unsigned long len) {{\n\
             __u32 key = pkt[0] & 3;\n\
             __u32 *next = bpf_map_lookup_elem(&first, &key);\n\
             if (!next) return 0;\n\
             return bpf_map_lookup_elem(&big, next) != 0; }}\n",
            array_map("first", "__u32", 4)
        ),
    );
    let small_err = refusal(&small, &RAW);
    assert!(
        small_err.to_string().contains(
            "map \"first\" value read (helper 1 (map_lookup_elem), key of map \"big\") of \
             8 bytes at offset 0 not proven within its 4-byte value"
        ),
        "{small_err}"
    );
}

#[test]
fn proofs_cover_the_maps() {
    // same code, values of another size: the proof is not for it
    let src = |value: &str| {
        format!(
            "{}SEC(\"ubpf\") int same(unsigned char *pkt, unsigned long len) {{\n\
             __u32 key = pkt[0] & 3;\n\
             return bpf_map_lookup_elem(&m, &key) != 0; }}\n",
            array_map("m", value, 4)
        )
    };
    let a = c_program("same_u64", &src("__u64"));
    let b = c_program("same_u32", &src("__u32"));
    assert_eq!(a.bytecode(), b.bytecode());
    let proof = prove(&a, &RAW);
    assert!(proof.proves(&a) && !proof.proves(&b));
    let err = Vm::new(b, Engine::Jit(Trust::Verified(proof)))
        .err()
        .expect("proof of another program");
    assert!(err.to_string().contains("another program"), "{err}");
}

#[test]
fn maps_that_cannot_be_created_are_refused() {
    let prog = c_program(
        "huge",
        &format!(
            "{}SEC(\"ubpf\") int huge(unsigned char *pkt, unsigned long len) {{\n\
             __u32 key = 0;\n\
             return bpf_map_lookup_elem(&m, &key) != 0; }}\n",
            array_map("m", "__u64", 100_000_000)
        ),
    );
    let e = refusal(&prog, &RAW);
    assert!(matches!(e.kind(), ubpf::ErrorKind::Map(_)), "{e}");
    assert!(e.to_string().contains("exceed"), "{e}");
}

#[test]
fn log_shows_map_pointers() {
    let prog = load("maps_counter");
    let mut log = String::new();
    ubpf::verify_with_log(&prog, &IP, &mut log).unwrap();
    assert!(log.contains("r1=map0"), "{log}");
    assert!(log.contains("r0=map0value_or_null#"), "{log}");
    assert!(log.contains("r0=map0value+0"), "{log}");
}

/// Verifier cost on the map programs: `cargo test --release --test
/// verifier_maps -- --ignored --nocapture verifier_cost`.
#[test]
#[ignore = "benchmark: prints figures"]
fn verifier_cost() {
    let cases = [
        ("maps_counter", IP),
        ("maps_blocklist", IP),
        ("maps_ratelimit", IP),
        ("maps_globals", RAW),
        ("maps_legacy", RAW),
    ];
    for (name, opts) in cases {
        let prog = load(name);
        let rounds = 200;
        let start = std::time::Instant::now();
        let mut stats = None;
        for _ in 0..rounds {
            stats = Some(*prove(&prog, &opts).stats());
        }
        let us = start.elapsed().as_secs_f64() * 1e6 / f64::from(rounds);
        let s = stats.unwrap();
        println!(
            "{name}: {} insns, {} simulated, {} states, {us:.1} µs",
            prog.insn_count(),
            s.processed,
            s.states
        );
    }
}
