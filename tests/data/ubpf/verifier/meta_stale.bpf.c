/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Refused (as by the kernel): a metadata pointer kept across
 * bpf_xdp_adjust_meta, which moves the metadata. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

SEC("xdp")
int meta_stale(struct xdp_md *ctx)
{
    void *data = (void *)(long)ctx->data;
    __u32 *meta = (void *)(long)ctx->data_meta;

    if (bpf_xdp_adjust_meta(ctx, -4)) {
        return XDP_PASS;
    }
    if ((void *)(meta + 1) > data) {
        return XDP_PASS;
    }
    return *meta;
}

char _license[] SEC("license") = "GPL";
