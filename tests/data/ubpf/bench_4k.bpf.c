/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Benchmark: a large straight-line program (about 4000 instructions) to
 * time loading, checking and JIT compiling.  Each step reads one more
 * byte of the packet if it is there and mixes it into an accumulator, with
 * a forward branch; no loops (the steps are written out by the
 * preprocessor).  Raw mode; returns the accumulator's low bit.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#define STEP(n)                                  \
    if (len > (n)) {                             \
        acc = acc * 31 + p[n];                   \
        if (acc & (1ull << ((n) % 61))) {        \
            acc ^= (n) * 0x9e37ull;              \
        }                                        \
    }
#define R2(n) STEP(n) STEP((n) + 1)
#define R8(n) R2(n) R2((n) + 2) R2((n) + 4) R2((n) + 6)
#define R32(n) R8(n) R8((n) + 8) R8((n) + 16) R8((n) + 24)
#define R128(n) R32(n) R32((n) + 32) R32((n) + 64) R32((n) + 96)

SEC("ubpf")
int bench_4k(void *pkt, unsigned long len)
{
    const unsigned char *p = pkt;
    unsigned long long acc = 1;

    R128(0)
    R128(128)
    R128(256)
    R8(384)
    return acc & 1;
}

char _license[] SEC("license") = "GPL";
