/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A tail-call target that reads past the end of a short packet: without
 * the verifier, on the interpreter, its run fails, and the error names
 * the instruction of the target.  tc programs; run by tests/tail_call.rs.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

int reader(struct __sk_buff *skb);

struct {
    __uint(type, BPF_MAP_TYPE_PROG_ARRAY);
    __uint(max_entries, 1);
    __type(key, __u32);
    __array(values, int (void *));
} jumps SEC(".maps") = {
    .values = {
        [0] = (void *)&reader,
    },
};

SEC("tc")
int entry(struct __sk_buff *skb)
{
    bpf_tail_call(skb, &jumps, 0);
    return 1;
}

/* byte 1000 of the packet, unchecked: past the buffer's tailroom too */
SEC("tc")
int reader(struct __sk_buff *skb)
{
    __u8 *p = (void *)(long)skb->data;

    return p[1000];
}

char _license[] SEC("license") = "GPL";
