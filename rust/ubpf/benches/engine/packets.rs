// SPDX-License-Identifier: GPL-2.0-or-later

//! The fixed packet mix: 64 crafted Ethernet frames of varied kinds and
//! sizes (TCP, UDP, ICMP, ARP, VLAN and `QinQ` tags, IPv6, IPv4 options and
//! fragments, truncated headers, other ethertypes).

use crate::common::Rng;

const ETH_P_IP: u16 = 0x0800;
const ETH_P_ARP: u16 = 0x0806;
const ETH_P_IPV6: u16 = 0x86dd;
const ETH_P_8021Q: u16 = 0x8100;
const ETH_P_8021AD: u16 = 0x88a8;
const ETH_P_LLDP: u16 = 0x88cc;

/// Frame sizes used (Ethernet frame without FCS).
const SIZES: [usize; 8] = [60, 64, 128, 256, 576, 1024, 1400, 1514];

/// Layer-4 content.
#[derive(Clone, Copy)]
enum L4 {
    Udp(u16, u16),
    /// source port, destination port, flags
    Tcp(u16, u16, u8),
    /// ICMP or `ICMPv6` type
    Icmp(u8),
    /// another IP protocol number
    Other(u8),
}

/// How to build one frame of the mix.
#[derive(Clone, Copy)]
struct Spec {
    vlans: &'static [(u16, u16)],
    kind: Kind,
}

#[derive(Clone, Copy)]
enum Kind {
    V4 {
        dst: [u8; 4],
        l4: L4,
        /// IPv4 option bytes (a multiple of 4)
        opts: usize,
        frag: u16,
        ttl: u8,
    },
    V6 {
        l4: L4,
        hop_by_hop: bool,
    },
    Arp(u16),
    Ether(u16),
    /// an IPv4 frame cut `n` bytes after the Ethernet header
    Truncated(usize),
    /// UDP from a multicast source MAC
    McastSrc,
}

const fn v4(dst: [u8; 4], l4: L4) -> Kind {
    Kind::V4 {
        dst,
        l4,
        opts: 0,
        frag: 0,
        ttl: 64,
    }
}

const SYN: u8 = 0x02;
const ACK: u8 = 0x10;
const PSH_ACK: u8 = 0x18;
const SYN_FIN: u8 = 0x03;

const NET_A: [u8; 4] = [10, 0, 2, 2];
const NET_B: [u8; 4] = [93, 184, 216, 34];
const ONE: [u8; 4] = [1, 1, 1, 1];
const BLOCKED: [u8; 4] = [192, 168, 100, 7];

const NO_TAG: &[(u16, u16)] = &[];
const TAG_5: &[(u16, u16)] = &[(ETH_P_8021Q, 5)];
const TAG_666: &[(u16, u16)] = &[(ETH_P_8021Q, 666)];
const QINQ: &[(u16, u16)] = &[(ETH_P_8021AD, 100), (ETH_P_8021Q, 5)];

const fn s(kind: Kind) -> Spec {
    Spec {
        vlans: NO_TAG,
        kind,
    }
}

const fn tagged(vlans: &'static [(u16, u16)], kind: Kind) -> Spec {
    Spec { vlans, kind }
}

/// 64 frame kinds; sizes are drawn from [`SIZES`].
const MIX: [Spec; 64] = [
    // IPv4 UDP
    s(v4(NET_A, L4::Udp(40000, 53))),
    s(v4(NET_B, L4::Udp(40001, 53))),
    s(v4(ONE, L4::Udp(40002, 53))),
    s(v4(NET_B, L4::Udp(123, 123))),
    s(v4(NET_A, L4::Udp(53, 40003))),
    s(v4(NET_B, L4::Udp(40004, 9999))),
    s(v4(NET_B, L4::Udp(5000, 5001))),
    s(v4(NET_A, L4::Udp(6000, 7001))),
    s(v4(BLOCKED, L4::Udp(40005, 9999))),
    s(v4(ONE, L4::Udp(40006, 4789))),
    s(v4(NET_B, L4::Udp(68, 67))),
    s(v4(NET_A, L4::Udp(40007, 443))),
    // IPv4 TCP
    s(v4(NET_B, L4::Tcp(40010, 80, SYN))),
    s(v4(NET_B, L4::Tcp(40011, 443, ACK))),
    s(v4(NET_A, L4::Tcp(40012, 22, PSH_ACK))),
    s(v4(ONE, L4::Tcp(40013, 443, PSH_ACK))),
    s(v4(NET_B, L4::Tcp(40014, 8080, SYN))),
    s(v4(NET_B, L4::Tcp(40015, 25, ACK))),
    s(v4(BLOCKED, L4::Tcp(40016, 3389, SYN))),
    s(v4(NET_A, L4::Tcp(40017, 6667, SYN_FIN))),
    s(v4(NET_A, L4::Tcp(40018, 6668, 0))),
    s(v4(ONE, L4::Tcp(40019, 8443, ACK))),
    s(v4(NET_B, L4::Tcp(1023, 1024, ACK))),
    s(v4(NET_B, L4::Tcp(33000, 34000, PSH_ACK))),
    // IPv4 ICMP and other protocols
    s(v4(NET_A, L4::Icmp(8))),
    s(v4(ONE, L4::Icmp(0))),
    s(v4(NET_B, L4::Icmp(5))),
    s(v4(NET_B, L4::Other(47))),
    s(v4(NET_A, L4::Other(50))),
    // IPv4 with options, fragments, TTL 0
    s(Kind::V4 {
        dst: NET_B,
        l4: L4::Udp(40020, 53),
        opts: 4,
        frag: 0,
        ttl: 64,
    }),
    s(Kind::V4 {
        dst: NET_B,
        l4: L4::Tcp(40021, 9000, SYN),
        opts: 12,
        frag: 0,
        ttl: 64,
    }),
    s(Kind::V4 {
        dst: NET_A,
        l4: L4::Udp(40022, 9999),
        opts: 0,
        frag: 185,
        ttl: 64,
    }),
    s(Kind::V4 {
        dst: NET_A,
        l4: L4::Udp(40023, 9999),
        opts: 0,
        frag: 0x2000,
        ttl: 64,
    }),
    s(Kind::V4 {
        dst: ONE,
        l4: L4::Udp(40024, 53),
        opts: 0,
        frag: 0,
        ttl: 0,
    }),
    // VLAN and QinQ
    tagged(TAG_5, v4(NET_B, L4::Udp(40030, 53))),
    tagged(TAG_5, v4(NET_B, L4::Tcp(40031, 8080, SYN))),
    tagged(TAG_5, v4(ONE, L4::Tcp(40032, 443, ACK))),
    tagged(TAG_666, v4(NET_B, L4::Tcp(40033, 80, ACK))),
    tagged(QINQ, v4(NET_A, L4::Udp(40034, 123))),
    tagged(QINQ, v4(NET_B, L4::Tcp(40035, 5432, SYN))),
    tagged(QINQ, Kind::Arp(1)),
    tagged(
        TAG_5,
        Kind::V6 {
            l4: L4::Tcp(40036, 443, SYN),
            hop_by_hop: false,
        },
    ),
    // ARP
    s(Kind::Arp(1)),
    s(Kind::Arp(2)),
    s(Kind::Arp(3)),
    // IPv6
    s(Kind::V6 {
        l4: L4::Udp(40040, 53),
        hop_by_hop: false,
    }),
    s(Kind::V6 {
        l4: L4::Udp(40041, 9999),
        hop_by_hop: false,
    }),
    s(Kind::V6 {
        l4: L4::Tcp(40042, 22, SYN),
        hop_by_hop: false,
    }),
    s(Kind::V6 {
        l4: L4::Tcp(40043, 8000, ACK),
        hop_by_hop: false,
    }),
    s(Kind::V6 {
        l4: L4::Icmp(128),
        hop_by_hop: false,
    }),
    s(Kind::V6 {
        l4: L4::Icmp(137),
        hop_by_hop: false,
    }),
    s(Kind::V6 {
        l4: L4::Udp(40044, 5353),
        hop_by_hop: true,
    }),
    s(Kind::V6 {
        l4: L4::Icmp(143),
        hop_by_hop: true,
    }),
    s(Kind::V6 {
        l4: L4::Other(50),
        hop_by_hop: false,
    }),
    // other ethertypes, multicast source, truncated headers
    s(Kind::Ether(ETH_P_LLDP)),
    s(Kind::Ether(0x88f7)),
    s(Kind::Ether(0x8863)),
    s(Kind::McastSrc),
    s(Kind::Truncated(10)),
    s(Kind::Truncated(22)),
    s(Kind::Truncated(36)),
    // more ordinary traffic, as most traffic is
    s(v4(NET_B, L4::Tcp(40050, 443, PSH_ACK))),
    s(v4(NET_B, L4::Tcp(40051, 443, ACK))),
    s(v4(NET_A, L4::Udp(40052, 53))),
];

fn l4_bytes(l4: L4) -> (u8, Vec<u8>) {
    match l4 {
        L4::Udp(sp, dp) => {
            let mut h = Vec::with_capacity(8);
            h.extend_from_slice(&sp.to_be_bytes());
            h.extend_from_slice(&dp.to_be_bytes());
            h.extend_from_slice(&[0, 8, 0, 0]);
            (17, h)
        }
        L4::Tcp(sp, dp, flags) => {
            let mut h = Vec::with_capacity(20);
            h.extend_from_slice(&sp.to_be_bytes());
            h.extend_from_slice(&dp.to_be_bytes());
            h.extend_from_slice(&[0, 0, 0, 1, 0, 0, 0, 0, 0x50, flags, 0x20, 0, 0, 0, 0, 0]);
            (6, h)
        }
        L4::Icmp(t) => (1, vec![t, 0, 0, 0, 0, 1, 0, 1]),
        L4::Other(p) => (p, vec![0; 8]),
    }
}

/// Extend `f` with filler bytes up to `size`.
fn pad(f: &mut Vec<u8>, size: usize, rng: &mut Rng) {
    while f.len() < size {
        f.push(rng.next_u64().to_le_bytes()[0]);
    }
}

fn build(spec: Spec, size: usize, rng: &mut Rng) -> Vec<u8> {
    let mut f = vec![
        0x52, 0x54, 0x00, 0x12, 0x34, 0x56, 0x52, 0x54, 0x00, 0xab, 0xcd, 0xef,
    ];
    if matches!(spec.kind, Kind::McastSrc) {
        f[6] = 0x01;
    }
    for &(tpid, vid) in spec.vlans {
        f.extend_from_slice(&tpid.to_be_bytes());
        f.extend_from_slice(&vid.to_be_bytes());
    }
    let l3 = f.len() + 2;
    match spec.kind {
        Kind::V4 {
            dst,
            l4,
            opts,
            frag,
            ttl,
        } => {
            let (proto, hdr) = l4_bytes(l4);
            f.extend_from_slice(&ETH_P_IP.to_be_bytes());
            let ihl = u8::try_from(5 + opts / 4).unwrap_or(5);
            f.extend_from_slice(&[0x40 | ihl, 0, 0, 0, 0x12, 0x34]);
            f.extend_from_slice(&frag.to_be_bytes());
            f.extend_from_slice(&[ttl, proto, 0, 0, 10, 0, 2, 15]);
            f.extend_from_slice(&dst);
            f.extend(std::iter::repeat_n(1u8, opts));
            f.extend_from_slice(&hdr);
            pad(&mut f, size, rng);
            let total = u16::try_from(f.len() - l3).unwrap_or(u16::MAX);
            f[l3 + 2..l3 + 4].copy_from_slice(&total.to_be_bytes());
        }
        Kind::V6 { l4, hop_by_hop } => {
            let (proto, hdr) = l4_bytes(l4);
            let proto = if proto == 1 { 58 } else { proto };
            f.extend_from_slice(&ETH_P_IPV6.to_be_bytes());
            let next = if hop_by_hop { 0 } else { proto };
            f.extend_from_slice(&[0x60, 0, 0, 0, 0, 0, next, 64]);
            f.extend_from_slice(&[0x20, 0x01, 0x0d, 0xb8]);
            f.extend_from_slice(&[0; 8]);
            f.extend_from_slice(&[0, 0, 0, 1]);
            f.extend_from_slice(&[0x20, 0x01, 0x0d, 0xb8]);
            f.extend_from_slice(&[0; 8]);
            f.extend_from_slice(&[0, 0, 0, 2]);
            if hop_by_hop {
                // 16-byte hop-by-hop header: next header, length 1 (in
                // 8-byte units beyond the first 8), padding options
                f.extend_from_slice(&[proto, 1, 1, 12]);
                f.extend_from_slice(&[0; 12]);
            }
            f.extend_from_slice(&hdr);
            pad(&mut f, size, rng);
            let payload = u16::try_from(f.len() - l3 - 40).unwrap_or(u16::MAX);
            f[l3 + 4..l3 + 6].copy_from_slice(&payload.to_be_bytes());
        }
        Kind::Arp(op) => {
            f.extend_from_slice(&ETH_P_ARP.to_be_bytes());
            f.extend_from_slice(&[0, 1, 0x08, 0x00, 6, 4]);
            f.extend_from_slice(&op.to_be_bytes());
            f.extend_from_slice(&[0x52, 0x54, 0, 0xab, 0xcd, 0xef, 10, 0, 2, 15]);
            f.extend_from_slice(&[0, 0, 0, 0, 0, 0, 10, 0, 2, 2]);
            pad(&mut f, size.min(60), rng);
        }
        Kind::Ether(et) => {
            f.extend_from_slice(&et.to_be_bytes());
            pad(&mut f, size, rng);
        }
        Kind::Truncated(n) => {
            f.extend_from_slice(&ETH_P_IP.to_be_bytes());
            f.extend_from_slice(&[0x45, 0, 0, 40, 0, 0, 0, 0, 64, 6, 0, 0]);
            f.extend_from_slice(&[10, 0, 2, 15, 10, 0, 2, 2, 0x9c, 0x40, 0x1f, 0x90]);
            f.truncate(l3 + n);
        }
        Kind::McastSrc => {
            let (proto, hdr) = l4_bytes(L4::Udp(5353, 5353));
            f.extend_from_slice(&ETH_P_IP.to_be_bytes());
            f.extend_from_slice(&[0x45, 0, 0, 0, 0, 0, 0, 0, 255, proto, 0, 0]);
            f.extend_from_slice(&[10, 0, 2, 15, 224, 0, 0, 251]);
            f.extend_from_slice(&hdr);
            pad(&mut f, size, rng);
            let total = u16::try_from(f.len() - l3).unwrap_or(u16::MAX);
            f[l3 + 2..l3 + 4].copy_from_slice(&total.to_be_bytes());
        }
    }
    f
}

/// The 64 frames of the mix.
pub fn mix() -> Vec<Vec<u8>> {
    let mut rng = Rng::new(0x5eed_0007);
    MIX.iter()
        .map(|&spec| {
            let size = rng.pick(&SIZES);
            build(spec, size, &mut rng)
        })
        .collect()
}
