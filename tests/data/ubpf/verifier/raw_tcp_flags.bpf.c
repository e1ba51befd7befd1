/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Raw convention, ip-mode: drop TCP SYN+FIN; the TCP header follows the
 * IPv4 header of variable length, tested against len. */
#include <linux/bpf.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <bpf/bpf_helpers.h>

SEC("ubpf")
int raw_tcp_flags(unsigned char *ip, unsigned long len)
{
    const struct iphdr *iph = (const void *)ip;
    unsigned long ihl = iph->ihl * 4;
    unsigned char flags;

    if (iph->protocol != IPPROTO_TCP || ihl < 20) {
        return 0;
    }
    if (len < ihl + 14) {
        return 0;
    }
    flags = ip[ihl + 13];
    return (flags & 0x03) == 0x03;
}

char _license[] SEC("license") = "GPL";
