/* SPDX-License-Identifier: GPL-2.0-or-later */
/* XDP style: Ethernet, IPv6, UDP: drop DNS queries (port 53). */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ipv6.h>
#include <linux/udp.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

SEC("xdp")
int xdp_ipv6_udp(struct xdp_md *ctx)
{
    void *data = (void *)(long)ctx->data;
    void *data_end = (void *)(long)ctx->data_end;
    struct ethhdr *eth = data;
    struct ipv6hdr *ip6 = (void *)(eth + 1);
    struct udphdr *udp = (void *)(ip6 + 1);

    if ((void *)(udp + 1) > data_end) {
        return 0;
    }
    if (eth->h_proto != bpf_htons(ETH_P_IPV6) || ip6->nexthdr != IPPROTO_UDP) {
        return 0;
    }
    return udp->dest == bpf_htons(53);
}

char _license[] SEC("license") = "GPL";
