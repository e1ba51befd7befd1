// SPDX-License-Identifier: GPL-2.0-or-later

//! The verifier's corpus (tests/data/ubpf/verifier/EXPECT): every program
//! is accepted or refused as listed, refusals name the listed instruction
//! and register; accepted programs run (interpreter and JIT with the
//! proof) on random packets without a memory error.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;

use common::Rng;
use ubpf::{Convention, Engine, Program, RunError, Trust, Verified, VerifyOptions, Vm, VmOptions};

fn corpus_dir() -> PathBuf {
    common::data_dir().join("verifier")
}

static COMPILE_LOCK: Mutex<()> = Mutex::new(());

/// Compile a C file of the corpus (path relative to the corpus).
fn compile(rel: &str) -> PathBuf {
    let _guard = COMPILE_LOCK
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let src = corpus_dir().join(rel);
    let out_dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("ubpf-verifier");
    std::fs::create_dir_all(&out_dir).expect("create output directory");
    let stem = rel.replace("../", "up-").replace('/', "-");
    let obj = out_dir.join(format!("{stem}.{}.o", std::process::id()));
    if obj.exists() {
        return obj;
    }
    let clang = std::env::var("CLANG").unwrap_or_else(|_| "clang".to_owned());
    let status = Command::new(&clang)
        .args(["-O2", "-g", "-target", "bpf", "-c"])
        .arg("-I/usr/include/x86_64-linux-gnu")
        .arg("-I")
        .arg(corpus_dir())
        .arg("-I")
        .arg(common::data_dir())
        .arg(&src)
        .arg("-o")
        .arg(&obj)
        .status()
        .unwrap_or_else(|e| panic!("cannot run {clang}: {e}"));
    assert!(status.success(), "{clang} failed on {}", src.display());
    obj
}

/// Assemble an `.asm` file of the corpus.
fn assemble(rel: &str) -> Program {
    let bytes = common::assemble_file(&corpus_dir().join(rel));
    Program::from_bytecode(&bytes).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

fn load(rel: &str) -> Program {
    if rel.ends_with(".asm") {
        assemble(rel)
    } else {
        Program::load_file(&compile(rel), None).unwrap_or_else(|e| panic!("{e}"))
    }
}

struct Case {
    file: String,
    opts: VerifyOptions,
    /// `None`: accepted; else (insn, register, text).
    reject: Option<(usize, Option<u8>, String)>,
}

fn manifest() -> Vec<Case> {
    let text = std::fs::read_to_string(corpus_dir().join("EXPECT")).expect("read EXPECT");
    let mut cases = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let f: Vec<&str> = line.split_whitespace().collect();
        let at = |k: usize| {
            *f.get(k)
                .unwrap_or_else(|| panic!("EXPECT:{}: short", n + 1))
        };
        let convention = match at(1) {
            "raw" => Convention::Raw,
            "ctx" => Convention::Context,
            c => panic!("EXPECT:{}: convention {c}", n + 1),
        };
        let opts = VerifyOptions {
            convention,
            min_len: at(2).parse().expect("min_len"),
        };
        let reject = match at(3) {
            "accept" => None,
            "reject" => {
                let insn = at(4).parse().expect("insn");
                let reg = at(5).strip_prefix('r').map(|r| r.parse().expect("reg"));
                Some((insn, reg, f[6..].join(" ")))
            }
            v => panic!("EXPECT:{}: verdict {v}", n + 1),
        };
        cases.push(Case {
            file: at(0).to_owned(),
            opts,
            reject,
        });
    }
    cases
}

/// Run `proof`'s program on random packets with both engines: never a
/// memory error, same results.
fn run_random(prog: &Program, proof: &Verified, rng: &mut Rng, packets: usize) -> usize {
    let opts = VmOptions {
        convention: proof.convention(),
        proof: Some(proof.clone()),
    };
    let mut int = Vm::with_options(prog.clone(), Engine::Interpreter, opts).expect("interpreter");
    let mut jit = Vm::new(prog.clone(), Engine::Jit(Trust::Verified(proof.clone()))).expect("jit");
    assert!(int.is_verified() && jit.is_verified());
    for _ in 0..packets {
        let len = proof.min_len() + usize::try_from(rng.below(80)).unwrap();
        let mut pkt = rng.bytes(len);
        if len >= 14 && rng.below(2) == 0 {
            // an IPv4 header now and then, so that parsers go deeper
            pkt[12] = 8;
            pkt[13] = 0;
            if len > 14 {
                pkt[14] = 0x45;
            }
        }
        let mut copy = pkt.clone();
        let seed = rng.next_u64();
        ubpf::helpers::seed_prandom(seed);
        let a = int.run(&mut pkt);
        assert!(
            !matches!(a, Err(RunError::OutOfBounds { .. })),
            "{}: verified, but {a:?} on {copy:02x?}",
            prog.origin()
        );
        let a = a.unwrap_or_else(|e| panic!("{}: {e}", prog.origin()));
        ubpf::helpers::seed_prandom(seed);
        let b = jit.run(&mut copy).expect("jit run");
        assert_eq!(a, b, "{}: interpreter and JIT disagree", prog.origin());
        assert_eq!(pkt, copy);
    }
    if proof.min_len() > 0 {
        let mut short = vec![0u8; proof.min_len() - 1];
        assert!(matches!(
            jit.run(&mut short),
            Err(RunError::PacketLength { .. })
        ));
    }
    packets
}

#[test]
fn corpus() {
    let cases = manifest();
    let mut rng = Rng::new(0x5eed);
    let (mut accepted, mut rejected, mut packets) = (0, 0, 0);
    let mut failures = Vec::new();
    for c in &cases {
        let prog = load(&c.file);
        let res = ubpf::verify(&prog, &c.opts);
        match (&c.reject, res) {
            (None, Ok(proof)) => {
                accepted += 1;
                packets += run_random(&prog, &proof, &mut rng, 200);
            }
            (None, Err(e)) => failures.push(format!("{}: refused: {e}", c.file)),
            (Some(_), Ok(_)) => failures.push(format!("{}: accepted", c.file)),
            (Some((insn, reg, text)), Err(e)) => {
                rejected += 1;
                let msg = e.to_string();
                if e.insn() != Some(*insn) || e.reg() != *reg || !msg.contains(text.as_str()) {
                    failures.push(format!(
                        "{}: wanted instruction {insn}, {reg:?}, {text:?}; got {:?}, {:?}: {msg}",
                        c.file,
                        e.insn(),
                        e.reg()
                    ));
                }
                if let Some(r) = reg {
                    let prefix = format!("instruction {insn}: r{r}");
                    if !msg.contains(&prefix) {
                        failures.push(format!("{}: message lacks {prefix:?}: {msg}", c.file));
                    }
                }
            }
        }
    }
    println!("corpus: {accepted} accepted, {rejected} rejected, {packets} packets run");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert!(accepted >= 20 && rejected >= 20);
}

#[test]
fn refusal_names_file_section_instruction_register() {
    let prog = load("bad_off_by_one.bpf.c");
    let opts = VerifyOptions {
        convention: Convention::Context,
        min_len: 0,
    };
    let e = ubpf::verify(&prog, &opts).unwrap_err();
    let msg = e.to_string();
    assert!(
        msg.contains("bad_off_by_one") && msg.contains(": section \"ubpf\": instruction 5: r2: "),
        "{msg}"
    );
    assert!(!msg.contains('\n'), "{msg}");
}

#[test]
fn log_shows_states() {
    let prog = load("ctx_min.asm");
    let opts = VerifyOptions {
        convention: Convention::Context,
        min_len: 0,
    };
    let mut log = String::new();
    ubpf::verify_with_log(&prog, &opts, &mut log).unwrap();
    assert!(
        log.contains("ldxb r0, [r2+0xd]") || log.contains("ldxb"),
        "{log}"
    );
    assert!(log.contains("r1=ctx+0"), "{log}");
    assert!(log.contains("len>=14"), "{log}");
    assert!(log.contains("verified:"), "{log}");
}

#[test]
fn xdp_md_loads_are_rewritten_and_run() {
    let prog = load("xdp_ipv4_tcp.bpf.c");
    let opts = VerifyOptions {
        convention: Convention::Context,
        min_len: 0,
    };
    let proof = ubpf::verify(&prog, &opts).unwrap();
    let mut vm = Vm::new(prog, Engine::Jit(Trust::Verified(proof.clone()))).unwrap();
    let tcp = |dport: u16| {
        let mut l4 = common::ports(1234, dport, 20);
        l4[12] = 0x50;
        common::ether(
            0x0800,
            &[],
            &common::ipv4(6, [10, 0, 0, 1], [10, 0, 0, 2], &l4),
        )
    };
    assert_eq!(vm.run(&mut tcp(23)).unwrap(), 1);
    assert_eq!(vm.run(&mut tcp(22)).unwrap(), 0);
    let mut short = tcp(23);
    short.truncate(40);
    assert_eq!(vm.run(&mut short).unwrap(), 0);
    // the interpreter, with the proof, agrees
    let vm_opts = VmOptions {
        convention: Convention::Context,
        proof: Some(proof),
    };
    let again = load("xdp_ipv4_tcp.bpf.c");
    let mut int = Vm::with_options(again, Engine::Interpreter, vm_opts).unwrap();
    assert_eq!(int.run(&mut tcp(23)).unwrap(), 1);
}

#[test]
fn ip_dst_verifies_only_with_the_ip_mode_minimum() {
    let prog = load("../ip_dst.bpf.c");
    let ip = VerifyOptions {
        convention: Convention::Raw,
        min_len: 20,
    };
    let proof = ubpf::verify(&prog, &ip).unwrap();
    let mut vm = Vm::new(prog.clone(), Engine::Jit(Trust::Verified(proof))).unwrap();
    let mut pkt = common::ipv4(17, [10, 0, 0, 1], [1, 1, 1, 1], &[0; 8]);
    assert_eq!(vm.run(&mut pkt).unwrap(), 1);
    let raw = VerifyOptions {
        convention: Convention::Raw,
        min_len: 14,
    };
    ubpf::verify(&prog, &raw).unwrap_err();
}

#[test]
fn proofs_are_checked_against_program_and_convention() {
    let a = load("ctx_min.asm");
    let b = load("ctx_xdp_md.asm");
    let opts = VerifyOptions {
        convention: Convention::Context,
        min_len: 0,
    };
    let proof = ubpf::verify(&a, &opts).unwrap();
    let err = Vm::new(b, Engine::Jit(Trust::Verified(proof.clone())))
        .err()
        .expect("proof of another program");
    assert!(err.to_string().contains("another program"), "{err}");
    let wrong = VmOptions {
        convention: Convention::Raw,
        proof: Some(proof),
    };
    assert!(Vm::with_options(a, Engine::Interpreter, wrong).is_err());
}

#[test]
fn loops_run_only_with_a_proof() {
    let prog = load("loop_const.asm");
    assert!(prog.has_back_edges());
    assert!(Vm::new(prog.clone(), Engine::Interpreter).is_err());
    let proof = ubpf::verify(&prog, &VerifyOptions::default()).unwrap();
    assert!(proof.stats().loops);
    let mut vm = Vm::new(prog, Engine::Jit(Trust::Verified(proof))).unwrap();
    assert_eq!(vm.run(&mut []).unwrap(), 45);
}

/// Verifier cost: `cargo test --release --test verifier -- --ignored
/// --nocapture verifier_cost`.
#[test]
#[ignore = "benchmark: prints figures"]
fn verifier_cost() {
    let cases = [
        ("../port_allow_eth.bpf.c", Convention::Raw, 14),
        ("../call.bpf.c", Convention::Raw, 14),
        ("xdp_vlan.bpf.c", Convention::Context, 0),
        ("raw_loop_count.bpf.c", Convention::Raw, 14),
        ("raw_loop_options.bpf.c", Convention::Raw, 20),
    ];
    for (file, convention, min_len) in cases {
        let prog = load(file);
        let opts = VerifyOptions {
            convention,
            min_len,
        };
        let rounds = 50;
        let start = std::time::Instant::now();
        let mut stats = None;
        for _ in 0..rounds {
            stats = Some(*ubpf::verify(&prog, &opts).unwrap().stats());
        }
        let us = start.elapsed().as_secs_f64() * 1e6 / f64::from(rounds);
        let s = stats.unwrap();
        let insns = prog.insn_count();
        println!(
            "{file}: {insns} insns, {} simulated, {us:.1} µs, {:.1} µs per 1k insns, \
             {:.1} µs per 1k simulated",
            s.processed,
            us * 1000.0 / insns as f64,
            us * 1000.0 / s.processed as f64
        );
    }
}
