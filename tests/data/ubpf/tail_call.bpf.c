/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * bpf_tail_call through a program array initialised in the object (as
 * libbpf does): a dispatcher by EtherType, a call to an empty slot that
 * falls through, and a program that tail-calls itself until the kernel's
 * limit (33 tail calls) stops it.  tc programs; run by tests/tail_call.rs.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

int to_ipv4(struct __sk_buff *skb);
int to_ipv6(struct __sk_buff *skb);
int again(struct __sk_buff *skb);

struct {
    __uint(type, BPF_MAP_TYPE_PROG_ARRAY);
    __uint(max_entries, 8);
    __type(key, __u32);
    __array(values, int (void *));
} jumps SEC(".maps") = {
    .values = {
        [0] = (void *)&to_ipv4,
        [1] = (void *)&to_ipv6,
        [4] = (void *)&again,
    },
};

/* counted only by the targets: a map the dispatcher does not use */
struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, 2);
    __type(key, __u32);
    __type(value, __u64);
} seen SEC(".maps");

static void count(__u32 k)
{
    __u64 *v = bpf_map_lookup_elem(&seen, &k);

    if (v) {
        __sync_fetch_and_add(v, 1);
    }
}

/* IPv4 -> to_ipv4, IPv6 -> to_ipv6, ARP -> slot 2 (empty): falls through */
SEC("tc")
int dispatch(struct __sk_buff *skb)
{
    void *data = (void *)(long)skb->data;
    void *end = (void *)(long)skb->data_end;
    __u8 *eth = data;

    if (data + 14 > end) {
        return 1;
    }
    skb->cb[0] = 0x55;
    if (eth[12] == 0x08 && eth[13] == 0x00) {
        bpf_tail_call(skb, &jumps, 0);
    } else if (eth[12] == 0x86 && eth[13] == 0xdd) {
        bpf_tail_call(skb, &jumps, 1);
    } else {
        bpf_tail_call(skb, &jumps, 2);
    }
    return 99;
}

SEC("tc")
int to_ipv4(struct __sk_buff *skb)
{
    void *data = (void *)(long)skb->data;
    void *end = (void *)(long)skb->data_end;
    __u8 *p = data;

    count(0);
    if (data + 24 > end) {
        return 3;
    }
    p[0] = 0x44; /* the packet is shared: the caller sees it */
    return 0x400 + p[23] + skb->cb[0];
}

SEC("tc")
int to_ipv6(struct __sk_buff *skb)
{
    count(1);
    return 0x600 + skb->cb[0];
}

/* runs 34 times: once, then 33 tail calls; cb[1] counts the runs */
SEC("tc")
int again(struct __sk_buff *skb)
{
    skb->cb[1] += 1;
    bpf_tail_call(skb, &jumps, 4);
    return 0x1000 + skb->cb[1];
}

char _license[] SEC("license") = "GPL";
