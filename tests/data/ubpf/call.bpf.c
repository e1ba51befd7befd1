/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * bpf-to-bpf calls: the program calls two non-inlined functions (placed in
 * .text by clang), each of which uses its own stack.
 *
 * Raw mode: drop (1) IPv4 frames whose TTL, plus the number of one bits in
 * the first 8 bytes of the frame, is odd; pass (0) everything else.
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <bpf/bpf_helpers.h>

static __attribute__((noinline)) int popcount8(const unsigned char *p)
{
    volatile unsigned char buf[8];
    int n = 0;

    __builtin_memcpy((void *)buf, p, 8);
#pragma unroll
    for (int i = 0; i < 8; i++) {
        unsigned char b = buf[i];
#pragma unroll
        for (int j = 0; j < 8; j++) {
            n += (b >> j) & 1;
        }
    }
    return n;
}

static __attribute__((noinline)) int ipv4_ttl(const unsigned char *p,
                                              unsigned long len)
{
    volatile __u32 keep[4];

    keep[0] = 1;
    keep[3] = 4;

    if (len < ETH_HLEN + sizeof(struct iphdr)) {
        return -1;
    }
    if (((__u16)p[12] << 8 | p[13]) != ETH_P_IP) {
        return -1;
    }
    return p[ETH_HLEN + 8] + (keep[0] + keep[3] - 5);
}

SEC("ubpf")
int call(void *pkt, unsigned long len)
{
    volatile __u64 mine[4];
    int ttl;

    mine[0] = 7;
    mine[3] = 7;
    ttl = ipv4_ttl(pkt, len);

    if (ttl < 0) {
        return 0;
    }
    ttl += popcount8(pkt);
    /* our stack must be intact after the calls */
    if (mine[0] != 7 || mine[3] != 7) {
        return 2;
    }
    return ttl & 1;
}

char _license[] SEC("license") = "GPL";
