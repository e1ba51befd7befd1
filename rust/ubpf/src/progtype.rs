// SPDX-License-Identifier: GPL-2.0-or-later

//! Kernel program types as data.
//!
//! Each [`ProgType`] has one [`TypeInfo`]: its name, the libbpf section
//! names that select it, the layout of its context (`struct xdp_md`,
//! `struct __sk_buff`: every field the engine provides, at the kernel's
//! offset, with its kind and whether the program may write it), the
//! helpers it may call, and how its return value maps to a [`Verdict`].
//! Adding a type means adding one entry here.
//!
//! # The engine's context block
//!
//! The program's r1 points to a [`CTX_BLOCK`]-byte block owned by the
//! [`crate::Vm`]: the 64-bit packet pointers `data` at 0, `data_end` at
//! 8, `data_meta` at 16 (so `struct ubpf_md { __u64 data, data_end; }`
//! reads it directly), and from [`CTX_FIELDS`] on an image of the
//! kernel structure, each scalar field at [`CTX_FIELDS`] + its kernel
//! offset.  At load time every context access of the program is
//! rewritten into an access of the block (see `context.rs`): a 4-byte
//! load of a pointer field becomes an 8-byte load of the pointer, a
//! scalar field access moves by [`CTX_FIELDS`].  Verified and unverified
//! programs get the same rewriting; an access of anything not described
//! here is refused at load time, like the kernel does.

use crate::helpers;
use crate::maps::Redirect;
use crate::verifier::Convention;

/// Bytes of the engine's context block.
pub const CTX_BLOCK: usize = 256;
/// Offset of the kernel structure's image in the block.
pub const CTX_FIELDS: usize = 32;
/// Block offset of the 64-bit `data` pointer.
pub const CTX_DATA: usize = 0;
/// Block offset of the 64-bit `data_end` pointer.
pub const CTX_DATA_END: usize = 8;
/// Block offset of the 64-bit `data_meta` pointer.
pub const CTX_DATA_META: usize = 16;

/// Bytes of headroom the engine's packet buffer keeps in front of the
/// packet (the kernel's `XDP_PACKET_HEADROOM`), for
/// `bpf_xdp_adjust_head` and `bpf_xdp_adjust_meta`.
pub const HEADROOM: usize = 256;
/// Most bytes of metadata `bpf_xdp_adjust_meta` puts in front of the
/// packet (a multiple of 4), as in the kernel: `data_meta` is never more
/// than this before `data` (the verifier relies on it).
pub const MAX_META: u64 = 32;
/// Bytes of tailroom behind the packet, for `bpf_xdp_adjust_tail`.
pub const TAILROOM: usize = 256;

/// A program type.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ProgType {
    /// The original series' convention: `int prog(void *pkt, size_t
    /// len)` (r1 = packet, r2 = length); non-zero drops.  Sections
    /// `ubpf` and every name no other type claims.
    #[default]
    Ubpf,
    /// `BPF_PROG_TYPE_XDP`: `struct xdp_md`, `XDP_*` verdicts.
    Xdp,
    /// `BPF_PROG_TYPE_SCHED_CLS` (tc): `struct __sk_buff`, `TC_ACT_*`.
    SchedCls,
    /// `BPF_PROG_TYPE_SOCKET_FILTER`: `struct __sk_buff` (read-only
    /// but `cb`), the return value is the number of bytes to keep.
    SocketFilter,
}

/// What a context field holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FieldKind {
    /// Pointer to the packet's first byte.
    Data,
    /// Pointer just past the packet's last byte.
    DataEnd,
    /// Pointer to the packet metadata (before `data`).
    DataMeta,
    /// A number of at most `max`.
    Scalar {
        /// Largest value.
        max: u64,
    },
}

/// One field of a program type's context.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CtxField {
    /// Its name in the kernel structure.
    pub name: &'static str,
    /// Offset in the kernel structure.
    pub off: u16,
    /// Bytes of the field (arrays: all elements).
    pub size: u16,
    /// Bytes of one element (accesses stay within one).
    pub elem: u16,
    /// What it holds.
    pub kind: FieldKind,
    /// Whether the program may write it.
    pub write: bool,
    /// Whether narrower (1-, 2-byte) aligned loads are allowed.
    pub narrow: bool,
}

impl CtxField {
    /// Whether the field is one of the packet pointers.
    pub const fn is_pointer(&self) -> bool {
        !matches!(self.kind, FieldKind::Scalar { .. })
    }

    /// Offset of the field's value in the engine's context block.
    pub const fn block_off(&self) -> usize {
        match self.kind {
            FieldKind::Data => CTX_DATA,
            FieldKind::DataEnd => CTX_DATA_END,
            FieldKind::DataMeta => CTX_DATA_META,
            FieldKind::Scalar { .. } => CTX_FIELDS + self.off as usize,
        }
    }
}

const U32: u64 = u32::MAX as u64;

const fn ptr(name: &'static str, off: u16, kind: FieldKind) -> CtxField {
    CtxField {
        name,
        off,
        size: 4,
        elem: 4,
        kind,
        write: false,
        narrow: false,
    }
}

const fn num(name: &'static str, off: u16, max: u64, write: bool) -> CtxField {
    CtxField {
        name,
        off,
        size: 4,
        elem: 4,
        kind: FieldKind::Scalar { max },
        write,
        narrow: true,
    }
}

/// `struct ubpf_md { __u64 data, data_end; }` (the engine's own).
const UBPF_MD: [CtxField; 2] = [
    CtxField {
        size: 8,
        elem: 8,
        ..ptr("data", 0, FieldKind::Data)
    },
    CtxField {
        size: 8,
        elem: 8,
        ..ptr("data_end", 8, FieldKind::DataEnd)
    },
];

/// `struct xdp_md` (UAPI): 4-byte loads only; nothing writable;
/// `egress_ifindex` only for devmap programs (refused here).
const XDP_MD: [CtxField; 7] = [
    ptr("data", 0, FieldKind::Data),
    ptr("data_end", 4, FieldKind::DataEnd),
    ptr("data_meta", 8, FieldKind::DataMeta),
    CtxField {
        narrow: false,
        ..num("ingress_ifindex", 12, U32, false)
    },
    CtxField {
        narrow: false,
        ..num("rx_queue_index", 16, U32, false)
    },
    UBPF_MD[0],
    UBPF_MD[1],
];

/// `struct __sk_buff` of tc programs (UAPI offsets).
const SKB_TC: [CtxField; 19] = [
    num("len", 0, U32, false),
    num("pkt_type", 4, 7, false),
    num("mark", 8, U32, true),
    num("queue_mapping", 12, 0xffff, true),
    num("protocol", 16, 0xffff, false),
    num("vlan_present", 20, 1, false),
    num("vlan_tci", 24, 0xffff, false),
    num("vlan_proto", 28, 0xffff, false),
    num("priority", 32, U32, true),
    num("ingress_ifindex", 36, U32, false),
    num("ifindex", 40, U32, false),
    num("tc_index", 44, 0xffff, true),
    CtxField {
        size: 20,
        ..num("cb", 48, U32, true)
    },
    num("hash", 68, U32, false),
    num("tc_classid", 72, 0xffff, true),
    ptr("data", 76, FieldKind::Data),
    ptr("data_end", 80, FieldKind::DataEnd),
    num("napi_id", 84, U32, false),
    ptr("data_meta", 140, FieldKind::DataMeta),
];

/// `struct __sk_buff` of socket filters: no packet pointers, no
/// `tc_classid`; only `cb` writable.
const SKB_SOCKET: [CtxField; 15] = [
    num("len", 0, U32, false),
    num("pkt_type", 4, 7, false),
    num("mark", 8, U32, false),
    num("queue_mapping", 12, 0xffff, false),
    num("protocol", 16, 0xffff, false),
    num("vlan_present", 20, 1, false),
    num("vlan_tci", 24, 0xffff, false),
    num("vlan_proto", 28, 0xffff, false),
    num("priority", 32, U32, false),
    num("ingress_ifindex", 36, U32, false),
    num("ifindex", 40, U32, false),
    num("tc_index", 44, 0xffff, false),
    CtxField {
        size: 20,
        ..num("cb", 48, U32, true)
    },
    num("hash", 68, U32, false),
    num("napi_id", 84, U32, false),
];

/// Helpers every type may call.
const COMMON_HELPERS: &[i32] = &[
    helpers::MAP_LOOKUP_ELEM,
    helpers::MAP_UPDATE_ELEM,
    helpers::MAP_DELETE_ELEM,
    helpers::KTIME_GET_NS,
    helpers::TRACE_PRINTK,
    helpers::GET_PRANDOM_U32,
    helpers::GET_SMP_PROCESSOR_ID,
    helpers::TAIL_CALL,
    helpers::PERF_EVENT_OUTPUT,
    helpers::RINGBUF_OUTPUT,
    helpers::RINGBUF_RESERVE,
    helpers::RINGBUF_SUBMIT,
    helpers::RINGBUF_DISCARD,
    helpers::RINGBUF_QUERY,
    helpers::MAP_LOOKUP_PERCPU_ELEM,
    helpers::KTIME_GET_BOOT_NS,
];

const XDP_HELPERS: &[i32] = &[
    helpers::REDIRECT,
    helpers::REDIRECT_MAP,
    helpers::CSUM_DIFF,
    helpers::XDP_ADJUST_HEAD,
    helpers::XDP_ADJUST_TAIL,
    helpers::XDP_ADJUST_META,
    helpers::XDP_GET_BUFF_LEN,
    helpers::XDP_LOAD_BYTES,
    helpers::XDP_STORE_BYTES,
];

const TC_HELPERS: &[i32] = &[
    helpers::REDIRECT,
    helpers::CSUM_DIFF,
    helpers::SKB_LOAD_BYTES,
    helpers::SKB_LOAD_BYTES_RELATIVE,
    helpers::SKB_STORE_BYTES,
    helpers::L3_CSUM_REPLACE,
    helpers::L4_CSUM_REPLACE,
];

const SOCKET_HELPERS: &[i32] = &[helpers::SKB_LOAD_BYTES, helpers::SKB_LOAD_BYTES_RELATIVE];

/// The description of a program type.
#[derive(Debug)]
pub struct TypeInfo {
    /// Its name (`xdp`, `sched_cls`, `socket_filter`, `ubpf`).
    pub name: &'static str,
    /// The kernel's `BPF_PROG_TYPE_*` number (0 for `ubpf`).
    pub kernel_id: u32,
    /// Its value of filter-ubpf's `prog-type` property (QAPI
    /// `UbpfProgType`): `xdp`, `tc`, `socket`, `ubpf`.
    pub property: &'static str,
    /// The value of filter-ubpf's `convention` property (QAPI
    /// `UbpfConvention`) that forces it: `context`, `tc`, `socket`,
    /// `raw`.
    pub convention_name: &'static str,
    /// Section names choosing it, as libbpf: an exact name, or a prefix
    /// followed by `/`.
    pub sections: &'static [&'static str],
    /// How the program receives its context.
    pub convention: Convention,
    /// The context's fields (empty: the raw convention).
    pub ctx: &'static [CtxField],
    /// Bytes of the kernel structure (context accesses beyond are
    /// refused).
    pub ctx_size: u16,
    /// Helpers beyond [`COMMON_HELPERS`] it may call.
    pub helpers: &'static [i32],
    /// Whether it may run legacy `ld_abs`/`ld_ind` loads.
    pub ld_abs: bool,
    /// What its return value means ([`ProgType::verdict`]).
    pub returns: Returns,
}

/// What the host does for a return code of a [`Returns::Codes`] type.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    /// [`Verdict::Pass`].
    Pass,
    /// [`Verdict::Drop`].
    Drop,
    /// [`Verdict::Aborted`].
    Aborted,
    /// [`Verdict::Tx`].
    Tx,
    /// [`Verdict::Redirect`] to the target the run recorded (without
    /// one: the type's `no_target`).
    Redirect,
}

/// One return code of a program type, by its kernel name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ReturnCode {
    /// The value (`r0` as a 32-bit signed number).
    pub value: i32,
    /// Its name in the kernel's UAPI headers (`XDP_PASS`, `TC_ACT_SHOT`).
    pub name: &'static str,
    /// What the host does.
    pub action: Action,
}

/// How a program type's return value gives the [`Verdict`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Returns {
    /// The engine's own convention: 0 passes, anything else drops.
    ZeroPasses,
    /// Named codes (the low 32 bits of `r0`, signed).
    Codes {
        /// The codes the kernel defines.
        codes: &'static [ReturnCode],
        /// The action of any other value.
        other: Action,
        /// The action of a redirect the run recorded no target for.
        no_target: Action,
    },
    /// The number of bytes of the packet to keep (socket filters): 0
    /// drops, fewer than the packet's length truncates it.
    Length,
}

const fn code(value: i32, name: &'static str, action: Action) -> ReturnCode {
    ReturnCode {
        value,
        name,
        action,
    }
}

/// `enum xdp_action`; other values are treated as `XDP_ABORTED` (the
/// kernel warns of them, then aborts).
const XDP_CODES: &[ReturnCode] = &[
    code(0, "XDP_ABORTED", Action::Aborted),
    code(1, "XDP_DROP", Action::Drop),
    code(2, "XDP_PASS", Action::Pass),
    code(3, "XDP_TX", Action::Tx),
    code(4, "XDP_REDIRECT", Action::Redirect),
];

/// `TC_ACT_*` of `<linux/pkt_cls.h>`, as tc ingress (clsact / tcx) acts
/// on a classifier's result; other values pass.
const TC_CODES: &[ReturnCode] = &[
    code(-1, "TC_ACT_UNSPEC", Action::Pass),
    code(0, "TC_ACT_OK", Action::Pass),
    code(1, "TC_ACT_RECLASSIFY", Action::Pass),
    code(2, "TC_ACT_SHOT", Action::Drop),
    code(3, "TC_ACT_PIPE", Action::Pass),
    code(4, "TC_ACT_STOLEN", Action::Drop),
    code(5, "TC_ACT_QUEUED", Action::Drop),
    code(6, "TC_ACT_REPEAT", Action::Pass),
    code(7, "TC_ACT_REDIRECT", Action::Redirect),
    code(8, "TC_ACT_TRAP", Action::Drop),
];

/// The types, in the order section names are matched.
pub const TYPES: [ProgType; 4] = [
    ProgType::Xdp,
    ProgType::SchedCls,
    ProgType::SocketFilter,
    ProgType::Ubpf,
];

const XDP_INFO: TypeInfo = TypeInfo {
    name: "xdp",
    property: "xdp",
    convention_name: "context",
    kernel_id: 6,
    sections: &["xdp", "xdp.frags"],
    convention: Convention::Context,
    ctx: &XDP_MD,
    ctx_size: 24,
    helpers: XDP_HELPERS,
    ld_abs: false,
    returns: Returns::Codes {
        codes: XDP_CODES,
        other: Action::Aborted,
        no_target: Action::Aborted,
    },
};

const TC_INFO: TypeInfo = TypeInfo {
    name: "sched_cls",
    property: "tc",
    convention_name: "tc",
    kernel_id: 3,
    sections: &["tc", "classifier", "tcx", "tc_packet_hook"],
    convention: Convention::Tc,
    ctx: &SKB_TC,
    ctx_size: 192,
    helpers: TC_HELPERS,
    // as in the kernel (crate::rewrite: big-endian, SKF_*_OFF, return 0
    // when out of range)
    ld_abs: true,
    returns: Returns::Codes {
        codes: TC_CODES,
        other: Action::Pass,
        no_target: Action::Drop,
    },
};

const SOCKET_INFO: TypeInfo = TypeInfo {
    name: "socket_filter",
    property: "socket",
    convention_name: "socket",
    kernel_id: 1,
    sections: &["socket"],
    convention: Convention::Socket,
    ctx: &SKB_SOCKET,
    ctx_size: 192,
    helpers: SOCKET_HELPERS,
    ld_abs: true,
    returns: Returns::Length,
};

const UBPF_INFO: TypeInfo = TypeInfo {
    name: "ubpf",
    property: "ubpf",
    convention_name: "raw",
    kernel_id: 0,
    sections: &["ubpf"],
    convention: Convention::Raw,
    ctx: &[],
    ctx_size: 0,
    helpers: &[helpers::REDIRECT_MAP],
    // the seed's type ran them before they had the kernel's meaning; they
    // now read the packet as the kernel's do (there is no context: r6 is
    // not checked)
    ld_abs: true,
    returns: Returns::ZeroPasses,
};

impl ProgType {
    /// The type's description.
    pub const fn info(self) -> &'static TypeInfo {
        match self {
            Self::Ubpf => &UBPF_INFO,
            Self::Xdp => &XDP_INFO,
            Self::SchedCls => &TC_INFO,
            Self::SocketFilter => &SOCKET_INFO,
        }
    }

    /// Its name.
    pub const fn name(self) -> &'static str {
        self.info().name
    }

    /// The type named `name` (as [`ProgType::name`], or a section name).
    pub fn from_name(name: &str) -> Option<Self> {
        TYPES
            .into_iter()
            .find(|t| t.name() == name)
            .or_else(|| Self::for_section(name))
    }

    /// The type a value of filter-ubpf's `prog-type` property names
    /// ([`TypeInfo::property`]); `None` also for `auto`, which is no
    /// type but "from the section".
    pub fn from_property(value: &str) -> Option<Self> {
        TYPES.into_iter().find(|t| t.info().property == value)
    }

    /// The type a value of filter-ubpf's `convention` property forces
    /// ([`TypeInfo::convention_name`]).
    pub fn from_convention_name(value: &str) -> Option<Self> {
        TYPES
            .into_iter()
            .find(|t| t.info().convention_name == value)
    }

    /// The type libbpf gives section `section` (`xdp`, `xdp/foo`,
    /// `xdp.frags`, `tc`, `tc/ingress`, `tcx/egress`, `classifier`,
    /// `socket`, ...), if any.
    pub fn for_section(section: &str) -> Option<Self> {
        TYPES.into_iter().find(|t| {
            t.info().sections.iter().any(|s| {
                section == *s
                    || section
                        .strip_prefix(s)
                        .is_some_and(|rest| rest.starts_with('/'))
            })
        })
    }

    /// The type for section `section`: [`ProgType::for_section`], else
    /// [`ProgType::Ubpf`].
    pub fn from_section(section: &str) -> Self {
        Self::for_section(section).unwrap_or(Self::Ubpf)
    }

    /// How the program receives its context.
    pub const fn convention(self) -> Convention {
        self.info().convention
    }

    /// The type whose convention is `c` ([`Convention::Raw`]: `ubpf`).
    pub const fn of_convention(c: Convention) -> Self {
        match c {
            Convention::Raw => Self::Ubpf,
            Convention::Context => Self::Xdp,
            Convention::Tc => Self::SchedCls,
            Convention::Socket => Self::SocketFilter,
        }
    }

    /// Whether a program of this type may call helper `id`.
    pub fn allows_helper(self, id: i32) -> bool {
        if helpers::is_internal(id) {
            // the loads ld_abs/ld_ind are rewritten into
            return self.info().ld_abs;
        }
        if self == Self::Ubpf {
            // the seed's convention: every helper the engine has, as before
            return helpers::is_known(id);
        }
        COMMON_HELPERS.contains(&id) || self.info().helpers.contains(&id)
    }

    /// The verdict return value `r0` means, with the redirect target the
    /// run recorded and the packet's length (socket filters truncate), as
    /// the type's [`TypeInfo::returns`] says.
    pub fn verdict(self, r0: u64, redirect: Option<RedirectTarget>, len: usize) -> Verdict {
        match self.info().returns {
            Returns::ZeroPasses => {
                if r0 == 0 {
                    Verdict::Pass
                } else {
                    Verdict::Drop
                }
            }
            Returns::Codes {
                other, no_target, ..
            } => {
                let action = self.return_code(r0).map_or(other, |c| c.action);
                match (action, redirect) {
                    (Action::Redirect, Some(t)) => Verdict::Redirect(t),
                    (Action::Redirect, None) => no_target.plain(),
                    (a, _) => a.plain(),
                }
            }
            Returns::Length => match r0 as u32 {
                0 => Verdict::Drop,
                n if (n as usize) < len => Verdict::Truncate(n),
                _ => Verdict::Pass,
            },
        }
    }

    /// The return code `r0` is, for types with named codes.
    pub fn return_code(self, r0: u64) -> Option<&'static ReturnCode> {
        match self.info().returns {
            Returns::Codes { codes, .. } => codes.iter().find(|c| c.value == r0 as u32 as i32),
            _ => None,
        }
    }

    /// The kernel's name of return value `r0` (`XDP_PASS`,
    /// `TC_ACT_SHOT`), for types with named codes.
    pub fn return_name(self, r0: u64) -> Option<&'static str> {
        self.return_code(r0).map(|c| c.name)
    }
}

impl Action {
    /// The verdict of the action without a redirect target (a redirect
    /// without one drops).
    const fn plain(self) -> Verdict {
        match self {
            Self::Pass => Verdict::Pass,
            Self::Drop | Self::Redirect => Verdict::Drop,
            Self::Aborted => Verdict::Aborted,
            Self::Tx => Verdict::Tx,
        }
    }
}

/// Where a program sent the packet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RedirectTarget {
    /// `bpf_redirect(ifindex, flags)`.
    Ifindex {
        /// The interface.
        ifindex: u32,
        /// The helper's flags (`BPF_F_INGRESS`).
        flags: u64,
    },
    /// `bpf_redirect_map` on a devmap.
    Map(Redirect),
}

/// What the host does with the packet, as the kernel means the
/// program's return value for its type ([`ProgType::verdict`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Let it through.
    Pass,
    /// Drop it.
    Drop,
    /// Drop it, and count an error (`XDP_ABORTED`, unknown XDP codes, a
    /// redirect without target).
    Aborted,
    /// Send it back out of the interface it came in on (`XDP_TX`).
    Tx,
    /// Send it to the target.
    Redirect(RedirectTarget),
    /// Keep its first `n` bytes (socket filters).
    Truncate(u32),
}

/// Host-provided facts about a packet, for the context fields that are
/// not the packet itself.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PacketMeta {
    /// `ifindex` (skb) of the device.
    pub ifindex: u32,
    /// `ingress_ifindex` (`xdp_md`, `__sk_buff`).
    pub ingress_ifindex: u32,
    /// `rx_queue_index` (`xdp_md`), `queue_mapping` (`__sk_buff`).
    pub rx_queue_index: u32,
    /// `mark`.
    pub mark: u32,
    /// `priority`.
    pub priority: u32,
    /// `hash`.
    pub hash: u32,
    /// `pkt_type` (`PACKET_HOST` 0, ...).
    pub pkt_type: u32,
    /// Hardware-accelerated VLAN tag: (TCI, TPID).
    pub vlan: Option<(u16, u16)>,
}

/// The `protocol` of an Ethernet frame as the kernel's `eth_type_trans`
/// gives it (network byte order in the low 16 bits).
pub fn frame_protocol(frame: &[u8]) -> u32 {
    let Some(t) = frame.get(12..14) else {
        return 0;
    };
    let ty = u16::from_be_bytes([t[0], t[1]]);
    let p = if ty >= 0x0600 {
        ty
    } else if frame.get(14..16) == Some(&[0xff, 0xff]) {
        0x0001 // ETH_P_802_3
    } else {
        0x0004 // ETH_P_802_2
    };
    u32::from(u16::from_ne_bytes(p.to_be_bytes()))
}

/// Fill the kernel-structure image of `block` for a run of `ty` on a
/// packet of `len` bytes (`frame`: the whole frame, for `protocol`).
pub(crate) fn fill_fields(
    ty: ProgType,
    block: &mut [u8; CTX_BLOCK],
    len: usize,
    frame: &[u8],
    meta: &PacketMeta,
) {
    let img = &mut block[CTX_FIELDS..];
    img.fill(0);
    let mut put = |off: usize, v: u32| img[off..off + 4].copy_from_slice(&v.to_ne_bytes());
    match ty {
        ProgType::Ubpf => {}
        ProgType::Xdp => {
            put(12, meta.ingress_ifindex);
            put(16, meta.rx_queue_index);
        }
        ProgType::SchedCls | ProgType::SocketFilter => {
            put(0, u32::try_from(len).unwrap_or(u32::MAX));
            put(4, meta.pkt_type);
            put(8, meta.mark);
            put(12, meta.rx_queue_index);
            put(16, frame_protocol(frame));
            if let Some((tci, tpid)) = meta.vlan {
                put(20, 1);
                put(24, u32::from(tci));
                put(28, u32::from(u16::from_ne_bytes(tpid.to_be_bytes())));
            }
            put(32, meta.priority);
            put(36, meta.ingress_ifindex);
            put(40, meta.ifindex);
            put(68, meta.hash);
        }
    }
}

/// The field of `ty`'s context that an access of `size` bytes at
/// `off` touches, if the type allows it (`write`: a store).
pub fn ctx_field(ty: ProgType, off: i64, size: u32, write: bool) -> Result<CtxField, String> {
    let info = ty.info();
    let what = if write { "write" } else { "read" };
    let found = info.ctx.iter().find(|f| {
        let start = i64::from(f.off);
        off >= start
            && off < start + i64::from(f.size)
            && (!f.is_pointer() || size == u32::from(f.elem))
    });
    let Some(f) = found else {
        return Err(format!(
            "{} context {what} of {size} bytes at offset {off}: the {} context has no such \
             field{}",
            info.name,
            info.name,
            if info.ctx.is_empty() {
                " (r1 is the packet in this convention)"
            } else {
                ""
            }
        ));
    };
    let size16 = u16::try_from(size).unwrap_or(u16::MAX);
    let in_field = u16::try_from(off - i64::from(f.off)).unwrap_or(u16::MAX);
    let within_elem = in_field % f.elem + size16 <= f.elem;
    let aligned = size16 != 0 && in_field % size16 == 0;
    let size_ok = if f.is_pointer() || write || !f.narrow {
        size16 == f.elem && in_field % f.elem == 0
    } else {
        within_elem && aligned
    };
    if !size_ok {
        return Err(format!(
            "{} context {what} of {size} bytes at offset {off} ({}): the field is {} bytes{}",
            info.name,
            f.name,
            f.elem,
            if f.narrow && !write {
                ", read it whole or by aligned parts"
            } else {
                ", accessed whole"
            }
        ));
    }
    if write && !f.write {
        return Err(format!(
            "{} context write at offset {off}: {} is read-only",
            info.name, f.name
        ));
    }
    Ok(*f)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sections() {
        for (s, t) in [
            ("xdp", ProgType::Xdp),
            ("xdp/foo", ProgType::Xdp),
            ("xdp.frags", ProgType::Xdp),
            ("xdp.frags/x", ProgType::Xdp),
            ("tc", ProgType::SchedCls),
            ("tc/ingress", ProgType::SchedCls),
            ("tcx/egress", ProgType::SchedCls),
            ("classifier", ProgType::SchedCls),
            ("classifier/x", ProgType::SchedCls),
            ("socket", ProgType::SocketFilter),
            ("socket/1", ProgType::SocketFilter),
            ("ubpf", ProgType::Ubpf),
            ("xdpfoo", ProgType::Ubpf),
            ("filter", ProgType::Ubpf),
            ("", ProgType::Ubpf),
        ] {
            assert_eq!(ProgType::from_section(s), t, "{s}");
        }
    }

    #[test]
    fn verdicts() {
        let x = ProgType::Xdp;
        assert_eq!(x.verdict(0, None, 60), Verdict::Aborted);
        assert_eq!(x.verdict(1, None, 60), Verdict::Drop);
        assert_eq!(x.verdict(2, None, 60), Verdict::Pass);
        assert_eq!(x.verdict(3, None, 60), Verdict::Tx);
        assert_eq!(x.verdict(4, None, 60), Verdict::Aborted);
        assert_eq!(x.verdict(9, None, 60), Verdict::Aborted);
        let t = RedirectTarget::Ifindex {
            ifindex: 3,
            flags: 0,
        };
        assert_eq!(x.verdict(4, Some(t), 60), Verdict::Redirect(t));
        let tc = ProgType::SchedCls;
        assert_eq!(tc.verdict(u64::MAX, None, 60), Verdict::Pass);
        assert_eq!(tc.verdict(0, None, 60), Verdict::Pass);
        assert_eq!(tc.verdict(2, None, 60), Verdict::Drop);
        assert_eq!(tc.verdict(6, None, 60), Verdict::Pass);
        assert_eq!(tc.verdict(7, Some(t), 60), Verdict::Redirect(t));
        let s = ProgType::SocketFilter;
        assert_eq!(s.verdict(0, None, 60), Verdict::Drop);
        assert_eq!(s.verdict(20, None, 60), Verdict::Truncate(20));
        assert_eq!(s.verdict(0xffff_ffff, None, 60), Verdict::Pass);
        assert_eq!(ProgType::Ubpf.verdict(5, None, 60), Verdict::Drop);
    }

    #[test]
    fn verdicts_of_other_codes() {
        let (x, tc, s) = (ProgType::Xdp, ProgType::SchedCls, ProgType::SocketFilter);
        assert_eq!(ProgType::Ubpf.verdict(0, None, 60), Verdict::Pass);
        assert_eq!(tc.verdict(7, None, 60), Verdict::Drop);
        assert_eq!(tc.verdict(4, None, 60), Verdict::Drop);
        assert_eq!(tc.verdict(8, None, 60), Verdict::Drop);
        assert_eq!(tc.verdict(9, None, 60), Verdict::Pass);
        assert_eq!(tc.verdict(0xffff_ffff, None, 60), Verdict::Pass);
        // the low 32 bits count, as in the kernel
        assert_eq!(x.verdict(0x1_0000_0002, None, 60), Verdict::Pass);
        assert_eq!(s.verdict(60, None, 60), Verdict::Pass);
        assert_eq!(s.verdict(59, None, 60), Verdict::Truncate(59));
    }

    #[test]
    fn property_values() {
        let props: Vec<_> = TYPES.iter().map(|t| t.info().property).collect();
        assert_eq!(props, ["xdp", "tc", "socket", "ubpf"]);
        for t in TYPES {
            assert_eq!(ProgType::from_property(t.info().property), Some(t));
            let c = ProgType::from_convention_name(t.info().convention_name);
            assert_eq!(c.map(ProgType::convention), Some(t.convention()));
        }
        assert_eq!(ProgType::from_property("auto"), None);
        assert_eq!(ProgType::from_property("sched_cls"), None);
        assert_eq!(
            ProgType::from_convention_name("context"),
            Some(ProgType::Xdp)
        );
        assert_eq!(ProgType::from_convention_name("raw"), Some(ProgType::Ubpf));
    }

    #[test]
    fn return_names() {
        let x = ProgType::Xdp;
        assert_eq!(x.return_name(0), Some("XDP_ABORTED"));
        assert_eq!(x.return_name(2), Some("XDP_PASS"));
        assert_eq!(x.return_name(3), Some("XDP_TX"));
        assert_eq!(x.return_name(4), Some("XDP_REDIRECT"));
        assert_eq!(x.return_name(5), None);
        let tc = ProgType::SchedCls;
        assert_eq!(tc.return_name(u64::MAX), Some("TC_ACT_UNSPEC"));
        assert_eq!(tc.return_name(0), Some("TC_ACT_OK"));
        assert_eq!(tc.return_name(2), Some("TC_ACT_SHOT"));
        assert_eq!(tc.return_name(8), Some("TC_ACT_TRAP"));
        assert_eq!(ProgType::SocketFilter.return_name(0), None);
        assert_eq!(ProgType::Ubpf.return_name(0), None);
        // every named code gives the verdict of its action
        for ty in TYPES {
            if let Returns::Codes { codes, .. } = ty.info().returns {
                for c in codes {
                    let r0 = u64::from(c.value as u32);
                    assert_eq!(ty.return_name(r0), Some(c.name));
                    assert_eq!(
                        ty.verdict(r0, None, 60) == Verdict::Pass,
                        c.action == Action::Pass
                    );
                }
            }
        }
    }

    #[test]
    fn fields() {
        let t = ProgType::SchedCls;
        assert!(ctx_field(t, 76, 4, false).unwrap().is_pointer());
        ctx_field(t, 76, 8, false).unwrap_err();
        ctx_field(t, 76, 4, true).unwrap_err();
        assert_eq!(ctx_field(t, 52, 4, true).unwrap().name, "cb");
        assert_eq!(ctx_field(t, 17, 1, false).unwrap().name, "protocol");
        ctx_field(t, 17, 2, false).unwrap_err();
        ctx_field(t, 8, 2, true).unwrap_err();
        ctx_field(t, 92, 4, false).unwrap_err();
        ctx_field(ProgType::SocketFilter, 76, 4, false).unwrap_err();
        ctx_field(ProgType::SocketFilter, 8, 4, true).unwrap_err();
        let x = ProgType::Xdp;
        assert_eq!(ctx_field(x, 0, 8, false).unwrap().kind, FieldKind::Data);
        assert_eq!(ctx_field(x, 8, 8, false).unwrap().kind, FieldKind::DataEnd);
        assert_eq!(ctx_field(x, 8, 4, false).unwrap().kind, FieldKind::DataMeta);
        ctx_field(x, 20, 4, false).unwrap_err();
        ctx_field(x, 12, 2, false).unwrap_err();
    }
}
