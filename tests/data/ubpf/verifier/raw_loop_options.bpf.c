/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Raw convention, ip-mode: walk the IPv4 options (at most 10 steps) and
 * drop packets carrying the router-alert option (148). */
#include <linux/bpf.h>
#include <linux/ip.h>
#include <bpf/bpf_helpers.h>

SEC("ubpf")
int raw_loop_options(unsigned char *ip, unsigned long len)
{
    unsigned long hl = (ip[0] & 0xf) * 4;
    unsigned long off = 20;

    if (hl > len) {
        return 0;
    }
#pragma clang loop unroll(disable)
    for (int i = 0; i < 10; i++) {
        unsigned char kind;

        if (off >= hl || off + 2 > len) {
            break;
        }
        kind = ip[off];
        if (kind == 148) {
            return 1;
        }
        if (kind == 0) {
            break;
        }
        if (kind == 1) {
            off += 1;
            continue;
        }
        if (ip[off + 1] < 2) {
            break;
        }
        off += ip[off + 1];
    }
    return 0;
}

char _license[] SEC("license") = "GPL";
