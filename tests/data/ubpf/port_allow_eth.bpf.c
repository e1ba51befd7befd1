/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * TCP/UDP destination port allow-list on raw Ethernet frames (ip-mode=off):
 * skips up to two 802.1Q/802.1ad tags, passes non-IPv4 frames, drops
 * truncated frames.  See port_allow.h for the IPv4 verdicts.
 */
#include <linux/if_ether.h>
#include "port_allow.h"

SEC("ubpf")
int port_allow_eth(void *pkt, unsigned long len)
{
    const unsigned char *p = pkt;
    unsigned long off = 12;
    __u16 proto;

    if (len < ETH_HLEN) {
        return 1;
    }
    proto = (__u16)p[12] << 8 | p[13];
    if (proto == ETH_P_8021AD || proto == ETH_P_8021Q) {
        off += 4;
        if (len < off + 2) {
            return 1;
        }
        proto = (__u16)p[off] << 8 | p[off + 1];
    }
    if (proto == ETH_P_8021Q) {
        off += 4;
        if (len < off + 2) {
            return 1;
        }
        proto = (__u16)p[off] << 8 | p[off + 1];
    }
    if (proto != ETH_P_IP) {
        return 0;
    }
    off += 2;
    return ipv4_verdict(p + off, len - off);
}

char _license[] SEC("license") = "GPL";
