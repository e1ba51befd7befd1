/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Rejected: arithmetic on a map's handle. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, 4);
    __type(key, __u32);
    __type(value, __u64);
} counters SEC(".maps");

SEC("ubpf")
int map_handle_arith(unsigned char *pkt, unsigned long len)
{
    __u32 key = 0;
    void *map = (char *)&counters + (pkt[0] & 8);

    return bpf_map_lookup_elem(map, &key) != 0;
}

char _license[] SEC("license") = "GPL";
