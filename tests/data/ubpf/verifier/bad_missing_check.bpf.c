/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Rejected: reads the IPv4 protocol without comparing against data_end. */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <bpf/bpf_helpers.h>

SEC("xdp")
int bad_missing_check(struct xdp_md *ctx)
{
    void *data = (void *)(long)ctx->data;
    void *data_end = (void *)(long)ctx->data_end;
    struct ethhdr *eth = data;
    struct iphdr *ip = (void *)(eth + 1);

    if ((void *)(eth + 1) > data_end) {
        return 0;
    }
    return ip->protocol == 17;
}

char _license[] SEC("license") = "GPL";
