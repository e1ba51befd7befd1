/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Refused (as by the kernel): three functions of a call chain whose
 * stack frames (160, 200 and 256 bytes; 640 rounded up to 32 each as
 * the kernel counts) take more than 512 together. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

static __attribute__((noinline)) int leaf(__u8 *p, int k)
{
    volatile __u64 buf[32];

#pragma unroll
    for (int i = 0; i < 32; i++) {
        buf[i] = i;
    }
    buf[0] = p[0] + k;
    buf[31] = p[1];
    return buf[0] + buf[31];
}

static __attribute__((noinline)) int mid(__u8 *p, int k)
{
    volatile __u64 buf[25];

#pragma unroll
    for (int i = 0; i < 25; i++) {
        buf[i] = i;
    }
    buf[0] = k;
    buf[24] = p[2];
    return leaf(p, buf[0]) + buf[24];
}

SEC("xdp")
int call_frames_big(struct xdp_md *ctx)
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
    return (mid(data, buf[19]) + buf[0]) & 1;
}

char _license[] SEC("license") = "GPL";
