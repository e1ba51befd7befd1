/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Blocklist (ip-mode): drop packets whose IPv4 source is a key of the
 * "blocked" hash map, which the host fills; count the hits per source.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, 1024);
    __type(key, __u32);         /* IPv4 source address, network order */
    __type(value, __u64);       /* packets dropped */
} blocked SEC(".maps");

SEC("ubpf")
int blocklist(const __u8 *ip, unsigned long len)
{
    __u32 saddr = *(const __u32 *)(ip + 12);
    __u64 *hits = bpf_map_lookup_elem(&blocked, &saddr);

    if (!hits) {
        return 0;
    }
    *hits += 1;
    return 1;
}

char _license[] SEC("license") = "GPL";
