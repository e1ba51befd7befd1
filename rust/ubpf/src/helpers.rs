// SPDX-License-Identifier: GPL-2.0-or-later

//! Helper functions the engine provides to programs, with the kernel's
//! helper IDs so that programs written for the kernel compile unchanged.
//!
//! Helpers never allocate and never panic.  The map helpers (1-3) live
//! in the maps module.

use std::sync::atomic::{AtomicU64, Ordering};

/// `void *bpf_map_lookup_elem(struct bpf_map *map, const void *key)`
pub const MAP_LOOKUP_ELEM: i32 = 1;
/// `long bpf_map_update_elem(struct bpf_map *map, const void *key, const void *value, u64 flags)`
pub const MAP_UPDATE_ELEM: i32 = 2;
/// `long bpf_map_delete_elem(struct bpf_map *map, const void *key)`
pub const MAP_DELETE_ELEM: i32 = 3;
/// `u64 bpf_ktime_get_ns(void)`
pub const KTIME_GET_NS: i32 = 5;
/// `long bpf_trace_printk(const char *fmt, u32 fmt_size, ...)`
pub const TRACE_PRINTK: i32 = 6;
/// `u32 bpf_get_prandom_u32(void)`
pub const GET_PRANDOM_U32: i32 = 7;

/// Whether a helper ID is provided.
pub const fn is_known(id: i32) -> bool {
    matches!(
        id,
        MAP_LOOKUP_ELEM
            | MAP_UPDATE_ELEM
            | MAP_DELETE_ELEM
            | KTIME_GET_NS
            | TRACE_PRINTK
            | GET_PRANDOM_U32
    )
}

/// What a helper expects in one argument register (checked by the
/// verifier).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Arg {
    /// Not read by the helper: anything, even uninitialised.
    Unused,
    /// Any initialised value.
    Any,
    /// A pointer to initialised, readable memory (stack, packet or map
    /// value) of the size held in argument register `size` (1-based,
    /// r1..r5).
    ReadMem {
        /// The argument holding the size.
        size: u8,
    },
    /// A scalar: the size of a memory argument (at most 512).
    Size,
    /// Any scalar (flags).
    Scalar,
    /// A map's handle, as an `lddw` of the map loads it.
    ConstMapPtr,
    /// A pointer to initialised, readable memory of the map argument's
    /// key size.
    MapKey,
    /// A pointer to initialised, readable memory of the map argument's
    /// value size.
    MapValue,
}

/// What a helper returns in r0.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Ret {
    /// Any 64-bit number.
    Scalar,
    /// A number below 2^32.
    U32,
    /// A pointer to a value of the map argument, or NULL.
    MapValueOrNull,
}

/// The signature of a helper, for the verifier.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Signature {
    /// The helper's name (as in the kernel, without `bpf_`).
    pub name: &'static str,
    /// r1..r5.
    pub args: [Arg; 5],
    /// r0 after the call; r1-r5 are clobbered.
    pub ret: Ret,
}

/// The signature of helper `id`, if provided.
pub const fn signature(id: i32) -> Option<Signature> {
    const NONE: [Arg; 5] = [Arg::Unused; 5];
    Some(match id {
        MAP_LOOKUP_ELEM => Signature {
            name: "map_lookup_elem",
            args: [
                Arg::ConstMapPtr,
                Arg::MapKey,
                Arg::Unused,
                Arg::Unused,
                Arg::Unused,
            ],
            ret: Ret::MapValueOrNull,
        },
        MAP_UPDATE_ELEM => Signature {
            name: "map_update_elem",
            args: [
                Arg::ConstMapPtr,
                Arg::MapKey,
                Arg::MapValue,
                Arg::Scalar,
                Arg::Unused,
            ],
            ret: Ret::Scalar,
        },
        MAP_DELETE_ELEM => Signature {
            name: "map_delete_elem",
            args: [
                Arg::ConstMapPtr,
                Arg::MapKey,
                Arg::Unused,
                Arg::Unused,
                Arg::Unused,
            ],
            ret: Ret::Scalar,
        },
        KTIME_GET_NS => Signature {
            name: "ktime_get_ns",
            args: NONE,
            ret: Ret::Scalar,
        },
        TRACE_PRINTK => Signature {
            name: "trace_printk",
            args: [
                Arg::ReadMem { size: 2 },
                Arg::Size,
                Arg::Unused,
                Arg::Unused,
                Arg::Unused,
            ],
            ret: Ret::Scalar,
        },
        GET_PRANDOM_U32 => Signature {
            name: "get_prandom_u32",
            args: NONE,
            ret: Ret::U32,
        },
        _ => return None,
    })
}

/// The helpers, as registered into rbpf.
pub(crate) const ALL: [(i32, rbpf::Helper); 6] = [
    (MAP_LOOKUP_ELEM, crate::maps::lookup_elem),
    (MAP_UPDATE_ELEM, crate::maps::update_elem),
    (MAP_DELETE_ELEM, crate::maps::delete_elem),
    (KTIME_GET_NS, ktime_get_ns),
    (TRACE_PRINTK, trace_printk),
    (GET_PRANDOM_U32, get_prandom_u32),
];

fn ktime_get_ns(_: u64, _: u64, _: u64, _: u64, _: u64) -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec; CLOCK_MONOTONIC always
    // exists on the hosts QEMU supports.
    let ret = unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &raw mut ts) };
    if ret != 0 {
        return 0;
    }
    let secs = u64::try_from(ts.tv_sec).unwrap_or(0);
    let nsecs = u64::try_from(ts.tv_nsec).unwrap_or(0);
    secs.wrapping_mul(1_000_000_000).wrapping_add(nsecs)
}

/// `bpf_trace_printk`: accepted and ignored (the format string lives in
/// program memory that the helper cannot check); returns 0.
const fn trace_printk(_: u64, _: u64, _: u64, _: u64, _: u64) -> u64 {
    0
}

static PRANDOM_STATE: AtomicU64 = AtomicU64::new(0);

/// Seed the pseudo-random generator of `bpf_get_prandom_u32` (tests use
/// this for reproducible runs).  Without a seed, the first call seeds it
/// from the monotonic clock.
pub fn seed_prandom(seed: u64) {
    PRANDOM_STATE.store(seed | 1, Ordering::Relaxed);
}

fn get_prandom_u32(_: u64, _: u64, _: u64, _: u64, _: u64) -> u64 {
    const GOLDEN: u64 = 0x9e37_79b9_7f4a_7c15;
    if PRANDOM_STATE.load(Ordering::Relaxed) == 0 {
        let seed = ktime_get_ns(0, 0, 0, 0, 0) | 1;
        let _ = PRANDOM_STATE.compare_exchange(0, seed, Ordering::Relaxed, Ordering::Relaxed);
    }
    // splitmix64 step: lock-free and allocation-free
    let mut z = PRANDOM_STATE
        .fetch_add(GOLDEN, Ordering::Relaxed)
        .wrapping_add(GOLDEN);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^= z >> 31;
    z >> 32
}
