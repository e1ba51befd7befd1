// SPDX-License-Identifier: GPL-2.0-or-later

//! Map scenarios shared by the map tests (unverified VMs) and the
//! verifier's map tests (verified VMs): crafted packets in, verdicts and
//! map contents out, interpreter and JIT alike.

use ubpf::maps::{MapKind, BPF_ANY, BPF_NOEXIST};
use ubpf::{Program, Vm};

use super::verdict;

/// An `lpm_trie` key (`struct bpf_lpm_trie_key` with 4 bytes of data):
/// the prefix length, then the IPv4 address.
pub fn lpm_key(plen: u32, addr: [u8; 4]) -> [u8; 8] {
    let mut key = [0u8; 8];
    key[..4].copy_from_slice(&plen.to_le_bytes());
    key[4..].copy_from_slice(&addr);
    key
}

/// An IPv4 header (ip-mode memory) from `src` with protocol `proto`.
pub fn ipv4(src: [u8; 4], proto: u8) -> Vec<u8> {
    let mut p = vec![0u8; 28];
    p[0] = 0x45;
    p[9] = proto;
    p[12..16].copy_from_slice(&src);
    p[16..20].copy_from_slice(&[10, 0, 0, 1]);
    p
}

/// An Ethernet frame of type `ethertype` whose first byte is `first`.
pub fn frame(ethertype: u16, first: u8) -> Vec<u8> {
    let mut f = vec![0u8; 42];
    f[0] = first;
    f[12..14].copy_from_slice(&ethertype.to_be_bytes());
    f
}

pub fn u64_value(vm: &Vm, map: &str, key: &[u8]) -> u64 {
    let v = vm.map(map).unwrap().lookup(key).unwrap();
    u64::from_le_bytes(v[..8].try_into().unwrap())
}

pub fn per_protocol_counter(prog: &Program, (mut int, mut jit): (Vm, Vm)) {
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

pub fn blocklist_filled_by_the_host(_prog: &Program, (mut int, mut jit): (Vm, Vm)) {
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

pub fn rate_limiter_with_timestamps_and_a_full_table(
    _prog: &Program,
    (mut int, mut jit): (Vm, Vm),
) {
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

pub fn global_variables_are_single_entry_arrays(prog: &Program, (mut int, mut jit): (Vm, Vm)) {
    let mut names: Vec<&str> = prog.maps().iter().map(|m| m.name.as_str()).collect();
    names.sort_unstable();
    assert_eq!(names, [".bss", ".data", ".rodata"]);
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

pub fn legacy_map_definition(prog: &Program, (mut int, mut jit): (Vm, Vm)) {
    assert_eq!(prog.maps()[0].name, "parity");
    for first in [1, 2, 3, 5] {
        verdict(&mut int, &mut jit, &frame(0x0800, first));
    }
    for vm in [&int, &jit] {
        assert_eq!(u64_value(vm, "parity", &0u32.to_le_bytes()), 1);
        assert_eq!(u64_value(vm, "parity", &1u32.to_le_bytes()), 3);
    }
}
