/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Map operations driven by the packet, to check the helpers' semantics
 * (flags, error numbers, LRU eviction, longest-prefix match) from a real
 * program.  The packet (raw convention) is a command:
 *   byte 0: operation (0 lookup, 1 update, 2 delete)
 *   byte 1: map (see below), byte 2: update flags
 *   bytes 8-15: key (u32 index/key, or struct bpf_lpm_trie_key with a
 *               4-byte address), bytes 16-23: value (u64)
 * The program returns the helper's result; a lookup returns the value's
 * u64, or NOT_FOUND.
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

enum { PERCPU_HASH, LRU, LRU_PERCPU, LPM, ARRAY, RDONLY };

static __always_inline long op(void *map, __u8 what, void *key, __u64 *value, __u64 flags)
{
    __u64 *v;

    switch (what) {
    case 0:
        v = bpf_map_lookup_elem(map, key);
        return v ? *v : NOT_FOUND;
    case 1:
        return bpf_map_update_elem(map, key, value, flags);
    case 2:
        return bpf_map_delete_elem(map, key);
    }
    return -1;
}

SEC("ubpf")
long ops(__u8 *pkt, unsigned long len)
{
    __u64 value;

    if (len < 24) {
        return -1;
    }
    __builtin_memcpy(&value, pkt + 16, 8);
    void *key = pkt + 8;
    switch (pkt[1]) {
    case PERCPU_HASH:
        return op(&m_percpu_hash, pkt[0], key, &value, pkt[2]);
    case LRU:
        return op(&m_lru, pkt[0], key, &value, pkt[2]);
    case LRU_PERCPU:
        return op(&m_lru_percpu, pkt[0], key, &value, pkt[2]);
    case LPM:
        return op(&m_lpm, pkt[0], key, &value, pkt[2]);
    case ARRAY:
        return op(&m_array, pkt[0], key, &value, pkt[2]);
    case RDONLY:
        return op(&m_rdonly, pkt[0], key, &value, pkt[2]);
    }
    return -1;
}

char _license[] SEC("license") = "GPL";
