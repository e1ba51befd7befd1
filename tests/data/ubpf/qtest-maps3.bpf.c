/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * XDP programs of tests/qtest/test-filter-ubpf.c for the map types that
 * have no other qtest: per-CPU and LRU hashes, an LPM trie deciding the
 * verdict, a perf event array whose records reach QMP, a per-CPU array,
 * a devmap hash and a program array (tail calls).  Each is chosen with
 * section=xdp/FUNCTION; most read IPv4/UDP frames.
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/udp.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

/* packets per UDP destination port */
struct {
    __uint(type, BPF_MAP_TYPE_PERCPU_HASH);
    __uint(max_entries, 16);
    __type(key, __u32);
    __type(value, __u64);
} port_count SEC(".maps");

/* packets per destination address, the 4 most recent addresses */
struct {
    __uint(type, BPF_MAP_TYPE_LRU_HASH);
    __uint(max_entries, 4);
    __type(key, __u32);
    __type(value, __u64);
} flows SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_LRU_PERCPU_HASH);
    __uint(max_entries, 4);
    __type(key, __u32);
    __type(value, __u64);
} flows_pc SEC(".maps");

struct lpm_v4 {
    __u32 prefixlen;
    __u8 addr[4];
};

/* destination subnets: 1 drops, 0 passes (the longest prefix decides) */
struct {
    __uint(type, BPF_MAP_TYPE_LPM_TRIE);
    __uint(max_entries, 16);
    __uint(map_flags, BPF_F_NO_PREALLOC);
    __type(key, struct lpm_v4);
    __type(value, __u32);
} subnets SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_PERF_EVENT_ARRAY);
    __uint(key_size, sizeof(__u32));
    __uint(value_size, sizeof(__u32));
} perf SEC(".maps");

/* what bpf_perf_event_output returned last */
struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, 1);
    __type(key, __u32);
    __type(value, __s64);
} perf_ret SEC(".maps");

/* packets per EtherType (IPv4, ARP, other); slot 3: the limit per type */
struct {
    __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
    __uint(max_entries, 4);
    __type(key, __u32);
    __type(value, __u64);
} type_count SEC(".maps");

/* UDP destination port -> ifindex to redirect to */
struct {
    __uint(type, BPF_MAP_TYPE_DEVMAP_HASH);
    __uint(max_entries, 4);
    __type(key, __u32);
    __type(value, __u32);
} port_dev SEC(".maps");

int tail_drop(struct xdp_md *ctx);
int tail_pass(struct xdp_md *ctx);

/* tail_dispatch's targets by the low byte of the UDP destination port */
struct {
    __uint(type, BPF_MAP_TYPE_PROG_ARRAY);
    __uint(max_entries, 4);
    __type(key, __u32);
    __array(values, int (void *));
} jumps SEC(".maps") = {
    .values = {
        [0] = (void *)&tail_drop,
        [1] = (void *)&tail_pass,
    },
};

/* The IPv4 header of an untagged IPv4/UDP frame, or NULL */
static __always_inline struct iphdr *udp_ip(struct xdp_md *ctx)
{
    void *data = (void *)(long)ctx->data;
    void *data_end = (void *)(long)ctx->data_end;
    struct ethhdr *eth = data;
    struct iphdr *ip = (void *)(eth + 1);

    if ((void *)(ip + 1) + sizeof(struct udphdr) > data_end ||
        eth->h_proto != bpf_htons(ETH_P_IP) || ip->ihl != 5 ||
        ip->protocol != IPPROTO_UDP) {
        return NULL;
    }
    return ip;
}

static __always_inline void count(void *map, __u32 key)
{
    __u64 one = 1;
    __u64 *n = bpf_map_lookup_elem(map, &key);

    if (n) {
        *n += 1;
    } else {
        bpf_map_update_elem(map, &key, &one, BPF_NOEXIST);
    }
}

SEC("xdp")
int count_ports(struct xdp_md *ctx)
{
    struct iphdr *ip = udp_ip(ctx);
    struct udphdr *udp;

    if (ip) {
        udp = (void *)(ip + 1);
        count(&port_count, bpf_ntohs(udp->dest));
    }
    return XDP_PASS;
}

SEC("xdp")
int lru_flows(struct xdp_md *ctx)
{
    struct iphdr *ip = udp_ip(ctx);

    if (ip) {
        count(&flows, bpf_ntohl(ip->daddr) & 0xff);
        count(&flows_pc, bpf_ntohl(ip->daddr) & 0xff);
    }
    return XDP_PASS;
}

SEC("xdp")
int subnet_block(struct xdp_md *ctx)
{
    struct iphdr *ip = udp_ip(ctx);
    struct lpm_v4 key = { .prefixlen = 32 };
    __u32 *block;

    if (!ip) {
        return XDP_PASS;
    }
    __builtin_memcpy(key.addr, &ip->daddr, 4);
    block = bpf_map_lookup_elem(&subnets, &key);
    return block && *block ? XDP_DROP : XDP_PASS;
}

/* a record of the payload's 4 bytes and the first 6 of the frame */
SEC("xdp")
int perf_payload(struct xdp_md *ctx)
{
    struct iphdr *ip = udp_ip(ctx);
    void *data_end = (void *)(long)ctx->data_end;
    __u8 *payload;
    __u32 rec, key = 0;
    __s64 *ret;

    if (!ip) {
        return XDP_PASS;
    }
    payload = (void *)(ip + 1) + sizeof(struct udphdr);
    if ((void *)(payload + 4) > data_end) {
        return XDP_PASS;
    }
    __builtin_memcpy(&rec, payload, 4);
    ret = bpf_map_lookup_elem(&perf_ret, &key);
    if (ret) {
        *ret = bpf_perf_event_output(ctx, &perf,
                                     BPF_F_CURRENT_CPU | (6ULL << 32),
                                     &rec, sizeof(rec));
    }
    return XDP_PASS;
}

/*
 * Count the frame in its EtherType's slot; drop it when that makes the
 * count exceed a non-zero limit (slot 3, set by the host).
 */
SEC("xdp")
int count_types(struct xdp_md *ctx)
{
    void *data = (void *)(long)ctx->data;
    void *data_end = (void *)(long)ctx->data_end;
    struct ethhdr *eth = data;
    __u32 key = 2, limit_key = 3;
    __u64 *n, *limit;

    if ((void *)(eth + 1) > data_end) {
        return XDP_PASS;
    }
    if (eth->h_proto == bpf_htons(ETH_P_IP)) {
        key = 0;
    } else if (eth->h_proto == bpf_htons(ETH_P_ARP)) {
        key = 1;
    }
    n = bpf_map_lookup_elem(&type_count, &key);
    limit = bpf_map_lookup_elem(&type_count, &limit_key);
    if (!n || !limit) {
        return XDP_ABORTED;
    }
    *n += 1;
    return *limit && *n > *limit ? XDP_DROP : XDP_PASS;
}

/*
 * Redirect UDP frames to the device port_dev has for their destination
 * port; without one, the fallback action in the flags: XDP_PASS.
 */
SEC("xdp")
int port_redirect(struct xdp_md *ctx)
{
    struct iphdr *ip = udp_ip(ctx);
    struct udphdr *udp;

    if (!ip) {
        return XDP_DROP;
    }
    udp = (void *)(ip + 1);
    return bpf_redirect_map(&port_dev, bpf_ntohs(udp->dest), XDP_PASS);
}

/*
 * Tail-call jumps[low byte of the UDP destination port]; when the slot
 * is empty the call falls through: XDP_TX.
 */
SEC("xdp")
int tail_dispatch(struct xdp_md *ctx)
{
    struct iphdr *ip = udp_ip(ctx);
    struct udphdr *udp;

    if (!ip) {
        return XDP_PASS;
    }
    udp = (void *)(ip + 1);
    bpf_tail_call(ctx, &jumps, bpf_ntohs(udp->dest) & 0xff);
    return XDP_TX;
}

SEC("xdp")
int tail_drop(struct xdp_md *ctx)
{
    return XDP_DROP;
}

SEC("xdp")
int tail_pass(struct xdp_md *ctx)
{
    return XDP_PASS;
}

char _license[] SEC("license") = "GPL";
