/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Raw convention: test the length, then read Ethernet and IPv4 fields:
 * drop IPv4 with TTL 1. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

SEC("ubpf")
int raw_len_ipv4(unsigned char *pkt, unsigned long len)
{
    if (len < 34) {
        return 0;
    }
    if (pkt[12] != 0x08 || pkt[13] != 0x00) {
        return 0;
    }
    return pkt[14 + 8] == 1;
}

char _license[] SEC("license") = "GPL";
