/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Unit tests of the userspace eBPF engine (ebpf/ubpf.h)
 *
 * The file tests need an eBPF object built from tests/data/ubpf/ip_dst.bpf.c
 * (drop when the IPv4 destination is 1.1.1.1); its path comes from the
 * UBPF_TEST_PROG environment variable or the first non-option argument.
 * Without it those tests are skipped.
 *
 * The RSS tests drive QEMU's own virtio-net RSS steering program,
 * tools/ebpf/rss.bpf.c, built unchanged by the build (UBPF_TEST_RSS_PROG
 * or the environment variable of that name), as a QEMU module would: it
 * is loaded as a verified socket filter, its three maps are filled as
 * ebpf/ebpf_rss.c fills them for the kernel, and the queue it picks for
 * IPv4 and IPv6 TCP and UDP frames is compared with a Toeplitz hash
 * computed here from the algorithm's definition.
 *
 * This work is licensed under the terms of the GNU GPL, version 2 or later.
 * See the COPYING file in the top-level directory.
 */

#include "qemu/osdep.h"
#include "qapi/error.h"
#include "qemu/bswap.h"
#include "qemu/host-utils.h"
#include "ebpf/ubpf.h"

static const char *prog_path;

/* A 20-byte IPv4 header (ICMP) from 10.0.2.15 to @dst */
static void make_ipv4(uint8_t *pkt, const uint8_t dst[4])
{
    static const uint8_t hdr[16] = {
        0x45, 0x00, 0x00, 0x14, 0x00, 0x01, 0x00, 0x00,
        0x40, 0x01, 0x00, 0x00, 10, 0, 2, 15,
    };

    memcpy(pkt, hdr, sizeof(hdr));
    memcpy(pkt + 16, dst, 4);
}

static void test_ubpf_ip_dst(gconstpointer opaque)
{
    bool jit = GPOINTER_TO_INT(opaque);
    static const uint8_t one[4] = { 1, 1, 1, 1 };
    static const uint8_t other[4] = { 1, 1, 1, 2 };
    g_autoptr(UbpfVm) vm = NULL;
    uint8_t pkt[64];
    uint64_t verdict = 42;

    if (!prog_path) {
        g_test_skip("set UBPF_TEST_PROG to an object built from ip_dst.bpf.c");
        return;
    }
    vm = ubpf_new(jit);
    g_assert_nonnull(vm);
    ubpf_load_file(vm, prog_path, NULL, &error_abort);

    make_ipv4(pkt, one);
    g_assert_true(ubpf_run(vm, pkt, 20, &verdict, &error_abort));
    g_assert_cmpuint(verdict, ==, 1);

    make_ipv4(pkt, other);
    g_assert_true(ubpf_run(vm, pkt, sizeof(pkt), &verdict, &error_abort));
    g_assert_cmpuint(verdict, ==, 0);

    /* the section can be named */
    ubpf_load_file(vm, prog_path, "ubpf", &error_abort);
    make_ipv4(pkt, one);
    g_assert_true(ubpf_run(vm, pkt, 20, &verdict, &error_abort));
    g_assert_cmpuint(verdict, ==, 1);
}

static void test_ubpf_short_packet(void)
{
    g_autoptr(UbpfVm) vm = NULL;
    Error *err = NULL;
    uint8_t pkt[8] = { 0x45 };
    uint64_t verdict = 42;

    if (!prog_path) {
        g_test_skip("set UBPF_TEST_PROG to an object built from ip_dst.bpf.c");
        return;
    }
    /* the interpreter catches the read beyond the packet */
    vm = ubpf_new(false);
    ubpf_load_file(vm, prog_path, NULL, &error_abort);
    g_assert_false(ubpf_run(vm, pkt, sizeof(pkt), &verdict, &err));
    g_assert_nonnull(err);
    g_assert_nonnull(strstr(error_get_pretty(err), "out-of-bounds"));
    error_free(err);
}

static void test_ubpf_unknown_section(void)
{
    g_autoptr(UbpfVm) vm = NULL;
    Error *err = NULL;

    if (!prog_path) {
        g_test_skip("set UBPF_TEST_PROG to an object built from ip_dst.bpf.c");
        return;
    }
    vm = ubpf_new(false);
    g_assert_false(ubpf_load_file(vm, prog_path, "no-such-section", &err));
    g_assert_nonnull(err);
    g_assert_nonnull(strstr(error_get_pretty(err), "\"no-such-section\""));
    g_assert_nonnull(strstr(error_get_pretty(err), "\"ubpf\""));
    error_free(err);
}

static void test_ubpf_missing_file(void)
{
    g_autoptr(UbpfVm) vm = ubpf_new(false);
    Error *err = NULL;
    uint64_t verdict = 0;
    uint8_t pkt[4] = { 0 };

    g_assert_nonnull(vm);
    g_assert_false(ubpf_load_file(vm, "/nonexistent/ubpf-test.o", NULL, &err));
    g_assert_nonnull(err);
    g_assert_nonnull(strstr(error_get_pretty(err), "/nonexistent/ubpf-test.o"));
    error_free(err);
    err = NULL;

    /* nothing loaded: running fails cleanly */
    g_assert_false(ubpf_run(vm, pkt, sizeof(pkt), &verdict, &err));
    g_assert_nonnull(err);
    error_free(err);
}

static void test_ubpf_bytecode(void)
{
    /* r0 = *(u8 *)(r1 + 2); if r2 > 3 goto +1; r0 = 0; exit */
    static const uint8_t code[] = {
        0x71, 0x10, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x25, 0x02, 0x01, 0x00, 0x03, 0x00, 0x00, 0x00,
        0xb7, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x95, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    };
    /* jump backwards: refused */
    static const uint8_t loop[] = {
        0xb7, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x05, 0x00, 0xfe, 0xff, 0x00, 0x00, 0x00, 0x00,
        0x95, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    };
    uint8_t pkt[8] = { 0xaa, 0xbb, 0x11, 0x22, 0x33 };
    uint64_t verdict = 42;
    Error *err = NULL;
    int jit;

    for (jit = 0; jit < 2; jit++) {
        g_autoptr(UbpfVm) vm = ubpf_new(jit);

        ubpf_load_bytecode(vm, code, sizeof(code), &error_abort);
        g_assert_true(ubpf_run(vm, pkt, 5, &verdict, &error_abort));
        g_assert_cmpuint(verdict, ==, 0x11);
        g_assert_true(ubpf_run(vm, pkt, 3, &verdict, &error_abort));
        g_assert_cmpuint(verdict, ==, 0);

        g_assert_true(ubpf_set_jit(vm, !jit, &error_abort));
        g_assert_true(ubpf_run(vm, pkt, 5, &verdict, &error_abort));
        g_assert_cmpuint(verdict, ==, 0x11);

        g_assert_false(ubpf_load_bytecode(vm, loop, sizeof(loop), &err));
        g_assert_nonnull(strstr(error_get_pretty(err), "instruction 1"));
        error_free(err);
        err = NULL;
    }
}

/* RSS: QEMU's tools/ebpf/rss.bpf.c driven through the C API */

static const char *rss_path;

/* The maps of rss.bpf.c */
#define RSS_CONFIG "tap_rss_map_configurations"
#define RSS_KEY "tap_rss_map_toeplitz_key"
#define RSS_TABLE "tap_rss_map_indirection_table"
#define RSS_TABLE_SIZE 128

/* VIRTIO_NET_RSS_HASH_TYPE_* */
#define HASH_IPV4       (1 << 0)
#define HASH_TCPV4      (1 << 1)
#define HASH_UDPV4      (1 << 2)
#define HASH_IPV6       (1 << 3)
#define HASH_TCPV6      (1 << 4)
#define HASH_UDPV6      (1 << 5)
#define HASH_ALL        0x1ff

/* The value of tap_rss_map_configurations (struct rss_config_t) */
typedef struct QEMU_PACKED RssConfig {
    uint8_t redirect;
    uint8_t populate_hash;
    uint32_t hash_types;
    uint16_t indirections_len;
    uint16_t default_queue;
} RssConfig;

/* The key of the examples of the RSS specifications (virtio, Microsoft) */
static const uint8_t rss_key[40] = {
    0x6d, 0x5a, 0x56, 0xda, 0x25, 0x5b, 0x0e, 0xc2,
    0x41, 0x67, 0x25, 0x3d, 0x43, 0xa3, 0x8f, 0xb0,
    0xd0, 0xca, 0x2b, 0xcb, 0xae, 0x7b, 0x30, 0xb4,
    0x77, 0xcb, 0x2d, 0xa3, 0x80, 0x30, 0xf2, 0x0c,
    0x6a, 0x42, 0xb7, 0x3b, 0xbe, 0xac, 0x01, 0xfa,
};

/* The 32 bits of @key that start at bit @bit (bit 0: the first byte's MSB) */
static uint32_t key_window(const uint8_t *key, size_t bit)
{
    uint32_t w = 0;
    size_t i;

    for (i = bit; i < bit + 32; i++) {
        w = (w << 1) | ((key[i / 8] >> (7 - i % 8)) & 1);
    }
    return w;
}

/*
 * The Toeplitz hash of @len bytes of @input under @key (at least
 * @len + 4 bytes): the XOR, over every bit of the input that is set,
 * of the 32 key bits that start at that bit's position.
 */
static uint32_t toeplitz(const uint8_t *key, const uint8_t *input, size_t len)
{
    uint32_t hash = 0;
    size_t i;

    for (i = 0; i < len * 8; i++) {
        if (input[i / 8] & (0x80 >> (i % 8))) {
            hash ^= key_window(key, i);
        }
    }
    return hash;
}

/* One test flow: addresses and ports as on the wire */
typedef struct RssFlow {
    bool ipv6;
    uint8_t proto;          /* 6 TCP, 17 UDP, 1 ICMP */
    uint8_t src[16], dst[16];
    uint16_t sport, dport;
} RssFlow;

static void put_be16(uint8_t *p, uint16_t v)
{
    p[0] = v >> 8;
    p[1] = v;
}

/* The Ethernet frame of @f (with an 8-byte payload); returns its length */
static size_t rss_frame(const RssFlow *f, uint8_t *frame)
{
    static const uint8_t macs[12] = {
        0x52, 0x54, 0x00, 0x12, 0x34, 0x56, 0x52, 0x54, 0x00, 0x65, 0x43, 0x21,
    };
    size_t l4len = f->proto == 6 ? 20 : 8;
    size_t l3len = f->ipv6 ? 40 : 20;
    uint8_t *ip = frame + 14, *l4 = ip + l3len;

    memset(frame, 0, 14 + l3len + l4len + 8);
    memcpy(frame, macs, sizeof(macs));
    put_be16(frame + 12, f->ipv6 ? 0x86dd : 0x0800);
    if (f->ipv6) {
        ip[0] = 0x60;
        put_be16(ip + 4, l4len + 8);
        ip[6] = f->proto;
        ip[7] = 64;
        memcpy(ip + 8, f->src, 16);
        memcpy(ip + 24, f->dst, 16);
    } else {
        ip[0] = 0x45;
        put_be16(ip + 2, l3len + l4len + 8);
        ip[8] = 64;
        ip[9] = f->proto;
        memcpy(ip + 12, f->src, 4);
        memcpy(ip + 16, f->dst, 4);
    }
    if (f->proto == 1) {
        l4[0] = 8;              /* echo request */
    } else {
        put_be16(l4, f->sport);
        put_be16(l4 + 2, f->dport);
        if (f->proto == 6) {
            l4[12] = 0x50;      /* data offset: 5 words */
        } else {
            put_be16(l4 + 4, l4len + 8);
        }
    }
    return 14 + l3len + l4len + 8;
}

/*
 * The hash RSS gives @f with @hash_types, as the virtio specification
 * defines it: source and destination addresses, then source and
 * destination ports when the flow's L4 type is enabled; false when no
 * enabled type applies.
 */
static bool rss_hash(const RssFlow *f, uint32_t hash_types, uint32_t *hash)
{
    uint32_t ip_type = f->ipv6 ? HASH_IPV6 : HASH_IPV4;
    uint32_t l4_type = f->proto == 6 ? (f->ipv6 ? HASH_TCPV6 : HASH_TCPV4) :
                       f->proto == 17 ? (f->ipv6 ? HASH_UDPV6 : HASH_UDPV4) : 0;
    size_t alen = f->ipv6 ? 16 : 4;
    uint8_t input[36];
    size_t len = 0;

    if (!(hash_types & (ip_type | l4_type))) {
        return false;
    }
    memcpy(input, f->src, alen);
    memcpy(input + alen, f->dst, alen);
    len = 2 * alen;
    if (hash_types & l4_type) {
        put_be16(input + len, f->sport);
        put_be16(input + len + 2, f->dport);
        len += 4;
    }
    *hash = toeplitz(rss_key, input, len);
    return true;
}

/* The queue of indirection table entry @i */
static uint16_t rss_table_queue(uint32_t i)
{
    return (i * 7 + 3) % 11;
}

static const RssFlow rss_flows[] = {
    /* the examples of the Microsoft RSS verification suite */
    { false, 6, { 66, 9, 149, 187 }, { 161, 142, 100, 80 }, 2794, 1766 },
    { false, 17, { 199, 92, 111, 2 }, { 65, 69, 140, 83 }, 14230, 4739 },
    { false, 6, { 24, 19, 198, 95 }, { 12, 22, 207, 184 }, 12898, 38024 },
    { false, 17, { 38, 27, 205, 30 }, { 209, 142, 163, 6 }, 48228, 2217 },
    { false, 1, { 153, 39, 163, 191 }, { 202, 188, 127, 2 }, 44251, 1303 },
    { true, 6,
      { 0x3f, 0xfe, 0x25, 0x01, 0x02, 0x00, 0x1f, 0xff, [15] = 7 },
      { 0x3f, 0xfe, 0x25, 0x01, 0x02, 0x00, 0x00, 0x03, [15] = 1 },
      2794, 1766 },
    { true, 17,
      { 0x3f, 0xfe, 0x05, 0x01, 0x00, 0x08, 0x00, 0x00, 0x02, 0x60, 0x97,
        0xff, 0xfe, 0x40, 0xef, 0xab },
      { 0xff, 0x02, [15] = 1 },
      14230, 4739 },
    { true, 6,
      { 0x3f, 0xfe, 0x19, 0x00, 0x45, 0x45, 0x00, 0x03, 0x02, 0x00, 0xf8,
        0xff, 0xfe, 0x21, 0x67, 0xcf },
      { 0xfe, 0x80, [8] = 0x02, 0x00, 0xf8, 0xff, 0xfe, 0x21, 0x67, 0xcf },
      44251, 38024 },
    { true, 17,
      { 0x20, 0x01, 0x0d, 0xb8, [15] = 0x42 },
      { 0x20, 0x01, 0x0d, 0xb8, [14] = 0x12, 0x34 },
      53, 5353 },
};

static void rss_set_config(UbpfVm *vm, bool redirect, uint32_t hash_types,
                           uint16_t table_len, uint16_t default_queue)
{
    RssConfig config = {
        .redirect = redirect,
        .hash_types = hash_types,
        .indirections_len = table_len,
        .default_queue = default_queue,
    };
    uint32_t zero = 0;

    g_assert_true(ubpf_map_update(vm, RSS_CONFIG, &zero, sizeof(zero),
                                  &config, sizeof(config), UBPF_ANY,
                                  &error_abort));
}

/* rss.bpf.c loaded as QEMU would, its key and indirection table filled */
static UbpfVm *rss_load(bool jit)
{
    UbpfVm *vm = ubpf_new(jit);
    uint8_t key[40];
    uint32_t first, i;

    g_assert_nonnull(vm);
    ubpf_set_prog_type(vm, UBPF_TYPE_SOCKET, &error_abort);
    ubpf_set_verify(vm, true, 0, &error_abort);
    ubpf_load_file(vm, rss_path, NULL, &error_abort);
    g_assert_cmpint(ubpf_get_prog_type(vm), ==, UBPF_TYPE_SOCKET);
    /* JIT code only when asked for (hosts without the JIT interpret) */
    g_assert_true(jit || !ubpf_is_jit(vm));

    /* as ebpf_rss_set_toepliz_key(): the first 32 bits as a number */
    memcpy(key, rss_key, sizeof(key));
    memcpy(&first, key, sizeof(first));
    first = be32_to_cpu(first);
    memcpy(key, &first, sizeof(first));
    i = 0;
    g_assert_true(ubpf_map_update(vm, RSS_KEY, &i, sizeof(i), key,
                                  sizeof(key), UBPF_ANY, &error_abort));
    for (i = 0; i < RSS_TABLE_SIZE; i++) {
        uint16_t queue = rss_table_queue(i);

        g_assert_true(ubpf_map_update(vm, RSS_TABLE, &i, sizeof(i), &queue,
                                      sizeof(queue), UBPF_ANY,
                                      &error_abort));
    }
    return vm;
}

static uint64_t rss_run(UbpfVm *vm, const uint8_t *frame, size_t len)
{
    uint64_t queue = UINT64_MAX;

    g_assert_true(ubpf_run_packet(vm, frame, len, &queue, &error_abort));
    return queue;
}

/* The hash of this file against the Microsoft suite's published values */
static void test_ubpf_rss_toeplitz(void)
{
    static const struct {
        unsigned flow;
        uint32_t ip, l4;
    } expected[] = {
        { 0, 0x323e8fc2, 0x51ccc178 },
        { 1, 0xd718262a, 0xc626b0ea },
        { 2, 0xd2d0a5de, 0x5c2b394a },
        { 3, 0x82989176, 0xafc7327f },
        { 4, 0x5d1809c5, 0x5d1809c5 },      /* ICMP: no ports */
        { 5, 0x2cc18cd5, 0x40207d3d },
        { 6, 0x0f0c461c, 0xdde51bbf },
        { 7, 0x4b61e985, 0x02d1feef },
    };
    unsigned i;

    for (i = 0; i < ARRAY_SIZE(expected); i++) {
        uint32_t hash;

        g_assert_true(rss_hash(&rss_flows[expected[i].flow],
                               HASH_IPV4 | HASH_IPV6, &hash));
        g_assert_cmphex(hash, ==, expected[i].ip);
        g_assert_true(rss_hash(&rss_flows[expected[i].flow], HASH_ALL,
                               &hash));
        g_assert_cmphex(hash, ==, expected[i].l4);
    }
}

static void test_ubpf_rss_queues(gconstpointer opaque)
{
    static const struct {
        uint32_t hash_types;
        uint16_t table_len;
    } configs[] = {
        { HASH_ALL, RSS_TABLE_SIZE },
        { HASH_IPV4 | HASH_IPV6, RSS_TABLE_SIZE },
        { HASH_TCPV4 | HASH_TCPV6, 5 },
        { HASH_UDPV4 | HASH_UDPV6 | HASH_IPV6, 37 },
    };
    g_autoptr(UbpfVm) vm = NULL;
    unsigned c, i, hashed = 0;
    uint64_t seen = 0;

    if (!rss_path) {
        g_test_skip("set UBPF_TEST_RSS_PROG to QEMU's rss.bpf.c, compiled");
        return;
    }
    vm = rss_load(GPOINTER_TO_INT(opaque));

    for (c = 0; c < ARRAY_SIZE(configs); c++) {
        rss_set_config(vm, true, configs[c].hash_types, configs[c].table_len,
                       9);
        for (i = 0; i < ARRAY_SIZE(rss_flows); i++) {
            uint8_t frame[128];
            size_t len = rss_frame(&rss_flows[i], frame);
            uint64_t expected = 9;
            uint32_t hash;

            if (rss_hash(&rss_flows[i], configs[c].hash_types, &hash)) {
                expected = rss_table_queue(hash % configs[c].table_len);
                hashed++;
            }
            g_assert_cmpuint(rss_run(vm, frame, len), ==, expected);
            seen |= 1ull << expected;
        }
    }
    /* the flows were hashed, onto several queues */
    g_assert_cmpuint(hashed, >=, 20);
    g_assert_cmpuint(ctpop64(seen), >=, 5);

    /* redirection off: the default queue */
    rss_set_config(vm, false, HASH_ALL, RSS_TABLE_SIZE, 6);
    for (i = 0; i < ARRAY_SIZE(rss_flows); i++) {
        uint8_t frame[128];
        size_t len = rss_frame(&rss_flows[i], frame);

        g_assert_cmpuint(rss_run(vm, frame, len), ==, 6);
    }
}

static void test_ubpf_rss_non_ip(void)
{
    /* ARP: nothing to hash, the default queue */
    uint8_t arp[42] = {
        0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x52, 0x54, 0, 0x12, 0x34, 0x56,
        0x08, 0x06,
    };
    g_autoptr(UbpfVm) vm = NULL;
    uint64_t queue;
    Error *err = NULL;

    if (!rss_path) {
        g_test_skip("set UBPF_TEST_RSS_PROG to QEMU's rss.bpf.c, compiled");
        return;
    }
    vm = rss_load(false);

    /* the configuration is still all zero: redirection off, queue 0 */
    memset(arp + 14, 0x11, sizeof(arp) - 14);
    g_assert_cmpuint(rss_run(vm, arp, sizeof(arp)), ==, 0);
    rss_set_config(vm, true, HASH_ALL, RSS_TABLE_SIZE, 4);
    g_assert_cmpuint(rss_run(vm, arp, sizeof(arp)), ==, 4);

    /* a socket filter needs the Ethernet header */
    g_assert_false(ubpf_run_packet(vm, arp, 10, &queue, &err));
    g_assert_nonnull(strstr(error_get_pretty(err), "Ethernet header"));
    error_free(err);
}

static void test_ubpf_rss_maps(void)
{
    g_autoptr(UbpfVm) vm = NULL;
    uint32_t key_size, value_size, max_entries, key, next, count;
    uint16_t queue, short_key = 0;
    RssConfig config;
    Error *err = NULL;
    int ret;

    if (!rss_path) {
        g_test_skip("set UBPF_TEST_RSS_PROG to QEMU's rss.bpf.c, compiled");
        return;
    }
    vm = rss_load(false);

    g_assert_true(ubpf_map_get_info(vm, RSS_CONFIG, &key_size, &value_size,
                                    &max_entries, &error_abort));
    g_assert_cmpuint(key_size, ==, 4);
    g_assert_cmpuint(value_size, ==, sizeof(RssConfig));
    g_assert_cmpuint(max_entries, ==, 1);

    /* what was stored reads back */
    key = 77;
    ret = ubpf_map_lookup(vm, RSS_TABLE, &key, sizeof(key), &queue,
                          sizeof(queue), &error_abort);
    g_assert_cmpint(ret, ==, 1);
    g_assert_cmpuint(queue, ==, rss_table_queue(77));
    rss_set_config(vm, true, HASH_TCPV4, 100, 2);
    key = 0;
    ret = ubpf_map_lookup(vm, RSS_CONFIG, &key, sizeof(key), &config,
                          sizeof(config), &error_abort);
    g_assert_cmpint(ret, ==, 1);
    g_assert_cmpuint(config.hash_types, ==, HASH_TCPV4);
    g_assert_cmpuint(config.indirections_len, ==, 100);

    /* an array has every key of 0 .. max_entries - 1, in order */
    count = 0;
    ret = ubpf_map_get_next_key(vm, RSS_TABLE, NULL, &next, sizeof(next),
                                &error_abort);
    while (ret == 1) {
        g_assert_cmpuint(next, ==, count);
        count++;
        key = next;
        ret = ubpf_map_get_next_key(vm, RSS_TABLE, &key, &next, sizeof(next),
                                    &error_abort);
    }
    g_assert_cmpint(ret, ==, 0);
    g_assert_cmpuint(count, ==, RSS_TABLE_SIZE);

    /* beyond the array, and the flags of BPF_MAP_UPDATE_ELEM */
    key = RSS_TABLE_SIZE;
    ret = ubpf_map_lookup(vm, RSS_TABLE, &key, sizeof(key), &queue,
                          sizeof(queue), &error_abort);
    g_assert_cmpint(ret, ==, 0);
    g_assert_false(ubpf_map_update(vm, RSS_TABLE, &key, sizeof(key), &queue,
                                   sizeof(queue), UBPF_ANY, &err));
    g_assert_nonnull(strstr(error_get_pretty(err), "\"" RSS_TABLE "\""));
    error_free(err);
    err = NULL;
    key = 1;
    g_assert_false(ubpf_map_update(vm, RSS_TABLE, &key, sizeof(key), &queue,
                                   sizeof(queue), UBPF_NOEXIST, &err));
    g_assert_nonnull(strstr(error_get_pretty(err), "exists"));
    error_free(err);
    err = NULL;

    /* array entries cannot be deleted */
    g_assert_cmpint(ubpf_map_delete(vm, RSS_TABLE, &key, sizeof(key), &err),
                    ==, -1);
    g_assert_nonnull(strstr(error_get_pretty(err), "\"" RSS_TABLE "\""));
    g_assert_nonnull(strstr(error_get_pretty(err), "cannot be deleted"));
    error_free(err);
    err = NULL;

    /* a map the program does not have: the message lists those it has */
    key = 0;
    ret = ubpf_map_lookup(vm, "tap_rss_map_no_such", &key, sizeof(key),
                          &queue, sizeof(queue), &err);
    g_assert_cmpint(ret, ==, -1);
    g_assert_nonnull(strstr(error_get_pretty(err), "\"tap_rss_map_no_such\""));
    g_assert_nonnull(strstr(error_get_pretty(err), "\"" RSS_KEY "\""));
    error_free(err);
    err = NULL;
    g_assert_false(ubpf_map_get_info(vm, "rss", NULL, NULL, NULL, &err));
    g_assert_nonnull(strstr(error_get_pretty(err), "no map \"rss\""));
    error_free(err);
    err = NULL;

    /* sizes that are not the map's */
    queue = 1;
    g_assert_false(ubpf_map_update(vm, RSS_TABLE, &short_key,
                                   sizeof(short_key), &queue, sizeof(queue),
                                   UBPF_ANY, &err));
    g_assert_cmpstr(error_get_pretty(err), ==,
                    "map \"" RSS_TABLE "\": the key is 2 bytes, the map's "
                    "keys are 4 bytes");
    error_free(err);
    err = NULL;
    key = 0;
    ret = ubpf_map_lookup(vm, RSS_CONFIG, &key, sizeof(key), &config,
                          sizeof(config) - 1, &err);
    g_assert_cmpint(ret, ==, -1);
    g_assert_cmpstr(error_get_pretty(err), ==,
                    "map \"" RSS_CONFIG "\": the value is 9 bytes, the map's "
                    "values are 10 bytes");
    error_free(err);
    err = NULL;
    ret = ubpf_map_get_next_key(vm, RSS_TABLE, NULL, &next, 8, &err);
    g_assert_cmpint(ret, ==, -1);
    g_assert_nonnull(strstr(error_get_pretty(err), "the key is 8 bytes"));
    error_free(err);
}

static void test_ubpf_rss_needs_verifier(void)
{
    g_autoptr(UbpfVm) vm = NULL;
    Error *err = NULL;

    if (!rss_path) {
        g_test_skip("set UBPF_TEST_RSS_PROG to QEMU's rss.bpf.c, compiled");
        return;
    }
    /* its loops only run with the verifier's proof */
    vm = ubpf_new(false);
    g_assert_false(ubpf_load_file(vm, rss_path, NULL, &err));
    g_assert_nonnull(strstr(error_get_pretty(err), "backward jump"));
    error_free(err);
    err = NULL;

    /* the section says socket; the type can be forced, checked on load */
    ubpf_set_verify(vm, true, 0, &error_abort);
    ubpf_load_file(vm, rss_path, "socket", &error_abort);
    g_assert_cmpint(ubpf_get_prog_type(vm), ==, UBPF_TYPE_SOCKET);
    g_assert_false(ubpf_set_prog_type(vm, UBPF_TYPE_XDP, &err));
    g_assert_nonnull(strstr(error_get_pretty(err),
                            "bpf_skb_load_bytes_relative) is not available "
                            "to xdp programs"));
    error_free(err);
    err = NULL;
    /* refused: the VM is unchanged */
    g_assert_cmpint(ubpf_get_prog_type(vm), ==, UBPF_TYPE_SOCKET);
    g_assert_false(ubpf_set_prog_type(vm, 42, &err));
    g_assert_nonnull(strstr(error_get_pretty(err), "42"));
    error_free(err);
    err = NULL;

    /* switching the verifier off would leave loops unproven */
    g_assert_false(ubpf_set_verify(vm, false, 0, &err));
    g_assert_nonnull(strstr(error_get_pretty(err), "backward jump"));
    error_free(err);
}

int main(int argc, char **argv)
{
    int i;

    g_test_init(&argc, &argv, NULL);

#ifdef UBPF_TEST_PROG
    /* the build compiled the object for us */
    prog_path = UBPF_TEST_PROG;
#endif
    if (g_getenv("UBPF_TEST_PROG")) {
        prog_path = g_getenv("UBPF_TEST_PROG");
    }
#ifdef UBPF_TEST_RSS_PROG
    rss_path = UBPF_TEST_RSS_PROG;
#endif
    if (g_getenv("UBPF_TEST_RSS_PROG")) {
        rss_path = g_getenv("UBPF_TEST_RSS_PROG");
    }
    for (i = 1; i < argc && !prog_path; i++) {
        if (argv[i][0] != '-') {
            prog_path = argv[i];
        }
    }

    g_test_add_data_func("/ubpf/ip-dst/interpreter", GINT_TO_POINTER(false),
                         test_ubpf_ip_dst);
    g_test_add_data_func("/ubpf/ip-dst/jit", GINT_TO_POINTER(true),
                         test_ubpf_ip_dst);
    g_test_add_func("/ubpf/short-packet", test_ubpf_short_packet);
    g_test_add_func("/ubpf/unknown-section", test_ubpf_unknown_section);
    g_test_add_func("/ubpf/missing-file", test_ubpf_missing_file);
    g_test_add_func("/ubpf/bytecode", test_ubpf_bytecode);
    g_test_add_func("/ubpf/rss/toeplitz", test_ubpf_rss_toeplitz);
    g_test_add_data_func("/ubpf/rss/queues/interpreter",
                         GINT_TO_POINTER(false), test_ubpf_rss_queues);
    g_test_add_data_func("/ubpf/rss/queues/jit", GINT_TO_POINTER(true),
                         test_ubpf_rss_queues);
    g_test_add_func("/ubpf/rss/non-ip", test_ubpf_rss_non_ip);
    g_test_add_func("/ubpf/rss/maps", test_ubpf_rss_maps);
    g_test_add_func("/ubpf/rss/needs-verifier", test_ubpf_rss_needs_verifier);

    return g_test_run();
}
