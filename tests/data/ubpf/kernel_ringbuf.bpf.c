/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Ring buffer helpers for rust/ubpf/tests/kernel_records.rs, which runs
 * this program in the kernel (BPF_PROG_TEST_RUN) and in the engine on
 * the same frames and compares return values and records.  Byte 14 of
 * the frame (the first after the Ethernet header) says what to do, byte
 * 15 is an argument; the record data comes from byte 16 on (copied to
 * the stack first: the kernel's ring buffer helpers take no packet
 * pointers).
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct {
    __uint(type, BPF_MAP_TYPE_RINGBUF);
    __uint(max_entries, 4096);
} rb SEC(".maps");

#define DATA 16
#define MAX_DATA 32

SEC("xdp")
long ringbuf_ops(struct xdp_md *ctx)
{
    __u8 *p = (void *)(long)ctx->data;
    void *end = (void *)(long)ctx->data_end;
    __u8 buf[MAX_DATA];
    __u8 *rec, *rec2;
    __u32 n;
    int i;

    if ((void *)(p + DATA + MAX_DATA) > end) {
        return -1;
    }
    __builtin_memcpy(buf, p + DATA, MAX_DATA);
    n = p[15] & (MAX_DATA - 1);
    switch (p[14]) {
    case 0: /* bpf_ringbuf_output of n bytes (0..31) */
        return bpf_ringbuf_output(&rb, buf, n, 0);
    case 1: /* bpf_ringbuf_output with the flags in byte 15 */
        return bpf_ringbuf_output(&rb, buf, 8, p[15]);
    case 2: /* reserve 12 bytes, fill, submit */
        rec = bpf_ringbuf_reserve(&rb, 12, 0);
        if (!rec) {
            return -2;
        }
        for (i = 0; i < 12; i++) {
            rec[i] = p[DATA + i];
        }
        bpf_ringbuf_submit(rec, 0);
        return 0;
    case 3: /* reserve 12 bytes, discard */
        rec = bpf_ringbuf_reserve(&rb, 12, 0);
        if (!rec) {
            return -2;
        }
        rec[0] = 0xdd;
        bpf_ringbuf_discard(rec, 0);
        return 0;
    case 4: /* two reserved at once: the second submitted first */
        rec = bpf_ringbuf_reserve(&rb, 8, 0);
        if (!rec) {
            return -2;
        }
        rec2 = bpf_ringbuf_reserve(&rb, 4, 0);
        if (!rec2) {
            bpf_ringbuf_discard(rec, 0);
            return -3;
        }
        __builtin_memcpy(rec, buf, 8);
        __builtin_memcpy(rec2, buf + 8, 4);
        bpf_ringbuf_submit(rec2, 0);
        if (p[15] & 1) {
            bpf_ringbuf_discard(rec, 0);
        } else {
            bpf_ringbuf_submit(rec, 0);
        }
        return 0;
    case 5: /* reserve with flags (only 0 is valid) */
        rec = bpf_ringbuf_reserve(&rb, 8, p[15]);
        if (!rec) {
            return -2;
        }
        bpf_ringbuf_submit(rec, 0);
        return 0;
    case 6: /* a record that cannot fit */
        rec = bpf_ringbuf_reserve(&rb, 8192, 0);
        if (!rec) {
            return -2;
        }
        bpf_ringbuf_discard(rec, 0);
        return 0;
    case 7: /* bpf_ringbuf_query: byte 15 says what */
        return bpf_ringbuf_query(&rb, p[15] & 3);
    }
    return -1;
}

char _license[] SEC("license") = "GPL";
