/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Map operations driven by the packet, to check the helpers' semantics
 * (flags, error numbers, LRU eviction, longest-prefix match) from a real
 * program.  The packet (raw convention) is a command:
 *   byte 0: operation (0 lookup, 1 update, 2 delete)
 *   byte 2: update flags
 *   bytes 8-15: key (u32 index/key, or struct bpf_lpm_trie_key with a
 *               4-byte address), bytes 16-23: value (u64)
 * There is one program per map (ops_<map>); it returns the helper's
 * result; a lookup returns the value's u64, or NOT_FOUND.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#define NOT_FOUND 0xdeadULL

struct lpm_key {
    __u32 prefixlen;
    __u8 addr[4];
};

struct {
    __uint(type, BPF_MAP_TYPE_PERCPU_HASH);
    __uint(max_entries, 4);
    __type(key, __u32);
    __type(value, __u64);
} m_percpu_hash SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_LRU_HASH);
    __uint(max_entries, 4);
    __type(key, __u32);
    __type(value, __u64);
} m_lru SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_LRU_PERCPU_HASH);
    __uint(max_entries, 4);
    __type(key, __u32);
    __type(value, __u64);
} m_lru_percpu SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_LPM_TRIE);
    __uint(max_entries, 4);
    __uint(map_flags, BPF_F_NO_PREALLOC);
    __type(key, struct lpm_key);
    __type(value, __u64);
} m_lpm SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, 4);
    __type(key, __u32);
    __type(value, __u64);
} m_array SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, 4);
    __uint(map_flags, BPF_F_RDONLY_PROG);
    __type(key, __u32);
    __type(value, __u64);
} m_rdonly SEC(".maps");

/* one program per map, chosen by function name (the map goes to a
 * subprogram: one copy of the operations) */
static __attribute__((noinline)) long op(void *map, __u8 *pkt)
{
    __u64 value;
    __u64 *v;
    long ret = -1;

    __builtin_memcpy(&value, pkt + 16, 8);
    if (pkt[0] == 0) {
        v = bpf_map_lookup_elem(map, pkt + 8);
        ret = v ? *v : NOT_FOUND;
    } else if (pkt[0] == 1) {
        ret = bpf_map_update_elem(map, pkt + 8, &value, pkt[2]);
    } else if (pkt[0] == 2) {
        ret = bpf_map_delete_elem(map, pkt + 8);
    }
    return ret;
}

#define OPS(name, map)                                  \
    SEC("ubpf")                                         \
    long name(__u8 *pkt, unsigned long len)             \
    {                                                   \
        return len < 24 ? -1 : op(&map, pkt);           \
    }

OPS(ops_percpu_hash, m_percpu_hash)
OPS(ops_lru, m_lru)
OPS(ops_lru_percpu, m_lru_percpu)
OPS(ops_lpm, m_lpm)
OPS(ops_array, m_array)
OPS(ops_rdonly, m_rdonly)

char _license[] SEC("license") = "GPL";
