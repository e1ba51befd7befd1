/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Robustness tests (scripts/ubpf/robust/): the reference program.  Raw mode
 * (ip-mode=off): r1 = the Ethernet frame, r2 = its length.  Drops IPv4/UDP
 * frames to port 9 (the "drop" marker), passes everything else.
 */
#include <linux/types.h>
#include <bpf/bpf_helpers.h>

SEC("ubpf")
int marker(const __u8 *eth, unsigned long len)
{
    unsigned long ihl;

    if (len < 14 + 20 || eth[12] != 0x08 || eth[13] != 0x00 || eth[23] != 17) {
        return 0;
    }
    ihl = (eth[14] & 0x0f) * 4;
    if (ihl < 20 || len < 14 + ihl + 4) {
        return 0;
    }
    return eth[14 + ihl + 2] == 0 && eth[14 + ihl + 3] == 9;
}

char _license[] SEC("license") = "GPL";
