/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Uses the helpers the engine provides: bpf_ktime_get_ns,
 * bpf_get_prandom_u32 and bpf_trace_printk.
 *
 * Verdict: 1 (drop) when the first byte of the packet is 0xff and the clock
 * runs; 0 otherwise.  The random number must not change the verdict.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

SEC("ubpf")
int helpers(void *pkt, unsigned long len)
{
    const unsigned char *p = pkt;
    char fmt[] = "len %lu\n";
    __u64 t0, t1;
    __u32 r;

    t0 = bpf_ktime_get_ns();
    r = bpf_get_prandom_u32();
    bpf_trace_printk(fmt, sizeof(fmt), len);
    t1 = bpf_ktime_get_ns();
    if (len < 1 || t0 == 0 || t1 < t0) {
        return 0;
    }
    return (p[0] == 0xff) | (r & 0);
}

char _license[] SEC("license") = "GPL";
