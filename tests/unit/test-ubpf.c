/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Unit tests of the userspace eBPF engine (ebpf/ubpf.h)
 *
 * The file tests need an eBPF object built from tests/data/ubpf/ip_dst.bpf.c
 * (drop when the IPv4 destination is 1.1.1.1); its path comes from the
 * UBPF_TEST_PROG environment variable or the first non-option argument.
 * Without it those tests are skipped.
 *
 * This work is licensed under the terms of the GNU GPL, version 2 or later.
 * See the COPYING file in the top-level directory.
 */

#include "qemu/osdep.h"
#include "qapi/error.h"
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

    return g_test_run();
}
