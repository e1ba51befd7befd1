/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Raw mode (ip-mode=off): let ARP frames pass, drop everything else,
 * including frames too short to carry an EtherType.
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <bpf/bpf_helpers.h>

SEC("ubpf")
int arp_only(void *pkt, unsigned long len)
{
    const unsigned char *p = pkt;

    if (len < ETH_HLEN) {
        return 1;
    }
    return ((__u16)p[12] << 8 | p[13]) != ETH_P_ARP;
}

char _license[] SEC("license") = "GPL";
