/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Raw convention: copy the MAC addresses to the stack, print a message
 * with a format string on the stack, drop broadcast frames. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

SEC("ubpf")
int raw_stack(unsigned char *pkt, unsigned long len)
{
    unsigned char mac[12];
    char fmt[] = "frame";
    int bcast = 1;

    __builtin_memcpy(mac, pkt, 12);
    bpf_trace_printk(fmt, sizeof(fmt));
    for (int i = 0; i < 6; i++) {
        bcast &= mac[i] == 0xff;
    }
    return bcast;
}

char _license[] SEC("license") = "GPL";
