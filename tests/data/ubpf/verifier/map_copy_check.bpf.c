/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Accepted: the lookup result is copied to another register and spilled
 * to the stack; checking the copy against NULL makes the original and
 * the spilled copy usable too.  Counts packets per first byte & 7. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, 8);
    __type(key, __u32);
    __type(value, __u64);
} counters SEC(".maps");

SEC("ubpf")
int map_copy_check(unsigned char *pkt, unsigned long len)
{
    __u32 key = pkt[0] & 7;
    unsigned long ret;

    asm volatile(
        "r1 = %[map]\n"
        "r2 = %[key]\n"
        "call 1\n"
        "r7 = r0\n"                      /* copy */
        "*(u64 *)(r10 - 16) = r0\n"      /* spill */
        "%[ret] = 0\n"
        "if r7 == 0 goto +5\n"           /* check the copy */
        "r1 = *(u64 *)(r0 + 0)\n"        /* use the original */
        "r1 += 1\n"
        "r3 = *(u64 *)(r10 - 16)\n"      /* and the spilled copy */
        "*(u64 *)(r3 + 0) = r1\n"
        "%[ret] = r1\n"
        : [ret] "=&r"(ret)
        : [map] "r"(&counters), [key] "r"(&key)
        : "r0", "r1", "r2", "r3", "r4", "r5", "r7", "memory");
    return ret != 0;
}

char _license[] SEC("license") = "GPL";
