/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Drop packets whose IPv4 destination is 1.1.1.1.
 *
 * Use with ip-mode=on: the program's memory starts at the IPv4 header.
 * Like the example of the original filter-ubpf series, it reads the
 * destination address without testing the length first; the interpreter
 * refuses (run-time error) packets shorter than an IPv4 header.
 *
 * Returns 1 (drop) for 1.1.1.1, 0 (pass) otherwise.
 */
#include <linux/bpf.h>
#include <linux/ip.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

SEC("ubpf")
int ip_dst(void *pkt, unsigned long len)
{
    struct iphdr *ip = pkt;

    return ip->daddr == bpf_htonl(0x01010101);
}

char _license[] SEC("license") = "GPL";
