/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Drop the UDP datagrams of one service, pass everything else: step 2 of
 * the guest scenario (scripts/ubpf/guest/run-guest.py), where it makes the
 * guest's UDP exchange with one host port fail while ICMP, TCP and UDP to
 * other ports go through.
 *
 * A datagram is dropped when its destination port or its source port is
 * GUEST_UDP_PORT, so the program works on either queue of the filter:
 * with queue=rx it drops the guest's requests, with queue=tx the service's
 * replies.  The port is set at build time:
 *
 *     clang -O2 -g -target bpf -DGUEST_UDP_PORT=6970 -c guest_drop_udp_port.bpf.c
 *
 * Use with ip-mode=on: the program's memory starts at the IPv4 header.
 * Only the first fragment of a datagram holds the UDP header; later
 * fragments pass (without the first one, the datagram cannot be rebuilt).
 *
 * Returns 1 (drop) for UDP to or from GUEST_UDP_PORT, 0 (pass) otherwise.
 */
#include <linux/bpf.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/udp.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#ifndef GUEST_UDP_PORT
#define GUEST_UDP_PORT 6970
#endif

SEC("ubpf")
int guest_drop_udp_port(void *pkt, unsigned long len)
{
    const unsigned char *bytes = pkt;
    const struct iphdr *ip = pkt;
    const struct udphdr *udp;
    unsigned long ihl;

    if (len < sizeof(struct iphdr) || ip->version != 4 ||
        ip->protocol != IPPROTO_UDP) {
        return 0;
    }
    if (ip->frag_off & bpf_htons(0x1fff)) {
        return 0;                       /* not the first fragment */
    }
    ihl = (unsigned long)ip->ihl * 4;
    if (ihl < sizeof(struct iphdr) || len < ihl + sizeof(struct udphdr)) {
        return 0;                       /* malformed: not ours to judge */
    }
    udp = (const void *)(bytes + ihl);
    return udp->dest == bpf_htons(GUEST_UDP_PORT) ||
           udp->source == bpf_htons(GUEST_UDP_PORT);
}

char _license[] SEC("license") = "GPL";
