// SPDX-License-Identifier: GPL-2.0-or-later

//! QEMU's own RSS steering program (`tools/ebpf/rss.bpf.c`, what QEMU
//! loads into the kernel for virtio-net RSS), compiled unchanged from
//! QEMU's source at test time, with its three configuration maps filled
//! as QEMU fills them: the engine (interpreter and JIT, with the
//! verifier's proof) must give the kernel's queue index for every frame
//! (IPv4 and IPv6, TCP and UDP, IPv6 extension headers, fragments,
//! VLAN and non-IP frames) under several configurations.
//!
//! The source comes from `$QEMU_SRC` or the QEMU source the project's
//! build fetches (`~/.cache/filter-ubpf/qemu-src`); without it, or
//! without `bpf()` (not root), the test says so and passes.

mod common;

use std::path::PathBuf;
use std::process::Command;

use common::kernel::{self, KernelProg, ProgType};
use common::{ether, ipv4, ports};
use ubpf::{Engine, Packet, PacketMeta, Program, Trust, VerifyOptions, Vm, VmOptions};

/// `tools/ebpf/rss.bpf.c` of a QEMU source tree, if there is one.
fn rss_source() -> Option<PathBuf> {
    let home = std::env::var("HOME").unwrap_or_default();
    let cache =
        std::env::var("UBPF_CACHE").unwrap_or_else(|_| format!("{home}/.cache/filter-ubpf"));
    [
        std::env::var("QEMU_SRC").ok(),
        Some(format!("{cache}/qemu-src")),
    ]
    .into_iter()
    .flatten()
    .map(|d| PathBuf::from(d).join("tools/ebpf/rss.bpf.c"))
    .find(|p| p.is_file())
}

fn compile_rss(src: &PathBuf) -> Vec<u8> {
    let clang = std::env::var("CLANG").unwrap_or_else(|_| "clang".to_owned());
    let out = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("rss.{}.bpf.o", std::process::id()));
    let status = Command::new(&clang)
        .args(["-O2", "-g", "-target", "bpf", "-c"])
        .arg(format!("-I/usr/include/{}", common::multiarch(&clang)))
        .arg(src)
        .arg("-o")
        .arg(&out)
        .status()
        .unwrap_or_else(|e| panic!("cannot run {clang}: {e}"));
    assert!(status.success(), "{clang} failed on {}", src.display());
    std::fs::read(&out).expect("read the object")
}

/// `struct rss_config_t` (packed): `redirect`, `populate_hash`,
/// `hash_types`, `indirections_len`, `default_queue`.
fn config(redirect: bool, hash_types: u32, table_len: u16, default_queue: u16) -> Vec<u8> {
    let mut v = vec![u8::from(redirect), 0];
    v.extend_from_slice(&hash_types.to_ne_bytes());
    v.extend_from_slice(&table_len.to_ne_bytes());
    v.extend_from_slice(&default_queue.to_ne_bytes());
    v
}

/// `struct toeplitz_key_data_t` from a 40-byte key, as QEMU's
/// `ebpf_rss_set_toepliz_key` lays it out: the first 4 bytes as a
/// big-endian number, then the rest.
fn toeplitz(key: &[u8; 40]) -> Vec<u8> {
    let mut v = u32::from_be_bytes([key[0], key[1], key[2], key[3]])
        .to_ne_bytes()
        .to_vec();
    v.extend_from_slice(&key[4..]);
    v
}

/// The key of the virtio and Microsoft RSS specifications' examples.
const KEY: [u8; 40] = [
    0x6d, 0x5a, 0x56, 0xda, 0x25, 0x5b, 0x0e, 0xc2, 0x41, 0x67, 0x25, 0x3d, 0x43, 0xa3, 0x8f, 0xb0,
    0xd0, 0xca, 0x2b, 0xcb, 0xae, 0x7b, 0x30, 0xb4, 0x77, 0xcb, 0x2d, 0xa3, 0x80, 0x30, 0xf2, 0x0c,
    0x6a, 0x42, 0xb7, 0x3b, 0xbe, 0xac, 0x01, 0xfa,
];

/// An IPv6 packet: `next` header, extension headers `ext` (already
/// chained), payload.
fn ipv6(next: u8, ext: &[u8], payload: &[u8], src: u8, dst: u8) -> Vec<u8> {
    let len = u16::try_from(ext.len() + payload.len()).unwrap_or(u16::MAX);
    let mut v = vec![0x60, 0, 0, 0];
    v.extend_from_slice(&len.to_be_bytes());
    v.extend_from_slice(&[next, 64]);
    v.extend_from_slice(&[0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, src]);
    v.extend_from_slice(&[0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, dst]);
    v.extend_from_slice(ext);
    v.extend_from_slice(payload);
    v
}

fn frames() -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    for (i, (sp, dp)) in [(1024u16, 80u16), (5353, 53), (40000, 443), (7, 9)]
        .into_iter()
        .enumerate()
    {
        let a = [10, 0, 0, 1 + i as u8];
        let b = [192, 168, 7, 200 - i as u8];
        let mut tcp = ports(sp, dp, 20);
        tcp[12] = 0x50;
        out.push((
            format!("ipv4 tcp {sp}>{dp}"),
            ether(0x0800, &[], &ipv4(6, a, b, &tcp)),
        ));
        out.push((
            format!("ipv4 udp {sp}>{dp}"),
            ether(0x0800, &[], &ipv4(17, a, b, &ports(sp, dp, 8))),
        ));
        out.push((
            format!("ipv4 icmp {i}"),
            ether(0x0800, &[], &ipv4(1, a, b, &[8, 0, 0, 0, 0, 1, 0, 1])),
        ));
        let s = 1 + i as u8;
        out.push((
            format!("ipv6 tcp {sp}>{dp}"),
            ether(0x86dd, &[], &ipv6(6, &[], &tcp, s, 0x20 + s)),
        ));
        out.push((
            format!("ipv6 udp {sp}>{dp}"),
            ether(0x86dd, &[], &ipv6(17, &[], &ports(sp, dp, 8), s, 0x20 + s)),
        ));
        // hop-by-hop options (8 bytes), then TCP
        let hop = [6, 0, 1, 4, 0, 0, 0, 0];
        out.push((
            format!("ipv6 hop-by-hop tcp {sp}>{dp}"),
            ether(0x86dd, &[], &ipv6(0, &hop, &tcp, s, 0x40 + s)),
        ));
        // destination options with a home address option (type 201),
        // then UDP: the hash uses the home address
        let mut dst_opts = vec![17, 2, 201, 16];
        dst_opts.extend_from_slice(&[0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 9, s]);
        dst_opts.extend_from_slice(&[1, 2, 0, 0]);
        out.push((
            format!("ipv6 dstopts home address udp {sp}>{dp}"),
            ether(
                0x86dd,
                &[],
                &ipv6(60, &dst_opts, &ports(sp, dp, 8), s, 0x50 + s),
            ),
        ));
        // routing header type 2 with one address, then TCP
        let mut rt = vec![6, 2, 2, 1, 0, 0, 0, 0];
        rt.extend_from_slice(&[0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 8, s]);
        out.push((
            format!("ipv6 routing type 2 tcp {sp}>{dp}"),
            ether(0x86dd, &[], &ipv6(43, &rt, &tcp, s, 0x60 + s)),
        ));
        // a fragment header: no ports
        let frag = [17, 0, 0, 1, 0, 0, 0, 1];
        out.push((
            format!("ipv6 fragment {i}"),
            ether(
                0x86dd,
                &[],
                &ipv6(44, &frag, &ports(sp, dp, 8), s, 0x70 + s),
            ),
        ));
    }
    // a fragmented IPv4 packet (no ports), VLAN, ARP, short frames
    let mut frag = ipv4(17, [10, 1, 1, 1], [10, 1, 1, 2], &ports(1, 2, 8));
    frag[6] = 0x20;
    out.push(("ipv4 fragment".to_owned(), ether(0x0800, &[], &frag)));
    out.push((
        "vlan ipv4 udp".to_owned(),
        ether(
            0x0800,
            &[7],
            &ipv4(17, [10, 0, 0, 1], [10, 0, 0, 2], &ports(1, 2, 8)),
        ),
    ));
    out.push(("arp".to_owned(), ether(0x0806, &[], &[0; 28])));
    let mut cut = ether(
        0x0800,
        &[],
        &ipv4(6, [1, 2, 3, 4], [5, 6, 7, 8], &ports(1, 2, 20)),
    );
    cut.truncate(30);
    out.push(("ipv4 cut".to_owned(), cut));
    out
}

/// What the kernel's test run gives a socket filter's context (the
/// loopback device, ifindex 1; the packet type from the destination).
fn meta(frame: &[u8]) -> PacketMeta {
    let dst = frame.get(..6).unwrap_or(&[]);
    let pkt_type = if dst.iter().all(|&b| b == 0) {
        0
    } else if dst.iter().all(|&b| b == 0xff) {
        1
    } else if dst.first().is_some_and(|b| b & 1 != 0) {
        2
    } else {
        3
    };
    PacketMeta {
        ifindex: 1,
        pkt_type,
        ..PacketMeta::default()
    }
}

/// Fill map `name` with `entries` in the kernel and in every engine.
fn fill(prog: &Program, kern: &KernelProg, vms: &[Vm], name: &str, entries: &[(u32, Vec<u8>)]) {
    let i = prog
        .maps()
        .iter()
        .position(|m| m.name == name)
        .unwrap_or_else(|| panic!("rss.bpf.c has no map {name}"));
    for (k, v) in entries {
        kern.maps[i]
            .update(&k.to_ne_bytes(), v)
            .unwrap_or_else(|e| panic!("kernel {name}: {e}"));
        for vm in vms {
            let map = vm.maps().nth(i).expect("one map per definition");
            map.update(&k.to_ne_bytes(), v, 0)
                .unwrap_or_else(|e| panic!("engine {name}: {e:?}"));
        }
    }
}

#[test]
fn rss_gives_the_kernels_queue() {
    let Some(src) = rss_source() else {
        println!("skipped: no QEMU source with tools/ebpf/rss.bpf.c (set QEMU_SRC)");
        return;
    };
    let elf = compile_rss(&src);
    let mut prog = Program::load_elf(&elf, "rss.bpf.o", Some("socket"))
        .unwrap_or_else(|e| panic!("rss.bpf.c does not load: {e}"));
    prog.set_prog_type(ubpf::ProgType::SocketFilter);
    let opts = VerifyOptions {
        convention: prog.prog_type().convention(),
        min_len: 0,
    };
    let proof = ubpf::verify(&prog, &opts).unwrap_or_else(|e| panic!("rss.bpf.c: {e}"));
    let kern = match kernel::load(&prog, ProgType::SocketFilter) {
        None => {
            println!("skipped: bpf() is not available (run as root)");
            return;
        }
        Some(Err(r)) => panic!("the kernel refuses rss.bpf.c: {}", r.reason()),
        Some(Ok(k)) => k,
    };
    // the program has loops: the interpreter too runs it with its proof
    let checked = VmOptions {
        convention: opts.convention,
        proof: Some(proof.clone()),
    };
    let mut vms = vec![
        Vm::with_options(prog.clone(), Engine::Interpreter, checked).expect("interpreter"),
        Vm::new(prog.clone(), Engine::Jit(Trust::Verified(proof))).expect("jit"),
    ];
    let frames = frames();
    // all hash types (IPv4/TCPv4/UDPv4/IPv6/TCPv6/UDPv6 and the _EX
    // forms), a partial set, redirection off, a short table
    let configs = [
        ("all hash types", config(true, 0x1ff, 128, 3)),
        ("ip only", config(true, 0x1 | 0x8, 128, 3)),
        ("tcp only, 5 entries", config(true, 0x2 | 0x10 | 0x80, 5, 1)),
        ("redirect off", config(false, 0x1ff, 128, 6)),
    ];
    let table: Vec<(u32, Vec<u8>)> = (0..128u32)
        .map(|i| {
            (
                i,
                u16::try_from(i * 7 % 11)
                    .unwrap_or(0)
                    .to_ne_bytes()
                    .to_vec(),
            )
        })
        .collect();
    fill(
        &prog,
        &kern,
        &vms,
        "tap_rss_map_toeplitz_key",
        &[(0, toeplitz(&KEY))],
    );
    fill(&prog, &kern, &vms, "tap_rss_map_indirection_table", &table);
    let mut compared = 0;
    let mut queues = std::collections::BTreeSet::new();
    for (what, cfg) in &configs {
        fill(
            &prog,
            &kern,
            &vms,
            "tap_rss_map_configurations",
            &[(0, cfg.clone())],
        );
        for (name, frame) in &frames {
            let Ok(k) = kern.test_run(frame) else {
                // the kernel does not run some short frames
                continue;
            };
            for vm in &mut vms {
                let mut p = Packet::new(frame);
                p.pull(14);
                let r = vm
                    .run_packet(&mut p, &meta(frame))
                    .unwrap_or_else(|e| panic!("{what}, {name}: {e}"))
                    .r0;
                assert_eq!(
                    r as u32, k.retval,
                    "{what}, {name}: queue {r} here, {} in the kernel",
                    k.retval
                );
            }
            queues.insert(k.retval);
            compared += 1;
        }
    }
    // nearly every pair ran in the kernel, and the frames spread over
    // several queues: the hash really ran
    assert!(
        compared + 4 >= frames.len() * configs.len(),
        "{compared} compared"
    );
    assert!(queues.len() >= 5, "queues seen: {queues:?}");
    println!(
        "rss.bpf.c: {compared} frame/configuration pairs, the kernel's queue each time \
         ({} distinct queues)",
        queues.len()
    );
}
