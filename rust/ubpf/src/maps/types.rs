// SPDX-License-Identifier: GPL-2.0-or-later

//! The map types, as data: what each kernel map type is called, what
//! keys, values, sizes and flags it takes, and which helpers accept it.
//! Adding a map type means adding a [`MapKind`] and one [`MapTypeInfo`]
//! row here (and its storage in the maps module).
//!
//! Facts (numbers, names, constraints) follow the kernel's UAPI
//! (`include/uapi/linux/bpf.h`) and the checks its map implementations
//! make at map creation.

use crate::helpers as h;

/// Kernel names of `enum bpf_map_type`, indexed by value (as `bpftool`
/// prints them).
const MAP_TYPE_NAMES: [&str; 34] = [
    "unspec",
    "hash",
    "array",
    "prog_array",
    "perf_event_array",
    "percpu_hash",
    "percpu_array",
    "stack_trace",
    "cgroup_array",
    "lru_hash",
    "lru_percpu_hash",
    "lpm_trie",
    "array_of_maps",
    "hash_of_maps",
    "devmap",
    "sockmap",
    "cpumap",
    "xskmap",
    "sockhash",
    "cgroup_storage",
    "reuseport_sockarray",
    "percpu_cgroup_storage",
    "queue",
    "stack",
    "sk_storage",
    "devmap_hash",
    "struct_ops",
    "ringbuf",
    "inode_storage",
    "task_storage",
    "bloom_filter",
    "user_ringbuf",
    "cgrp_storage",
    "arena",
];

/// The kernel's name of map type `id` (`9` is `"lru_hash"`), if it has one.
pub fn map_type_name(id: u32) -> Option<&'static str> {
    MAP_TYPE_NAMES.get(id as usize).copied()
}

/// `lru_hash (9)`, or `map type 99` for numbers the kernel does not know.
pub fn describe_map_type(id: u32) -> String {
    match map_type_name(id) {
        Some(name) => format!("{name} ({id})"),
        None => format!("map type {id}"),
    }
}

/// `BPF_F_NO_PREALLOC`: hash maps allocate on update (here: always
/// preallocated; required by `lpm_trie`, as in the kernel).
pub const BPF_F_NO_PREALLOC: u32 = 1 << 0;
/// `BPF_F_NO_COMMON_LRU`: per-CPU LRU lists (one CPU here: the same).
pub const BPF_F_NO_COMMON_LRU: u32 = 1 << 1;
/// `BPF_F_NUMA_NODE`: accepted and ignored.
pub const BPF_F_NUMA_NODE: u32 = 1 << 2;
/// `BPF_F_RDONLY`: the host (syscall side) may only read.
pub const BPF_F_RDONLY: u32 = 1 << 3;
/// `BPF_F_WRONLY`: the host (syscall side) may only write.
pub const BPF_F_WRONLY: u32 = 1 << 4;
/// `BPF_F_STACK_BUILD_ID` (stack trace maps: refused).
pub const BPF_F_STACK_BUILD_ID: u32 = 1 << 5;
/// `BPF_F_ZERO_SEED`: the hash seed is 0 (it always is here).
pub const BPF_F_ZERO_SEED: u32 = 1 << 6;
/// `BPF_F_RDONLY_PROG`: programs may only read (helpers refuse writes;
/// stores through value pointers are the verifier's to refuse).
pub const BPF_F_RDONLY_PROG: u32 = 1 << 7;
/// `BPF_F_WRONLY_PROG`: programs may only write (the verifier refuses
/// their reads; lookups of unverified programs return NULL).
pub const BPF_F_WRONLY_PROG: u32 = 1 << 8;
/// `BPF_F_CLONE` (socket storage: refused).
pub const BPF_F_CLONE: u32 = 1 << 9;
/// `BPF_F_MMAPABLE`: array memory the host may map (the engine's
/// values are contiguous anyway).
pub const BPF_F_MMAPABLE: u32 = 1 << 10;
/// `BPF_F_PRESERVE_ELEMS` (perf event arrays).
pub const BPF_F_PRESERVE_ELEMS: u32 = 1 << 11;
/// `BPF_F_INNER_MAP` (map-in-map templates: refused).
pub const BPF_F_INNER_MAP: u32 = 1 << 12;

/// Access flags, checked together.
const ACCESS: u32 = BPF_F_RDONLY | BPF_F_WRONLY | BPF_F_RDONLY_PROG | BPF_F_WRONLY_PROG;

/// Kernel names of the map flags, by bit.
const FLAG_NAMES: [&str; 19] = [
    "BPF_F_NO_PREALLOC",
    "BPF_F_NO_COMMON_LRU",
    "BPF_F_NUMA_NODE",
    "BPF_F_RDONLY",
    "BPF_F_WRONLY",
    "BPF_F_STACK_BUILD_ID",
    "BPF_F_ZERO_SEED",
    "BPF_F_RDONLY_PROG",
    "BPF_F_WRONLY_PROG",
    "BPF_F_CLONE",
    "BPF_F_MMAPABLE",
    "BPF_F_PRESERVE_ELEMS",
    "BPF_F_INNER_MAP",
    "BPF_F_LINK",
    "BPF_F_PATH_FD",
    "BPF_F_VTYPE_BTF_OBJ_FD",
    "BPF_F_TOKEN_FD",
    "BPF_F_SEGV_ON_FAULT",
    "BPF_F_NO_USER_CONV",
];

/// `BPF_F_RDONLY | BPF_F_MMAPABLE`, `0x80000` for unknown bits.
pub fn describe_flags(flags: u32) -> String {
    let mut parts = Vec::new();
    for bit in 0..32 {
        if flags & (1 << bit) != 0 {
            parts.push(
                FLAG_NAMES
                    .get(bit)
                    .map_or_else(|| format!("{:#x}", 1u32 << bit), |n| (*n).to_owned()),
            );
        }
    }
    if parts.is_empty() {
        "0".to_owned()
    } else {
        parts.join(" | ")
    }
}

/// Kind of map: the map types the engine implements.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum MapKind {
    /// `BPF_MAP_TYPE_HASH`
    Hash,
    /// `BPF_MAP_TYPE_ARRAY`
    Array,
    /// `BPF_MAP_TYPE_PROG_ARRAY`: program indices for `bpf_tail_call`.
    ProgArray,
    /// `BPF_MAP_TYPE_PERF_EVENT_ARRAY`: `bpf_perf_event_output` records.
    PerfEventArray,
    /// `BPF_MAP_TYPE_PERCPU_HASH` (one CPU).
    PercpuHash,
    /// `BPF_MAP_TYPE_PERCPU_ARRAY` (one CPU).
    PercpuArray,
    /// `BPF_MAP_TYPE_LRU_HASH`
    LruHash,
    /// `BPF_MAP_TYPE_LRU_PERCPU_HASH` (one CPU).
    LruPercpuHash,
    /// `BPF_MAP_TYPE_LPM_TRIE`
    LpmTrie,
    /// `BPF_MAP_TYPE_DEVMAP`
    DevMap,
    /// `BPF_MAP_TYPE_DEVMAP_HASH`
    DevMapHash,
    /// `BPF_MAP_TYPE_RINGBUF`
    RingBuf,
}

/// A size rule for keys or values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SizeRule {
    /// Exactly this many bytes.
    Exactly(u32),
    /// Between the bounds, inclusive.
    Range(u32, u32),
    /// One of these sizes.
    OneOf(&'static [u32]),
}

impl SizeRule {
    /// Whether `size` satisfies the rule.
    pub fn allows(self, size: u32) -> bool {
        match self {
            Self::Exactly(n) => size == n,
            Self::Range(lo, hi) => (lo..=hi).contains(&size),
            Self::OneOf(sizes) => sizes.contains(&size),
        }
    }
}

impl std::fmt::Display for SizeRule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Exactly(n) => write!(f, "{n}"),
            Self::Range(lo, hi) => write!(f, "{lo}..={hi}"),
            Self::OneOf(sizes) => {
                let s: Vec<String> = sizes.iter().map(u32::to_string).collect();
                write!(f, "{}", s.join(" or "))
            }
        }
    }
}

/// How a map type stores its entries (which decides lookups, updates,
/// deletions and iteration).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Storage {
    /// Every index exists (array, per-CPU array).
    Array,
    /// Indices exist once set (program arrays, perf event arrays,
    /// devmaps): deletable, `BPF_NOEXIST` refused.
    SparseArray,
    /// A hash table.
    Hash,
    /// A hash table whose least recently used entry makes room.
    LruHash,
    /// Longest-prefix-match trie.
    Lpm,
    /// A ring of records the host drains; no keys.
    Ring,
}

/// Everything the engine (and the verifier) knows about a map type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MapTypeInfo {
    /// The engine's kind.
    pub kind: MapKind,
    /// `BPF_MAP_TYPE_*` value.
    pub id: u32,
    /// Kernel name (`bpftool`'s).
    pub name: &'static str,
    /// Key sizes accepted.
    pub key: SizeRule,
    /// Value sizes accepted.
    pub value: SizeRule,
    /// Map flags accepted.
    pub flags: u32,
    /// Map flags that must be set.
    pub required_flags: u32,
    /// Storage.
    pub storage: Storage,
    /// Values are per CPU (one CPU here).
    pub percpu: bool,
    /// Helpers that take a map of this type as their map argument.
    pub helpers: &'static [i32],
    /// Whether `bpf_map_lookup_elem` from a program returns a pointer to
    /// a value the program may read (and write unless `read_only_values`).
    pub program_lookup: bool,
    /// Values that programs may read but not write (devmaps).
    pub read_only_values: bool,
}

const GENERIC: &[i32] = &[h::MAP_LOOKUP_ELEM, h::MAP_UPDATE_ELEM, h::MAP_DELETE_ELEM];
const PERCPU: &[i32] = &[
    h::MAP_LOOKUP_ELEM,
    h::MAP_UPDATE_ELEM,
    h::MAP_DELETE_ELEM,
    h::MAP_LOOKUP_PERCPU_ELEM,
];
const HASH_FLAGS: u32 = BPF_F_NO_PREALLOC | BPF_F_NUMA_NODE | ACCESS | BPF_F_ZERO_SEED;
const LRU_FLAGS: u32 = BPF_F_NO_COMMON_LRU | BPF_F_NUMA_NODE | ACCESS | BPF_F_ZERO_SEED;
const DEV_FLAGS: u32 = BPF_F_NUMA_NODE | BPF_F_RDONLY | BPF_F_WRONLY;
const MAX_VALUE: u32 = super::MAX_VALUE_SIZE;
const MAX_KEY: u32 = super::MAX_KEY_SIZE;

/// The map types the engine implements.
pub const MAP_TYPES: [MapTypeInfo; 12] = [
    MapTypeInfo {
        kind: MapKind::Hash,
        id: 1,
        name: "hash",
        key: SizeRule::Range(1, MAX_KEY),
        value: SizeRule::Range(1, MAX_VALUE),
        flags: HASH_FLAGS,
        required_flags: 0,
        storage: Storage::Hash,
        percpu: false,
        helpers: GENERIC,
        program_lookup: true,
        read_only_values: false,
    },
    MapTypeInfo {
        kind: MapKind::Array,
        id: 2,
        name: "array",
        key: SizeRule::Exactly(4),
        value: SizeRule::Range(1, MAX_VALUE),
        flags: BPF_F_NUMA_NODE | ACCESS | BPF_F_MMAPABLE,
        required_flags: 0,
        storage: Storage::Array,
        percpu: false,
        helpers: GENERIC,
        program_lookup: true,
        read_only_values: false,
    },
    MapTypeInfo {
        kind: MapKind::ProgArray,
        id: 3,
        name: "prog_array",
        key: SizeRule::Exactly(4),
        value: SizeRule::Exactly(4),
        flags: BPF_F_NUMA_NODE | BPF_F_RDONLY | BPF_F_WRONLY,
        required_flags: 0,
        storage: Storage::SparseArray,
        percpu: false,
        helpers: &[h::TAIL_CALL],
        program_lookup: false,
        read_only_values: false,
    },
    MapTypeInfo {
        kind: MapKind::PerfEventArray,
        id: 4,
        name: "perf_event_array",
        key: SizeRule::Exactly(4),
        value: SizeRule::Exactly(4),
        flags: BPF_F_NUMA_NODE | BPF_F_RDONLY | BPF_F_WRONLY | BPF_F_PRESERVE_ELEMS,
        required_flags: 0,
        storage: Storage::SparseArray,
        percpu: false,
        helpers: &[h::PERF_EVENT_OUTPUT, h::SKB_OUTPUT, h::XDP_OUTPUT],
        program_lookup: false,
        read_only_values: false,
    },
    MapTypeInfo {
        kind: MapKind::PercpuHash,
        id: 5,
        name: "percpu_hash",
        key: SizeRule::Range(1, MAX_KEY),
        value: SizeRule::Range(1, MAX_VALUE),
        flags: HASH_FLAGS,
        required_flags: 0,
        storage: Storage::Hash,
        percpu: true,
        helpers: PERCPU,
        program_lookup: true,
        read_only_values: false,
    },
    MapTypeInfo {
        kind: MapKind::PercpuArray,
        id: 6,
        name: "percpu_array",
        key: SizeRule::Exactly(4),
        value: SizeRule::Range(1, MAX_VALUE),
        flags: BPF_F_NUMA_NODE | ACCESS,
        required_flags: 0,
        storage: Storage::Array,
        percpu: true,
        helpers: PERCPU,
        program_lookup: true,
        read_only_values: false,
    },
    MapTypeInfo {
        kind: MapKind::LruHash,
        id: 9,
        name: "lru_hash",
        key: SizeRule::Range(1, MAX_KEY),
        value: SizeRule::Range(1, MAX_VALUE),
        flags: LRU_FLAGS,
        required_flags: 0,
        storage: Storage::LruHash,
        percpu: false,
        helpers: GENERIC,
        program_lookup: true,
        read_only_values: false,
    },
    MapTypeInfo {
        kind: MapKind::LruPercpuHash,
        id: 10,
        name: "lru_percpu_hash",
        key: SizeRule::Range(1, MAX_KEY),
        value: SizeRule::Range(1, MAX_VALUE),
        flags: LRU_FLAGS,
        required_flags: 0,
        storage: Storage::LruHash,
        percpu: true,
        helpers: PERCPU,
        program_lookup: true,
        read_only_values: false,
    },
    MapTypeInfo {
        kind: MapKind::LpmTrie,
        id: 11,
        name: "lpm_trie",
        // struct bpf_lpm_trie_key: u32 prefixlen, then 1..=256 data bytes
        key: SizeRule::Range(5, 4 + 256),
        value: SizeRule::Range(1, MAX_VALUE),
        flags: BPF_F_NO_PREALLOC | BPF_F_NUMA_NODE | ACCESS,
        required_flags: BPF_F_NO_PREALLOC,
        storage: Storage::Lpm,
        percpu: false,
        helpers: GENERIC,
        program_lookup: true,
        read_only_values: false,
    },
    MapTypeInfo {
        kind: MapKind::DevMap,
        id: 14,
        name: "devmap",
        key: SizeRule::Exactly(4),
        // u32 ifindex, or struct bpf_devmap_val
        value: SizeRule::OneOf(&[4, 8]),
        flags: DEV_FLAGS,
        required_flags: 0,
        storage: Storage::SparseArray,
        percpu: false,
        helpers: &[h::REDIRECT_MAP, h::MAP_LOOKUP_ELEM],
        program_lookup: true,
        read_only_values: true,
    },
    MapTypeInfo {
        kind: MapKind::DevMapHash,
        id: 25,
        name: "devmap_hash",
        key: SizeRule::Exactly(4),
        value: SizeRule::OneOf(&[4, 8]),
        flags: DEV_FLAGS,
        required_flags: 0,
        storage: Storage::Hash,
        percpu: false,
        helpers: &[h::REDIRECT_MAP, h::MAP_LOOKUP_ELEM],
        program_lookup: true,
        read_only_values: true,
    },
    MapTypeInfo {
        kind: MapKind::RingBuf,
        id: 27,
        name: "ringbuf",
        key: SizeRule::Exactly(0),
        value: SizeRule::Exactly(0),
        flags: BPF_F_NUMA_NODE,
        required_flags: 0,
        storage: Storage::Ring,
        percpu: false,
        helpers: &[h::RINGBUF_OUTPUT, h::RINGBUF_RESERVE, h::RINGBUF_QUERY],
        program_lookup: false,
        read_only_values: false,
    },
];

impl MapKind {
    /// The kind for a `BPF_MAP_TYPE_*` value, if the engine implements it.
    pub fn from_type(t: u32) -> Option<Self> {
        MAP_TYPES.iter().find(|i| i.id == t).map(|i| i.kind)
    }

    /// Everything known about this kind.
    pub fn info(self) -> &'static MapTypeInfo {
        MAP_TYPES
            .iter()
            .find(|i| i.kind == self)
            .unwrap_or(&MAP_TYPES[0])
    }

    /// The kernel's `BPF_MAP_TYPE_*` value.
    pub fn id(self) -> u32 {
        self.info().id
    }

    /// Name as in the kernel's `bpftool` output.
    pub fn name(self) -> &'static str {
        self.info().name
    }
}

/// The names of the implemented map types, for error messages.
pub fn supported_map_types() -> String {
    let names: Vec<String> = MAP_TYPES
        .iter()
        .map(|i| format!("{} ({})", i.name, i.id))
        .collect();
    names.join(", ")
}

/// Whether helper `helper` accepts a map of kind `kind` as its map
/// argument (the kernel's map/helper compatibility, both ways: a helper
/// that wants a ring buffer refuses a hash map, and a program array is
/// only for `bpf_tail_call`).  For the verifier.
pub fn helper_accepts_map(helper: i32, kind: MapKind) -> bool {
    kind.info().helpers.contains(&helper)
}

/// Whether programs may write (`.0`) and read (`.1`) the values of a map
/// with this definition and these flags (`BPF_F_RDONLY_PROG`,
/// `BPF_F_WRONLY_PROG`, read-only value types such as devmaps).  For the
/// verifier.
pub fn program_access(def: &super::MapDef, extra: &super::MapExtra) -> (bool, bool) {
    let info = def.kind.info();
    (
        !info.read_only_values && extra.flags & BPF_F_RDONLY_PROG == 0,
        extra.flags & BPF_F_WRONLY_PROG == 0,
    )
}

/// The map kinds helper `helper` accepts as its map argument (empty if it
/// takes none).
pub fn map_kinds_for_helper(helper: i32) -> Vec<MapKind> {
    MAP_TYPES
        .iter()
        .filter(|i| i.helpers.contains(&helper))
        .map(|i| i.kind)
        .collect()
}

/// Check `flags` for a map of `info`'s type: unknown or unsupported
/// flags are refused by name.
pub fn check_flags(info: &MapTypeInfo, flags: u32) -> Result<(), String> {
    let extra = flags & !info.flags;
    if extra != 0 {
        return Err(format!(
            "map flags {} are not supported for {} maps",
            describe_flags(extra),
            info.name
        ));
    }
    let missing = info.required_flags & !flags;
    if missing != 0 {
        return Err(format!(
            "{} maps require map flags {}",
            info.name,
            describe_flags(missing)
        ));
    }
    for pair in [
        BPF_F_RDONLY | BPF_F_WRONLY,
        BPF_F_RDONLY_PROG | BPF_F_WRONLY_PROG,
    ] {
        if flags & pair == pair {
            return Err(format!(
                "map flags {} exclude each other",
                describe_flags(pair)
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_ids() {
        assert_eq!(map_type_name(9), Some("lru_hash"));
        assert_eq!(describe_map_type(27), "ringbuf (27)");
        assert_eq!(describe_map_type(99), "map type 99");
        for info in &MAP_TYPES {
            assert_eq!(map_type_name(info.id), Some(info.name));
            assert_eq!(MapKind::from_type(info.id), Some(info.kind));
            assert_eq!(info.kind.info(), info);
        }
        assert_eq!(
            describe_flags(BPF_F_RDONLY_PROG | BPF_F_MMAPABLE),
            "BPF_F_RDONLY_PROG | BPF_F_MMAPABLE"
        );
        assert_eq!(describe_flags(1 << 30), "0x40000000");
    }

    #[test]
    fn flags() {
        let lpm = MapKind::LpmTrie.info();
        let e = check_flags(lpm, 0).unwrap_err();
        assert_eq!(e, "lpm_trie maps require map flags BPF_F_NO_PREALLOC");
        check_flags(lpm, BPF_F_NO_PREALLOC).unwrap();
        let lru = check_flags(MapKind::LruHash.info(), BPF_F_NO_PREALLOC).unwrap_err();
        assert_eq!(
            lru,
            "map flags BPF_F_NO_PREALLOC are not supported for lru_hash maps"
        );
        let both = check_flags(MapKind::Hash.info(), BPF_F_RDONLY | BPF_F_WRONLY).unwrap_err();
        assert!(both.contains("exclude each other"), "{both}");
        assert!(helper_accepts_map(h::TAIL_CALL, MapKind::ProgArray));
        assert!(!helper_accepts_map(h::MAP_LOOKUP_ELEM, MapKind::ProgArray));
        assert_eq!(
            map_kinds_for_helper(h::REDIRECT_MAP),
            [MapKind::DevMap, MapKind::DevMapHash]
        );
    }
}
