// SPDX-License-Identifier: GPL-2.0-or-later

//! `bpf_tail_call` as in the kernel: on success the calling program ends
//! and the target runs on the same context and packet (its return value
//! is the run's); a failed call (empty slot, the limit of 33 tail calls)
//! goes on after the call.  Interpreter and JIT, verified and not.
//! (Against the kernel: `tail_call_programs_against_the_kernel` in
//! `tests/kernel_diff.rs`, whose loader fills the program arrays with the
//! kernel's programs as libbpf does.)

mod common;

use common::{compile, engines, ether, ipv4, ports};
use ubpf::{Engine, ErrorKind, Packet, PacketMeta, Program, RunError, Vm};

/// Run `frame` through every engine; they must agree on the verdict and
/// the packet afterwards.
fn run(vms: &mut [(&'static str, Vm)], frame: &[u8]) -> (u64, Vec<u8>) {
    let mut results = Vec::new();
    for (name, vm) in vms.iter_mut() {
        let mut p = Packet::new(frame);
        let r = vm
            .run_packet(&mut p, &PacketMeta::default())
            .unwrap_or_else(|e| panic!("{name}: {e}"))
            .r0;
        results.push((*name, r, p.data().to_vec()));
    }
    let (_, r, pkt) = results[0].clone();
    for (name, r2, pkt2) in &results {
        assert_eq!((r, &pkt), (*r2, pkt2), "{name} disagrees on {frame:02x?}");
    }
    (r, pkt)
}

fn program(function: &str) -> Program {
    Program::load_file(&compile("tail_call"), Some(function)).unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn the_targets_are_the_objects_programs_of_the_same_type() {
    let prog = program("dispatch");
    assert_eq!(
        prog.object_programs(),
        ["tc/to_ipv4", "tc/to_ipv6", "tc/again", "tc/dispatch"]
    );
    let names: Vec<Option<&str>> = prog
        .tail_targets()
        .iter()
        .map(|t| t.as_ref().and_then(Program::function))
        .collect();
    assert_eq!(
        names,
        [
            Some("to_ipv4"),
            Some("to_ipv6"),
            Some("again"),
            Some("dispatch")
        ]
    );
}

#[test]
fn a_successful_tail_call_ends_the_program_and_runs_the_target() {
    let mut vms = engines(&program("dispatch"));
    let udp = ether(
        0x0800,
        &[],
        &ipv4(17, [1, 2, 3, 4], [5, 6, 7, 8], &ports(1, 2, 8)),
    );
    let (r, pkt) = run(&mut vms, &udp);
    // to_ipv4: 0x400 + the protocol (17) + cb[0] the dispatcher set (0x55)
    assert_eq!(r, 0x400 + 17 + 0x55);
    assert_eq!(pkt[0], 0x44, "the target wrote the shared packet");
    assert_eq!(pkt[1..], udp[1..]);
    let (r6, _) = run(&mut vms, &ether(0x86dd, &[], &[0x60; 40]));
    assert_eq!(r6, 0x600 + 0x55);
    for (_, vm) in &vms {
        assert_eq!(vm.last_tail_calls(), 1);
        // a map only the targets use is created and shared
        let seen = vm.map("seen").expect("the targets' map");
        assert_eq!(
            seen.lookup(&0u32.to_le_bytes()).unwrap(),
            1u64.to_le_bytes(),
            "to_ipv4 ran once"
        );
        assert_eq!(
            seen.lookup(&1u32.to_le_bytes()).unwrap(),
            1u64.to_le_bytes()
        );
    }
}

#[test]
fn a_failed_tail_call_goes_on_after_the_call() {
    let mut vms = engines(&program("dispatch"));
    // ARP: slot 2 is empty, the dispatcher returns 99
    assert_eq!(run(&mut vms, &ether(0x0806, &[], &[0; 28])).0, 99);
    for (_, vm) in &vms {
        assert_eq!(vm.last_tail_calls(), 0);
    }
    // the host empties slot 0: IPv4 falls through too
    for (_, vm) in &vms {
        vm.map("jumps")
            .unwrap()
            .delete(&0u32.to_le_bytes())
            .unwrap();
    }
    let udp = ether(
        0x0800,
        &[],
        &ipv4(17, [1, 2, 3, 4], [5, 6, 7, 8], &ports(1, 2, 8)),
    );
    assert_eq!(run(&mut vms, &udp), (99, udp.clone()));
    // and fills slot 2 with program 0 (to_ipv4): ARP now goes there
    for (_, vm) in &vms {
        let jumps = vm.map("jumps").unwrap();
        jumps
            .update(&2u32.to_le_bytes(), &0u32.to_le_bytes(), 0)
            .unwrap();
    }
    let arp = ether(0x0806, &[], &[7; 28]);
    assert_eq!(run(&mut vms, &arp).0, 0x400 + 7 + 0x55);
    // a program index the object does not have: the call fails
    for (_, vm) in &vms {
        let jumps = vm.map("jumps").unwrap();
        jumps
            .update(&2u32.to_le_bytes(), &9u32.to_le_bytes(), 0)
            .unwrap();
    }
    assert_eq!(run(&mut vms, &arp).0, 99);
}

#[test]
fn a_chain_stops_after_33_tail_calls() {
    let mut vms = engines(&program("again"));
    // `again` runs once and tail-calls itself 33 times; the 34th call
    // fails and the last run returns 0x1000 + its count of runs
    let (r, _) = run(&mut vms, &ether(0x0800, &[], &[0; 30]));
    assert_eq!(r, 0x1000 + 34);
    for (_, vm) in &vms {
        assert_eq!(vm.last_tail_calls(), 33);
    }
    // the count starts again for each packet
    assert_eq!(run(&mut vms, &ether(0x0800, &[], &[0; 30])).0, 0x1000 + 34);
}

#[test]
fn tail_calls_in_functions_are_refused() {
    // main: call the function at 2; exit.  function: tail call; exit
    let mut code: Vec<u8> = rbpf::assembler::assemble("call 1\nexit\ncall 12\nexit")
        .unwrap()
        .iter()
        .flat_map(|w| w.to_le_bytes())
        .collect();
    code[1] = 0x10; // a bpf-to-bpf call
    let e = Program::from_bytecode(&code).unwrap_err();
    assert!(
        matches!(e.kind(), ErrorKind::UnsupportedInstruction { insn: 2, .. }),
        "{e}"
    );
}

/// A run error in a tail-call target names the target and the
/// instruction in the target as loaded.
#[test]
fn run_error_in_a_target_names_it() {
    let prog = Program::load_file(&compile("tail_fault"), Some("entry")).unwrap();
    let reader = prog.tail_targets()[0].clone().unwrap();
    assert_eq!(reader.function(), Some("reader"));
    // r1 = skb->data; r0 = *(u8 *)(r1 + 1000); exit
    let load = reader
        .source_bytecode()
        .chunks_exact(8)
        .position(|i| i[0] == 0x71)
        .unwrap();
    assert_eq!(load, 1);
    let mut vm = Vm::new(prog, Engine::Interpreter).unwrap();
    let mut p = Packet::new(&ether(0x0806, &[], &[0; 46]));
    let err = vm.run_packet(&mut p, &PacketMeta::default()).unwrap_err();
    assert_eq!(vm.last_tail_calls(), 1);
    assert_eq!(
        err.to_string(),
        "instruction 1 of tail-call target reader: out-of-bounds 1-byte load at packet offset \
         1000 (the packet has 60 bytes)"
    );
    match err {
        RunError::OutOfBounds { insn, target, .. } => {
            assert_eq!((insn, target.as_deref()), (Some(1), Some("reader")));
        }
        other => panic!("unexpected {other:?}"),
    }
}
