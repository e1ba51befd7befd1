/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Kernel-style XDP program (stock struct xdp_md): drop IPv4 frames. */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

SEC("xdp")
int xdp_eth(struct xdp_md *ctx)
{
    void *data = (void *)(long)ctx->data;
    void *data_end = (void *)(long)ctx->data_end;
    struct ethhdr *eth = data;

    if ((void *)(eth + 1) > data_end) {
        return 0;
    }
    return eth->h_proto == bpf_htons(ETH_P_IP);
}

char _license[] SEC("license") = "GPL";
