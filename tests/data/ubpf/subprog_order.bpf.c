/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * bpf-to-bpf calls that libbpf links in another order than the object
 * holds them: libbpf appends to each program only the .text functions it
 * calls, at their first call, following each one's own calls at once.
 *
 * "first" calls scale, which calls lookup, then offset; clang places the
 * functions in .text in the order it comes to them (scale, offset,
 * lookup), libbpf links first, scale, lookup, offset.  "second" calls
 * lookup only: libbpf links second, lookup, without the functions it does
 * not call (the kernel refuses unreachable instructions).  The functions
 * use a map, .rodata, .data and .bss: map references in subprograms.
 *
 * XDP: pass (2) or drop (1) by the low bit of what the functions compute.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, 4);
    __type(key, __u32);
    __type(value, __u64);
} weights SEC(".maps");

const volatile __u32 bias = 3;  /* .rodata */
__u64 step = 2;                 /* .data */
__u64 calls;                    /* .bss */

static __attribute__((noinline)) __u64 lookup(__u32 key)
{
    __u64 *w = bpf_map_lookup_elem(&weights, &key);

    calls += step;
    return w ? *w : 1;
}

static __attribute__((noinline)) __u64 scale(__u32 len)
{
    return len * lookup(len & 3);
}

static __attribute__((noinline)) __u64 offset(__u32 len)
{
    return len + bias;
}

SEC("xdp")
int first(struct xdp_md *ctx)
{
    __u32 len = ctx->data_end - ctx->data;
    __u64 v = scale(len);

    v += offset(len);
    return v & 1 ? XDP_DROP : XDP_PASS;
}

SEC("xdp")
int second(struct xdp_md *ctx)
{
    __u32 len = ctx->data_end - ctx->data;

    return lookup(len & 3) & 1 ? XDP_DROP : XDP_PASS;
}

char _license[] SEC("license") = "GPL";
