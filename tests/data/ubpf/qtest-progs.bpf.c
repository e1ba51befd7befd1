/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * eBPF programs used by tests/qtest/test-filter-ubpf.c, one per section.
 * Calling convention of filter-ubpf: r1 = packet memory (the IPv4 header in
 * ip-mode, the Ethernet frame otherwise), r2 = its length in bytes.
 * A non-zero result drops the packet.
 */
#include <linux/types.h>
#include <bpf/bpf_helpers.h>

/* ip-mode: drop packets to 10.0.0.2 */
SEC("ubpf/drop_dst")
int drop_dst(const __u8 *ip, unsigned long len)
{
    if (len < 20) {
        return 0;
    }
    return ip[16] == 10 && ip[17] == 0 && ip[18] == 0 && ip[19] == 2;
}

/* ip-mode: drop UDP packets to port 9 (discard) */
SEC("ubpf/drop_udp9")
int drop_udp9(const __u8 *ip, unsigned long len)
{
    unsigned long ihl;

    if (len < 20 || ip[9] != 17) {
        return 0;
    }
    ihl = (ip[0] & 0x0f) * 4;
    if (len < ihl + 8) {
        return 0;
    }
    return ip[ihl + 2] == 0 && ip[ihl + 3] == 9;
}

/* raw mode: drop ARP frames */
SEC("ubpf/drop_arp")
int drop_arp(const __u8 *eth, unsigned long len)
{
    if (len < 14) {
        return 0;
    }
    return eth[12] == 0x08 && eth[13] == 0x06;
}

/* a loop over the packet: refused until the verifier can bound it */
SEC("ubpf/sum_loop")
int sum_loop(const __u8 *pkt, unsigned long len)
{
    unsigned int sum = 0;
    unsigned long i;

    for (i = 0; i < len; i++) {
        sum += pkt[i];
    }
    return sum == 0x1234;
}

/* a run-time error: reads far past the end of the packet */
SEC("ubpf/read_oob")
int read_oob(const __u8 *pkt, unsigned long len)
{
    return pkt[4000] == 1;
}

char _license[] SEC("license") = "GPL";
