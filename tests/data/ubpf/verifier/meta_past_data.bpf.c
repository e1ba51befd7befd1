/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Refused (as by the kernel): 4 bytes of metadata proven, 8 read. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

SEC("xdp")
int meta_past_data(struct xdp_md *ctx)
{
    void *data = (void *)(long)ctx->data;
    volatile __u32 *meta = (void *)(long)ctx->data_meta;

    if ((void *)(meta + 1) > data) {
        return XDP_PASS;
    }
    return meta[1];
}

char _license[] SEC("license") = "GPL";
