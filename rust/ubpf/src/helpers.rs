// SPDX-License-Identifier: GPL-2.0-or-later

//! Helper functions the engine provides to programs, with the kernel's
//! helper IDs so that programs written for the kernel compile unchanged.
//!
//! Helpers never allocate and never panic.  The map helpers (map
//! lookups and updates, tail calls, redirects, ring buffers and perf
//! output) live in the maps module.

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
/// `u32 bpf_get_smp_processor_id(void)`
pub const GET_SMP_PROCESSOR_ID: i32 = 8;
/// `long bpf_skb_store_bytes(skb, u32 offset, const void *from, u32 len, u64 flags)`
pub const SKB_STORE_BYTES: i32 = 9;
/// `long bpf_l3_csum_replace(skb, u32 offset, u64 from, u64 to, u64 size)`
pub const L3_CSUM_REPLACE: i32 = 10;
/// `long bpf_l4_csum_replace(skb, u32 offset, u64 from, u64 to, u64 flags)`
pub const L4_CSUM_REPLACE: i32 = 11;
/// `long bpf_redirect(u32 ifindex, u64 flags)`
pub const REDIRECT: i32 = 23;
/// `long bpf_skb_load_bytes(skb, u32 offset, void *to, u32 len)`
pub const SKB_LOAD_BYTES: i32 = 26;
/// `s64 bpf_csum_diff(__be32 *from, u32 from_size, __be32 *to, u32 to_size, __wsum seed)`
pub const CSUM_DIFF: i32 = 28;
/// `long bpf_xdp_adjust_head(xdp_md, int delta)`
pub const XDP_ADJUST_HEAD: i32 = 44;
/// `long bpf_xdp_adjust_meta(xdp_md, int delta)`
pub const XDP_ADJUST_META: i32 = 54;
/// `long bpf_xdp_adjust_tail(xdp_md, int delta)`
pub const XDP_ADJUST_TAIL: i32 = 65;
/// `long bpf_skb_load_bytes_relative(skb, u32 offset, void *to, u32 len, u32 start_header)`
pub const SKB_LOAD_BYTES_RELATIVE: i32 = 68;
/// `u64 bpf_ktime_get_boot_ns(void)`
pub const KTIME_GET_BOOT_NS: i32 = 125;
/// `u64 bpf_xdp_get_buff_len(xdp_md)`
pub const XDP_GET_BUFF_LEN: i32 = 189;
/// `long bpf_xdp_load_bytes(xdp_md, u32 offset, void *buf, u32 len)`
pub const XDP_LOAD_BYTES: i32 = 190;
/// `long bpf_xdp_store_bytes(xdp_md, u32 offset, void *buf, u32 len)`
pub const XDP_STORE_BYTES: i32 = 191;
/// `long bpf_tail_call(void *ctx, struct bpf_map *prog_array_map, u32 index)`
pub const TAIL_CALL: i32 = 12;
/// `long bpf_perf_event_output(void *ctx, struct bpf_map *map, u64 flags, void *data, u64 size)`
pub const PERF_EVENT_OUTPUT: i32 = 25;
/// `long bpf_redirect_map(struct bpf_map *map, u64 key, u64 flags)`
pub const REDIRECT_MAP: i32 = 51;
/// `long bpf_skb_output(...)` (tracing programs; named for the map table)
pub const SKB_OUTPUT: i32 = 111;
/// `long bpf_xdp_output(...)` (tracing programs; named for the map table)
pub const XDP_OUTPUT: i32 = 121;
/// `long bpf_ringbuf_output(void *ringbuf, void *data, u64 size, u64 flags)`
pub const RINGBUF_OUTPUT: i32 = 130;
/// `void *bpf_ringbuf_reserve(void *ringbuf, u64 size, u64 flags)`
pub const RINGBUF_RESERVE: i32 = 131;
/// `void bpf_ringbuf_submit(void *data, u64 flags)`
pub const RINGBUF_SUBMIT: i32 = 132;
/// `void bpf_ringbuf_discard(void *data, u64 flags)`
pub const RINGBUF_DISCARD: i32 = 133;
/// `u64 bpf_ringbuf_query(void *ringbuf, u64 flags)`
pub const RINGBUF_QUERY: i32 = 134;
/// `void *bpf_map_lookup_percpu_elem(struct bpf_map *map, const void *key, u32 cpu)`
pub const MAP_LOOKUP_PERCPU_ELEM: i32 = 195;

/// Internal helper of `ld_abs`/`ld_ind` of one byte (`ctx`, `int offset`):
/// the byte, or a negative errno when the offset is out of range.  Only
/// the load-time rewrite inserts calls to it ([`is_known`] is false:
/// programs cannot call it).  The kernel's `bpf_skb_load_helper_8`.
pub const LD_ABS_B: i32 = 0x7fff_0001;
/// As [`LD_ABS_B`], two bytes in network order, returned in host order.
pub const LD_ABS_H: i32 = 0x7fff_0002;
/// As [`LD_ABS_B`], four bytes in network order, returned in host order.
pub const LD_ABS_W: i32 = 0x7fff_0003;

/// Whether `id` is an internal helper (see [`LD_ABS_B`]).
pub const fn is_internal(id: i32) -> bool {
    matches!(id, LD_ABS_B | LD_ABS_H | LD_ABS_W)
}

/// The kernel's name of helper `id` (`44` is `"bpf_xdp_adjust_head"`).
pub fn helper_name(id: i32) -> Option<String> {
    if is_internal(id) {
        return signature(id).map(|s| s.name.to_owned());
    }
    let name = HELPER_NAMES.get(usize::try_from(id).ok()?)?;
    (id != 0).then(|| format!("bpf_{name}"))
}

/// `helper 44 (bpf_xdp_adjust_head)`, or `helper 999` for IDs the kernel
/// does not have.
pub fn describe_helper(id: i32) -> String {
    match helper_name(id) {
        Some(name) => format!("helper {id} ({name})"),
        None => format!("helper {id}"),
    }
}

/// Whether a helper ID is provided: one of [`ALL`] that programs may
/// call (the internal IDs only come from the engine's rewrites).
pub const fn is_known(id: i32) -> bool {
    let mut i = 0;
    while i < ALL.len() {
        if ALL[i].0 == id {
            return !is_internal(id);
        }
        i += 1;
    }
    false
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
    /// A non-NULL record pointer from `bpf_ringbuf_reserve`, at its start:
    /// the helper releases it (`bpf_ringbuf_submit`, `_discard`).
    ReleaseRecord,
    /// The context pointer (r1 as the program received it).
    Ctx,
    /// A pointer to memory the helper writes (stack, packet or map
    /// value) of the size in argument register `size`: stack bytes
    /// need not be initialised, and are afterwards.
    WriteMem {
        /// The argument holding the size.
        size: u8,
    },
    /// [`Arg::ReadMem`], or NULL when the size is 0.
    ReadMemOrNull {
        /// The argument holding the size.
        size: u8,
    },
}

/// What a helper returns in r0.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Ret {
    /// Any 64-bit number.
    Scalar,
    /// A number below 2^32.
    U32,
    /// A value of this many bytes (zero-extended), or a negative errno.
    LoadOrError(u8),
    /// A pointer to a value of the map argument, or NULL.
    MapValueOrNull,
    /// A ring buffer record of the size in r2 (a constant), or NULL: a
    /// reference the program must release.
    RecordOrNull,
    /// Nothing (r0 is not readable afterwards).
    Void,
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
    /// Whether the helper may move or resize the packet: packet
    /// pointers are invalid after the call (the kernel's
    /// `bpf_helper_changes_pkt_data`).
    pub changes_packet: bool,
    /// Whether memory arguments may point into the packet (the kernel's
    /// `pkt_access`: the map helpers and `bpf_csum_diff`; other helpers
    /// refuse packet memory, "helper access to the packet is not
    /// allowed").
    pub packet_memory: bool,
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
            changes_packet: false,
            packet_memory: true,
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
            changes_packet: false,
            packet_memory: true,
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
            changes_packet: false,
            packet_memory: true,
        },
        KTIME_GET_NS => Signature {
            name: "ktime_get_ns",
            args: NONE,
            ret: Ret::Scalar,
            changes_packet: false,
            packet_memory: false,
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
            changes_packet: false,
            packet_memory: false,
        },
        GET_PRANDOM_U32 => Signature {
            name: "get_prandom_u32",
            args: NONE,
            ret: Ret::U32,
            changes_packet: false,
            packet_memory: false,
        },
        // The map arguments below must also be of a kind the helper
        // accepts: `crate::maps::helper_accepts_map`.
        TAIL_CALL => Signature {
            name: "tail_call",
            args: [
                Arg::Any,
                Arg::ConstMapPtr,
                Arg::Scalar,
                Arg::Unused,
                Arg::Unused,
            ],
            ret: Ret::Scalar,
            changes_packet: false,
            packet_memory: false,
        },
        PERF_EVENT_OUTPUT => Signature {
            name: "perf_event_output",
            args: [
                Arg::Any,
                Arg::ConstMapPtr,
                Arg::Scalar,
                Arg::ReadMem { size: 5 },
                Arg::Size,
            ],
            ret: Ret::Scalar,
            changes_packet: false,
            packet_memory: false,
        },
        REDIRECT_MAP => Signature {
            name: "redirect_map",
            args: [
                Arg::ConstMapPtr,
                Arg::Scalar,
                Arg::Scalar,
                Arg::Unused,
                Arg::Unused,
            ],
            ret: Ret::Scalar,
            changes_packet: false,
            packet_memory: false,
        },
        RINGBUF_RESERVE => Signature {
            name: "ringbuf_reserve",
            args: [
                Arg::ConstMapPtr,
                Arg::Scalar,
                Arg::Scalar,
                Arg::Unused,
                Arg::Unused,
            ],
            ret: Ret::RecordOrNull,
            changes_packet: false,
            packet_memory: false,
        },
        RINGBUF_SUBMIT => Signature {
            name: "ringbuf_submit",
            args: [
                Arg::ReleaseRecord,
                Arg::Scalar,
                Arg::Unused,
                Arg::Unused,
                Arg::Unused,
            ],
            ret: Ret::Void,
            changes_packet: false,
            packet_memory: false,
        },
        RINGBUF_DISCARD => Signature {
            name: "ringbuf_discard",
            args: [
                Arg::ReleaseRecord,
                Arg::Scalar,
                Arg::Unused,
                Arg::Unused,
                Arg::Unused,
            ],
            ret: Ret::Void,
            changes_packet: false,
            packet_memory: false,
        },
        RINGBUF_OUTPUT => Signature {
            name: "ringbuf_output",
            args: [
                Arg::ConstMapPtr,
                Arg::ReadMem { size: 3 },
                Arg::Size,
                Arg::Scalar,
                Arg::Unused,
            ],
            ret: Ret::Scalar,
            changes_packet: false,
            packet_memory: false,
        },
        RINGBUF_QUERY => Signature {
            name: "ringbuf_query",
            args: [
                Arg::ConstMapPtr,
                Arg::Scalar,
                Arg::Unused,
                Arg::Unused,
                Arg::Unused,
            ],
            ret: Ret::Scalar,
            changes_packet: false,
            packet_memory: false,
        },
        MAP_LOOKUP_PERCPU_ELEM => Signature {
            name: "map_lookup_percpu_elem",
            args: [
                Arg::ConstMapPtr,
                Arg::MapKey,
                Arg::Scalar,
                Arg::Unused,
                Arg::Unused,
            ],
            ret: Ret::MapValueOrNull,
            changes_packet: false,
            packet_memory: true,
        },
        GET_SMP_PROCESSOR_ID => Signature {
            name: "get_smp_processor_id",
            args: NONE,
            ret: Ret::U32,
            changes_packet: false,
            packet_memory: false,
        },
        KTIME_GET_BOOT_NS => Signature {
            name: "ktime_get_boot_ns",
            args: NONE,
            ret: Ret::Scalar,
            changes_packet: false,
            packet_memory: false,
        },
        REDIRECT => Signature {
            name: "redirect",
            args: [
                Arg::Scalar,
                Arg::Scalar,
                Arg::Unused,
                Arg::Unused,
                Arg::Unused,
            ],
            ret: Ret::Scalar,
            changes_packet: false,
            packet_memory: false,
        },
        CSUM_DIFF => Signature {
            name: "csum_diff",
            args: [
                Arg::ReadMemOrNull { size: 2 },
                Arg::Size,
                Arg::ReadMemOrNull { size: 4 },
                Arg::Size,
                Arg::Scalar,
            ],
            ret: Ret::Scalar,
            changes_packet: false,
            packet_memory: true,
        },
        SKB_LOAD_BYTES | XDP_LOAD_BYTES => Signature {
            name: if id == SKB_LOAD_BYTES {
                "skb_load_bytes"
            } else {
                "xdp_load_bytes"
            },
            args: [
                Arg::Ctx,
                Arg::Scalar,
                Arg::WriteMem { size: 4 },
                Arg::Size,
                Arg::Unused,
            ],
            ret: Ret::Scalar,
            changes_packet: false,
            packet_memory: false,
        },
        SKB_LOAD_BYTES_RELATIVE => Signature {
            name: "skb_load_bytes_relative",
            args: [
                Arg::Ctx,
                Arg::Scalar,
                Arg::WriteMem { size: 4 },
                Arg::Size,
                Arg::Scalar,
            ],
            ret: Ret::Scalar,
            changes_packet: false,
            packet_memory: false,
        },
        SKB_STORE_BYTES => Signature {
            name: "skb_store_bytes",
            args: [
                Arg::Ctx,
                Arg::Scalar,
                Arg::ReadMem { size: 4 },
                Arg::Size,
                Arg::Scalar,
            ],
            ret: Ret::Scalar,
            changes_packet: true,
            packet_memory: false,
        },
        XDP_STORE_BYTES => Signature {
            name: "xdp_store_bytes",
            args: [
                Arg::Ctx,
                Arg::Scalar,
                Arg::ReadMem { size: 4 },
                Arg::Size,
                Arg::Unused,
            ],
            ret: Ret::Scalar,
            changes_packet: false,
            packet_memory: false,
        },
        L3_CSUM_REPLACE | L4_CSUM_REPLACE => Signature {
            name: if id == L3_CSUM_REPLACE {
                "l3_csum_replace"
            } else {
                "l4_csum_replace"
            },
            args: [Arg::Ctx, Arg::Scalar, Arg::Scalar, Arg::Scalar, Arg::Scalar],
            ret: Ret::Scalar,
            changes_packet: true,
            packet_memory: false,
        },
        XDP_ADJUST_HEAD | XDP_ADJUST_TAIL | XDP_ADJUST_META => Signature {
            name: match id {
                XDP_ADJUST_HEAD => "xdp_adjust_head",
                XDP_ADJUST_TAIL => "xdp_adjust_tail",
                _ => "xdp_adjust_meta",
            },
            args: [Arg::Ctx, Arg::Scalar, Arg::Unused, Arg::Unused, Arg::Unused],
            ret: Ret::Scalar,
            changes_packet: true,
            packet_memory: false,
        },
        LD_ABS_B | LD_ABS_H | LD_ABS_W => Signature {
            name: match id {
                LD_ABS_B => "ld_abs/ld_ind (1 byte)",
                LD_ABS_H => "ld_abs/ld_ind (2 bytes)",
                _ => "ld_abs/ld_ind (4 bytes)",
            },
            // r1 is the context (r6): checked where the context is
            // followed (crate::context), as the kernel's rule is about r6
            args: [
                Arg::Unused,
                Arg::Scalar,
                Arg::Unused,
                Arg::Unused,
                Arg::Unused,
            ],
            ret: Ret::LoadOrError(match id {
                LD_ABS_B => 1,
                LD_ABS_H => 2,
                _ => 4,
            }),
            changes_packet: false,
            packet_memory: false,
        },
        XDP_GET_BUFF_LEN => Signature {
            name: "xdp_get_buff_len",
            args: [Arg::Ctx, Arg::Unused, Arg::Unused, Arg::Unused, Arg::Unused],
            ret: Ret::Scalar,
            changes_packet: false,
            packet_memory: false,
        },
        _ => return None,
    })
}

/// The helpers, as registered into rbpf.
pub(crate) const ALL: [(i32, rbpf::Helper); 33] = [
    (LD_ABS_B, crate::packet::ld_abs_b),
    (LD_ABS_H, crate::packet::ld_abs_h),
    (LD_ABS_W, crate::packet::ld_abs_w),
    (GET_SMP_PROCESSOR_ID, get_smp_processor_id),
    (KTIME_GET_BOOT_NS, ktime_get_boot_ns),
    (REDIRECT, crate::packet::redirect),
    (CSUM_DIFF, crate::packet::csum_diff),
    (SKB_LOAD_BYTES, crate::packet::skb_load_bytes),
    (
        SKB_LOAD_BYTES_RELATIVE,
        crate::packet::skb_load_bytes_relative,
    ),
    (SKB_STORE_BYTES, crate::packet::skb_store_bytes),
    (L3_CSUM_REPLACE, crate::packet::l3_csum_replace),
    (L4_CSUM_REPLACE, crate::packet::l4_csum_replace),
    (XDP_ADJUST_HEAD, crate::packet::xdp_adjust_head),
    (XDP_ADJUST_TAIL, crate::packet::xdp_adjust_tail),
    (XDP_ADJUST_META, crate::packet::xdp_adjust_meta),
    (XDP_GET_BUFF_LEN, crate::packet::xdp_get_buff_len),
    (XDP_LOAD_BYTES, crate::packet::xdp_load_bytes),
    (XDP_STORE_BYTES, crate::packet::xdp_store_bytes),
    (MAP_LOOKUP_ELEM, crate::maps::lookup_elem),
    (MAP_UPDATE_ELEM, crate::maps::update_elem),
    (MAP_DELETE_ELEM, crate::maps::delete_elem),
    (TAIL_CALL, crate::maps::tail_call),
    (PERF_EVENT_OUTPUT, crate::maps::perf_event_output),
    (REDIRECT_MAP, crate::maps::redirect_map),
    (RINGBUF_OUTPUT, crate::maps::ringbuf_output),
    (RINGBUF_RESERVE, crate::maps::ringbuf_reserve),
    (RINGBUF_SUBMIT, crate::maps::ringbuf_submit),
    (RINGBUF_DISCARD, crate::maps::ringbuf_discard),
    (RINGBUF_QUERY, crate::maps::ringbuf_query),
    (MAP_LOOKUP_PERCPU_ELEM, crate::maps::lookup_percpu_elem),
    (KTIME_GET_NS, ktime_get_ns),
    (TRACE_PRINTK, crate::packet::trace_printk),
    (GET_PRANDOM_U32, get_prandom_u32),
];

const fn get_smp_processor_id(_: u64, _: u64, _: u64, _: u64, _: u64) -> u64 {
    0
}

fn ktime_get_boot_ns(_: u64, _: u64, _: u64, _: u64, _: u64) -> u64 {
    clock(libc::CLOCK_BOOTTIME)
}

fn ktime_get_ns(_: u64, _: u64, _: u64, _: u64, _: u64) -> u64 {
    clock(libc::CLOCK_MONOTONIC)
}

fn clock(id: libc::clockid_t) -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec; the clocks used
    // (CLOCK_MONOTONIC, CLOCK_BOOTTIME) exist on the hosts QEMU supports.
    let ret = unsafe { libc::clock_gettime(id, &raw mut ts) };
    if ret != 0 {
        return 0;
    }
    let secs = u64::try_from(ts.tv_sec).unwrap_or(0);
    let nsecs = u64::try_from(ts.tv_nsec).unwrap_or(0);
    secs.wrapping_mul(1_000_000_000).wrapping_add(nsecs)
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

/// Kernel names of the helpers (`enum bpf_func_id`), indexed by ID,
/// without the `bpf_` prefix; for messages.
const HELPER_NAMES: [&str; 212] = [
    "unspec",
    "map_lookup_elem",
    "map_update_elem",
    "map_delete_elem",
    "probe_read",
    "ktime_get_ns",
    "trace_printk",
    "get_prandom_u32",
    "get_smp_processor_id",
    "skb_store_bytes",
    "l3_csum_replace",
    "l4_csum_replace",
    "tail_call",
    "clone_redirect",
    "get_current_pid_tgid",
    "get_current_uid_gid",
    "get_current_comm",
    "get_cgroup_classid",
    "skb_vlan_push",
    "skb_vlan_pop",
    "skb_get_tunnel_key",
    "skb_set_tunnel_key",
    "perf_event_read",
    "redirect",
    "get_route_realm",
    "perf_event_output",
    "skb_load_bytes",
    "get_stackid",
    "csum_diff",
    "skb_get_tunnel_opt",
    "skb_set_tunnel_opt",
    "skb_change_proto",
    "skb_change_type",
    "skb_under_cgroup",
    "get_hash_recalc",
    "get_current_task",
    "probe_write_user",
    "current_task_under_cgroup",
    "skb_change_tail",
    "skb_pull_data",
    "csum_update",
    "set_hash_invalid",
    "get_numa_node_id",
    "skb_change_head",
    "xdp_adjust_head",
    "probe_read_str",
    "get_socket_cookie",
    "get_socket_uid",
    "set_hash",
    "setsockopt",
    "skb_adjust_room",
    "redirect_map",
    "sk_redirect_map",
    "sock_map_update",
    "xdp_adjust_meta",
    "perf_event_read_value",
    "perf_prog_read_value",
    "getsockopt",
    "override_return",
    "sock_ops_cb_flags_set",
    "msg_redirect_map",
    "msg_apply_bytes",
    "msg_cork_bytes",
    "msg_pull_data",
    "bind",
    "xdp_adjust_tail",
    "skb_get_xfrm_state",
    "get_stack",
    "skb_load_bytes_relative",
    "fib_lookup",
    "sock_hash_update",
    "msg_redirect_hash",
    "sk_redirect_hash",
    "lwt_push_encap",
    "lwt_seg6_store_bytes",
    "lwt_seg6_adjust_srh",
    "lwt_seg6_action",
    "rc_repeat",
    "rc_keydown",
    "skb_cgroup_id",
    "get_current_cgroup_id",
    "get_local_storage",
    "sk_select_reuseport",
    "skb_ancestor_cgroup_id",
    "sk_lookup_tcp",
    "sk_lookup_udp",
    "sk_release",
    "map_push_elem",
    "map_pop_elem",
    "map_peek_elem",
    "msg_push_data",
    "msg_pop_data",
    "rc_pointer_rel",
    "spin_lock",
    "spin_unlock",
    "sk_fullsock",
    "tcp_sock",
    "skb_ecn_set_ce",
    "get_listener_sock",
    "skc_lookup_tcp",
    "tcp_check_syncookie",
    "sysctl_get_name",
    "sysctl_get_current_value",
    "sysctl_get_new_value",
    "sysctl_set_new_value",
    "strtol",
    "strtoul",
    "sk_storage_get",
    "sk_storage_delete",
    "send_signal",
    "tcp_gen_syncookie",
    "skb_output",
    "probe_read_user",
    "probe_read_kernel",
    "probe_read_user_str",
    "probe_read_kernel_str",
    "tcp_send_ack",
    "send_signal_thread",
    "jiffies64",
    "read_branch_records",
    "get_ns_current_pid_tgid",
    "xdp_output",
    "get_netns_cookie",
    "get_current_ancestor_cgroup_id",
    "sk_assign",
    "ktime_get_boot_ns",
    "seq_printf",
    "seq_write",
    "sk_cgroup_id",
    "sk_ancestor_cgroup_id",
    "ringbuf_output",
    "ringbuf_reserve",
    "ringbuf_submit",
    "ringbuf_discard",
    "ringbuf_query",
    "csum_level",
    "skc_to_tcp6_sock",
    "skc_to_tcp_sock",
    "skc_to_tcp_timewait_sock",
    "skc_to_tcp_request_sock",
    "skc_to_udp6_sock",
    "get_task_stack",
    "load_hdr_opt",
    "store_hdr_opt",
    "reserve_hdr_opt",
    "inode_storage_get",
    "inode_storage_delete",
    "d_path",
    "copy_from_user",
    "snprintf_btf",
    "seq_printf_btf",
    "skb_cgroup_classid",
    "redirect_neigh",
    "per_cpu_ptr",
    "this_cpu_ptr",
    "redirect_peer",
    "task_storage_get",
    "task_storage_delete",
    "get_current_task_btf",
    "bprm_opts_set",
    "ktime_get_coarse_ns",
    "ima_inode_hash",
    "sock_from_file",
    "check_mtu",
    "for_each_map_elem",
    "snprintf",
    "sys_bpf",
    "btf_find_by_name_kind",
    "sys_close",
    "timer_init",
    "timer_set_callback",
    "timer_start",
    "timer_cancel",
    "get_func_ip",
    "get_attach_cookie",
    "task_pt_regs",
    "get_branch_snapshot",
    "trace_vprintk",
    "skc_to_unix_sock",
    "kallsyms_lookup_name",
    "find_vma",
    "loop",
    "strncmp",
    "get_func_arg",
    "get_func_ret",
    "get_func_arg_cnt",
    "get_retval",
    "set_retval",
    "xdp_get_buff_len",
    "xdp_load_bytes",
    "xdp_store_bytes",
    "copy_from_user_task",
    "skb_set_tstamp",
    "ima_file_hash",
    "kptr_xchg",
    "map_lookup_percpu_elem",
    "skc_to_mptcp_sock",
    "dynptr_from_mem",
    "ringbuf_reserve_dynptr",
    "ringbuf_submit_dynptr",
    "ringbuf_discard_dynptr",
    "dynptr_read",
    "dynptr_write",
    "dynptr_data",
    "tcp_raw_gen_syncookie_ipv4",
    "tcp_raw_gen_syncookie_ipv6",
    "tcp_raw_check_syncookie_ipv4",
    "tcp_raw_check_syncookie_ipv6",
    "ktime_get_tai_ns",
    "user_ringbuf_drain",
    "cgrp_storage_get",
    "cgrp_storage_delete",
];
