/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Drop ICMP, pass everything else: step 1 of the guest scenario
 * (scripts/ubpf/guest/run-guest.py), where it makes the guest's ping to
 * the slirp gateway fail while its UDP and TCP traffic goes through.
 *
 * Use with ip-mode=on: the program's memory starts at the IPv4 header
 * (frames that are not IPv4 never reach it).
 *
 * Returns 1 (drop) for IPv4 packets carrying ICMP, 0 (pass) otherwise.
 */
#include <linux/bpf.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <bpf/bpf_helpers.h>

SEC("ubpf")
int guest_drop_icmp(void *pkt, unsigned long len)
{
    const struct iphdr *ip = pkt;

    if (len < sizeof(struct iphdr) || ip->version != 4) {
        return 0;
    }
    return ip->protocol == IPPROTO_ICMP;
}

char _license[] SEC("license") = "GPL";
