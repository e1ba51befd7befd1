/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A map programs may only write (BPF_F_WRONLY_PROG): the program looks up
 * its only entry and writes 42 into it; DROP when the lookup gives NULL.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, 1);
    __type(key, __u32);
    __type(value, __u64);
    __uint(map_flags, BPF_F_WRONLY_PROG);
} wo SEC(".maps");

SEC("xdp")
int write_only(struct xdp_md *ctx)
{
    __u32 key = 0;
    __u64 *v = bpf_map_lookup_elem(&wo, &key);

    if (!v) {
        return XDP_DROP;
    }
    *v = 42;
    return XDP_PASS;
}

char _license[] SEC("license") = "GPL";
