/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * bpf_csum_diff in each of its modes, on packet bytes and on the stack:
 * pulling data (from only), pushing data (to only), diffing (both),
 * neither (the seed back), and all-zero words whose sum is the one's
 * complement "negative zero".  Each tc program returns what the helper
 * gave; compared with the kernel by tests/kernel_diff.rs.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#define HEADER(skb, n)                                   \
    void *data = (void *)(long)(skb)->data;              \
    void *end = (void *)(long)(skb)->data_end;           \
    if (data + 14 + (n) > end) {                         \
        return 1;                                        \
    }                                                    \
    __be32 *ip = data + 14

SEC("tc")
int pull(struct __sk_buff *skb)
{
    HEADER(skb, 20);
    return bpf_csum_diff(ip, 20, 0, 0, 0);
}

SEC("tc")
int pull_seeded(struct __sk_buff *skb)
{
    HEADER(skb, 20);
    return bpf_csum_diff(ip, 12, 0, 0, 0xabcd1234);
}

SEC("tc")
int push(struct __sk_buff *skb)
{
    HEADER(skb, 20);
    return bpf_csum_diff(0, 0, ip, 20, 0x1234);
}

SEC("tc")
int diff(struct __sk_buff *skb)
{
    HEADER(skb, 20);
    return bpf_csum_diff(ip, 8, ip + 2, 12, 0);
}

SEC("tc")
int neither(struct __sk_buff *skb)
{
    return bpf_csum_diff(0, 0, 0, 0, 0x5eed);
}

SEC("tc")
int zeros(struct __sk_buff *skb)
{
    __be32 z[2] = {0, 0};
    __be32 ones[1] = {0xffffffff};

    return bpf_csum_diff(z, 8, 0, 0, 0) * 0x10000 + bpf_csum_diff(0, 0, ones, 4, 0) +
           bpf_csum_diff(z, 4, z + 1, 4, 0);
}

char _license[] SEC("license") = "GPL";
