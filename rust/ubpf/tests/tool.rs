// SPDX-License-Identifier: GPL-2.0-or-later

//! The `ubpf-run` tool: packets from hex and pcap, ip-mode, the verdicts
//! and counters of each program type as the filter has them, the plugin
//! protocol.

#![allow(clippy::shadow_unrelated)]

mod common;

use std::io::Write;
use std::process::{Command, Stdio};

use common::{compile, ether, ipv4, ports};
use ubpf::filter::{self, Counters, Fate};
use ubpf::{Engine, Outcome, Packet, PacketMeta, ProgType, Program, VerifyOptions, Vm, VmOptions};

fn tool() -> Command {
    Command::new(env!("CARGO_BIN_EXE_ubpf-run"))
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn output(cmd: &mut Command) -> (bool, String) {
    let out = cmd.output().unwrap();
    let mut s = String::from_utf8_lossy(&out.stdout).into_owned();
    s.push_str(&String::from_utf8_lossy(&out.stderr));
    (out.status.success(), s)
}

#[test]
fn hex_packets_ip_mode() {
    let obj = compile("ip_dst");
    let drop = ether(0x0800, &[0x8100], &ipv4(1, [1, 2, 3, 4], [1, 1, 1, 1], &[]));
    let pass = ether(0x0800, &[], &ipv4(1, [1, 2, 3, 4], [9, 9, 9, 9], &[]));
    let arp = ether(0x0806, &[], &[0; 28]);
    for jit in [false, true] {
        let mut cmd = tool();
        // --jit and --ip-mode are the defaults, still accepted
        cmd.arg(if jit { "--jit" } else { "--no-jit" });
        cmd.args(["--ip-mode"]).arg(&obj);
        cmd.args([hex(&drop), hex(&pass), hex(&arp)]);
        let (ok, out) = output(&mut cmd);
        assert!(ok, "{out}");
        assert!(out.contains("packet 1: 20 bytes: drop (0x1)"), "{out}");
        assert!(out.contains("packet 2: 20 bytes: pass (0)"), "{out}");
        assert!(
            out.contains(
                "packet 3: 42 bytes: no complete IPv4 header, unfiltered: passed untouched"
            ),
            "{out}"
        );
        assert!(
            out.contains("3 packets: 2 passed, 1 dropped, 0 errors, 1 unfiltered (passed)"),
            "{out}"
        );
    }
}

/// `--map-update` fills a map before the runs, as QMP's
/// `x-filter-ubpf-update-map` does in QEMU: a blocklist entry drops the
/// packets from that source; a map the program does not have, or a key
/// of the wrong size, is an error naming it.
#[test]
fn map_update_before_runs() {
    let obj = compile("maps_blocklist");
    let blocked = ether(0x0800, &[], &ipv4(17, [10, 0, 0, 9], [10, 0, 0, 1], &[]));
    let other = ether(0x0800, &[], &ipv4(17, [10, 0, 0, 8], [10, 0, 0, 1], &[]));
    let packets = [hex(&blocked), hex(&other)];
    let (ok, out) = output(tool().arg(&obj).args(&packets));
    assert!(ok, "{out}");
    assert!(out.contains("2 packets: 2 passed, 0 dropped"), "{out}");
    let (ok, out) = output(
        tool()
            .arg(&obj)
            .args(["--map-update", "blocked", "0a000009", "0000000000000000"])
            .args(&packets),
    );
    assert!(ok, "{out}");
    assert!(out.contains("map blocked: entry 0a000009 set"), "{out}");
    assert!(out.contains("packet 1: 20 bytes: drop (0x1)"), "{out}");
    assert!(out.contains("packet 2: 20 bytes: pass (0)"), "{out}");
    assert!(out.contains("2 packets: 1 passed, 1 dropped"), "{out}");
    let (ok, out) = output(
        tool()
            .arg(&obj)
            .args(["--map-update", "nosuch", "00", "00"]),
    );
    assert!(!ok);
    assert!(
        out.contains("--map-update: the program has no map \"nosuch\""),
        "{out}"
    );
    let (ok, out) = output(
        tool()
            .arg(&obj)
            .args(["--map-update", "blocked", "0a00", "00"]),
    );
    assert!(!ok);
    assert!(out.contains("--map-update blocked: "), "{out}");
    // a multi-byte character among the digits: an error naming it, not a
    // panic
    let (ok, out) = output(
        tool()
            .arg(&obj)
            .args(["--map-update", "blocked", "0\u{e9}0a", "00"]),
    );
    assert!(!ok);
    assert!(
        out.contains(
            "--map-update blocked: key: \"0\u{e9}0a\" is not hexadecimal (character '\u{e9}')"
        ),
        "{out}"
    );
}

#[test]
fn run_errors_are_counted() {
    let obj = compile("ip_dst");
    // a bare Ethernet header: ip_dst reads the IPv4 destination past its end
    let (ok, out) = output(
        tool()
            .args(["--no-verify", "--no-ip-mode"])
            .arg(&obj)
            .arg("0000000000000000000000000800"),
    );
    assert!(!ok);
    // the instruction as loaded, the access by packet offset
    assert!(
        out.contains(
            "packet 1: 14 bytes: error, passed: instruction 0: out-of-bounds 4-byte load at \
             packet offset 16 (the packet has 14 bytes)"
        ),
        "{out}"
    );
    // as in the filter: a failed run lets the packet pass
    assert!(
        out.contains("1 packet: 1 passed, 0 dropped, 1 error, 0 unfiltered (passed)"),
        "{out}"
    );
}

#[test]
fn refusal_is_reported() {
    let obj = compile("two_progs");
    let (ok, out) = output(tool().arg(&obj).args(["--section", "xdp"]));
    assert!(!ok);
    assert!(
        out.contains("section \"xdp\": no such program section"),
        "{out}"
    );
}

#[cfg(feature = "pcap")]
#[test]
fn pcap_input() {
    let obj = compile("port_allow_eth");
    let frames = [
        ether(
            0x0800,
            &[],
            &ipv4(6, [1, 1, 1, 1], [2, 2, 2, 2], &ports(1, 443, 20)),
        ),
        ether(
            0x0800,
            &[],
            &ipv4(17, [1, 1, 1, 1], [2, 2, 2, 2], &ports(1, 9, 8)),
        ),
        ether(0x0806, &[], &[0; 28]),
    ];
    // classic pcap, little-endian, microseconds, Ethernet
    let mut pcap = Vec::new();
    pcap.extend_from_slice(&0xa1b2_c3d4u32.to_le_bytes());
    pcap.extend_from_slice(&2u16.to_le_bytes());
    pcap.extend_from_slice(&4u16.to_le_bytes());
    pcap.extend_from_slice(&[0; 8]);
    pcap.extend_from_slice(&65535u32.to_le_bytes());
    pcap.extend_from_slice(&1u32.to_le_bytes());
    for (i, f) in frames.iter().enumerate() {
        let len = u32::try_from(f.len()).unwrap();
        pcap.extend_from_slice(&u32::try_from(i).unwrap().to_le_bytes());
        pcap.extend_from_slice(&0u32.to_le_bytes());
        pcap.extend_from_slice(&len.to_le_bytes());
        pcap.extend_from_slice(&len.to_le_bytes());
        pcap.extend_from_slice(f);
    }
    let path = std::path::Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("ubpf-test-{}.pcap", std::process::id()));
    std::fs::write(&path, &pcap).unwrap();
    let (ok, out) = output(
        tool()
            .arg("--no-ip-mode")
            .arg(&obj)
            .arg("--pcap")
            .arg(&path),
    );
    std::fs::remove_file(&path).unwrap();
    assert!(ok, "{out}");
    assert!(
        out.contains("3 packets: 2 passed, 1 dropped, 0 errors, 0 unfiltered"),
        "{out}"
    );
}

/// The filter's defaults: verified, JIT-compiled (on x86-64), ip-mode.
#[test]
fn defaults_are_the_filters() {
    let obj = compile("ip_dst");
    let pass = ether(0x0800, &[], &ipv4(1, [1, 2, 3, 4], [9, 9, 9, 9], &[]));
    let (ok, out) = output(tool().arg(&obj).arg(hex(&pass)));
    assert!(ok, "{out}");
    let engine = if ubpf::JIT_AVAILABLE {
        "JIT"
    } else {
        "interpreter"
    };
    assert!(
        out.contains(&format!("10 instructions, {engine}, verified, ip-mode"))
            || out.contains(&format!(", {engine}, verified, ip-mode")),
        "{out}"
    );
    // a program the verifier refuses is refused by default (exit status 2)
    let frame = "0000000000000000000000000800";
    let out = tool()
        .arg(&obj)
        .args(["--no-ip-mode", frame])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("refused by the verifier: "), "{text}");
}

/// --jit never runs an unverified program as machine code.
#[test]
fn unverified_never_jit() {
    let obj = compile("ip_dst");
    let frame = ether(0x0800, &[], &ipv4(1, [1, 2, 3, 4], [1, 1, 1, 1], &[]));
    let (ok, out) = output(
        tool()
            .args(["--jit", "--no-verify"])
            .arg(&obj)
            .arg(hex(&frame)),
    );
    assert!(ok, "{out}");
    assert!(
        out.contains("not verified (--no-verify): running in the interpreter, not the JIT"),
        "{out}"
    );
    assert!(
        out.contains(", interpreter, not verified, ip-mode"),
        "{out}"
    );
    assert!(out.contains("packet 1: 20 bytes: drop (0x1)"), "{out}");
}

/// A classic pcap file of link type `linktype`; `caplen` cuts packets.
#[cfg(feature = "pcap")]
fn pcap_file(linktype: u32, packets: &[Vec<u8>], caplen: usize) -> Vec<u8> {
    let mut pcap = Vec::new();
    pcap.extend_from_slice(&0xa1b2_c3d4u32.to_le_bytes());
    pcap.extend_from_slice(&2u16.to_le_bytes());
    pcap.extend_from_slice(&4u16.to_le_bytes());
    pcap.extend_from_slice(&[0; 8]);
    pcap.extend_from_slice(&u32::try_from(caplen).unwrap().to_le_bytes());
    pcap.extend_from_slice(&linktype.to_le_bytes());
    for p in packets {
        let cap = p.len().min(caplen);
        pcap.extend_from_slice(&[0; 8]);
        pcap.extend_from_slice(&u32::try_from(cap).unwrap().to_le_bytes());
        pcap.extend_from_slice(&u32::try_from(p.len()).unwrap().to_le_bytes());
        pcap.extend_from_slice(&p[..cap]);
    }
    pcap
}

/// A pcapng file: one section, one interface of `linktype`, enhanced
/// packet blocks.
#[cfg(feature = "pcap")]
fn pcapng_file(linktype: u16, packets: &[Vec<u8>]) -> Vec<u8> {
    fn block(out: &mut Vec<u8>, kind: u32, body: &[u8]) {
        let len = u32::try_from(12 + body.len().next_multiple_of(4)).unwrap();
        out.extend_from_slice(&kind.to_le_bytes());
        out.extend_from_slice(&len.to_le_bytes());
        out.extend_from_slice(body);
        out.resize(out.len() + body.len().next_multiple_of(4) - body.len(), 0);
        out.extend_from_slice(&len.to_le_bytes());
    }
    let mut out = Vec::new();
    let mut shb = Vec::new();
    shb.extend_from_slice(&0x1a2b_3c4du32.to_le_bytes());
    shb.extend_from_slice(&1u16.to_le_bytes());
    shb.extend_from_slice(&0u16.to_le_bytes());
    shb.extend_from_slice(&(-1i64).to_le_bytes());
    block(&mut out, 0x0a0d_0d0a, &shb);
    let mut idb = Vec::new();
    idb.extend_from_slice(&linktype.to_le_bytes());
    idb.extend_from_slice(&0u16.to_le_bytes());
    idb.extend_from_slice(&65535u32.to_le_bytes());
    block(&mut out, 1, &idb);
    for p in packets {
        let mut epb = Vec::new();
        let len = u32::try_from(p.len()).unwrap();
        epb.extend_from_slice(&[0; 12]);
        epb.extend_from_slice(&len.to_le_bytes());
        epb.extend_from_slice(&len.to_le_bytes());
        epb.extend_from_slice(p);
        block(&mut out, 6, &epb);
    }
    out
}

#[cfg(feature = "pcap")]
fn run_capture(name: &str, bytes: &[u8]) -> (bool, String) {
    let obj = compile("ip_dst");
    let path = std::path::Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("ubpf-test-{}-{name}", std::process::id()));
    std::fs::write(&path, bytes).unwrap();
    let res = output(tool().arg(&obj).arg("--pcap").arg(&path));
    std::fs::remove_file(&path).unwrap();
    res
}

/// Linux cooked captures (tcpdump -i any), raw IP and pcapng: the program
/// sees the same IPv4 packets as from Ethernet frames.
#[cfg(feature = "pcap")]
#[test]
fn pcap_link_types() {
    let drop = ipv4(1, [1, 2, 3, 4], [1, 1, 1, 1], &[]);
    let pass = ipv4(1, [1, 2, 3, 4], [9, 9, 9, 9], &[]);
    let sll = |l3: &[u8], proto: u16| {
        let mut p = vec![0, 0, 0, 1, 0, 6, 0x52, 0x54, 0, 0, 0, 1, 0, 0];
        p.extend_from_slice(&proto.to_be_bytes());
        p.extend_from_slice(l3);
        p
    };
    let sll2 = |l3: &[u8], proto: u16| {
        let mut p = proto.to_be_bytes().to_vec();
        p.extend_from_slice(&[0, 0, 0, 0, 0, 2, 0, 1, 0, 6, 0x52, 0x54, 0, 0, 0, 1, 0, 0]);
        p.extend_from_slice(l3);
        p
    };
    let arp = [0u8; 28];
    let cases = [
        (
            113,
            "Linux cooked (SLL)",
            vec![sll(&drop, 0x0800), sll(&pass, 0x0800), sll(&arp, 0x0806)],
        ),
        (
            276,
            "Linux cooked (SLL2)",
            vec![sll2(&drop, 0x0800), sll2(&pass, 0x0800), sll2(&arp, 0x0806)],
        ),
        (
            101,
            "raw IP",
            vec![drop.clone(), pass.clone(), vec![0x60; 40]],
        ),
    ];
    for (linktype, name, packets) in cases {
        let (ok, out) = run_capture("lt.pcap", &pcap_file(linktype, &packets, 65535));
        assert!(ok, "{out}");
        assert!(
            out.contains(&format!(
                "pcap link type {name}: packets given an Ethernet header"
            )),
            "{out}"
        );
        assert!(
            out.contains("packet 1: 20 bytes: drop (0x1)"),
            "{name}: {out}"
        );
        assert!(
            out.contains("packet 2: 20 bytes: pass (0)"),
            "{name}: {out}"
        );
        assert!(
            out.contains("3 packets: 2 passed, 1 dropped, 0 errors, 1 unfiltered (passed)"),
            "{name}: {out}"
        );
    }
    let frames = vec![ether(0x0800, &[], &drop), ether(0x0800, &[0x8100], &pass)];
    let (ok, out) = run_capture("x.pcapng", &pcapng_file(1, &frames));
    assert!(ok, "{out}");
    assert!(
        out.contains("pcapng interface 0: link type Ethernet"),
        "{out}"
    );
    assert!(
        out.contains("2 packets: 1 passed, 1 dropped, 0 errors, 0 unfiltered (passed)"),
        "{out}"
    );
    // an unsupported link type is named
    let (ok, out) = run_capture("bad.pcap", &pcap_file(105, &frames, 65535));
    assert!(!ok);
    assert!(out.contains("link type 105 is not supported"), "{out}");
}

/// Packets cut by the snapshot length run on what was captured, and are
/// marked and counted.
#[cfg(feature = "pcap")]
#[test]
fn pcap_truncated() {
    let long = ether(
        0x0800,
        &[],
        &ipv4(17, [1, 2, 3, 4], [1, 1, 1, 1], &ports(1, 53, 100)),
    );
    let header_only = ether(0x0800, &[], &ipv4(17, [1, 2, 3, 4], [9, 9, 9, 9], &[]));
    let frames = vec![long.clone(), long.clone()];
    let (ok, out) = run_capture("cut.pcap", &pcap_file(1, &frames, 40));
    assert!(ok, "{out}");
    assert!(
        out.contains(&format!(
            "packet 1: 26 bytes (truncated: 40 of {} bytes captured): drop (0x1)",
            long.len()
        )),
        "{out}"
    );
    assert!(
        out.contains("2 packets: 0 passed, 2 dropped, 0 errors, 0 unfiltered (passed), 2 truncated by the capture"),
        "{out}"
    );
    // cut inside the IPv4 header: the filter would not run the program
    let (ok, out) = run_capture("cut2.pcap", &pcap_file(1, &[header_only], 20));
    assert!(ok, "{out}");
    assert!(
        out.contains("no complete IPv4 header, unfiltered: passed untouched"),
        "{out}"
    );
}

fn plugin(args: &[&str], stdin: &[u8]) -> (bool, String) {
    let mut child = tool()
        .arg("--plugin")
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(stdin).unwrap();
    let out = child.wait_with_output().unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).trim().to_owned(),
    )
}

#[test]
fn plugin_protocol() {
    // ldxb r0, [r1+2]; exit
    let prog = [0x71, 0x10, 2, 0, 0, 0, 0, 0, 0x95, 0, 0, 0, 0, 0, 0, 0];
    for jit in [&[][..], &["--jit"][..]] {
        let mut args = jit.to_vec();
        args.push("aabb11cc");
        assert_eq!(plugin(&args, &prog), (true, "11".to_owned()));
    }
    // refused program: exit status 1
    let (ok, _) = plugin(&[], &[0xff, 0, 0, 0, 0, 0, 0, 0]);
    assert!(!ok);
    // ELF on stdin
    let elf = std::fs::read(compile("two_progs")).unwrap();
    let (ok, _) = plugin(&["--elf"], &elf);
    assert!(!ok, "two programs: ambiguous");
    let elf = std::fs::read(compile("arp_only")).unwrap();
    assert_eq!(plugin(&["--elf", "00"], &elf), (true, "1".to_owned()));
}

/// `tests/data/ubpf/<name>.bpf.c` compiled without optimisation.
fn compile_o0(name: &str) -> std::path::PathBuf {
    let clang = std::env::var("CLANG").unwrap_or_else(|_| "clang".to_owned());
    let multiarch = Command::new(&clang)
        .arg("-print-multiarch")
        .output()
        .unwrap();
    let multiarch = String::from_utf8_lossy(&multiarch.stdout).trim().to_owned();
    let out = std::path::Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("{name}.O0.{}.bpf.o", std::process::id()));
    let status = Command::new(&clang)
        .args(["-O0", "-g", "-target", "bpf", "-c"])
        .arg(format!("-I/usr/include/{multiarch}"))
        .arg(common::data_dir().join(format!("{name}.bpf.c")))
        .arg("-o")
        .arg(&out)
        .status()
        .unwrap();
    assert!(status.success());
    out
}

/// clang -O0 output calls helpers by register: the error says -O2.
#[test]
fn o0_names_o2() {
    let obj = compile_o0("maps_counter");
    let (ok, out) = output(tool().arg(&obj));
    assert!(!ok);
    assert!(
        out.contains(
            "call by register (callx r3): the register must hold the ID of a known helper"
        ) && out.contains("build with clang -O2"),
        "{out}"
    );
}

/// A program written for XDP's context, forced to the raw type: the
/// verifier refuses it and the tool suggests the context convention.
#[test]
fn raw_refusal_suggests_context() {
    let obj = compile("qtest-xdp");
    let out = tool()
        .args(["--no-ip-mode", "--prog-type", "ubpf"])
        .arg(&obj)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains(
            "the program reads r1 as a context (struct xdp_md): it verifies with \
             --convention context"
        ),
        "{text}"
    );
    let (ok, out) = output(
        tool()
            .args(["--no-ip-mode", "--convention", "context"])
            .arg(&obj),
    );
    assert!(ok, "{out}");
}

/// An IPv4/UDP frame to port `dport`: qtest-verdicts' programs choose
/// their verdict by it (46 bytes: headers and 4 bytes of payload).
fn udp_to(dport: u16) -> Vec<u8> {
    ether(
        0x0800,
        &[],
        &ipv4(17, [10, 0, 2, 15], [10, 0, 2, 2], &ports(40000, dport, 12)),
    )
}

/// What the filter makes of `frames` with the program of `section`: the
/// engine's run of each, as the filter runs it (the memory of
/// `filter::program_start`, the type of the section), and the counters
/// as the filter counts them (`ubpf::filter`).
fn filter_reference(
    obj: &std::path::Path,
    section: &str,
    frames: &[Vec<u8>],
) -> (Vec<Option<Outcome>>, Counters) {
    let mut prog = Program::load_file(obj, Some(section)).unwrap();
    let ty = ProgType::from_section(prog.section());
    prog.set_prog_type(ty);
    let convention = ty.convention();
    let vopts = VerifyOptions {
        convention,
        min_len: filter::min_len(ty, true),
    };
    let proof = ubpf::verify(&prog, &vopts).unwrap();
    let opts = VmOptions {
        convention,
        proof: Some(proof),
    };
    let mut vm = Vm::with_options(prog, Engine::Interpreter, opts).unwrap();
    let mut counters = Counters::default();
    let mut outcomes = Vec::new();
    let mut pkt = Packet::default();
    for f in frames {
        let Some(start) = filter::program_start(ty, f, true) else {
            counters.count(Fate::Unfiltered { dropped: false });
            outcomes.push(None);
            continue;
        };
        pkt.set(f);
        pkt.pull(start);
        let o = vm.run_packet(&mut pkt, &PacketMeta::default()).unwrap();
        counters.count(Fate::Verdict(o.verdict));
        outcomes.push(Some(o));
    }
    (outcomes, counters)
}

/// The "filter counters" line of `c`.
fn counters_line(c: &Counters) -> String {
    let named: Vec<String> = c
        .named()
        .iter()
        .map(|(name, v)| format!("{name} {v}"))
        .collect();
    format!("filter counters: {}", named.join(", "))
}

/// Run `section` of qtest-verdicts on `frames` with the tool (interpreter
/// and JIT), check its lines for the packets and its counters, and that
/// they are what the filter's mapping gives for the engine's results.
fn check_verdicts(section: &str, frames: &[Vec<u8>], lines: &[&str], want: &Counters) {
    let obj = compile("qtest-verdicts");
    let (outcomes, counters) = filter_reference(&obj, section, frames);
    assert_eq!(&counters, want, "the filter's mapping");
    let ty = ProgType::from_section(section);
    for engine in ["--jit", "--no-jit"] {
        let mut cmd = tool();
        cmd.arg(engine).arg(&obj).args(["--section", section]);
        cmd.args(frames.iter().map(|f| hex(f)));
        let (ok, out) = output(&mut cmd);
        assert!(ok, "{out}");
        assert!(
            out.contains(&format!("prog-type {}", ty.info().property)),
            "{out}"
        );
        let printed: Vec<&str> = out.lines().filter(|l| l.starts_with("packet ")).collect();
        assert_eq!(printed, lines, "{out}");
        assert!(out.contains(&counters_line(want)), "{out}");
        // each line names the code the engine's run returned
        for (line, o) in printed.iter().zip(&outcomes) {
            if let Some(name) = o.and_then(|o| ty.return_name(o.r0)) {
                assert!(line.contains(name), "{line}: {o:?}");
            }
        }
    }
}

/// XDP: the verdicts by their kernel names, the filter's counters.
#[test]
fn xdp_verdicts_as_the_filter() {
    let frames = [
        udp_to(1),
        udp_to(2),
        udp_to(3),
        udp_to(4),
        udp_to(6),
        udp_to(7),
        vec![0; 13],
    ];
    check_verdicts(
        "xdp",
        &frames,
        &[
            "packet 1: 46 bytes: XDP_ABORTED (dropped, counted as an error)",
            "packet 2: 46 bytes: XDP_DROP (dropped)",
            "packet 3: 46 bytes: XDP_PASS (passed)",
            "packet 4: 46 bytes: XDP_TX (sent back), changed by the program",
            "packet 5: 46 bytes: XDP_REDIRECT (redirected to ifindex 2)",
            "packet 6: 46 bytes: XDP_PASS (passed), the program made it 42 bytes",
            "packet 7: 13 bytes: shorter than an Ethernet header, unfiltered: passed untouched",
        ],
        &Counters {
            packets: 7,
            passed: 3,
            dropped: 1,
            aborted: 1,
            tx: 1,
            redirected: 1,
            errors: 1,
            unfiltered: 1,
            ..Counters::default()
        },
    );
}

/// tc: `TC_ACT_OK` passes (the packet as the program changed it),
/// `TC_ACT_SHOT` drops; the section is run as tc, ip-mode or not.
#[test]
fn tc_verdicts_as_the_filter() {
    let arp = ether(0x0806, &[], &[0; 28]);
    check_verdicts(
        "tc",
        &[udp_to(2), udp_to(3), arp],
        &[
            "packet 1: 46 bytes: TC_ACT_SHOT (dropped)",
            "packet 2: 46 bytes: TC_ACT_OK (passed), changed by the program",
            "packet 3: 42 bytes: TC_ACT_OK (passed)",
        ],
        &Counters {
            packets: 3,
            passed: 2,
            dropped: 1,
            ..Counters::default()
        },
    );
}

/// Socket filter: the return value is the length to keep.
#[test]
fn socket_filter_truncates_as_the_filter() {
    // headers only: 42 bytes kept of 42
    let headers = ether(
        0x0800,
        &[],
        &ipv4(17, [10, 0, 2, 15], [10, 0, 2, 2], &ports(40000, 3, 8)),
    );
    check_verdicts(
        "socket",
        &[udp_to(3), udp_to(2), headers],
        &[
            "packet 1: 46 bytes: truncate to 42 (passed, 42 of 46 bytes)",
            "packet 2: 46 bytes: 0 (dropped)",
            "packet 3: 42 bytes: 42 (passed)",
        ],
        &Counters {
            packets: 3,
            passed: 1,
            dropped: 1,
            truncated: 1,
            ..Counters::default()
        },
    );
}

/// `--prog-type` forces the type as the filter's property does, with its
/// values; `--convention` forces the type of a convention.
#[test]
fn prog_type_option() {
    let obj = compile("qtest-verdicts");
    // the tc program as a socket filter: no packet pointers in its context
    let (ok, out) = output(
        tool()
            .arg(&obj)
            .args(["--section", "tc", "--prog-type", "socket"]),
    );
    assert!(!ok);
    assert!(
        out.contains(
            "socket_filter context read of 4 bytes at offset 80: the socket_filter context \
             has no such field"
        ),
        "{out}"
    );
    for (args, ty) in [
        (&["--prog-type", "tc"][..], "tc"),
        (&["--prog-type", "auto"][..], "tc"),
        (&["--convention", "tc"][..], "tc"),
    ] {
        let (ok, out) = output(tool().arg(&obj).args(["--section", "tc"]).args(args));
        assert!(ok, "{args:?}: {out}");
        assert!(
            out.contains(&format!("prog-type {ty}")) && out.contains("verified (tc convention"),
            "{args:?}: {out}"
        );
    }
    let (ok, out) = output(tool().arg(&obj).args(["--prog-type", "sched_cls"]));
    assert!(!ok);
    assert!(
        out.contains("--prog-type: auto, xdp, tc, socket or ubpf"),
        "{out}"
    );
    let (ok, out) = output(tool().arg(&obj).args(["--convention", "xdp"]));
    assert!(!ok);
    assert!(
        out.contains("--convention: raw, context, tc or socket"),
        "{out}"
    );
}

/// `--ifindex` is the netdev's, as the context shows it; a return value
/// with no name is shown as a number, with what the filter does.
#[test]
fn ifindex_and_unnamed_codes() {
    // r0 = skb->ifindex; exit
    let code: Vec<u8> = rbpf::assembler::assemble("ldxw r0, [r1+40]\nexit")
        .unwrap()
        .iter()
        .flat_map(|w| w.to_le_bytes())
        .collect();
    let path = std::path::Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("ubpf-test-{}-ifindex.bin", std::process::id()));
    std::fs::write(&path, &code).unwrap();
    let frame = hex(&udp_to(3));
    let run = |ifindex: &str| {
        output(
            tool()
                .args(["--bytecode", "--prog-type", "tc", "--ifindex", ifindex])
                .arg(&path)
                .arg(&frame),
        )
    };
    let lines = [
        ("0", "packet 1: 46 bytes: TC_ACT_OK (passed)"),
        ("2", "packet 1: 46 bytes: TC_ACT_SHOT (dropped)"),
        ("9", "packet 1: 46 bytes: 9 (no tc return code: passed)"),
    ];
    for (ifindex, line) in lines {
        let (ok, out) = run(ifindex);
        assert!(ok, "{out}");
        assert!(out.contains(line), "{ifindex}: {out}");
    }
    std::fs::remove_file(&path).unwrap();
}
