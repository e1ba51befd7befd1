// SPDX-License-Identifier: GPL-2.0-or-later

//! The engine's maps against the kernel's: the same operations through
//! the host API and through raw `bpf()` system calls must give the same
//! results (values, error numbers, iteration order where the kernel's is
//! defined).  Skipped, with a message, where `bpf()` does not work (not
//! root, or no BPF in the kernel).

#![allow(dead_code)]

mod common;

use common::kernel_map::{self as kernel, possible_cpus, KernelMap};
use ubpf::maps::{
    Map, MapDef, MapExtra, MapKind, BPF_ANY, BPF_EXIST, BPF_F_MMAPABLE, BPF_F_NO_COMMON_LRU,
    BPF_F_NO_PREALLOC, BPF_F_RDONLY, BPF_F_RDONLY_PROG, BPF_F_WRONLY, BPF_F_WRONLY_PROG,
    BPF_F_ZERO_SEED, BPF_NOEXIST,
};

type Outcome = Result<Vec<u8>, i64>;

#[derive(Debug, Clone)]
enum Op {
    Update(Vec<u8>, u64, u64),
    Lookup(Vec<u8>),
    Delete(Vec<u8>),
    NextKey(Option<Vec<u8>>),
}

fn k32(k: u32) -> Vec<u8> {
    k.to_ne_bytes().to_vec()
}

fn lpm(plen: u32, addr: [u8; 4]) -> Vec<u8> {
    common::maps::lpm_key(plen, addr).to_vec()
}

struct Pair {
    engine: Map,
    kernel: KernelMap,
    percpu: bool,
    value_size: usize,
}

fn skip() -> bool {
    match kernel::available() {
        Ok(()) => false,
        Err(why) => {
            eprintln!("skipped: {why}");
            true
        }
    }
}

impl Pair {
    fn new(kind: MapKind, key_size: u32, value_size: u32, max_entries: u32, flags: u32) -> Self {
        let info = kind.info();
        let def = MapDef {
            name: "m".to_owned(),
            kind,
            key_size,
            value_size,
            max_entries,
            initial: None,
        };
        let extra = MapExtra {
            flags,
            ..MapExtra::default()
        };
        let engine = Map::with_extra(def, extra).unwrap_or_else(|e| panic!("engine: {e}"));
        let kernel = KernelMap::create(
            info.id,
            key_size,
            value_size,
            max_entries,
            flags,
            info.percpu,
        )
        .unwrap_or_else(|e| panic!("kernel: errno {}", -e));
        Self {
            engine,
            kernel,
            percpu: info.percpu,
            value_size: value_size as usize,
        }
    }

    fn engine(&self, op: &Op) -> Outcome {
        let m = &self.engine;
        let r = match op {
            Op::Update(k, v, f) => {
                let v = v.to_ne_bytes();
                m.update(k, &v[..self.value_size], *f).map(|()| Vec::new())
            }
            Op::Lookup(k) => m.lookup(k),
            Op::Delete(k) => m.delete(k).map(|()| Vec::new()),
            Op::NextKey(k) => m.next_key(k.as_deref()),
        };
        r.map_err(|e| e.errno())
    }

    fn kernel(&self, op: &Op) -> Outcome {
        let m = &self.kernel;
        match op {
            Op::Update(k, v, f) => {
                // per-CPU: the same value for every CPU
                let one = &v.to_ne_bytes()[..self.value_size];
                let mut value = Vec::new();
                let cpus = if self.percpu { possible_cpus() } else { 1 };
                for _ in 0..cpus {
                    value.extend_from_slice(one);
                    if self.percpu {
                        value.resize(value.len().next_multiple_of(8), 0);
                    }
                }
                m.update(k, &value, *f).map(|()| Vec::new())
            }
            Op::Lookup(k) => m.lookup(k).map(|v| {
                if self.percpu {
                    let stride = self.value_size.next_multiple_of(8);
                    let first = v[..self.value_size].to_vec();
                    for cpu in v.chunks(stride) {
                        assert_eq!(&cpu[..self.value_size], &first[..], "per-CPU values differ");
                    }
                    first
                } else {
                    v
                }
            }),
            Op::Delete(k) => m.delete(k).map(|()| Vec::new()),
            Op::NextKey(k) => m.next_key(k.as_deref()),
        }
    }

    /// Run `ops` on both; `exact_next` false: compare only whether
    /// get-next-key succeeds (hash order is the implementation's).
    fn run(&self, what: &str, ops: &[Op], exact_next: bool) {
        for (i, op) in ops.iter().enumerate() {
            let (e, k) = (self.engine(op), self.kernel(op));
            if matches!(op, Op::NextKey(_)) && !exact_next {
                assert_eq!(
                    e.as_ref().err(),
                    k.as_ref().err(),
                    "{what}: op {i} {op:?}: engine {e:?}, kernel {k:?}"
                );
            } else {
                assert_eq!(e, k, "{what}: op {i} {op:?}");
            }
        }
    }

    fn keys(&self, kernel: bool) -> Vec<Vec<u8>> {
        let mut keys = Vec::new();
        let mut cur: Option<Vec<u8>> = None;
        loop {
            let next = if kernel {
                self.kernel.next_key(cur.as_deref())
            } else {
                self.engine.next_key(cur.as_deref()).map_err(|e| e.errno())
            };
            match next {
                Ok(k) => {
                    assert!(keys.len() < 1000, "iteration does not end");
                    keys.push(k.clone());
                    cur = Some(k);
                }
                Err(e) => {
                    assert_eq!(e, -i64::from(libc::ENOENT));
                    return keys;
                }
            }
        }
    }

    /// Iterating both gives the same keys (in the same order if `ordered`).
    fn same_keys(&self, what: &str, ordered: bool) {
        let (mut e, mut k) = (self.keys(false), self.keys(true));
        if !ordered {
            e.sort();
            k.sort();
        }
        assert_eq!(e, k, "{what}: iteration");
    }
}

fn hash_script() -> Vec<Op> {
    use Op::*;
    vec![
        Lookup(k32(1)),
        Delete(k32(1)),
        NextKey(None),
        Update(k32(1), 10, BPF_NOEXIST),
        Update(k32(1), 11, BPF_NOEXIST),
        Update(k32(9), 12, BPF_EXIST),
        Update(k32(1), 13, BPF_EXIST),
        Lookup(k32(1)),
        Update(k32(2), 20, BPF_ANY),
        Update(k32(3), 30, BPF_ANY),
        Update(k32(4), 40, BPF_ANY),
        Update(k32(5), 50, BPF_ANY),
        Update(k32(4), 41, BPF_ANY),
        Update(k32(4), 42, 4),
        Update(k32(4), 42, 8),
        Lookup(k32(4)),
        Lookup(k32(5)),
        Delete(k32(2)),
        Delete(k32(2)),
        Update(k32(5), 50, BPF_NOEXIST),
        Lookup(k32(5)),
        NextKey(None),
        NextKey(Some(k32(77))),
    ]
}

#[test]
fn hash_like_the_kernel() {
    if skip() {
        return;
    }
    let p = Pair::new(MapKind::Hash, 4, 8, 4, 0);
    p.run("hash", &hash_script(), false);
    p.same_keys("hash", false);
}

#[test]
fn percpu_hash_like_the_kernel() {
    if skip() {
        return;
    }
    let p = Pair::new(MapKind::PercpuHash, 4, 8, 4, 0);
    p.run("percpu_hash", &hash_script(), false);
    p.same_keys("percpu_hash", false);
    // a value that is not a multiple of 8: padded per CPU
    let small = Pair::new(MapKind::PercpuHash, 4, 4, 4, 0);
    small.run(
        "percpu_hash 4-byte values",
        &[Op::Update(k32(1), 7, BPF_ANY), Op::Lookup(k32(1))],
        true,
    );
    assert_eq!(
        small.engine.lookup_percpu(&k32(1)).unwrap(),
        [7, 0, 0, 0, 0, 0, 0, 0],
        "one CPU's slot, padded to 8 bytes"
    );
}

#[test]
fn array_like_the_kernel() {
    if skip() {
        return;
    }
    use Op::*;
    for kind in [MapKind::Array, MapKind::PercpuArray] {
        let p = Pair::new(kind, 4, 8, 4, 0);
        let ops = [
            Lookup(k32(0)),
            Lookup(k32(4)),
            Update(k32(4), 1, BPF_ANY),
            Update(k32(1), 1, BPF_NOEXIST),
            Update(k32(1), 2, BPF_EXIST),
            Update(k32(1), 2, 8),
            Lookup(k32(1)),
            Delete(k32(1)),
            Delete(k32(9)),
            NextKey(None),
            NextKey(Some(k32(2))),
            NextKey(Some(k32(3))),
            NextKey(Some(k32(9))),
        ];
        p.run(kind.name(), &ops, true);
        p.same_keys(kind.name(), true);
    }
}

#[test]
fn lru_hash_like_the_kernel() {
    if skip() {
        return;
    }
    use Op::*;
    for (kind, flags) in [
        (MapKind::LruHash, 0),
        (MapKind::LruHash, BPF_F_NO_COMMON_LRU),
        (MapKind::LruPercpuHash, 0),
    ] {
        // far from full: the kernel's LRU may evict early when close to it
        let p = Pair::new(kind, 4, 8, 256, flags);
        let ops = [
            Update(k32(1), 10, BPF_NOEXIST),
            Update(k32(1), 11, BPF_NOEXIST),
            Update(k32(2), 12, BPF_EXIST),
            Update(k32(2), 20, BPF_ANY),
            Update(k32(1), 13, BPF_EXIST),
            Lookup(k32(1)),
            Lookup(k32(3)),
            Delete(k32(2)),
            Delete(k32(2)),
            Update(k32(3), 1, 4),
            NextKey(None),
        ];
        p.run(kind.name(), &ops, false);
        p.same_keys(kind.name(), false);
        // full: updates evict instead of failing with E2BIG
        for k in 100..(100 + 2 * 256) {
            p.run(kind.name(), &[Update(k32(k), 1, BPF_ANY)], true);
        }
        assert!(p.engine.len() <= 256);
        assert_eq!(
            p.engine.lookup(&k32(100 + 2 * 256 - 1)).unwrap(),
            1u64.to_ne_bytes()
        );
    }
}

#[test]
fn lpm_trie_like_the_kernel() {
    if skip() {
        return;
    }
    use Op::*;
    let p = Pair::new(MapKind::LpmTrie, 8, 8, 5, BPF_F_NO_PREALLOC);
    let ops = [
        NextKey(None),
        Lookup(lpm(32, [10, 1, 2, 3])),
        Update(lpm(8, [10, 0, 0, 0]), 8, BPF_ANY),
        Update(lpm(16, [10, 1, 0, 0]), 16, BPF_NOEXIST),
        Update(lpm(24, [10, 1, 2, 0]), 24, BPF_ANY),
        Update(lpm(16, [192, 168, 0, 0]), 192, BPF_ANY),
        // trailing bits are not part of the prefix: the same entry
        Update(lpm(16, [10, 1, 99, 99]), 17, BPF_NOEXIST),
        Update(lpm(16, [10, 1, 99, 99]), 17, BPF_EXIST),
        Update(lpm(12, [10, 16, 0, 0]), 12, BPF_EXIST),
        Update(lpm(33, [10, 1, 2, 3]), 1, BPF_ANY),
        Lookup(lpm(32, [10, 1, 2, 3])),
        Lookup(lpm(32, [10, 1, 3, 3])),
        Lookup(lpm(32, [10, 2, 3, 4])),
        Lookup(lpm(32, [11, 2, 3, 4])),
        Lookup(lpm(20, [10, 1, 2, 3])),
        Lookup(lpm(8, [10, 1, 2, 3])),
        Lookup(lpm(33, [10, 1, 2, 3])),
        NextKey(None),
        NextKey(Some(lpm(24, [10, 1, 2, 0]))),
        NextKey(Some(lpm(16, [10, 1, 0, 0]))),
        NextKey(Some(lpm(8, [10, 0, 0, 0]))),
        NextKey(Some(lpm(16, [192, 168, 0, 0]))),
        NextKey(Some(lpm(9, [10, 0, 0, 0]))),
        Update(lpm(0, [0, 0, 0, 0]), 0, BPF_ANY),
        Update(lpm(1, [128, 0, 0, 0]), 1, BPF_ANY),
        Lookup(lpm(32, [11, 2, 3, 4])),
        Delete(lpm(24, [10, 1, 2, 0])),
        Delete(lpm(24, [10, 1, 2, 0])),
        Delete(lpm(33, [10, 1, 2, 0])),
        Lookup(lpm(32, [10, 1, 2, 3])),
        Update(lpm(1, [128, 0, 0, 0]), 1, BPF_ANY),
        Update(lpm(32, [1, 2, 3, 4]), 1, BPF_ANY),
        NextKey(None),
    ];
    p.run("lpm_trie", &ops, true);
    p.same_keys("lpm_trie", true);
}

#[test]
fn lpm_trie_order_like_the_kernel() {
    if skip() {
        return;
    }
    // many prefixes, in a scrambled order: the iteration order must be
    // the kernel's
    let p = Pair::new(MapKind::LpmTrie, 8, 8, 64, BPF_F_NO_PREALLOC);
    let mut rng = common::Rng::new(7);
    for _ in 0..64 {
        let plen = u32::try_from(rng.below(33)).unwrap();
        let addr = [rng.pick(&[10, 192, 0, 255]), rng.pick(&[0, 1, 128]), 7, 9];
        p.run("lpm fill", &[Op::Update(lpm(plen, addr), 1, BPF_ANY)], true);
    }
    p.same_keys("lpm_trie", true);
    // deleting half keeps the order
    let keys = p.keys(true);
    for k in keys.iter().step_by(2) {
        p.run("lpm delete", &[Op::Delete(k.clone())], true);
    }
    p.same_keys("lpm_trie after deletions", true);
}

#[test]
fn devmap_like_the_kernel() {
    if skip() {
        return;
    }
    use Op::*;
    // ifindex 1: the loopback device, which exists in every namespace
    let p = Pair::new(MapKind::DevMap, 4, 4, 4, 0);
    let ops = [
        Lookup(k32(0)),
        Update(k32(0), 1, BPF_ANY),
        Update(k32(0), 1, BPF_NOEXIST),
        Update(k32(1), 1, BPF_EXIST),
        Update(k32(4), 1, BPF_ANY),
        Update(k32(1), 1, 4),
        Lookup(k32(0)),
        Lookup(k32(1)),
        Delete(k32(1)),
        Delete(k32(0)),
        Delete(k32(9)),
        Update(k32(2), 1, BPF_ANY),
        NextKey(None),
        NextKey(Some(k32(3))),
    ];
    p.run("devmap", &ops, true);
    let hash = Pair::new(MapKind::DevMapHash, 4, 4, 4, 0);
    let hash_ops = [
        Lookup(k32(0)),
        Update(k32(70), 1, BPF_ANY),
        Update(k32(70), 1, BPF_NOEXIST),
        Update(k32(71), 1, BPF_EXIST),
        Lookup(k32(70)),
        Delete(k32(71)),
        Delete(k32(70)),
        NextKey(None),
    ];
    hash.run("devmap_hash", &hash_ops, false);
}

#[test]
fn map_flags_like_the_kernel() {
    if skip() {
        return;
    }
    let cases = [
        (MapKind::Hash, BPF_F_NO_PREALLOC),
        (MapKind::Hash, BPF_F_ZERO_SEED),
        (MapKind::Hash, BPF_F_RDONLY | BPF_F_WRONLY),
        (MapKind::Hash, BPF_F_RDONLY_PROG | BPF_F_WRONLY_PROG),
        (MapKind::Hash, BPF_F_MMAPABLE),
        (MapKind::Hash, 1 << 30),
        (MapKind::Array, BPF_F_NO_PREALLOC),
        (MapKind::Array, BPF_F_MMAPABLE),
        (MapKind::Array, BPF_F_RDONLY_PROG),
        (MapKind::PercpuArray, BPF_F_MMAPABLE),
        (MapKind::LruHash, BPF_F_NO_PREALLOC),
        (MapKind::LruHash, BPF_F_NO_COMMON_LRU),
        (MapKind::Hash, BPF_F_NO_COMMON_LRU),
        (MapKind::LpmTrie, 0),
        (MapKind::LpmTrie, BPF_F_NO_PREALLOC | BPF_F_RDONLY),
        (MapKind::DevMap, BPF_F_RDONLY_PROG),
        (MapKind::DevMap, BPF_F_RDONLY),
    ];
    let mut differ = Vec::new();
    for (kind, flags) in cases {
        let info = kind.info();
        let (ks, vs) = match kind {
            MapKind::LpmTrie => (8, 8),
            MapKind::DevMap => (4, 4),
            _ => (4, 8),
        };
        let def = MapDef {
            name: "m".to_owned(),
            kind,
            key_size: ks,
            value_size: vs,
            max_entries: 16,
            initial: None,
        };
        let extra = MapExtra {
            flags,
            ..MapExtra::default()
        };
        let engine = Map::with_extra(def, extra);
        let kernel = KernelMap::create(info.id, ks, vs, 16, flags, info.percpu);
        if engine.is_ok() != kernel.is_ok() {
            differ.push(format!(
                "{} with {}: engine {:?}, kernel {:?}",
                info.name,
                ubpf::maps::describe_flags(flags),
                engine.err(),
                kernel.err()
            ));
        }
    }
    assert!(differ.is_empty(), "{differ:#?}");
}
