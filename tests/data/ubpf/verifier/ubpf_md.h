/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Context of the ubpf engine's context convention (Convention::Context):
 * r1 points to this block.  Programs read the packet's bounds from it and
 * compare packet pointers against data_end before reading, as in XDP:
 *
 *     int prog(struct ubpf_md *ctx)
 *     {
 *         void *data = (void *)(long)ctx->data;
 *         void *data_end = (void *)(long)ctx->data_end;
 *         ...
 *     }
 *
 * Programs written for the kernel's struct xdp_md (32-bit data and
 * data_end at offsets 0 and 4) verify unchanged too: the verifier rewrites
 * those loads into 64-bit loads of this block.  No other field exists.
 */
#ifndef UBPF_MD_H
#define UBPF_MD_H

#include <linux/types.h>

struct ubpf_md {
    __u64 data;     /* first byte of the packet */
    __u64 data_end; /* one past its last byte */
};

#endif
