// SPDX-License-Identifier: GPL-2.0-or-later

//! A map programs may only write (`BPF_F_WRONLY_PROG`): a verified
//! program's lookup gives a pointer it writes through, as in the kernel
//! (compared with `BPF_PROG_TEST_RUN` where `bpf()` is available); an
//! unverified program, whose reads nothing refused, gets NULL.

mod common;

use common::kernel::{self, ProgType};
use ubpf::{Engine, Packet, PacketMeta, Program, Trust, VerifyOptions, Vm, VmOptions};

fn program() -> Program {
    Program::load_file(&common::compile("map_wronly"), Some("xdp")).expect("load")
}

fn frame() -> Vec<u8> {
    common::ether(
        0x0800,
        &[],
        &common::ipv4(17, [10, 0, 0, 1], [10, 0, 0, 2], &[0; 8]),
    )
}

/// Run the frame once: the verdict and the map's value.
fn run(vm: &mut Vm) -> (u64, Vec<u8>) {
    let mut p = Packet::new(&frame());
    let r = vm
        .run_packet(&mut p, &PacketMeta::default())
        .expect("run")
        .r0;
    let map = vm.maps().next().expect("the map");
    (r, map.lookup(&0u32.to_ne_bytes()).expect("host lookup"))
}

#[test]
fn verified_programs_write_through_the_pointer() {
    let prog = program();
    let opts = VerifyOptions {
        convention: prog.prog_type().convention(),
        min_len: 0,
    };
    let proof = ubpf::verify(&prog, &opts).expect("verify");
    let with_proof = VmOptions {
        convention: opts.convention,
        proof: Some(proof.clone()),
    };
    let mut vms = [
        Vm::with_options(prog.clone(), Engine::Interpreter, with_proof).expect("interpreter"),
        Vm::new(prog.clone(), Engine::Jit(Trust::Verified(proof))).expect("jit"),
    ];
    for vm in &mut vms {
        assert_eq!(
            run(vm),
            (2, 42u64.to_ne_bytes().to_vec()),
            "XDP_PASS, 42 written"
        );
    }
    // unverified: NULL, nothing written
    let mut plain = Vm::new(prog.clone(), Engine::Interpreter).expect("interpreter");
    assert_eq!(
        run(&mut plain),
        (1, 0u64.to_ne_bytes().to_vec()),
        "XDP_DROP"
    );
    // the kernel
    match kernel::load(&prog, ProgType::Xdp) {
        None => println!("skipped the kernel comparison: bpf() is not available"),
        Some(Err(r)) => panic!("the kernel refuses it: {}", r.reason()),
        Some(Ok(k)) => {
            let out = k.test_run(&frame()).expect("test run");
            assert_eq!(out.retval, 2, "the kernel's verdict");
            assert_eq!(
                k.map_entries(0),
                vec![(0u32.to_ne_bytes().to_vec(), 42u64.to_ne_bytes().to_vec())],
                "the kernel's map"
            );
        }
    }
}
