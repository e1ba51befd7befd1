/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * bpf-to-bpf calls three deep, each function with a stack frame of its
 * own size (160, 128 and 192 bytes: 480 together, within the kernel's
 * 512 for a call chain).  The engine gives each callee a frame pointer
 * its caller's frame size below the caller's, as the kernel does.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

static __attribute__((noinline)) int leaf(__u8 *p, int k)
{
    volatile __u64 buf[24];

#pragma unroll
    for (int i = 0; i < 24; i++) {
        buf[i] = i;
    }
    buf[0] = p[0] + k;
    buf[23] = p[1];
    return buf[0] * 3 + buf[23];
}

static __attribute__((noinline)) int mid(__u8 *p, int k)
{
    volatile __u64 buf[16];

#pragma unroll
    for (int i = 0; i < 16; i++) {
        buf[i] = i;
    }
    buf[0] = k;
    buf[15] = p[2];
    return leaf(p, buf[0] + 1) ^ buf[15] ^ buf[0];
}

SEC("xdp")
int call_frames(struct xdp_md *ctx)
{
    __u8 *data = (void *)(long)ctx->data;
    __u8 *end = (void *)(long)ctx->data_end;
    volatile __u64 buf[20];

#pragma unroll
    for (int i = 0; i < 20; i++) {
        buf[i] = i;
    }
    if (data + 4 > end) {
        return XDP_PASS;
    }
    buf[0] = data[3];
    buf[19] = data[0];
    return (mid(data, buf[19]) + buf[0]) & 1 ? XDP_PASS : XDP_DROP;
}

char _license[] SEC("license") = "GPL";
