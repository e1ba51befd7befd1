/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Configuration the host sets before load, as libbpf's skeletons set it:
 * a "const volatile" variable in .rodata (the filter's globals property).
 * XDP: UDP frames to port blocked_port are dropped, the others pass;
 * frames are counted in .bss.
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/udp.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

const volatile __u16 blocked_port = 0;  /* .rodata: 0 blocks nothing */
__u64 frames;                           /* .bss */

SEC("xdp")
int block_port(struct xdp_md *ctx)
{
    void *data = (void *)(long)ctx->data;
    void *data_end = (void *)(long)ctx->data_end;
    struct ethhdr *eth = data;
    struct iphdr *ip = (void *)(eth + 1);
    struct udphdr *udp = (void *)(ip + 1);

    __sync_fetch_and_add(&frames, 1);
    if ((void *)(udp + 1) > data_end || eth->h_proto != bpf_htons(ETH_P_IP) ||
        ip->ihl != 5 || ip->protocol != IPPROTO_UDP) {
        return XDP_PASS;
    }
    if (blocked_port && bpf_ntohs(udp->dest) == blocked_port) {
        return XDP_DROP;
    }
    return XDP_PASS;
}

char _license[] SEC("license") = "GPL";
