/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Rejected: writes a map value's address into the packet. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, 4);
    __type(key, __u32);
    __type(value, __u64);
} counters SEC(".maps");

SEC("ubpf")
int map_ptr_into_pkt(unsigned char *pkt, unsigned long len)
{
    __u32 key = 1;
    __u64 *n = bpf_map_lookup_elem(&counters, &key);

    if (n) {
        *(__u64 **)pkt = n;
    }
    return 0;
}

char _license[] SEC("license") = "GPL";
