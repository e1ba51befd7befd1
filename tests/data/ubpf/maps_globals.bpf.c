/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Global variables (raw mode): .bss, .data and .rodata become single-entry
 * array maps.  Counts frames, and drops every frame after the first
 * "allowance" frames of EtherType "watched".
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

volatile __u64 frames;                  /* .bss */
volatile __u64 watched_seen;            /* .bss */
__u64 allowance = 2;                    /* .data */
const volatile __u16 watched = 0x0806;  /* .rodata: ARP */

SEC("ubpf")
int globals(const __u8 *eth, unsigned long len)
{
    __u16 type = (__u16)(eth[12] << 8 | eth[13]);

    frames += 1;
    if (type != watched) {
        return 0;
    }
    watched_seen += 1;
    return watched_seen > allowance;
}

char _license[] SEC("license") = "GPL";
