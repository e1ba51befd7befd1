// SPDX-License-Identifier: GPL-2.0-or-later

//! The reference programs written in plain Rust: the limit the engine is
//! compared with.  Each function is the same logic as its C source in
//! tests/data/ubpf, returns the same values, and is kept out of line (one
//! call per packet, as for the engine).

const ETH_HLEN: usize = 14;
const ETH_P_IP: u32 = 0x0800;
const ETH_P_ARP: u32 = 0x0806;
const ETH_P_IPV6: u32 = 0x86dd;
const ETH_P_8021Q: u32 = 0x8100;
const ETH_P_8021AD: u32 = 0x88a8;
const P_ICMP: u32 = 1;
const P_TCP: u32 = 6;
const P_UDP: u32 = 17;
const P_ICMPV6: u32 = 58;

fn rd16(p: &[u8], at: usize) -> u32 {
    u32::from(p[at]) << 8 | u32::from(p[at + 1])
}

fn rd32(p: &[u8], at: usize) -> u32 {
    u32::from_be_bytes([p[at], p[at + 1], p[at + 2], p[at + 3]])
}

/// `bench_pass.bpf.c`
#[inline(never)]
pub fn pass(_p: &[u8]) -> u64 {
    0
}

/// `ip_dst.bpf.c` (ip-mode: `p` starts at the IPv4 header, which the
/// filter guarantees is complete).
#[inline(never)]
pub fn ip_dst(p: &[u8]) -> u64 {
    u64::from(p[16..20] == [1, 1, 1, 1])
}

/// `ipv4_verdict()` of `port_allow.h`.
fn ipv4_verdict(ip: &[u8]) -> u64 {
    let len = ip.len();
    if len < 20 {
        return 1;
    }
    let proto = u32::from(ip[9]);
    if proto != P_TCP && proto != P_UDP {
        return 0;
    }
    if rd16(ip, 6) & 0x1fff != 0 {
        return 0;
    }
    let ihl = usize::from(ip[0] & 0xf) * 4;
    if ihl < 20 || len < ihl + 4 {
        return 1;
    }
    let port = rd16(ip, ihl + 2);
    u64::from(!matches!(port, 22 | 53 | 80 | 443))
}

/// `port_allow_eth.bpf.c` (raw mode).
#[inline(never)]
pub fn port_allow_eth(p: &[u8]) -> u64 {
    let len = p.len();
    let mut off = 12;
    if len < ETH_HLEN {
        return 1;
    }
    let mut proto = rd16(p, 12);
    if proto == ETH_P_8021AD || proto == ETH_P_8021Q {
        off += 4;
        if len < off + 2 {
            return 1;
        }
        proto = rd16(p, off);
    }
    if proto == ETH_P_8021Q {
        off += 4;
        if len < off + 2 {
            return 1;
        }
        proto = rd16(p, off);
    }
    if proto != ETH_P_IP {
        return 0;
    }
    off += 2;
    ipv4_verdict(&p[off..])
}

/// `classify()` of `bench_parser.bpf.c`.
#[inline(never)]
fn classify(proto: u32, src: u32, dst: u32, sport: u32, dport: u32) -> u64 {
    if matches!(dport, 22 | 53 | 80 | 443) {
        return 0;
    }
    if proto == P_UDP && (dport == 123 || sport == 53) {
        return 0;
    }
    if dst & 0xffff_ff00 == 0xc0a8_6400 {
        return 20;
    }
    if dst == 0x0101_0101 {
        return 21;
    }
    if sport >= 1024 && dport >= 1024 {
        let mut h = (src ^ dst).wrapping_mul(0x9e37_79b1);
        h ^= (sport << 16 | dport).wrapping_mul(0x85eb_ca6b);
        h ^= h >> 15;
        return if h & 7 == 0 { 22 } else { 0 };
    }
    23
}

/// The VLAN tag at `off` (ethertype at `off`, TCI at `off + 2`): `Err`
/// with the verdict, or the next ethertype.
fn vlan(p: &[u8], off: usize) -> Result<u32, u64> {
    if p.len() < off + 6 {
        return Err(1);
    }
    if rd16(p, off + 2) & 0x0fff == 666 {
        return Err(3);
    }
    Ok(rd16(p, off + 4))
}

fn arp(p: &[u8], off: usize) -> u64 {
    if p.len() < off + 8 {
        return 1;
    }
    if rd16(p, off) != 1 || rd16(p, off + 2) != ETH_P_IP {
        return 4;
    }
    let op = rd16(p, off + 6);
    if op == 1 || op == 2 {
        0
    } else {
        4
    }
}

/// Layer-3 result: protocol, source, destination, layer-4 offset.
type L3 = (u32, u32, u32, usize);

fn ipv4(p: &[u8], off: usize) -> Result<L3, u64> {
    let len = p.len();
    if len < off + 20 {
        return Err(1);
    }
    if p[off] >> 4 != 4 {
        return Err(5);
    }
    let ihl = usize::from(p[off] & 0xf) * 4;
    if ihl < 20 || len < off + ihl {
        return Err(1);
    }
    if rd16(p, off + 2) as usize > len - off {
        return Err(6);
    }
    if rd16(p, off + 6) & 0x1fff != 0 {
        return Err(0);
    }
    if p[off + 8] == 0 {
        return Err(7);
    }
    Ok((
        u32::from(p[off + 9]),
        rd32(p, off + 12),
        rd32(p, off + 16),
        off + ihl,
    ))
}

fn ipv6(p: &[u8], off: usize) -> Result<L3, u64> {
    let len = p.len();
    if len < off + 40 {
        return Err(1);
    }
    if p[off] >> 4 != 6 {
        return Err(5);
    }
    if p[off + 7] == 0 {
        return Err(7);
    }
    let mut proto = u32::from(p[off + 6]);
    let src = rd32(p, off + 20);
    let dst = rd32(p, off + 36);
    let mut l4 = off + 40;
    if proto == 0 {
        if len < l4 + 8 {
            return Err(1);
        }
        proto = u32::from(p[l4]);
        l4 += (usize::from(p[l4 + 1]) + 1) * 8;
    }
    Ok((proto, src, dst, l4))
}

/// `bench_parser.bpf.c` (raw mode).
#[inline(never)]
pub fn parser(p: &[u8]) -> u64 {
    let len = p.len();
    if len < ETH_HLEN {
        return 1;
    }
    if p[6] & 1 != 0 {
        return 2;
    }
    let mut off = 12;
    let mut et = rd16(p, 12);
    if et == ETH_P_8021AD || et == ETH_P_8021Q {
        et = match vlan(p, off) {
            Ok(e) => e,
            Err(v) => return v,
        };
        off += 4;
        if et == ETH_P_8021Q {
            et = match vlan(p, off) {
                Ok(e) => e,
                Err(v) => return v,
            };
            off += 4;
        }
    }
    off += 2;
    let l3 = match et {
        ETH_P_ARP => return arp(p, off),
        ETH_P_IP => ipv4(p, off),
        ETH_P_IPV6 => ipv6(p, off),
        _ => return 0,
    };
    let (proto, src, dst, l4) = match l3 {
        Ok(x) => x,
        Err(v) => return v,
    };
    if proto == P_ICMP || proto == P_ICMPV6 {
        if len < l4 + 4 {
            return 1;
        }
        let redirect = if proto == P_ICMP { 5 } else { 137 };
        return u64::from(p[l4] == redirect) * 8;
    }
    if proto != P_TCP && proto != P_UDP {
        return 9;
    }
    if len < l4 + 4 {
        return 1;
    }
    let sport = rd16(p, l4);
    let dport = rd16(p, l4 + 2);
    if proto == P_TCP {
        if len < l4 + 14 {
            return 1;
        }
        if p[l4 + 13] & 0x03 == 0x03 {
            return 10;
        }
        if p[l4 + 13] == 0 {
            return 11;
        }
    }
    classify(proto, src, dst, sport, dport)
}

/// `bench_4k.bpf.c` (raw mode): the preprocessor writes out the 392 steps
/// that this loop makes.
#[inline(never)]
pub fn k4(p: &[u8]) -> u64 {
    let mut acc: u64 = 1;
    for n in 0..392u64 {
        let i = n as usize;
        if p.len() > i {
            acc = acc.wrapping_mul(31).wrapping_add(u64::from(p[i]));
            if acc & (1u64 << (n % 61)) != 0 {
                acc ^= n * 0x9e37;
            }
        }
    }
    acc & 1
}
