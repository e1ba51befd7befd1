/* SPDX-License-Identifier: GPL-2.0-or-later */
/* XDP: skip IPv6 extension headers (hop-by-hop, routing, destination
 * options; at most 8) and drop UDP to port 9. */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/ipv6.h>
#include <linux/udp.h>
#include <linux/in.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

struct ext { __u8 next; __u8 len; };

SEC("xdp")
int xdp_ipv6_ext(struct xdp_md *ctx)
{
    void *data = (void *)(long)ctx->data;
    void *end = (void *)(long)ctx->data_end;
    struct ethhdr *eth = data;
    struct ipv6hdr *ip6 = (void *)(eth + 1);
    void *p;
    __u8 next;

    if ((void *)(ip6 + 1) > end || eth->h_proto != bpf_htons(ETH_P_IPV6))
        return XDP_PASS;
    next = ip6->nexthdr;
    p = ip6 + 1;
#pragma clang loop unroll(disable)
    for (int i = 0; i < 8; i++) {
        struct ext *e = p;

        if (next != 0 && next != 43 && next != 60)
            break;
        if ((void *)(e + 1) > end)
            return XDP_PASS;
        next = e->next;
        p += (e->len + 1) * 8;
    }
    if (next == IPPROTO_UDP) {
        struct udphdr *udp = p;

        if ((void *)(udp + 1) > end)
            return XDP_PASS;
        if (udp->dest == bpf_htons(9))
            return XDP_DROP;
    }
    return XDP_PASS;
}

char _license[] SEC("license") = "GPL";
