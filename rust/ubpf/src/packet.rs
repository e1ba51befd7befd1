// SPDX-License-Identifier: GPL-2.0-or-later

//! The packet a kernel-typed program runs on, and the packet helpers
//! with the kernel's semantics (`bpf_xdp_adjust_head/tail/meta`,
//! `bpf_skb_load_bytes(_relative)`, `bpf_skb_store_bytes`, the checksum
//! helpers, `bpf_redirect`, `bpf_trace_printk`).
//!
//! A [`Packet`] keeps [`HEADROOM`] bytes in front of the frame and
//! [`TAILROOM`] behind it, as the kernel's XDP buffers do; after a run
//! [`Packet::data`] is the packet as the program left it (moved or
//! resized), and [`Packet::meta`] the metadata an XDP program put in
//! front of it (`bpf_xdp_adjust_meta`; at most [`MAX_META`] bytes).

use crate::maps::{with_run, Run};
use crate::progtype::{
    RedirectTarget, CTX_DATA, CTX_DATA_END, CTX_DATA_META, HEADROOM, MAX_META, TAILROOM,
};

/// Bytes of the kernel's `struct xdp_frame`, kept free at the start of
/// the headroom (`bpf_xdp_adjust_head` cannot grow into it).
pub const XDP_FRAME_SIZE: usize = 40;
const ETH_HLEN: u64 = 14;

/// A frame in a buffer with head- and tailroom.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Packet {
    buf: Vec<u8>,
    /// Where the metadata begins (`data_meta`; `start` when there is none).
    meta: usize,
    start: usize,
    end: usize,
    /// Offset of the link-layer (MAC) header in `buf`.
    mac: usize,
    /// Offset of the network header in `buf`.
    net: usize,
}

impl Packet {
    /// `frame` (an Ethernet frame) with head- and tailroom.
    pub fn new(frame: &[u8]) -> Self {
        let mut p = Self::default();
        p.set(frame);
        p
    }

    /// Replace the contents by `frame` (reusing the buffer when it is
    /// large enough).
    pub fn set(&mut self, frame: &[u8]) {
        self.buf.clear();
        self.buf.resize(HEADROOM + frame.len() + TAILROOM, 0);
        self.buf[HEADROOM..HEADROOM + frame.len()].copy_from_slice(frame);
        self.meta = HEADROOM;
        self.start = HEADROOM;
        self.end = HEADROOM + frame.len();
        self.mac = HEADROOM;
        self.net = HEADROOM + (ETH_HLEN as usize).min(frame.len());
    }

    /// The packet: from `data` to `data_end`.
    pub fn data(&self) -> &[u8] {
        &self.buf[self.start..self.end]
    }

    /// The metadata in front of the packet (`data_meta` to `data`).
    pub fn meta(&self) -> &[u8] {
        &self.buf[self.meta..self.start]
    }

    /// The packet, writable.
    pub fn data_mut(&mut self) -> &mut [u8] {
        &mut self.buf[self.start..self.end]
    }

    /// Its length.
    pub const fn len(&self) -> usize {
        self.end - self.start
    }

    /// Whether it is empty.
    pub const fn is_empty(&self) -> bool {
        self.end == self.start
    }

    /// Bytes in front of the packet.
    pub const fn headroom(&self) -> usize {
        self.start
    }

    /// Start the packet `n` bytes later (a socket filter sees the packet
    /// from its network header: `pull(14)` for Ethernet); the MAC header
    /// stays where it is (`SKF_LL_OFF`, `BPF_HDR_START_MAC`).
    pub fn pull(&mut self, n: usize) -> bool {
        if n > self.len() {
            return false;
        }
        self.start += n;
        self.meta = self.start;
        true
    }

    /// The frame from the MAC header to the end of the packet.
    pub fn frame(&self) -> &[u8] {
        &self.buf[self.mac.min(self.end)..self.end]
    }

    pub(crate) fn view(&mut self, block: u64) -> PktView {
        let base = self.buf.as_mut_ptr() as u64;
        PktView {
            buf: (base, base + self.buf.len() as u64),
            meta: base + self.meta as u64,
            data: base + self.start as u64,
            data_end: base + self.end as u64,
            mac: base + self.mac as u64,
            net: base + self.net as u64,
            block,
        }
    }

    pub(crate) fn buffer_mut(&mut self) -> &mut [u8] {
        &mut self.buf
    }

    /// Take the packet's new bounds from a run's view.
    pub(crate) fn update(&mut self, v: &PktView) {
        let base = v.buf.0;
        self.start = usize::try_from(v.data - base).unwrap_or(self.start);
        self.end = usize::try_from(v.data_end - base).unwrap_or(self.end);
        self.meta = usize::try_from(v.meta - base).map_or(self.start, |m| m.min(self.start));
    }
}

/// The packet as the helpers of a run see it (host addresses).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct PktView {
    /// The whole buffer.
    pub buf: (u64, u64),
    /// `data_meta`: the metadata lies between it and `data`.
    pub meta: u64,
    pub data: u64,
    pub data_end: u64,
    pub mac: u64,
    pub net: u64,
    /// The context block (its packet pointers follow the packet).
    pub block: u64,
}

impl PktView {
    /// A view of `packet` without head- or tailroom.
    pub(crate) fn of_slice(packet: &mut [u8], block: u64) -> Self {
        let start = packet.as_mut_ptr() as u64;
        let end = start + packet.len() as u64;
        Self {
            buf: (start, end),
            meta: start,
            data: start,
            data_end: end,
            mac: start,
            net: (start + ETH_HLEN).min(end),
            block,
        }
    }

    const fn len(&self) -> u64 {
        self.data_end - self.data
    }
}

const fn neg(errno: i32) -> u64 {
    (-(errno as i64)) as u64
}
const EINVAL: u64 = neg(libc::EINVAL);
const EACCES: u64 = neg(libc::EACCES);
const EFAULT: u64 = neg(libc::EFAULT);

fn with_pkt(f: impl FnOnce(&Run, &mut PktView) -> u64) -> u64 {
    with_run(|run| {
        let mut v = run.state().pkt.get();
        let r = f(run, &mut v);
        run.state().pkt.set(v);
        Some(r)
    })
    .unwrap_or(EFAULT)
}

/// Write the view's pointers into the context block.
fn publish(v: &PktView) {
    if v.block == 0 {
        return;
    }
    let p = v.block as *mut u8;
    // SAFETY: `block` is the Vm's context block, CTX_BLOCK bytes that
    // live for the run; the program reads it after the helper returns
    // (rbpf itself writes it through raw pointers for context stores).
    unsafe {
        p.add(CTX_DATA).cast::<u64>().write_unaligned(v.data);
        p.add(CTX_DATA_END)
            .cast::<u64>()
            .write_unaligned(v.data_end);
        p.add(CTX_DATA_META).cast::<u64>().write_unaligned(v.meta);
    }
}

/// Copy `len` packet bytes at `from` to the program's memory at `to`
/// (zeroed on failure, as the kernel does).
fn load_to(run: &Run, from: Option<u64>, to: u64, len: u64) -> u64 {
    let Ok(n) = usize::try_from(len) else {
        return EFAULT;
    };
    let Some(dst) = run.bytes_mut(to, n) else {
        return EFAULT;
    };
    match from {
        Some(src) => {
            // SAFETY: `src..src+len` was checked to lie within the
            // packet; `dst` is program memory checked by bytes_mut (or
            // proven by the verifier); both may overlap only if the
            // program passes a packet pointer, hence `copy`.
            unsafe { std::ptr::copy(src as *const u8, dst, n) }
            0
        }
        None => {
            // SAFETY: as above.
            unsafe { std::ptr::write_bytes(dst, 0, n) }
            EFAULT
        }
    }
}

/// `off..off+len` from `base` if within `lo..hi`.
fn span(base: u64, off: u64, len: u64, lo: u64, hi: u64) -> Option<u64> {
    let s = base.checked_add(off)?;
    let e = s.checked_add(len)?;
    (s >= lo && e <= hi).then_some(s)
}

pub(crate) fn skb_load_bytes(_ctx: u64, off: u64, to: u64, len: u64, _: u64) -> u64 {
    with_pkt(|run, v| {
        let off = off & 0xffff_ffff;
        let from = (off <= i32::MAX as u64)
            .then(|| span(v.data, off, len, v.data, v.data_end))
            .flatten();
        load_to(run, from, to, len)
    })
}

pub(crate) fn xdp_load_bytes(_ctx: u64, off: u64, to: u64, len: u64, _: u64) -> u64 {
    with_pkt(|run, v| {
        let from = span(v.data, off & 0xffff_ffff, len, v.data, v.data_end);
        if from.is_none() {
            return EINVAL;
        }
        load_to(run, from, to, len)
    })
}

pub(crate) fn skb_load_bytes_relative(_ctx: u64, off: u64, to: u64, len: u64, hdr: u64) -> u64 {
    with_pkt(|run, v| {
        let off = off & 0xffff_ffff;
        let base = match hdr {
            0 => Some(v.mac),
            1 => Some(v.net),
            _ => None,
        };
        let from = base
            .filter(|_| off <= 0xffff)
            .and_then(|b| span(b, off, len, v.mac, v.data_end));
        load_to(run, from, to, len)
    })
}

/// `SKF_NET_OFF`: negative `ld_abs` offsets from here on address the
/// network header.
pub const SKF_NET_OFF: i32 = -0x10_0000;
/// `SKF_LL_OFF`: negative `ld_abs` offsets from here on (up to
/// [`SKF_NET_OFF`]) address the link-layer header.
pub const SKF_LL_OFF: i32 = -0x20_0000;

/// The legacy packet load of `size` bytes at `offset` (the kernel's
/// `bpf_skb_load_helper_*`): the offset is a 32-bit signed number; from
/// 0 up it counts from the packet's start (`data`), and the bytes must lie
/// before its end; [`SKF_NET_OFF`] + n is byte n of the network header,
/// [`SKF_LL_OFF`] + n byte n of the link-layer header, which may not lie
/// before the buffer's start or past the packet's end.  The value is read
/// in network byte order and returned in host order, or `-EFAULT`.
fn ld_abs(offset: u64, size: u64) -> u64 {
    with_pkt(|_, v| {
        let k = offset as u32 as i32;
        let from = if k >= 0 {
            span(
                v.data,
                u64::from(k.unsigned_abs()),
                size,
                v.data,
                v.data_end,
            )
        } else if k >= SKF_NET_OFF {
            span(
                v.net,
                u64::from((k - SKF_NET_OFF).unsigned_abs()),
                size,
                v.buf.0,
                v.data_end,
            )
        } else if k >= SKF_LL_OFF {
            span(
                v.mac,
                u64::from((k - SKF_LL_OFF).unsigned_abs()),
                size,
                v.buf.0,
                v.data_end,
            )
        } else {
            None
        };
        let Some(from) = from else {
            return EFAULT;
        };
        let mut value = 0u64;
        for i in 0..size {
            // SAFETY: `from..from + size` lies within the packet's buffer
            // (checked by `span` against its start and the packet's end),
            // which is valid for the run.
            let byte = unsafe { (from as *const u8).add(i as usize).read() };
            value = (value << 8) | u64::from(byte);
        }
        value
    })
}

pub(crate) fn ld_abs_b(_ctx: u64, off: u64, _: u64, _: u64, _: u64) -> u64 {
    ld_abs(off, 1)
}

pub(crate) fn ld_abs_h(_ctx: u64, off: u64, _: u64, _: u64, _: u64) -> u64 {
    ld_abs(off, 2)
}

pub(crate) fn ld_abs_w(_ctx: u64, off: u64, _: u64, _: u64, _: u64) -> u64 {
    ld_abs(off, 4)
}

fn store_from(run: &Run, dst: Option<u64>, from: u64, len: u64) -> u64 {
    let (Some(dst), Ok(n)) = (dst, usize::try_from(len)) else {
        return EFAULT;
    };
    let Some(src) = run.bytes(from, n) else {
        return EFAULT;
    };
    // SAFETY: `dst..dst+len` lies within the packet (checked by the
    // caller); `src` is readable program memory (checked, or proven).
    unsafe { std::ptr::copy(src.as_ptr(), dst as *mut u8, n) }
    0
}

pub(crate) fn skb_store_bytes(_ctx: u64, off: u64, from: u64, len: u64, flags: u64) -> u64 {
    with_pkt(|run, v| {
        if flags & !3 != 0 {
            return EINVAL;
        }
        let off = off & 0xffff_ffff;
        if off > i32::MAX as u64 {
            return EFAULT;
        }
        store_from(run, span(v.data, off, len, v.data, v.data_end), from, len)
    })
}

pub(crate) fn xdp_store_bytes(_ctx: u64, off: u64, from: u64, len: u64, _: u64) -> u64 {
    with_pkt(|run, v| {
        let dst = span(v.data, off & 0xffff_ffff, len, v.data, v.data_end);
        if dst.is_none() {
            return EINVAL;
        }
        store_from(run, dst, from, len)
    })
}

pub(crate) fn xdp_get_buff_len(_: u64, _: u64, _: u64, _: u64, _: u64) -> u64 {
    with_pkt(|_, v| v.len())
}

/// `bpf_xdp_adjust_head`: the packet starts `delta` bytes later (earlier
/// if negative); the metadata moves with it.
pub(crate) fn xdp_adjust_head(_ctx: u64, delta: u64, _: u64, _: u64, _: u64) -> u64 {
    with_pkt(|_, v| {
        let delta = i64::from(delta as u32 as i32);
        let metalen = v.data - v.meta;
        let lo = v.buf.0 + XDP_FRAME_SIZE as u64 + metalen;
        let Some(data) = v.data.checked_add_signed(delta) else {
            return EINVAL;
        };
        if data < lo || data > v.data_end.saturating_sub(ETH_HLEN) {
            return EINVAL;
        }
        let meta = data - metalen;
        if metalen > 0 {
            // SAFETY: both ranges lie within the buffer: the old
            // metadata before the old data, the new one from `lo` (past
            // the frame's reserved start) on; `copy` allows overlap.
            unsafe {
                std::ptr::copy(
                    v.meta as *const u8,
                    meta as *mut u8,
                    usize::try_from(metalen).unwrap_or(0),
                );
            }
        }
        v.meta = meta;
        v.data = data;
        publish(v);
        0
    })
}

/// `bpf_xdp_adjust_meta`: the metadata starts `delta` bytes later
/// (grows if negative); it stays within the headroom and holds a
/// multiple of 4 bytes, at most [`MAX_META`].
pub(crate) fn xdp_adjust_meta(_ctx: u64, delta: u64, _: u64, _: u64, _: u64) -> u64 {
    with_pkt(|_, v| {
        let delta = i64::from(delta as u32 as i32);
        let lo = v.buf.0 + XDP_FRAME_SIZE as u64;
        let Some(meta) = v.meta.checked_add_signed(delta) else {
            return EINVAL;
        };
        if meta < lo || meta > v.data {
            return EINVAL;
        }
        let metalen = v.data - meta;
        if metalen % 4 != 0 || metalen > MAX_META {
            return EACCES;
        }
        v.meta = meta;
        publish(v);
        0
    })
}

pub(crate) fn xdp_adjust_tail(_ctx: u64, delta: u64, _: u64, _: u64, _: u64) -> u64 {
    with_pkt(|_, v| {
        let delta = i64::from(delta as u32 as i32);
        let Some(end) = v.data_end.checked_add_signed(delta) else {
            return EINVAL;
        };
        if end > v.buf.1 || end < v.data + ETH_HLEN {
            return EINVAL;
        }
        if end > v.data_end {
            let n = usize::try_from(end - v.data_end).unwrap_or(0);
            // SAFETY: data_end..end lies within the buffer (checked).
            unsafe { std::ptr::write_bytes(v.data_end as *mut u8, 0, n) }
        }
        v.data_end = end;
        publish(v);
        0
    })
}

pub(crate) fn redirect(ifindex: u64, flags: u64, _: u64, _: u64, _: u64) -> u64 {
    const BPF_F_INGRESS: u64 = 1;
    const TC_ACT_SHOT: u64 = 2;
    const TC_ACT_REDIRECT: u64 = 7;
    const XDP_ABORTED: u64 = 0;
    const XDP_REDIRECT: u64 = 4;
    with_run(|run| {
        // XDP's bpf_redirect (the kernel's bpf_xdp_redirect) takes no
        // flags and returns XDP_REDIRECT; tc's returns TC_ACT_REDIRECT
        let xdp = run.state().xdp.get();
        let allowed = if xdp { 0 } else { BPF_F_INGRESS };
        if flags & !allowed != 0 {
            return Some(if xdp { XDP_ABORTED } else { TC_ACT_SHOT });
        }
        run.state().redirect.set(None);
        run.state().target.set(Some(RedirectTarget::Ifindex {
            ifindex: ifindex as u32,
            flags,
        }));
        Some(if xdp { XDP_REDIRECT } else { TC_ACT_REDIRECT })
    })
    .unwrap_or(TC_ACT_SHOT)
}

// ---- checksums (one's complement, as the kernel computes them on x86-64)

const fn fold32(mut s: u64) -> u32 {
    while s >> 32 != 0 {
        s = (s & 0xffff_ffff) + (s >> 32);
    }
    s as u32
}

const fn csum_add(a: u32, b: u32) -> u32 {
    fold32(a as u64 + b as u64)
}

const fn csum_sub(a: u32, b: u32) -> u32 {
    csum_add(a, !b)
}

const fn csum_fold(s: u32) -> u16 {
    let mut s = (s & 0xffff) + (s >> 16);
    s = (s & 0xffff) + (s >> 16);
    !(s as u16)
}

/// `csum_partial`: the 32-bit one's complement sum of the native-endian
/// words of `words`, from `seed`.
fn csum_partial(words: &[u8], seed: u32) -> u32 {
    let s = words.chunks_exact(4).fold(u64::from(seed), |s, w| {
        s + u64::from(u32::from_ne_bytes([w[0], w[1], w[2], w[3]]))
    });
    fold32(s)
}

/// The kernel's `csum_from32to16`: a 32-bit sum folded to 16 bits (not
/// complemented).
const fn csum_from32to16(s: u32) -> u32 {
    s.wrapping_add(s.rotate_left(16)) >> 16
}

/// `bpf_csum_diff` as Linux has it since 6.13: the 16-bit folded sum of
/// `to` minus `from` plus `seed` (before, the 32-bit partial sum of the
/// complemented `from` words and the `to` words); with neither, the seed.
pub(crate) fn csum_diff(from: u64, from_size: u64, to: u64, to_size: u64, seed: u64) -> u64 {
    if from_size % 4 != 0 || to_size % 4 != 0 || from_size + to_size > 512 {
        return EINVAL;
    }
    let seed = seed as u32;
    with_run(|run| {
        let f = if from_size == 0 {
            &[][..]
        } else {
            run.bytes(from, usize::try_from(from_size).ok()?)?
        };
        let t = if to_size == 0 {
            &[][..]
        } else {
            run.bytes(to, usize::try_from(to_size).ok()?)?
        };
        Some(u64::from(match (f.is_empty(), t.is_empty()) {
            (false, false) => csum_from32to16(csum_sub(csum_partial(t, seed), csum_partial(f, 0))),
            (true, false) => csum_from32to16(csum_partial(t, seed)),
            (false, true) => csum_from32to16(!csum_partial(f, !seed)),
            (true, true) => seed,
        }))
    })
    .unwrap_or(EFAULT)
}

/// The 16-bit field at `off` from `data` (2-aligned, within the packet).
fn csum_field(v: &PktView, off: u64) -> Option<*mut u8> {
    if off > 0xffff || off & 1 != 0 {
        return None;
    }
    span(v.data, off, 2, v.data, v.data_end).map(|a| a as *mut u8)
}

fn read16(p: *mut u8) -> u16 {
    // SAFETY: `p` comes from csum_field: two bytes within the packet.
    unsafe { p.cast::<u16>().read_unaligned() }
}

fn write16(p: *mut u8, v: u16) {
    // SAFETY: as read16.
    unsafe { p.cast::<u16>().write_unaligned(v) }
}

/// `sum` updated for a change of `from` to `to` (`size` 0: `to` is a
/// checksum difference).
fn replace(sum: u16, from: u64, to: u64, size: u64) -> Option<u16> {
    let unfolded = u32::from(!sum);
    Some(match size {
        0 => csum_fold(csum_add(to as u32, unfolded)),
        2 => {
            let (f, t) = (from as u16, to as u16);
            csum_fold(csum_add(csum_sub(unfolded, u32::from(f)), u32::from(t)))
        }
        4 => csum_fold(csum_add(csum_sub(unfolded, from as u32), to as u32)),
        _ => return None,
    })
}

pub(crate) fn l3_csum_replace(_ctx: u64, off: u64, from: u64, to: u64, flags: u64) -> u64 {
    with_pkt(|_, v| {
        if flags & !0xf != 0 {
            return EINVAL;
        }
        let Some(p) = csum_field(v, off & 0xffff_ffff) else {
            return EFAULT;
        };
        let size = flags & 0xf;
        if size == 0 && from != 0 {
            return EINVAL;
        }
        match replace(read16(p), from, to, size) {
            Some(s) => {
                write16(p, s);
                0
            }
            None => EINVAL,
        }
    })
}

pub(crate) fn l4_csum_replace(_ctx: u64, off: u64, from: u64, to: u64, flags: u64) -> u64 {
    const MANGLED_0: u64 = 0x20;
    const KNOWN: u64 = 0xf | 0x10 | MANGLED_0 | 0x40 | 0x80;
    with_pkt(|_, v| {
        if flags & !KNOWN != 0 {
            return EINVAL;
        }
        let Some(p) = csum_field(v, off & 0xffff_ffff) else {
            return EFAULT;
        };
        let mmzero = flags & MANGLED_0 != 0;
        let old = read16(p);
        if mmzero && old == 0 {
            return 0;
        }
        let size = flags & 0xf;
        // 16-bit fields are replaced as 32-bit values (zero-extended)
        let new = match size {
            0 => replace(old, 0, to, 0),
            2 => replace(old, from & 0xffff, to & 0xffff, 4),
            4 => replace(old, from, to, 4),
            _ => None,
        };
        match new {
            Some(mut s) => {
                if mmzero && s == 0 {
                    s = 0xffff;
                }
                write16(p, s);
                0
            }
            None => EINVAL,
        }
    })
}

// ---- bpf_trace_printk

/// Most lines kept for the host between two takes.
pub const MAX_TRACE_LINES: usize = 256;

/// Bytes kept of one `bpf_trace_printk` line.
pub const MAX_TRACE_LINE: usize = 128;

/// Format `fmt` as the kernel's `bpf_trace_printk` does (up to three
/// arguments; `%d %i %u %x %X %ld %lu %lx %lld %llu %llx %p %c %%`).
pub fn format_printk(fmt: &[u8], args: [u64; 3]) -> String {
    let mut out = String::new();
    format_into(fmt, args, &mut out);
    out
}

fn format_into(fmt: &[u8], args: [u64; 3], out: &mut impl std::fmt::Write) {
    let end = fmt.iter().position(|&b| b == 0).unwrap_or(fmt.len());
    let fmt = &fmt[..end];
    let mut next = args.into_iter();
    let mut i = 0;
    while i < fmt.len() {
        let c = fmt[i];
        i += 1;
        if c != b'%' {
            let _ = out.write_char(char::from(c));
            continue;
        }
        let mut longs = 0;
        while fmt.get(i) == Some(&b'l') {
            longs += 1;
            i += 1;
        }
        let Some(&conv) = fmt.get(i) else { break };
        i += 1;
        if conv == b'%' {
            let _ = out.write_char('%');
            continue;
        }
        let a = next.next().unwrap_or(0);
        let a = if longs == 0 { a & 0xffff_ffff } else { a };
        let _ = match conv {
            b'd' | b'i' if longs == 0 => write!(out, "{}", a as u32 as i32),
            b'd' | b'i' => write!(out, "{}", a as i64),
            b'u' => write!(out, "{a}"),
            b'x' => write!(out, "{a:x}"),
            b'X' => write!(out, "{a:X}"),
            b'p' => write!(out, "0x{a:x}"),
            b'c' => out.write_char(char::from(a as u8)),
            _ => write!(out, "%{}", char::from(conv)),
        };
    }
}

/// One line of trace output, without allocation.
#[derive(Clone, Copy, Debug)]
pub(crate) struct TraceLine {
    len: usize,
    text: [u8; MAX_TRACE_LINE],
}

impl std::fmt::Write for TraceLine {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        for &b in s.as_bytes() {
            if self.len == MAX_TRACE_LINE {
                return Ok(());
            }
            self.text[self.len] = b;
            self.len += 1;
        }
        Ok(())
    }
}

impl TraceLine {
    pub(crate) fn text(&self) -> String {
        String::from_utf8_lossy(&self.text[..self.len]).into_owned()
    }
}

pub(crate) fn trace_printk(fmt: u64, size: u64, a: u64, b: u64, c: u64) -> u64 {
    with_run(|run| {
        let text = run.bytes(fmt, usize::try_from(size).ok()?.min(512))?;
        let mut line = TraceLine {
            len: 0,
            text: [0; MAX_TRACE_LINE],
        };
        format_into(text, [a, b, c], &mut line);
        let n = line.len as u64;
        let mut q = run.state().printk.try_borrow_mut().ok()?;
        // the queue was given its capacity when the Vm was made
        if q.len() < q.capacity().min(MAX_TRACE_LINES) {
            q.push_back(line);
        }
        Some(n)
    })
    .unwrap_or(EFAULT)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn printk() {
        assert_eq!(
            format_printk(b"x=%d y=%u z=%lx %%\0junk", [u64::MAX, 7, 0xab]),
            "x=-1 y=7 z=ab %"
        );
    }

    #[test]
    fn checksums() {
        // IPv4 header checksum after changing the TTL byte
        let mut h = [
            0x45u8, 0, 0, 0x54, 0, 0, 0x40, 0, 0x40, 1, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2,
        ];
        let sum = |hdr: &[u8]| {
            let mut acc = 0u32;
            for w in hdr.chunks(2) {
                acc += u32::from(u16::from_be_bytes([w[0], w[1]]));
            }
            csum_fold(acc).swap_bytes()
        };
        let c = sum(&h);
        h[10..12].copy_from_slice(&c.to_ne_bytes());
        let old = u16::from_ne_bytes([h[8], h[9]]);
        h[8] = 0x3f;
        let new = u16::from_ne_bytes([h[8], h[9]]);
        let updated = replace(
            u16::from_ne_bytes([h[10], h[11]]),
            u64::from(old),
            u64::from(new),
            2,
        );
        h[10..12].copy_from_slice(&updated.unwrap().to_ne_bytes());
        let check = h.chunks(2).fold(0u32, |acc, w| {
            acc + u32::from(u16::from_ne_bytes([w[0], w[1]]))
        });
        assert_eq!(csum_fold(check), 0);
    }
}
