// SPDX-License-Identifier: GPL-2.0-or-later

//! Differential tests against the host kernel (tests/common/kernel.rs).
//!
//! Every program is loaded into the kernel (`BPF_PROG_LOAD`, from the
//! bytecode our ELF loader produced) and into the engine (loader +
//! verifier); programs both accept run the same frames (Ethernet, IPv4,
//! IPv6, TCP, UDP, ICMP, VLAN, ARP, short, truncated; fixed seed) through
//! `BPF_PROG_TEST_RUN` and through the engine's interpreter and JIT,
//! comparing the return value, the packet after the run and the maps
//! after all runs.  Each program lands in one class:
//!
//! - `both-refuse`, `both-accept-match`: agreement;
//! - `kernel-accepts/we-refuse` (with our reason): a gap, reported only
//!   (program types, map types, helpers are being added);
//! - `we-refuse/kernel-not-tried`: our ELF loader refused, so there is
//!   no bytecode to give the kernel;
//! - `we-accept/kernel-refuses`: a soundness finding, a FAILURE unless
//!   listed in [`ALLOWED_KERNEL_REFUSES`] with the reason;
//! - `both-accept-differ`: a FAILURE unless listed in
//!   [`KNOWN_DIFFERENCES`] naming the issue.
//!
//! The table is printed and written to `target/kernel-diff/<set>.txt`.
//!
//! `cargo test` runs the engine's own XDP-style programs (a few seconds).
//! The real-program corpus built by `scripts/ubpf/kernel-corpus.sh` runs
//! with `UBPF_KERNEL_CORPUS=<dir or manifest>`; without it that test
//! prints a message and passes.  Without `bpf()` (not root, another
//! kernel) everything is skipped with a message.

mod common;

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::kernel::{self, KernelProg, ProgType};
use common::Rng;
use ubpf::{Engine, Packet, PacketMeta, Program, Trust, Verified, VerifyOptions, Vm, VmOptions};

/// Programs the engine accepts and the kernel refuses, on purpose:
/// (name as in the table, why).
const ALLOWED_KERNEL_REFUSES: &[(&str, &str)] = &[
    (
        "verifier/md_udp.bpf.c",
        "uses the engine's own struct ubpf_md (64-bit data/data_end); \
         the kernel's xdp_md fields are 32-bit, 8-byte loads are refused",
    ),
    ("verifier/md_loop_sum.bpf.c", "struct ubpf_md, as md_udp"),
    ("verifier/ctx_min.asm", "64-bit ubpf_md loads, as md_udp"),
    (
        "verifier/ctx_end_minus.asm",
        "64-bit ubpf_md loads, as md_udp",
    ),
    (
        "verifier/xdp_tcp_opts.bpf.c",
        "the kernel gives up at its 1M-instruction complexity limit (16 loop \
         iterations, several paths each); ours joins the states of one \
         iteration and needs about 50k; the memory-checked runs of the \
         verifier corpus test exercise the proof",
    ),
    (
        "ld_abs.bpf.c:tc/tc_table",
        "the kernel's verifier knows nothing of the value ld_abs loads (a \
         64-bit unknown); ours knows it is below 2^(8*size) and lets it index \
         a 256-byte map value (tc_table_masked is the comparable variant)",
    ),
    (
        "obj/selftests/verifier_meta_access.o:xdp/meta_access_test9",
        "the kernel does not decide a comparison of two packet pointers from \
         their offsets; ours does: data_meta + 65536 > data always holds \
         (data_meta is at most 32 bytes before data), so the out-of-range \
         load the kernel refuses after the fall-through never runs",
    ),
];

/// Programs both accept whose results differ, with the issue that
/// explains it: (name, issue).
const KNOWN_DIFFERENCES: &[(&str, &str)] = &[
    (
        "obj/selftests/verifier_reg_equal.o:socket/subreg_equality_1",
        "returns a value computed from bpf_ktime_get_ns(): two clock readings",
    ),
    (
        "obj/selftests/verifier_spill_fill.o:socket/old_stack_misc_vs_cur_ctx_ptr",
        "returns a value computed from bpf_ktime_get_ns(): two clock readings",
    ),
];

/// Outcome for one program.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Class {
    BothRefuse,
    BothAcceptMatch,
    KernelAcceptsWeRefuse,
    WeRefuseKernelNotTried,
    WeAcceptKernelRefuses,
    BothAcceptDiffer,
}

impl Class {
    const fn name(&self) -> &'static str {
        match self {
            Self::BothRefuse => "both-refuse",
            Self::BothAcceptMatch => "both-accept-match",
            Self::KernelAcceptsWeRefuse => "kernel-accepts/we-refuse",
            Self::WeRefuseKernelNotTried => "we-refuse/kernel-not-tried",
            Self::WeAcceptKernelRefuses => "we-accept/kernel-refuses",
            Self::BothAcceptDiffer => "both-accept-differ",
        }
    }
}

/// One program to compare.
struct Subject {
    /// Name in the table.
    name: String,
    /// The ELF object (or an assembled program).
    source: Source,
    prog_type: ProgType,
}

enum Source {
    Elf { path: PathBuf, section: String },
    Bytecode(Vec<u8>),
}

struct Row {
    name: String,
    prog_type: ProgType,
    class: Class,
    /// Our refusal, the kernel's, or the difference.
    detail: String,
    /// Frames compared.
    frames: usize,
    /// Tail calls the engine made on them (interpreter): tells that the
    /// program arrays were filled and the targets compared too.
    tail_calls: u32,
}

// ---------------------------------------------------------------- frames

fn eth(ethertype: u16, payload: &[u8]) -> Vec<u8> {
    common::ether(ethertype, &[], payload)
}

fn l4(proto: u8, rng: &mut Rng) -> Vec<u8> {
    let port = |r: &mut Rng| r.pick(&[22u16, 53, 80, 443, 9, 8080, 1234, 5201]);
    match proto {
        6 => {
            let mut t = common::ports(port(rng), port(rng), 20);
            t[12] = 0x50; // data offset 5
            t[13] = rng.pick(&[0x02u8, 0x10, 0x12, 0x11, 0x04]);
            let n = usize::try_from(rng.below(16)).unwrap();
            t.extend(rng.bytes(n));
            t
        }
        17 => {
            let mut u = common::ports(port(rng), port(rng), 8);
            let n = usize::try_from(rng.below(24)).unwrap();
            let payload = rng.bytes(n);
            let len = u16::try_from(8 + payload.len()).unwrap();
            u[4..6].copy_from_slice(&len.to_be_bytes());
            u.extend(payload);
            u
        }
        // ICMP / ICMPv6 echo request
        _ => {
            let mut i = vec![if proto == 58 { 128 } else { 8 }, 0, 0, 0, 0, 1, 0, 1];
            i.extend(rng.bytes(8));
            i
        }
    }
}

fn ipv6(next: u8, payload: &[u8]) -> Vec<u8> {
    let mut h = vec![0x60, 0, 0, 0];
    h.extend_from_slice(&u16::try_from(payload.len()).unwrap().to_be_bytes());
    h.extend_from_slice(&[next, 64]);
    h.extend_from_slice(&[0x20, 0x01, 0x0d, 0xb8]);
    h.extend_from_slice(&[0; 11]);
    h.push(1);
    h.extend_from_slice(&[0x20, 0x01, 0x0d, 0xb8]);
    h.extend_from_slice(&[0; 11]);
    h.push(2);
    h.extend_from_slice(payload);
    h
}

/// The frames every program runs on (same seed, same frames).
fn frames() -> Vec<(String, Vec<u8>)> {
    let mut rng = Rng::new(0x6b65_726e_656c);
    let mut out: Vec<(String, Vec<u8>)> = Vec::new();
    let addrs: [[u8; 4]; 4] = [
        [10, 0, 0, 1],
        [1, 1, 1, 1],
        [192, 168, 1, 7],
        [127, 0, 0, 1],
    ];
    for round in 0..2 {
        for proto in [6u8, 17, 1] {
            let (s, d) = (rng.pick(&addrs), rng.pick(&addrs));
            let ip = common::ipv4(proto, s, d, &l4(proto, &mut rng));
            out.push((format!("ipv4-{proto}-{round}"), eth(0x0800, &ip)));
            let ip6 = ipv6(if proto == 1 { 58 } else { proto }, &l4(proto, &mut rng));
            out.push((format!("ipv6-{proto}-{round}"), eth(0x86dd, &ip6)));
        }
    }
    let udp = common::ipv4(17, [10, 0, 0, 2], [10, 0, 0, 3], &l4(17, &mut rng));
    out.push((
        "vlan-ipv4-udp".into(),
        common::ether(0x0800, &[0x8100], &udp),
    ));
    out.push((
        "qinq-ipv4-udp".into(),
        common::ether(0x0800, &[0x88a8, 0x8100], &udp),
    ));
    let tcp6 = ipv6(6, &l4(6, &mut rng));
    out.push((
        "vlan-ipv6-tcp".into(),
        common::ether(0x86dd, &[0x8100], &tcp6),
    ));
    let mut arp = vec![0, 1, 8, 0, 6, 4, 0, 1];
    arp.extend(rng.bytes(20));
    out.push(("arp".into(), eth(0x0806, &arp)));
    // IPv4 with options (ihl 6)
    let mut opt = common::ipv4(17, [10, 0, 0, 4], [10, 0, 0, 5], &[0; 4]);
    opt[0] = 0x46;
    opt.truncate(20);
    opt.extend_from_slice(&[1, 1, 1, 0]);
    opt.extend(l4(17, &mut rng));
    out.push(("ipv4-options-udp".into(), eth(0x0800, &opt)));
    // a fragment
    let mut frag = common::ipv4(17, [10, 0, 0, 6], [10, 0, 0, 7], &l4(17, &mut rng));
    frag[6] = 0x20;
    out.push(("ipv4-fragment".into(), eth(0x0800, &frag)));
    // short and truncated frames
    out.push(("eth-only".into(), eth(0x0800, &[])));
    let full = eth(
        0x0800,
        &common::ipv4(6, [10, 0, 0, 8], [1, 1, 1, 1], &l4(6, &mut rng)),
    );
    for cut in [15usize, 20, 34, 40, 50] {
        out.push((
            format!("ipv4-tcp-cut{cut}"),
            full[..cut.min(full.len())].to_vec(),
        ));
    }
    let full6 = eth(0x86dd, &ipv6(17, &l4(17, &mut rng)));
    for cut in [30usize, 54, 60] {
        out.push((
            format!("ipv6-udp-cut{cut}"),
            full6[..cut.min(full6.len())].to_vec(),
        ));
    }
    out.push(("short-10".into(), rng.bytes(10)));
    for n in [14usize, 60, 200] {
        out.push((format!("random-{n}"), rng.bytes(n)));
    }
    out.push(("big-udp".into(), {
        let big = l4(17, &mut rng);
        let mut payload = big;
        payload.extend(rng.bytes(1200));
        eth(
            0x0800,
            &common::ipv4(17, [10, 0, 0, 9], [10, 0, 0, 1], &payload),
        )
    }));
    // A raw packet socket's filter sees the frame from its link-layer
    // header, a test run's socket filter from the network header (the
    // kernel strips the Ethernet header it is given): frames inside a
    // 14-byte outer header are what samples/bpf's sockex* programs, which
    // read the EtherType at offset 12, are written for.  (Outer type IPv4:
    // for XDP and tc programs these are IPv4 frames with a bad header.)
    let v4 = |proto, l4: &[u8]| common::ipv4(proto, [10, 1, 0, 1], [10, 1, 0, 2], l4);
    let inner_udp = l4(17, &mut rng);
    let inner_tcp = l4(6, &mut rng);
    let mut mpls = vec![0x00, 0x01, 0x01, 0x40]; // label 16, bottom of stack
    mpls.extend(v4(17, &inner_udp));
    let mut gre = vec![0x00, 0x00, 0x08, 0x00]; // no flags, IPv4
    gre.extend(v4(6, &inner_tcp));
    let mut fragment = v4(17, &inner_udp);
    fragment[6] = 0x20; // more fragments
    let inner: [(&str, Vec<u8>); 8] = [
        ("ipv4-tcp", common::ether(0x0800, &[], &v4(6, &inner_tcp))),
        (
            "ipv6-udp",
            common::ether(0x86dd, &[], &ipv6(17, &inner_udp)),
        ),
        (
            "vlan-ipv4-udp",
            common::ether(0x0800, &[0x8100], &v4(17, &inner_udp)),
        ),
        (
            "qinq-ipv6-tcp",
            common::ether(0x86dd, &[0x88a8, 0x8100], &ipv6(6, &inner_tcp)),
        ),
        ("mpls-ipv4-udp", common::ether(0x8847, &[], &mpls)),
        ("gre-ipv4-tcp", common::ether(0x0800, &[], &v4(47, &gre))),
        (
            "ipip-udp",
            common::ether(0x0800, &[], &v4(4, &v4(17, &inner_udp))),
        ),
        ("ipv4-fragment", common::ether(0x0800, &[], &fragment)),
    ];
    for (name, frame) in inner {
        out.push((format!("l2-in-l2-{name}"), eth(0x0800, &frame)));
    }
    out
}

// ---------------------------------------------------------------- engine

/// The engine's side: loaded, verified, ready to run; or why not.
struct Ours {
    int: Vm,
    jit: Vm,
}

/// Load and verify `subject` in the engine.  `Err((loaded, reason))`:
/// `loaded` tells whether a program exists to hand the kernel.
fn our_load(subject: &Subject) -> Result<Program, String> {
    match &subject.source {
        Source::Elf { path, section } => {
            Program::load_file(path, Some(section)).map_err(|e| format!("load: {}", e.kind()))
        }
        Source::Bytecode(code) => {
            Program::from_bytecode(code).map_err(|e| format!("load: {}", e.kind()))
        }
    }
}

/// The engine's type for the kernel's.
fn our_type(t: ProgType) -> ubpf::ProgType {
    match t {
        ProgType::Xdp => ubpf::ProgType::Xdp,
        ProgType::SchedCls => ubpf::ProgType::SchedCls,
        ProgType::SocketFilter => ubpf::ProgType::SocketFilter,
    }
}

fn our_prepare(prog: &Program, prog_type: ProgType) -> Result<Ours, String> {
    let mut prog = prog.clone();
    prog.set_prog_type(our_type(prog_type));
    let convention = prog.prog_type().convention();
    let opts = VerifyOptions {
        convention,
        min_len: 0,
    };
    let proof: Verified =
        ubpf::verify(&prog, &opts).map_err(|e| format!("verify: {}", e.kind()))?;
    let vm_opts = VmOptions {
        convention,
        proof: Some(proof.clone()),
    };
    let int = Vm::with_options(prog.clone(), Engine::Interpreter, vm_opts)
        .map_err(|e| format!("vm: {}", e.kind()))?;
    let jit = Vm::new(prog, Engine::Jit(Trust::Verified(proof)))
        .map_err(|e| format!("jit: {}", e.kind()))?;
    Ok(Ours { int, jit })
}

/// What `BPF_PROG_TEST_RUN` gives the context fields: the loopback
/// device (ifindex 1), for XDP as the ingress device.
fn kernel_meta(t: ProgType, frame: &[u8]) -> PacketMeta {
    let dst = frame.get(..6).unwrap_or(&[]);
    // eth_type_trans against the loopback device's all-zero address
    let pkt_type = if dst.iter().all(|&b| b == 0) {
        0
    } else if dst.iter().all(|&b| b == 0xff) {
        1
    } else if dst.first().is_some_and(|b| b & 1 != 0) {
        2
    } else {
        3
    };
    match t {
        ProgType::Xdp => PacketMeta {
            ingress_ifindex: 1,
            ..PacketMeta::default()
        },
        _ => PacketMeta {
            ifindex: 1,
            pkt_type,
            ..PacketMeta::default()
        },
    }
}

// ---------------------------------------------------------------- compare

fn hex(b: &[u8]) -> String {
    b.iter().fold(String::new(), |mut s, x| {
        let _ = write!(s, "{x:02x}");
        s
    })
}

/// Run every frame through both; the first difference, or the number of
/// frames compared and of the tail calls the interpreter made on them.
fn compare(
    ours: &mut Ours,
    kern: &KernelProg,
    frames: &[(String, Vec<u8>)],
) -> Result<(usize, u32), String> {
    let mut compared = 0;
    let mut tail_calls = 0;
    for (name, frame) in frames {
        let Ok(k) = kern.test_run(frame) else {
            continue; // the kernel does not run frames under 14 bytes
        };
        compared += 1;
        for (engine, vm) in [("interpreter", &mut ours.int), ("jit", &mut ours.jit)] {
            let mut packet = Packet::new(frame);
            if kern.prog_type == ProgType::SocketFilter {
                // socket filters see the packet from the network header
                packet.pull(14);
            }
            let meta = kernel_meta(kern.prog_type, frame);
            let r = vm
                .run_packet(&mut packet, &meta)
                .map_err(|e| format!("frame {name}: {engine} failed: {e}"))?
                .r0;
            // XDP test runs give the packet back from data_meta: the
            // metadata a program put in front of it comes first
            let pkt = if kern.prog_type == ProgType::Xdp {
                [packet.meta(), packet.data()].concat()
            } else {
                packet.data().to_vec()
            };
            if engine == "interpreter" {
                tail_calls += vm.last_tail_calls();
            }
            if r as u32 != k.retval {
                return Err(format!(
                    "frame {name}: return value {engine} {r:#x}, kernel {:#x}",
                    k.retval
                ));
            }
            // socket filters: test runs give the frame back with its
            // link-layer header zeroed; compare from the network header
            let kpkt = if kern.prog_type == ProgType::SocketFilter {
                k.packet.get(14..).unwrap_or(&[]).to_vec()
            } else {
                k.packet.clone()
            };
            let k = kernel::RunOutput {
                retval: k.retval,
                packet: kpkt,
            };
            if pkt != k.packet {
                let at = pkt
                    .iter()
                    .zip(&k.packet)
                    .position(|(a, b)| a != b)
                    .unwrap_or_else(|| pkt.len().min(k.packet.len()));
                let from = at.saturating_sub(4);
                return Err(format!(
                    "frame {name}: packet after the run differs ({engine} {} bytes, kernel {}) \
                     from byte {at}: ours {} kernel {}",
                    pkt.len(),
                    k.packet.len(),
                    hex(&pkt[from.min(pkt.len())..pkt.len().min(from + 24)]),
                    hex(&k.packet[from.min(k.packet.len())..k.packet.len().min(from + 24)])
                ));
            }
        }
    }
    // every map, those only tail-call targets use included (program
    // arrays: program indices on both sides)
    let names: Vec<String> = ours.int.maps().map(|m| m.def().name.clone()).collect();
    for name in &names {
        let want = kern
            .map_entries_named(name)
            .ok_or_else(|| format!("map {name}: not in the kernel's maps"))?;
        for (engine, vm) in [("interpreter", &ours.int), ("jit", &ours.jit)] {
            let map = vm.map(name).expect("a Vm map of that name");
            let mut got = map.entries();
            got.sort();
            if got != want {
                let first = got.iter().zip(&want).find(|(a, b)| a != b).map_or_else(
                    || format!("{} entries vs {}", got.len(), want.len()),
                    |(a, b)| {
                        format!(
                            "key {}: ours {} kernel {} / key {}",
                            hex(&a.0),
                            hex(&a.1),
                            hex(&b.1),
                            hex(&b.0)
                        )
                    },
                );
                return Err(format!("map {name} after the runs ({engine}): {first}"));
            }
        }
    }
    Ok((compared, tail_calls))
}

fn one_line(s: &str) -> String {
    let s = s.split_whitespace().collect::<Vec<_>>().join(" ");
    if s.chars().count() > 200 {
        let t: String = s.chars().take(200).collect();
        format!("{t}...")
    } else {
        s
    }
}

fn classify(subject: &Subject, frames: &[(String, Vec<u8>)]) -> Option<Row> {
    let row = |class, detail: String, (compared, tail_calls)| Row {
        name: subject.name.clone(),
        prog_type: subject.prog_type,
        class,
        detail: one_line(&detail),
        frames: compared,
        tail_calls,
    };
    let prog = match our_load(subject) {
        Ok(p) => p,
        Err(why) => return Some(row(Class::WeRefuseKernelNotTried, why, (0, 0))),
    };
    let kern = kernel::load(&prog, subject.prog_type)?;
    let ours = our_prepare(&prog, subject.prog_type);
    Some(match (ours, kern) {
        (Err(why), Err(k)) => row(
            Class::BothRefuse,
            format!("ours: {why}; kernel: {}", k.reason()),
            (0, 0),
        ),
        (Err(why), Ok(_)) => row(Class::KernelAcceptsWeRefuse, why, (0, 0)),
        (Ok(_), Err(k)) => row(
            Class::WeAcceptKernelRefuses,
            format!("kernel ({} {}): {}", k.stage, k.error, k.reason()),
            (0, 0),
        ),
        (Ok(mut o), Ok(k)) => {
            match user_space_fills(&prog, &o, &k).and_then(|()| compare(&mut o, &k, frames)) {
                Ok(n) => row(Class::BothAcceptMatch, String::new(), n),
                Err(d) => row(Class::BothAcceptDiffer, d, (0, 0)),
            }
        }
    })
}

/// What the user space of the selftests' tailcall*.c does before running
/// them (`tools/testing/selftests/bpf/prog_tests/tailcalls.c`): slot `i` of
/// a program array the object leaves empty gets the program called
/// `classifier_<i>`.  Done on both sides.  (Program arrays the object
/// initialises, as samples/bpf's sockex3 does -- its user space only
/// loads the object -- are filled at load on both sides.)
fn user_space_fills(prog: &Program, ours: &Ours, kern: &KernelProg) -> Result<(), String> {
    if prog.tail_targets().is_empty() {
        return Ok(());
    }
    for map in ours.int.maps() {
        let def = map.def();
        if def.kind.name() != "prog_array" || !map.entries().is_empty() {
            continue;
        }
        for slot in 0..def.max_entries {
            let want = format!("classifier_{slot}");
            let Some(index) = prog
                .tail_targets()
                .iter()
                .position(|t| t.as_ref().and_then(Program::function) == Some(want.as_str()))
            else {
                continue;
            };
            let index = u32::try_from(index).expect("few programs");
            for vm in [&ours.int, &ours.jit] {
                vm.map(&def.name)
                    .expect("the same maps")
                    .update(&slot.to_le_bytes(), &index.to_le_bytes(), 0)
                    .map_err(|e| format!("{}[{slot}] = {want}: {e}", def.name))?;
            }
            kern.set_tail_target(&def.name, slot, index)
                .map_err(|e| format!("kernel {}[{slot}] = {want}: {e}", def.name))?;
        }
    }
    Ok(())
}

/// Our refusal reason with numbers, names and registers blurred, to
/// group refusals.
fn reason_group(detail: &str) -> String {
    let mut out = String::new();
    let mut quoted = false;
    for c in detail.chars() {
        if c == '"' {
            quoted = !quoted;
            if quoted {
                out.push_str("\"_\"");
            }
            continue;
        }
        if quoted {
            continue;
        }
        out.push(if c.is_ascii_digit() { '#' } else { c });
    }
    let mut g: String = out.replace("##", "#").replace("##", "#");
    if let Some(i) = g.find(" (") {
        g.truncate(i);
    }
    g.chars().take(90).collect()
}

/// Print and write the table; fail on unexplained findings.
fn report(set: &str, rows: &[Row]) {
    let mut text = String::new();
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    let mut groups: BTreeMap<String, usize> = BTreeMap::new();
    let mut failures = Vec::new();
    for r in rows {
        *counts.entry(r.class.name()).or_default() += 1;
        if matches!(
            r.class,
            Class::KernelAcceptsWeRefuse | Class::WeRefuseKernelNotTried
        ) {
            *groups.entry(reason_group(&r.detail)).or_default() += 1;
        }
        let allowed = match r.class {
            Class::WeAcceptKernelRefuses => ALLOWED_KERNEL_REFUSES
                .iter()
                .find(|(n, _)| *n == r.name)
                .map(|(_, why)| *why),
            Class::BothAcceptDiffer => KNOWN_DIFFERENCES
                .iter()
                .find(|(n, _)| *n == r.name)
                .map(|(_, why)| *why),
            _ => Some(""),
        };
        let note = match allowed {
            None => {
                failures.push(format!("{}: {}: {}", r.name, r.class.name(), r.detail));
                " [UNEXPLAINED]".to_owned()
            }
            Some("") => String::new(),
            Some(why) => format!(" [allowed: {why}]"),
        };
        let frames = match (r.frames, r.tail_calls) {
            (0, _) => String::new(),
            (n, 0) => format!(" ({n} frames)"),
            (n, t) => format!(" ({n} frames, {t} tail calls)"),
        };
        let _ = writeln!(
            text,
            "{:<26} {:<13} {}{frames}{}{note}",
            r.class.name(),
            r.prog_type.name(),
            r.name,
            if r.detail.is_empty() {
                String::new()
            } else {
                format!(": {}", r.detail)
            }
        );
    }
    let kernel_accepts = rows
        .iter()
        .filter(|r| {
            matches!(
                r.class,
                Class::KernelAcceptsWeRefuse | Class::BothAcceptMatch | Class::BothAcceptDiffer
            )
        })
        .count();
    let we_accept = rows
        .iter()
        .filter(|r| {
            matches!(
                r.class,
                Class::WeAcceptKernelRefuses | Class::BothAcceptMatch | Class::BothAcceptDiffer
            )
        })
        .count();
    let mut summary = format!(
        "kernel differential ({set}): {} programs, kernel accepts {kernel_accepts}, \
         we accept {we_accept}\n",
        rows.len()
    );
    for (class, n) in &counts {
        let _ = writeln!(summary, "  {class:<28} {n}");
    }
    if !groups.is_empty() {
        summary.push_str("our refusals, grouped:\n");
        let mut g: Vec<_> = groups.into_iter().collect();
        g.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        for (reason, n) in g {
            let _ = writeln!(summary, "  {n:>4}  {reason}");
        }
    }
    let all = format!("{summary}\n{text}");
    println!("{all}");
    let tmp = Path::new(env!("CARGO_TARGET_TMPDIR"));
    let dir = tmp.parent().unwrap_or(tmp).join("kernel-diff");
    if std::fs::create_dir_all(&dir).is_ok() {
        let file = dir.join(format!("{set}.txt"));
        if std::fs::write(&file, &all).is_ok() {
            println!("written to {}", file.display());
        }
    }
    assert!(
        failures.is_empty(),
        "unexplained kernel differences:\n{}",
        failures.join("\n")
    );
}

// ---------------------------------------------------------------- corpora

fn compile(src: &Path, tag: &str) -> PathBuf {
    let out_dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("ubpf-kernel-diff");
    std::fs::create_dir_all(&out_dir).expect("create output directory");
    let obj = out_dir.join(format!("{tag}.{}.o", std::process::id()));
    let clang = std::env::var("CLANG").unwrap_or_else(|_| "clang".to_owned());
    let status = Command::new(&clang)
        .args(["-O2", "-g", "-target", "bpf", "-c"])
        .arg("-I/usr/include/x86_64-linux-gnu")
        .arg("-I")
        .arg(common::data_dir())
        .arg(src)
        .arg("-o")
        .arg(&obj)
        .status()
        .unwrap_or_else(|e| panic!("cannot run {clang}: {e}"));
    assert!(status.success(), "{clang} failed on {}", src.display());
    obj
}

/// The engine's own XDP-style programs: the verifier corpus' context
/// convention entries and the XDP programs of tests/data/ubpf.
fn own_subjects() -> Vec<Subject> {
    let dir = common::data_dir();
    let expect = std::fs::read_to_string(dir.join("verifier/EXPECT")).expect("read EXPECT");
    let mut files: Vec<String> = expect
        .lines()
        .filter(|l| !l.trim_start().starts_with('#'))
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            (f.get(1) == Some(&"ctx")).then(|| format!("verifier/{}", f[0]))
        })
        .collect();
    files.push("qtest-xdp.bpf.c".to_owned());
    files.dedup();
    files
        .into_iter()
        .map(|rel| {
            let path = dir.join(&rel);
            let source = if rel.ends_with(".asm") {
                Source::Bytecode(common::assemble_file(&path))
            } else {
                let obj = compile(&path, &rel.replace('/', "-"));
                let section = {
                    let bytes = std::fs::read(&obj).expect("read object");
                    let prog = Program::load_elf(&bytes, &rel, None);
                    prog.map(|p| p.section().to_owned())
                        .unwrap_or_else(|_| "xdp".to_owned())
                };
                Source::Elf { path: obj, section }
            };
            Subject {
                name: rel,
                source,
                prog_type: ProgType::Xdp,
            }
        })
        .collect()
}

/// The real-program corpus: manifest lines `object section type`
/// (whitespace separated, `#` comments), object paths relative to the
/// manifest's directory unless absolute.
fn corpus_subjects(manifest: &Path) -> Vec<Subject> {
    let text =
        std::fs::read_to_string(manifest).unwrap_or_else(|e| panic!("{}: {e}", manifest.display()));
    let base = manifest.parent().unwrap_or_else(|| Path::new("."));
    let mut out = Vec::new();
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let f: Vec<&str> = line.split_whitespace().collect();
        let (Some(obj), Some(section), Some(ty)) = (f.first(), f.get(1), f.get(2)) else {
            panic!("{}: bad line: {line}", manifest.display());
        };
        let Some(prog_type) = ProgType::parse(ty) else {
            panic!("{}: unknown program type {ty}", manifest.display());
        };
        let path = base.join(obj);
        out.push(Subject {
            name: format!("{obj}:{section}"),
            source: Source::Elf {
                path,
                section: (*section).to_owned(),
            },
            prog_type,
        });
    }
    out
}

fn run_set(set: &str, subjects: &[Subject]) {
    let frames = frames();
    let mut rows = Vec::new();
    for s in subjects {
        match classify(s, &frames) {
            Some(r) => rows.push(r),
            None => return, // bpf() unavailable, already said
        }
    }
    report(set, &rows);
}

#[test]
fn own_programs_against_the_kernel() {
    if !kernel::available() {
        println!("skipped: bpf() is not available");
        return;
    }
    run_set("own", &own_subjects());
}

/// Every program of the object built from `rel` (in tests/data/ubpf),
/// loaded by name as libbpf does, of type `ty` (from the program's
/// section name).
fn object_subjects(rel: &str, first: &str, ty: impl Fn(&str) -> ProgType) -> Vec<Subject> {
    let stem = rel.trim_end_matches(".bpf.c");
    let obj = compile(&common::data_dir().join(rel), stem);
    let bytes = std::fs::read(&obj).expect("read object");
    let names = Program::load_elf(&bytes, rel, Some(first))
        .expect("load")
        .object_programs()
        .to_vec();
    names
        .iter()
        .map(|name| Subject {
            name: format!("{rel}:{name}"),
            source: Source::Elf {
                path: obj.clone(),
                section: name.clone(),
            },
            prog_type: ty(name),
        })
        .collect()
}

/// Socket filters and tc programs with legacy packet loads
/// (`ld_abs`/`ld_ind`, `tests/data/ubpf/ld_abs.bpf.c`): the kernel and the
/// engine must accept them all and agree on every frame.
#[test]
fn ld_abs_programs_against_the_kernel() {
    if !kernel::available() {
        println!("skipped: bpf() is not available");
        return;
    }
    let subjects = object_subjects("ld_abs.bpf.c", "sock_port", |name| {
        ProgType::from_section(name).expect("a packet program")
    });
    assert_eq!(subjects.len(), 7);
    let frames = frames();
    let mut rows = Vec::new();
    for s in &subjects {
        rows.push(classify(s, &frames).expect("bpf() works"));
    }
    report("ld_abs", &rows);
    for r in &rows {
        let allowed = ALLOWED_KERNEL_REFUSES.iter().any(|(n, _)| *n == r.name);
        let want = if allowed {
            Class::WeAcceptKernelRefuses
        } else if r.name.ends_with("tc_subprog") {
            // our loader refuses ld_abs in a bpf-to-bpf function, as the
            // kernel does without BTF ("LD_ABS is not allowed in subprogs
            // without BTF"): no bytecode reaches the kernel
            Class::WeRefuseKernelNotTried
        } else {
            assert!(r.frames > 20, "{}: {} frames", r.name, r.frames);
            Class::BothAcceptMatch
        };
        assert_eq!(r.class, want, "{}: {}", r.name, r.detail);
    }
}

/// Every program of object `file` (`first` names one of them), run as
/// `ty`: `count` programs, each accepted by both and matching the kernel
/// on every frame.
fn object_matches_kernel(file: &str, first: &str, ty: ProgType, count: usize) {
    if !kernel::available() {
        println!("skipped: bpf() is not available");
        return;
    }
    let subjects = object_subjects(file, first, |_| ty);
    assert_eq!(subjects.len(), count);
    let frames = frames();
    let rows: Vec<Row> = subjects
        .iter()
        .map(|s| classify(s, &frames).expect("bpf() works"))
        .collect();
    report(file.trim_end_matches(".bpf.c"), &rows);
    for r in &rows {
        assert_eq!(r.class, Class::BothAcceptMatch, "{}: {}", r.name, r.detail);
        assert!(r.frames > 20, "{}: {} frames", r.name, r.frames);
    }
}

/// `bpf_csum_diff` in all its modes (`tests/data/ubpf/csum_diff.bpf.c`):
/// the return value must be the kernel's on every frame (since Linux 6.13
/// a 16-bit folded sum, no longer the 32-bit partial sum).
#[test]
fn csum_diff_against_the_kernel() {
    object_matches_kernel("csum_diff.bpf.c", "pull", ProgType::SchedCls, 6);
}

/// `bpf_l3_csum_replace` and `bpf_l4_csum_replace` (with
/// `BPF_F_PSEUDO_HDR` and `BPF_F_MARK_MANGLED_0`) rewriting IPv4 UDP and
/// TCP destinations (`tests/data/ubpf/csum_replace.bpf.c`): the return
/// value and the packet must be the kernel's on every frame.
#[test]
fn csum_replace_against_the_kernel() {
    object_matches_kernel("csum_replace.bpf.c", "dnat", ProgType::SchedCls, 1);
}

/// bpf-to-bpf calls linked in libbpf's order, with maps and global data
/// in the subprograms (`tests/data/ubpf/subprog_order.bpf.c`): the kernel
/// accepts the linked programs (no unreachable function) and they run
/// the same on every frame.
#[test]
fn subprogram_order_against_the_kernel() {
    object_matches_kernel("subprog_order.bpf.c", "first", ProgType::Xdp, 2);
}

/// `bpf_tail_call` (`tests/data/ubpf/tail_call.bpf.c`): the kernel side
/// loads the object's other tc programs and fills the program array the
/// object initialises, as libbpf does (`tests/common/kernel.rs`); every
/// program must match on every frame, the dispatcher by running its
/// targets and `again` by hitting the limit of 33 tail calls on both.
#[test]
fn tail_call_programs_against_the_kernel() {
    if !kernel::available() {
        println!("skipped: bpf() is not available");
        return;
    }
    let subjects = object_subjects("tail_call.bpf.c", "dispatch", |_| ProgType::SchedCls);
    assert_eq!(subjects.len(), 4);
    let frames = frames();
    let rows: Vec<Row> = subjects
        .iter()
        .map(|s| classify(s, &frames).expect("bpf() works"))
        .collect();
    report("tail_call", &rows);
    for r in &rows {
        assert_eq!(r.class, Class::BothAcceptMatch, "{}: {}", r.name, r.detail);
        assert!(r.frames > 20, "{}: {} frames", r.name, r.frames);
        let calls = match r.name.rsplit('/').next() {
            // one tail call per frame: IPv4 and IPv6 ones reach a target
            Some("dispatch") => r.frames / 2..r.frames,
            Some("again") => r.frames * 33..r.frames * 33 + 1,
            _ => 0..1,
        };
        assert!(
            calls.contains(&(r.tail_calls as usize)),
            "{}: {} tail calls on {} frames",
            r.name,
            r.tail_calls,
            r.frames
        );
    }
}

#[test]
fn real_corpus_against_the_kernel() {
    let Some(path) = std::env::var_os("UBPF_KERNEL_CORPUS") else {
        println!(
            "skipped: set UBPF_KERNEL_CORPUS to the directory (or manifest) built by \
             scripts/ubpf/kernel-corpus.sh"
        );
        return;
    };
    if !kernel::available() {
        println!("skipped: bpf() is not available");
        return;
    }
    let mut manifest = PathBuf::from(path);
    if manifest.is_dir() {
        manifest.push("manifest.txt");
    }
    if !manifest.exists() {
        println!("skipped: no manifest at {}", manifest.display());
        return;
    }
    run_set("corpus", &corpus_subjects(&manifest));
}

/// The bytecode entry point the verifier's fuzzer uses.
#[test]
fn raw_bytecode_oracle() {
    let ok = [0xb7u8, 0, 0, 0, 2, 0, 0, 0, 0x95, 0, 0, 0, 0, 0, 0, 0]; // r0 = 2; exit
    let bad = [0x95u8, 0, 0, 0, 0, 0, 0, 0]; // exit with r0 unset
    let Some((accepted, log)) = kernel::kernel_accepts(&ok, ProgType::Xdp) else {
        println!("skipped: bpf() is not available");
        return;
    };
    assert!(accepted, "{log}");
    let (bad_accepted, bad_log) = kernel::kernel_accepts(&bad, ProgType::Xdp).expect("bpf() works");
    assert!(!bad_accepted);
    assert!(bad_log.contains("R0 !read_ok"), "{bad_log}");
    for ty in [ProgType::SocketFilter, ProgType::SchedCls] {
        assert_eq!(kernel::kernel_accepts(&ok, ty).map(|r| r.0), Some(true));
    }
}
