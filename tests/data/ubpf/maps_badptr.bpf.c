/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Passes bpf_map_lookup_elem a key that runs 2 bytes past the end of the
 * packet: the interpreter's helper must refuse it (return NULL, so the
 * program returns 1) instead of reading outside the packet.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, 8);
    __type(key, __u32);
    __type(value, __u32);
} m SEC(".maps");

SEC("ubpf")
int badptr(const __u8 *pkt, unsigned long len)
{
    if (len < 4) {
        return 2;
    }
    return bpf_map_lookup_elem(&m, (void *)(pkt + len - 2)) == 0;
}

char _license[] SEC("license") = "GPL";
