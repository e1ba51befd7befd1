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

#define TYPE_FILTER_UBPF "filter-ubpf"

typedef struct FilterUbpfMapDesc {
    char *name;             /* g_free() it */
    uint32_t type;          /* BPF_MAP_TYPE_* */
    uint32_t key_size;
    uint32_t value_size;
    uint32_t max_entries;
    uint64_t entries;
} FilterUbpfMapDesc;

typedef void FilterUbpfEntryFn(void *opaque, const uint8_t *key,
                               size_t key_len, const uint8_t *value,
                               size_t value_len);

bool filter_ubpf_map_count(Object *filter, size_t *count, char **errmsg);
bool filter_ubpf_map_desc(Object *filter, size_t index,
                          FilterUbpfMapDesc *desc, char **errmsg);
bool filter_ubpf_map_dump(Object *filter, const char *map,
                          FilterUbpfEntryFn *fn, void *opaque,
                          char **errmsg);
bool filter_ubpf_map_update(Object *filter, const char *map,
                            const uint8_t *key, size_t key_len,
                            const uint8_t *value, size_t value_len,
                            uint64_t flags, char **errmsg);
bool filter_ubpf_map_delete(Object *filter, const char *map,
                            const uint8_t *key, size_t key_len,
                            char **errmsg);

#endif
