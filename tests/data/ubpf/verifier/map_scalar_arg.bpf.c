/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Rejected: a number, not a map, as bpf_map_lookup_elem's map. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

SEC("ubpf")
int map_scalar_arg(unsigned char *pkt, unsigned long len)
{
    __u32 key = 0;

    return bpf_map_lookup_elem((void *)(unsigned long)pkt[0], &key) != 0;
}

char _license[] SEC("license") = "GPL";
