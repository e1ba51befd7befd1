/*
 * filter-ubpf: the map access the Rust filter (rust/net/filter-ubpf)
 * exports to C, for the monitor commands of net/filter-ubpf-qmp.c
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * @filter must be a filter-ubpf object.  On failure the functions return
 * false and set *@errmsg to a message the caller frees with g_free().
 */

#ifndef NET_FILTER_UBPF_H
#define NET_FILTER_UBPF_H

#include "qom/object.h"
#include "net/filter.h"

#define TYPE_FILTER_UBPF "filter-ubpf"

typedef struct FilterUbpfMapDesc {
    char *name;             /* g_free() it */
    uint32_t type;          /* BPF_MAP_TYPE_* */
    uint32_t key_size;
    uint32_t value_size;
    uint32_t max_entries;
    uint64_t entries;
} FilterUbpfMapDesc;

/*
 * One map entry; return false to stop the walk.  @fkey and @fvalue are the
 * key and value typed by the program's BTF, as JSON text (as "bpftool
 * --json map dump" shows them), or NULL when the object does not give
 * their types.  Get-next passes a key only: @value is NULL.
 */
typedef bool FilterUbpfEntryFn(void *opaque, const uint8_t *key,
                               size_t key_len, const uint8_t *value,
                               size_t value_len, const char *fkey,
                               const char *fvalue);

bool filter_ubpf_map_count(Object *filter, size_t *count, char **errmsg);
bool filter_ubpf_map_desc(Object *filter, size_t index,
                          FilterUbpfMapDesc *desc, char **errmsg);
/*
 * Call @fn on the entries of @map, in a stable order (arrays: by index),
 * from the entry of key @start (from the first if @start is NULL) until
 * @fn returns false.  No list of the entries is built.
 */
bool filter_ubpf_map_walk(Object *filter, const char *map,
                          const uint8_t *start, size_t start_len,
                          FilterUbpfEntryFn *fn, void *opaque,
                          char **errmsg);
/* Call @fn once with the entry of @key; an error if there is none */
bool filter_ubpf_map_lookup(Object *filter, const char *map,
                            const uint8_t *key, size_t key_len,
                            FilterUbpfEntryFn *fn, void *opaque,
                            char **errmsg);
/*
 * BPF_MAP_GET_NEXT_KEY: call @fn with the key that follows @key (the
 * first key if @key is NULL or not in the map); @fn is not called after
 * the last key.
 */
bool filter_ubpf_map_get_next(Object *filter, const char *map,
                              const uint8_t *key, size_t key_len,
                              FilterUbpfEntryFn *fn, void *opaque,
                              char **errmsg);
bool filter_ubpf_map_update(Object *filter, const char *map,
                            const uint8_t *key, size_t key_len,
                            const uint8_t *value, size_t value_len,
                            uint64_t flags, char **errmsg);
bool filter_ubpf_map_delete(Object *filter, const char *map,
                            const uint8_t *key, size_t key_len,
                            char **errmsg);

/* What x-query-filter-ubpf and "info ubpf" show of a filter */
typedef struct FilterUbpfInfo {
    char *file;             /* g_free() the strings */
    char *section;
    char *tag;              /* 16 hexadecimal digits */
    uint64_t insns;
    uint64_t load_time;     /* seconds since the Unix epoch */
    bool verified;
    bool jit;
    bool ip_mode;
    int convention;         /* UbpfConvention */
    int prog_type;          /* UbpfProgType of the running program */
    uint32_t ifindex;
    bool stats;
    uint64_t packets;
    uint64_t passed;
    uint64_t dropped;
    uint64_t aborted;
    uint64_t tx;
    uint64_t redirected;
    uint64_t truncated;
    uint64_t errors;
    uint64_t unfiltered;
    uint64_t run_count;
    uint64_t run_time_ns;
} FilterUbpfInfo;

/* Fill @info; false if the filter has no program (not attached yet) */
bool filter_ubpf_info(Object *filter, FilterUbpfInfo *info);

/* Settings of x-filter-ubpf-load; NULL or -1: unchanged */
typedef struct FilterUbpfLoad {
    const char *handler;
    const char *section;    /* "": the only program of the object */
    int ip_mode;
    int convention;         /* UbpfConvention */
    int prog_type;          /* UbpfProgType */
    int verify;
    int jit;
    int keep_maps;
    const char *globals;    /* NULL: unchanged */
} FilterUbpfLoad;

/*
 * Apply all of @load at once: one load (the file is read only if
 * @load->handler is set), one swap.  On failure nothing changes.
 */
bool filter_ubpf_load(Object *filter, const FilterUbpfLoad *load,
                      char **errmsg);

/* Unpin the map pinned as @name; false if there is none */
bool filter_ubpf_unpin(const char *name);
/* The pinned maps' names: a NULL-terminated array, g_free() all */
char **filter_ubpf_pinned_names(void);
/* A ring buffer record, for the Rust filter: a FILTER_UBPF_RECORD event */
void filter_ubpf_emit_record(const char *id, const char *map,
                             const uint8_t *data, size_t len);

/*
 * Packet paths (net/filter-ubpf-net.c), for the Rust filter: all copy
 * @buf if they have to keep it.
 *
 * filter_ubpf_pass_on: @buf continues through the filters after @nf, in
 * place of the packet @sender sent, and on to @sender's peer.
 */
void filter_ubpf_pass_on(NetFilterState *nf, NetClientState *sender,
                         unsigned flags, const uint8_t *buf, size_t len);
/* @buf goes straight back to @sender (XDP_TX); false: no way back */
bool filter_ubpf_send_back(NetClientState *sender, unsigned flags,
                           const uint8_t *buf, size_t len);
/* The attached filter-ubpf whose ifindex property is @ifindex, or NULL */
NetFilterState *filter_ubpf_by_ifindex(uint32_t ifindex);
/*
 * Send @buf out of the netdev of the filter-ubpf with @ifindex (to the
 * netdev, past its filters), or with @ingress to its peer as if the
 * netdev had received it.  Returns NULL, or why it could not.
 */
const char *filter_ubpf_redirect(uint32_t ifindex, bool ingress,
                                 unsigned flags, const uint8_t *buf,
                                 size_t len);

#endif
