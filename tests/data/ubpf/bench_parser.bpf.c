/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Benchmark: a larger parser (about 200 instructions) with a bpf-to-bpf
 * call, for raw mode (ip-mode=off: memory is the Ethernet frame).  No
 * loops: every repeated step is written out.  rust/ubpf/benches/engine.rs
 * holds the same logic in plain Rust and checks that the verdicts agree.
 *
 * Parses Ethernet, up to two 802.1ad/802.1Q tags, ARP, IPv4 (with
 * options), IPv6 (with one hop-by-hop header), ICMP/ICMPv6, TCP and UDP,
 * then classifies the flow in a separate function.  Returns 0 (pass) or a
 * reason code (drop):
 *   1 truncated header        2 multicast source MAC   3 VLAN 666
 *   4 unexpected ARP          5 bad IP version         6 IPv4 total length
 *                                                        beyond the frame
 *   7 TTL/hop limit 0         8 ICMP redirect          9 L4 protocol other
 *                                                        than TCP/UDP/ICMP
 *  10 TCP SYN+FIN            11 TCP without flags
 *  20-23 from classify() (see there)
 * Frames that are neither ARP, IPv4 nor IPv6, and IPv4 later fragments,
 * pass.
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <bpf/bpf_helpers.h>

#define P_ICMP 1
#define P_TCP 6
#define P_UDP 17
#define P_ICMPV6 58

static __always_inline __u32 rd16(const unsigned char *p)
{
    return (__u32)p[0] << 8 | p[1];
}

static __always_inline __u32 rd32(const unsigned char *p)
{
    return (__u32)p[0] << 24 | (__u32)p[1] << 16 | (__u32)p[2] << 8 | p[3];
}

/*
 * Flow policy: well-known services pass; two destination networks are
 * blocked; flows between ephemeral ports are sampled by a flow hash (one
 * in eight dropped); everything else is dropped.
 */
static __attribute__((noinline)) int classify(__u32 proto, __u32 src,
                                              __u32 dst, __u32 sport,
                                              __u32 dport)
{
    __u32 h;

    if (dport == 22 || dport == 53 || dport == 80 || dport == 443) {
        return 0;
    }
    if (proto == P_UDP && (dport == 123 || sport == 53)) {
        return 0;
    }
    if ((dst & 0xffffff00) == 0xc0a86400) {     /* 192.168.100.0/24 */
        return 20;
    }
    if (dst == 0x01010101) {                    /* 1.1.1.1 */
        return 21;
    }
    if (sport >= 1024 && dport >= 1024) {
        h = (src ^ dst) * 0x9e3779b1u;
        h ^= (sport << 16 | dport) * 0x85ebca6bu;
        h ^= h >> 15;
        return (h & 7) == 0 ? 22 : 0;
    }
    return 23;
}

SEC("ubpf")
int bench_parser(void *pkt, unsigned long len)
{
    const unsigned char *p = pkt;
    unsigned long off = 12;
    unsigned long ihl, l4;
    __u32 et, proto, src, dst, sport, dport, op;

    if (len < ETH_HLEN) {
        return 1;
    }
    if (p[6] & 1) {
        return 2;
    }
    et = rd16(p + 12);
    if (et == ETH_P_8021AD || et == ETH_P_8021Q) {
        if (len < off + 6) {
            return 1;
        }
        if ((rd16(p + off + 2) & 0x0fff) == 666) {
            return 3;
        }
        off += 4;
        et = rd16(p + off);
        if (et == ETH_P_8021Q) {
            if (len < off + 6) {
                return 1;
            }
            if ((rd16(p + off + 2) & 0x0fff) == 666) {
                return 3;
            }
            off += 4;
            et = rd16(p + off);
        }
    }
    off += 2;
    if (et == ETH_P_ARP) {
        if (len < off + 8) {
            return 1;
        }
        if (rd16(p + off) != 1 || rd16(p + off + 2) != ETH_P_IP) {
            return 4;
        }
        op = rd16(p + off + 6);
        return op == 1 || op == 2 ? 0 : 4;
    }
    if (et == ETH_P_IP) {
        if (len < off + 20) {
            return 1;
        }
        if (p[off] >> 4 != 4) {
            return 5;
        }
        ihl = (p[off] & 0xf) * 4;
        if (ihl < 20 || len < off + ihl) {
            return 1;
        }
        if (rd16(p + off + 2) > len - off) {
            return 6;
        }
        if (rd16(p + off + 6) & 0x1fff) {
            return 0;
        }
        if (p[off + 8] == 0) {
            return 7;
        }
        proto = p[off + 9];
        src = rd32(p + off + 12);
        dst = rd32(p + off + 16);
        l4 = off + ihl;
    } else if (et == ETH_P_IPV6) {
        if (len < off + 40) {
            return 1;
        }
        if (p[off] >> 4 != 6) {
            return 5;
        }
        if (p[off + 7] == 0) {
            return 7;
        }
        proto = p[off + 6];
        /* the low 32 bits of the addresses stand for them */
        src = rd32(p + off + 20);
        dst = rd32(p + off + 36);
        l4 = off + 40;
        if (proto == 0) {                       /* hop-by-hop options */
            if (len < l4 + 8) {
                return 1;
            }
            proto = p[l4];
            l4 += ((unsigned long)p[l4 + 1] + 1) * 8;
        }
    } else {
        return 0;
    }
    if (proto == P_ICMP || proto == P_ICMPV6) {
        if (len < l4 + 4) {
            return 1;
        }
        if (p[l4] == (proto == P_ICMP ? 5 : 137)) {
            return 8;
        }
        return 0;
    }
    if (proto != P_TCP && proto != P_UDP) {
        return 9;
    }
    if (len < l4 + 4) {
        return 1;
    }
    sport = rd16(p + l4);
    dport = rd16(p + l4 + 2);
    if (proto == P_TCP) {
        if (len < l4 + 14) {
            return 1;
        }
        if ((p[l4 + 13] & 0x03) == 0x03) {
            return 10;
        }
        if (p[l4 + 13] == 0) {
            return 11;
        }
    }
    return classify(proto, src, dst, sport, dport);
}

char _license[] SEC("license") = "GPL";
