/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Benchmark: the cost of one map lookup from a program (ip-mode: memory
 * starts at the IPv4 header, which the filter guarantees is complete).
 * rust/ubpf/benches/engine fills the maps from the host before the runs.
 *
 * Each program reads a key from the header, looks it up, and on a hit
 * counts the packet in the value and returns the value's verdict (the
 * host only stores non-zero verdicts); a miss passes (0):
 *   map_array  array map keyed by the IPv4 protocol
 *   map_hash   hash map keyed by the IPv4 destination
 *   map_lpm    lpm_trie keyed by the IPv4 destination (/32 lookup)
 *   map_none   the same without a lookup: the program indexes a global
 *              array itself (the last byte of the destination), so that
 *              the difference to the others is the lookup (helper call
 *              and the map's search)
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct value {
    __u64 verdict;
    __u64 hits;
};

struct lpm_key {
    __u32 prefixlen;
    __u32 addr;                 /* network order */
};

struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, 256);
    __type(key, __u32);
    __type(value, struct value);
} by_proto SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, 2048);
    __type(key, __u32);         /* IPv4 destination, network order */
    __type(value, struct value);
} by_dst SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_LPM_TRIE);
    __uint(max_entries, 512);
    __uint(map_flags, BPF_F_NO_PREALLOC);
    __type(key, struct lpm_key);
    __type(value, struct value);
} by_prefix SEC(".maps");

/* .bss: filled by the host like the maps */
struct value by_last_byte[256];

static __always_inline int decide(struct value *v)
{
    if (!v) {
        return 0;
    }
    v->hits += 1;
    return v->verdict;
}

SEC("ubpf")
int map_array(const __u8 *ip, unsigned long len)
{
    __u32 proto = ip[9];

    return decide(bpf_map_lookup_elem(&by_proto, &proto));
}

SEC("ubpf")
int map_hash(const __u8 *ip, unsigned long len)
{
    __u32 dst = *(const __u32 *)(ip + 16);

    return decide(bpf_map_lookup_elem(&by_dst, &dst));
}

SEC("ubpf")
int map_lpm(const __u8 *ip, unsigned long len)
{
    struct lpm_key key = {
        .prefixlen = 32,
        .addr = *(const __u32 *)(ip + 16),
    };

    return decide(bpf_map_lookup_elem(&by_prefix, &key));
}

SEC("ubpf")
int map_none(const __u8 *ip, unsigned long len)
{
    return decide(&by_last_byte[ip[19]]);
}

char _license[] SEC("license") = "GPL";
