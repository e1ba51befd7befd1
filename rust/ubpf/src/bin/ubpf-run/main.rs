// SPDX-License-Identifier: GPL-2.0-or-later

//! `ubpf-run`: run an eBPF program offline on packets, run the eBPF ISA
//! conformance suite, or act as the suite's plugin.

mod conformance;

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use conformance::{Mode, Xfail};
use ubpf::{Convention, Engine, Program, Trust, VerifyOptions, Vm, VmOptions};

const USAGE: &str = "\
usage:
  ubpf-run [--jit] [--ip-mode] [--section NAME | --raw] [--context]
           [--verify | --verifier-log] [--min-len N] PROGRAM [--pcap FILE] [HEX...]
      run PROGRAM (an eBPF ELF object, or raw bytecode with --raw) on each
      packet of a pcap file and/or each packet given in hex; print each
      verdict (non-zero = drop) and a summary.  --ip-mode: the program sees
      the packet from the IPv4 header on (after Ethernet and 802.1Q tags);
      other frames pass untouched.  --context: r1 points to a context
      (struct ubpf_md / xdp_md) instead of r1 = packet, r2 = length.
      --verify: verify the program first (minimum packet length: --min-len,
      by default 20 with --ip-mode, else 14) and run it with the proof;
      exit 2 if it is refused.  --verifier-log: also print the verifier's
      log (each simulated instruction with the abstract state before it).
  ubpf-run --conformance DIR [--xfail FILE] [--mode interpreter|jit|both]
      run the eBPF conformance suite's .data files (DIR/tests, DIR/negative).
  ubpf-run --plugin [--jit] [--elf] [MEMHEX]
      conformance-suite plugin: program bytes (or an ELF with --elf) on
      stdin, input memory in hex; prints r0 in hex; exits 1 if refused.";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let res = match args.first().map(String::as_str) {
        Some("--conformance") => conformance_main(&args[1..]),
        Some("--plugin") => plugin_main(&args[1..]),
        Some("-h" | "--help") => {
            println!("{USAGE}");
            Ok(ExitCode::SUCCESS)
        }
        _ => run_main(&args),
    };
    res.unwrap_or_else(|e| {
        eprintln!("ubpf-run: {e}");
        ExitCode::from(2)
    })
}

fn engine(jit: bool) -> Engine {
    if jit {
        Engine::Jit(Trust::Trusted)
    } else {
        Engine::Interpreter
    }
}

/// Options of the packet-running mode.
#[derive(Default)]
struct RunOpts {
    jit: bool,
    ip_mode: bool,
    raw: bool,
    context: bool,
    verify: bool,
    verifier_log: bool,
    min_len: Option<usize>,
    section: Option<String>,
    program: Option<PathBuf>,
    pcap: Option<PathBuf>,
    hex: Vec<String>,
}

fn parse_run_opts(args: &[String]) -> Result<RunOpts, String> {
    let mut o = RunOpts::default();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--jit" => o.jit = true,
            "--ip-mode" => o.ip_mode = true,
            "--raw" => o.raw = true,
            "--context" => o.context = true,
            "--verify" => o.verify = true,
            "--verifier-log" => {
                o.verify = true;
                o.verifier_log = true;
            }
            "--min-len" => {
                let n = it.next().ok_or("--min-len needs a number")?;
                o.min_len = Some(n.parse().map_err(|e| format!("--min-len {n}: {e}"))?);
            }
            "--section" => o.section = Some(it.next().ok_or("--section needs a name")?.clone()),
            "--pcap" => o.pcap = Some(it.next().ok_or("--pcap needs a file")?.into()),
            s if s.starts_with("--") => return Err(format!("unknown option {s}\n{USAGE}")),
            s if o.program.is_none() => o.program = Some(s.into()),
            s => o.hex.push(s.to_owned()),
        }
    }
    if o.program.is_none() {
        return Err(USAGE.to_owned());
    }
    Ok(o)
}

#[derive(Default)]
struct Totals {
    passed: usize,
    dropped: usize,
    errors: usize,
    untouched: usize,
}

fn run_one(vm: &mut Vm, n: usize, frame: &mut [u8], ip_mode: bool, t: &mut Totals) {
    let len = frame.len();
    let Some(mem) = ubpf::net::program_memory(frame, ip_mode) else {
        t.passed += 1;
        t.untouched += 1;
        let what = if ip_mode {
            "no complete IPv4 header"
        } else {
            "shorter than an Ethernet header"
        };
        println!("packet {n}: {len} bytes: {what}, passed untouched");
        return;
    };
    match vm.run(mem) {
        Ok(0) => {
            t.passed += 1;
            println!("packet {n}: {} bytes: pass (0)", mem.len());
        }
        Ok(v) => {
            t.dropped += 1;
            println!("packet {n}: {} bytes: drop ({v:#x})", mem.len());
        }
        Err(e) => {
            t.errors += 1;
            println!("packet {n}: {} bytes: error: {e}", mem.len());
        }
    }
}

#[cfg(feature = "pcap")]
fn for_each_pcap(path: &Path, mut f: impl FnMut(&mut [u8])) -> Result<(), String> {
    let file = std::fs::File::open(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut reader =
        pcap_file::pcap::PcapReader::new(file).map_err(|e| format!("{}: {e}", path.display()))?;
    while let Some(pkt) = reader.next_packet() {
        let pkt = pkt.map_err(|e| format!("{}: {e}", path.display()))?;
        let mut data = pkt.data.into_owned();
        f(&mut data);
    }
    Ok(())
}

#[cfg(not(feature = "pcap"))]
fn for_each_pcap(_path: &Path, _f: impl FnMut(&mut [u8])) -> Result<(), String> {
    Err("pcap input needs the \"pcap\" feature".to_owned())
}

fn run_main(args: &[String]) -> Result<ExitCode, String> {
    let o = parse_run_opts(args)?;
    let path = o.program.as_deref().unwrap_or_else(|| Path::new(""));
    let prog = if o.raw {
        let code = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
        Program::from_bytecode(&code)
    } else {
        Program::load_file(path, o.section.as_deref())
    }
    .map_err(|e| e.to_string())?;
    let Some(mut vm) = prepare(prog, &o)? else {
        return Ok(ExitCode::from(2));
    };
    println!(
        "program {} section \"{}\": {} instructions, {}{}{}",
        vm.program().origin(),
        vm.program().section(),
        vm.program().insn_count(),
        if vm.is_jit() { "JIT" } else { "interpreter" },
        if vm.is_verified() { ", verified" } else { "" },
        if o.ip_mode { ", ip-mode" } else { "" }
    );
    let mut totals = Totals::default();
    let mut n = 0;
    if let Some(pcap) = &o.pcap {
        for_each_pcap(pcap, |frame| {
            n += 1;
            run_one(&mut vm, n, frame, o.ip_mode, &mut totals);
        })?;
    }
    for h in &o.hex {
        let mut frame = conformance::parse_hex_bytes(h)?;
        n += 1;
        run_one(&mut vm, n, &mut frame, o.ip_mode, &mut totals);
    }
    let plural = |k: usize, word: &str| format!("{k} {word}{}", if k == 1 { "" } else { "s" });
    println!(
        "{}: {} passed, {} dropped, {}{}",
        plural(n, "packet"),
        totals.passed,
        totals.dropped,
        plural(totals.errors, "error"),
        if o.ip_mode {
            format!(" ({} passed untouched)", totals.untouched)
        } else {
            String::new()
        }
    );
    Ok(if totals.errors > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

/// The VM for `prog` under the options; `None` if the verifier refused it
/// (the reason is printed).
fn prepare(prog: Program, o: &RunOpts) -> Result<Option<Vm>, String> {
    let convention = if o.context {
        Convention::Context
    } else {
        Convention::Raw
    };
    if !o.verify {
        let opts = VmOptions {
            convention,
            proof: None,
        };
        return Vm::with_options(prog, engine(o.jit), opts)
            .map(Some)
            .map_err(|e| e.to_string());
    }
    let min_len = o.min_len.unwrap_or(if o.ip_mode { 20 } else { 14 });
    let vopts = VerifyOptions {
        convention,
        min_len,
    };
    let mut log = String::new();
    let start = std::time::Instant::now();
    let res = if o.verifier_log {
        ubpf::verify_with_log(&prog, &vopts, &mut log)
    } else {
        ubpf::verify(&prog, &vopts)
    };
    let took = start.elapsed();
    print!("{log}");
    let proof = match res {
        Ok(p) => p,
        Err(e) => {
            println!("refused by the verifier: {e}");
            return Ok(None);
        }
    };
    let s = proof.stats();
    println!(
        "verified ({} convention, packets of {min_len} bytes or more): \
         {} instructions simulated, {} states, {} µs",
        if convention == Convention::Context {
            "context"
        } else {
            "raw"
        },
        s.processed,
        s.states,
        took.as_micros()
    );
    let vm = if o.jit {
        Vm::new(prog, Engine::Jit(Trust::Verified(proof)))
    } else {
        let opts = VmOptions {
            convention,
            proof: Some(proof),
        };
        Vm::with_options(prog, Engine::Interpreter, opts)
    };
    vm.map(Some).map_err(|e| e.to_string())
}

fn conformance_main(args: &[String]) -> Result<ExitCode, String> {
    let mut dir = None;
    let mut xfail_path = None;
    let mut modes = vec![Mode::Interpreter, Mode::Jit];
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--xfail" => xfail_path = Some(it.next().ok_or("--xfail needs a file")?.clone()),
            "--mode" => {
                modes = match it.next().map(String::as_str) {
                    Some("interpreter") => vec![Mode::Interpreter],
                    Some("jit") => vec![Mode::Jit],
                    Some("both") => vec![Mode::Interpreter, Mode::Jit],
                    _ => return Err("--mode: interpreter, jit or both".to_owned()),
                }
            }
            s if dir.is_none() => dir = Some(PathBuf::from(s)),
            s => return Err(format!("unexpected argument {s}")),
        }
    }
    let dir = dir.ok_or(USAGE)?;
    let xfail = match xfail_path {
        Some(p) => Xfail::parse(&std::fs::read_to_string(&p).map_err(|e| format!("{p}: {e}"))?)?,
        None => Xfail::default(),
    };
    if xfail.len() > 0 {
        println!("{} expected-failure entries", xfail.len());
    }
    let mut ok = true;
    for mode in modes {
        let s = conformance::run_suite(&dir, mode, &xfail).map_err(|e| e.to_string())?;
        for p in &s.problems {
            println!("{}: {p}", mode.name());
        }
        println!("{}", s.line(mode));
        ok &= s.problems.is_empty();
    }
    Ok(if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

fn plugin_main(args: &[String]) -> Result<ExitCode, String> {
    let mut jit = false;
    let mut elf = false;
    let mut mem = Vec::new();
    for a in args {
        match a.as_str() {
            "--jit" => jit = true,
            "--elf" => elf = true,
            s if s.starts_with("--") => return Err(format!("unknown option {s}")),
            s => mem = conformance::parse_hex_bytes(s)?,
        }
    }
    let mut input = Vec::new();
    std::io::stdin()
        .read_to_end(&mut input)
        .map_err(|e| format!("stdin: {e}"))?;
    let prog = if elf {
        Program::load_elf(&input, "<stdin>", None)
    } else {
        Program::from_bytecode(&input)
    };
    let mode = if jit { Mode::Jit } else { Mode::Interpreter };
    match prog
        .map_err(|e| e.to_string())
        .and_then(|p| conformance::execute(&p, &mem, mode))
    {
        Ok(r) => {
            let mut out = std::io::stdout();
            writeln!(out, "{r:x}").map_err(|e| e.to_string())?;
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => {
            eprintln!("{e}");
            Ok(ExitCode::from(1))
        }
    }
}
