/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Robustness tests (scripts/ubpf/robust/soak.py): the same verdicts as
 * robust_marker.bpf.c, plus per-verdict counts in an array map (index 0:
 * passed, 1: dropped), so that hot swaps with keep-maps=on carry state.
 * Raw mode.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, 2);
    __type(key, __u32);
    __type(value, __u64);
} verdicts SEC(".maps");

SEC("ubpf")
int count(const __u8 *eth, unsigned long len)
{
    __u32 key = 0;
    __u64 *n;

    if (len >= 14 + 20 + 8 && eth[12] == 0x08 && eth[13] == 0x00 && eth[23] == 17 &&
        (eth[14] & 0x0f) == 5 && eth[36] == 0 && eth[37] == 9) {
        key = 1;
    }
    n = bpf_map_lookup_elem(&verdicts, &key);
    if (n) {
        *n += 1;
    }
    return key;
}

char _license[] SEC("license") = "GPL";
