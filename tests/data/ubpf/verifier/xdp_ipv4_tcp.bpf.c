/* SPDX-License-Identifier: GPL-2.0-or-later */
/* XDP style: Ethernet, IPv4 with options (variable header length), TCP:
 * drop telnet (port 23). */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/tcp.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

SEC("xdp")
int xdp_ipv4_tcp(struct xdp_md *ctx)
{
    void *data = (void *)(long)ctx->data;
    void *data_end = (void *)(long)ctx->data_end;
    struct ethhdr *eth = data;
    struct iphdr *ip;
    struct tcphdr *tcp;

    if ((void *)(eth + 1) > data_end || eth->h_proto != bpf_htons(ETH_P_IP)) {
        return 0;
    }
    ip = (void *)(eth + 1);
    if ((void *)(ip + 1) > data_end || ip->protocol != IPPROTO_TCP ||
        ip->ihl < 5) {
        return 0;
    }
    tcp = (void *)ip + ip->ihl * 4;
    if ((void *)(tcp + 1) > data_end) {
        return 0;
    }
    return tcp->dest == bpf_htons(23);
}

char _license[] SEC("license") = "GPL";
