/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * TCP/UDP destination port allow-list shared by port_allow.bpf.c and
 * port_allow_eth.bpf.c.
 */
#ifndef UBPF_TEST_PORT_ALLOW_H
#define UBPF_TEST_PORT_ALLOW_H

#include <linux/bpf.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

/* Allowed destination ports: ssh, dns, http, https */
static __always_inline int port_allowed(__u16 port)
{
    return port == 22 || port == 53 || port == 80 || port == 443;
}

/*
 * Verdict for the IPv4 packet at ip (len bytes): 1 (drop) for TCP or UDP
 * to a port outside the list, or for a truncated header; 0 (pass)
 * otherwise (allowed port, other protocols, later fragments).
 */
static __always_inline int ipv4_verdict(const unsigned char *ip,
                                        unsigned long len)
{
    const struct iphdr *iph = (const void *)ip;
    unsigned long ihl;
    __u16 port;

    if (len < sizeof(struct iphdr)) {
        return 1;
    }
    if (iph->protocol != IPPROTO_TCP && iph->protocol != IPPROTO_UDP) {
        return 0;
    }
    if (iph->frag_off & bpf_htons(0x1fff)) {
        return 0;
    }
    ihl = (iph->ihl & 0xf) * 4;
    if (ihl < sizeof(struct iphdr) || len < ihl + 4) {
        return 1;
    }
    /* source port at +0, destination port at +2, in TCP and UDP alike */
    port = (__u16)ip[ihl + 2] << 8 | ip[ihl + 3];
    return !port_allowed(port);
}

#endif
