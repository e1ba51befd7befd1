/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Rejected: the length test is one byte short of the read. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

SEC("ubpf")
int bad_raw_len(unsigned char *pkt, unsigned long len)
{
    if (len < 40) {
        return 0;
    }
    return *(unsigned int *)(pkt + 37);
}

char _license[] SEC("license") = "GPL";
