/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Uses a BPF map (BTF-defined, in SEC(".maps")): counts the packets in
 * an array map.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, 1);
    __type(key, __u32);
    __type(value, __u64);
} counters SEC(".maps");

SEC("ubpf")
int map_user(void *pkt, unsigned long len)
{
    __u32 key = 0;
    __u64 *count = bpf_map_lookup_elem(&counters, &key);

    if (count) {
        *count += 1;
    }
    return 0;
}

char _license[] SEC("license") = "GPL";
