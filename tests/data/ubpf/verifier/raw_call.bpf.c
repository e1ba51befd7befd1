/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Raw convention: a bpf-to-bpf call that fills a buffer on the caller's
 * stack from the packet, with its own length test. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

static __attribute__((noinline)) int copy4(unsigned char *dst,
                                           const unsigned char *pkt,
                                           unsigned long len)
{
    if (len < 30) {
        return -1;
    }
    dst[0] = pkt[26];
    dst[1] = pkt[27];
    dst[2] = pkt[28];
    dst[3] = pkt[29];
    return 0;
}

SEC("ubpf")
int raw_call(unsigned char *pkt, unsigned long len)
{
    volatile unsigned char src[4];

    if (copy4((unsigned char *)src, pkt, len) < 0) {
        return 0;
    }
    return src[0] == 10;
}

char _license[] SEC("license") = "GPL";
