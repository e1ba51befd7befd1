/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Atomic operations and ISA v4 instructions, for the engine tests.
 * Built with clang -O2 -target bpf -mcpu=v4: the atomics become BPF_ATOMIC
 * instructions (with and without BPF_FETCH, xchg, cmpxchg), signed
 * division and modulo sdiv/smod, casts movsx and sign-extending loads,
 * __builtin_bswap* the unconditional bswap.
 *
 * Memory (raw convention): u64 words; [0] and [1] are the operands a and
 * b, [2] holds bytes for the sign-extending loads, the results go to
 * [4...].  The atomics work on the (aligned) stack.  Returns 1 when done.
 */
#include <linux/types.h>
#include <bpf/bpf_helpers.h>

#define NOUT 40
#define OUT(i, v) (p[4 + (i)] = (__u64)(v))

SEC("ubpf")
int isa(__u64 *p, unsigned long len)
{
    if (len < 8 * (4 + NOUT))
        return 0;
    __u64 a = p[0], b = p[1];
    volatile __s8 *sb = (volatile __s8 *)&p[2];
    volatile __s16 *sh = (volatile __s16 *)&p[2];
    volatile __s32 *sw = (volatile __s32 *)&p[2];
    __u64 cell = a;
    __u32 cell32 = (__u32)a;

    /* 64-bit atomics */
    OUT(0, __sync_fetch_and_add(&cell, b));
    __sync_fetch_and_add(&cell, 3);
    OUT(1, cell);
    OUT(2, __sync_fetch_and_or(&cell, b << 1));
    __sync_fetch_and_or(&cell, 0x100);
    OUT(3, cell);
    OUT(4, __sync_fetch_and_and(&cell, ~b));
    __sync_fetch_and_and(&cell, 0xffffffff0fffffffULL);
    OUT(5, cell);
    OUT(6, __sync_fetch_and_xor(&cell, a));
    __sync_fetch_and_xor(&cell, b);
    OUT(7, cell);
    OUT(8, __atomic_exchange_n(&cell, a ^ b, __ATOMIC_SEQ_CST));
    OUT(9, __sync_val_compare_and_swap(&cell, a, 7));     /* fails unless a == a ^ b */
    OUT(10, __sync_val_compare_and_swap(&cell, a ^ b, 7)); /* succeeds */
    OUT(11, cell);

    /* 32-bit atomics */
    OUT(12, __sync_fetch_and_add(&cell32, (__u32)b));
    __sync_fetch_and_add(&cell32, 5);
    OUT(13, cell32);
    OUT(14, __sync_fetch_and_or(&cell32, (__u32)(b >> 32)));
    OUT(15, __sync_fetch_and_and(&cell32, (__u32)~b));
    OUT(16, __sync_fetch_and_xor(&cell32, (__u32)a));
    OUT(17, cell32);
    OUT(18, __atomic_exchange_n(&cell32, (__u32)b, __ATOMIC_SEQ_CST));
    OUT(19, __sync_val_compare_and_swap(&cell32, (__u32)b, (__u32)(a >> 16)));
    OUT(20, cell32);

    /* signed division and modulo, 64 and 32-bit (b is never 0 or -1) */
    OUT(21, (__s64)a / (__s64)b);
    OUT(22, (__s64)a % (__s64)b);
    OUT(23, (__s32)a / (__s32)b);
    OUT(24, (__s32)a % (__s32)b);
    OUT(25, (__s64)a / -7);
    OUT(26, (__s64)a % -7);

    /* sign-extending moves */
    OUT(27, (__s64)(__s8)a);
    OUT(28, (__s64)(__s16)a);
    OUT(29, (__s64)(__s32)a);
    OUT(30, (__u32)(__s32)(__s8)b);
    OUT(31, (__u32)(__s32)(__s16)b);

    /* sign-extending loads */
    OUT(32, (__s64)sb[1]);
    OUT(33, (__s64)sh[1]);
    OUT(34, (__s64)sw[1]);

    /* byte swaps */
    OUT(35, __builtin_bswap16((__u16)a));
    OUT(36, __builtin_bswap32((__u32)a));
    OUT(37, __builtin_bswap64(a));
    return 1;
}

char _license[] SEC("license") = "GPL";
