/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Refused: a 4-byte write at offset 4 of a 6-byte record. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct {
    __uint(type, BPF_MAP_TYPE_RINGBUF);
    __uint(max_entries, 4096);
} events SEC(".maps");

SEC("xdp")
int ringbuf_oob(struct xdp_md *ctx)
{
    unsigned char *e = bpf_ringbuf_reserve(&events, 6, 0);

    if (!e)
        return XDP_PASS;
    *(volatile __u32 *)(e + 4) = 1;
    bpf_ringbuf_submit(e, 0);
    return XDP_PASS;
}

char _license[] SEC("license") = "GPL";
