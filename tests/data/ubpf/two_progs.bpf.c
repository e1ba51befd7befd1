/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Two programs in one object, chosen by section name: "drop_all" drops
 * everything, "pass_all" passes everything.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

SEC("drop_all")
int drop_everything(void *pkt, unsigned long len)
{
    return 1;
}

SEC("pass_all")
int pass_everything(void *pkt, unsigned long len)
{
    return 0;
}

char _license[] SEC("license") = "GPL";
