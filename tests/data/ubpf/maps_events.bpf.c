/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Records for the host (ring buffer, perf event array), redirects through
 * a devmap, and tail calls through a program array initialised in the
 * object, as libbpf does.  Raw convention: r1 = packet, r2 = length.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct {
    __uint(type, BPF_MAP_TYPE_RINGBUF);
    __uint(max_entries, 4096);
} rb SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_PERF_EVENT_ARRAY);
    __uint(key_size, sizeof(__u32));
    __uint(value_size, sizeof(__u32));
} perf SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_DEVMAP);
    __uint(max_entries, 8);
    __type(key, __u32);
    __type(value, struct bpf_devmap_val);
} ports SEC(".maps");

int leaf_a(void *pkt, unsigned long len);
int leaf_b(void *pkt, unsigned long len);

struct {
    __uint(type, BPF_MAP_TYPE_PROG_ARRAY);
    __uint(max_entries, 4);
    __type(key, __u32);
    __array(values, int (void *, unsigned long));
} jumps SEC(".maps") = {
    .values = {
        [0] = (void *)&leaf_a,
        [2] = (void *)&leaf_b,
    },
};

/* byte 0 of the packet: what to do */
SEC("ubpf")
long events(__u8 *pkt, unsigned long len)
{
    __u32 *slot;

    if (len < 8) {
        return -1;
    }
    switch (pkt[0]) {
    case 0: /* copy 8 bytes into the ring buffer */
        return bpf_ringbuf_output(&rb, pkt, 8, 0);
    case 1: /* reserve, fill, submit */
        slot = bpf_ringbuf_reserve(&rb, 4, 0);
        if (!slot) {
            return -2;
        }
        *slot = 0x11223344;
        bpf_ringbuf_submit(slot, 0);
        return 0;
    case 2: /* reserve and discard */
        slot = bpf_ringbuf_reserve(&rb, 4, 0);
        if (!slot) {
            return -2;
        }
        bpf_ringbuf_discard(slot, 0);
        return 0;
    case 3: /* perf record of 8 bytes */
        return bpf_perf_event_output(pkt, &perf, BPF_F_CURRENT_CPU, pkt, 8);
    case 4: /* redirect to the port in byte 1, else pass (2) */
        return bpf_redirect_map(&ports, pkt[1], XDP_PASS);
    case 5: /* tail call to the program in slot byte 1; 7 if none */
        bpf_tail_call(pkt, &jumps, pkt[1]);
        return 7;
    case 6: /* ring buffer query: available bytes */
        return bpf_ringbuf_query(&rb, BPF_RB_AVAIL_DATA);
    }
    return -1;
}

SEC("ubpf")
int leaf_a(void *pkt, unsigned long len)
{
    return 100;
}

SEC("ubpf")
int leaf_b(void *pkt, unsigned long len)
{
    return 200;
}

char _license[] SEC("license") = "GPL";
