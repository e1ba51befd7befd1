/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Uses a map type the engine does not support (a queue): must be refused. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct {
    __uint(type, BPF_MAP_TYPE_QUEUE);
    __uint(max_entries, 16);
    __type(value, __u32);
} events SEC(".maps");

SEC("ubpf")
int queue(const __u8 *pkt, unsigned long len)
{
    __u32 v = len;

    return bpf_map_push_elem(&events, &v, 0) != 0;
}

char _license[] SEC("license") = "GPL";
