/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Accepted: a packet byte, masked, indexes the slots of a map value. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct slots {
    __u64 count[16];
    __u8 seen[16];
};

struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, 2);
    __type(key, __u32);
    __type(value, struct slots);
} slots SEC(".maps");

SEC("ubpf")
int map_var_off_ok(unsigned char *pkt, unsigned long len)
{
    __u32 key = pkt[0] & 1;
    struct slots *s = bpf_map_lookup_elem(&slots, &key);
    __u32 i = pkt[1];

    if (!s) {
        return 0;
    }
    s->count[pkt[2] & 15] += 1;
    if (i >= 16) {
        return 1;
    }
    s->seen[i] = 1;
    return s->count[i];
}

char _license[] SEC("license") = "GPL";
