/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Accepted: global variables (.bss, .data, .rodata) read and written,
 * also at a bounded variable index. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

__u64 frames;                                   /* .bss */
__u32 per_byte[8] = { 1, 1, 1, 1, 1, 1, 1, 1 }; /* .data */
const volatile __u32 limit = 4;                 /* .rodata */

SEC("ubpf")
int map_globals_rw(unsigned char *pkt, unsigned long len)
{
    __u32 i = pkt[0] & 7;

    frames += 1;
    per_byte[i] += 1;
    return per_byte[i] > limit;
}

char _license[] SEC("license") = "GPL";
