/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Two programs in one section, chosen by function name; a pinned
 * counter map they (and other objects) share; a .rodata setting the host
 * fills in before loading.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, 2);
    __type(key, __u32);
    __type(value, __u64);
    __uint(pinning, LIBBPF_PIN_BY_NAME);
} shared_counts SEC(".maps");

const volatile __u64 step = 1;

static __always_inline int count(__u32 which)
{
    __u64 *n = bpf_map_lookup_elem(&shared_counts, &which);

    if (n) {
        *n += step;
    }
    return which + 10;
}

SEC("ubpf")
int count_a(void *pkt, unsigned long len)
{
    return count(0);
}

SEC("ubpf")
int count_b(void *pkt, unsigned long len)
{
    return count(1);
}

char _license[] SEC("license") = "GPL";
