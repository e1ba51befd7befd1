/* SPDX-License-Identifier: GPL-2.0-or-later */
/* XDP: walk the TCP options of an IPv4 TCP segment (at most 16 steps) and
 * drop segments whose MSS option announces less than 536 bytes. */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/tcp.h>
#include <linux/in.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

SEC("xdp")
int xdp_tcp_opts(struct xdp_md *ctx)
{
    void *data = (void *)(long)ctx->data;
    void *end = (void *)(long)ctx->data_end;
    struct ethhdr *eth = data;
    struct iphdr *ip = (void *)(eth + 1);
    struct tcphdr *tcp;
    unsigned char *opt, *opt_end;

    if ((void *)(ip + 1) > end || eth->h_proto != bpf_htons(ETH_P_IP))
        return XDP_PASS;
    if (ip->protocol != IPPROTO_TCP || ip->ihl != 5)
        return XDP_PASS;
    tcp = (void *)(ip + 1);
    if ((void *)(tcp + 1) > end)
        return XDP_PASS;
    opt = (unsigned char *)(tcp + 1);
    opt_end = (unsigned char *)tcp + tcp->doff * 4;
    if ((void *)opt_end > end)
        return XDP_PASS;
#pragma clang loop unroll(disable)
    for (int i = 0; i < 16; i++) {
        if (opt + 1 > opt_end || (void *)(opt + 1) > end)
            break;
        if (opt[0] == 0)
            break;
        if (opt[0] == 1) {
            opt++;
            continue;
        }
        if ((void *)(opt + 2) > end || opt + 2 > opt_end)
            break;
        if (opt[1] < 2)
            break;
        if (opt[0] == 2 && opt[1] == 4) {
            if ((void *)(opt + 4) > end)
                break;
            if (bpf_ntohs(*(__u16 *)(opt + 2)) < 536)
                return XDP_DROP;
        }
        opt += opt[1];
    }
    return XDP_PASS;
}

char _license[] SEC("license") = "GPL";
