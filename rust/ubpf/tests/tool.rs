// SPDX-License-Identifier: GPL-2.0-or-later

//! The `ubpf-run` tool: packets from hex and pcap, ip-mode, the plugin
//! protocol.

#![allow(clippy::shadow_unrelated)]

mod common;

use std::io::Write;
use std::process::{Command, Stdio};

#[cfg(feature = "pcap")]
use common::ports;
use common::{compile, ether, ipv4};

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
        if jit {
            cmd.arg("--jit");
        }
        cmd.args(["--ip-mode"]).arg(&obj);
        cmd.args([hex(&drop), hex(&pass), hex(&arp)]);
        let (ok, out) = output(&mut cmd);
        assert!(ok, "{out}");
        assert!(out.contains("packet 1: 20 bytes: drop (0x1)"), "{out}");
        assert!(out.contains("packet 2: 20 bytes: pass (0)"), "{out}");
        assert!(
            out.contains("packet 3: 42 bytes: no complete IPv4 header, passed untouched"),
            "{out}"
        );
        assert!(
            out.contains("3 packets: 2 passed, 1 dropped, 0 errors (1 passed untouched)"),
            "{out}"
        );
    }
}

#[test]
fn run_errors_are_counted() {
    let obj = compile("ip_dst");
    // a bare Ethernet header: ip_dst reads the IPv4 destination past its end
    let (ok, out) = output(tool().arg(&obj).arg("0000000000000000000000000800"));
    assert!(!ok);
    assert!(out.contains("error: instruction"), "{out}");
    assert!(
        out.contains("1 packet: 0 passed, 0 dropped, 1 error"),
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
    let (ok, out) = output(tool().arg(&obj).arg("--pcap").arg(&path));
    std::fs::remove_file(&path).unwrap();
    assert!(ok, "{out}");
    assert!(
        out.contains("3 packets: 2 passed, 1 dropped, 0 errors"),
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
