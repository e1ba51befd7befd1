/*
 * filter-ubpf: monitor commands for the maps of a filter's program
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * The filter itself is written in Rust (rust/net/filter-ubpf); this file
 * turns its map access (net/filter-ubpf.h) into QMP and HMP commands.
 */

#include "qemu/osdep.h"
#include "qapi/error.h"
#include "qapi/qapi-commands-ubpf.h"
#include "qobject/qdict.h"
#include "monitor/hmp.h"
#include "monitor/monitor.h"
#include "qom/object_interfaces.h"
#include "filter-ubpf.h"

/* Map types of the kernel ABI (linux/bpf.h) */
#define BPF_MAP_TYPE_HASH 1
#define BPF_MAP_TYPE_ARRAY 2
#define BPF_MAP_TYPE_PERCPU_ARRAY 6

/* How many entries per map "info ubpf-maps" prints */
#define HMP_MAX_ENTRIES 32

static Object *find_filter(const char *id, Error **errp)
{
    Object *obj = object_resolve_path_component(object_get_objects_root(),
                                                id);

    if (!obj || !object_dynamic_cast(obj, TYPE_FILTER_UBPF)) {
        error_setg(errp, "'%s' is not a filter-ubpf object", id);
        return NULL;
    }
    return obj;
}

/*
 * Move a message from the filter into @errp.  Call it after the call that
 * set @errmsg, not with that call as an argument: the order in which
 * arguments are evaluated is unspecified.
 */
static bool filter_error(bool ok, char *errmsg, const char *id,
                         Error **errp)
{
    if (!ok) {
        error_setg(errp, "filter-ubpf '%s': %s", id,
                   errmsg ? errmsg : "map access failed");
    }
    g_free(errmsg);
    return ok;
}

static uint8_t *parse_hex(const char *what, const char *hex, size_t *len,
                          Error **errp)
{
    size_t n = strlen(hex);
    g_autofree uint8_t *buf = NULL;
    size_t i;

    if (n % 2) {
        error_setg(errp, "%s '%s': an even number of hexadecimal digits "
                   "is needed", what, hex);
        return NULL;
    }
    buf = g_malloc(n / 2 + 1);
    for (i = 0; i < n / 2; i++) {
        int hi = g_ascii_xdigit_value(hex[2 * i]);
        int lo = g_ascii_xdigit_value(hex[2 * i + 1]);

        if (hi < 0 || lo < 0) {
            error_setg(errp, "%s '%s' is not hexadecimal", what, hex);
            return NULL;
        }
        buf[i] = hi << 4 | lo;
    }
    *len = n / 2;
    return g_steal_pointer(&buf);
}

static char *to_hex(const uint8_t *data, size_t len)
{
    GString *s = g_string_sized_new(len * 2 + 1);
    size_t i;

    for (i = 0; i < len; i++) {
        g_string_append_printf(s, "%02x", data[i]);
    }
    return g_string_free(s, false);
}

static UbpfMapType map_type(uint32_t type)
{
    switch (type) {
    case BPF_MAP_TYPE_HASH:
        return UBPF_MAP_TYPE_HASH;
    case BPF_MAP_TYPE_PERCPU_ARRAY:
        return UBPF_MAP_TYPE_PERCPU_ARRAY;
    default:
        return UBPF_MAP_TYPE_ARRAY;
    }
}

static UbpfMapInfoList *list_maps(Object *obj, const char *id, Error **errp)
{
    UbpfMapInfoList *head = NULL, **tail = &head;
    char *errmsg = NULL;
    size_t count, i;
    bool ok;

    ok = filter_ubpf_map_count(obj, &count, &errmsg);
    if (!filter_error(ok, errmsg, id, errp)) {
        return NULL;
    }
    for (i = 0; i < count; i++) {
        FilterUbpfMapDesc desc;
        UbpfMapInfo *info;

        ok = filter_ubpf_map_desc(obj, i, &desc, &errmsg);
        if (!filter_error(ok, errmsg, id, errp)) {
            qapi_free_UbpfMapInfoList(head);
            return NULL;
        }
        info = g_new0(UbpfMapInfo, 1);
        info->name = desc.name;
        info->type = map_type(desc.type);
        info->key_size = desc.key_size;
        info->value_size = desc.value_size;
        info->max_entries = desc.max_entries;
        info->entries = desc.entries;
        QAPI_LIST_APPEND(tail, info);
    }
    return head;
}

UbpfMapInfoList *qmp_x_filter_ubpf_list_maps(const char *id, Error **errp)
{
    Object *obj = find_filter(id, errp);

    return obj ? list_maps(obj, id, errp) : NULL;
}

typedef struct DumpState {
    UbpfMapEntryList *head;
    UbpfMapEntryList **tail;
} DumpState;

static void dump_entry(void *opaque, const uint8_t *key, size_t key_len,
                       const uint8_t *value, size_t value_len)
{
    DumpState *s = opaque;
    UbpfMapEntry *e = g_new0(UbpfMapEntry, 1);

    e->key = to_hex(key, key_len);
    e->value = to_hex(value, value_len);
    QAPI_LIST_APPEND(s->tail, e);
}

UbpfMapEntryList *qmp_x_filter_ubpf_dump_map(const char *id, const char *map,
                                             Error **errp)
{
    Object *obj = find_filter(id, errp);
    DumpState s = { .head = NULL, .tail = &s.head };
    char *errmsg = NULL;
    bool ok;

    if (!obj) {
        return NULL;
    }
    ok = filter_ubpf_map_dump(obj, map, dump_entry, &s, &errmsg);
    if (!filter_error(ok, errmsg, id, errp)) {
        qapi_free_UbpfMapEntryList(s.head);
        return NULL;
    }
    return s.head;
}

/* The filter @id and the bytes of @key, for update and delete */
static Object *filter_and_key(const char *id, const char *key, uint8_t **k,
                              size_t *klen, Error **errp)
{
    Object *obj = find_filter(id, errp);

    if (!obj) {
        return NULL;
    }
    *k = parse_hex("key", key, klen, errp);
    return *k ? obj : NULL;
}

void qmp_x_filter_ubpf_update_map(const char *id, const char *map,
                                  const char *key, const char *value,
                                  bool has_mode, UbpfMapUpdateMode mode,
                                  Error **errp)
{
    g_autofree uint8_t *k = NULL;
    g_autofree uint8_t *v = NULL;
    size_t klen, vlen;
    Object *obj = filter_and_key(id, key, &k, &klen, errp);
    char *errmsg = NULL;
    /* BPF_ANY, BPF_NOEXIST, BPF_EXIST are 0, 1, 2, in the enum's order */
    uint64_t flags = has_mode ? mode : UBPF_MAP_UPDATE_MODE_ANY;
    bool ok;

    if (!obj) {
        return;
    }
    v = parse_hex("value", value, &vlen, errp);
    if (!v) {
        return;
    }
    ok = filter_ubpf_map_update(obj, map, k, klen, v, vlen, flags, &errmsg);
    filter_error(ok, errmsg, id, errp);
}

void qmp_x_filter_ubpf_delete_map_entry(const char *id, const char *map,
                                        const char *key, Error **errp)
{
    g_autofree uint8_t *k = NULL;
    size_t klen;
    Object *obj = filter_and_key(id, key, &k, &klen, errp);
    char *errmsg = NULL;
    bool ok;

    if (!obj) {
        return;
    }
    ok = filter_ubpf_map_delete(obj, map, k, klen, &errmsg);
    filter_error(ok, errmsg, id, errp);
}

/* ---- HMP: info ubpf-maps [id] ---- */

static void hmp_print_filter(Monitor *mon, Object *obj, const char *id)
{
    Error *err = NULL;
    UbpfMapInfoList *maps = list_maps(obj, id, &err);
    UbpfMapInfoList *m;

    if (err) {
        monitor_printf(mon, "%s: %s\n", id, error_get_pretty(err));
        error_free(err);
        return;
    }
    monitor_printf(mon, "%s:%s\n", id, maps ? "" : " no maps");
    for (m = maps; m; m = m->next) {
        UbpfMapEntryList *entries, *e;
        int shown = 0;

        monitor_printf(mon, "  map \"%s\": %s, key %u bytes, value %u bytes,"
                       " %" PRIu64 "/%u entries\n", m->value->name,
                       UbpfMapType_str(m->value->type), m->value->key_size,
                       m->value->value_size, m->value->entries,
                       m->value->max_entries);
        entries = qmp_x_filter_ubpf_dump_map(id, m->value->name, NULL);
        for (e = entries; e && shown < HMP_MAX_ENTRIES; e = e->next) {
            monitor_printf(mon, "    %s: %s\n", e->value->key,
                           e->value->value);
            shown++;
        }
        if (e) {
            monitor_printf(mon, "    ... (more entries: x-filter-ubpf-dump-map"
                           " lists them all)\n");
        }
        qapi_free_UbpfMapEntryList(entries);
    }
    qapi_free_UbpfMapInfoList(maps);
}

static int hmp_print_one(Object *obj, void *opaque)
{
    Monitor *mon = opaque;

    if (object_dynamic_cast(obj, TYPE_FILTER_UBPF)) {
        hmp_print_filter(mon, obj, object_get_canonical_path_component(obj));
    }
    return 0;
}

void hmp_info_ubpf_maps(Monitor *mon, const QDict *qdict)
{
    const char *id = qdict_get_try_str(qdict, "id");
    Error *err = NULL;

    if (id) {
        Object *obj = find_filter(id, &err);

        if (!obj) {
            monitor_printf(mon, "%s\n", error_get_pretty(err));
            error_free(err);
            return;
        }
        hmp_print_filter(mon, obj, id);
        return;
    }
    object_child_foreach(object_get_objects_root(), hmp_print_one, mon);
}
