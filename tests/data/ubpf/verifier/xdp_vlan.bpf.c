/* SPDX-License-Identifier: GPL-2.0-or-later */
/* XDP style: skip up to two VLAN tags (a bounded loop), then drop UDP
 * over IPv4. */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

struct vlan_hdr {
    __be16 tci;
    __be16 proto;
};

SEC("xdp")
int xdp_vlan(struct xdp_md *ctx)
{
    void *data = (void *)(long)ctx->data;
    void *data_end = (void *)(long)ctx->data_end;
    struct ethhdr *eth = data;
    void *l3;
    __u16 proto;
    struct iphdr *ip;

    if ((void *)(eth + 1) > data_end) {
        return 0;
    }
    proto = eth->h_proto;
    l3 = eth + 1;
#pragma clang loop unroll(disable)
    for (int i = 0; i < 2; i++) {
        struct vlan_hdr *vh = l3;

        if (proto != bpf_htons(ETH_P_8021Q) && proto != bpf_htons(ETH_P_8021AD)) {
            break;
        }
        if ((void *)(vh + 1) > data_end) {
            return 0;
        }
        proto = vh->proto;
        l3 = vh + 1;
    }
    if (proto != bpf_htons(ETH_P_IP)) {
        return 0;
    }
    ip = l3;
    if ((void *)(ip + 1) > data_end) {
        return 0;
    }
    return ip->protocol == IPPROTO_UDP;
}

char _license[] SEC("license") = "GPL";
