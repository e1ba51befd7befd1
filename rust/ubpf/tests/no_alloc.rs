// SPDX-License-Identifier: GPL-2.0-or-later

//! Runs do not allocate: a counting global allocator watches them.
//!
//! Beyond plain programs: programs using each map type the engine has
//! (lookups, updates from the program, deletions, LRU eviction, the LPM
//! trie, tail calls through program arrays, devmap redirects, ring
//! buffer and perf event records) and the packet helpers, on the four
//! ways a program runs (interpreter and JIT, with and without a proof).
//! Each case runs once to warm up, then [`ROUNDS`] times with the runs'
//! allocations counted (the host's map operations between runs are not
//! counted: they may allocate); each also checks what the program did
//! (verdicts, packets, map contents, records), so that a program that
//! silently does nothing does not pass.

mod common;

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use common::maps::{ipv4 as ip_header, lpm_key as lpm, u64_value};
use common::{compile, ether, ipv4, ipv6, load, ports, vms};
use ubpf::maps::{BPF_ANY, BPF_EXIST, BPF_NOEXIST};
use ubpf::{
    Engine, Packet, PacketMeta, Program, RedirectTarget, Trust, VerifyOptions, Vm, VmOptions,
    JIT_AVAILABLE,
};

struct Counting;

thread_local! {
    static COUNT: Cell<usize> = const { Cell::new(0) };
}

// SAFETY: forwards to the system allocator; counting has no effect on the
// returned memory.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let _ = COUNT.try_with(|c| c.set(c.get() + 1));
        // SAFETY: same contract as the caller's.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: same contract as the caller's.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let _ = COUNT.try_with(|c| c.set(c.get() + 1));
        // SAFETY: same contract as the caller's.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn allocations() -> usize {
    COUNT.with(Cell::get)
}

#[test]
fn runs_do_not_allocate() {
    // the counter works
    let b = allocations();
    drop(std::hint::black_box(vec![0u8; 10]));
    assert!(allocations() > b);

    let mut frames = vec![
        ether(
            0x0800,
            &[],
            &ipv4(6, [1, 2, 3, 4], [5, 6, 7, 8], &ports(9, 80, 20)),
        ),
        ether(
            0x0800,
            &[0x8100],
            &ipv4(17, [1, 2, 3, 4], [5, 6, 7, 8], &ports(9, 99, 8)),
        ),
        ether(0x0806, &[], &[0; 28]),
        vec![0xff; 60],
        Vec::new(),
    ];
    for name in ["port_allow_eth", "arp_only", "call", "helpers"] {
        let prog = load(name);
        let (mut int, mut jit) = vms(&prog);
        for vm in [&mut int, &mut jit] {
            // warm up (lazy initialisation in helpers, if any)
            for f in &mut frames {
                vm.run(f).unwrap();
            }
            let before = allocations();
            let mut sum = 0u64;
            for _ in 0..100 {
                for f in &mut frames {
                    sum = sum.wrapping_add(vm.run(f).unwrap());
                }
            }
            let after = allocations();
            assert_eq!(
                after - before,
                0,
                "{name}: runs allocated (jit {})",
                vm.is_jit()
            );
            assert!(sum < 10_000);
        }
    }
}

// ---- every map type, tail calls and the packet helpers ----

/// Counted rounds of each case, after one round of warm-up.
const ROUNDS: usize = 20;
/// Rounds run in all (warm-up included), for the counts programs keep.
const ALL_ROUNDS: u64 = ROUNDS as u64 + 1;

const XDP_DROP: u64 = 1;
const XDP_PASS: u64 = 2;
const XDP_TX: u64 = 3;
const XDP_REDIRECT: u64 = 4;
const ENOENT: u64 = (-2i64) as u64;
const E2BIG: u64 = (-7i64) as u64;
const EFAULT: u64 = (-14i64) as u64;
const EINVAL: u64 = (-22i64) as u64;
const NOT_FOUND: u64 = 0xdead;

/// The runs made through it: how many, and what they allocated.
#[derive(Default)]
struct Meter {
    allocs: usize,
    runs: usize,
}

impl Meter {
    /// `vm.run(pkt)` (raw convention), its allocations counted.
    fn run(&mut self, vm: &mut Vm, pkt: &mut [u8]) -> u64 {
        let before = allocations();
        let r = vm.run(pkt);
        self.allocs += allocations() - before;
        self.runs += 1;
        r.unwrap_or_else(|e| panic!("run: {e}"))
    }

    /// `frame` copied into `pkt` (not counted), then `vm.run_packet`,
    /// its allocations counted; r0.
    fn run_packet(&mut self, vm: &mut Vm, pkt: &mut Packet, frame: &[u8]) -> u64 {
        pkt.set(frame);
        let before = allocations();
        let r = vm.run_packet(pkt, &PacketMeta::default());
        self.allocs += allocations() - before;
        self.runs += 1;
        r.unwrap_or_else(|e| panic!("run: {e}")).r0
    }

    /// [`Meter::run_packet`] for a socket filter, which the filter runs
    /// on the packet from its network header on.
    fn run_socket(&mut self, vm: &mut Vm, pkt: &mut Packet, frame: &[u8]) -> u64 {
        pkt.set(frame);
        assert!(pkt.pull(14));
        let before = allocations();
        let r = vm.run_packet(pkt, &PacketMeta::default());
        self.allocs += allocations() - before;
        self.runs += 1;
        r.unwrap_or_else(|e| panic!("run: {e}")).r0
    }
}

/// Which of the four ways to run a program.
#[derive(Clone, Copy)]
enum Ways {
    /// Interpreter and JIT, with a proof (for packets of at least this
    /// many bytes) and without.
    All(usize),
    /// With a proof only (programs with loops).
    Proven(usize),
    /// Without (programs the verifier refuses: `maps_events` passes
    /// packet memory to the ring buffer and perf helpers).
    Unproven,
}

/// `prog`'s Vms, named, the ways `ways` says.
fn engines(prog: &Program, ways: Ways) -> Vec<(&'static str, Vm)> {
    let convention = prog.prog_type().convention();
    let mut out = Vec::new();
    if let Ways::All(min_len) | Ways::Proven(min_len) = ways {
        let policy = VerifyOptions {
            convention,
            min_len,
        };
        let proof = ubpf::verify(prog, &policy).unwrap_or_else(|e| panic!("verify: {e}"));
        let with = |engine| {
            let opts = VmOptions {
                convention,
                proof: Some(proof.clone()),
            };
            Vm::with_options(prog.clone(), engine, opts).unwrap_or_else(|e| panic!("{e}"))
        };
        out.push(("verified interpreter", with(Engine::Interpreter)));
        let jit = Engine::Jit(Trust::Verified(proof.clone()));
        out.push(("verified jit", with(jit)));
    }
    if !matches!(ways, Ways::Proven(_)) {
        let (int, jit) = vms(prog);
        out.push(("interpreter", int));
        out.push(("trusted jit", jit));
    }
    out
}

/// Run `round` with each of `vms`: once to warm up, then [`ROUNDS`]
/// times counting the allocations of the runs, which must be none.
fn no_alloc(
    what: &str,
    vms: &mut [(&'static str, Vm)],
    mut round: impl FnMut(&mut Meter, &mut Vm),
) {
    let jits = vms.iter().filter(|(_, vm)| vm.is_jit()).count();
    let want = if JIT_AVAILABLE { vms.len() / 2 } else { 0 };
    assert_eq!(jits, want, "{what}: as many JIT as interpreter runs");
    for (engine, vm) in vms.iter_mut() {
        round(&mut Meter::default(), vm);
        let mut m = Meter::default();
        for _ in 0..ROUNDS {
            round(&mut m, vm);
        }
        assert!(m.runs >= ROUNDS, "{what} on the {engine}: {} runs", m.runs);
        assert_eq!(
            m.allocs, 0,
            "{what} on the {engine}: {} allocations in {} runs",
            m.allocs, m.runs
        );
    }
}

/// Function `function` of the object compiled from `name`.
fn function(name: &str, function: &str) -> Program {
    Program::load_file(&compile(name), Some(function)).unwrap_or_else(|e| panic!("{e}"))
}

/// The u64 at `key` (a u32) of `vm`'s map `map`.
fn counter(vm: &Vm, map: &str, key: u32) -> u64 {
    u64_value(vm, map, &key.to_le_bytes())
}

/// An IPv4 UDP frame from 10.0.0.1:40000 to `dst`:`dport` carrying
/// `payload`.
fn udp_to(dst: [u8; 4], dport: u16, payload: &[u8]) -> Vec<u8> {
    let mut l4 = ports(40000, dport, 8);
    l4[4..6].copy_from_slice(&u16::try_from(8 + payload.len()).unwrap().to_be_bytes());
    l4.extend_from_slice(payload);
    ether(0x0800, &[], &ipv4(17, [10, 0, 0, 1], dst, &l4))
}

/// The command packet of `maps_ops.bpf.c` (see `tests/map_types.rs`).
fn cmd(op: u8, flags: u64, key: &[u8], value: u64) -> Vec<u8> {
    let mut p = vec![0u8; 24];
    p[0] = op;
    p[2] = u8::try_from(flags).unwrap();
    p[8..8 + key.len()].copy_from_slice(key);
    p[16..24].copy_from_slice(&value.to_le_bytes());
    p
}

fn lookup(m: &mut Meter, vm: &mut Vm, key: &[u8]) -> u64 {
    m.run(vm, &mut cmd(0, 0, key, 0))
}

fn update(m: &mut Meter, vm: &mut Vm, key: &[u8], value: u64, flags: u64) -> u64 {
    m.run(vm, &mut cmd(1, flags, key, value))
}

fn delete(m: &mut Meter, vm: &mut Vm, key: &[u8]) -> u64 {
    m.run(vm, &mut cmd(2, 0, key, 0))
}

fn k(n: u32) -> [u8; 4] {
    n.to_le_bytes()
}

/// The keys (first byte) and u64 values of `vm`'s map `map`, by key.
fn contents(vm: &Vm, map: &str) -> Vec<(u8, u64)> {
    let mut all: Vec<(u8, u64)> = vm
        .map(map)
        .unwrap()
        .entries()
        .iter()
        .map(|(key, v)| (key[0], u64::from_le_bytes(v[..8].try_into().unwrap())))
        .collect();
    all.sort_unstable();
    all
}

#[test]
fn hash_lookups_do_not_allocate() {
    // filled by the host: the program counts the hits of blocked sources
    let mut vms = engines(&load("maps_blocklist"), Ways::All(20));
    let (bad, good) = ([192, 0, 2, 7], [192, 0, 2, 8]);
    for (_, vm) in &vms {
        vm.map("blocked")
            .unwrap()
            .update(&bad, &0u64.to_le_bytes(), BPF_NOEXIST)
            .unwrap();
    }
    let (mut b, mut g) = (ip_header(bad, 6), ip_header(good, 6));
    no_alloc("hash lookup (maps_blocklist)", &mut vms, |m, vm| {
        assert_eq!(m.run(vm, &mut b), 1);
        assert_eq!(m.run(vm, &mut g), 0);
    });
    for (engine, vm) in &vms {
        assert_eq!(u64_value(vm, "blocked", &bad), ALL_ROUNDS, "{engine}");
        assert_eq!(vm.map("blocked").unwrap().len(), 1, "{engine}");
    }
}

#[test]
fn hash_updates_until_full_do_not_allocate() {
    // filled by the program, up to full: a token bucket per source
    let mut vms = engines(&load("maps_ratelimit"), Ways::All(20));
    no_alloc("hash update (maps_ratelimit)", &mut vms, |m, vm| {
        // an empty table each round (the host's deletions)
        let buckets = vm.map_handle("buckets").unwrap();
        for (key, _) in buckets.entries() {
            buckets.delete(&key).unwrap();
        }
        for last in 1..=4 {
            assert_eq!(m.run(vm, &mut ip_header([10, 1, 1, last], 17)), 0, "new");
        }
        // the fifth source does not fit (E2BIG): dropped
        assert_eq!(m.run(vm, &mut ip_header([10, 1, 1, 5], 17)), 1, "full");
        // a burst of 3 for the first source, then drops
        let mut first = ip_header([10, 1, 1, 1], 17);
        assert_eq!(m.run(vm, &mut first), 0);
        assert_eq!(m.run(vm, &mut first), 0);
        assert_eq!(m.run(vm, &mut first), 1, "no tokens left");
        assert_eq!(buckets.len(), 4);
        let v = buckets.lookup(&[10, 1, 1, 1]).unwrap();
        assert_eq!(u64::from_le_bytes(v[8..16].try_into().unwrap()), 0);
    });
}

#[test]
fn array_does_not_allocate() {
    let mut vms = engines(&load("maps_counter"), Ways::All(20));
    let (mut tcp, mut udp) = (ip_header([10, 0, 0, 9], 6), ip_header([10, 0, 0, 9], 17));
    no_alloc("array (maps_counter)", &mut vms, |m, vm| {
        assert_eq!(m.run(vm, &mut tcp), 0);
        assert_eq!(m.run(vm, &mut tcp), 0);
        assert_eq!(m.run(vm, &mut udp), 0);
    });
    for (engine, vm) in &vms {
        assert_eq!(counter(vm, "proto_count", 6), 2 * ALL_ROUNDS, "{engine}");
        assert_eq!(counter(vm, "proto_count", 17), ALL_ROUNDS, "{engine}");
        assert_eq!(counter(vm, "proto_count", 1), 0, "{engine}");
    }
}

#[test]
fn percpu_array_does_not_allocate() {
    // per-CPU array: frames counted by EtherType
    let mut vms = engines(&function("qtest-maps3", "count_types"), Ways::All(14));
    let ip = udp_to([10, 0, 0, 2], 53, &[0; 4]);
    let arp = ether(0x0806, &[], &[0; 28]);
    let other = ether(0x86dd, &[], &ipv6(59, [1; 16], [2; 16], &[]));
    let mut pkt = Packet::default();
    no_alloc("percpu_array (count_types)", &mut vms, |m, vm| {
        assert_eq!(m.run_packet(vm, &mut pkt, &ip), XDP_PASS);
        assert_eq!(m.run_packet(vm, &mut pkt, &arp), XDP_PASS);
        assert_eq!(m.run_packet(vm, &mut pkt, &arp), XDP_PASS);
        assert_eq!(m.run_packet(vm, &mut pkt, &other), XDP_PASS);
    });
    for (engine, vm) in &vms {
        let counts: Vec<u64> = (0..3).map(|t| counter(vm, "type_count", t)).collect();
        assert_eq!(
            counts,
            [ALL_ROUNDS, 2 * ALL_ROUNDS, ALL_ROUNDS],
            "{engine}: IPv4, ARP, other"
        );
    }
}

#[test]
fn percpu_hash_helpers_do_not_allocate() {
    // the helpers' semantics from the program: insert, update, full,
    // delete
    let mut vms = engines(&function("maps_ops", "ops_percpu_hash"), Ways::All(0));
    no_alloc("percpu_hash (ops_percpu_hash)", &mut vms, |m, vm| {
        assert_eq!(update(m, vm, &k(1), 5, BPF_NOEXIST), 0);
        assert_eq!(lookup(m, vm, &k(1)), 5);
        assert_eq!(update(m, vm, &k(1), 6, BPF_EXIST), 0);
        assert_eq!(lookup(m, vm, &k(1)), 6);
        for n in 2..=4 {
            assert_eq!(update(m, vm, &k(n), u64::from(n), BPF_ANY), 0);
        }
        assert_eq!(update(m, vm, &k(9), 9, BPF_ANY), E2BIG, "full");
        assert_eq!(vm.map("m_percpu_hash").unwrap().len(), 4);
        for n in 1..=4 {
            assert_eq!(delete(m, vm, &k(n)), 0);
        }
        assert_eq!(delete(m, vm, &k(1)), ENOENT);
        assert_eq!(lookup(m, vm, &k(1)), NOT_FOUND);
        assert!(vm.map("m_percpu_hash").unwrap().is_empty());
    });
}

#[test]
fn percpu_hash_counts_do_not_allocate() {
    // lookup, else insert: packets per UDP port
    let mut vms = engines(&function("qtest-maps3", "count_ports"), Ways::All(14));
    let (dns, ntp) = (
        udp_to([10, 0, 0, 2], 53, &[1]),
        udp_to([10, 0, 0, 2], 123, &[2]),
    );
    let mut pkt = Packet::default();
    no_alloc("percpu_hash (count_ports)", &mut vms, |m, vm| {
        assert_eq!(m.run_packet(vm, &mut pkt, &dns), XDP_PASS);
        assert_eq!(m.run_packet(vm, &mut pkt, &dns), XDP_PASS);
        assert_eq!(m.run_packet(vm, &mut pkt, &ntp), XDP_PASS);
    });
    for (engine, vm) in &vms {
        assert_eq!(counter(vm, "port_count", 53), 2 * ALL_ROUNDS, "{engine}");
        assert_eq!(counter(vm, "port_count", 123), ALL_ROUNDS, "{engine}");
        assert_eq!(vm.map("port_count").unwrap().len(), 2, "{engine}");
    }
}

#[test]
fn lru_hash_eviction_does_not_allocate() {
    // six keys through four entries: every insertion evicts; BPF_NOEXIST
    // succeeds only because the key was evicted before
    for (func, map) in [("ops_lru", "m_lru"), ("ops_lru_percpu", "m_lru_percpu")] {
        let mut vms = engines(&function("maps_ops", func), Ways::All(0));
        no_alloc(func, &mut vms, |m, vm| {
            for n in 1..=6 {
                assert_eq!(update(m, vm, &k(n), u64::from(n) * 10, BPF_NOEXIST), 0);
            }
            assert_eq!(lookup(m, vm, &k(6)), 60);
            assert_eq!(lookup(m, vm, &k(1)), NOT_FOUND, "evicted");
            assert_eq!(
                contents(vm, map),
                [(3, 30), (4, 40), (5, 50), (6, 60)],
                "the four most recent"
            );
        });
    }
}

#[test]
fn lru_hash_flows_do_not_allocate() {
    // packets per destination, the four most recent (both LRU maps)
    let mut vms = engines(&function("qtest-maps3", "lru_flows"), Ways::All(14));
    let frames: Vec<Vec<u8>> = (1..=6).map(|n| udp_to([10, 0, 0, n], 9, &[n])).collect();
    let mut pkt = Packet::default();
    no_alloc(
        "lru_hash, lru_percpu_hash (lru_flows)",
        &mut vms,
        |m, vm| {
            for f in &frames {
                assert_eq!(m.run_packet(vm, &mut pkt, f), XDP_PASS);
            }
            // each destination was evicted before it came again: counted once
            for map in ["flows", "flows_pc"] {
                assert_eq!(contents(vm, map), [(3, 1), (4, 1), (5, 1), (6, 1)], "{map}");
            }
        },
    );
}

#[test]
fn lpm_trie_updates_from_the_program_do_not_allocate() {
    // inserted, matched and deleted by the program (the kernel's
    // lpm_trie takes updates from programs)
    let mut vms = engines(&function("maps_ops", "ops_lpm"), Ways::All(0));
    no_alloc("lpm_trie (ops_lpm)", &mut vms, |m, vm| {
        assert_eq!(update(m, vm, &lpm(8, [10, 0, 0, 0]), 8, BPF_NOEXIST), 0);
        assert_eq!(update(m, vm, &lpm(24, [10, 1, 2, 0]), 24, BPF_NOEXIST), 0);
        assert_eq!(lookup(m, vm, &lpm(32, [10, 1, 2, 200])), 24);
        assert_eq!(lookup(m, vm, &lpm(32, [10, 9, 9, 9])), 8);
        assert_eq!(lookup(m, vm, &lpm(32, [11, 0, 0, 1])), NOT_FOUND);
        assert_eq!(vm.map("m_lpm").unwrap().len(), 2);
        assert_eq!(delete(m, vm, &lpm(24, [10, 1, 2, 0])), 0);
        assert_eq!(lookup(m, vm, &lpm(32, [10, 1, 2, 200])), 8);
        assert_eq!(delete(m, vm, &lpm(8, [10, 0, 0, 0])), 0);
        assert_eq!(lookup(m, vm, &lpm(32, [10, 1, 2, 200])), NOT_FOUND);
    });
}

#[test]
fn lpm_trie_lookups_do_not_allocate() {
    // filled by the host, the longest prefix decides
    let mut vms = engines(&function("qtest-maps3", "subnet_block"), Ways::Proven(14));
    for (_, vm) in &vms {
        let subnets = vm.map("subnets").unwrap();
        subnets
            .update(&lpm(24, [10, 0, 2, 0]), &k(1), BPF_ANY)
            .unwrap();
        subnets
            .update(&lpm(32, [10, 0, 2, 2]), &k(0), BPF_ANY)
            .unwrap();
    }
    let frames = [
        (udp_to([10, 0, 2, 3], 9, &[]), XDP_DROP),
        (udp_to([10, 0, 2, 2], 9, &[]), XDP_PASS),
        (udp_to([10, 0, 3, 3], 9, &[]), XDP_PASS),
    ];
    let mut pkt = Packet::default();
    no_alloc("lpm_trie (subnet_block)", &mut vms, |m, vm| {
        for (f, want) in &frames {
            assert_eq!(m.run_packet(vm, &mut pkt, f), *want);
        }
    });
}

#[test]
fn tail_calls_do_not_allocate() {
    // tc: one tail call per frame to a target of the frame's type
    let mut vms = engines(&function("tail_call", "dispatch"), Ways::All(14));
    let udp = udp_to([10, 0, 0, 2], 9, &[0; 4]);
    let v6 = ether(0x86dd, &[], &ipv6(59, [1; 16], [2; 16], &[]));
    let arp = ether(0x0806, &[], &[0; 28]);
    let mut pkt = Packet::default();
    no_alloc("prog_array (dispatch)", &mut vms, |m, vm| {
        assert_eq!(m.run_packet(vm, &mut pkt, &udp), 0x400 + 17 + 0x55);
        assert_eq!(vm.last_tail_calls(), 1);
        assert_eq!(pkt.data()[0], 0x44, "to_ipv4 wrote the packet");
        assert_eq!(m.run_packet(vm, &mut pkt, &v6), 0x600 + 0x55);
        assert_eq!(vm.last_tail_calls(), 1);
        assert_eq!(m.run_packet(vm, &mut pkt, &arp), 99, "empty slot");
        assert_eq!(vm.last_tail_calls(), 0);
    });
    for (engine, vm) in &vms {
        assert_eq!(counter(vm, "seen", 0), ALL_ROUNDS, "{engine}: to_ipv4");
        assert_eq!(counter(vm, "seen", 1), ALL_ROUNDS, "{engine}: to_ipv6");
    }
}

#[test]
fn tail_call_chains_do_not_allocate() {
    // a chain: 33 tail calls, the limit
    let udp = udp_to([10, 0, 0, 2], 9, &[0; 4]);
    let mut vms = engines(&function("tail_call", "again"), Ways::All(14));
    let mut pkt = Packet::default();
    no_alloc("prog_array chain (again)", &mut vms, |m, vm| {
        assert_eq!(m.run_packet(vm, &mut pkt, &udp), 0x1000 + 34);
        assert_eq!(vm.last_tail_calls(), 33);
    });
}

#[test]
fn tail_calls_raw_convention_do_not_allocate() {
    // raw convention, slots initialised in the object
    let mut vms = engines(&function("maps_events", "events"), Ways::Unproven);
    no_alloc("prog_array (events)", &mut vms, |m, vm| {
        assert_eq!(m.run(vm, &mut [5, 0, 0, 0, 0, 0, 0, 0]), 100, "leaf_a");
        assert_eq!(m.run(vm, &mut [5, 2, 0, 0, 0, 0, 0, 0]), 200, "leaf_b");
        assert_eq!(m.run(vm, &mut [5, 1, 0, 0, 0, 0, 0, 0]), 7, "empty slot");
    });
}

#[test]
fn tail_calls_xdp_do_not_allocate() {
    // XDP, the slot from the UDP destination port
    let mut vms = engines(&function("qtest-maps3", "tail_dispatch"), Ways::Proven(14));
    let frames = [
        (udp_to([10, 0, 0, 2], 0x100, &[]), XDP_DROP),
        (udp_to([10, 0, 0, 2], 1, &[]), XDP_PASS),
        (udp_to([10, 0, 0, 2], 2, &[]), XDP_TX),
    ];
    let mut pkt = Packet::default();
    no_alloc("prog_array (tail_dispatch)", &mut vms, |m, vm| {
        for (f, want) in &frames {
            assert_eq!(m.run_packet(vm, &mut pkt, f), *want);
        }
        assert_eq!(vm.last_tail_calls(), 0, "the last slot is empty");
    });
}

#[test]
fn devmap_redirects_do_not_allocate() {
    // devmap, raw convention
    let mut vms = engines(&function("maps_events", "events"), Ways::Unproven);
    for (_, vm) in &vms {
        vm.map("ports")
            .unwrap()
            .update(&k(3), &[7, 0, 0, 0, 0, 0, 0, 0], BPF_ANY)
            .unwrap();
    }
    no_alloc("devmap (events)", &mut vms, |m, vm| {
        assert_eq!(m.run(vm, &mut [4, 3, 0, 0, 0, 0, 0, 0]), XDP_REDIRECT);
        let r = vm.last_redirect().expect("a redirect");
        assert_eq!((r.key, r.ifindex), (Some(3), 7));
        assert_eq!(
            m.run(vm, &mut [4, 5, 0, 0, 0, 0, 0, 0]),
            XDP_PASS,
            "no entry"
        );
        assert_eq!(vm.last_redirect(), None);
    });
}

#[test]
fn devmap_hash_redirects_do_not_allocate() {
    // devmap_hash, XDP
    let mut vms = engines(&function("qtest-maps3", "port_redirect"), Ways::All(14));
    for (_, vm) in &vms {
        vm.map("port_dev")
            .unwrap()
            .update(&k(53), &k(9), BPF_ANY)
            .unwrap();
    }
    let (dns, other) = (
        udp_to([10, 0, 0, 2], 53, &[]),
        udp_to([10, 0, 0, 2], 54, &[]),
    );
    let mut pkt = Packet::default();
    no_alloc("devmap_hash (port_redirect)", &mut vms, |m, vm| {
        assert_eq!(m.run_packet(vm, &mut pkt, &dns), XDP_REDIRECT);
        let r = vm.last_redirect().expect("a redirect");
        assert_eq!((r.key, r.ifindex), (Some(53), 9));
        assert_eq!(m.run_packet(vm, &mut pkt, &other), XDP_PASS, "no entry");
    });
}

#[test]
fn xdp_redirects_do_not_allocate() {
    // devmap and bpf_redirect in one XDP program
    let mut vms = engines(&function("qtest-verdicts", "xdp_actions"), Ways::All(14));
    for (_, vm) in &vms {
        vm.map("ports")
            .unwrap()
            .update(&k(0), &k(3), BPF_ANY)
            .unwrap();
    }
    let (to_map, to_if) = (udp_to([10, 0, 0, 2], 5, &[]), udp_to([10, 0, 0, 2], 6, &[]));
    let mut pkt = Packet::default();
    no_alloc("devmap, bpf_redirect (xdp_actions)", &mut vms, |m, vm| {
        assert_eq!(m.run_packet(vm, &mut pkt, &to_map), XDP_REDIRECT);
        assert_eq!(vm.last_redirect().map(|r| r.ifindex), Some(3));
        assert_eq!(m.run_packet(vm, &mut pkt, &to_if), XDP_REDIRECT);
        assert_eq!(
            vm.last_target(),
            Some(RedirectTarget::Ifindex {
                ifindex: 2,
                flags: 0
            })
        );
    });
}

#[test]
fn ring_buffer_raw_convention_does_not_allocate() {
    // output, reserve and submit, reserve and discard, query
    let mut vms = engines(&function("maps_events", "events"), Ways::Unproven);
    no_alloc("ringbuf (events)", &mut vms, |m, vm| {
        assert_eq!(m.run(vm, &mut [0, 1, 2, 3, 4, 5, 6, 7]), 0);
        assert_eq!(m.run(vm, &mut [1, 0, 0, 0, 0, 0, 0, 0]), 0);
        assert_eq!(m.run(vm, &mut [2, 0, 0, 0, 0, 0, 0, 0]), 0);
        // three records of 16 bytes, the discarded one included
        assert_eq!(m.run(vm, &mut [6, 0, 0, 0, 0, 0, 0, 0]), 48);
        assert_eq!(
            vm.map("rb").unwrap().drain_records(),
            [
                vec![0, 1, 2, 3, 4, 5, 6, 7],
                0x1122_3344u32.to_le_bytes().to_vec()
            ]
        );
    });
}

#[test]
fn ring_buffer_does_not_allocate() {
    // the same, proven (XDP): output, reserve and submit, reserve and
    // discard, query
    let mut vms = engines(&load("kernel_ringbuf"), Ways::All(14));
    let op = |op: u8, arg: u8| {
        let mut f = ether(0x0800, &[], &[0; 34]);
        f[14] = op;
        f[15] = arg;
        f[16..].iter_mut().zip(1..).for_each(|(b, i)| *b = i);
        f
    };
    let (output, submit, discard, avail) = (op(0, 5), op(2, 0), op(3, 0), op(7, 0));
    let (bad_flags, too_big) = (op(1, 4), op(6, 0));
    let mut pkt = Packet::default();
    no_alloc("ringbuf (kernel_ringbuf)", &mut vms, |m, vm| {
        assert_eq!(m.run_packet(vm, &mut pkt, &output), 0);
        assert_eq!(m.run_packet(vm, &mut pkt, &submit), 0);
        assert_eq!(m.run_packet(vm, &mut pkt, &discard), 0);
        assert_eq!(m.run_packet(vm, &mut pkt, &bad_flags), EINVAL);
        assert_eq!(m.run_packet(vm, &mut pkt, &too_big), (-2i64) as u64);
        // 16 + 24 + 24 bytes, the discarded record included
        assert_eq!(m.run_packet(vm, &mut pkt, &avail), 64);
        assert_eq!(
            vm.map("rb").unwrap().drain_records(),
            [vec![1, 2, 3, 4, 5], (1..=12).collect::<Vec<u8>>()]
        );
    });
}

#[test]
fn ring_buffer_output_from_xdp_does_not_allocate() {
    // bpf_ringbuf_output from XDP
    let mut vms = engines(&function("qtest-verdicts", "xdp_actions"), Ways::All(14));
    let frame = udp_to([10, 0, 0, 2], 9, &[0xca, 0xfe, 0xf0, 0x0d]);
    let mut pkt = Packet::default();
    no_alloc("ringbuf (xdp_actions)", &mut vms, |m, vm| {
        assert_eq!(m.run_packet(vm, &mut pkt, &frame), XDP_PASS);
        assert_eq!(
            vm.map("events").unwrap().drain_records(),
            [vec![0xca, 0xfe, 0xf0, 0x0d]]
        );
    });
}

#[test]
fn perf_event_output_raw_convention_does_not_allocate() {
    let mut vms = engines(&function("maps_events", "events"), Ways::Unproven);
    for (_, vm) in &vms {
        vm.map("perf")
            .unwrap()
            .update(&k(0), &k(0), BPF_ANY)
            .unwrap();
    }
    no_alloc("perf_event_array (events)", &mut vms, |m, vm| {
        assert_eq!(m.run(vm, &mut [3, 9, 8, 7, 6, 5, 4, 3]), 0);
        let perf = vm.map("perf").unwrap();
        assert_eq!(perf.pop_record().unwrap(), [3, 9, 8, 7, 6, 5, 4, 3]);
        assert_eq!(perf.pop_record(), None);
    });
}

#[test]
fn perf_event_output_does_not_allocate() {
    // the same, proven (XDP): data alone, data and the packet's start
    let mut vms = engines(&load("kernel_perf"), Ways::Proven(14));
    for (_, vm) in &vms {
        vm.map("perf")
            .unwrap()
            .update(&k(0), &k(0), BPF_ANY)
            .unwrap();
    }
    let op = |op: u8, arg: u8| {
        let mut f = ether(0x0800, &[], &[0; 34]);
        f[14] = op;
        f[15] = arg;
        f[16..].iter_mut().zip(1..).for_each(|(b, i)| *b = i);
        f
    };
    let (data, with_packet) = (op(0, 3), op(1, 2));
    let (no_entry, past_end, bad_flags) = (op(2, 1), op(3, 0), op(4, 0));
    let mut pkt = Packet::default();
    no_alloc("perf_event_array (kernel_perf)", &mut vms, |m, vm| {
        assert_eq!(m.run_packet(vm, &mut pkt, &data), 0);
        assert_eq!(m.run_packet(vm, &mut pkt, &with_packet), 0);
        assert_eq!(m.run_packet(vm, &mut pkt, &no_entry), E2BIG, "index 1");
        assert_eq!(m.run_packet(vm, &mut pkt, &past_end), EFAULT);
        assert_eq!(m.run_packet(vm, &mut pkt, &bad_flags), EINVAL);
        assert_eq!(
            vm.map("perf").unwrap().drain_records(),
            [vec![1, 2, 3], vec![1, 2, 3, 4, 5, 6, 7, 8, 0x52, 0x54]]
        );
    });
}

#[test]
fn perf_event_output_with_packet_bytes_does_not_allocate() {
    // with the frame's first 6 bytes (BPF_F_CTXLEN_MASK), from XDP
    let mut vms = engines(&function("qtest-maps3", "perf_payload"), Ways::Proven(14));
    for (_, vm) in &vms {
        vm.map("perf")
            .unwrap()
            .update(&k(0), &k(0), BPF_ANY)
            .unwrap();
    }
    let frame = udp_to([10, 0, 0, 2], 9, &[0xde, 0xad, 0xbe, 0xef]);
    let mut record = vec![0xde, 0xad, 0xbe, 0xef];
    record.extend_from_slice(&frame[..6]);
    let mut pkt = Packet::default();
    no_alloc("perf_event_array (perf_payload)", &mut vms, |m, vm| {
        assert_eq!(m.run_packet(vm, &mut pkt, &frame), XDP_PASS);
        assert_eq!(counter(vm, "perf_ret", 0), 0, "bpf_perf_event_output");
        assert_eq!(vm.map("perf").unwrap().drain_records(), [record.clone()]);
    });
}

/// The one's complement sum of `bytes` as big-endian 16-bit words (an odd
/// last byte padded), folded to 16 bits, from `sum`.
fn ones_sum(bytes: &[u8], sum: u32) -> u16 {
    let mut s = bytes.chunks(2).fold(sum, |s, w| {
        s + u32::from(u16::from_be_bytes([w[0], w.get(1).copied().unwrap_or(0)]))
    });
    while s >> 16 != 0 {
        s = (s & 0xffff) + (s >> 16);
    }
    s as u16
}

/// The sum of the IPv4 pseudo-header and the L4 segment of `frame`.
fn l4_sum(frame: &[u8]) -> u16 {
    let l4 = &frame[34..];
    let len = u32::try_from(l4.len()).unwrap();
    let pseudo = ones_sum(&frame[26..34], u32::from(frame[23]) + len);
    ones_sum(l4, u32::from(pseudo))
}

/// `frame` (IPv4, UDP or TCP) with correct checksums; with `udp_none`, a
/// UDP checksum of 0 (none sent).
fn checksummed(mut frame: Vec<u8>, udp_none: bool) -> Vec<u8> {
    frame[24..26].fill(0);
    let ip = !ones_sum(&frame[14..34], 0);
    frame[24..26].copy_from_slice(&ip.to_be_bytes());
    let at = if frame[23] == 17 { 40 } else { 50 };
    frame[at..at + 2].fill(0);
    if !(udp_none && frame[23] == 17) {
        let l4 = !l4_sum(&frame);
        frame[at..at + 2].copy_from_slice(&l4.to_be_bytes());
    }
    frame
}

#[test]
fn xdp_adjust_meta_and_head_do_not_allocate() {
    // bpf_xdp_adjust_meta (grow, shrink, an odd size refused) and
    // bpf_xdp_adjust_head (the metadata moves with the packet)
    let mut vms = engines(&load("verifier/xdp_meta"), Ways::All(14));
    let frames: Vec<Vec<u8>> = [[2u8, 2, 3, 4], [1, 2, 3, 4]]
        .iter()
        .map(|src| {
            let mut f = udp_to([10, 0, 0, 2], 9, &[]);
            f[6..10].copy_from_slice(src);
            f
        })
        .collect();
    let expect = |f: &[u8]| {
        let meta0 = u32::from_ne_bytes(f[6..10].try_into().unwrap()) ^ 0x5a5a_5a5a;
        let meta1 = u32::from(u16::from_ne_bytes([f[12], f[13]])) | 0x10000;
        let tag = meta0.wrapping_add(meta1) ^ meta1;
        let verdict = if tag & 1 == 1 { XDP_PASS } else { XDP_TX };
        (verdict, meta1.to_ne_bytes())
    };
    let verdicts: Vec<u64> = frames.iter().map(|f| expect(f).0).collect();
    assert_eq!(
        verdicts,
        [XDP_TX, XDP_PASS],
        "both of the program's verdicts"
    );
    let mut pkt = Packet::default();
    no_alloc("adjust_meta, adjust_head (xdp_meta)", &mut vms, |m, vm| {
        for f in &frames {
            let (verdict, meta) = expect(f);
            assert_eq!(m.run_packet(vm, &mut pkt, f), verdict);
            assert_eq!(pkt.data(), &f[2..], "2 bytes less at the front");
            assert_eq!(pkt.meta(), meta, "the second word of metadata");
        }
    });
}

#[test]
fn xdp_adjust_tail_does_not_allocate() {
    // bpf_xdp_adjust_tail; an MAC swap for XDP_TX (no helper)
    let mut vms = engines(&function("qtest-verdicts", "xdp_actions"), Ways::All(14));
    let (cut, tx) = (
        udp_to([10, 0, 0, 2], 7, &[1, 2, 3, 4, 5, 6]),
        udp_to([10, 0, 0, 2], 4, &[]),
    );
    let mut pkt = Packet::default();
    no_alloc("adjust_tail (xdp_actions)", &mut vms, |m, vm| {
        assert_eq!(m.run_packet(vm, &mut pkt, &cut), XDP_PASS);
        assert_eq!(pkt.data(), &cut[..cut.len() - 4]);
        assert_eq!(m.run_packet(vm, &mut pkt, &tx), XDP_TX);
        assert_eq!(
            (&pkt.data()[..6], &pkt.data()[6..12]),
            (&tx[6..12], &tx[..6])
        );
    });
}

#[test]
fn skb_store_bytes_does_not_allocate() {
    // bpf_skb_store_bytes (tc)
    let mut vms = engines(&function("qtest-verdicts", "tc_actions"), Ways::Proven(14));
    let frame = udp_to([10, 0, 0, 2], 3, &[1, 2, 3, 4]);
    let mut pkt = Packet::default();
    no_alloc("skb_store_bytes (tc_actions)", &mut vms, |m, vm| {
        assert_eq!(m.run_packet(vm, &mut pkt, &frame), 0, "TC_ACT_OK");
        assert_eq!(pkt.data()[..45], frame[..45]);
        assert_eq!(pkt.data()[45], 0x43, "mark + cb[0], stored");
    });
}

#[test]
fn skb_load_bytes_does_not_allocate() {
    // bpf_skb_load_bytes (socket filter): it reads the u16 at 36 of what
    // it sees, the packet from the network header on: bytes 8 and 9 of
    // the UDP payload here
    let mut vms = engines(&function("qtest-verdicts", "socket_trunc"), Ways::All(14));
    let drop = udp_to([10, 0, 0, 2], 9, &[0, 0, 0, 0, 0, 0, 0, 0, 0, 2]);
    let keep = udp_to([10, 0, 0, 2], 9, &[0, 0, 0, 0, 0, 0, 0, 0, 0, 3]);
    let short = udp_to([10, 0, 0, 2], 9, &[]);
    let mut pkt = Packet::default();
    no_alloc("skb_load_bytes (socket_trunc)", &mut vms, |m, vm| {
        assert_eq!(m.run_socket(vm, &mut pkt, &drop), 0, "2: dropped");
        assert_eq!(m.run_socket(vm, &mut pkt, &keep), 42, "the headers kept");
        // beyond the packet: the helper fails, the program keeps it all
        assert_eq!(m.run_socket(vm, &mut pkt, &short), 28, "skb->len");
    });
}

#[test]
fn ld_abs_does_not_allocate() {
    // legacy packet loads (ld_abs, ld_ind: helpers after the load-time
    // rewrite)
    let mut vms = engines(&function("ld_abs", "sock_port"), Ways::All(14));
    let (dns, arp) = (udp_to([10, 0, 0, 2], 53, &[]), ether(0x0806, &[], &[0; 28]));
    let mut pkt = Packet::default();
    no_alloc("ld_abs, ld_ind (sock_port)", &mut vms, |m, vm| {
        assert_eq!(m.run_socket(vm, &mut pkt, &dns), 53, "the UDP port");
        assert_eq!(m.run_socket(vm, &mut pkt, &arp), 1, "SKF_LL_OFF: ARP");
    });
}

#[test]
fn csum_diff_does_not_allocate() {
    // bpf_csum_diff: a correct IPv4 header sums to 0xffff (negative zero)
    let ip_frame = checksummed(udp_to([10, 0, 0, 2], 9, &[]), false);
    let sums = [("pull", 0xffff), ("push", 0x1234), ("neither", 0x5eed)];
    for (func, want) in sums {
        let mut vms = engines(&function("csum_diff", func), Ways::All(14));
        let mut pkt = Packet::default();
        no_alloc(func, &mut vms, |m, vm| {
            assert_eq!(m.run_packet(vm, &mut pkt, &ip_frame), want, "{func}");
        });
    }
}

#[test]
fn csum_replace_does_not_allocate() {
    // bpf_l3_csum_replace, bpf_l4_csum_replace: the checksums stay right
    let mut vms = engines(&load("csum_replace"), Ways::All(14));
    let mut tcp = ports(40000, 80, 20);
    tcp[12] = 0x50;
    tcp.extend_from_slice(b"GET /");
    let frames = [
        checksummed(udp_to([10, 0, 0, 2], 53, b"query"), false),
        checksummed(
            ether(0x0800, &[], &ipv4(6, [10, 0, 0, 1], [10, 0, 0, 2], &tcp)),
            false,
        ),
        checksummed(udp_to([10, 0, 0, 2], 53, b"no checksum"), true),
    ];
    let mut pkt = Packet::default();
    no_alloc(
        "l3/l4_csum_replace, skb_store_bytes (dnat)",
        &mut vms,
        |m, vm| {
            for f in &frames {
                assert_eq!(m.run_packet(vm, &mut pkt, f), 0, "rewritten");
                let out = pkt.data();
                assert_eq!(out[30..34], [10, 9, 8, 7], "the new destination");
                assert_eq!(out[36..38], 8080u16.to_be_bytes(), "the new port");
                assert_eq!(ones_sum(&out[14..34], 0), 0xffff, "the IPv4 checksum");
                if out[23] == 17 && f[40..42] == [0, 0] {
                    assert_eq!(out[40..42], [0, 0], "no UDP checksum: still none");
                } else {
                    assert_ne!(out[34..], f[34..]);
                    assert_eq!(l4_sum(out), 0xffff, "the UDP or TCP checksum");
                }
            }
        },
    );
}
