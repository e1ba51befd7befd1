// SPDX-License-Identifier: GPL-2.0-or-later

//! Real programs, compiled by clang from tests/data/ubpf, run on crafted
//! packets with the interpreter and the JIT.

mod common;

use common::{ether, ipv4, load, ports, verdict, vms, Rng};
use ubpf::{
    Convention, Engine, Packet, PacketMeta, ProgType, Program, RunError, VerifyOptions, Vm,
};

const TCP: u8 = 6;
const UDP: u8 = 17;
const ICMP: u8 = 1;
const ETH_IP: u16 = 0x0800;
const ETH_ARP: u16 = 0x0806;
const ETH_IPV6: u16 = 0x86dd;
const VLAN: u16 = 0x8100;
const QINQ: u16 = 0x88a8;

#[test]
fn ip_dst() {
    let prog = load("ip_dst");
    assert_eq!(prog.section(), "ubpf");
    let (mut int, mut jit) = vms(&prog);
    assert!(jit.is_jit() == ubpf::JIT_AVAILABLE);
    let one = [1, 1, 1, 1];
    let other = [1, 1, 1, 2];
    let src = [10, 0, 2, 15];
    let cases: &[(Vec<u8>, u64)] = &[
        (ipv4(ICMP, src, one, &[8, 0, 0, 0]), 1),
        (ipv4(TCP, src, one, &ports(1234, 80, 20)), 1),
        (ipv4(UDP, src, other, &ports(1234, 53, 8)), 0),
        (ipv4(UDP, one, src, &ports(53, 1234, 8)), 0),
        (ipv4(ICMP, src, [8, 8, 8, 8], &[]), 0),
    ];
    for (pkt, want) in cases {
        assert_eq!(verdict(&mut int, &mut jit, pkt), *want, "{pkt:02x?}");
    }
}

#[test]
fn ip_dst_short_packet_is_a_run_error() {
    // The program reads the destination without a length test: the
    // interpreter catches the out-of-bounds load.
    let prog = load("ip_dst");
    let mut vm = Vm::new(prog, Engine::Interpreter).unwrap();
    let mut short = [0x45u8, 0, 0, 20, 0, 0, 0, 0, 64, 1];
    let err = vm.run(&mut short).unwrap_err();
    match &err {
        RunError::OutOfBounds {
            insn: Some(0),
            target: None,
            ..
        } => {}
        other => panic!("unexpected {other:?}"),
    }
    // the destination address, 4 bytes at offset 16, in the loaded
    // numbering (rbpf names the next instruction), no host address
    assert_eq!(
        err.to_string(),
        "instruction 0: out-of-bounds 4-byte load at packet offset 16 (the packet has 10 bytes)"
    );
    // and the VM keeps working
    let mut ok = ipv4(ICMP, [1, 2, 3, 4], [1, 1, 1, 1], &[]);
    assert_eq!(vm.run(&mut ok), Ok(1));
}

/// Assemble `asm` (rbpf's assembler) into bytecode.
fn assemble(asm: &str) -> Vec<u8> {
    rbpf::assembler::assemble(asm)
        .unwrap()
        .iter()
        .flat_map(|w| w.to_le_bytes())
        .collect()
}

/// The index of the first instruction of opcode `op` in `code`.
fn find_op(code: &[u8], op: u8) -> usize {
    code.chunks_exact(8).position(|i| i[0] == op).unwrap()
}

/// A run error names the instruction as the program was loaded, the
/// numbering of the verifier's errors, not rbpf's: the rewrite of
/// `ld_abs` moves the faulting load, and rbpf names the instruction
/// after it.  The access is described by kind, size and packet offset,
/// with no host address.
#[test]
fn run_error_names_the_loaded_instruction() {
    // 0: r6 = r1; 1: ld_abs (rewritten into several instructions);
    // 2-3: lddw (two slots); 4: the load past the end; 5: store; 6: exit
    let code = assemble(
        "mov64 r6, r1
         ldabsb 0
         lddw r2, 0x100000000
         ldxw r0, [r6+100]
         stb [r6+30], 1
         exit",
    );
    let prog = Program::from_bytecode(&code).unwrap();
    assert_eq!(prog.source_bytecode(), &code[..]);
    // where rbpf counts the load: elsewhere than the program as loaded
    let exec = find_op(prog.bytecode(), 0x61);
    assert!(exec > 4, "ld_abs rewritten: the load is at {exec}");
    assert_eq!(prog.source_insn(exec), 4);
    let verified = VerifyOptions {
        convention: Convention::Raw,
        min_len: 20,
    };
    let refusal = ubpf::verify(&prog, &verified).unwrap_err().to_string();
    assert!(refusal.contains("instruction 4: "), "{refusal}");
    let mut vm = Vm::new(prog, Engine::Interpreter).unwrap();
    let mut short = [0x45u8; 20];
    let err = vm.run(&mut short).unwrap_err();
    let text = err.to_string();
    assert_eq!(
        text,
        "instruction 4: out-of-bounds 4-byte load at packet offset 100 (the packet has 20 bytes)"
    );
    assert!(!text.contains("0x") && !text.contains('#'), "{text}");
    match err {
        RunError::OutOfBounds { insn, .. } => assert_eq!(insn, Some(4)),
        other => panic!("unexpected {other:?}"),
    }
    // the same through run_packet (the packet in a buffer with headroom)
    let mut p = Packet::new(&[0x45; 20]);
    let again = vm.run_packet(&mut p, &PacketMeta::default()).unwrap_err();
    assert_eq!(again.to_string(), text);
    // long enough for the load and the store
    let mut long = [0u8; 104];
    assert_eq!(vm.run(&mut long), Ok(0));
}

/// A store out of bounds is named a store.
#[test]
fn run_error_of_a_store() {
    let code = assemble(
        "mov64 r6, r1
         ldabsb 0
         stb [r6+30], 1
         exit",
    );
    let mut vm = Vm::new(Program::from_bytecode(&code).unwrap(), Engine::Interpreter).unwrap();
    let mut pkt = [0u8; 30];
    assert_eq!(
        vm.run(&mut pkt).unwrap_err().to_string(),
        "instruction 2: out-of-bounds 1-byte store at packet offset 30 (the packet has 30 bytes)"
    );
}

/// An access below the stack is placed relative to r10.
#[test]
fn run_error_below_the_stack() {
    let code = assemble(
        "mov64 r2, r10
         add64 r2, -600
         ldxdw r0, [r2]
         exit",
    );
    let mut vm = Vm::new(Program::from_bytecode(&code).unwrap(), Engine::Interpreter).unwrap();
    let mut pkt = [0u8; 30];
    assert_eq!(
        vm.run(&mut pkt).unwrap_err().to_string(),
        "instruction 2: out-of-bounds 8-byte load at stack offset -600 (the stack is offsets \
         -512 to -1 from r10)"
    );
}

/// The same for a tc program: the packet is found through the context,
/// in a buffer with head- and tailroom; offsets are from `data`.
#[test]
fn run_error_of_a_context_program() {
    // 0: r6 = ctx; 1: ld_abs; 2: r2 = skb->data; 3: r3 = skb->data_end;
    // 4: r0 = *(u64 *)(data + 4000): past the end
    let code = assemble(
        "mov64 r6, r1
         ldabsb 0
         ldxw r2, [r6+76]
         ldxw r3, [r6+80]
         ldxdw r0, [r2+4000]
         exit",
    );
    let mut prog = Program::from_bytecode(&code).unwrap();
    prog.set_prog_type(ProgType::SchedCls);
    assert!(find_op(prog.bytecode(), 0x79) > 4);
    let mut vm = Vm::new(prog, Engine::Interpreter).unwrap();
    let mut p = Packet::new(&[0; 60]);
    let err = vm.run_packet(&mut p, &PacketMeta::default()).unwrap_err();
    assert_eq!(
        err.to_string(),
        "instruction 4: out-of-bounds 8-byte load at packet offset 4000 (the packet has 60 bytes)"
    );
}

/// rbpf's other run-time errors that name an instruction and an
/// address: the instruction as loaded, the address as a packet offset.
#[test]
fn misaligned_atomic_names_the_packet_offset() {
    // 0: r6 = r1; 1: ld_abs; 2: lock *(u32 *)(r6 + 1) += r2 (misaligned);
    // 3: exit
    let mut code = assemble(
        "mov64 r6, r1
         ldabsb 0",
    );
    code.extend_from_slice(&[0xc3, 0x26, 1, 0, 0, 0, 0, 0]);
    code.extend_from_slice(&assemble("exit"));
    let prog = Program::from_bytecode(&code).unwrap();
    assert!(find_op(prog.bytecode(), 0xc3) > 2);
    let mut vm = Vm::new(prog, Engine::Interpreter).unwrap();
    let mut p = Packet::new(&[0; 20]);
    let err = vm.run_packet(&mut p, &PacketMeta::default()).unwrap_err();
    assert_eq!(
        err.to_string(),
        "instruction 2: misaligned atomic operation at packet offset 1 (the packet has 20 bytes)"
    );
}

#[test]
fn port_allow_ip_mode() {
    let prog = load("port_allow");
    let (mut int, mut jit) = vms(&prog);
    let s = [192, 168, 0, 1];
    let d = [192, 168, 0, 2];
    let cases: &[(Vec<u8>, u64)] = &[
        (ipv4(TCP, s, d, &ports(40000, 22, 20)), 0),
        (ipv4(TCP, s, d, &ports(40000, 443, 20)), 0),
        (ipv4(UDP, s, d, &ports(40000, 53, 8)), 0),
        (ipv4(TCP, s, d, &ports(40000, 80, 20)), 0),
        (ipv4(TCP, s, d, &ports(40000, 23, 20)), 1),
        (ipv4(UDP, s, d, &ports(53, 5353, 8)), 1),
        (ipv4(ICMP, s, d, &[8, 0, 0, 0]), 0),
        // truncated L4 header
        (ipv4(TCP, s, d, &[0, 22]), 1),
        // truncated IPv4 header
        (vec![0x45, 0, 0, 20, 0, 0], 1),
        (Vec::new(), 1),
    ];
    for (pkt, want) in cases {
        assert_eq!(verdict(&mut int, &mut jit, pkt), *want, "{pkt:02x?}");
    }
    // IPv4 options: IHL 6, port after 24 bytes
    let mut opt = ipv4(TCP, s, d, &[1, 1, 1, 1]);
    opt[0] = 0x46;
    opt.extend_from_slice(&ports(1000, 443, 20));
    assert_eq!(verdict(&mut int, &mut jit, &opt), 0);
    let len = opt.len();
    opt[len - 20 + 3] = 0xbc; // port 443 -> 444
    assert_eq!(verdict(&mut int, &mut jit, &opt), 1);
    // later fragment: no L4 header, passes
    let mut frag = ipv4(UDP, s, d, &[0xde, 0xad, 0xbe, 0xef]);
    frag[6] = 0x00;
    frag[7] = 0x10;
    assert_eq!(verdict(&mut int, &mut jit, &frag), 0);
}

#[test]
fn port_allow_raw_frames() {
    let prog = load("port_allow_eth");
    let (mut int, mut jit) = vms(&prog);
    let s = [10, 0, 0, 1];
    let d = [10, 0, 0, 2];
    let ok = ipv4(TCP, s, d, &ports(5555, 80, 20));
    let bad = ipv4(UDP, s, d, &ports(5555, 69, 8));
    let cases: &[(Vec<u8>, u64)] = &[
        (ether(ETH_IP, &[], &ok), 0),
        (ether(ETH_IP, &[], &bad), 1),
        (ether(ETH_IP, &[VLAN], &ok), 0),
        (ether(ETH_IP, &[VLAN], &bad), 1),
        (ether(ETH_IP, &[QINQ, VLAN], &bad), 1),
        (ether(ETH_IP, &[QINQ, VLAN], &ok), 0),
        (ether(ETH_ARP, &[], &[0; 28]), 0),
        (ether(ETH_IPV6, &[], &[0x60; 40]), 0),
        (ether(ETH_IP, &[], &ok[..10]), 1),
        (vec![0; 13], 1),
    ];
    for (pkt, want) in cases {
        assert_eq!(verdict(&mut int, &mut jit, pkt), *want, "{pkt:02x?}");
    }
}

#[test]
fn arp_only() {
    let prog = load("arp_only");
    let (mut int, mut jit) = vms(&prog);
    let ip = ipv4(ICMP, [1, 2, 3, 4], [5, 6, 7, 8], &[]);
    let cases: &[(Vec<u8>, u64)] = &[
        (ether(ETH_ARP, &[], &[0; 28]), 0),
        (ether(ETH_IP, &[], &ip), 1),
        (ether(ETH_IPV6, &[], &[0; 40]), 1),
        (ether(ETH_ARP, &[VLAN], &[0; 28]), 1),
        (vec![0; 13], 1),
        (Vec::new(), 1),
    ];
    for (pkt, want) in cases {
        assert_eq!(verdict(&mut int, &mut jit, pkt), *want, "{pkt:02x?}");
    }
}

#[test]
fn helper_calls() {
    let prog = load("helpers");
    let (mut int, mut jit) = vms(&prog);
    assert_eq!(verdict(&mut int, &mut jit, &[0xff, 1, 2]), 1);
    assert_eq!(verdict(&mut int, &mut jit, &[0xfe, 1, 2]), 0);
    assert_eq!(verdict(&mut int, &mut jit, &[]), 0);
}

#[test]
fn bpf_to_bpf_calls() {
    let prog = load("call");
    let (mut int, mut jit) = vms(&prog);
    let mut rng = Rng::new(7);
    for _ in 0..200 {
        let mut ip = ipv4(UDP, [1, 2, 3, 4], [5, 6, 7, 8], &ports(1, 2, 8));
        ip[8] = rng.next_u64() as u8; // TTL
        let mut frame = ether(ETH_IP, &[], &ip);
        let head = rng.bytes(8);
        frame[..8].copy_from_slice(&head);
        let ones: u32 = head.iter().map(|b| b.count_ones()).sum();
        let want = u64::from((u32::from(ip[8]) + ones) & 1);
        assert_eq!(verdict(&mut int, &mut jit, &frame), want, "{frame:02x?}");
    }
    assert_eq!(
        verdict(&mut int, &mut jit, &ether(ETH_ARP, &[], &[0; 28])),
        0
    );
    assert_eq!(verdict(&mut int, &mut jit, &[0; 20]), 0);
}

/// The functions of an ELF object: name -> (section, instructions).
fn functions(bytes: &[u8]) -> std::collections::HashMap<String, (String, Vec<u8>)> {
    use object::{Object, ObjectSection, ObjectSymbol};
    let file = object::File::parse(bytes).expect("parse the object");
    file.symbols()
        .filter(|s| s.kind() == object::SymbolKind::Text && s.size() > 0)
        .map(|s| {
            let section = file
                .section_by_index(s.section_index().expect("a section"))
                .expect("the section");
            let start = usize::try_from(s.address()).unwrap();
            let end = start + usize::try_from(s.size()).unwrap();
            let code = section.data().expect("section data")[start..end].to_vec();
            let name = section.name().expect("section name").to_owned();
            (s.name().expect("symbol name").to_owned(), (name, code))
        })
        .collect()
}

/// bpf-to-bpf calls are linked as libbpf links them: the program, then
/// the `.text` functions it calls, each appended at its first call and
/// followed at once by those it calls itself (depth first), not the
/// whole of `.text`; the calls point to where their callees went
/// (`tests/data/ubpf/subprog_order.bpf.c`).  The kernel then gets the
/// instructions libbpf would give it, and gives them the same tag.
#[test]
fn subprograms_linked_as_libbpf_links_them() {
    let obj = common::compile("subprog_order");
    let bytes = std::fs::read(&obj).unwrap();
    let funcs = functions(&bytes);
    // clang's order in .text is not libbpf's
    let in_text = |f: &str| {
        let (section, _) = &funcs[f];
        assert_eq!(section, ".text", "{f}");
    };
    ["scale", "offset", "lookup"]
        .iter()
        .for_each(|f| in_text(f));
    for (program, layout) in [
        ("first", &["first", "scale", "lookup", "offset"][..]),
        ("second", &["second", "lookup"][..]),
    ] {
        let prog = Program::load_elf(&bytes, "subprog_order", Some(program)).unwrap();
        let code = prog.source_bytecode();
        // each function where libbpf puts it, calls aside
        let mut starts = std::collections::HashMap::new();
        let mut at = 0;
        for f in layout {
            let body = &funcs[*f].1;
            starts.insert(at / 8, *f);
            let linked = &code[at..at + body.len()];
            for (i, (a, b)) in linked.chunks(8).zip(body.chunks(8)).enumerate() {
                if a[0] == 0x85 && a[1] >> 4 == 1 {
                    assert_eq!(a[..4], b[..4], "{program}: call {i} of {f}");
                } else {
                    assert_eq!(a, b, "{program}: instruction {i} of {f}");
                }
            }
            at += body.len();
        }
        assert_eq!(at, code.len(), "{program}: only the functions it calls");
        // every call lands at the start of a function: the callee
        let mut called = Vec::new();
        for (i, x) in code.chunks(8).enumerate() {
            if x[0] == 0x85 && x[1] >> 4 == 1 {
                let imm = i32::from_le_bytes(x[4..8].try_into().unwrap());
                let target = usize::try_from(i as i64 + 1 + i64::from(imm)).unwrap();
                called.push(*starts.get(&target).expect("a function start"));
            }
        }
        let want: &[&str] = if program == "first" {
            &["scale", "offset", "lookup"]
        } else {
            &["lookup"]
        };
        assert_eq!(called, want, "{program}");
        // and the verifier follows the calls
        let verified = ubpf::verify(
            &prog,
            &ubpf::VerifyOptions {
                convention: prog.prog_type().convention(),
                min_len: 0,
            },
        );
        assert!(verified.is_ok(), "{program}: {verified:?}");
    }
}

/// Interpreter and JIT agree on random packets for every program.
#[test]
fn differential_random_packets() {
    let mut rng = Rng::new(0x5eed);
    for name in [
        "port_allow",
        "port_allow_eth",
        "arp_only",
        "call",
        "helpers",
    ] {
        let prog = load(name);
        let (mut int, mut jit) = vms(&prog);
        for _ in 0..500 {
            let len = usize::try_from(rng.below(100)).unwrap();
            let mut pkt = rng.bytes(len);
            // make the interesting paths likely
            if len >= 34 && rng.below(2) == 0 {
                pkt[12] = 0x08;
                pkt[13] = 0;
                pkt[14] = 0x45;
                pkt[23] = if rng.below(2) == 0 { TCP } else { UDP };
            }
            if len >= 20 && rng.below(3) == 0 {
                pkt[0] = 0x45;
                pkt[9] = TCP;
            }
            verdict(&mut int, &mut jit, &pkt);
        }
    }
    // ip_dst needs 20 bytes (no length test; the JIT does not check)
    let prog = load("ip_dst");
    let (mut int, mut jit) = vms(&prog);
    for _ in 0..300 {
        let len = 20 + usize::try_from(rng.below(60)).unwrap();
        let mut pkt = rng.bytes(len);
        if rng.below(2) == 0 {
            pkt[16..20].copy_from_slice(&[1, 1, 1, 1]);
        }
        verdict(&mut int, &mut jit, &pkt);
    }
}

#[test]
fn vm_is_send_and_program_is_shared() {
    fn is_send<T: Send>() {}
    is_send::<Vm>();
    is_send::<Program>();
    let prog = load("arp_only");
    let mut vm = Vm::new(prog, Engine::Interpreter).unwrap();
    let h = std::thread::spawn(move || vm.run(&mut [0u8; 14]).unwrap());
    assert_eq!(h.join().unwrap(), 1);
}
