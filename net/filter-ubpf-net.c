/*
 * filter-ubpf: where the verdicts of a program send a packet
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * The Rust filter (rust/net/filter-ubpf) decides; these functions move
 * the packet through QEMU's net layer.  All of them copy @buf when the
 * receiver cannot take it at once (its queue keeps a copy), so the caller
 * may free it on return.
 */

#include "qemu/osdep.h"
#include "net/filter.h"
#include "net/net.h"
#include "net/queue.h"
#include "qom/object.h"
#include "filter-ubpf.h"

void filter_ubpf_pass_on(NetFilterState *nf, NetClientState *sender,
                         unsigned flags, const uint8_t *buf, size_t len)
{
    struct iovec iov = { .iov_base = (void *)buf, .iov_len = len };

    qemu_netfilter_pass_to_next(sender, flags, &iov, 1, nf);
}

/* Deliver to @from's peer as if @from had sent it, past all filters */
static bool deliver(NetClientState *from, unsigned flags,
                    const uint8_t *buf, size_t len)
{
    struct iovec iov = { .iov_base = (void *)buf, .iov_len = len };

    if (!from || !from->peer) {
        return false;
    }
    qemu_net_queue_send_iov(from->peer->incoming_queue, from, flags, &iov, 1,
                            NULL);
    return true;
}

bool filter_ubpf_send_back(NetClientState *sender, unsigned flags,
                           const uint8_t *buf, size_t len)
{
    return sender && deliver(sender->peer, flags, buf, len);
}

typedef struct FindIfindex {
    uint32_t ifindex;
    NetFilterState *found;
} FindIfindex;

static int find_ifindex(Object *child, void *opaque)
{
    FindIfindex *f = opaque;
    NetFilterState *nf;

    if (!object_dynamic_cast(child, TYPE_FILTER_UBPF)) {
        return 0;
    }
    nf = NETFILTER(child);
    if (nf->netdev &&
        object_property_get_uint(child, "ifindex", NULL) == f->ifindex) {
        f->found = nf;
        return 1;
    }
    return 0;
}

NetFilterState *filter_ubpf_by_ifindex(uint32_t ifindex)
{
    FindIfindex f = { .ifindex = ifindex };

    if (ifindex) {
        object_child_foreach(object_get_objects_root(), find_ifindex, &f);
    }
    return f.found;
}

const char *filter_ubpf_redirect(uint32_t ifindex, bool ingress,
                                 unsigned flags, const uint8_t *buf,
                                 size_t len)
{
    NetFilterState *target = filter_ubpf_by_ifindex(ifindex);
    NetClientState *nc;

    if (!target) {
        return "no filter-ubpf has this ifindex";
    }
    nc = target->netdev;
    if (!nc->peer) {
        return "the target netdev has no peer";
    }
    /* egress: out of the netdev; ingress: as if the netdev received it */
    if (!deliver(ingress ? nc : nc->peer, flags, buf, len)) {
        return "the target cannot receive";
    }
    return NULL;
}
