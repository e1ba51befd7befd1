/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Uses a map type the engine does not support: must be refused. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct {
    __uint(type, BPF_MAP_TYPE_RINGBUF);
    __uint(max_entries, 4096);
} events SEC(".maps");

SEC("ubpf")
int ringbuf(const __u8 *pkt, unsigned long len)
{
    return bpf_ringbuf_output(&events, (void *)pkt, 1, 0) != 0;
}

char _license[] SEC("license") = "GPL";
