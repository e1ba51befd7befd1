/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Benchmark baseline: pass every packet (returns 0).  Measures the fixed
 * cost of running a program (filter, engine entry and exit).
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

SEC("ubpf")
int bench_pass(void *pkt, unsigned long len)
{
    return 0;
}

char _license[] SEC("license") = "GPL";
