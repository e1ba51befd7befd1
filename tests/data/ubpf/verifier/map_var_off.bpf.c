/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Rejected: a packet byte indexes a 16-byte value without a bound. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct table {
    __u8 verdict[16];
};

struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, 1);
    __type(key, __u32);
    __type(value, struct table);
} tables SEC(".maps");

SEC("ubpf")
int map_var_off(unsigned char *pkt, unsigned long len)
{
    __u32 key = 0;
    struct table *t = bpf_map_lookup_elem(&tables, &key);

    if (!t) {
        return 0;
    }
    return t->verdict[pkt[1]];
}

char _license[] SEC("license") = "GPL";
