/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * XDP metadata (bpf_xdp_adjust_meta): put 8 bytes in front of the
 * packet, fill them from the Ethernet header, read them back, shrink the
 * metadata to 4 bytes, then move the packet's start (bpf_xdp_adjust_head:
 * the metadata moves with it) and read it again.  Test runs give the
 * packet back from data_meta, so the kernel differential compares the
 * metadata bytes too.
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <bpf/bpf_helpers.h>

SEC("xdp")
int xdp_meta(struct xdp_md *ctx)
{
    void *data, *data_end;
    __u32 *meta;
    __u32 tag;

    if (bpf_xdp_adjust_meta(ctx, -8)) {
        return XDP_ABORTED;
    }
    data = (void *)(long)ctx->data;
    data_end = (void *)(long)ctx->data_end;
    meta = (void *)(long)ctx->data_meta;
    if ((void *)(meta + 2) > data) {
        return XDP_ABORTED;
    }
    if (data + ETH_HLEN > data_end) {
        return XDP_DROP;
    }
    meta[0] = *(__u32 *)(data + 6) ^ 0x5a5a5a5a;
    meta[1] = *(__u16 *)(data + 12) | 0x10000;
    tag = meta[0] + meta[1];

    /* 4 bytes fewer: the first word goes, the second stays */
    if (bpf_xdp_adjust_meta(ctx, 4)) {
        return XDP_ABORTED;
    }
    /* an odd length is refused (-EACCES), the metadata stays */
    if (bpf_xdp_adjust_meta(ctx, 2) == 0) {
        return XDP_ABORTED;
    }
    /* 2 bytes of the frame go: the metadata moves with data */
    if (bpf_xdp_adjust_head(ctx, 2)) {
        return XDP_DROP;
    }
    data = (void *)(long)ctx->data;
    meta = (void *)(long)ctx->data_meta;
    if (data >= (void *)(meta + 1)) {
        tag ^= *meta;
    } else {
        return XDP_ABORTED;
    }
    return tag & 1 ? XDP_PASS : XDP_TX;
}

char _license[] SEC("license") = "GPL";
