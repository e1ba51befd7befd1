// SPDX-License-Identifier: GPL-2.0-or-later

//! Maps: libbpf-style programs keep state across packets; the host reads
//! and steers it.  Interpreter and JIT must agree on verdicts and contents.

mod common;

use common::{compile, load, verdict, vms};
use ubpf::maps::{MapError, MapKind, BPF_ANY, BPF_NOEXIST};
use ubpf::{Engine, ErrorKind, Program, Trust, Vm};

/// An IPv4 header (ip-mode memory) from `src` with protocol `proto`.
fn ipv4(src: [u8; 4], proto: u8) -> Vec<u8> {
    let mut p = vec![0u8; 28];
    p[0] = 0x45;
    p[9] = proto;
    p[12..16].copy_from_slice(&src);
    p[16..20].copy_from_slice(&[10, 0, 0, 1]);
    p
}

/// An Ethernet frame of type `ethertype` whose first byte is `first`.
fn frame(ethertype: u16, first: u8) -> Vec<u8> {
    let mut f = vec![0u8; 42];
    f[0] = first;
    f[12..14].copy_from_slice(&ethertype.to_be_bytes());
    f
}

fn u64_value(vm: &Vm, map: &str, key: &[u8]) -> u64 {
    let v = vm.map(map).unwrap().lookup(key).unwrap();
    u64::from_le_bytes(v[..8].try_into().unwrap())
}

#[test]
fn per_protocol_counter() {
    let prog = load("maps_counter");
    let def = &prog.maps()[0];
    assert_eq!(
        (
            def.name.as_str(),
            def.kind,
            def.key_size,
            def.value_size,
            def.max_entries
        ),
        ("proto_count", MapKind::Array, 4, 8, 256)
    );
    let (mut int, mut jit) = vms(&prog);
    let mix = [(6u8, 5u64), (17, 3), (1, 2)];
    for &(proto, n) in &mix {
        for _ in 0..n {
            assert_eq!(verdict(&mut int, &mut jit, &ipv4([10, 0, 0, 9], proto)), 0);
        }
    }
    for vm in [&int, &jit] {
        for &(proto, n) in &mix {
            assert_eq!(
                u64_value(vm, "proto_count", &u32::from(proto).to_le_bytes()),
                n
            );
        }
        assert_eq!(u64_value(vm, "proto_count", &2u32.to_le_bytes()), 0);
    }
}

#[test]
fn blocklist_filled_by_the_host() {
    let prog = load("maps_blocklist");
    let (mut int, mut jit) = vms(&prog);
    let bad = [192, 0, 2, 7];
    let good = [192, 0, 2, 8];
    assert_eq!(verdict(&mut int, &mut jit, &ipv4(bad, 6)), 0);
    for vm in [&int, &jit] {
        vm.map("blocked")
            .unwrap()
            .update(&bad, &0u64.to_le_bytes(), BPF_NOEXIST)
            .unwrap();
    }
    for _ in 0..3 {
        assert_eq!(verdict(&mut int, &mut jit, &ipv4(bad, 6)), 1);
        assert_eq!(verdict(&mut int, &mut jit, &ipv4(good, 6)), 0);
    }
    for vm in [&int, &jit] {
        assert_eq!(u64_value(vm, "blocked", &bad), 3);
        assert_eq!(vm.map("blocked").unwrap().len(), 1);
        vm.map("blocked").unwrap().delete(&bad).unwrap();
    }
    assert_eq!(verdict(&mut int, &mut jit, &ipv4(bad, 6)), 0);
}

#[test]
fn rate_limiter_with_timestamps_and_a_full_table() {
    let prog = load("maps_ratelimit");
    let (mut int, mut jit) = vms(&prog);
    // a burst of 3 per source, then drops (the refill period is 1 s)
    let verdicts: Vec<u64> = (0..5)
        .map(|_| verdict(&mut int, &mut jit, &ipv4([10, 1, 1, 1], 17)))
        .collect();
    assert_eq!(verdicts, [0, 0, 0, 1, 1]);
    // 4 entries: three more sources fit, the fifth does not (E2BIG: drop)
    for last in 2..=4 {
        assert_eq!(verdict(&mut int, &mut jit, &ipv4([10, 1, 1, last], 17)), 0);
    }
    assert_eq!(verdict(&mut int, &mut jit, &ipv4([10, 1, 1, 5], 17)), 1);
    for vm in [&int, &jit] {
        let m = vm.map("buckets").unwrap();
        assert_eq!(m.len(), 4);
        let v = m.lookup(&[10, 1, 1, 1]).unwrap();
        assert_eq!(
            u64::from_le_bytes(v[8..16].try_into().unwrap()),
            0,
            "tokens"
        );
        assert_ne!(
            u64::from_le_bytes(v[..8].try_into().unwrap()),
            0,
            "timestamp"
        );
    }
}

#[test]
fn global_variables_are_single_entry_arrays() {
    let prog = load("maps_globals");
    let mut names: Vec<&str> = prog.maps().iter().map(|m| m.name.as_str()).collect();
    names.sort_unstable();
    assert_eq!(names, [".bss", ".data", ".rodata"]);
    let (mut int, mut jit) = vms(&prog);
    let arp = frame(0x0806, 0);
    let ip = frame(0x0800, 0);
    let verdicts: Vec<u64> = [&arp, &ip, &arp, &arp, &ip, &arp]
        .iter()
        .map(|f| verdict(&mut int, &mut jit, f))
        .collect();
    assert_eq!(verdicts, [0, 0, 0, 1, 0, 1]);
    for vm in [&int, &jit] {
        let bss = vm.map(".bss").unwrap().lookup(&0u32.to_le_bytes()).unwrap();
        assert_eq!(
            u64::from_le_bytes(bss[..8].try_into().unwrap()),
            6,
            "frames"
        );
        assert_eq!(
            u64::from_le_bytes(bss[8..16].try_into().unwrap()),
            4,
            "watched"
        );
        // the host changes .data: the allowance grows
        vm.map(".data")
            .unwrap()
            .update(&0u32.to_le_bytes(), &10u64.to_le_bytes(), BPF_ANY)
            .unwrap();
    }
    assert_eq!(verdict(&mut int, &mut jit, &arp), 0);
}

#[test]
fn legacy_map_definition() {
    let prog = load("maps_legacy");
    assert_eq!(prog.maps()[0].name, "parity");
    let (mut int, mut jit) = vms(&prog);
    for first in [1, 2, 3, 5] {
        verdict(&mut int, &mut jit, &frame(0x0800, first));
    }
    for vm in [&int, &jit] {
        assert_eq!(u64_value(vm, "parity", &0u32.to_le_bytes()), 1);
        assert_eq!(u64_value(vm, "parity", &1u32.to_le_bytes()), 3);
    }
}

#[test]
fn keep_maps_across_a_replacement() {
    let prog = load("maps_counter");
    let mut old = Vm::new(prog.clone(), Engine::Interpreter).unwrap();
    for _ in 0..4 {
        old.run(&mut ipv4([10, 0, 0, 9], 6)).unwrap();
    }
    let fresh = Vm::new(prog.clone(), Engine::Interpreter).unwrap();
    assert_eq!(u64_value(&fresh, "proto_count", &6u32.to_le_bytes()), 0);
    let mut new = Vm::new_keeping_maps(prog, Engine::Jit(Trust::Trusted), &mut old).unwrap();
    assert_eq!(u64_value(&new, "proto_count", &6u32.to_le_bytes()), 4);
    new.run(&mut ipv4([10, 0, 0, 9], 6)).unwrap();
    assert_eq!(u64_value(&new, "proto_count", &6u32.to_le_bytes()), 5);
    // the old program is retired
    let err = old.run(&mut ipv4([10, 0, 0, 9], 6)).unwrap_err();
    assert!(err.to_string().contains("replaced"), "{err}");
    // a program with other maps starts fresh
    let other = load("maps_blocklist");
    let next = Vm::new_keeping_maps(other, Engine::Interpreter, &mut new).unwrap();
    assert!(next.map("blocked").unwrap().is_empty());
}

#[test]
fn host_update_errors_are_checked() {
    let prog = load("maps_blocklist");
    let vm = Vm::new(prog, Engine::Interpreter).unwrap();
    let m = vm.map("blocked").unwrap();
    let key_err = m.update(&[1, 2, 3], &[0; 8], BPF_ANY).unwrap_err();
    assert_eq!(
        key_err.to_string(),
        "key is 3 bytes, the map's keys are 4 bytes"
    );
    let value_err = m.update(&[1, 2, 3, 4], &[0; 4], BPF_ANY).unwrap_err();
    assert_eq!(
        value_err.to_string(),
        "value is 4 bytes, the map's values are 8 bytes"
    );
    assert_eq!(m.delete(&[9, 9, 9, 9]), Err(MapError::NoSuchKey));
}

#[test]
fn unsupported_map_type_is_refused() {
    let obj = compile("maps_ringbuf");
    let err = Program::load_file(&obj, None).unwrap_err();
    let text = err.to_string();
    assert!(
        matches!(err.kind(), ErrorKind::UnsupportedRelocation { .. }),
        "{text}"
    );
    assert!(
        text.contains("map \"events\": map type 27 is not supported"),
        "{text}"
    );
    assert!(text.contains("instruction"), "{text}");
}

#[test]
fn helpers_refuse_bad_pointers_in_the_interpreter() {
    let prog = load("maps_badptr");
    let mut int = Vm::new(prog, Engine::Interpreter).unwrap();
    let mut pkt = ipv4([1, 2, 3, 4], 6);
    // put a key whose first bytes are at the end of the packet in the map:
    // if the helper read past the end, it could match it
    let tail = [pkt[26], pkt[27], 0, 0];
    int.map("m")
        .unwrap()
        .update(&tail, &[1, 0, 0, 0], BPF_ANY)
        .unwrap();
    assert_eq!(int.run(&mut pkt).unwrap(), 1, "lookup must refuse the key");
    // a key fully inside the packet is fine
    let mut short = vec![0u8; 3];
    assert_eq!(int.run(&mut short).unwrap(), 2);
}
