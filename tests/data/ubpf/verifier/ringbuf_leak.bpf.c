/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Refused: a path returns without submitting or discarding the record. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct {
    __uint(type, BPF_MAP_TYPE_RINGBUF);
    __uint(max_entries, 4096);
} events SEC(".maps");

SEC("xdp")
int ringbuf_leak(struct xdp_md *ctx)
{
    unsigned char *data = (void *)(long)ctx->data;
    unsigned char *end = (void *)(long)ctx->data_end;
    __u32 *e = bpf_ringbuf_reserve(&events, 4, 0);

    if (!e)
        return XDP_PASS;
    if (data + 1 > end)
        return XDP_DROP;
    *e = data[0];
    bpf_ringbuf_submit(e, 0);
    return XDP_PASS;
}

char _license[] SEC("license") = "GPL";
