/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Maps whose keys and values have struct, array, enum, bool, bitfield
 * and union types, for the typed map dumps (rust/ubpf/tests/btf_format.rs
 * and tests/qtest/test-filter-ubpf.c).  Counts each packet in "flows"
 * under a fixed key; passes every packet.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

enum color { RED, GREEN = 5, BLUE = -1 };

struct flow_key {
    __u32 addr;
    __u16 port;
    __u8 proto;
    char ifname[8];
};

struct stats {
    __u64 packets;
    __s32 delta;
    enum color color;
    __u16 hist[3];
    _Bool seen;
    char tag;
    unsigned int flags : 3;
    unsigned int level : 5;
    union {
        __u32 raw;
        __u8 bytes[4];
    };
};

struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, 16);
    __type(key, struct flow_key);
    __type(value, struct stats);
} flows SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, 4);
    __type(key, enum color);
    __type(value, char[16]);
} names SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
    __uint(max_entries, 4);
    __type(key, __u32);
    __type(value, __u32[4]);
} quads SEC(".maps");

/* sizes only: no types to show */
struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, 2);
    __uint(key_size, 4);
    __uint(value_size, 8);
} sized SEC(".maps");

__u64 counter = 7;
const volatile char greeting[6] = "hello";

SEC("ubpf")
int count_flows(const void *pkt, unsigned long len)
{
    struct flow_key k = { .addr = 0x0100000a, .port = 53, .proto = 17,
                          .ifname = "eth0" };
    enum color c = GREEN;
    __u32 i = 0;
    struct stats *s = bpf_map_lookup_elem(&flows, &k);

    if (s) {
        s->packets++;
    }
    bpf_map_lookup_elem(&names, &c);
    bpf_map_lookup_elem(&quads, &i);
    bpf_map_lookup_elem(&sized, &i);
    counter += greeting[0];
    return 0;
}

char _license[] SEC("license") = "GPL";
