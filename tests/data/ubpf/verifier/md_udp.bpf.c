/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Context convention with the engine's own struct ubpf_md (64-bit
 * fields): Ethernet, IPv4 (no options), UDP destination port 9 drops. */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/udp.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
#include "ubpf_md.h"

SEC("ubpf")
int md_udp(struct ubpf_md *ctx)
{
    void *data = (void *)(long)ctx->data;
    void *data_end = (void *)(long)ctx->data_end;
    struct ethhdr *eth = data;
    struct iphdr *ip = (void *)(eth + 1);
    struct udphdr *udp = (void *)(ip + 1);

    if ((void *)(udp + 1) > data_end) {
        return 0;
    }
    if (eth->h_proto != bpf_htons(ETH_P_IP) || ip->protocol != IPPROTO_UDP) {
        return 0;
    }
    return udp->dest == bpf_htons(9);
}

char _license[] SEC("license") = "GPL";
