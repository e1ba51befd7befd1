/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Raw convention: count the bits set in the destination MAC address with
 * constant-bound nested loops (kept as loops); drop when more than 24. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

SEC("ubpf")
int raw_loop_count(unsigned char *pkt, unsigned long len)
{
    int n = 0;

#pragma clang loop unroll(disable)
    for (int i = 0; i < 6; i++) {
        unsigned char b = pkt[i];

#pragma clang loop unroll(disable)
        for (int j = 0; j < 8; j++) {
            n += (b >> j) & 1;
        }
    }
    return n > 24;
}

char _license[] SEC("license") = "GPL";
