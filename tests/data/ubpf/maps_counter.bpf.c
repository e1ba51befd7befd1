/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Per-protocol packet counter (ip-mode): an array map indexed by the IPv4
 * protocol number.  Passes every packet.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, 256);
    __type(key, __u32);
    __type(value, __u64);
} proto_count SEC(".maps");

SEC("ubpf")
int count_protocols(const __u8 *ip, unsigned long len)
{
    __u32 proto = ip[9];
    __u64 *count = bpf_map_lookup_elem(&proto_count, &proto);

    if (count) {
        *count += 1;
    }
    return 0;
}

char _license[] SEC("license") = "GPL";
