/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A function that returns nothing (r0 unset at its exit), as in Katran's
 * balancer: accepted as by the kernel; r0 stays unreadable in the caller
 * until written.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

static __attribute__((noinline)) void swap_macs(__u8 *p)
{
    __u8 t[6];

    __builtin_memcpy(t, p, 6);
    __builtin_memcpy(p, p + 6, 6);
    __builtin_memcpy(p + 6, t, 6);
}

SEC("xdp")
int call_void(struct xdp_md *ctx)
{
    __u8 *data = (void *)(long)ctx->data;
    __u8 *end = (void *)(long)ctx->data_end;

    if (data + 14 > end) {
        return XDP_PASS;
    }
    swap_macs(data);
    return data[0] & 1 ? XDP_TX : XDP_PASS;
}

char _license[] SEC("license") = "GPL";
