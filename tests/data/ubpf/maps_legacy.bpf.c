/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A map declared the pre-BTF way, in section "maps": a struct of
 * type, key_size, value_size, max_entries and flags.  Counts frames by
 * their first byte's parity, in raw mode.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct legacy_map_def {
    unsigned int type;
    unsigned int key_size;
    unsigned int value_size;
    unsigned int max_entries;
    unsigned int map_flags;
};

struct legacy_map_def parity SEC("maps") = {
    .type = BPF_MAP_TYPE_ARRAY,
    .key_size = sizeof(__u32),
    .value_size = sizeof(__u64),
    .max_entries = 2,
};

SEC("ubpf")
int legacy(const __u8 *eth, unsigned long len)
{
    __u32 key = eth[0] & 1;
    __u64 *n = bpf_map_lookup_elem(&parity, &key);

    if (n) {
        *n += 1;
    }
    return 0;
}

char _license[] SEC("license") = "GPL";
