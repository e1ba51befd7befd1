/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * An XDP program (section "xdp": program type xdp): the stock struct
 * xdp_md and the data/data_end bounds checks a kernel XDP program has.
 * Drops IPv4/UDP packets to port 9 (after an optional 802.1Q tag) with
 * XDP_DROP, passes the others with XDP_PASS.
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/udp.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

SEC("xdp")
int xdp_drop_discard(struct xdp_md *ctx)
{
    void *data = (void *)(long)ctx->data;
    void *data_end = (void *)(long)ctx->data_end;
    struct ethhdr *eth = data;
    struct iphdr *ip;
    struct udphdr *udp;
    __u16 proto;

    if ((void *)(eth + 1) > data_end) {
        return XDP_PASS;
    }
    proto = eth->h_proto;
    ip = (void *)(eth + 1);
    if (proto == bpf_htons(ETH_P_8021Q)) {
        if ((void *)ip + 4 > data_end) {
            return XDP_PASS;
        }
        proto = *(__u16 *)((void *)ip + 2);
        ip = (void *)ip + 4;
    }
    if (proto != bpf_htons(ETH_P_IP) || (void *)(ip + 1) > data_end) {
        return XDP_PASS;
    }
    if (ip->protocol != IPPROTO_UDP || ip->ihl != 5) {
        return XDP_PASS;
    }
    udp = (void *)(ip + 1);
    if ((void *)(udp + 1) > data_end) {
        return XDP_PASS;
    }
    return udp->dest == bpf_htons(9) ? XDP_DROP : XDP_PASS;
}

char _license[] SEC("license") = "GPL";
