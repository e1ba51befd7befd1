/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * TCP/UDP destination port allow-list, for ip-mode=on (memory starts at
 * the IPv4 header).  See port_allow.h for the verdicts.
 */
#include "port_allow.h"

SEC("ubpf")
int port_allow(void *pkt, unsigned long len)
{
    return ipv4_verdict(pkt, len);
}

char _license[] SEC("license") = "GPL";
