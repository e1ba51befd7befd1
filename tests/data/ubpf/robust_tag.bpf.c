/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Robustness tests (scripts/ubpf/robust/soak.py): the same verdicts as
 * robust_marker.bpf.c on the soak's traffic, computed differently.  The
 * soak's frames carry a tag byte right after the UDP header: 'D' for the
 * frames to drop (UDP port 9), 'P' for the others.  Raw mode.
 */
#include <linux/types.h>
#include <bpf/bpf_helpers.h>

SEC("ubpf")
int tag(const __u8 *eth, unsigned long len)
{
    unsigned long ihl;

    if (len < 14 + 20) {
        return 0;
    }
    ihl = (eth[14] & 0x0f) * 4;
    if (ihl < 20 || len < 14 + ihl + 8 + 1) {
        return 0;
    }
    return eth[14 + ihl + 8] == 'D';
}

char _license[] SEC("license") = "GPL";
