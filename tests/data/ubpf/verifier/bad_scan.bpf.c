/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Rejected: a loop bounded only by the packet's end (no constant limit),
 * which the verifier does not prove to terminate within its budget. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include "ubpf_md.h"

SEC("ubpf")
int bad_scan(struct ubpf_md *ctx)
{
    unsigned char *p = (void *)(long)ctx->data;
    unsigned char *end = (void *)(long)ctx->data_end;

    while (p + 1 <= end && *p != 0) {
        p++;
    }
    return p < end;
}

char _license[] SEC("license") = "GPL";
