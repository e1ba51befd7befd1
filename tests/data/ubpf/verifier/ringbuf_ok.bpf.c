/* SPDX-License-Identifier: GPL-2.0-or-later */
/* XDP: report the first 16 bytes of each frame through a ring buffer
 * record (reserve, fill, submit; discard short frames). */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct {
    __uint(type, BPF_MAP_TYPE_RINGBUF);
    __uint(max_entries, 4096);
} events SEC(".maps");

struct event {
    __u32 len;
    __u8 head[16];
};

SEC("xdp")
int ringbuf_ok(struct xdp_md *ctx)
{
    unsigned char *data = (void *)(long)ctx->data;
    unsigned char *end = (void *)(long)ctx->data_end;
    struct event *e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);

    if (!e)
        return XDP_PASS;
    if (data + 16 > end) {
        bpf_ringbuf_discard(e, 0);
        return XDP_PASS;
    }
    e->len = end - data;
    __builtin_memcpy(e->head, data, 16);
    bpf_ringbuf_submit(e, 0);
    return XDP_PASS;
}

char _license[] SEC("license") = "GPL";
