/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The only program of its object: drops every packet it sees. */
#include <linux/types.h>
#include <bpf/bpf_helpers.h>

SEC("filter")
int drop_all(const __u8 *pkt, unsigned long len)
{
    return 1;
}

char _license[] SEC("license") = "GPL";
