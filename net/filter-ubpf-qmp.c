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
#include "qapi/qapi-events-ubpf.h"
#include "qobject/qdict.h"
#include "qobject/qjson.h"
#include "monitor/hmp.h"
#include "monitor/monitor.h"
#include "qom/object_interfaces.h"
#include "filter-ubpf.h"

/* Map types of the kernel ABI (linux/bpf.h) */
#define BPF_MAP_TYPE_HASH 1
#define BPF_MAP_TYPE_ARRAY 2
#define BPF_MAP_TYPE_PROG_ARRAY 3
#define BPF_MAP_TYPE_PERF_EVENT_ARRAY 4
#define BPF_MAP_TYPE_PERCPU_HASH 5
#define BPF_MAP_TYPE_PERCPU_ARRAY 6
#define BPF_MAP_TYPE_LRU_HASH 9
#define BPF_MAP_TYPE_LRU_PERCPU_HASH 10
#define BPF_MAP_TYPE_LPM_TRIE 11
#define BPF_MAP_TYPE_DEVMAP 14
#define BPF_MAP_TYPE_DEVMAP_HASH 25
#define BPF_MAP_TYPE_RINGBUF 27

/* How many entries per map "info ubpf-maps" prints */
#define HMP_MAX_ENTRIES 32

/*
 * The filter-ubpf object @id names: its id (as given to -object or
 * object-add), or its QOM path ("/objects/f0").
 */
static Object *find_filter(const char *id, Error **errp)
{
    Object *obj;

    if (id[0] == '/') {
        obj = object_resolve_path(id, NULL);
    } else {
        obj = object_resolve_path_component(object_get_objects_root(), id);
    }
    if (!obj) {
        error_setg(errp, "no object '%s': give the id or the QOM path of a "
                   "filter-ubpf object", id);
        return NULL;
    }
    if (!object_dynamic_cast(obj, TYPE_FILTER_UBPF)) {
        error_setg(errp, "'%s' is a %s object, not a filter-ubpf", id,
                   object_get_typename(obj));
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

/* A typed form from the filter (JSON text) as a QObject, or NULL */
static QObject *typed(const char *json)
{
    return json ? qobject_from_json(json, NULL) : NULL;
}

static UbpfMapType map_type(uint32_t type)
{
    switch (type) {
    case BPF_MAP_TYPE_HASH:
        return UBPF_MAP_TYPE_HASH;
    case BPF_MAP_TYPE_PERCPU_ARRAY:
        return UBPF_MAP_TYPE_PERCPU_ARRAY;
    case BPF_MAP_TYPE_PROG_ARRAY:
        return UBPF_MAP_TYPE_PROG_ARRAY;
    case BPF_MAP_TYPE_PERF_EVENT_ARRAY:
        return UBPF_MAP_TYPE_PERF_EVENT_ARRAY;
    case BPF_MAP_TYPE_PERCPU_HASH:
        return UBPF_MAP_TYPE_PERCPU_HASH;
    case BPF_MAP_TYPE_LRU_HASH:
        return UBPF_MAP_TYPE_LRU_HASH;
    case BPF_MAP_TYPE_LRU_PERCPU_HASH:
        return UBPF_MAP_TYPE_LRU_PERCPU_HASH;
    case BPF_MAP_TYPE_LPM_TRIE:
        return UBPF_MAP_TYPE_LPM_TRIE;
    case BPF_MAP_TYPE_DEVMAP:
        return UBPF_MAP_TYPE_DEVMAP;
    case BPF_MAP_TYPE_DEVMAP_HASH:
        return UBPF_MAP_TYPE_DEVMAP_HASH;
    case BPF_MAP_TYPE_RINGBUF:
        return UBPF_MAP_TYPE_RINGBUF;
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

/* Default and largest number of entries of one x-filter-ubpf-dump-map */
#define DUMP_MAX_ENTRIES 1024

typedef struct DumpState {
    UbpfMapPage *page;
    UbpfMapEntryList **tail;
    int64_t left;
} DumpState;

static UbpfMapEntry *map_entry(const uint8_t *key, size_t key_len,
                               const uint8_t *value, size_t value_len,
                               const char *fkey, const char *fvalue)
{
    UbpfMapEntry *e = g_new0(UbpfMapEntry, 1);

    e->key = to_hex(key, key_len);
    e->value = to_hex(value, value_len);
    e->formatted_key = typed(fkey);
    e->formatted_value = typed(fvalue);
    return e;
}

static bool dump_entry(void *opaque, const uint8_t *key, size_t key_len,
                       const uint8_t *value, size_t value_len,
                       const char *fkey, const char *fvalue)
{
    DumpState *s = opaque;
    UbpfMapEntry *e;

    if (!s->left) {
        /* one more entry: where the next page starts */
        s->page->next = to_hex(key, key_len);
        return false;
    }
    e = map_entry(key, key_len, value, value_len, fkey, fvalue);
    QAPI_LIST_APPEND(s->tail, e);
    s->left--;
    return true;
}

UbpfMapPage *qmp_x_filter_ubpf_dump_map(const char *id, const char *map,
                                        const char *start, bool has_count,
                                        int64_t count, Error **errp)
{
    Object *obj = find_filter(id, errp);
    g_autoptr(UbpfMapPage) page = g_new0(UbpfMapPage, 1);
    DumpState s = { .page = page, .tail = &page->entries };
    g_autofree uint8_t *k = NULL;
    size_t klen = 0;
    char *errmsg = NULL;
    bool ok;

    if (!obj) {
        return NULL;
    }
    s.left = has_count ? count : DUMP_MAX_ENTRIES;
    if (s.left < 1 || s.left > DUMP_MAX_ENTRIES) {
        error_setg(errp, "count must be between 1 and %d", DUMP_MAX_ENTRIES);
        return NULL;
    }
    if (start) {
        k = parse_hex("start", start, &klen, errp);
        if (!k) {
            return NULL;
        }
    }
    ok = filter_ubpf_map_walk(obj, map, k, klen, dump_entry, &s, &errmsg);
    if (!filter_error(ok, errmsg, id, errp)) {
        return NULL;
    }
    return g_steal_pointer(&page);
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

static bool lookup_entry(void *opaque, const uint8_t *key, size_t key_len,
                         const uint8_t *value, size_t value_len,
                         const char *fkey, const char *fvalue)
{
    UbpfMapEntry **e = opaque;

    *e = map_entry(key, key_len, value, value_len, fkey, fvalue);
    return false;
}

UbpfMapEntry *qmp_x_filter_ubpf_lookup_map(const char *id, const char *map,
                                           const char *key, Error **errp)
{
    g_autofree uint8_t *k = NULL;
    size_t klen;
    Object *obj = filter_and_key(id, key, &k, &klen, errp);
    UbpfMapEntry *e = NULL;
    char *errmsg = NULL;
    bool ok;

    if (!obj) {
        return NULL;
    }
    ok = filter_ubpf_map_lookup(obj, map, k, klen, lookup_entry, &e, &errmsg);
    if (!filter_error(ok, errmsg, id, errp)) {
        qapi_free_UbpfMapEntry(e);
        return NULL;
    }
    return e;
}

static bool next_key(void *opaque, const uint8_t *key, size_t key_len,
                     const uint8_t *value, size_t value_len,
                     const char *fkey, const char *fvalue)
{
    UbpfMapKey *next = opaque;

    next->key = to_hex(key, key_len);
    next->formatted_key = typed(fkey);
    return false;
}

UbpfMapKey *qmp_x_filter_ubpf_map_get_next(const char *id, const char *map,
                                           const char *key, Error **errp)
{
    Object *obj = find_filter(id, errp);
    g_autoptr(UbpfMapKey) next = g_new0(UbpfMapKey, 1);
    g_autofree uint8_t *k = NULL;
    size_t klen = 0;
    char *errmsg = NULL;
    bool ok;

    if (!obj) {
        return NULL;
    }
    if (key) {
        k = parse_hex("key", key, &klen, errp);
        if (!k) {
            return NULL;
        }
    }
    ok = filter_ubpf_map_get_next(obj, map, k, klen, next_key, next,
                                  &errmsg);
    if (!filter_error(ok, errmsg, id, errp)) {
        return NULL;
    }
    return g_steal_pointer(&next);
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

/* ---- x-filter-ubpf-load, x-query-filter-ubpf, info ubpf ---- */

static int opt_bool(bool has, bool v)
{
    return has ? v : -1;
}

void qmp_x_filter_ubpf_load(const char *id, const char *ubpf_handler,
                            const char *section, bool has_ip_mode,
                            bool ip_mode, bool has_convention,
                            UbpfConvention convention, bool has_prog_type,
                            UbpfProgType prog_type, bool has_verify,
                            bool verify, bool has_jit, bool jit,
                            bool has_keep_maps, bool keep_maps,
                            const char *globals, Error **errp)
{
    Object *obj = find_filter(id, errp);
    FilterUbpfLoad load = {
        .handler = ubpf_handler,
        .section = section,
        .ip_mode = opt_bool(has_ip_mode, ip_mode),
        .convention = has_convention ? (int)convention : -1,
        .prog_type = has_prog_type ? (int)prog_type : -1,
        .verify = opt_bool(has_verify, verify),
        .jit = opt_bool(has_jit, jit),
        .keep_maps = opt_bool(has_keep_maps, keep_maps),
        .globals = globals,
    };
    char *errmsg = NULL;
    bool ok;

    if (!obj) {
        return;
    }
    ok = filter_ubpf_load(obj, &load, &errmsg);
    if (!ok) {
        /* the filter's messages start with "filter-ubpf: " already */
        error_setg(errp, "%s", errmsg ? errmsg : "load failed");
    }
    g_free(errmsg);
}

typedef struct QueryState {
    UbpfFilterInfoList **tail;
    Error **errp;
} QueryState;

static int query_one(Object *obj, void *opaque)
{
    QueryState *s = opaque;
    const char *id;
    FilterUbpfInfo fi;
    UbpfFilterInfo *info;

    if (!object_dynamic_cast(obj, TYPE_FILTER_UBPF) ||
        !filter_ubpf_info(obj, &fi)) {
        return 0;
    }
    id = object_get_canonical_path_component(obj);
    info = g_new0(UbpfFilterInfo, 1);
    info->id = g_strdup(id);
    info->netdev = object_property_get_str(obj, "netdev", NULL);
    info->file = fi.file;
    info->section = fi.section;
    info->tag = fi.tag;
    info->insns = fi.insns;
    info->load_time = fi.load_time;
    info->verified = fi.verified;
    info->jit = fi.jit;
    info->ip_mode = fi.ip_mode;
    info->convention = fi.convention;
    info->prog_type = fi.prog_type;
    info->ifindex = fi.ifindex;
    info->stats = fi.stats;
    info->packets = fi.packets;
    info->passed = fi.passed;
    info->dropped = fi.dropped;
    info->aborted = fi.aborted;
    info->tx = fi.tx;
    info->redirected = fi.redirected;
    info->truncated = fi.truncated;
    info->errors = fi.errors;
    info->unfiltered = fi.unfiltered;
    info->run_count = fi.run_count;
    info->run_time_ns = fi.run_time_ns;
    info->maps = list_maps(obj, id, s->errp);
    QAPI_LIST_APPEND(s->tail, info);
    return 0;
}

UbpfFilterInfoList *qmp_x_query_filter_ubpf(Error **errp)
{
    UbpfFilterInfoList *head = NULL;
    QueryState s = { .tail = &head, .errp = errp };

    /* one pass under the BQL: no packet is filtered meanwhile */
    object_child_foreach(object_get_objects_root(), query_one, &s);
    return head;
}

void hmp_info_ubpf(Monitor *mon, const QDict *qdict)
{
    Error *err = NULL;
    UbpfFilterInfoList *list = qmp_x_query_filter_ubpf(&err);
    UbpfFilterInfoList *l;

    if (err) {
        hmp_handle_error(mon, err);
        return;
    }
    if (!list) {
        monitor_printf(mon, "no filter-ubpf objects\n");
    }
    for (l = list; l; l = l->next) {
        UbpfFilterInfo *i = l->value;
        g_autoptr(GDateTime) t = g_date_time_new_from_unix_local(i->load_time);
        g_autofree char *when = t ? g_date_time_format(t, "%F %T") : NULL;
        UbpfMapInfoList *m;

        monitor_printf(mon, "%s: netdev %s, %s section \"%s\"\n", i->id,
                       i->netdev ? i->netdev : "?", i->file, i->section);
        monitor_printf(mon, "  tag %s, %" PRIu64 " instructions, loaded at %s,"
                       " %s, %s, type %s, %s convention%s, ifindex %u\n",
                       i->tag, i->insns, when ? when : "?",
                       i->verified ? "verified" : "not verified",
                       i->jit ? "JIT" : "interpreter",
                       UbpfProgType_str(i->prog_type),
                       UbpfConvention_str(i->convention),
                       i->ip_mode ? ", ip-mode" : "", i->ifindex);
        monitor_printf(mon, "  packets %" PRIu64 ", passed %" PRIu64
                       ", dropped %" PRIu64 ", aborted %" PRIu64
                       ", tx %" PRIu64 ", redirected %" PRIu64
                       ", truncated %" PRIu64 ", errors %" PRIu64
                       ", unfiltered %" PRIu64 "\n", i->packets, i->passed,
                       i->dropped, i->aborted, i->tx, i->redirected,
                       i->truncated, i->errors, i->unfiltered);
        if (i->stats) {
            monitor_printf(mon, "  run count %" PRIu64 ", run time %" PRIu64
                           " ns\n", i->run_count, i->run_time_ns);
        }
        if (i->maps) {
            monitor_printf(mon, "  maps:");
            for (m = i->maps; m; m = m->next) {
                monitor_printf(mon, " %s", m->value->name);
            }
            monitor_printf(mon, "\n");
        }
    }
    qapi_free_UbpfFilterInfoList(list);
}

/* ---- HMP: info ubpf-maps [id] ---- */

typedef struct HmpMapState {
    Monitor *mon;
    int shown;
    bool more;
} HmpMapState;

/*
 * Print one entry, typed if the program's BTF tells how (with the bytes
 * in hexadecimal, as the QMP commands take them); stop after
 * HMP_MAX_ENTRIES, noting there are more.
 */
static bool hmp_print_entry(void *opaque, const uint8_t *key, size_t key_len,
                            const uint8_t *value, size_t value_len,
                            const char *fkey, const char *fvalue)
{
    HmpMapState *s = opaque;
    g_autofree char *k = NULL;
    g_autofree char *v = NULL;

    if (s->shown == HMP_MAX_ENTRIES) {
        s->more = true;
        return false;
    }
    k = to_hex(key, key_len);
    v = to_hex(value, value_len);
    if (fkey || fvalue) {
        monitor_printf(s->mon, "    %s: %s (%s: %s)\n", fkey ? fkey : k,
                       fvalue ? fvalue : v, k, v);
    } else {
        monitor_printf(s->mon, "    %s: %s\n", k, v);
    }
    s->shown++;
    return true;
}

static void hmp_print_filter(Monitor *mon, Object *obj, const char *id)
{
    Error *err = NULL;
    UbpfMapInfoList *maps = list_maps(obj, id, &err);
    UbpfMapInfoList *m;

    if (err) {
        hmp_handle_error(mon, err);
        return;
    }
    monitor_printf(mon, "%s:%s\n", id, maps ? "" : " no maps");
    for (m = maps; m; m = m->next) {
        HmpMapState s = { .mon = mon };
        char *errmsg = NULL;
        bool ok;

        monitor_printf(mon, "  map \"%s\": %s, key %u bytes, value %u bytes,"
                       " %" PRIu64 "/%u entries\n", m->value->name,
                       UbpfMapType_str(m->value->type), m->value->key_size,
                       m->value->value_size, m->value->entries,
                       m->value->max_entries);
        /* only the entries shown are visited */
        ok = filter_ubpf_map_walk(obj, m->value->name, NULL, 0,
                                  hmp_print_entry, &s, &errmsg);
        if (!filter_error(ok, errmsg, id, &err)) {
            hmp_handle_error(mon, err);
            err = NULL;
        }
        if (s.more) {
            monitor_printf(mon, "    ... (more entries: x-filter-ubpf-dump-map"
                           " lists them, in pages)\n");
        }
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
            hmp_handle_error(mon, err);
            return;
        }
        hmp_print_filter(mon, obj, id);
        return;
    }
    object_child_foreach(object_get_objects_root(), hmp_print_one, mon);
}

/* ---- ring buffer records, pinned maps ---- */

void filter_ubpf_emit_record(const char *id, const char *map,
                             const uint8_t *data, size_t len)
{
    g_autofree char *hex = to_hex(data, len);

    qapi_event_send_filter_ubpf_record(id, map, hex);
}

void qmp_x_filter_ubpf_unpin(const char *name, Error **errp)
{
    if (!filter_ubpf_unpin(name)) {
        error_setg(errp, "no map is pinned as '%s'", name);
    }
}

UbpfPinnedMapList *qmp_x_query_filter_ubpf_pins(Error **errp)
{
    UbpfPinnedMapList *head = NULL, **tail = &head;
    char **names = filter_ubpf_pinned_names();
    size_t i;

    for (i = 0; names && names[i]; i++) {
        UbpfPinnedMap *m = g_new0(UbpfPinnedMap, 1);

        m->name = names[i];
        QAPI_LIST_APPEND(tail, m);
    }
    g_free(names);
    return head;
}
