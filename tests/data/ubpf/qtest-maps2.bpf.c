/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Two programs of tests/qtest/test-filter-ubpf.c sharing one map: both
 * count the packets they see in "hits"; one passes them, the other drops
 * them.  Switching sections must keep the count.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, 1);
    __type(key, __u32);
    __type(value, __u64);
} hits SEC(".maps");

static __always_inline void count(void)
{
    __u32 key = 0;
    __u64 *n = bpf_map_lookup_elem(&hits, &key);

    if (n) {
        *n += 1;
    }
}

SEC("ubpf/count_pass")
int count_pass(const void *pkt, unsigned long len)
{
    count();
    return 0;
}

SEC("ubpf/count_drop")
int count_drop(const void *pkt, unsigned long len)
{
    count();
    return 1;
}

char _license[] SEC("license") = "GPL";
