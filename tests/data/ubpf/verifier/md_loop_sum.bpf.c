/* SPDX-License-Identifier: GPL-2.0-or-later */
/* A bounded loop over the packet: sum of the first 16 bytes (or fewer)
 * is odd.  The loop is kept as a loop (no unrolling). */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include "ubpf_md.h"

SEC("ubpf")
int md_loop_sum(struct ubpf_md *ctx)
{
    unsigned char *data = (void *)(long)ctx->data;
    unsigned char *data_end = (void *)(long)ctx->data_end;
    unsigned int sum = 0;

#pragma clang loop unroll(disable)
    for (int i = 0; i < 16 && data + i + 1 <= data_end; i++) {
        sum += data[i];
    }
    return sum & 1;
}

char _license[] SEC("license") = "GPL";
