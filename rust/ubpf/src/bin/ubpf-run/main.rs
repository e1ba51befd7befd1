// SPDX-License-Identifier: GPL-2.0-or-later

//! `ubpf-run`: run an eBPF program offline on packets, run the eBPF ISA
//! conformance suite, or act as the suite's plugin.

mod conformance;

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use conformance::{Mode, Xfail};
use ubpf::filter::{self, Counters, Fate};
use ubpf::progtype::{Action, Returns};
use ubpf::{
    Convention, Engine, Outcome, Packet, PacketMeta, ProgType, Program, RedirectTarget, Trust,
    Verdict, VerifyOptions, Vm, VmOptions,
};

const USAGE: &str = "\
usage:
  ubpf-run [OPTIONS] PROGRAM [--pcap FILE] [HEX...]
      run PROGRAM (an eBPF ELF object, or raw bytecode with --bytecode) on
      each packet of a pcap or pcapng file and/or each Ethernet frame given
      in hex, as filter-ubpf would; print each verdict as the program type
      means it (XDP_PASS, TC_ACT_SHOT, truncate to N; for type ubpf
      non-zero drops) and the filter's counters.  The defaults are the
      filter's: verified, JIT-compiled, ip-mode, the program type from
      the section name.
      --no-verify       load the program even if the verifier refuses it;
                        it then runs in the interpreter (never JIT code)
      --no-jit, --interp  run with the interpreter
      --no-ip-mode      a program of type ubpf sees the whole Ethernet
                        frame (the other types always do)
      --prog-type auto|xdp|tc|socket|ubpf  the program type (default:
                        auto, from the section: xdp, tc, classifier,
                        socket as libbpf; any other section is ubpf)
      --convention raw|context|tc|socket  the type of that convention:
                        ubpf, xdp, tc, socket (--context: xdp)
      --section NAME    the program's ELF section
      --map-update MAP KEY VALUE  set an entry of the program's map MAP
                        before the runs (hexadecimal, as QMP's
                        x-filter-ubpf-update-map); may be repeated
      --bytecode        PROGRAM is raw bytecode (old name: --raw)
      --unfiltered-action pass|drop  the packets the program is not run on
                        (default: pass)
      --ifindex N       the ifindex of the filter's netdev, which programs
                        see in their context (default: 0)
      --min-len N       minimum packet length the verifier assumes
                        (default: 20 for ubpf in ip-mode, else 14)
      --verifier-log    print the verifier's log
      --verify, --jit, --ip-mode  accepted for compatibility (defaults)
      pcap link types: Ethernet, Linux cooked (SLL and SLL2, as written by
      tcpdump -i any) and raw IP; non-Ethernet packets are given an
      Ethernet header first.  Packets cut by the capture's snapshot length
      run on the bytes captured, are marked truncated and counted.
      Redirected packets are counted, not sent: no netdev is there.
      Exit status: 1 if a run failed, 2 if the program was refused.
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

/// Options of the packet-running mode.
struct RunOpts {
    jit: bool,
    ip_mode: bool,
    bytecode: bool,
    /// The program type; `None`: from the section (`auto`).
    prog_type: Option<ProgType>,
    ifindex: u32,
    verify: bool,
    verifier_log: bool,
    drop_unfiltered: bool,
    min_len: Option<usize>,
    section: Option<String>,
    program: Option<PathBuf>,
    pcap: Option<PathBuf>,
    hex: Vec<String>,
    /// `--map-update MAP KEY VALUE`, in order.
    updates: Vec<(String, String, String)>,
}

impl Default for RunOpts {
    /// The filter's defaults.
    fn default() -> Self {
        Self {
            jit: true,
            ip_mode: true,
            bytecode: false,
            prog_type: None,
            ifindex: 0,
            verify: true,
            verifier_log: false,
            drop_unfiltered: false,
            min_len: None,
            section: None,
            program: None,
            pcap: None,
            hex: Vec::new(),
            updates: Vec::new(),
        }
    }
}

fn parse_run_opts(args: &[String]) -> Result<RunOpts, String> {
    let mut o = RunOpts::default();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            // the defaults, accepted for compatibility
            "--jit" => o.jit = true,
            "--ip-mode" => o.ip_mode = true,
            "--verify" => o.verify = true,
            "--no-jit" | "--interp" => o.jit = false,
            "--no-ip-mode" => o.ip_mode = false,
            "--no-verify" => o.verify = false,
            "--bytecode" | "--raw" => o.bytecode = true,
            "--context" => o.prog_type = Some(ProgType::Xdp),
            "--convention" => {
                let ty = it.next().and_then(|v| ProgType::from_convention_name(v));
                o.prog_type = Some(ty.ok_or("--convention: raw, context, tc or socket")?);
            }
            "--prog-type" => {
                o.prog_type = match it.next().map(String::as_str) {
                    Some("auto") => None,
                    v => Some(
                        v.and_then(ProgType::from_property)
                            .ok_or("--prog-type: auto, xdp, tc, socket or ubpf")?,
                    ),
                }
            }
            "--ifindex" => {
                let n = it.next().ok_or("--ifindex needs a number")?;
                o.ifindex = n.parse().map_err(|e| format!("--ifindex {n}: {e}"))?;
            }
            "--unfiltered-action" => {
                o.drop_unfiltered = match it.next().map(String::as_str) {
                    Some("pass") => false,
                    Some("drop") => true,
                    _ => return Err("--unfiltered-action: pass or drop".to_owned()),
                }
            }
            "--verifier-log" => {
                o.verify = true;
                o.verifier_log = true;
            }
            "--min-len" => {
                let n = it.next().ok_or("--min-len needs a number")?;
                o.min_len = Some(n.parse().map_err(|e| format!("--min-len {n}: {e}"))?);
            }
            "--section" => o.section = Some(it.next().ok_or("--section needs a name")?.clone()),
            "--map-update" => {
                let mut arg = || it.next().cloned().ok_or("--map-update needs MAP KEY VALUE");
                o.updates.push((arg()?, arg()?, arg()?));
            }
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

/// The filter's counters for the packets run, and what the tool adds.
#[derive(Default)]
struct Totals {
    /// As the filter counts ([`ubpf::filter`]).
    counters: Counters,
    /// Runs that failed.
    failed: usize,
    /// Packets the capture cut.
    cut: usize,
}

/// One packet to run: an Ethernet frame, and its length on the wire when
/// the capture cut it.
struct Frame {
    data: Vec<u8>,
    cut_from: Option<usize>,
}

/// Run the program on one frame as the filter does, count it as the
/// filter does, and print what happened.
fn run_one(vm: &mut Vm, pkt: &mut Packet, n: usize, frame: &Frame, o: &RunOpts, t: &mut Totals) {
    let len = frame.data.len();
    let cut = match frame.cut_from {
        Some(orig) => {
            t.cut += 1;
            format!(" (truncated: {len} of {orig} bytes captured)")
        }
        None => String::new(),
    };
    let ty = vm.prog_type();
    let Some(start) = filter::program_start(ty, &frame.data, o.ip_mode) else {
        t.counters.count(Fate::Unfiltered {
            dropped: o.drop_unfiltered,
        });
        let what = if ty == ProgType::Ubpf && o.ip_mode {
            "no complete IPv4 header"
        } else {
            "shorter than an Ethernet header"
        };
        let verdict = if o.drop_unfiltered {
            "dropped"
        } else {
            "passed"
        };
        println!("packet {n}: {len} bytes{cut}: {what}, unfiltered: {verdict} untouched");
        return;
    };
    pkt.set(&frame.data);
    pkt.pull(start);
    // the bytes the program sees
    let seen = pkt.len();
    let meta = PacketMeta {
        ifindex: o.ifindex,
        ingress_ifindex: o.ifindex,
        ..PacketMeta::default()
    };
    let res = vm.run_packet(pkt, &meta);
    let trace = vm.take_trace();
    match res {
        Ok(outcome) => {
            t.counters.count(Fate::Verdict(outcome.verdict));
            // what the filter sends on: from the Ethernet header on
            let after = if start > 0 { pkt.frame() } else { pkt.data() };
            let changed = match outcome.verdict {
                Verdict::Drop | Verdict::Aborted => String::new(),
                _ if after.len() != len => format!(", the program made it {} bytes", after.len()),
                _ if after != frame.data => ", changed by the program".to_owned(),
                _ => String::new(),
            };
            println!(
                "packet {n}: {seen} bytes{cut}: {}{changed}",
                verdict_text(vm, ty, &outcome, seen, o.ifindex)
            );
        }
        Err(e) => {
            t.counters.count(Fate::RunFailed);
            t.failed += 1;
            println!("packet {n}: {seen} bytes{cut}: error, passed: {e}");
        }
    }
    for line in trace {
        println!("  bpf_trace_printk: {}", line.trim_end_matches('\n'));
    }
}

/// The verdict of a run as the program type names it: the raw type's
/// "pass (0)" and "drop (0x1)"; the kernel's name of the return code and
/// what the filter does (`XDP_PASS (passed)`, `TC_ACT_SHOT (dropped)`);
/// a socket filter's length (`truncate to 40`).
fn verdict_text(vm: &Vm, ty: ProgType, outcome: &Outcome, seen: usize, own: u32) -> String {
    let r0 = outcome.r0;
    let action = match outcome.verdict {
        Verdict::Pass => "passed".to_owned(),
        Verdict::Drop => "dropped".to_owned(),
        Verdict::Aborted => "dropped, counted as an error".to_owned(),
        Verdict::Tx => "sent back".to_owned(),
        Verdict::Redirect(target) => redirect_text(vm, target, own),
        Verdict::Truncate(n) => format!("passed, {n} of {seen} bytes"),
    };
    match ty.info().returns {
        Returns::ZeroPasses => match outcome.verdict {
            Verdict::Pass => format!("pass ({r0})"),
            _ => format!("drop ({r0:#x})"),
        },
        Returns::Length => match outcome.verdict {
            Verdict::Truncate(n) => format!("truncate to {n} ({action})"),
            _ => format!("{} ({action})", r0 as u32),
        },
        _ => match ty.return_code(r0) {
            Some(c)
                if c.action == Action::Redirect
                    && !matches!(outcome.verdict, Verdict::Redirect(_)) =>
            {
                format!("{} without a target ({action})", c.name)
            }
            Some(c) => format!("{} ({action})", c.name),
            None => format!(
                "{} (no {} return code: {action})",
                r0 as u32 as i32,
                ty.info().property
            ),
        },
    }
}

/// Where a redirect goes, as the filter would send it
/// ([`filter::redirect_targets`]).
fn redirect_text(vm: &Vm, target: RedirectTarget, own: u32) -> String {
    let to = filter::redirect_targets(vm, target, own);
    let list: Vec<String> = to
        .iter()
        .map(|&(ifindex, ingress)| {
            if ingress {
                format!("ifindex {ifindex} (ingress)")
            } else {
                format!("ifindex {ifindex}")
            }
        })
        .collect();
    let via = match target {
        RedirectTarget::Ifindex { .. } => String::new(),
        RedirectTarget::Map(r) => {
            let name = vm
                .maps()
                .nth(r.map)
                .map_or_else(|| format!("map {}", r.map), |m| m.def().name.clone());
            match r.key {
                Some(k) => format!(" by {name}[{k}]"),
                None => format!(" by a broadcast on {name}"),
            }
        }
    };
    if list.is_empty() {
        format!("redirected{via} to no netdev")
    } else {
        format!("redirected{via} to {}", list.join(", "))
    }
}

/// pcap and pcapng input.
#[cfg(feature = "pcap")]
mod capture {
    use std::path::Path;

    use super::Frame;

    // pcap link types (LINKTYPE_*, www.tcpdump.org/linktypes.html)
    const LINKTYPE_ETHERNET: u32 = 1;
    const LINKTYPE_RAW: u32 = 101;
    const LINKTYPE_LINUX_SLL: u32 = 113;
    const LINKTYPE_IPV4: u32 = 228;
    const LINKTYPE_IPV6: u32 = 229;
    const LINKTYPE_LINUX_SLL2: u32 = 276;

    /// The name of a link type ubpf-run reads, `None` for the others.
    const fn link_name(linktype: u32) -> Option<&'static str> {
        match linktype {
            LINKTYPE_ETHERNET => Some("Ethernet"),
            LINKTYPE_RAW | LINKTYPE_IPV4 | LINKTYPE_IPV6 => Some("raw IP"),
            LINKTYPE_LINUX_SLL => Some("Linux cooked (SLL)"),
            LINKTYPE_LINUX_SLL2 => Some("Linux cooked (SLL2)"),
            _ => None,
        }
    }

    /// `packet` of link type `linktype` as an Ethernet frame (the filter
    /// sees Ethernet frames): the L3 packet behind a header with zero MAC
    /// addresses and the packet's Ethernet type.  `None` when the packet is too
    /// short for its link-layer header.
    fn to_ethernet(linktype: u32, packet: &[u8]) -> Option<Vec<u8>> {
        let (ethertype, l3) = match linktype {
            LINKTYPE_ETHERNET => return Some(packet.to_vec()),
            // SLL: 16-byte header, protocol (EtherType) in its last 2 bytes
            LINKTYPE_LINUX_SLL => ([*packet.get(14)?, *packet.get(15)?], packet.get(16..)?),
            // SLL2: 20-byte header, protocol in its first 2 bytes
            LINKTYPE_LINUX_SLL2 => ([*packet.first()?, *packet.get(1)?], packet.get(20..)?),
            _ => {
                let version = packet.first().map_or(0, |b| b >> 4);
                let ethertype = if version == 6 { 0x86dd_u16 } else { 0x0800 };
                (ethertype.to_be_bytes(), packet)
            }
        };
        let mut frame = vec![0u8; 12];
        frame.extend_from_slice(&ethertype);
        frame.extend_from_slice(l3);
        Some(frame)
    }

    /// One captured packet as a [`Frame`]; `orig` is its length on the wire.
    fn captured(linktype: u32, data: &[u8], orig: u32) -> Frame {
        let frame = to_ethernet(linktype, data).unwrap_or_default();
        let orig = orig as usize;
        // the length on the wire, as an Ethernet frame
        let cut_from = (orig > data.len()).then(|| (orig + frame.len()).saturating_sub(data.len()));
        Frame {
            data: frame,
            cut_from,
        }
    }

    pub fn for_each_pcap(path: &Path, mut f: impl FnMut(Frame)) -> Result<(), String> {
        use pcap_file::pcapng::Block;
        let err = |e: &dyn std::fmt::Display| format!("{}: {e}", path.display());
        let bytes = std::fs::read(path).map_err(|e| err(&e))?;
        let unsupported = |lt: u32| {
            err(&format!(
                "link type {lt} is not supported (Ethernet, Linux cooked SLL/SLL2 and raw IP are)"
            ))
        };
        // pcapng files start with a section header block
        if bytes.starts_with(&0x0a0d_0d0a_u32.to_le_bytes()) {
            let mut reader =
                pcap_file::pcapng::PcapNgReader::new(&bytes[..]).map_err(|e| err(&e))?;
            let mut described = std::collections::HashSet::new();
            while let Some(block) = reader.next_block() {
                let (iface, data, orig) = match block.map_err(|e| err(&e))? {
                    Block::EnhancedPacket(p) => {
                        (p.interface_id, p.data.into_owned(), p.original_len)
                    }
                    Block::SimplePacket(p) => (0, p.data.into_owned(), p.original_len),
                    Block::Packet(p) => (
                        u32::from(p.interface_id),
                        p.data.into_owned(),
                        p.original_len,
                    ),
                    _ => continue,
                };
                let linktype = reader
                    .interfaces()
                    .get(iface as usize)
                    .map(|i| u32::from(i.linktype))
                    .ok_or_else(|| err(&format!("packet of undeclared interface {iface}")))?;
                let name = link_name(linktype).ok_or_else(|| unsupported(linktype))?;
                if described.insert(iface) {
                    println!("pcapng interface {iface}: link type {name}");
                }
                f(captured(linktype, &data, orig));
            }
            return Ok(());
        }
        let mut reader = pcap_file::pcap::PcapReader::new(&bytes[..]).map_err(|e| err(&e))?;
        let linktype = u32::from(reader.header().datalink);
        let name = link_name(linktype).ok_or_else(|| unsupported(linktype))?;
        if linktype != LINKTYPE_ETHERNET {
            println!("pcap link type {name}: packets given an Ethernet header");
        }
        // raw packets: pcap-file refuses a packet longer on the wire than
        // the snapshot length, which is what a truncated capture holds
        while let Some(pkt) = reader.next_raw_packet() {
            let pkt = pkt.map_err(|e| err(&e))?;
            f(captured(linktype, &pkt.data, pkt.orig_len));
        }
        Ok(())
    }
}

#[cfg(feature = "pcap")]
use capture::for_each_pcap;

#[cfg(not(feature = "pcap"))]
fn for_each_pcap(_path: &Path, _f: impl FnMut(Frame)) -> Result<(), String> {
    Err("pcap input needs the \"pcap\" feature".to_owned())
}

fn run_main(args: &[String]) -> Result<ExitCode, String> {
    let o = parse_run_opts(args)?;
    let path = o.program.as_deref().unwrap_or_else(|| Path::new(""));
    let mut prog = if o.bytecode {
        let code = ubpf::read_object_file(path).map_err(|e| e.to_string())?;
        Program::from_bytecode(&code)
    } else {
        Program::load_file(path, o.section.as_deref())
    }
    .map_err(|e| e.to_string())?;
    // as the filter: the type forced, else the section's (as libbpf)
    let ty = o
        .prog_type
        .unwrap_or_else(|| ProgType::from_section(prog.section()));
    prog.set_prog_type(ty);
    let Some(mut vm) = prepare(prog, &o)? else {
        return Ok(ExitCode::from(2));
    };
    println!(
        "program {} section \"{}\": {} instructions, {}{}{}, prog-type {}",
        vm.program().origin(),
        vm.program().section(),
        vm.program().insn_count(),
        if vm.is_jit() { "JIT" } else { "interpreter" },
        if vm.is_verified() {
            ", verified"
        } else {
            ", not verified"
        },
        if ty == ProgType::Ubpf && o.ip_mode {
            ", ip-mode"
        } else {
            ""
        },
        ty.info().property
    );
    for (map, key, value) in &o.updates {
        update_map(&vm, map, key, value)?;
    }
    let mut totals = Totals::default();
    let mut pkt = Packet::default();
    let mut n = 0;
    if let Some(pcap) = &o.pcap {
        for_each_pcap(pcap, |frame| {
            n += 1;
            run_one(&mut vm, &mut pkt, n, &frame, &o, &mut totals);
        })?;
    }
    for h in &o.hex {
        let data = conformance::parse_hex_bytes(h)?;
        n += 1;
        let frame = Frame {
            data,
            cut_from: None,
        };
        run_one(&mut vm, &mut pkt, n, &frame, &o, &mut totals);
    }
    let c = &totals.counters;
    let plural = |k: u64, word: &str| format!("{k} {word}{}", if k == 1 { "" } else { "s" });
    // what only the kernel types do, when they did
    let others: String = [
        (c.aborted, "aborted"),
        (c.tx, "sent back (tx)"),
        (c.redirected, "redirected"),
        (c.truncated, "truncated by the program"),
    ]
    .iter()
    .filter(|(k, _)| *k > 0)
    .map(|(k, what)| format!(", {k} {what}"))
    .collect();
    println!(
        "{}: {} passed, {} dropped{others}, {}, {} unfiltered ({}){}",
        plural(c.packets, "packet"),
        c.passed,
        c.dropped,
        plural(c.errors, "error"),
        c.unfiltered,
        if o.drop_unfiltered {
            "dropped"
        } else {
            "passed"
        },
        if totals.cut > 0 {
            format!(", {} truncated by the capture", totals.cut)
        } else {
            String::new()
        }
    );
    let named: Vec<String> = c
        .named()
        .iter()
        .map(|(name, v)| format!("{name} {v}"))
        .collect();
    println!("filter counters: {}", named.join(", "));
    Ok(if totals.failed > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

/// The VM for `prog` (of its type) under the options; `None` if the
/// verifier refused it (the reason is printed).
fn prepare(prog: Program, o: &RunOpts) -> Result<Option<Vm>, String> {
    let ty = prog.prog_type();
    let convention = ty.convention();
    if !o.verify {
        // JIT code does not check memory accesses: never for a program
        // the verifier did not prove
        if o.jit {
            println!("not verified (--no-verify): running in the interpreter, not the JIT");
        }
        let opts = VmOptions {
            convention,
            proof: None,
        };
        return Vm::with_options(prog, Engine::Interpreter, opts)
            .map(Some)
            .map_err(|e| e.to_string());
    }
    let min_len = o.min_len.unwrap_or_else(|| filter::min_len(ty, o.ip_mode));
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
            let context = VerifyOptions {
                convention: Convention::Context,
                ..vopts
            };
            if convention == Convention::Raw && ubpf::verify(&prog, &context).is_ok() {
                println!(
                    "the program reads r1 as a context (struct xdp_md): it verifies with \
                     --convention context"
                );
            }
            return Ok(None);
        }
    };
    let s = proof.stats();
    println!(
        "verified ({} convention, packets of {min_len} bytes or more): \
         {} instructions simulated, {} states, {} µs",
        ty.info().convention_name,
        s.processed,
        s.states,
        took.as_micros()
    );
    let (engine, proof) = if o.jit {
        (Engine::Jit(Trust::Verified(proof)), None)
    } else {
        (Engine::Interpreter, Some(proof))
    };
    let opts = VmOptions { convention, proof };
    Vm::with_options(prog, engine, opts)
        .map(Some)
        .map_err(|e| e.to_string())
}

/// `--map-update`: set entry `key` of map `map` to `value` (both in
/// hexadecimal, as `x-filter-ubpf-update-map` takes them) before the runs.
fn update_map(vm: &Vm, map: &str, key: &str, value: &str) -> Result<(), String> {
    let m = vm
        .map(map)
        .ok_or_else(|| format!("--map-update: the program has no map \"{map}\""))?;
    let key =
        conformance::parse_hex_bytes(key).map_err(|e| format!("--map-update {map}: key: {e}"))?;
    let value = conformance::parse_hex_bytes(value)
        .map_err(|e| format!("--map-update {map}: value: {e}"))?;
    m.update(&key, &value, 0)
        .map_err(|e| format!("--map-update {map}: {e}"))?;
    let key: String = key.iter().map(|b| format!("{b:02x}")).collect();
    println!("map {map}: entry {key} set");
    Ok(())
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
