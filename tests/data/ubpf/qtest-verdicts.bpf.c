/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Programs of each kernel type for tests/qtest/test-filter-ubpf.c: what
 * they do with an IPv4/UDP frame depends on its destination port, so
 * that one object covers every verdict.
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/udp.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

/* redirect targets: ifindex properties of filter-ubpf objects */
struct {
    __uint(type, BPF_MAP_TYPE_DEVMAP);
    __uint(max_entries, 4);
    __type(key, __u32);
    __type(value, __u32);
} ports SEC(".maps");

/* shared by every filter that loads this object (pinned by name) */
struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, 1);
    __type(key, __u32);
    __type(value, __u64);
    __uint(pinning, LIBBPF_PIN_BY_NAME);
} seen SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_RINGBUF);
    __uint(max_entries, 4096);
} events SEC(".maps");

#define HDRS (sizeof(struct ethhdr) + sizeof(struct iphdr) + \
              sizeof(struct udphdr))

/* The UDP destination port of an untagged IPv4 frame, or 0 */
static __always_inline int dport(void *data, void *data_end)
{
    struct ethhdr *eth = data;
    struct iphdr *ip = (void *)(eth + 1);
    struct udphdr *udp = (void *)(ip + 1);

    if ((void *)(udp + 1) > data_end || eth->h_proto != bpf_htons(ETH_P_IP) ||
        ip->ihl != 5 || ip->protocol != IPPROTO_UDP) {
        return 0;
    }
    return bpf_ntohs(udp->dest);
}

static __always_inline void count(void)
{
    __u32 key = 0;
    __u64 *n = bpf_map_lookup_elem(&seen, &key);

    if (n) {
        __sync_fetch_and_add(n, 1);
    }
}

/*
 * Port 1: XDP_ABORTED, 2: XDP_DROP, 3: a bpf_printk line, XDP_PASS,
 * 4: XDP_TX (MAC addresses swapped),
 * 5: bpf_redirect_map(ports, 0), 6: bpf_redirect(2), 7: the last 4 bytes
 * cut (bpf_xdp_adjust_tail), 8: the payload's last byte set to 0xee,
 * 9: a ring buffer record of the payload; anything else XDP_PASS.
 */
SEC("xdp")
int xdp_actions(struct xdp_md *ctx)
{
    void *data = (void *)(long)ctx->data;
    void *data_end = (void *)(long)ctx->data_end;
    int port = dport(data, data_end);
    unsigned char *p = data;

    count();
    switch (port) {
    case 1:
        return XDP_ABORTED;
    case 2:
        return XDP_DROP;
    case 3:
        bpf_printk("xdp port %d, %d bytes", port, (int)(data_end - data));
        return XDP_PASS;
    case 4: {
        unsigned char mac[6];

        if (data + 12 > data_end) {
            return XDP_ABORTED;
        }
        __builtin_memcpy(mac, p, 6);
        __builtin_memcpy(p, p + 6, 6);
        __builtin_memcpy(p + 6, mac, 6);
        return XDP_TX;
    }
    case 5:
        return bpf_redirect_map(&ports, 0, XDP_DROP);
    case 6:
        return bpf_redirect(2, 0);
    case 7:
        if (bpf_xdp_adjust_tail(ctx, -4)) {
            return XDP_ABORTED;
        }
        return XDP_PASS;
    case 8:
        if (data + HDRS + 4 > data_end) {
            return XDP_ABORTED;
        }
        p[HDRS + 3] = 0xee;
        return XDP_PASS;
    case 9: {
        /* helpers other than the map helpers take no packet memory */
        __u32 word;

        if (data + HDRS + 4 > data_end) {
            return XDP_ABORTED;
        }
        __builtin_memcpy(&word, data + HDRS, 4);
        bpf_ringbuf_output(&events, &word, 4, 0);
        return XDP_PASS;
    }
    }
    return XDP_PASS;
}

/*
 * Port 2: TC_ACT_SHOT; otherwise the mark and cb[0] are set and read
 * back into the payload's last byte (mark + cb[0]), TC_ACT_OK.
 */
SEC("tc")
int tc_actions(struct __sk_buff *skb)
{
    void *data = (void *)(long)skb->data;
    void *data_end = (void *)(long)skb->data_end;
    int port = dport(data, data_end);
    __u8 v;

    if (port == 2) {
        return TC_ACT_SHOT;
    }
    if (port == 0) {
        return TC_ACT_OK;
    }
    skb->mark = 0x40;
    skb->cb[0] = 0x03;
    v = skb->mark + skb->cb[0];
    bpf_skb_store_bytes(skb, HDRS + 3, &v, 1, 0);
    return TC_ACT_OK;
}

/* Port 2: 0 (drop); otherwise keep the headers only */
SEC("socket")
int socket_trunc(struct __sk_buff *skb)
{
    __u16 port;

    if (bpf_skb_load_bytes(skb, 14 + 20 + 2, &port, 2)) {
        return skb->len;
    }
    return bpf_ntohs(port) == 2 ? 0 : HDRS;
}

char _license[] SEC("license") = "GPL";
