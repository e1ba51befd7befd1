/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Pins "shared_counts" with another size than maps_select.bpf.c: loading
 * both with one pin registry must fail, naming the map and the mismatch.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, 8);
    __type(key, __u32);
    __type(value, __u64);
    __uint(pinning, LIBBPF_PIN_BY_NAME);
} shared_counts SEC(".maps");

SEC("ubpf")
int other(void *pkt, unsigned long len)
{
    __u32 k = 0;
    __u64 *n = bpf_map_lookup_elem(&shared_counts, &k);

    return n ? *n : 0;
}

char _license[] SEC("license") = "GPL";
