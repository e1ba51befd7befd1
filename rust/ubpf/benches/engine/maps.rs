// SPDX-License-Identifier: GPL-2.0-or-later

//! Map lookups from a program: the programs of `bench_map.bpf.c` (one
//! lookup per run in an array map, a hash map and an `lpm_trie`, and
//! `map_none`, the same without the lookup) on the IPv4 frames of the
//! mix (ip-mode), with the maps filled by the host before the runs.
//!
//! They run in the same interleaved rounds as the reference programs.
//! The cost of a lookup is taken within each round, the program's ns per
//! run minus `map_none`'s, then the median over the rounds.  iovisor/ubpf
//! does not run them: the benchmark's side of it registers no helpers and
//! has no maps.

use ubpf::maps::{BPF_ANY, BPF_NOEXIST};
use ubpf::{Map, Vm};

use crate::json::J;
use crate::{median, quantile, Case, Kind};

/// The program without a lookup, the baseline of the others.
pub const BASE: &str = "map_none";

/// Only our engines run the map programs.
pub const IOVISOR_NOTE: &str = "iovisor/ubpf: not measured (no maps in its bench API)";

const METHOD: &str = "ns per lookup = ns per run of the program minus map_none's, taken \
                      within each round, median of the rounds; map_none reads the key, \
                      counts the packet and returns the verdict the same way from a global \
                      array it indexes itself, and calls no helper (both engines enter it \
                      directly): the difference is the helper call, what a run sets up for \
                      a program that calls helpers, and the map's search";

/// The engines that run the map programs.
const ENGINES: [Kind; 2] = [Kind::Interpreter, Kind::Jit];

/// One program of `bench_map.bpf.c`.
pub struct Spec {
    /// the program's function
    pub function: &'static str,
    /// the map it reads
    map: &'static str,
    /// what the results call the map
    what: &'static str,
    /// fill the map from the host; returns the number of entries written
    fill: fn(&Map) -> usize,
    /// the verdict the program must return for the memory (ip-mode)
    pub verdict: fn(&[u8]) -> u64,
}

pub const SPECS: [Spec; 4] = [
    Spec {
        function: BASE,
        map: ".bss",
        what: "global array, no lookup",
        fill: fill_global,
        verdict: |ip| last_byte_verdict(ip[19]),
    },
    Spec {
        function: "map_array",
        map: "by_proto",
        what: "array",
        fill: fill_array,
        verdict: |ip| proto_verdict(ip[9]),
    },
    Spec {
        function: "map_hash",
        map: "by_dst",
        what: "hash",
        fill: fill_hash,
        verdict: |ip| dst_verdict(dst(ip)),
    },
    Spec {
        function: "map_lpm",
        map: "by_prefix",
        what: "lpm_trie, prefixes /8 to /32",
        fill: fill_lpm,
        verdict: |ip| prefix_verdict(dst(ip)),
    },
];

// ---- what the host stores ----
//
// A value is `struct value { u64 verdict; u64 hits; }`; every verdict
// stored is non-zero, so a run hits when it returns non-zero.

fn value(verdict: u64) -> [u8; 16] {
    let mut v = [0u8; 16];
    v[..8].copy_from_slice(&verdict.to_le_bytes());
    v
}

fn dst(ip: &[u8]) -> [u8; 4] {
    [ip[16], ip[17], ip[18], ip[19]]
}

fn update(map: &Map, key: &[u8], verdict: u64) {
    map.update(key, &value(verdict), BPF_NOEXIST)
        .unwrap_or_else(|e| panic!("{}: {e}", map.def().name));
}

/// `by_last_byte[i]` of `map_none`.
fn last_byte_verdict(i: u8) -> u64 {
    u64::from(i) + 1
}

fn fill_global(map: &Map) -> usize {
    let mut all = Vec::with_capacity(256 * 16);
    for i in 0..=255 {
        all.extend_from_slice(&value(last_byte_verdict(i)));
    }
    map.update(&0u32.to_le_bytes(), &all, BPF_ANY)
        .unwrap_or_else(|e| panic!("{}: {e}", map.def().name));
    256
}

/// `by_proto`: a class for every protocol number.
fn proto_verdict(proto: u8) -> u64 {
    u64::from(proto) + 1
}

fn fill_array(map: &Map) -> usize {
    for p in 0..=255 {
        map.update(
            &u32::from(p).to_le_bytes(),
            &value(proto_verdict(p)),
            BPF_ANY,
        )
        .unwrap_or_else(|e| panic!("{}: {e}", map.def().name));
    }
    256
}

/// `by_dst`: a blocklist of 1281 destinations (1.1.1.1, 192.168.100.0/24
/// and 10.9.0.0/22, one entry per address); the other destinations of the
/// mix miss.
fn blocked_destinations() -> impl Iterator<Item = ([u8; 4], u64)> {
    let one = std::iter::once(([1, 1, 1, 1], 1));
    let net = (0..=255).map(|d| ([192, 168, 100, d], 2));
    let wide = (0..4).flat_map(|c| (0..=255).map(move |d| ([10, 9, c, d], 3)));
    one.chain(net).chain(wide)
}

fn dst_verdict(addr: [u8; 4]) -> u64 {
    blocked_destinations()
        .find(|(a, _)| *a == addr)
        .map_or(0, |(_, v)| v)
}

fn fill_hash(map: &Map) -> usize {
    let mut n = 0;
    for (addr, verdict) in blocked_destinations() {
        update(map, &addr, verdict);
        n += 1;
    }
    n
}

/// `by_prefix`: routes of four prefix lengths (the lookup tries the
/// lengths in use, longest first), the verdict 100 + length; the mix's
/// destinations match 10.0.0.0/8, 93.184.0.0/16, 192.168.100.0/24 and
/// 1.1.1.1/32, and its multicast one misses.
fn prefixes() -> impl Iterator<Item = ([u8; 4], u32)> {
    let routes = [
        ([10, 0, 0, 0], 8),
        ([93, 184, 0, 0], 16),
        ([192, 168, 100, 0], 24),
        ([1, 1, 1, 1], 32),
    ];
    let subnets = (0..=255).map(|c| ([172, 16, c, 0], 24));
    let sites = (100..200).map(|b| ([10, b, 0, 0], 16));
    routes.into_iter().chain(subnets).chain(sites)
}

fn prefix_verdict(addr: [u8; 4]) -> u64 {
    let a = u32::from_be_bytes(addr);
    prefixes()
        .filter(|&(p, len)| {
            let mask = u32::MAX.checked_shl(32 - len).unwrap_or(0);
            a & mask == u32::from_be_bytes(p)
        })
        .map(|(_, len)| 100 + u64::from(len))
        .max()
        .unwrap_or(0)
}

fn fill_lpm(map: &Map) -> usize {
    let mut n = 0;
    for (addr, len) in prefixes() {
        let mut key = [0u8; 8];
        key[..4].copy_from_slice(&len.to_le_bytes());
        key[4..].copy_from_slice(&addr);
        update(map, &key, 100 + u64::from(len));
        n += 1;
    }
    n
}

// ---- checks ----

/// The map of `vm` that `spec` reads.
fn map<'a>(vm: &'a Vm, spec: &Spec) -> &'a Map {
    vm.map(spec.map)
        .unwrap_or_else(|| panic!("{}: no map {}", spec.function, spec.map))
}

/// Fill the map of both engines' VMs; the number of entries.
pub fn fill(case: &Case, spec: &Spec) -> usize {
    let n = (spec.fill)(map(&case.interp, spec));
    (spec.fill)(map(&case.jit, spec));
    n
}

/// Hits counted in the map of `vm` (the `hits` of every value).
fn hits(vm: &Vm, spec: &Spec) -> u64 {
    map(vm, spec)
        .entries()
        .iter()
        .flat_map(|(_, v)| v.chunks_exact(16))
        .map(|v| u64::from_le_bytes(v[8..16].try_into().unwrap_or_default()))
        .sum()
}

/// After `passes` runs on every frame, each engine must have counted one
/// hit per non-zero verdict and run: the programs did look the keys up.
pub fn check_hits(case: &Case, spec: &Spec, verdicts: &[u64], passes: u64) {
    let per_pass = verdicts.iter().filter(|&&v| v != 0).count() as u64;
    assert!(per_pass > 0, "{}: no hit in the mix", spec.function);
    for (vm, label) in [(&case.interp, "interpreter"), (&case.jit, "JIT")] {
        assert_eq!(
            hits(vm, spec),
            per_pass * passes,
            "{}: hits counted by the {label}",
            spec.function
        );
    }
}

// ---- results ----

/// A map program's figures.
pub struct Row<'a> {
    case: &'a Case,
    spec: &'a Spec,
    entries: usize,
    hits_per_pass: usize,
}

impl<'a> Row<'a> {
    pub fn new(case: &'a Case, spec: &'a Spec, entries: usize, verdicts: &[u64]) -> Self {
        Self {
            case,
            spec,
            entries,
            hits_per_pass: verdicts.iter().filter(|&&v| v != 0).count(),
        }
    }

    fn is_base(&self) -> bool {
        self.spec.function == BASE
    }

    /// ns per lookup on `kind` in each round: this program minus `base`.
    fn per_lookup(&self, base: &Case, kind: Kind) -> Vec<f64> {
        let (a, b) = (&self.case.ns[kind.index()], &base.ns[kind.index()]);
        a.iter().zip(b).map(|(x, y)| x - y).collect()
    }

    fn allocations(&self, kind: Kind) -> (u64, u64) {
        let i = kind.index();
        (self.case.allocs[i], self.case.runs[i])
    }
}

fn base<'a>(rows: &'a [Row<'a>]) -> &'a Case {
    rows.iter()
        .find(|r| r.is_base())
        .map(|r| r.case)
        .expect("map_none")
}

pub fn print(rows: &[Row], rounds: usize) {
    let base = base(rows);
    let frames = base.mems.len();
    println!(
        "\nmap lookups: ns per run, median of {rounds} interleaved rounds \
         (bench_map.bpf.c in ip-mode on the {frames} IPv4 frames of the mix, one \
         lookup per run, maps filled by the host; rounds shared with the programs above)"
    );
    println!(
        "{:<10} {:<28} {:>7} {:>6} {:>8} {:>8}   {:>23}",
        "program", "map", "entries", "hits", "interp", "jit", "per lookup: interp jit"
    );
    for r in rows {
        let lookup = |kind: Kind| {
            if r.is_base() {
                "-".to_owned()
            } else {
                format!("{:.2}", median(&r.per_lookup(base, kind)))
            }
        };
        println!(
            "{:<10} {:<28} {:>7} {:>6} {:>8.2} {:>8.2}   {:>18} {:>8}",
            r.spec.function,
            r.spec.what,
            r.entries,
            format!("{}/{}", r.hits_per_pass, r.case.mems.len()),
            r.case.ns_median(Kind::Interpreter),
            r.case.ns_median(Kind::Jit),
            lookup(Kind::Interpreter),
            lookup(Kind::Jit),
        );
    }
    println!("{METHOD}");
    println!("{IOVISOR_NOTE}");
    for kind in ENGINES {
        let label = if kind == Kind::Jit {
            "JIT"
        } else {
            "interpreter"
        };
        let (allocs, runs) = rows
            .iter()
            .map(|r| r.allocations(kind))
            .fold((0, 0), |(a, n), (x, y)| (a + x, n + y));
        println!(
            "heap allocations per run with map lookups, {label}: {} ({allocs} in {runs} runs)",
            allocs as f64 / runs.max(1) as f64
        );
    }
}

pub fn to_json(rows: &[Row]) -> J {
    let base = base(rows);
    let per = |f: &dyn Fn(Kind) -> J| J::Obj(ENGINES.iter().map(|&k| (k.label(), f(k))).collect());
    let programs = rows
        .iter()
        .map(|r| {
            let lookup = |q: f64| {
                per(&|k| {
                    if r.is_base() {
                        J::Null
                    } else {
                        J::num(quantile(&r.per_lookup(base, k), q))
                    }
                })
            };
            J::Obj(vec![
                ("program", J::str(r.spec.function)),
                ("map", J::str(r.spec.what)),
                ("entries", J::Int(r.entries as u64)),
                ("insns", J::Int(r.case.insns as u64)),
                ("runs_per_pass", J::Int(r.case.mems.len() as u64)),
                ("hits_per_pass", J::Int(r.hits_per_pass as u64)),
                ("lookups_per_run", J::Int(u64::from(!r.is_base()))),
                ("ns_per_run_median", per(&|k| J::num(r.case.ns_median(k)))),
                ("ns_per_lookup_median", lookup(0.5)),
                ("ns_per_lookup_q1", lookup(0.25)),
                ("ns_per_lookup_q3", lookup(0.75)),
                (
                    "allocations_per_run",
                    per(&|k| {
                        let (a, n) = r.allocations(k);
                        J::num(a as f64 / n.max(1) as f64)
                    }),
                ),
            ])
        })
        .collect();
    J::Obj(vec![
        ("baseline", J::str(BASE)),
        ("method", J::str(METHOD)),
        ("iovisor_ubpf", J::str(IOVISOR_NOTE)),
        ("programs", J::Arr(programs)),
    ])
}
