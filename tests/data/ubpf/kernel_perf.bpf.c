/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * bpf_perf_event_output for rust/ubpf/tests/kernel_records.rs, which runs
 * this program in the kernel (BPF_PROG_TEST_RUN, a perf event opened for
 * the CPU it runs on) and in the engine, and compares return values and
 * records.  Byte 14 of the frame says what to do, byte 15 is an
 * argument; the record data comes from byte 16 on (copied to the stack).
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct {
    __uint(type, BPF_MAP_TYPE_PERF_EVENT_ARRAY);
    __uint(max_entries, 1);
    __uint(key_size, sizeof(__u32));
    __uint(value_size, sizeof(__u32));
} perf SEC(".maps");

#define DATA 16
#define MAX_DATA 32

SEC("xdp")
long perf_ops(struct xdp_md *ctx)
{
    __u8 *p = (void *)(long)ctx->data;
    void *end = (void *)(long)ctx->data_end;
    __u8 buf[MAX_DATA];
    __u64 n;

    if ((void *)(p + DATA + MAX_DATA) > end) {
        return -1;
    }
    __builtin_memcpy(buf, p + DATA, MAX_DATA);
    n = p[15] & (MAX_DATA - 1);
    switch (p[14]) {
    case 0: /* n bytes (0..31) */
        return bpf_perf_event_output(ctx, &perf, BPF_F_CURRENT_CPU, buf, n);
    case 1: /* 8 bytes, then the first n bytes of the packet */
        return bpf_perf_event_output(ctx, &perf, BPF_F_CURRENT_CPU | n << 32,
                                     buf, 8);
    case 2: /* index n instead of the current CPU */
        return bpf_perf_event_output(ctx, &perf, n, buf, 8);
    case 3: /* more of the packet than there is */
        return bpf_perf_event_output(ctx, &perf,
                                     BPF_F_CURRENT_CPU | 4000ULL << 32,
                                     buf, 8);
    case 4: /* unknown flags */
        return bpf_perf_event_output(ctx, &perf,
                                     BPF_F_CURRENT_CPU | 1ULL << 60, buf, 8);
    }
    return -1;
}

char _license[] SEC("license") = "GPL";
