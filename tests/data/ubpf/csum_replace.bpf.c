/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Destination NAT with the checksum helpers: the destination of an IPv4
 * UDP or TCP frame becomes 10.9.8.7 port 8080.  The IPv4 header checksum
 * follows the address (bpf_l3_csum_replace, 4 bytes); the UDP or TCP
 * checksum follows the address as part of the pseudo-header
 * (bpf_l4_csum_replace with BPF_F_PSEUDO_HDR) and the port (2 bytes); a
 * UDP checksum of 0 (none sent) stays 0 (BPF_F_MARK_MANGLED_0).  The new
 * address and port are written with bpf_skb_store_bytes.
 *
 * Returns TC_ACT_OK (0) for a rewritten frame, 1 for a frame left
 * alone, or the negative error number of a helper that failed.
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/udp.h>
#include <linux/tcp.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#define IP_OFF ETH_HLEN
#define L4_OFF (IP_OFF + sizeof(struct iphdr))
#define IP_CSUM_OFF (IP_OFF + __builtin_offsetof(struct iphdr, check))
#define DADDR_OFF (IP_OFF + __builtin_offsetof(struct iphdr, daddr))
/* the destination port is at the same offset in UDP and TCP */
#define DPORT_OFF (L4_OFF + __builtin_offsetof(struct udphdr, dest))

SEC("tc")
int dnat(struct __sk_buff *skb)
{
    void *data = (void *)(long)skb->data;
    void *data_end = (void *)(long)skb->data_end;
    struct ethhdr *eth = data;
    struct iphdr *ip = (void *)(eth + 1);
    struct udphdr *udp = (void *)(ip + 1);
    __be32 new_daddr = bpf_htonl(0x0a090807);
    __be16 new_dport = bpf_htons(8080);
    __be32 old_daddr;
    __be16 old_dport;
    __u64 csum_off, flags;
    long err;

    if ((void *)(udp + 1) > data_end || eth->h_proto != bpf_htons(ETH_P_IP) ||
        ip->ihl != 5) {
        return 1;
    }
    if (ip->protocol == IPPROTO_UDP) {
        csum_off = L4_OFF + __builtin_offsetof(struct udphdr, check);
        flags = BPF_F_MARK_MANGLED_0;
    } else if (ip->protocol == IPPROTO_TCP) {
        if ((void *)ip + sizeof(*ip) + sizeof(struct tcphdr) > data_end) {
            return 1;
        }
        csum_off = L4_OFF + __builtin_offsetof(struct tcphdr, check);
        flags = 0;
    } else {
        return 1;
    }
    old_daddr = ip->daddr;
    old_dport = udp->dest;

    err = bpf_l4_csum_replace(skb, csum_off, old_daddr, new_daddr,
                              flags | BPF_F_PSEUDO_HDR | sizeof(new_daddr));
    if (err) {
        return err;
    }
    err = bpf_l4_csum_replace(skb, csum_off, old_dport, new_dport,
                              flags | sizeof(new_dport));
    if (err) {
        return err;
    }
    err = bpf_l3_csum_replace(skb, IP_CSUM_OFF, old_daddr, new_daddr,
                              sizeof(new_daddr));
    if (err) {
        return err;
    }
    err = bpf_skb_store_bytes(skb, DADDR_OFF, &new_daddr, sizeof(new_daddr), 0);
    if (err) {
        return err;
    }
    err = bpf_skb_store_bytes(skb, DPORT_OFF, &new_dport, sizeof(new_dport), 0);
    return err ? err : TC_ACT_OK;
}

char _license[] SEC("license") = "GPL";
