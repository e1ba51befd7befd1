/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Rejected: the result of bpf_map_lookup_elem is dereferenced without
 * a check against NULL. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, 16);
    __type(key, __u32);
    __type(value, __u64);
} counters SEC(".maps");

SEC("ubpf")
int map_no_null_check(unsigned char *pkt, unsigned long len)
{
    __u32 key = pkt[0];
    __u64 *n = bpf_map_lookup_elem(&counters, &key);

    return *n;
}

char _license[] SEC("license") = "GPL";
