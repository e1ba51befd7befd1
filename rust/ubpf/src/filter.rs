// SPDX-License-Identifier: GPL-2.0-or-later

//! What filter-ubpf does with a packet, shared by the QOM filter
//! (`rust/net/filter-ubpf`) and `ubpf-run` so that both give the same
//! verdicts and counters: the bytes of a frame a program runs on, the
//! packet length its verifier may assume, the netdevs a redirect goes to,
//! and how each packet is counted.
//!
//! What a return value means is the program type's
//! ([`ProgType::verdict`], from its descriptor in [`crate::progtype`]);
//! this module is what the host makes of that [`Verdict`].

use crate::net::ipv4_offset;
use crate::{ProgType, RedirectTarget, Verdict, Vm};

/// Bytes of an Ethernet header.
pub const ETH_HLEN: usize = 14;
/// Bytes of an IPv4 header without options.
const IPV4_MIN_HLEN: usize = 20;
/// `BPF_F_INGRESS` of `bpf_redirect`.
pub const BPF_F_INGRESS: u64 = 1;
/// `BPF_F_EXCLUDE_INGRESS` of `bpf_redirect_map`.
pub const BPF_F_EXCLUDE_INGRESS: u64 = 1 << 4;

/// Where the memory a program of type `ty` runs on starts in the
/// Ethernet frame `frame`, or `None` when the program is not run on it
/// (the frame is unfiltered).  A program of the raw type `ubpf` in
/// ip-mode sees the frame from its IPv4 header on, and frames without a
/// complete IPv4 header are unfiltered ([`ipv4_offset`]); every other
/// program (the raw type without ip-mode, and the kernel types whatever
/// `ip_mode` says) sees the whole frame, if it holds an Ethernet header.
pub fn program_start(ty: ProgType, frame: &[u8], ip_mode: bool) -> Option<usize> {
    if ty == ProgType::Ubpf && ip_mode {
        ipv4_offset(frame)
    } else {
        (frame.len() >= ETH_HLEN).then_some(0)
    }
}

/// The packet length a program of type `ty` can rely on, which the
/// verifier assumes: what [`program_start`] guarantees, a complete IPv4
/// header (the raw type in ip-mode) or an Ethernet header.
pub const fn min_len(ty: ProgType, ip_mode: bool) -> usize {
    if matches!(ty, ProgType::Ubpf) && ip_mode {
        IPV4_MIN_HLEN
    } else {
        ETH_HLEN
    }
}

/// What became of one packet, as the filter counts it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fate {
    /// The program was not run on it ([`program_start`]); `dropped`:
    /// `unfiltered-action=drop` dropped it, else it passed.
    Unfiltered {
        /// Whether it was dropped.
        dropped: bool,
    },
    /// The program's run failed: the packet passes, as it came.
    RunFailed,
    /// The program's verdict.
    Verdict(Verdict),
}

/// The filter's counters: its read-only QOM properties of the same names
/// (`run_count` and `run_time_ns`: `run-count`, `run-time-ns`), and the
/// fields of `x-query-filter-ubpf`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counters {
    /// Packets seen.
    pub packets: u64,
    /// Packets passed on, including those whose run failed and those a
    /// socket filter passed whole.
    pub passed: u64,
    /// Packets dropped as the program type means its verdict, and the
    /// unfiltered ones `unfiltered-action=drop` dropped.
    pub dropped: u64,
    /// Packets dropped as `XDP_ABORTED` (or an unknown XDP action, or an
    /// `XDP_REDIRECT` without a target); also counted in `errors`.
    pub aborted: u64,
    /// Packets sent back where they came from (`XDP_TX`).
    pub tx: u64,
    /// Packets redirected to another netdev.
    pub redirected: u64,
    /// Packets a socket filter shortened and passed on.
    pub truncated: u64,
    /// Failed runs, aborted packets, and packets that could not be sent
    /// where their verdict said.
    pub errors: u64,
    /// Packets the program was not run on.
    pub unfiltered: u64,
    /// Program runs timed (the filter's `stats`).
    pub run_count: u64,
    /// Their total time, in nanoseconds.
    pub run_time_ns: u64,
}

impl Counters {
    /// Count one packet.
    pub fn count(&mut self, fate: Fate) {
        self.packets += 1;
        match fate {
            Fate::Unfiltered { dropped } => {
                self.unfiltered += 1;
                if dropped {
                    self.dropped += 1;
                } else {
                    self.passed += 1;
                }
            }
            Fate::RunFailed => {
                self.passed += 1;
                self.errors += 1;
            }
            Fate::Verdict(v) => match v {
                Verdict::Pass => self.passed += 1,
                Verdict::Drop => self.dropped += 1,
                Verdict::Aborted => {
                    self.aborted += 1;
                    self.errors += 1;
                }
                Verdict::Tx => self.tx += 1,
                Verdict::Redirect(_) => self.redirected += 1,
                Verdict::Truncate(_) => self.truncated += 1,
            },
        }
    }

    /// Count a packet of an `XDP_TX` or redirect verdict that could not
    /// be sent (no way back, no netdev of that ifindex): an error (the
    /// packet was counted by its verdict already).
    pub fn count_delivery_failure(&mut self) {
        self.errors += 1;
    }

    /// The packet counters as `(name, value)`, the names of the filter's
    /// properties, in the order the filter lists them.
    pub const fn named(&self) -> [(&'static str, u64); 9] {
        [
            ("packets", self.packets),
            ("passed", self.passed),
            ("dropped", self.dropped),
            ("aborted", self.aborted),
            ("tx", self.tx),
            ("redirected", self.redirected),
            ("truncated", self.truncated),
            ("errors", self.errors),
            ("unfiltered", self.unfiltered),
        ]
    }
}

/// The netdevs the redirect of `vm`'s last run to `target` goes to, as
/// (ifindex, ingress: to the netdev's peer, as if the netdev had received
/// it): one for `bpf_redirect` and a devmap entry, every entry of the
/// devmap for a broadcast (`BPF_F_BROADCAST`; without `own`, the
/// ifindex of the filter's netdev, with `BPF_F_EXCLUDE_INGRESS`).
pub fn redirect_targets(vm: &Vm, target: RedirectTarget, own: u32) -> Vec<(u32, bool)> {
    match target {
        RedirectTarget::Ifindex { ifindex, flags } => {
            vec![(ifindex, flags & BPF_F_INGRESS != 0)]
        }
        RedirectTarget::Map(r) if r.key.is_some() => vec![(r.ifindex, false)],
        RedirectTarget::Map(r) => {
            let exclude = r.flags & BPF_F_EXCLUDE_INGRESS != 0;
            let mut all = Vec::new();
            if let Some(m) = vm.maps().nth(r.map) {
                let _ = m.walk(None, |_, v| {
                    if let Some(b) = v.get(..4) {
                        let ifindex = u32::from_le_bytes([b[0], b[1], b[2], b[3]]);
                        if !(exclude && ifindex == own) {
                            all.push((ifindex, false));
                        }
                    }
                    true
                });
            }
            all
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(ethertype: u16, l3: &[u8]) -> Vec<u8> {
        let mut f = vec![0u8; 12];
        f.extend_from_slice(&ethertype.to_be_bytes());
        f.extend_from_slice(l3);
        f
    }

    #[test]
    fn program_memory() {
        let ip = frame(0x0800, &[0x45; 20]);
        let arp = frame(0x0806, &[0; 28]);
        assert_eq!(program_start(ProgType::Ubpf, &ip, true), Some(14));
        assert_eq!(program_start(ProgType::Ubpf, &arp, true), None);
        assert_eq!(program_start(ProgType::Ubpf, &arp, false), Some(0));
        // the kernel types see the frame, ip-mode or not
        for ty in [ProgType::Xdp, ProgType::SchedCls, ProgType::SocketFilter] {
            for ip_mode in [false, true] {
                assert_eq!(program_start(ty, &arp, ip_mode), Some(0));
                assert_eq!(program_start(ty, &arp[..13], ip_mode), None);
                assert_eq!(min_len(ty, ip_mode), ETH_HLEN);
            }
        }
        assert_eq!(min_len(ProgType::Ubpf, true), 20);
        assert_eq!(min_len(ProgType::Ubpf, false), 14);
    }

    #[test]
    fn counting() {
        let mut c = Counters::default();
        let t = RedirectTarget::Ifindex {
            ifindex: 2,
            flags: 0,
        };
        for fate in [
            Fate::Unfiltered { dropped: false },
            Fate::Unfiltered { dropped: true },
            Fate::RunFailed,
            Fate::Verdict(Verdict::Pass),
            Fate::Verdict(Verdict::Drop),
            Fate::Verdict(Verdict::Aborted),
            Fate::Verdict(Verdict::Tx),
            Fate::Verdict(Verdict::Redirect(t)),
            Fate::Verdict(Verdict::Truncate(20)),
        ] {
            c.count(fate);
        }
        c.count_delivery_failure();
        let want = Counters {
            packets: 9,
            passed: 3,
            dropped: 2,
            aborted: 1,
            tx: 1,
            redirected: 1,
            truncated: 1,
            errors: 3,
            unfiltered: 2,
            run_count: 0,
            run_time_ns: 0,
        };
        assert_eq!(c, want);
        assert_eq!(c.named()[0], ("packets", 9));
        assert_eq!(c.named()[7], ("errors", 3));
    }
}
