/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Rejected: half of the 8-byte key is never written. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct flow {
    __u32 addr;
    __u32 port;
};

struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, 16);
    __type(key, struct flow);
    __type(value, __u64);
} flows SEC(".maps");

SEC("ubpf")
int map_uninit_key(unsigned char *pkt, unsigned long len)
{
    struct flow key;

    key.addr = *(__u32 *)(pkt + 12);
    return bpf_map_lookup_elem(&flows, &key) != 0;
}

char _license[] SEC("license") = "GPL";
