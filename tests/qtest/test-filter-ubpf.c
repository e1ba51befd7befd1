/*
 * QTest testcase for filter-ubpf: real packets through eBPF programs
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * The tx tests feed packets into a socket netdev from the test; they pass
 * filter-ubpf and then a filter-redirector that forwards what is left to a
 * chardev the test reads.  The rx tests inject packets with a
 * filter-redirector (indev) so that they go through filter-ubpf and out of
 * the socket netdev to the test.  A packet that the program drops never
 * reaches the test: each check sends the dropped packets first and a
 * passing "marker" packet last, and asserts which packet arrives first.
 *
 * The eBPF programs are built with clang from the sources in
 * tests/data/ubpf/.
 */

#include "qemu/osdep.h"
#include "libqtest.h"
#include "qobject/qdict.h"
#include "qobject/qlist.h"
#include "qobject/qnum.h"
#include "qobject/qstring.h"
#include "qemu/iov.h"
#include "qemu/sockets.h"

#define PROGS "tests/data/ubpf/qtest-progs.bpf.o"
#define DROP_ALL "tests/data/ubpf/qtest-drop-all.bpf.o"
#define XDP "tests/data/ubpf/qtest-xdp.bpf.o"
#define BLOCKLIST "tests/data/ubpf/maps_blocklist.bpf.o"
#define COUNTER "tests/data/ubpf/maps_counter.bpf.o"
#define MAPS2 "tests/data/ubpf/qtest-maps2.bpf.o"
#define VERDICTS "tests/data/ubpf/qtest-verdicts.bpf.o"
#define BTF_TYPES "tests/data/ubpf/btf_types.bpf.o"
#define MAPS3 "tests/data/ubpf/qtest-maps3.bpf.o"
#define GLOBALS "tests/data/ubpf/qtest-globals.bpf.o"

typedef struct Rig {
    QTestState *qts;
    int feed;        /* the test writes packets here */
    int tap;         /* the test reads the packets that got through here */
    char *sock_path;
} Rig;

/* ---- packets ---- */

typedef struct Pkt {
    uint8_t data[128];
    size_t len;
} Pkt;

/*
 * An Ethernet frame holding an IPv4/UDP packet to 10.0.0.@dst, UDP port
 * @dport, optionally with an 802.1Q tag; @tag is copied into the payload to
 * tell packets apart.
 */
static Pkt udp_frame(uint8_t dst, uint16_t dport, bool vlan, uint8_t tag)
{
    Pkt p = { .len = 0 };
    static const uint8_t macs[12] = {
        0x52, 0x54, 0x00, 0x12, 0x34, 0x56, 0x52, 0x54, 0x00, 0x12, 0x34, 0x57
    };
    uint8_t *ip;

    memcpy(p.data, macs, sizeof(macs));
    p.len = 12;
    if (vlan) {
        p.data[p.len++] = 0x81;
        p.data[p.len++] = 0x00;
        p.data[p.len++] = 0x00;
        p.data[p.len++] = 0x05;
    }
    p.data[p.len++] = 0x08;
    p.data[p.len++] = 0x00;
    ip = &p.data[p.len];
    ip[0] = 0x45;                       /* IPv4, 20 byte header */
    ip[3] = 20 + 8 + 4;                 /* total length */
    ip[8] = 64;                         /* TTL */
    ip[9] = 17;                         /* UDP */
    ip[12] = 10; ip[13] = 0; ip[14] = 0; ip[15] = 1;
    ip[16] = 10; ip[17] = 0; ip[18] = 0; ip[19] = dst;
    ip[20] = 0x30; ip[21] = 0x39;       /* source port 12345 */
    ip[22] = dport >> 8; ip[23] = dport & 0xff;
    ip[25] = 8 + 4;                     /* UDP length */
    ip[28] = 'u'; ip[29] = 'b'; ip[30] = 'p'; ip[31] = tag;
    p.len += 32;
    return p;
}

static Pkt arp_frame(uint8_t tag)
{
    Pkt p = { .len = 42 };

    memset(p.data, 0xff, 6);
    p.data[6] = 0x52;
    p.data[11] = 0x01;
    p.data[12] = 0x08;
    p.data[13] = 0x06;
    p.data[14] = 0x00;
    p.data[15] = 0x01;
    p.data[41] = tag;
    return p;
}

/*
 * An Ethernet frame of @ethertype behind @ntags 802.1Q tags, with 40 bytes
 * of payload (an IPv4-looking header for 0x0800) ending in @tag.
 */
static Pkt eth_frame(uint16_t ethertype, int ntags, uint8_t tag)
{
    Pkt p = { .len = 12 };
    int i;

    memset(p.data, 0x52, 12);
    for (i = 0; i < ntags; i++) {
        p.data[p.len++] = 0x81;
        p.data[p.len++] = 0x00;
        p.data[p.len++] = 0x00;
        p.data[p.len++] = i + 1;
    }
    p.data[p.len++] = ethertype >> 8;
    p.data[p.len++] = ethertype & 0xff;
    p.data[p.len] = ethertype == 0x86dd ? 0x60 : 0x45;
    p.len += 40;
    p.data[p.len - 1] = tag;
    return p;
}

static void send_pkt(int fd, const Pkt *p)
{
    uint32_t len = htonl(p->len);
    struct iovec iov[] = {
        { .iov_base = &len, .iov_len = sizeof(len) },
        { .iov_base = (void *)p->data, .iov_len = p->len },
    };
    ssize_t ret = iov_send(fd, iov, 2, 0, sizeof(len) + p->len);

    g_assert_cmpint(ret, ==, sizeof(len) + p->len);
}

/* Read one packet: true if it is @want, false if it is @other. */
static bool recv_is(int fd, const Pkt *want, const Pkt *other)
{
    uint32_t len = 0;
    uint8_t buf[sizeof(want->data)];
    ssize_t ret;

    ret = recv(fd, &len, sizeof(len), MSG_WAITALL);
    g_assert_cmpint(ret, ==, sizeof(len));
    len = ntohl(len);
    g_assert_cmpint(len, <=, sizeof(buf));
    ret = recv(fd, buf, len, MSG_WAITALL);
    g_assert_cmpint(ret, ==, len);
    if (len == want->len && memcmp(buf, want->data, len) == 0) {
        return true;
    }
    g_assert(len == other->len && memcmp(buf, other->data, len) == 0);
    return false;
}

/* Read one packet and check it is @want. */
static void expect_pkt(int fd, const Pkt *want)
{
    g_assert(recv_is(fd, want, want));
}

/* ---- rigs ---- */

/*
 * A socket netdev n0 fed by the test.  tx: filters @filters then a
 * redirector r0 to a chardev the test reads.  rx: a redirector r0 injecting
 * what the test writes to a chardev, then @filters, then out to the test.
 */
static Rig rig_start(bool rx, const char *filters)
{
    Rig r = { 0 };
    int sv[2];
    int fd;

    g_assert_cmpint(socketpair(PF_UNIX, SOCK_STREAM, 0, sv), !=, -1);
    r.sock_path = g_strdup_printf("%s/filter-ubpf-%d.sock",
                                  g_get_tmp_dir(), getpid());
    unlink(r.sock_path);

    if (!rx) {
        r.qts = qtest_initf(
            "-nic socket,id=n0,fd=%d "
            "-chardev socket,id=c0,path=%s,server=on,wait=off "
            "%s "
            "-object filter-redirector,id=r0,netdev=n0,queue=tx,outdev=c0",
            sv[1], r.sock_path, filters);
        r.feed = sv[0];
        r.tap = unix_connect(r.sock_path, NULL);
        g_assert_cmpint(r.tap, !=, -1);
    } else {
        /* rx traverses the filter list backwards: r0 comes last */
        r.qts = qtest_initf(
            "-nic socket,id=n0,fd=%d "
            "-chardev socket,id=c0,path=%s,server=on,wait=off "
            "%s "
            "-object filter-redirector,id=r0,netdev=n0,queue=rx,indev=c0",
            sv[1], r.sock_path, filters);
        r.tap = sv[0];
        fd = unix_connect(r.sock_path, NULL);
        g_assert_cmpint(fd, !=, -1);
        r.feed = fd;
    }
    /* a packet that does not come fails the test instead of hanging it */
    {
        struct timeval tv = { .tv_sec = 10 };

        g_assert_cmpint(setsockopt(r.tap, SOL_SOCKET, SO_RCVTIMEO,
                                   &tv, sizeof(tv)), ==, 0);
    }
    /* make sure the chardev has seen the connection */
    qtest_qmp_assert_success(r.qts, "{ 'execute': 'query-status' }");
    return r;
}

static uint64_t counter(Rig *r, const char *id, const char *name)
{
    QDict *rsp;
    uint64_t v;
    g_autofree char *path = g_strdup_printf("/objects/%s", id);

    rsp = qtest_qmp(r->qts, "{ 'execute': 'qom-get', 'arguments': "
                    "{ 'path': %s, 'property': %s } }", path, name);
    g_assert(qdict_haskey(rsp, "return"));
    v = qdict_get_int(rsp, "return");
    qobject_unref(rsp);
    return v;
}

/*
 * Wait until a counter reaches @want: dropped packets give the test nothing
 * to read, so this is how it knows they were processed.
 */
static void wait_counter(Rig *r, const char *id, const char *name,
                         uint64_t want)
{
    gint64 deadline = g_get_monotonic_time() + 10 * G_USEC_PER_SEC;

    while (counter(r, id, name) != want) {
        g_assert_cmpint(g_get_monotonic_time(), <, deadline);
        g_usleep(1000);
    }
}

static void rig_stop(Rig *r)
{
    close(r->feed);
    close(r->tap);
    unlink(r->sock_path);
    g_free(r->sock_path);
    qtest_quit(r->qts);
}

/* qom-set that must fail; returns the error description */
static char *qom_set_fails(Rig *r, const char *id, const char *prop,
                           const char *value)
{
    QDict *rsp, *err;
    char *desc;
    g_autofree char *path = g_strdup_printf("/objects/%s", id);

    rsp = qtest_qmp(r->qts, "{ 'execute': 'qom-set', 'arguments': "
                    "{ 'path': %s, 'property': %s, 'value': %s } }",
                    path, prop, value);
    g_assert(qdict_haskey(rsp, "error"));
    err = qdict_get_qdict(rsp, "error");
    desc = g_strdup(qdict_get_str(err, "desc"));
    qobject_unref(rsp);
    return desc;
}

static void qom_set_str(Rig *r, const char *id, const char *prop,
                        const char *value)
{
    g_autofree char *path = g_strdup_printf("/objects/%s", id);

    qtest_qmp_assert_success(r->qts, "{ 'execute': 'qom-set', 'arguments': "
                             "{ 'path': %s, 'property': %s, 'value': %s } }",
                             path, prop, value);
}

/* ---- tests ---- */

/* The issue-2 smoke test: object-add and object-del over QMP. */
static void test_add_del(void)
{
    QTestState *qts = qtest_init("-nic user,id=n0");
    QDict *rsp;

    qtest_qmp_assert_success(qts, "{ 'execute': 'object-add', 'arguments': "
                             "{ 'qom-type': 'filter-ubpf', 'id': 'f0', "
                             "'netdev': 'n0', 'queue': 'tx', "
                             "'ubpf-handler': %s, 'section': 'ubpf/drop_dst' } }",
                             PROGS);
    rsp = qtest_qmp(qts, "{ 'execute': 'qom-list', 'arguments': "
                    "{ 'path': '/objects/f0' } }");
    g_assert(qdict_haskey(rsp, "return"));
    qobject_unref(rsp);
    qtest_qmp_assert_success(qts, "{ 'execute': 'object-del', 'arguments': "
                             "{ 'id': 'f0' } }");
    rsp = qtest_qmp(qts, "{ 'execute': 'qom-list', 'arguments': "
                    "{ 'path': '/objects/f0' } }");
    g_assert(qdict_haskey(rsp, "error"));
    qobject_unref(rsp);
    qtest_quit(qts);
}

/* Creation errors: no program, missing file, unknown section. */
static void test_create_errors(void)
{
    QTestState *qts = qtest_init("-nic user,id=n0");
    QDict *rsp;
    const char *desc;

    rsp = qtest_qmp(qts, "{ 'execute': 'object-add', 'arguments': "
                    "{ 'qom-type': 'filter-ubpf', 'id': 'f0', "
                    "'netdev': 'n0', 'ubpf-handler': '/nonexistent/x.o' } }");
    g_assert(qdict_haskey(rsp, "error"));
    desc = qdict_get_str(qdict_get_qdict(rsp, "error"), "desc");
    g_assert(strstr(desc, "/nonexistent/x.o"));
    qobject_unref(rsp);

    rsp = qtest_qmp(qts, "{ 'execute': 'object-add', 'arguments': "
                    "{ 'qom-type': 'filter-ubpf', 'id': 'f0', "
                    "'netdev': 'n0', 'ubpf-handler': %s, "
                    "'section': 'nosuch' } }", PROGS);
    g_assert(qdict_haskey(rsp, "error"));
    desc = qdict_get_str(qdict_get_qdict(rsp, "error"), "desc");
    g_assert(strstr(desc, "nosuch"));
    qobject_unref(rsp);

    /* a failed object-add leaves nothing behind: the id is free again */
    qtest_qmp_assert_success(qts, "{ 'execute': 'object-add', 'arguments': "
                             "{ 'qom-type': 'filter-ubpf', 'id': 'f0', "
                             "'netdev': 'n0', 'ubpf-handler': %s } }",
                             DROP_ALL);
    qtest_quit(qts);
}

static void test_no_handler(void)
{
    QTestState *qts = qtest_init("-nic user,id=n0");
    QDict *rsp;

    rsp = qtest_qmp(qts, "{ 'execute': 'object-add', 'arguments': "
                    "{ 'qom-type': 'filter-ubpf', 'id': 'f0', "
                    "'netdev': 'n0' } }");
    g_assert(qdict_haskey(rsp, "error"));
    g_assert(strstr(qdict_get_str(qdict_get_qdict(rsp, "error"), "desc"),
                    "ubpf-handler"));
    qobject_unref(rsp);
    qtest_quit(qts);
}

/* ip-mode: drop by IPv4 destination, plain and VLAN-tagged; ARP passes. */
static void run_ip_mode(bool rx, bool jit)
{
    g_autofree char *f = g_strdup_printf(
        "-object filter-ubpf,id=f0,netdev=n0,queue=%s,jit=%s,"
        "ubpf-handler=" PROGS ",section=ubpf/drop_dst",
        rx ? "rx" : "tx", jit ? "on" : "off");
    Rig r = rig_start(rx, f);
    Pkt drop = udp_frame(2, 53, false, 1);
    Pkt drop_vlan = udp_frame(2, 53, true, 2);
    Pkt pass = udp_frame(3, 53, false, 3);
    Pkt pass_vlan = udp_frame(3, 53, true, 4);
    Pkt arp = arp_frame(5);

    send_pkt(r.feed, &drop);
    send_pkt(r.feed, &drop_vlan);
    send_pkt(r.feed, &pass);
    expect_pkt(r.tap, &pass);
    send_pkt(r.feed, &pass_vlan);
    expect_pkt(r.tap, &pass_vlan);
    send_pkt(r.feed, &arp);        /* not IPv4: passes untouched */
    expect_pkt(r.tap, &arp);

    g_assert_cmpuint(counter(&r, "f0", "packets"), ==, 5);
    g_assert_cmpuint(counter(&r, "f0", "dropped"), ==, 2);
    g_assert_cmpuint(counter(&r, "f0", "passed"), ==, 3);
    g_assert_cmpuint(counter(&r, "f0", "errors"), ==, 0);
    rig_stop(&r);
}

static void test_ip_mode_tx(void)
{
    run_ip_mode(false, false);
}

static void test_ip_mode_rx(void)
{
    run_ip_mode(true, false);
}

static void test_ip_mode_tx_jit(void)
{
    run_ip_mode(false, true);
}

static void test_ip_mode_rx_jit(void)
{
    run_ip_mode(true, true);
}

/* raw mode: the program sees the Ethernet frame */
static void test_raw_mode(void)
{
    Rig r = rig_start(false,
                      "-object filter-ubpf,id=f0,netdev=n0,queue=tx,"
                      "ip-mode=off,ubpf-handler=" PROGS
                      ",section=ubpf/drop_arp");
    Pkt arp = arp_frame(1);
    Pkt udp = udp_frame(2, 53, false, 2);

    send_pkt(r.feed, &arp);
    send_pkt(r.feed, &udp);
    expect_pkt(r.tap, &udp);
    g_assert_cmpuint(counter(&r, "f0", "dropped"), ==, 1);
    g_assert_cmpuint(counter(&r, "f0", "passed"), ==, 1);
    rig_stop(&r);
}

/* Replace the program over QMP between two packets; failed replacements. */
static void test_replace(void)
{
    Rig r = rig_start(false,
                      "-object filter-ubpf,id=f0,netdev=n0,queue=tx,"
                      "ubpf-handler=" PROGS ",section=ubpf/drop_dst");
    Pkt to2 = udp_frame(2, 9, false, 1);
    Pkt to3_port9 = udp_frame(3, 9, false, 2);
    Pkt to3_port53 = udp_frame(3, 53, false, 3);
    g_autofree char *not_elf = g_strdup_printf("%s/filter-ubpf-%d.txt",
                                               g_get_tmp_dir(), getpid());
    char *desc;

    send_pkt(r.feed, &to2);             /* dropped by drop_dst */
    send_pkt(r.feed, &to3_port9);       /* passes drop_dst */
    expect_pkt(r.tap, &to3_port9);

    qom_set_str(&r, "f0", "section", "ubpf/drop_udp9");
    send_pkt(r.feed, &to3_port9);       /* now dropped */
    send_pkt(r.feed, &to2);             /* port 53? no: port 9, dropped */
    send_pkt(r.feed, &to3_port53);
    expect_pkt(r.tap, &to3_port53);

    /* failed replacements: the error names the problem, drop_udp9 stays */
    desc = qom_set_fails(&r, "f0", "ubpf-handler", "/nonexistent/prog.o");
    g_assert(strstr(desc, "/nonexistent/prog.o"));
    g_free(desc);

    g_assert(g_file_set_contents(not_elf, "not an ELF object\n", -1, NULL));
    desc = qom_set_fails(&r, "f0", "ubpf-handler", not_elf);
    g_assert(strstr(desc, not_elf));
    g_assert(strstr(desc, "ELF"));
    g_free(desc);
    unlink(not_elf);

    desc = qom_set_fails(&r, "f0", "section", "ubpf/sum_loop");
    g_assert(strstr(desc, "ubpf/sum_loop"));
    g_assert(strstr(desc, "instruction"));
    g_free(desc);

    send_pkt(r.feed, &to3_port9);       /* still dropped by drop_udp9 */
    send_pkt(r.feed, &to3_port53);
    expect_pkt(r.tap, &to3_port53);

    /* reload the object from its file, then go back to drop_dst */
    qom_set_str(&r, "f0", "ubpf-handler", PROGS);
    qom_set_str(&r, "f0", "section", "ubpf/drop_dst");
    send_pkt(r.feed, &to2);             /* dropped by drop_dst */

    wait_counter(&r, "f0", "packets", 8);
    g_assert_cmpuint(counter(&r, "f0", "dropped"), ==, 5);
    g_assert_cmpuint(counter(&r, "f0", "passed"), ==, 3);
    rig_stop(&r);
}

static bool qom_get_bool(QTestState *qts, const char *id, const char *prop)
{
    g_autofree char *path = g_strdup_printf("/objects/%s", id);
    QDict *rsp = qtest_qmp(qts, "{ 'execute': 'qom-get', 'arguments': "
                           "{ 'path': %s, 'property': %s } }", path, prop);
    bool v = qdict_get_bool(rsp, "return");

    qobject_unref(rsp);
    return v;
}

/*
 * The verifier refuses a program it cannot prove, naming the instruction
 * and register; with verify=off it loads and runs in the interpreter.
 */
static void test_verify_policy(void)
{
    QTestState *qts = qtest_init("-nic user,id=n0");
    QDict *rsp;
    const char *desc;

    rsp = qtest_qmp(qts, "{ 'execute': 'object-add', 'arguments': "
                    "{ 'qom-type': 'filter-ubpf', 'id': 'f0', "
                    "'netdev': 'n0', 'ubpf-handler': %s, "
                    "'section': 'ubpf/read_oob' } }", PROGS);
    desc = qdict_get_str(qdict_get_qdict(rsp, "error"), "desc");
    g_assert(strstr(desc, "instruction 0: r1: packet read of 1 byte at "
                    "offset 4000 not proven within the packet"));
    qobject_unref(rsp);
    qtest_qmp_assert_success(qts, "{ 'execute': 'object-add', 'arguments': "
                             "{ 'qom-type': 'filter-ubpf', 'id': 'f0', "
                             "'netdev': 'n0', 'ubpf-handler': %s, "
                             "'section': 'ubpf/read_oob', "
                             "'verify': false } }", PROGS);
    /* unverified: never JIT-compiled, although jit is on by default */
    g_assert(!qom_get_bool(qts, "f0", "program-verified"));
    g_assert(!qom_get_bool(qts, "f0", "program-jit"));
    g_assert(qom_get_bool(qts, "f0", "jit"));
    /* turning verification back on re-checks the program: refused */
    rsp = qtest_qmp(qts, "{ 'execute': 'qom-set', 'arguments': "
                    "{ 'path': '/objects/f0', 'property': 'verify', "
                    "'value': true } }");
    g_assert(qdict_haskey(rsp, "error"));
    qobject_unref(rsp);
    qtest_quit(qts);
}

/* The context convention: an XDP-style program, verified and JITed. */
static void test_context_convention(void)
{
    Rig r = rig_start(false,
                      "-object filter-ubpf,id=f0,netdev=n0,queue=tx,"
                      "ip-mode=off,convention=context,ubpf-handler=" XDP);
    Pkt discard = udp_frame(2, 9, false, 1);
    Pkt discard_vlan = udp_frame(2, 9, true, 2);
    Pkt dns = udp_frame(2, 53, true, 3);

    /* verified, hence JIT-compiled (the default) on x86-64 hosts */
    g_assert(qom_get_bool(r.qts, "f0", "program-verified"));
#ifdef __x86_64__
    g_assert(qom_get_bool(r.qts, "f0", "program-jit"));
#endif
    send_pkt(r.feed, &discard);
    send_pkt(r.feed, &discard_vlan);
    send_pkt(r.feed, &dns);
    expect_pkt(r.tap, &dns);
    g_assert_cmpuint(counter(&r, "f0", "dropped"), ==, 2);
    g_assert_cmpuint(counter(&r, "f0", "errors"), ==, 0);
    rig_stop(&r);
}

/* A run-time error counts in "errors" and the packet passes. */
static void test_runtime_error(void)
{
    Rig r = rig_start(false,
                      "-object filter-ubpf,id=f0,netdev=n0,queue=tx,"
                      "ip-mode=off,verify=off,ubpf-handler=" PROGS
                      ",section=ubpf/read_oob");
    Pkt p = udp_frame(2, 53, false, 1);

    send_pkt(r.feed, &p);
    expect_pkt(r.tap, &p);
    g_assert_cmpuint(counter(&r, "f0", "errors"), ==, 1);
    g_assert_cmpuint(counter(&r, "f0", "passed"), ==, 1);
    rig_stop(&r);
}

/* status=off passes everything; object-del while packets flow */
static void test_status_and_del(void)
{
    Rig r = rig_start(false,
                      "-object filter-ubpf,id=f0,netdev=n0,queue=tx,"
                      "ubpf-handler=" DROP_ALL);
    Pkt a = udp_frame(2, 53, false, 1);
    Pkt b = udp_frame(2, 53, false, 2);
    int i;

    send_pkt(r.feed, &a);               /* dropped */
    wait_counter(&r, "f0", "dropped", 1);
    qom_set_str(&r, "f0", "status", "off");
    send_pkt(r.feed, &b);
    expect_pkt(r.tap, &b);
    qom_set_str(&r, "f0", "status", "on");
    g_assert_cmpuint(counter(&r, "f0", "packets"), ==, 1);

    /* delete the filter with packets in flight, then everything passes */
    for (i = 0; i < 20; i++) {
        send_pkt(r.feed, &a);
    }
    qtest_qmp_assert_success(r.qts, "{ 'execute': 'object-del', "
                             "'arguments': { 'id': 'f0' } }");
    send_pkt(r.feed, &b);
    /* the packets not yet filtered when f0 went away now pass */
    for (i = 0; i <= 20 && !recv_is(r.tap, &b, &a); i++) {
        /* one of the 20 'a' packets */
    }
    g_assert_cmpint(i, <=, 20);
    qtest_qmp_assert_success(r.qts, "{ 'execute': 'query-status' }");
    rig_stop(&r);
}

/* The value of @key in map @map of filter @id, from x-filter-ubpf-dump-map */
static char *map_value(Rig *r, const char *id, const char *map,
                       const char *key)
{
    QDict *rsp = qtest_qmp(r->qts, "{ 'execute': 'x-filter-ubpf-dump-map', "
                           "'arguments': { 'id': %s, 'map': %s } }", id, map);
    QList *entries = qdict_get_qlist(qdict_get_qdict(rsp, "return"),
                                     "entries");
    QListEntry *e;
    char *value = NULL;

    g_assert(entries);
    QLIST_FOREACH_ENTRY(entries, e) {
        QDict *entry = qobject_to(QDict, qlist_entry_obj(e));

        if (g_str_equal(qdict_get_str(entry, "key"), key)) {
            value = g_strdup(qdict_get_str(entry, "value"));
        }
    }
    qobject_unref(rsp);
    return value;
}

/* The host fills a blocklist map over QMP; the program drops by it. */
static void test_map_blocklist(void)
{
    Rig r = rig_start(false,
                      "-object filter-ubpf,id=f0,netdev=n0,queue=tx,"
                      "ubpf-handler=" BLOCKLIST);
    /* every udp_frame() comes from 10.0.0.1: key 0a000001 */
    Pkt a = udp_frame(2, 53, false, 1);
    Pkt b = udp_frame(2, 53, false, 2);
    g_autofree char *hits = NULL;
    QDict *rsp;
    char *desc;

    send_pkt(r.feed, &a);
    expect_pkt(r.tap, &a);

    qtest_qmp_assert_success(r.qts, "{ 'execute': 'x-filter-ubpf-update-map',"
                             " 'arguments': { 'id': 'f0', 'map': 'blocked',"
                             " 'key': '0a000001', 'value': '0000000000000000',"
                             " 'mode': 'noexist' } }");
    send_pkt(r.feed, &a);               /* blocked: dropped */
    wait_counter(&r, "f0", "dropped", 1);
    hits = map_value(&r, "f0", "blocked", "0a000001");
    g_assert_cmpstr(hits, ==, "0100000000000000");

    /* bad input: sizes, hex, names; nothing changes */
    desc = qom_set_fails(&r, "f0", "status", "sideways");
    g_free(desc);
    rsp = qtest_qmp(r.qts, "{ 'execute': 'x-filter-ubpf-update-map',"
                    " 'arguments': { 'id': 'f0', 'map': 'blocked',"
                    " 'key': '0a0000', 'value': '0000000000000000' } }");
    g_assert(strstr(qdict_get_str(qdict_get_qdict(rsp, "error"), "desc"),
                    "key is 3 bytes, the map's keys are 4 bytes"));
    qobject_unref(rsp);
    rsp = qtest_qmp(r.qts, "{ 'execute': 'x-filter-ubpf-update-map',"
                    " 'arguments': { 'id': 'f0', 'map': 'blocked',"
                    " 'key': '0a000001', 'value': '00', 'mode': 'noexist' } }");
    g_assert(strstr(qdict_get_str(qdict_get_qdict(rsp, "error"), "desc"),
                    "value is 1 byte, the map's values are 8 bytes"));
    qobject_unref(rsp);
    rsp = qtest_qmp(r.qts, "{ 'execute': 'x-filter-ubpf-dump-map',"
                    " 'arguments': { 'id': 'f0', 'map': 'nosuch' } }");
    g_assert(strstr(qdict_get_str(qdict_get_qdict(rsp, "error"), "desc"),
                    "no map \"nosuch\" (maps: \"blocked\")"));
    qobject_unref(rsp);

    qtest_qmp_assert_success(r.qts, "{ 'execute': "
                             "'x-filter-ubpf-delete-map-entry', 'arguments':"
                             " { 'id': 'f0', 'map': 'blocked',"
                             " 'key': '0a000001' } }");
    send_pkt(r.feed, &b);               /* unblocked: passes */
    expect_pkt(r.tap, &b);
    g_assert_cmpuint(counter(&r, "f0", "dropped"), ==, 1);
    rig_stop(&r);
}

/* A counter map matches what was sent, and survives a hot swap. */
static void test_map_counter_keep(void)
{
    Rig r = rig_start(false,
                      "-object filter-ubpf,id=f0,netdev=n0,queue=tx,"
                      "ubpf-handler=" COUNTER);
    Pkt udp = udp_frame(2, 53, false, 1);
    Pkt arp = arp_frame(2);
    g_autofree char *before = NULL;
    g_autofree char *kept = NULL;
    g_autofree char *fresh = NULL;
    g_autofree char *hmp = NULL;
    int i;

    for (i = 0; i < 3; i++) {
        send_pkt(r.feed, &udp);
        expect_pkt(r.tap, &udp);
    }
    send_pkt(r.feed, &arp);             /* not IPv4: not counted */
    expect_pkt(r.tap, &arp);
    /* key: protocol 17 (UDP) as a little-endian u32 */
    before = map_value(&r, "f0", "proto_count", "11000000");
    g_assert_cmpstr(before, ==, "0300000000000000");

    hmp = qtest_hmp(r.qts, "info ubpf-maps f0");
    g_assert(strstr(hmp, "map \"proto_count\": array, key 4 bytes, "
                    "value 8 bytes, 256/256 entries"));
    g_assert(strstr(hmp, "11000000: 0300000000000000"));

    /* replace the program keeping its maps: the count goes on */
    qtest_qmp_assert_success(r.qts, "{ 'execute': 'qom-set', 'arguments': "
                             "{ 'path': '/objects/f0', 'property': "
                             "'keep-maps', 'value': true } }");
    qom_set_str(&r, "f0", "ubpf-handler", COUNTER);
    send_pkt(r.feed, &udp);
    expect_pkt(r.tap, &udp);
    kept = map_value(&r, "f0", "proto_count", "11000000");
    g_assert_cmpstr(kept, ==, "0400000000000000");

    /* without keep-maps, a replacement starts from fresh maps */
    qtest_qmp_assert_success(r.qts, "{ 'execute': 'qom-set', 'arguments': "
                             "{ 'path': '/objects/f0', 'property': "
                             "'keep-maps', 'value': false } }");
    qom_set_str(&r, "f0", "ubpf-handler", COUNTER);
    fresh = map_value(&r, "f0", "proto_count", "11000000");
    g_assert_cmpstr(fresh, ==, "0000000000000000");
    rig_stop(&r);
}

static char *qom_get_str(QTestState *qts, const char *id, const char *prop)
{
    g_autofree char *path = g_strdup_printf("/objects/%s", id);
    QDict *rsp = qtest_qmp(qts, "{ 'execute': 'qom-get', 'arguments': "
                           "{ 'path': %s, 'property': %s } }", path, prop);
    char *v = g_strdup(qdict_get_str(rsp, "return"));

    qobject_unref(rsp);
    return v;
}

/* object-add of a filter-ubpf with @handler that must fail: the error */
static char *add_fails(QTestState *qts, const char *handler)
{
    QDict *rsp = qtest_qmp(qts, "{ 'execute': 'object-add', 'arguments': "
                           "{ 'qom-type': 'filter-ubpf', 'id': 'f0', "
                           "'netdev': 'n0', 'ubpf-handler': %s } }",
                           handler);
    char *desc;

    g_assert(qdict_haskey(rsp, "error"));
    desc = g_strdup(qdict_get_str(qdict_get_qdict(rsp, "error"), "desc"));
    qobject_unref(rsp);
    return desc;
}

/* A copy of @src in the temporary directory */
static char *tmp_copy(const char *src, const char *name)
{
    g_autofree char *data = NULL;
    gsize len;
    char *dst = g_strdup_printf("%s/filter-ubpf-%d-%s", g_get_tmp_dir(),
                                getpid(), name);

    g_assert(g_file_get_contents(src, &data, &len, NULL));
    g_assert(g_file_set_contents(dst, data, len, NULL));
    return dst;
}

/*
 * A relative ubpf-handler is made absolute when it is set, so that reloads
 * do not depend on the working directory (-daemonize changes it to /).
 */
static void test_relative_handler(void)
{
    QTestState *qts = qtest_init("-nic user,id=n0 "
                                 "-object filter-ubpf,id=f0,netdev=n0,"
                                 "ubpf-handler=" DROP_ALL);
    g_autofree char *want = realpath(DROP_ALL, NULL);
    g_autofree char *got = qom_get_str(qts, "f0", "ubpf-handler");

    g_assert(want);
    g_assert_cmpstr(got, ==, want);
    qtest_quit(qts);
}

/*
 * Only regular files, refused at once: a FIFO without a writer must not
 * block QEMU, nor /dev/zero make it read forever.
 */
static void test_file_checks(void)
{
    QTestState *qts = qtest_init("-nic user,id=n0");
    g_autofree char *fifo = g_strdup_printf("%s/filter-ubpf-%d.fifo",
                                            g_get_tmp_dir(), getpid());
    g_autofree char *want = NULL;
    g_autofree char *real = NULL;
    g_autofree char *dir = realpath(g_get_tmp_dir(), NULL);
    char *desc;

    desc = add_fails(qts, "/dev/zero");
    g_assert_cmpstr(desc, ==, "filter-ubpf: /dev/zero: cannot read: it is a "
                    "character device; the program must be a regular file");
    g_free(desc);

    unlink(fifo);
    g_assert_cmpint(mkfifo(fifo, 0600), ==, 0);
    desc = add_fails(qts, fifo);
    real = realpath(fifo, NULL);
    want = g_strdup_printf("filter-ubpf: %s: cannot read: it is a FIFO; the "
                           "program must be a regular file", real);
    g_assert_cmpstr(desc, ==, want);
    g_free(desc);
    unlink(fifo);

    desc = add_fails(qts, g_get_tmp_dir());
    g_assert(strstr(desc, dir));
    g_assert(strstr(desc, "it is a directory; the program must be a "
                    "regular file"));
    g_free(desc);
    qtest_quit(qts);
}

/*
 * Tuning a property keeps the loaded object and its maps: the file is not
 * read again (it is gone by then) and the count in the map goes on; only
 * ubpf-handler reads the file.
 */
static void test_tune_keeps_object(void)
{
    g_autofree char *obj = tmp_copy(MAPS2, "maps2.o");
    g_autofree char *f = g_strdup_printf(
        "-object filter-ubpf,id=f0,netdev=n0,queue=tx,ubpf-handler=%s,"
        "section=ubpf/count_pass", obj);
    Rig r = rig_start(false, f);
    Pkt a = udp_frame(2, 53, false, 1);
    Pkt b = udp_frame(2, 53, false, 2);
    g_autofree char *hits = NULL;
    g_autofree char *kept = NULL;
    g_autofree char *conv = NULL;
    char *desc;

    send_pkt(r.feed, &a);
    expect_pkt(r.tap, &a);
    unlink(obj);

    qtest_qmp_assert_success(r.qts, "{ 'execute': 'qom-set', 'arguments': "
                             "{ 'path': '/objects/f0', 'property': 'jit', "
                             "'value': false } }");
    qtest_qmp_assert_success(r.qts, "{ 'execute': 'qom-set', 'arguments': "
                             "{ 'path': '/objects/f0', 'property': 'verify', "
                             "'value': false } }");
    qtest_qmp_assert_success(r.qts, "{ 'execute': 'qom-set', 'arguments': "
                             "{ 'path': '/objects/f0', 'property': "
                             "'ip-mode', 'value': false } }");
    /* the context convention is XDP's: return value 0 is XDP_ABORTED */
    qom_set_str(&r, "f0", "convention", "context");
    send_pkt(r.feed, &a);
    wait_counter(&r, "f0", "aborted", 1);
    hits = map_value(&r, "f0", "hits", "00000000");
    g_assert_cmpstr(hits, ==, "0200000000000000");

    /* another program of the same object: same map, same count */
    qom_set_str(&r, "f0", "section", "ubpf/count_drop");
    send_pkt(r.feed, &b);               /* XDP_DROP */
    wait_counter(&r, "f0", "dropped", 1);
    kept = map_value(&r, "f0", "hits", "00000000");
    g_assert_cmpstr(kept, ==, "0300000000000000");

    /* reading the file again fails: nothing changes */
    desc = qom_set_fails(&r, "f0", "ubpf-handler", obj);
    g_assert(strstr(desc, "cannot read: no such file"));
    g_free(desc);
    conv = qom_get_str(r.qts, "f0", "convention");
    g_assert_cmpstr(conv, ==, "context");
    send_pkt(r.feed, &b);               /* still count_drop */
    wait_counter(&r, "f0", "dropped", 2);
    rig_stop(&r);
}

/*
 * Frames the program never sees (ip-mode: not IPv4, three VLAN tags,
 * truncated) are counted in "unfiltered", and pass or are dropped as the
 * "unfiltered-action" property says.
 */
static void test_unfiltered(void)
{
    Rig r = rig_start(false,
                      "-object filter-ubpf,id=f0,netdev=n0,queue=tx,"
                      "unfiltered-action=drop,ubpf-handler=" PROGS
                      ",section=ubpf/drop_dst");
    Pkt arp = arp_frame(1);
    Pkt ipv6 = eth_frame(0x86dd, 0, 2);
    Pkt vlan3 = eth_frame(0x0800, 3, 3);
    Pkt vlan2 = eth_frame(0x0800, 2, 4);
    Pkt shortp = eth_frame(0x0800, 0, 5);
    Pkt pass = udp_frame(3, 53, false, 6);
    g_autofree char *mode = NULL;

    shortp.len = 14 + 10;               /* half an IPv4 header */
    send_pkt(r.feed, &arp);
    send_pkt(r.feed, &ipv6);
    send_pkt(r.feed, &vlan3);
    send_pkt(r.feed, &shortp);
    send_pkt(r.feed, &vlan2);           /* IPv4 behind two tags: runs */
    expect_pkt(r.tap, &vlan2);
    send_pkt(r.feed, &pass);
    expect_pkt(r.tap, &pass);
    g_assert_cmpuint(counter(&r, "f0", "unfiltered"), ==, 4);
    g_assert_cmpuint(counter(&r, "f0", "dropped"), ==, 4);
    g_assert_cmpuint(counter(&r, "f0", "passed"), ==, 2);
    g_assert_cmpuint(counter(&r, "f0", "packets"), ==, 6);

    mode = qom_get_str(r.qts, "f0", "unfiltered-action");
    g_assert_cmpstr(mode, ==, "drop");
    qom_set_str(&r, "f0", "unfiltered-action", "pass");
    send_pkt(r.feed, &ipv6);
    expect_pkt(r.tap, &ipv6);
    g_assert_cmpuint(counter(&r, "f0", "unfiltered"), ==, 5);
    g_assert_cmpuint(counter(&r, "f0", "passed"), ==, 3);
    g_free(qom_set_fails(&r, "f0", "unfiltered-action", "sideways"));
    rig_stop(&r);
}

/* convention is an enumeration: its values, and a clear refusal */
static void test_convention_enum(void)
{
    QTestState *qts = qtest_init("-nic user,id=n0 "
                                 "-object filter-ubpf,id=f0,netdev=n0,"
                                 "ip-mode=off,convention=context,"
                                 "ubpf-handler=" XDP);
    QDict *rsp;
    g_autofree char *c = NULL;

    rsp = qtest_qmp(qts, "{ 'execute': 'qom-set', 'arguments': "
                    "{ 'path': '/objects/f0', 'property': 'convention', "
                    "'value': 'sideways' } }");
    g_assert_cmpstr(qdict_get_str(qdict_get_qdict(rsp, "error"), "desc"), ==,
                    "Parameter 'convention' does not accept value "
                    "'sideways'");
    qobject_unref(rsp);
    c = qom_get_str(qts, "f0", "convention");
    g_assert_cmpstr(c, ==, "context");
    qtest_quit(qts);
}

/* One page of x-filter-ubpf-dump-map: its size, and its "next" (or NULL) */
static char *dump_page(QTestState *qts, const char *start, int count,
                       int *n)
{
    QDict *rsp, *page;
    char *next;

    if (start) {
        rsp = qtest_qmp(qts, "{ 'execute': 'x-filter-ubpf-dump-map', "
                        "'arguments': { 'id': 'f0', 'map': 'proto_count', "
                        "'start': %s, 'count': %d } }", start, count);
    } else {
        rsp = qtest_qmp(qts, "{ 'execute': 'x-filter-ubpf-dump-map', "
                        "'arguments': { 'id': 'f0', 'map': 'proto_count', "
                        "'count': %d } }", count);
    }
    page = qdict_get_qdict(rsp, "return");
    g_assert(page);
    *n = qlist_size(qdict_get_qlist(page, "entries"));
    next = g_strdup(qdict_get_try_str(page, "next"));
    qobject_unref(rsp);
    return next;
}

/*
 * x-filter-ubpf-dump-map in pages; "info ubpf-maps" shows the first 32
 * entries of each map and stops there; errors.
 */
static void test_dump_pages(void)
{
    QTestState *qts = qtest_init("-nic user,id=n0 "
                                 "-object filter-ubpf,id=f0,netdev=n0,"
                                 "ubpf-handler=" COUNTER);
    g_autofree char *next1 = NULL;
    g_autofree char *next2 = NULL;
    g_autofree char *next3 = NULL;
    g_autofree char *hmp = NULL;
    g_autofree char *bad = NULL;
    g_auto(GStrv) lines = NULL;
    QDict *rsp;
    int n, entries = 0, i;

    /* proto_count: an array of 256 entries */
    next1 = dump_page(qts, NULL, 100, &n);
    g_assert_cmpint(n, ==, 100);
    g_assert_cmpstr(next1, ==, "64000000");
    next2 = dump_page(qts, next1, 100, &n);
    g_assert_cmpint(n, ==, 100);
    g_assert_cmpstr(next2, ==, "c8000000");
    next3 = dump_page(qts, next2, 100, &n);
    g_assert_cmpint(n, ==, 56);
    g_assert_null(next3);
    g_free(dump_page(qts, NULL, 1024, &n));
    g_assert_cmpint(n, ==, 256);

    rsp = qtest_qmp(qts, "{ 'execute': 'x-filter-ubpf-dump-map', "
                    "'arguments': { 'id': 'f0', 'map': 'proto_count', "
                    "'count': 1025 } }");
    g_assert_cmpstr(qdict_get_str(qdict_get_qdict(rsp, "error"), "desc"), ==,
                    "count must be between 1 and 1024");
    qobject_unref(rsp);
    rsp = qtest_qmp(qts, "{ 'execute': 'x-filter-ubpf-dump-map', "
                    "'arguments': { 'id': 'f0', 'map': 'proto_count', "
                    "'start': '00010000' } }");
    g_assert_cmpstr(qdict_get_str(qdict_get_qdict(rsp, "error"), "desc"), ==,
                    "filter-ubpf 'f0': map \"proto_count\": start key: "
                    "no such key");
    qobject_unref(rsp);

    hmp = qtest_hmp(qts, "info ubpf-maps f0");
    lines = g_strsplit(hmp, "\n", -1);
    for (i = 0; lines[i]; i++) {
        entries += g_str_has_prefix(lines[i], "    ") &&
                   !strstr(lines[i], "...");
    }
    g_assert_cmpint(entries, ==, 32);
    /* typed by the object's BTF (__u32 keys, __u64 values), then hex */
    g_assert(strstr(hmp, "    31: 0 (1f000000: 0000000000000000)"));
    g_assert(strstr(hmp, "... (more entries: x-filter-ubpf-dump-map lists "
                    "them, in pages)"));

    /* HMP errors take the usual "Error:" path */
    bad = qtest_hmp(qts, "info ubpf-maps nosuch");
    g_assert(g_str_has_prefix(bad, "Error: no object 'nosuch': give the id "
                              "or the QOM path of a filter-ubpf object"));
    qtest_quit(qts);
}

/*
 * x-filter-ubpf-load: from a raw ip-mode program to an XDP one in one
 * step, where qom-set would have to go through invalid states; a failed
 * load changes nothing.
 */
static void test_load_atomic(void)
{
    Rig r = rig_start(false,
                      "-object filter-ubpf,id=f0,netdev=n0,queue=tx,"
                      "ubpf-handler=" PROGS ",section=ubpf/drop_dst");
    Pkt discard = udp_frame(3, 9, false, 1);
    Pkt dns = udp_frame(3, 53, false, 2);
    g_autofree char *xdp = realpath(XDP, NULL);
    g_autofree char *file = NULL;
    g_autofree char *conv = NULL;
    g_autofree char *sect = NULL;
    QDict *rsp;
    char *desc;

    /*
     * one property at a time: the object has no section ubpf/drop_dst,
     * and its program would be refused in ip-mode with the raw convention
     */
    desc = qom_set_fails(&r, "f0", "ubpf-handler", XDP);
    g_assert(strstr(desc, "ubpf/drop_dst"));
    g_free(desc);

    qtest_qmp_assert_success(r.qts, "{ 'execute': 'x-filter-ubpf-load', "
                             "'arguments': { 'id': 'f0', 'ubpf-handler': %s,"
                             " 'section': '', 'ip-mode': false, "
                             "'convention': 'context' } }", XDP);
    file = qom_get_str(r.qts, "f0", "ubpf-handler");
    g_assert_cmpstr(file, ==, xdp);
    conv = qom_get_str(r.qts, "f0", "convention");
    g_assert_cmpstr(conv, ==, "context");
    sect = qom_get_str(r.qts, "f0", "section");
    g_assert_cmpstr(sect, ==, "");
    g_assert(!qom_get_bool(r.qts, "f0", "ip-mode"));
    send_pkt(r.feed, &discard);         /* dropped by the XDP program */
    send_pkt(r.feed, &dns);
    expect_pkt(r.tap, &dns);
    g_assert_cmpuint(counter(&r, "f0", "dropped"), ==, 1);

    /* back to raw for this program: refused, with the hint */
    desc = qom_set_fails(&r, "f0", "convention", "raw");
    g_assert(strstr(desc, "; the program reads r1 as a context "
                    "(struct xdp_md): it verifies with convention=context"));
    g_free(desc);

    /* a failed load changes nothing */
    rsp = qtest_qmp(r.qts, "{ 'execute': 'x-filter-ubpf-load', "
                    "'arguments': { 'id': 'f0', 'ubpf-handler': "
                    "'/nonexistent/x.o', 'ip-mode': true, "
                    "'convention': 'raw' } }");
    g_assert_cmpstr(qdict_get_str(qdict_get_qdict(rsp, "error"), "desc"), ==,
                    "filter-ubpf: /nonexistent/x.o: cannot read: no such "
                    "file");
    qobject_unref(rsp);
    g_assert(!qom_get_bool(r.qts, "f0", "ip-mode"));
    send_pkt(r.feed, &discard);
    send_pkt(r.feed, &dns);
    expect_pkt(r.tap, &dns);
    g_assert_cmpuint(counter(&r, "f0", "dropped"), ==, 2);
    rig_stop(&r);
}

/* x-query-filter-ubpf and "info ubpf": one snapshot per filter */
static void test_query(void)
{
    Rig r = rig_start(false,
                      "-object filter-ubpf,id=f0,netdev=n0,queue=tx,"
                      "stats=on,ubpf-handler=" COUNTER);
    Pkt udp = udp_frame(2, 53, false, 1);
    Pkt arp = arp_frame(2);
    g_autofree char *path = realpath(COUNTER, NULL);
    g_autofree char *tag = NULL;
    g_autofree char *hmp = NULL;
    QDict *rsp, *f;
    QList *list;
    int i;

    for (i = 0; i < 3; i++) {
        send_pkt(r.feed, &udp);
        expect_pkt(r.tap, &udp);
    }
    send_pkt(r.feed, &arp);
    expect_pkt(r.tap, &arp);

    rsp = qtest_qmp(r.qts, "{ 'execute': 'x-query-filter-ubpf' }");
    list = qdict_get_qlist(rsp, "return");
    g_assert_cmpint(qlist_size(list), ==, 1);
    f = qobject_to(QDict, qlist_peek(list));
    g_assert_cmpstr(qdict_get_str(f, "id"), ==, "f0");
    g_assert_cmpstr(qdict_get_str(f, "netdev"), ==, "n0");
    g_assert_cmpstr(qdict_get_str(f, "file"), ==, path);
    g_assert_cmpstr(qdict_get_str(f, "section"), ==, "ubpf");
    g_assert_cmpint(qdict_get_int(f, "insns"), >, 0);
    tag = g_strdup(qdict_get_str(f, "tag"));
    g_assert_cmpint(strlen(tag), ==, 16);
    g_assert_cmpint(strspn(tag, "0123456789abcdef"), ==, 16);
    g_assert_cmpint(qdict_get_int(f, "load-time"), >, 1600000000);
    g_assert(qdict_get_bool(f, "verified"));
    g_assert(qdict_get_bool(f, "ip-mode"));
    g_assert_cmpstr(qdict_get_str(f, "convention"), ==, "raw");
    g_assert_cmpstr(qdict_get_str(f, "prog-type"), ==, "ubpf");
    g_assert_cmpstr(qdict_get_str(qobject_to(QDict, qlist_peek(
                        qdict_get_qlist(f, "maps"))), "name"), ==,
                    "proto_count");
    g_assert_cmpint(qdict_get_int(f, "packets"), ==, 4);
    g_assert_cmpint(qdict_get_int(f, "passed"), ==, 4);
    g_assert_cmpint(qdict_get_int(f, "unfiltered"), ==, 1);
    g_assert(qdict_get_bool(f, "stats"));
    g_assert_cmpint(qdict_get_int(f, "run-count"), ==, 3);
    g_assert_cmpint(qdict_get_int(f, "run-time-ns"), >, 0);
    qobject_unref(rsp);

    hmp = qtest_hmp(r.qts, "info ubpf");
    g_assert(strstr(hmp, "f0: netdev n0, "));
    g_assert(strstr(hmp, path));
    g_assert(strstr(hmp, tag));
    g_assert(strstr(hmp, "packets 4, passed 4, dropped 0, aborted 0, "
                    "tx 0, redirected 0, truncated 0, errors 0, "
                    "unfiltered 1"));
    g_assert(strstr(hmp, "run count 3, run time "));
    g_assert(strstr(hmp, "maps: proto_count"));

    /* the same bytecode, the same tag; stats off stops counting */
    qom_set_str(&r, "f0", "ubpf-handler", COUNTER);
    qtest_qmp_assert_success(r.qts, "{ 'execute': 'qom-set', 'arguments': "
                             "{ 'path': '/objects/f0', 'property': 'stats', "
                             "'value': false } }");
    send_pkt(r.feed, &udp);
    expect_pkt(r.tap, &udp);
    rsp = qtest_qmp(r.qts, "{ 'execute': 'x-query-filter-ubpf' }");
    f = qobject_to(QDict, qlist_peek(qdict_get_qlist(rsp, "return")));
    g_assert_cmpstr(qdict_get_str(f, "tag"), ==, tag);
    g_assert_cmpint(qdict_get_int(f, "run-count"), ==, 3);
    g_assert_cmpint(qdict_get_int(f, "packets"), ==, 5);
    qobject_unref(rsp);
    rig_stop(&r);
}

/* ---- kernel program types and their verdicts (qtest-verdicts.bpf.c) ---- */

static void set_timeout(int fd)
{
    struct timeval tv = { .tv_sec = 10 };

    g_assert_cmpint(setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)),
                    ==, 0);
}

/*
 * A tx rig (n0, filter f0 with ifindex 1) plus a second socket netdev n1
 * whose filter-ubpf f1 has ifindex 2, the redirect target; *@n1 is the
 * test's end of n1's socket.
 */
static Rig rig_two(const char *f0_opts, int *n1)
{
    int sv[2];
    g_autofree char *args = NULL;
    Rig r;

    g_assert_cmpint(socketpair(PF_UNIX, SOCK_STREAM, 0, sv), !=, -1);
    args = g_strdup_printf(
        "-object filter-ubpf,id=f0,netdev=n0,queue=tx,ifindex=1,%s "
        "-nic socket,id=n1,fd=%d "
        "-object filter-ubpf,id=f1,netdev=n1,queue=tx,ifindex=2,"
        "ubpf-handler=" VERDICTS ",section=xdp", f0_opts, sv[1]);
    r = rig_start(false, args);
    close(sv[1]);
    *n1 = sv[0];
    set_timeout(*n1);
    set_timeout(r.feed);
    return r;
}

/*
 * XDP: ABORTED and DROP drop (ABORTED is also an error), PASS passes,
 * TX sends the frame back to the netdev it came from (the test reads it
 * on the socket it writes to), REDIRECT sends it out of the netdev of
 * the filter with the target ifindex (bpf_redirect_map on a devmap the
 * host fills, bpf_redirect), and changed frames (written, shortened)
 * reach the peer as changed.
 */
static void test_xdp_verdicts(void)
{
    int n1;
    Rig r = rig_two("ubpf-handler=" VERDICTS ",section=xdp", &n1);
    Pkt aborted = udp_frame(2, 1, false, 1);
    Pkt dropped = udp_frame(2, 2, false, 2);
    Pkt pass = udp_frame(2, 3, false, 3);
    Pkt tx = udp_frame(2, 4, false, 4);
    Pkt tx_back = tx;
    Pkt via_map = udp_frame(2, 5, false, 5);
    Pkt via_ifindex = udp_frame(2, 6, false, 6);
    Pkt cut = udp_frame(2, 7, false, 7);
    Pkt cut_out = cut;
    Pkt write = udp_frame(2, 8, false, 8);
    Pkt write_out = write;
    g_autofree char *type = NULL;

    type = qom_get_str(r.qts, "f0", "prog-type");
    g_assert_cmpstr(type, ==, "auto");
    g_free(type);
    type = qom_get_str(r.qts, "f0", "convention");
    g_assert_cmpstr(type, ==, "context");

    send_pkt(r.feed, &aborted);
    send_pkt(r.feed, &dropped);
    send_pkt(r.feed, &pass);
    expect_pkt(r.tap, &pass);
    g_assert_cmpuint(counter(&r, "f0", "aborted"), ==, 1);
    g_assert_cmpuint(counter(&r, "f0", "errors"), ==, 1);
    g_assert_cmpuint(counter(&r, "f0", "dropped"), ==, 1);
    g_assert_cmpuint(counter(&r, "f0", "passed"), ==, 1);

    /* XDP_TX: back out of n0, the MAC addresses swapped by the program */
    memcpy(tx_back.data, tx.data + 6, 6);
    memcpy(tx_back.data + 6, tx.data, 6);
    send_pkt(r.feed, &tx);
    expect_pkt(r.feed, &tx_back);
    g_assert_cmpuint(counter(&r, "f0", "tx"), ==, 1);

    /* XDP_REDIRECT through the devmap: ifindex 2 is f1's netdev n1 */
    qtest_qmp_assert_success(r.qts,
        "{ 'execute': 'x-filter-ubpf-update-map', 'arguments': "
        "{ 'id': 'f0', 'map': 'ports', 'key': '00000000', "
        "'value': '02000000' } }");
    send_pkt(r.feed, &via_map);
    expect_pkt(n1, &via_map);
    send_pkt(r.feed, &via_ifindex);
    expect_pkt(n1, &via_ifindex);
    g_assert_cmpuint(counter(&r, "f0", "redirected"), ==, 2);

    /* bpf_xdp_adjust_tail and a write: the peer gets the changed frame */
    cut_out.len -= 4;
    write_out.data[write_out.len - 1] = 0xee;
    send_pkt(r.feed, &cut);
    expect_pkt(r.tap, &cut_out);
    send_pkt(r.feed, &write);
    expect_pkt(r.tap, &write_out);
    g_assert_cmpuint(counter(&r, "f0", "passed"), ==, 3);
    g_assert_cmpuint(counter(&r, "f0", "packets"), ==, 8);

    /* a redirect to an ifindex no filter has is dropped, as an error */
    qtest_qmp_assert_success(r.qts,
        "{ 'execute': 'x-filter-ubpf-update-map', 'arguments': "
        "{ 'id': 'f0', 'map': 'ports', 'key': '00000000', "
        "'value': '09000000' } }");
    send_pkt(r.feed, &via_map);
    send_pkt(r.feed, &pass);
    expect_pkt(r.tap, &pass);
    g_assert_cmpuint(counter(&r, "f0", "errors"), ==, 2);
    close(n1);
    rig_stop(&r);
}

/*
 * Trace events, through QEMU's log backend into a file: bpf_printk's text,
 * what became of each packet (with the length it left with), and the
 * unload when the filter is deleted.
 */
static void test_trace_events(void)
{
    g_autofree char *log = g_strdup_printf("%s/filter-ubpf-trace-%d.log",
                                           g_get_tmp_dir(), getpid());
    g_autofree char *filters = g_strdup_printf(
        "-D %s -trace filter_ubpf_printk -trace filter_ubpf_verdict "
        "-trace filter_ubpf_unloaded "
        "-object filter-ubpf,id=f0,netdev=n0,queue=tx,"
        "ubpf-handler=" VERDICTS ",section=xdp", log);
    Rig r = rig_start(false, filters);
    Pkt printk = udp_frame(2, 3, false, 1);
    Pkt drop = udp_frame(2, 2, false, 2);
    Pkt cut = udp_frame(2, 7, false, 3);
    Pkt cut_out = cut;
    g_autofree char *text = NULL;

    cut_out.len -= 4;
    send_pkt(r.feed, &printk);
    expect_pkt(r.tap, &printk);
    send_pkt(r.feed, &drop);
    send_pkt(r.feed, &cut);
    expect_pkt(r.tap, &cut_out);
    qtest_qmp_assert_success(r.qts, "{ 'execute': 'object-del', "
                             "'arguments': { 'id': 'f0' } }");
    rig_stop(&r);
    g_assert(g_file_get_contents(log, &text, NULL, NULL));
    unlink(log);
    g_assert_nonnull(strstr(text,
        "filter_ubpf_printk f0: xdp port 3, 46 bytes\n"));
    g_assert_nonnull(strstr(text,
        "filter_ubpf_verdict f0: pass (return value 0x2), 46 bytes\n"));
    g_assert_nonnull(strstr(text,
        "filter_ubpf_verdict f0: drop (return value 0x1), 0 bytes\n"));
    g_assert_nonnull(strstr(text,
        "filter_ubpf_verdict f0: pass (return value 0x2), 42 bytes\n"));
    g_assert_nonnull(strstr(text, "filter_ubpf_unloaded f0: program "));
    g_assert_nonnull(strstr(text,
        "qtest-verdicts.bpf.o section xdp unloaded (filter deleted)\n"));
    /* the printk line comes before its packet's verdict */
    g_assert(strstr(text, "xdp port 3") <
             strstr(text, "pass (return value 0x2), 46 bytes"));
}

/* Send @blocked then @marker: true if @blocked was dropped. */
static bool dropped_before(Rig *r, const Pkt *blocked, const Pkt *marker)
{
    send_pkt(r->feed, blocked);
    send_pkt(r->feed, marker);
    if (recv_is(r->tap, marker, blocked)) {
        return true;
    }
    /* @blocked came through first; the marker follows it */
    expect_pkt(r->tap, marker);
    return false;
}

/*
 * globals: .rodata configuration set by the host before load, as libbpf's
 * skeletons do; changing it prepares the loaded object again with the new
 * values (the other maps kept), and bad values are refused by name while
 * the old program keeps filtering.
 */
static void test_globals(void)
{
    Rig r = rig_start(false,
                      "-object filter-ubpf,id=f0,netdev=n0,queue=tx,"
                      "ubpf-handler=" GLOBALS ",globals=blocked_port=0700");
    Pkt p7 = udp_frame(2, 7, false, 1);
    Pkt p8 = udp_frame(2, 8, false, 2);
    Pkt p9 = udp_frame(2, 9, false, 3);
    g_autofree char *val = qom_get_str(r.qts, "f0", "globals");
    char *err;

    g_assert_cmpstr(val, ==, "blocked_port=0700");
    g_assert_true(dropped_before(&r, &p7, &p8));
    g_assert_false(dropped_before(&r, &p8, &p9));
    g_assert_false(dropped_before(&r, &p8, &p9));

    qom_set_str(&r, "f0", "globals", "blocked_port=0800");
    g_assert_true(dropped_before(&r, &p8, &p7));
    g_assert_false(dropped_before(&r, &p7, &p9));

    err = qom_set_fails(&r, "f0", "globals", "nosuch=01");
    g_assert_nonnull(strstr(err, "no global variable \"nosuch\""));
    g_free(err);
    err = qom_set_fails(&r, "f0", "globals", "blocked_port=010203");
    g_assert_nonnull(strstr(err, "global \"blocked_port\" is 2 bytes, not 3"));
    g_free(err);
    err = qom_set_fails(&r, "f0", "globals", "blocked_port");
    g_assert_nonnull(strstr(err, "globals: \"blocked_port\" has no '='"));
    g_free(err);
    err = qom_set_fails(&r, "f0", "globals", "blocked_port=zz00");
    g_assert_nonnull(strstr(err, "not hexadecimal"));
    g_free(err);
    /* a multi-byte character where a hex digit should be */
    err = qom_set_fails(&r, "f0", "globals", "blocked_port=0\xc3\xa9" "0");
    g_assert_nonnull(strstr(err, "not hexadecimal"));
    g_free(err);
    /* the refusals changed nothing */
    g_free(val);
    val = qom_get_str(r.qts, "f0", "globals");
    g_assert_cmpstr(val, ==, "blocked_port=0800");
    g_assert_true(dropped_before(&r, &p8, &p7));

    qtest_qmp_assert_success(r.qts,
        "{ 'execute': 'x-filter-ubpf-load', 'arguments': "
        "{ 'id': 'f0', 'globals': 'blocked_port=0900' } }");
    g_assert_true(dropped_before(&r, &p9, &p8));
    g_assert_false(dropped_before(&r, &p8, &p7));
    /* .bss (kept across the reloads) counted all 16 frames sent */
    g_assert_cmpuint(counter(&r, "f0", "packets"), ==, 16);
    {
        QDict *rsp = qtest_qmp(r.qts,
            "{ 'execute': 'x-filter-ubpf-lookup-map', 'arguments': "
            "{ 'id': 'f0', 'map': '.bss', 'key': '00000000' } }");
        QDict *ret = qdict_get_qdict(rsp, "return");

        g_assert_nonnull(ret);
        g_assert_cmpstr(qdict_get_str(ret, "value"), ==, "1000000000000000");
        qobject_unref(rsp);
    }
    rig_stop(&r);
}

/* tc: TC_ACT_SHOT drops, TC_ACT_OK passes, with a mark and cb write */
static void test_tc_verdicts(void)
{
    Rig r = rig_start(false,
                      "-object filter-ubpf,id=f0,netdev=n0,queue=tx,"
                      "ubpf-handler=" VERDICTS ",section=tc");
    Pkt shot = udp_frame(2, 2, false, 1);
    Pkt ok = udp_frame(2, 3, false, 2);
    Pkt ok_out = ok;
    g_autofree char *conv = qom_get_str(r.qts, "f0", "convention");

    g_assert_cmpstr(conv, ==, "tc");
    /* the program wrote mark + cb[0] (0x40 + 0x03) into the last byte */
    ok_out.data[ok_out.len - 1] = 0x43;
    send_pkt(r.feed, &shot);
    send_pkt(r.feed, &ok);
    expect_pkt(r.tap, &ok_out);
    g_assert_cmpuint(counter(&r, "f0", "dropped"), ==, 1);
    g_assert_cmpuint(counter(&r, "f0", "passed"), ==, 1);
    rig_stop(&r);
}

/* a socket filter: 0 drops, n keeps the first n bytes */
static void test_socket_truncate(void)
{
    Rig r = rig_start(false,
                      "-object filter-ubpf,id=f0,netdev=n0,queue=tx,"
                      "ubpf-handler=" VERDICTS ",section=socket");
    Pkt drop = udp_frame(2, 2, false, 1);
    Pkt keep = udp_frame(2, 3, false, 2);
    Pkt keep_out = keep;

    keep_out.len = 14 + 20 + 8;
    send_pkt(r.feed, &drop);
    send_pkt(r.feed, &keep);
    expect_pkt(r.tap, &keep_out);
    g_assert_cmpuint(counter(&r, "f0", "dropped"), ==, 1);
    g_assert_cmpuint(counter(&r, "f0", "truncated"), ==, 1);
    rig_stop(&r);
}

/*
 * prog-type forces the type: the tc section's program loaded as xdp is
 * refused (it reads __sk_buff fields xdp_md does not have); as tc it
 * loads again.
 */
static void test_prog_type_forced(void)
{
    Rig r = rig_start(false,
                      "-object filter-ubpf,id=f0,netdev=n0,queue=tx,"
                      "ubpf-handler=" VERDICTS ",section=tc");
    char *desc = qom_set_fails(&r, "f0", "prog-type", "xdp");
    g_autofree char *type = qom_get_str(r.qts, "f0", "prog-type");

    g_assert(strstr(desc, "xdp"));
    g_free(desc);
    g_assert_cmpstr(type, ==, "auto");
    qom_set_str(&r, "f0", "prog-type", "tc");
    g_free(type);
    type = qom_get_str(r.qts, "f0", "prog-type");
    g_assert_cmpstr(type, ==, "tc");
    rig_stop(&r);
}

/*
 * Two filters loading an object that pins "seen" by name share it; the
 * map outlives both filters.
 */
static void test_pinned_shared(void)
{
    Rig r = rig_start(false,
                      "-object filter-ubpf,id=f0,netdev=n0,queue=tx,"
                      "ubpf-handler=" VERDICTS ",section=xdp "
                      "-object filter-ubpf,id=f1,netdev=n0,queue=tx,"
                      "ubpf-handler=" VERDICTS ",section=xdp");
    Pkt p = udp_frame(2, 3, false, 1);
    g_autofree char *v0 = NULL;
    g_autofree char *v1 = NULL;
    g_autofree char *v2 = NULL;
    QDict *rsp;

    send_pkt(r.feed, &p);
    expect_pkt(r.tap, &p);
    v0 = map_value(&r, "f0", "seen", "00000000");
    v1 = map_value(&r, "f1", "seen", "00000000");
    g_assert_cmpstr(v0, ==, "0200000000000000");
    g_assert_cmpstr(v1, ==, "0200000000000000");

    /* both filters gone, a new one finds the count */
    qtest_qmp_assert_success(r.qts, "{ 'execute': 'object-del', "
                             "'arguments': { 'id': 'f0' } }");
    qtest_qmp_assert_success(r.qts, "{ 'execute': 'object-del', "
                             "'arguments': { 'id': 'f1' } }");
    qtest_qmp_assert_success(r.qts, "{ 'execute': 'object-add', "
                             "'arguments': { 'qom-type': 'filter-ubpf', "
                             "'id': 'f2', 'netdev': 'n0', 'queue': 'tx', "
                             "'ubpf-handler': %s, 'section': 'xdp' } }",
                             VERDICTS);
    v2 = map_value(&r, "f2", "seen", "00000000");
    g_assert_cmpstr(v2, ==, "0200000000000000");

    /* listed; unpinned, the next program pinning the name starts afresh */
    rsp = qtest_qmp(r.qts, "{ 'execute': 'x-query-filter-ubpf-pins' }");
    g_assert_cmpstr(qdict_get_str(qobject_to(QDict, qlist_peek(
                        qdict_get_qlist(rsp, "return"))), "name"), ==, "seen");
    qobject_unref(rsp);
    qtest_qmp_assert_success(r.qts, "{ 'execute': 'x-filter-ubpf-unpin', "
                             "'arguments': { 'name': 'seen' } }");
    rsp = qtest_qmp(r.qts, "{ 'execute': 'x-filter-ubpf-unpin', "
                    "'arguments': { 'name': 'seen' } }");
    g_assert(qdict_haskey(rsp, "error"));
    qobject_unref(rsp);
    qom_set_str(&r, "f2", "ubpf-handler", VERDICTS);
    g_free(v2);
    v2 = map_value(&r, "f2", "seen", "00000000");
    g_assert_cmpstr(v2, ==, "0000000000000000");
    rig_stop(&r);
}

/* A ring buffer record reaches QMP as a FILTER_UBPF_RECORD event */
static void test_ringbuf_event(void)
{
    Rig r = rig_start(false,
                      "-object filter-ubpf,id=f0,netdev=n0,queue=tx,"
                      "ubpf-handler=" VERDICTS ",section=xdp");
    Pkt p = udp_frame(2, 9, false, 0x42);
    QDict *ev, *data;

    send_pkt(r.feed, &p);
    expect_pkt(r.tap, &p);
    ev = qtest_qmp_eventwait_ref(r.qts, "FILTER_UBPF_RECORD");
    data = qdict_get_qdict(ev, "data");
    g_assert_cmpstr(qdict_get_str(data, "id"), ==, "f0");
    g_assert_cmpstr(qdict_get_str(data, "map"), ==, "events");
    g_assert_cmpstr(qdict_get_str(data, "data"), ==, "75627042");
    qobject_unref(ev);
    rig_stop(&r);
}

/* The number of entries of map @map of filter @id (x-filter-ubpf-dump-map) */
static size_t map_size(Rig *r, const char *id, const char *map)
{
    QDict *rsp = qtest_qmp(r->qts, "{ 'execute': 'x-filter-ubpf-dump-map', "
                           "'arguments': { 'id': %s, 'map': %s } }", id, map);
    QList *entries = qdict_get_qlist(qdict_get_qdict(rsp, "return"),
                                     "entries");
    size_t n;

    g_assert(entries);
    n = qlist_size(entries);
    qobject_unref(rsp);
    return n;
}

static void update_map(Rig *r, const char *map, const char *key,
                       const char *value)
{
    qtest_qmp_assert_success(r->qts, "{ 'execute': "
                             "'x-filter-ubpf-update-map', 'arguments': "
                             "{ 'id': 'f0', 'map': %s, 'key': %s, "
                             "'value': %s } }", map, key, value);
}

/* @map's value of @key is @want (NULL: no such key) */
static void assert_value(Rig *r, const char *map, const char *key,
                         const char *want)
{
    g_autofree char *v = map_value(r, "f0", map, key);

    g_assert_cmpstr(v, ==, want);
}

/*
 * A per-CPU hash counts packets per UDP port (the engine has one CPU: its
 * values are the counts); the host reads, sets and deletes counts.
 */
static void test_map_percpu_hash(void)
{
    Rig r = rig_start(false,
                      "-object filter-ubpf,id=f0,netdev=n0,queue=tx,"
                      "ubpf-handler=" MAPS3 ",section=xdp/count_ports");
    Pkt dns = udp_frame(2, 53, false, 1);
    Pkt web = udp_frame(2, 80, false, 2);
    Pkt arp = arp_frame(3);
    g_autofree char *hmp = NULL;
    int i;

    for (i = 0; i < 3; i++) {
        send_pkt(r.feed, &dns);
        expect_pkt(r.tap, &dns);
    }
    send_pkt(r.feed, &web);
    expect_pkt(r.tap, &web);
    send_pkt(r.feed, &arp);             /* not UDP: not counted */
    expect_pkt(r.tap, &arp);
    assert_value(&r, "port_count", "35000000", "0300000000000000");
    assert_value(&r, "port_count", "50000000", "0100000000000000");
    g_assert_cmpuint(map_size(&r, "f0", "port_count"), ==, 2);
    hmp = qtest_hmp(r.qts, "info ubpf-maps f0");
    g_assert(strstr(hmp, "map \"port_count\": percpu-hash, key 4 bytes, "
                    "value 8 bytes, 2/16 entries"));

    /* the host sets one count and deletes the other: the program goes on */
    update_map(&r, "port_count", "35000000", "0a00000000000000");
    qtest_qmp_assert_success(r.qts, "{ 'execute': "
                             "'x-filter-ubpf-delete-map-entry', 'arguments':"
                             " { 'id': 'f0', 'map': 'port_count',"
                             " 'key': '50000000' } }");
    send_pkt(r.feed, &dns);
    expect_pkt(r.tap, &dns);
    send_pkt(r.feed, &web);
    expect_pkt(r.tap, &web);
    assert_value(&r, "port_count", "35000000", "0b00000000000000");
    assert_value(&r, "port_count", "50000000", "0100000000000000");
    g_assert_cmpuint(counter(&r, "f0", "passed"), ==, 7);
    rig_stop(&r);
}

/*
 * LRU hashes of 4 entries (plain and per-CPU) count packets per
 * destination: when full, a new destination evicts the least recently
 * used one, whether the program or the host adds it.
 */
static void test_map_lru_hash(void)
{
    Rig r = rig_start(false,
                      "-object filter-ubpf,id=f0,netdev=n0,queue=tx,"
                      "ubpf-handler=" MAPS3 ",section=xdp/lru_flows");
    static const char *const maps[] = { "flows", "flows_pc" };
    g_autofree char *hmp = NULL;
    uint8_t dst;
    size_t i;

    /* 10.0.0.1 to .4, then .1 again: .2 is the least recently used */
    for (dst = 1; dst <= 5; dst++) {
        Pkt p = udp_frame(dst == 5 ? 1 : dst, 53, false, dst);

        send_pkt(r.feed, &p);
        expect_pkt(r.tap, &p);
    }
    for (i = 0; i < G_N_ELEMENTS(maps); i++) {
        assert_value(&r, maps[i], "01000000", "0200000000000000");
        assert_value(&r, maps[i], "02000000", "0100000000000000");
        g_assert_cmpuint(map_size(&r, "f0", maps[i]), ==, 4);
    }

    /* full: 10.0.0.5 takes the place of .2 */
    {
        Pkt p = udp_frame(5, 53, false, 6);

        send_pkt(r.feed, &p);
        expect_pkt(r.tap, &p);
    }
    for (i = 0; i < G_N_ELEMENTS(maps); i++) {
        assert_value(&r, maps[i], "02000000", NULL);
        assert_value(&r, maps[i], "05000000", "0100000000000000");
        assert_value(&r, maps[i], "01000000", "0200000000000000");
        assert_value(&r, maps[i], "03000000", "0100000000000000");
        assert_value(&r, maps[i], "04000000", "0100000000000000");
        g_assert_cmpuint(map_size(&r, "f0", maps[i]), ==, 4);
    }
    hmp = qtest_hmp(r.qts, "info ubpf-maps f0");
    g_assert(strstr(hmp, "map \"flows\": lru-hash, key 4 bytes, "
                    "value 8 bytes, 4/4 entries"));
    g_assert(strstr(hmp, "map \"flows_pc\": lru-percpu-hash, key 4 bytes, "
                    "value 8 bytes, 4/4 entries"));

    /* the host adds a key to the full map: .3 is now the oldest */
    for (i = 0; i < G_N_ELEMENTS(maps); i++) {
        update_map(&r, maps[i], "09000000", "0900000000000000");
        assert_value(&r, maps[i], "03000000", NULL);
        assert_value(&r, maps[i], "09000000", "0900000000000000");
        g_assert_cmpuint(map_size(&r, "f0", maps[i]), ==, 4);
    }
    rig_stop(&r);
}

/*
 * A per-CPU array counts frames per EtherType (the engine has one CPU:
 * its values are the counts); a limit the host writes to slot 3 makes
 * the program drop what goes beyond it.
 */
static void test_map_percpu_array(void)
{
    Rig r = rig_start(false,
                      "-object filter-ubpf,id=f0,netdev=n0,queue=tx,"
                      "ubpf-handler=" MAPS3 ",section=xdp/count_types");
    Pkt ip = udp_frame(2, 53, false, 1);
    Pkt arp = arp_frame(2);
    Pkt v6 = eth_frame(0x86dd, 0, 3);
    Pkt over = udp_frame(2, 53, false, 4);
    g_autofree char *hmp = NULL;
    int i;

    /* every slot exists from the start, zeroed */
    g_assert_cmpuint(map_size(&r, "f0", "type_count"), ==, 4);
    assert_value(&r, "type_count", "03000000", "0000000000000000");
    for (i = 0; i < 2; i++) {
        send_pkt(r.feed, &ip);
        expect_pkt(r.tap, &ip);
    }
    send_pkt(r.feed, &arp);
    expect_pkt(r.tap, &arp);
    send_pkt(r.feed, &v6);
    expect_pkt(r.tap, &v6);
    assert_value(&r, "type_count", "00000000", "0200000000000000");
    assert_value(&r, "type_count", "01000000", "0100000000000000");
    assert_value(&r, "type_count", "02000000", "0100000000000000");
    assert_value(&r, "type_count", "03000000", "0000000000000000");
    hmp = qtest_hmp(r.qts, "info ubpf-maps f0");
    g_assert(strstr(hmp, "map \"type_count\": percpu-array, key 4 bytes, "
                    "value 8 bytes, 4/4 entries"));

    /* a limit of 3 per type: the third IPv4 frame passes, the fourth not */
    update_map(&r, "type_count", "03000000", "0300000000000000");
    send_pkt(r.feed, &ip);
    expect_pkt(r.tap, &ip);
    send_pkt(r.feed, &over);
    wait_counter(&r, "f0", "dropped", 1);
    send_pkt(r.feed, &arp);
    expect_pkt(r.tap, &arp);
    assert_value(&r, "type_count", "00000000", "0400000000000000");
    assert_value(&r, "type_count", "01000000", "0200000000000000");

    /* the host resets the IPv4 count: its frames pass again */
    update_map(&r, "type_count", "00000000", "0000000000000000");
    send_pkt(r.feed, &over);
    expect_pkt(r.tap, &over);
    assert_value(&r, "type_count", "00000000", "0100000000000000");
    g_assert_cmpuint(counter(&r, "f0", "passed"), ==, 7);
    g_assert_cmpuint(counter(&r, "f0", "errors"), ==, 0);

    /* array elements cannot be deleted */
    {
        QDict *rsp = qtest_qmp(r.qts, "{ 'execute': "
                               "'x-filter-ubpf-delete-map-entry', "
                               "'arguments': { 'id': 'f0', "
                               "'map': 'type_count', 'key': '00000000' } }");

        g_assert(qdict_haskey(rsp, "error"));
        qobject_unref(rsp);
    }
    rig_stop(&r);
}

static void delete_entry(Rig *r, const char *map, const char *key)
{
    qtest_qmp_assert_success(r->qts, "{ 'execute': "
                             "'x-filter-ubpf-delete-map-entry', "
                             "'arguments': { 'id': 'f0', 'map': %s, "
                             "'key': %s } }", map, key);
}

/*
 * XDP_REDIRECT through a devmap hash keyed by UDP destination port, filled
 * over QMP with ifindex 2 (f1's netdev n1); a port the map does not have
 * gets bpf_redirect_map's fallback action, XDP_PASS.
 */
static void test_map_devmap_hash(void)
{
    int n1;
    Rig r = rig_two("ubpf-handler=" MAPS3 ",section=xdp/port_redirect", &n1);
    Pkt dns = udp_frame(2, 53, false, 1);
    Pkt high = udp_frame(2, 5000, false, 2);
    Pkt other = udp_frame(2, 80, false, 3);
    g_autofree char *hmp = NULL;

    /* empty: the fallback */
    g_assert_cmpuint(map_size(&r, "f0", "port_dev"), ==, 0);
    send_pkt(r.feed, &dns);
    expect_pkt(r.tap, &dns);
    g_assert_cmpuint(counter(&r, "f0", "passed"), ==, 1);

    /* hash keys are not indexes: port 5000 is as good as port 53 */
    update_map(&r, "port_dev", "35000000", "02000000");
    update_map(&r, "port_dev", "88130000", "02000000");
    g_assert_cmpuint(map_size(&r, "f0", "port_dev"), ==, 2);
    assert_value(&r, "port_dev", "88130000", "02000000");
    hmp = qtest_hmp(r.qts, "info ubpf-maps f0");
    g_assert(strstr(hmp, "map \"port_dev\": devmap-hash, key 4 bytes, "
                    "value 4 bytes, 2/4 entries"));
    send_pkt(r.feed, &dns);
    expect_pkt(n1, &dns);
    send_pkt(r.feed, &high);
    expect_pkt(n1, &high);
    send_pkt(r.feed, &other);
    expect_pkt(r.tap, &other);
    g_assert_cmpuint(counter(&r, "f0", "redirected"), ==, 2);
    g_assert_cmpuint(counter(&r, "f0", "passed"), ==, 2);

    /* a deleted key falls back again */
    delete_entry(&r, "port_dev", "35000000");
    send_pkt(r.feed, &dns);
    expect_pkt(r.tap, &dns);
    send_pkt(r.feed, &high);
    expect_pkt(n1, &high);
    g_assert_cmpuint(counter(&r, "f0", "redirected"), ==, 3);
    g_assert_cmpuint(counter(&r, "f0", "passed"), ==, 3);
    g_assert_cmpuint(counter(&r, "f0", "errors"), ==, 0);
    close(n1);
    rig_stop(&r);
}

/*
 * bpf_tail_call through a program array initialised in the object: the
 * low byte of the UDP destination port picks tail_drop (0) or tail_pass
 * (1); an empty slot falls through to the caller's XDP_TX.  The host
 * moves programs between slots and deletes them over QMP (values are
 * program indexes in the object).
 */
static void test_map_prog_array(void)
{
    Rig r = rig_start(false,
                      "-object filter-ubpf,id=f0,netdev=n0,queue=tx,"
                      "ubpf-handler=" MAPS3 ",section=xdp/tail_dispatch");
    Pkt to_drop = udp_frame(2, 0, false, 1);
    Pkt to_pass = udp_frame(2, 1, false, 2);
    Pkt to_none = udp_frame(2, 2, false, 3);
    Pkt high = udp_frame(2, 0x101, false, 4);  /* low byte 1 */
    g_autofree char *drop_prog = NULL;
    g_autofree char *pass_prog = NULL;

    set_timeout(r.feed);
    drop_prog = map_value(&r, "f0", "jumps", "00000000");
    pass_prog = map_value(&r, "f0", "jumps", "01000000");
    g_assert(drop_prog && pass_prog);
    g_assert_cmpstr(drop_prog, !=, pass_prog);
    g_assert_cmpuint(map_size(&r, "f0", "jumps"), ==, 2);

    send_pkt(r.feed, &to_drop);
    send_pkt(r.feed, &to_pass);
    expect_pkt(r.tap, &to_pass);
    send_pkt(r.feed, &high);
    expect_pkt(r.tap, &high);
    send_pkt(r.feed, &to_none);
    expect_pkt(r.feed, &to_none);
    g_assert_cmpuint(counter(&r, "f0", "dropped"), ==, 1);
    g_assert_cmpuint(counter(&r, "f0", "passed"), ==, 2);
    g_assert_cmpuint(counter(&r, "f0", "tx"), ==, 1);

    /* slot 2 gets tail_drop, slot 0 tail_pass, slot 1 is emptied */
    update_map(&r, "jumps", "02000000", drop_prog);
    update_map(&r, "jumps", "00000000", pass_prog);
    delete_entry(&r, "jumps", "01000000");
    assert_value(&r, "jumps", "01000000", NULL);
    send_pkt(r.feed, &to_none);
    send_pkt(r.feed, &to_drop);
    expect_pkt(r.tap, &to_drop);
    g_assert_cmpuint(counter(&r, "f0", "dropped"), ==, 2);
    send_pkt(r.feed, &to_pass);
    expect_pkt(r.feed, &to_pass);
    g_assert_cmpuint(counter(&r, "f0", "tx"), ==, 2);
    g_assert_cmpuint(counter(&r, "f0", "passed"), ==, 3);
    g_assert_cmpuint(counter(&r, "f0", "errors"), ==, 0);
    rig_stop(&r);
}

/* LPM trie keys: prefix length (little-endian u32), IPv4 address */
#define NET_24 "18000000" "0a000000"    /* 10.0.0.0/24 */
#define HOST_7 "20000000" "0a000007"    /* 10.0.0.7/32 */
#define NET_30 "1e000000" "0a000008"    /* 10.0.0.8/30 */

/*
 * A subnet blocklist in an LPM trie, filled over QMP: the longest prefix
 * matching the destination decides (1 drops, 0 passes); host lookups
 * match the longest prefix too, as BPF_MAP_LOOKUP_ELEM does.
 */
static void test_map_lpm_trie(void)
{
    Rig r = rig_start(false,
                      "-object filter-ubpf,id=f0,netdev=n0,queue=tx,"
                      "ubpf-handler=" MAPS3 ",section=xdp/subnet_block");
    Pkt p5 = udp_frame(5, 53, false, 1);
    Pkt p7 = udp_frame(7, 53, false, 2);
    Pkt p9 = udp_frame(9, 53, false, 3);
    Pkt p12 = udp_frame(12, 53, false, 4);

    send_pkt(r.feed, &p5);              /* empty trie: no match, passes */
    expect_pkt(r.tap, &p5);

    update_map(&r, "subnets", NET_24, "01000000");
    update_map(&r, "subnets", HOST_7, "00000000");
    update_map(&r, "subnets", NET_30, "00000000");
    send_pkt(r.feed, &p5);              /* /24: dropped */
    send_pkt(r.feed, &p12);             /* /24 (the /30 is .8 to .11) */
    send_pkt(r.feed, &p9);              /* /30: passes */
    expect_pkt(r.tap, &p9);
    send_pkt(r.feed, &p7);              /* /32: passes */
    expect_pkt(r.tap, &p7);
    g_assert_cmpuint(counter(&r, "f0", "dropped"), ==, 2);
    g_assert_cmpuint(counter(&r, "f0", "passed"), ==, 3);
    g_assert_cmpuint(map_size(&r, "f0", "subnets"), ==, 3);

    /* the host's lookups take the longest prefix */
    {
        QDict *rsp = qtest_qmp(r.qts, "{ 'execute': "
                               "'x-filter-ubpf-lookup-map', 'arguments': "
                               "{ 'id': 'f0', 'map': 'subnets', "
                               "'key': '200000000a00000a' } }");

        g_assert_cmpstr(qdict_get_str(qdict_get_qdict(rsp, "return"),
                                      "value"), ==, "00000000");
        qobject_unref(rsp);
        rsp = qtest_qmp(r.qts, "{ 'execute': "
                        "'x-filter-ubpf-lookup-map', 'arguments': "
                        "{ 'id': 'f0', 'map': 'subnets', "
                        "'key': '200000000a0000fe' } }");
        g_assert_cmpstr(qdict_get_str(qdict_get_qdict(rsp, "return"),
                                      "value"), ==, "01000000");
        qobject_unref(rsp);
    }

    /* the /24 unblocked: .5 passes, the /30 and /32 stay */
    qtest_qmp_assert_success(r.qts, "{ 'execute': "
                             "'x-filter-ubpf-delete-map-entry', 'arguments':"
                             " { 'id': 'f0', 'map': 'subnets',"
                             " 'key': %s } }", NET_24);
    send_pkt(r.feed, &p5);
    expect_pkt(r.tap, &p5);
    g_assert_cmpuint(map_size(&r, "f0", "subnets"), ==, 2);
    g_assert_cmpuint(counter(&r, "f0", "dropped"), ==, 2);
    rig_stop(&r);
}

/*
 * A perf event array record reaches QMP as a FILTER_UBPF_RECORD event,
 * once the host has set the CPU's entry (as libbpf's perf buffer does);
 * before, bpf_perf_event_output returns -ENOENT.
 */
static void test_perf_event(void)
{
    Rig r = rig_start(false,
                      "-object filter-ubpf,id=f0,netdev=n0,queue=tx,"
                      "ubpf-handler=" MAPS3 ",section=xdp/perf_payload");
    Pkt a = udp_frame(2, 9, false, 0x41);
    Pkt b = udp_frame(2, 9, false, 0x42);
    QDict *ev, *data;

    send_pkt(r.feed, &a);
    expect_pkt(r.tap, &a);
    assert_value(&r, "perf_ret", "00000000", "feffffffffffffff");

    update_map(&r, "perf", "00000000", "00000000");
    send_pkt(r.feed, &b);
    expect_pkt(r.tap, &b);
    ev = qtest_qmp_eventwait_ref(r.qts, "FILTER_UBPF_RECORD");
    data = qdict_get_qdict(ev, "data");
    g_assert_cmpstr(qdict_get_str(data, "id"), ==, "f0");
    g_assert_cmpstr(qdict_get_str(data, "map"), ==, "perf");
    /* the payload's 4 bytes, then the frame's first 6 (BPF_F_CTXLEN) */
    g_assert_cmpstr(qdict_get_str(data, "data"), ==, "75627042525400123456");
    qobject_unref(ev);
    assert_value(&r, "perf_ret", "00000000", "0000000000000000");
    rig_stop(&r);
}

/* The error of @rsp (which it frees), for asserting on its content */
static char *error_desc(QDict *rsp)
{
    QDict *err = qdict_get_qdict(rsp, "error");
    char *desc;

    g_assert(err);
    desc = g_strdup(qdict_get_str(err, "desc"));
    qobject_unref(rsp);
    return desc;
}

/* The error of @cmd on the object @id, with arguments that suit @cmd */
static char *bad_id_desc(QTestState *qts, const char *cmd, const char *id)
{
    if (g_str_equal(cmd, "x-filter-ubpf-list-maps")) {
        return error_desc(qtest_qmp(qts, "{ 'execute': %s, 'arguments': "
                                    "{ 'id': %s } }", cmd, id));
    }
    if (g_str_equal(cmd, "x-filter-ubpf-load")) {
        return error_desc(qtest_qmp(qts, "{ 'execute': %s, 'arguments': "
                                    "{ 'id': %s, 'jit': false } }", cmd, id));
    }
    if (g_str_equal(cmd, "x-filter-ubpf-dump-map") ||
        g_str_equal(cmd, "x-filter-ubpf-map-get-next")) {
        return error_desc(qtest_qmp(qts, "{ 'execute': %s, 'arguments': "
                                    "{ 'id': %s, 'map': 'flows' } }",
                                    cmd, id));
    }
    if (g_str_equal(cmd, "x-filter-ubpf-update-map")) {
        return error_desc(qtest_qmp(qts, "{ 'execute': %s, 'arguments': "
                                    "{ 'id': %s, 'map': 'flows', 'key': "
                                    "'00', 'value': '00' } }", cmd, id));
    }
    return error_desc(qtest_qmp(qts, "{ 'execute': %s, 'arguments': "
                                "{ 'id': %s, 'map': 'flows', 'key': '00' } }",
                                cmd, id));
}

/* flows key: addr 10.0.0.1 (LE u32), port 53, proto 17, ifname "eth0" */
#define FLOW_KEY "0a000001" "3500" "11" "6574683000000000" "00"
/*
 * struct stats: packets 10, delta -3, color GREEN (5), hist {1, 2, 3},
 * seen, tag 'A', flags 5 and level 17 (bitfields), raw 0x01020304
 */
#define STATS "0a00000000000000" "fdffffff" "05000000" "010002000300" \
              "01" "41" "8d000000" "04030201"

/*
 * Map keys and values typed by the object's BTF (struct, array, enum,
 * string, bitfield, global data), as bpftool shows them, beside the hex;
 * lookup and get-next; ids or QOM paths, and the errors for an id that
 * names nothing and for one that names another kind of object.
 */
static void test_map_typed(void)
{
    QTestState *qts = qtest_init("-nic user,id=n0 "
                                 "-object filter-ubpf,id=f0,netdev=n0,"
                                 "ubpf-handler=" BTF_TYPES " "
                                 "-object filter-buffer,id=fb,netdev=n0,"
                                 "interval=1000000");
    static const char *const cmds[] = {
        "x-filter-ubpf-list-maps", "x-filter-ubpf-dump-map",
        "x-filter-ubpf-lookup-map", "x-filter-ubpf-map-get-next",
        "x-filter-ubpf-update-map", "x-filter-ubpf-delete-map-entry",
        "x-filter-ubpf-load",
    };
    g_autofree char *hmp = NULL;
    QDict *rsp, *ret, *fkey, *fval;
    QList *list;
    char *desc;
    size_t i;

    qtest_qmp_assert_success(qts, "{ 'execute': 'x-filter-ubpf-update-map',"
                             " 'arguments': { 'id': 'f0', 'map': 'flows',"
                             " 'key': %s, 'value': %s } }", FLOW_KEY, STATS);

    /* dump: the hex, and the typed forms */
    rsp = qtest_qmp(qts, "{ 'execute': 'x-filter-ubpf-dump-map', "
                    "'arguments': { 'id': 'f0', 'map': 'flows' } }");
    list = qdict_get_qlist(qdict_get_qdict(rsp, "return"), "entries");
    g_assert_cmpint(qlist_size(list), ==, 1);
    ret = qobject_to(QDict, qlist_peek(list));
    g_assert_cmpstr(qdict_get_str(ret, "key"), ==, FLOW_KEY);
    g_assert_cmpstr(qdict_get_str(ret, "value"), ==, STATS);
    fkey = qdict_get_qdict(ret, "formatted-key");
    g_assert_cmpint(qdict_get_int(fkey, "addr"), ==, 0x0100000a);
    g_assert_cmpint(qdict_get_int(fkey, "port"), ==, 53);
    g_assert_cmpint(qdict_get_int(fkey, "proto"), ==, 17);
    g_assert_cmpstr(qdict_get_str(fkey, "ifname"), ==, "eth0");
    fval = qdict_get_qdict(ret, "formatted-value");
    g_assert_cmpint(qdict_get_int(fval, "packets"), ==, 10);
    g_assert_cmpint(qdict_get_int(fval, "delta"), ==, -3);
    g_assert_cmpstr(qdict_get_str(fval, "color"), ==, "GREEN");
    list = qdict_get_qlist(fval, "hist");
    g_assert_cmpint(qlist_size(list), ==, 3);
    g_assert(qdict_get_bool(fval, "seen"));
    g_assert_cmpstr(qdict_get_str(fval, "flags"), ==, "0x5");
    g_assert_cmpstr(qdict_get_str(fval, "level"), ==, "0x11");
    g_assert_cmpint(qdict_get_int(fval, "raw"), ==, 0x01020304);
    qobject_unref(rsp);

    /* lookup of one key, by id or by QOM path */
    rsp = qtest_qmp(qts, "{ 'execute': 'x-filter-ubpf-lookup-map', "
                    "'arguments': { 'id': '/objects/f0', 'map': 'flows', "
                    "'key': %s } }", FLOW_KEY);
    ret = qdict_get_qdict(rsp, "return");
    g_assert(ret);
    g_assert_cmpstr(qdict_get_str(ret, "value"), ==, STATS);
    fval = qdict_get_qdict(ret, "formatted-value");
    g_assert_cmpstr(qdict_get_str(fval, "color"), ==, "GREEN");
    qobject_unref(rsp);
    desc = error_desc(qtest_qmp(qts, "{ 'execute': "
                                "'x-filter-ubpf-lookup-map', 'arguments': "
                                "{ 'id': 'f0', 'map': 'flows', 'key': "
                                "'0a0000023500116574683000000000000000' } }"));
    g_assert_cmpstr(desc, ==, "filter-ubpf 'f0': map \"flows\": key is 18 "
                    "bytes, the map's keys are 16 bytes");
    g_free(desc);
    desc = error_desc(qtest_qmp(qts, "{ 'execute': "
                                "'x-filter-ubpf-lookup-map', 'arguments': "
                                "{ 'id': 'f0', 'map': 'flows', 'key': "
                                "'0a000002350011657468300000000000' } }"));
    g_assert_cmpstr(desc, ==, "filter-ubpf 'f0': map \"flows\": key "
                    "0a000002350011657468300000000000 not found");
    g_free(desc);

    /* a per-CPU array of __u32[4]: the one CPU's value */
    qtest_qmp_assert_success(qts, "{ 'execute': 'x-filter-ubpf-update-map',"
                             " 'arguments': { 'id': 'f0', 'map': 'quads',"
                             " 'key': '02000000', 'value': "
                             "'01000000020000000300000004000000' } }");
    rsp = qtest_qmp(qts, "{ 'execute': 'x-filter-ubpf-lookup-map', "
                    "'arguments': { 'id': 'f0', 'map': 'quads', "
                    "'key': '02000000' } }");
    ret = qdict_get_qdict(rsp, "return");
    g_assert_cmpint(qdict_get_int(ret, "formatted-key"), ==, 2);
    list = qobject_to(QList, qdict_get(ret, "formatted-value"));
    g_assert_cmpint(qlist_size(list), ==, 4);
    g_assert_cmpint(qnum_get_int(qobject_to(QNum, qlist_peek(list))), ==, 1);
    qobject_unref(rsp);

    /* get-next: the first key, the next one, none after the last */
    rsp = qtest_qmp(qts, "{ 'execute': 'x-filter-ubpf-map-get-next', "
                    "'arguments': { 'id': 'f0', 'map': 'quads' } }");
    ret = qdict_get_qdict(rsp, "return");
    g_assert_cmpstr(qdict_get_str(ret, "key"), ==, "00000000");
    g_assert_cmpint(qdict_get_int(ret, "formatted-key"), ==, 0);
    qobject_unref(rsp);
    rsp = qtest_qmp(qts, "{ 'execute': 'x-filter-ubpf-map-get-next', "
                    "'arguments': { 'id': 'f0', 'map': 'quads', "
                    "'key': '02000000' } }");
    g_assert_cmpstr(qdict_get_str(qdict_get_qdict(rsp, "return"), "key"), ==,
                    "03000000");
    qobject_unref(rsp);
    rsp = qtest_qmp(qts, "{ 'execute': 'x-filter-ubpf-map-get-next', "
                    "'arguments': { 'id': 'f0', 'map': 'quads', "
                    "'key': '03000000' } }");
    ret = qdict_get_qdict(rsp, "return");
    g_assert(ret);
    g_assert(!qdict_haskey(ret, "key"));
    g_assert(!qdict_haskey(ret, "formatted-key"));
    qobject_unref(rsp);
    desc = error_desc(qtest_qmp(qts, "{ 'execute': "
                                "'x-filter-ubpf-map-get-next', 'arguments': "
                                "{ 'id': 'f0', 'map': 'quads', "
                                "'key': '02' } }"));
    g_assert_cmpstr(desc, ==, "filter-ubpf 'f0': map \"quads\": key is 1 "
                    "byte, the map's keys are 4 bytes");
    g_free(desc);

    /* no types: hex only; global data: a typed value, no typed key */
    rsp = qtest_qmp(qts, "{ 'execute': 'x-filter-ubpf-lookup-map', "
                    "'arguments': { 'id': 'f0', 'map': 'sized', "
                    "'key': '00000000' } }");
    ret = qdict_get_qdict(rsp, "return");
    g_assert_cmpstr(qdict_get_str(ret, "value"), ==, "0000000000000000");
    g_assert(!qdict_haskey(ret, "formatted-key"));
    g_assert(!qdict_haskey(ret, "formatted-value"));
    qobject_unref(rsp);
    rsp = qtest_qmp(qts, "{ 'execute': 'x-filter-ubpf-lookup-map', "
                    "'arguments': { 'id': 'f0', 'map': '.data', "
                    "'key': '00000000' } }");
    ret = qdict_get_qdict(rsp, "return");
    g_assert(!qdict_haskey(ret, "formatted-key"));
    list = qdict_get_qlist(qdict_get_qdict(ret, "formatted-value"), ".data");
    g_assert_cmpint(qdict_get_int(qobject_to(QDict, qlist_peek(list)),
                                  "counter"), ==, 7);
    qobject_unref(rsp);

    /* HMP: typed, then the hex (lines end in CR LF) */
    hmp = qtest_hmp(qts, "info ubpf-maps /objects/f0");
    g_assert(strstr(hmp, "    {\"addr\": 16777226, \"port\": 53, "
                    "\"proto\": 17, \"ifname\": \"eth0\"}: "
                    "{\"packets\": 10, \"delta\": -3, \"color\": "
                    "\"GREEN\", "));
    g_assert(strstr(hmp, "(" FLOW_KEY ": " STATS ")\r\n"));
    g_assert(strstr(hmp, "    2: [1, 2, 3, 4] (02000000: "
                    "01000000020000000300000004000000)\r\n"));
    g_assert(strstr(hmp, "    00000000: 0000000000000000\r\n"));

    /*
     * Every command: no such object, and an object that is no filter-ubpf
     * (named by id or by QOM path)
     */
    for (i = 0; i < G_N_ELEMENTS(cmds); i++) {
        const char *id = i % 2 ? "nosuch" : "/objects/nosuch";
        const char *other = i % 2 ? "/objects/fb" : "fb";
        g_autofree char *none = g_strdup_printf("no object '%s': give the id "
                                                "or the QOM path of a "
                                                "filter-ubpf object", id);
        g_autofree char *wrong = g_strdup_printf("'%s' is a filter-buffer "
                                                 "object, not a filter-ubpf",
                                                 other);

        desc = bad_id_desc(qts, cmds[i], id);
        g_assert_cmpstr(desc, ==, none);
        g_free(desc);
        desc = bad_id_desc(qts, cmds[i], other);
        g_assert_cmpstr(desc, ==, wrong);
        g_free(desc);
    }
    qtest_quit(qts);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    qtest_add_func("/netfilter/ubpf/add_del", test_add_del);
    qtest_add_func("/netfilter/ubpf/create_errors", test_create_errors);
    qtest_add_func("/netfilter/ubpf/no_handler", test_no_handler);
    qtest_add_func("/netfilter/ubpf/ip_mode_tx", test_ip_mode_tx);
    qtest_add_func("/netfilter/ubpf/ip_mode_rx", test_ip_mode_rx);
    qtest_add_func("/netfilter/ubpf/ip_mode_tx_jit", test_ip_mode_tx_jit);
    qtest_add_func("/netfilter/ubpf/ip_mode_rx_jit", test_ip_mode_rx_jit);
    qtest_add_func("/netfilter/ubpf/raw_mode", test_raw_mode);
    qtest_add_func("/netfilter/ubpf/replace", test_replace);
    qtest_add_func("/netfilter/ubpf/verify_policy", test_verify_policy);
    qtest_add_func("/netfilter/ubpf/context_convention",
                   test_context_convention);
    qtest_add_func("/netfilter/ubpf/runtime_error", test_runtime_error);
    qtest_add_func("/netfilter/ubpf/status_and_del", test_status_and_del);
    qtest_add_func("/netfilter/ubpf/map_blocklist", test_map_blocklist);
    qtest_add_func("/netfilter/ubpf/map_counter_keep", test_map_counter_keep);
    qtest_add_func("/netfilter/ubpf/relative_handler", test_relative_handler);
    qtest_add_func("/netfilter/ubpf/file_checks", test_file_checks);
    qtest_add_func("/netfilter/ubpf/tune_keeps_object",
                   test_tune_keeps_object);
    qtest_add_func("/netfilter/ubpf/unfiltered", test_unfiltered);
    qtest_add_func("/netfilter/ubpf/convention_enum", test_convention_enum);
    qtest_add_func("/netfilter/ubpf/dump_pages", test_dump_pages);
    qtest_add_func("/netfilter/ubpf/load_atomic", test_load_atomic);
    qtest_add_func("/netfilter/ubpf/query", test_query);
    qtest_add_func("/netfilter/ubpf/xdp_verdicts", test_xdp_verdicts);
    qtest_add_func("/netfilter/ubpf/tc_verdicts", test_tc_verdicts);
    qtest_add_func("/netfilter/ubpf/socket_truncate", test_socket_truncate);
    qtest_add_func("/netfilter/ubpf/prog_type_forced",
                   test_prog_type_forced);
    qtest_add_func("/netfilter/ubpf/pinned_shared", test_pinned_shared);
    qtest_add_func("/netfilter/ubpf/ringbuf_event", test_ringbuf_event);
    qtest_add_func("/netfilter/ubpf/map_percpu_hash", test_map_percpu_hash);
    qtest_add_func("/netfilter/ubpf/map_lru_hash", test_map_lru_hash);
    qtest_add_func("/netfilter/ubpf/map_percpu_array", test_map_percpu_array);
    qtest_add_func("/netfilter/ubpf/map_devmap_hash", test_map_devmap_hash);
    qtest_add_func("/netfilter/ubpf/map_prog_array", test_map_prog_array);
    qtest_add_func("/netfilter/ubpf/map_lpm_trie", test_map_lpm_trie);
    qtest_add_func("/netfilter/ubpf/perf_event", test_perf_event);
    qtest_add_func("/netfilter/ubpf/map_typed", test_map_typed);
    qtest_add_func("/netfilter/ubpf/trace_events", test_trace_events);
    qtest_add_func("/netfilter/ubpf/globals", test_globals);
    return g_test_run();
}
