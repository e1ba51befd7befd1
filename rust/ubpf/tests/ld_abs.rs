// SPDX-License-Identifier: GPL-2.0-or-later

//! Legacy packet loads (`ld_abs`/`ld_ind`) with the kernel's meaning, in
//! the interpreter and the JIT, verified and not: frames in, return values
//! out.  `tests/kernel_diff.rs` compares the same programs with the kernel.

mod common;

use common::{compile, engines, ether, ipv4, ports};
use ubpf::{Engine, ErrorKind, Packet, PacketMeta, ProgType, Program, VerifyOptions, Vm};

/// Run `frame` through every engine (a socket filter from the network
/// header on, as the kernel runs it); they must agree.
fn run(vms: &mut [(&'static str, Vm)], frame: &[u8]) -> u64 {
    let mut results = Vec::new();
    for (name, vm) in vms.iter_mut() {
        let mut p = Packet::new(frame);
        if vm.prog_type() == ProgType::SocketFilter {
            p.pull(14);
        }
        let r = vm
            .run_packet(&mut p, &PacketMeta::default())
            .unwrap_or_else(|e| panic!("{name}: {e}"))
            .r0;
        results.push((*name, r));
    }
    let first = results[0].1;
    assert!(
        results.iter().all(|&(_, r)| r == first),
        "engines disagree on {frame:02x?}: {results:x?}"
    );
    first
}

fn program(function: &str) -> Program {
    Program::load_file(&compile("ld_abs"), Some(function)).unwrap_or_else(|e| panic!("{e}"))
}

fn udp(dport: u16) -> Vec<u8> {
    ether(
        0x0800,
        &[],
        &ipv4(17, [10, 0, 0, 1], [10, 0, 0, 2], &ports(1234, dport, 8)),
    )
}

#[test]
fn absolute_and_indirect_loads_are_big_endian() {
    let mut vms = engines(&program("sock_port"));
    assert_eq!(run(&mut vms, &udp(53)), 53);
    assert_eq!(run(&mut vms, &udp(0x1234)), 0x1234);
    let tcp = ether(
        0x0800,
        &[],
        &ipv4(6, [1, 2, 3, 4], [5, 6, 7, 8], &ports(1, 443, 20)),
    );
    assert_eq!(run(&mut vms, &tcp), 443);
    let icmp = ether(
        0x0800,
        &[],
        &ipv4(1, [1, 2, 3, 4], [5, 6, 7, 8], &[8, 0, 0, 0]),
    );
    assert_eq!(run(&mut vms, &icmp), 2);
    assert_eq!(
        run(&mut vms, &ether(0x0806, &[], &[0; 28])),
        1,
        "SKF_LL_OFF: ARP"
    );
    // the UDP header cut off: the port is out of range, the program ends
    // with 0
    let mut cut = udp(53);
    cut.truncate(14 + 20 + 2);
    assert_eq!(run(&mut vms, &cut), 0);
}

#[test]
fn a_two_byte_load_of_08_00_is_0x0800() {
    // r6 = r1; r0 = ldabsh 12; exit (tc: offsets from the Ethernet header)
    let code: Vec<u8> = rbpf::assembler::assemble("mov64 r6, r1\nldabsh 12\nexit")
        .unwrap()
        .iter()
        .flat_map(|w| w.to_le_bytes())
        .collect();
    let mut prog = Program::from_bytecode(&code).unwrap();
    prog.set_prog_type(ProgType::SchedCls);
    assert_eq!(prog.source_bytecode(), &code[..]);
    assert!(prog.insn_count() > 3, "rewritten");
    let mut vms = engines(&prog);
    assert_eq!(run(&mut vms, &udp(53)), 0x0800);
    assert_eq!(run(&mut vms, &ether(0x86dd, &[], &[0; 40])), 0x86dd);
}

#[test]
fn network_header_offsets_and_loads_past_the_end() {
    let mut vms = engines(&program("sock_words"));
    // the source address (SKF_NET_OFF + 12) and the destination (16)
    let a = ether(
        0x0800,
        &[],
        &ipv4(17, [1, 2, 3, 4], [1, 2, 3, 5], &ports(1, 2, 8)),
    );
    assert_eq!(run(&mut vms, &a), (0x0102_0304 ^ 0x0102_0305) | 1);
    // equal: a word at 4000 is out of range and the program returns 0
    let b = ether(
        0x0800,
        &[],
        &ipv4(17, [9, 9, 9, 9], [9, 9, 9, 9], &ports(1, 2, 8)),
    );
    assert_eq!(run(&mut vms, &b), 0);
}

#[test]
fn negative_offsets_outside_the_headers_end_the_program() {
    let mut vms = engines(&program("sock_negative"));
    // x = skb->len & 3 picks the load (len counts from the network header)
    for (payload, want) in [(20, 0), (21, 0), (22, 0), (23, 9)] {
        let f = ether(0x0800, &[], &vec![0x45; payload]);
        assert_eq!(run(&mut vms, &f), want, "payload {payload}");
    }
    assert_eq!(run(&mut vms, &ether(0x0842, &[], &[0; 23])), 9 + 0x42);
}

#[test]
fn indirect_offsets_from_the_packet() {
    let mut vms = engines(&program("tc_indirect"));
    let mut f = udp(53);
    f[1] = 36; // the UDP destination port's bytes (00 35)
    assert_eq!(run(&mut vms, &f), 0x3500);
    f[1] = 41; // the last byte and one past the end: 0
    assert_eq!(run(&mut vms, &f), 0);
}

#[test]
fn the_verifier_knows_the_loaded_range() {
    // the byte loaded indexes a 256-byte map value: verified without a
    // mask because the verifier knows it is below 256
    // (the kernel's verifier does not: it refuses this program, see
    // tests/kernel_diff.rs)
    let mut vms = engines(&program("tc_table"));
    assert_eq!(run(&mut vms, &udp(1)), 1);
    assert_eq!(run(&mut vms, &udp(1)), 2);
    assert_eq!(run(&mut vms, &ether(0x86dd, &[], &[0x60; 40])), 0x1001);
    let mut masked = engines(&program("tc_table_masked"));
    assert_eq!(run(&mut masked, &udp(1)), 3);
}

#[test]
fn ld_abs_in_a_function_is_refused() {
    // as the kernel for programs without BTF function information
    let e = Program::load_file(&compile("ld_abs"), Some("tc_subprog")).unwrap_err();
    assert!(
        matches!(e.kind(), ErrorKind::UnsupportedInstruction { what, .. }
            if what.contains("bpf-to-bpf function")),
        "{e}"
    );
}

#[test]
fn the_kernel_rules() {
    // r6 must hold the context at each ld_abs
    let code: Vec<u8> = rbpf::assembler::assemble("mov64 r6, 0\nldabsb 0\nexit")
        .unwrap()
        .iter()
        .flat_map(|w| w.to_le_bytes())
        .collect();
    let mut prog = Program::from_bytecode(&code).unwrap();
    prog.set_prog_type(ProgType::SocketFilter);
    let Err(e) = Vm::new(prog.clone(), Engine::Interpreter) else {
        panic!("r6 is not the context")
    };
    assert!(
        matches!(e.kind(), ErrorKind::Context { insn: 1, detail } if detail.contains("r6")),
        "{e}"
    );
    let opts = VerifyOptions {
        convention: prog.prog_type().convention(),
        min_len: 0,
    };
    let refused = ubpf::verify(&prog, &opts).unwrap_err();
    assert_eq!(refused.kind().insn(), Some(1), "{refused}");
    // XDP programs may not use them
    let mut xdp = program("tc_indirect");
    xdp.set_prog_type(ProgType::Xdp);
    let Err(not_xdp) = Vm::new(xdp, Engine::Interpreter) else {
        panic!("xdp with ld_abs")
    };
    assert!(
        not_xdp.to_string().contains("not available to xdp"),
        "{not_xdp}"
    );
    // no 8-byte form
    let dw = [0x38u8, 0, 0, 0, 0, 0, 0, 0, 0x95, 0, 0, 0, 0, 0, 0, 0];
    assert!(matches!(
        Program::from_bytecode(&dw).unwrap_err().kind(),
        ErrorKind::InvalidOpcode { insn: 0, .. }
    ));
}
