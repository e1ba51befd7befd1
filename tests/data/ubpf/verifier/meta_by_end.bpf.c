/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Refused (as by the kernel): the metadata checked against data_end,
 * not data; its extent is only learnt from a comparison with data. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

SEC("xdp")
int meta_by_end(struct xdp_md *ctx)
{
    void *data_end = (void *)(long)ctx->data_end;
    __u32 *meta = (void *)(long)ctx->data_meta;

    if ((void *)(meta + 1) > data_end) {
        return XDP_PASS;
    }
    return *meta;
}

char _license[] SEC("license") = "GPL";
