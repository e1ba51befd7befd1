/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Accepted: bpf_map_update_elem with a key and a value on the stack,
 * bpf_map_delete_elem with a key in the packet, lookup with a key in a
 * map value. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct entry {
    __u32 next;
    __u32 hits;
    __u64 first;
};

struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, 8);
    __type(key, __u32);
    __type(value, struct entry);
} chain SEC(".maps");

SEC("ubpf")
int map_update_stack(unsigned char *pkt, unsigned long len)
{
    __u32 key = pkt[0] & 15;
    struct entry *e = bpf_map_lookup_elem(&chain, &key);
    struct entry fresh = { .next = pkt[1] & 15, .hits = 1, .first = pkt[2] };

    if (pkt[3] == 0) {
        return bpf_map_delete_elem(&chain, pkt + 4) == 0;
    }
    if (!e) {
        return bpf_map_update_elem(&chain, &key, &fresh, BPF_ANY) != 0;
    }
    e->hits += 1;
    /* follow the chain one step: the key is in the map value */
    e = bpf_map_lookup_elem(&chain, &e->next);
    return e ? e->hits : 0;
}

char _license[] SEC("license") = "GPL";
