// SPDX-License-Identifier: GPL-2.0-or-later

//! Map types with real clang-built programs: the helpers' results (flags,
//! error numbers), LRU eviction, longest-prefix match, read-only maps,
//! program selection by function, pinned maps, `.rodata` set by the host,
//! ring buffers, perf records, devmap redirects and tail calls.
//! Interpreter and JIT must agree.

mod common;

use common::maps::lpm_key as lpm;
use common::{compile, load, verdict, vms};
use ubpf::maps::{MapKind, PinRegistry, BPF_ANY, BPF_EXIST, BPF_NOEXIST};
use ubpf::{Engine, ErrorKind, Program, Trust, Vm, VmOptions};

const ENOENT: u64 = (-2i64) as u64;
const EEXIST: u64 = (-17i64) as u64;
const E2BIG: u64 = (-7i64) as u64;
const EINVAL: u64 = (-22i64) as u64;
const ENOSPC: u64 = (-28i64) as u64;
const EPERM: u64 = (-1i64) as u64;
const NOT_FOUND: u64 = 0xdead;

const PERCPU_HASH: u8 = 0;
const LRU: u8 = 1;
const LRU_PERCPU: u8 = 2;
const LPM: u8 = 3;
const ARRAY: u8 = 4;
const RDONLY: u8 = 5;

/// The command packet of `maps_ops.bpf.c`.
fn cmd(op: u8, flags: u8, key: &[u8], value: u64) -> Vec<u8> {
    let mut p = vec![0u8; 24];
    p[0] = op;
    p[2] = flags;
    p[8..8 + key.len()].copy_from_slice(key);
    p[16..24].copy_from_slice(&value.to_le_bytes());
    p
}

/// The programs of `maps_ops.bpf.c`, one per map (each with its own maps),
/// interpreter and JIT.
struct Ops(Vec<(Vm, Vm)>);

impl Ops {
    fn new() -> Self {
        let obj = compile("maps_ops");
        let names = ["percpu_hash", "lru", "lru_percpu", "lpm", "array", "rdonly"];
        Self(
            names
                .iter()
                .map(|n| {
                    let prog = Program::load_file(&obj, Some(&format!("ops_{n}")))
                        .unwrap_or_else(|e| panic!("{e}"));
                    vms(&prog)
                })
                .collect(),
        )
    }
    fn both(&self, map: u8) -> [&Vm; 2] {
        let (int, jit) = &self.0[usize::from(map)];
        [int, jit]
    }
    fn run(&mut self, map: u8, pkt: &[u8]) -> u64 {
        let (int, jit) = &mut self.0[usize::from(map)];
        verdict(int, jit, pkt)
    }
    fn lookup(&mut self, map: u8, key: &[u8]) -> u64 {
        self.run(map, &cmd(0, 0, key, 0))
    }
    fn update(&mut self, map: u8, key: &[u8], value: u64, flags: u64) -> u64 {
        self.run(map, &cmd(1, u8::try_from(flags).unwrap(), key, value))
    }
    fn delete(&mut self, map: u8, key: &[u8]) -> u64 {
        self.run(map, &cmd(2, 0, key, 0))
    }
}

fn k(n: u32) -> [u8; 4] {
    n.to_le_bytes()
}

#[test]
fn map_definitions_from_btf() {
    let prog = Program::load_file(&compile("maps_ops"), Some("ops_lpm")).unwrap();
    assert_eq!(prog.function(), Some("ops_lpm"));
    let kinds: Vec<(MapKind, u32)> = prog
        .maps()
        .iter()
        .zip(prog.map_extras())
        .map(|(d, e)| (d.kind, e.flags))
        .collect();
    assert!(kinds.contains(&(MapKind::LpmTrie, ubpf::maps::BPF_F_NO_PREALLOC)));
    let rdonly = Program::load_file(&compile("maps_ops"), Some("ops_rdonly")).unwrap();
    assert_eq!(rdonly.map_extras()[0].flags, ubpf::maps::BPF_F_RDONLY_PROG);
}

#[test]
fn percpu_hash_helpers() {
    let mut o = Ops::new();
    assert_eq!(o.lookup(PERCPU_HASH, &k(1)), NOT_FOUND);
    assert_eq!(o.update(PERCPU_HASH, &k(1), 5, BPF_NOEXIST), 0);
    assert_eq!(o.update(PERCPU_HASH, &k(1), 6, BPF_NOEXIST), EEXIST);
    assert_eq!(o.update(PERCPU_HASH, &k(2), 6, BPF_EXIST), ENOENT);
    assert_eq!(o.update(PERCPU_HASH, &k(1), 6, 4), EINVAL);
    for n in 2..=4 {
        assert_eq!(o.update(PERCPU_HASH, &k(n), u64::from(n), BPF_ANY), 0);
    }
    assert_eq!(o.update(PERCPU_HASH, &k(9), 9, BPF_ANY), E2BIG);
    assert_eq!(o.lookup(PERCPU_HASH, &k(1)), 5);
    assert_eq!(o.delete(PERCPU_HASH, &k(1)), 0);
    assert_eq!(o.delete(PERCPU_HASH, &k(1)), ENOENT);
    for vm in o.both(PERCPU_HASH) {
        let m = vm.map("m_percpu_hash").unwrap();
        assert_eq!(m.len(), 3);
        // the host's per-CPU view: one CPU
        assert_eq!(m.lookup_percpu(&k(2)).unwrap(), 2u64.to_le_bytes());
        let mut keys = Vec::new();
        let mut cur: Option<Vec<u8>> = None;
        while let Ok(next) = m.next_key(cur.as_deref()) {
            keys.push(next[0]);
            cur = Some(next);
        }
        keys.sort_unstable();
        assert_eq!(keys, [2, 3, 4]);
    }
}

#[test]
fn lru_hash_evicts_the_least_recently_used() {
    for map in [LRU, LRU_PERCPU] {
        let mut o = Ops::new();
        for n in 1..=4 {
            assert_eq!(o.update(map, &k(n), u64::from(n) * 10, BPF_NOEXIST), 0);
        }
        // 1 is used again: 2 is now the oldest
        assert_eq!(o.lookup(map, &k(1)), 10);
        // full: an update evicts instead of failing with E2BIG
        assert_eq!(o.update(map, &k(5), 50, BPF_ANY), 0);
        assert_eq!(o.lookup(map, &k(2)), NOT_FOUND, "2 was evicted");
        assert_eq!(o.lookup(map, &k(1)), 10);
        // updating 3 makes it recent: 4 goes next
        assert_eq!(o.update(map, &k(3), 31, BPF_EXIST), 0);
        assert_eq!(o.update(map, &k(6), 60, BPF_NOEXIST), 0);
        assert_eq!(o.lookup(map, &k(4)), NOT_FOUND, "4 was evicted");
        assert_eq!(o.update(map, &k(6), 61, BPF_NOEXIST), EEXIST);
        assert_eq!(o.update(map, &k(7), 1, BPF_EXIST), ENOENT);
        assert_eq!(o.delete(map, &k(6)), 0);
        assert_eq!(o.delete(map, &k(6)), ENOENT);
        for vm in o.both(map) {
            let name = if map == LRU { "m_lru" } else { "m_lru_percpu" };
            let mut keys: Vec<u8> = vm
                .map(name)
                .unwrap()
                .entries()
                .iter()
                .map(|(key, _)| key[0])
                .collect();
            keys.sort_unstable();
            assert_eq!(keys, [1, 3, 5]);
        }
    }
}

#[test]
fn lpm_trie_longest_prefix_match() {
    let mut o = Ops::new();
    assert_eq!(o.update(LPM, &lpm(8, [10, 0, 0, 0]), 8, BPF_ANY), 0);
    assert_eq!(o.update(LPM, &lpm(24, [10, 1, 2, 0]), 24, BPF_ANY), 0);
    assert_eq!(o.update(LPM, &lpm(16, [10, 1, 0, 0]), 16, BPF_ANY), 0);
    assert_eq!(o.update(LPM, &lpm(33, [10, 1, 0, 0]), 1, BPF_ANY), EINVAL);
    assert_eq!(
        o.update(LPM, &lpm(16, [10, 1, 7, 7]), 1, BPF_NOEXIST),
        EEXIST
    );
    assert_eq!(o.lookup(LPM, &lpm(32, [10, 1, 2, 200])), 24);
    assert_eq!(o.lookup(LPM, &lpm(32, [10, 1, 3, 1])), 16);
    assert_eq!(o.lookup(LPM, &lpm(32, [10, 9, 9, 9])), 8);
    assert_eq!(o.lookup(LPM, &lpm(32, [11, 0, 0, 1])), NOT_FOUND);
    // the key's own prefix length bounds the match
    assert_eq!(o.lookup(LPM, &lpm(20, [10, 1, 2, 200])), 16);
    assert_eq!(o.update(LPM, &lpm(0, [0; 4]), 0, BPF_ANY), 0);
    assert_eq!(o.lookup(LPM, &lpm(32, [11, 0, 0, 1])), 0);
    // four entries: full (ENOSPC, as the kernel's trie)
    assert_eq!(o.update(LPM, &lpm(32, [1, 2, 3, 4]), 1, BPF_ANY), ENOSPC);
    assert_eq!(o.delete(LPM, &lpm(24, [10, 1, 2, 0])), 0);
    assert_eq!(o.delete(LPM, &lpm(24, [10, 1, 2, 0])), ENOENT);
    assert_eq!(o.lookup(LPM, &lpm(32, [10, 1, 2, 200])), 16);
    for vm in o.both(LPM) {
        let order: Vec<u8> = vm
            .map("m_lpm")
            .unwrap()
            .entries()
            .iter()
            .map(|(key, _)| key[0])
            .collect();
        assert_eq!(order, [16, 8, 0], "the kernel's trie order");
    }
}

#[test]
fn array_and_read_only_maps() {
    let mut o = Ops::new();
    assert_eq!(o.update(ARRAY, &k(4), 1, BPF_ANY), E2BIG);
    assert_eq!(o.update(ARRAY, &k(1), 1, BPF_NOEXIST), EEXIST);
    assert_eq!(o.update(ARRAY, &k(1), 3, BPF_EXIST), 0);
    assert_eq!(o.delete(ARRAY, &k(1)), EINVAL);
    assert_eq!(o.lookup(ARRAY, &k(1)), 3);
    // BPF_F_RDONLY_PROG: the host writes, programs only read
    for vm in o.both(RDONLY) {
        vm.map("m_rdonly")
            .unwrap()
            .update(&k(1), &9u64.to_le_bytes(), BPF_ANY)
            .unwrap();
    }
    assert_eq!(o.lookup(RDONLY, &k(1)), 9);
    assert_eq!(o.update(RDONLY, &k(1), 1, BPF_ANY), EPERM);
    assert_eq!(o.delete(RDONLY, &k(1)), EPERM);
}

#[test]
fn programs_chosen_by_function() {
    let obj = compile("maps_select");
    let err = Program::load_file(&obj, None).unwrap_err();
    match err.kind() {
        ErrorKind::AmbiguousSection { available } => {
            assert_eq!(available, &["ubpf/count_a", "ubpf/count_b"]);
        }
        k => panic!("{k:?}"),
    }
    let section = Program::load_file(&obj, Some("ubpf")).unwrap_err();
    assert!(
        matches!(section.kind(), ErrorKind::AmbiguousSection { .. }),
        "{section}"
    );
    for (name, verdict_) in [("ubpf/count_a", 10), ("count_b", 11), ("ubpf/count_b", 11)] {
        let prog = Program::load_file(&obj, Some(name)).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(prog.section(), "ubpf");
        let (mut int, mut jit) = vms(&prog);
        assert_eq!(verdict(&mut int, &mut jit, &[0; 4]), verdict_, "{name}");
    }
    let unknown = Program::load_file(&obj, Some("ubpf/nothere")).unwrap_err();
    assert!(
        unknown.to_string().contains("ubpf/count_a"),
        "lists the choices: {unknown}"
    );
}

#[test]
fn pinned_maps_are_shared_and_outlive_programs() {
    let obj = compile("maps_select");
    let pins = PinRegistry::new();
    let a = Program::load_file(&obj, Some("count_a")).unwrap();
    let b = Program::load_file(&obj, Some("count_b")).unwrap();
    let opts = VmOptions::default();
    let mut va = Vm::with_pins(a.clone(), Engine::Interpreter, opts.clone(), &pins, None).unwrap();
    let mut vb = Vm::with_pins(b, Engine::Jit(Trust::Trusted), opts.clone(), &pins, None).unwrap();
    assert_eq!(pins.names(), ["shared_counts"]);
    va.run(&mut [0; 4]).unwrap();
    vb.run(&mut [0; 4]).unwrap();
    vb.run(&mut [0; 4]).unwrap();
    let counts = |vm: &Vm| {
        let m = vm.map("shared_counts").unwrap();
        let v = |i: u32| u64::from_le_bytes(m.lookup(&k(i)).unwrap().try_into().unwrap());
        (v(0), v(1))
    };
    assert_eq!(counts(&va), (1, 2));
    assert_eq!(counts(&vb), (1, 2), "one map");
    // replaced and deleted programs: the pinned map lives on
    let va2 = Vm::with_pins(
        a.clone(),
        Engine::Interpreter,
        opts.clone(),
        &pins,
        Some(&mut va),
    )
    .unwrap();
    drop(va);
    drop(vb);
    assert_eq!(counts(&va2), (1, 2));
    drop(va2);
    let m = pins.get("shared_counts").unwrap();
    assert_eq!(m.lookup(&k(1)).unwrap(), 2u64.to_le_bytes());
    // another definition under the same name is refused
    let other = load("maps_pin_other");
    let Err(err) = Vm::with_pins(
        other.clone(),
        Engine::Interpreter,
        opts.clone(),
        &pins,
        None,
    ) else {
        panic!("a mismatching pinned map must be refused");
    };
    let err = err.to_string();
    assert!(
        err.contains(
            "map \"shared_counts\" is pinned with another definition: \
             max_entries is 2 in the pinned map, 8 here"
        ),
        "{err}"
    );
    // once unpinned, the name is free again
    assert!(pins.unpin("shared_counts"));
    Vm::with_pins(other, Engine::Interpreter, opts, &pins, None).unwrap();
    // without a registry, pinned maps are the program's own
    let lone = Vm::new(a, Engine::Interpreter).unwrap();
    assert_eq!(counts(&lone), (0, 0));
}

#[test]
fn rodata_set_by_the_host() {
    let obj = compile("maps_select");
    let mut prog = Program::load_file(&obj, Some("count_a")).unwrap();
    assert!(prog
        .globals()
        .iter()
        .any(|g| g.name == "step" && g.size == 8));
    prog.set_global("step", &5u64.to_le_bytes()).unwrap();
    let err = prog.set_global("step", &[0; 9]).unwrap_err().to_string();
    assert!(err.contains("is 8 bytes, not 9"), "{err}");
    assert!(prog.set_global("nothere", &[0]).is_err());
    let (mut int, mut jit) = vms(&prog);
    verdict(&mut int, &mut jit, &[0; 4]);
    for vm in [&int, &jit] {
        assert_eq!(
            vm.map("shared_counts").unwrap().lookup(&k(0)).unwrap(),
            5u64.to_le_bytes()
        );
        // frozen once loaded, as libbpf does
        let frozen = vm
            .map(".rodata")
            .unwrap()
            .update(&k(0), &1u64.to_le_bytes(), BPF_ANY)
            .unwrap_err();
        assert_eq!(frozen.errno(), -1, "{frozen}");
    }
}

fn events() -> (Program, Vm, Vm) {
    let prog = Program::load_file(&compile("maps_events"), Some("events"))
        .unwrap_or_else(|e| panic!("{e}"));
    let (int, jit) = vms(&prog);
    (prog, int, jit)
}

fn pkt(op: u8, arg: u8) -> Vec<u8> {
    vec![op, arg, 3, 4, 5, 6, 7, 8, 9, 10]
}

#[test]
fn ring_buffer_records_for_the_host() {
    let (_, mut int, mut jit) = events();
    assert_eq!(verdict(&mut int, &mut jit, &pkt(0, 1)), 0);
    assert_eq!(verdict(&mut int, &mut jit, &pkt(2, 0)), 0, "discarded");
    assert_eq!(verdict(&mut int, &mut jit, &pkt(1, 0)), 0);
    // 16 + 16 (discarded, still there) + 16 bytes
    assert_eq!(verdict(&mut int, &mut jit, &pkt(6, 0)), 48);
    for vm in [&int, &jit] {
        let rb = vm.map("rb").unwrap();
        assert_eq!(rb.len(), 2);
        assert_eq!(
            rb.drain_records(),
            [
                vec![0, 1, 3, 4, 5, 6, 7, 8],
                0x1122_3344u32.to_le_bytes().to_vec()
            ]
        );
        assert!(rb.is_empty());
    }
    // full: -EAGAIN (as in the kernel, 4096 bytes hold 255 records of
    // 16 bytes: the producer stays less than the size ahead)
    let results: Vec<u64> = (0..256).map(|_| int.run(&mut pkt(0, 0)).unwrap()).collect();
    assert!(results[..255].iter().all(|&r| r == 0));
    assert_eq!(results[255], (-11i64) as u64);
    assert_eq!(
        int.run(&mut pkt(1, 0)).unwrap(),
        (-2i64) as u64,
        "reserve fails"
    );
}

#[test]
fn perf_event_output_needs_the_hosts_entry() {
    let (_, mut int, mut jit) = events();
    // no perf buffer opened for CPU 0 yet: -ENOENT, as in the kernel
    assert_eq!(verdict(&mut int, &mut jit, &pkt(3, 0)), ENOENT);
    for vm in [&int, &jit] {
        vm.map("perf")
            .unwrap()
            .update(&k(0), &k(0), BPF_ANY)
            .unwrap();
    }
    assert_eq!(verdict(&mut int, &mut jit, &pkt(3, 9)), 0);
    for vm in [&int, &jit] {
        let perf = vm.map("perf").unwrap();
        assert_eq!(perf.def().max_entries, 1, "libbpf's default: one per CPU");
        assert_eq!(perf.pop_record().unwrap(), [3, 9, 3, 4, 5, 6, 7, 8]);
        assert_eq!(perf.pop_record(), None);
    }
}

#[test]
fn redirect_map_records_the_target() {
    let (_, mut int, mut jit) = events();
    assert_eq!(
        verdict(&mut int, &mut jit, &pkt(4, 3)),
        2,
        "no entry: XDP_PASS"
    );
    assert_eq!(int.last_redirect(), None);
    for vm in [&int, &jit] {
        let ports = vm.map("ports").unwrap();
        assert_eq!(ports.def().kind, MapKind::DevMap);
        ports
            .update(&k(3), &[7, 0, 0, 0, 0, 0, 0, 0], BPF_ANY)
            .unwrap();
        let err = ports
            .update(&k(4), &[7, 0, 0, 0, 1, 0, 0, 0], BPF_ANY)
            .unwrap_err();
        assert_eq!(err.errno(), -22, "no programs in devmap entries: {err}");
    }
    assert_eq!(verdict(&mut int, &mut jit, &pkt(4, 3)), 4, "XDP_REDIRECT");
    for vm in [&int, &jit] {
        let r = vm.last_redirect().unwrap();
        assert_eq!((r.key, r.ifindex), (Some(3), 7));
        assert_eq!(vm.program().maps()[r.map].name, "ports");
    }
}

#[test]
fn tail_calls_through_an_initialised_program_array() {
    let (prog, mut int, mut jit) = events();
    assert_eq!(
        prog.object_programs(),
        ["ubpf/leaf_a", "ubpf/leaf_b", "ubpf/events"]
    );
    let jumps = int.map_handle("jumps").unwrap();
    assert_eq!(jumps.def().kind, MapKind::ProgArray);
    assert_eq!(
        jumps.entries(),
        [
            (k(0).to_vec(), 0u32.to_le_bytes().to_vec()),
            (k(2).to_vec(), 1u32.to_le_bytes().to_vec())
        ]
    );
    // a missing entry: execution goes on after the call
    assert_eq!(verdict(&mut int, &mut jit, &pkt(5, 1)), 7);
    assert_eq!(int.last_tail_calls(), 0);
    // a present one: the program ends there and its target runs instead
    assert_eq!(verdict(&mut int, &mut jit, &pkt(5, 2)), 200, "leaf_b");
    assert_eq!(verdict(&mut int, &mut jit, &pkt(5, 0)), 100, "leaf_a");
    for vm in [&int, &jit] {
        assert_eq!(vm.last_tail_calls(), 1);
    }
    // the host empties a slot: the call fails and the program goes on
    jumps.delete(&k(2)).unwrap();
    assert_eq!(int.run(&mut pkt(5, 2)).unwrap(), 7);
    assert_eq!(
        jit.run(&mut pkt(5, 2)).unwrap(),
        200,
        "the JIT's Vm has its own map"
    );
    // the host fills one with a program index (of the object's programs)
    jumps.update(&k(1), &2u32.to_le_bytes(), 0).unwrap();
    // events again, which tail-calls slot byte 1 of the same packet: the
    // chain ends after 33 tail calls (the kernel's MAX_TAIL_CALL_CNT) with
    // the failed call's fallback
    assert_eq!(int.run(&mut pkt(5, 1)).unwrap(), 7);
    assert_eq!(int.last_tail_calls(), 33);
    // a program index the object does not have: the call fails
    jumps.update(&k(1), &9u32.to_le_bytes(), 0).unwrap();
    assert_eq!(int.run(&mut pkt(5, 1)).unwrap(), 7);
    assert_eq!(int.last_tail_calls(), 0);
}
