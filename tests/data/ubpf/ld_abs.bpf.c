/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Legacy packet loads (BPF_LD | BPF_ABS / BPF_IND), as socket filters and
 * tc programs use them: big-endian values, offsets from the packet start
 * (socket filters: the network header; tc: the Ethernet header), from
 * the network header (SKF_NET_OFF) and the link-layer header
 * (SKF_LL_OFF); a load out of range ends the program with 0.  Compared
 * with the kernel by tests/kernel_diff.rs, run by tests/ld_abs.rs.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

unsigned long long load_byte(void *skb, unsigned long long off) asm("llvm.bpf.load.byte");
unsigned long long load_half(void *skb, unsigned long long off) asm("llvm.bpf.load.half");
unsigned long long load_word(void *skb, unsigned long long off) asm("llvm.bpf.load.word");

#define SKF_NET_OFF (-0x100000)
#define SKF_LL_OFF (-0x200000)

struct table {
    __u8 b[256];
};

struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, 1);
    __type(key, __u32);
    __type(value, struct table);
} weights SEC(".maps");

/* IPv4 UDP/TCP: the L4 destination port (ld_ind from the header length) */
SEC("socket")
int sock_port(struct __sk_buff *skb)
{
    __u64 ihl;

    if (load_half(skb, SKF_LL_OFF + 12) != 0x0800) {
        return 1;
    }
    if (load_byte(skb, 9) != 17 && load_byte(skb, 9) != 6) {
        return 2;
    }
    ihl = (load_byte(skb, 0) & 0xf) << 2;
    return load_half(skb, ihl + 2);
}

/* words through the network header, and a load past the end (0) */
SEC("socket")
int sock_words(struct __sk_buff *skb)
{
    __u32 a = load_word(skb, SKF_NET_OFF + 12);
    __u32 b = load_word(skb, 16);

    if (a == b) {
        return load_word(skb, 4000); /* out of range: the program returns 0 */
    }
    return (a ^ b) | 1;
}

/* offsets below SKF_LL_OFF, just below SKF_NET_OFF and negative ones */
SEC("socket")
int sock_negative(struct __sk_buff *skb)
{
    __u32 x = skb->len & 3;

    if (x == 0) {
        return load_byte(skb, -1);
    }
    if (x == 1) {
        return load_byte(skb, SKF_LL_OFF - 1);
    }
    if (x == 2) {
        return 7 + load_byte(skb, SKF_NET_OFF - 1); /* LL + 0xfffff: out */
    }
    return 9 + load_byte(skb, SKF_LL_OFF + 13); /* ethertype low byte */
}

/* the byte at the offset in byte 1 of the frame, through ld_ind */
SEC("tc")
int tc_indirect(struct __sk_buff *skb)
{
    __u64 off = load_byte(skb, 1);

    return load_byte(skb, off) + 0x100 * load_byte(skb, off + 1);
}

/* the result's range is known: it indexes a 256-byte map value */
SEC("tc")
int tc_table(struct __sk_buff *skb)
{
    __u32 zero = 0;
    struct table *t = bpf_map_lookup_elem(&weights, &zero);

    if (!t) {
        return 0;
    }
    t->b[load_byte(skb, 23)] += 1;
    return t->b[load_byte(skb, 23)] + (load_half(skb, 12) == 0x86dd ? 0x1000 : 0);
}

/* the same, masked: the kernel does not know the loaded range */
SEC("tc")
int tc_table_masked(struct __sk_buff *skb)
{
    __u32 zero = 0;
    struct table *t = bpf_map_lookup_elem(&weights, &zero);
    __u64 v = load_byte(skb, 23);
    __u32 i;

    asm volatile("" : "+r"(v)); /* keep the mask clang knows is redundant */
    i = v & 0xff;
    if (!t) {
        return 0;
    }
    t->b[i] += 3;
    return t->b[i];
}

/* refused: ld_abs in a bpf-to-bpf function (kernel: without BTF) */
static __attribute__((noinline)) int far_byte(struct __sk_buff *skb, int off)
{
    return load_byte(skb, off) + 1;
}

SEC("tc")
int tc_subprog(struct __sk_buff *skb)
{
    return 0x100 * far_byte(skb, skb->len - 1) + far_byte(skb, skb->len);
}

char _license[] SEC("license") = "GPL";
