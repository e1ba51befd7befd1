/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Per-source rate limiter (ip-mode): a token bucket per IPv4 source in a
 * hash map, refilled with time (bpf_ktime_get_ns).  Each source may send
 * BURST packets, then one per REFILL_NS; the rest are dropped.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#define BURST 3
#define REFILL_NS 1000000000ULL

struct bucket {
    __u64 last_ns;
    __u64 tokens;
};

struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, 4);
    __type(key, __u32);
    __type(value, struct bucket);
} buckets SEC(".maps");

SEC("ubpf")
int ratelimit(const __u8 *ip, unsigned long len)
{
    __u32 saddr = *(const __u32 *)(ip + 12);
    __u64 now = bpf_ktime_get_ns();
    struct bucket *b = bpf_map_lookup_elem(&buckets, &saddr);

    if (!b) {
        struct bucket fresh = { .last_ns = now, .tokens = BURST - 1 };

        /* a full table (too many sources) drops the newcomer */
        return bpf_map_update_elem(&buckets, &saddr, &fresh, BPF_NOEXIST) != 0;
    }
    if (now - b->last_ns >= REFILL_NS) {
        b->tokens = BURST;
        b->last_ns = now;
    }
    if (b->tokens == 0) {
        return 1;
    }
    b->tokens -= 1;
    return 0;
}

char _license[] SEC("license") = "GPL";
