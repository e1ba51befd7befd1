/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Rejected: checks 14 bytes, reads the 15th. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include "ubpf_md.h"

SEC("ubpf")
int bad_off_by_one(struct ubpf_md *ctx)
{
    unsigned char *data = (void *)(long)ctx->data;
    unsigned char *data_end = (void *)(long)ctx->data_end;

    if (data + 14 > data_end) {
        return 0;
    }
    return data[14];
}

char _license[] SEC("license") = "GPL";
