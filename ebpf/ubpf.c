/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Userspace eBPF (ubpf): QEMU wrapper of the Rust engine's C API
 *
 * The engine (rust/ubpf/src/capi.rs) reports errors as strings that it
 * allocates; this file turns them into Error objects.
 *
 * This work is licensed under the terms of the GNU GPL, version 2 or later.
 * See the COPYING file in the top-level directory.
 */

#include "qemu/osdep.h"
#include "qapi/error.h"
#include "ebpf/ubpf.h"
#include "ebpf/ubpf-rs.h"
#include "qapi/qapi-types-qom.h"

/* UbpfType has the values of QAPI's UbpfProgType, and the engine's */
QEMU_BUILD_BUG_ON(UBPF_TYPE_AUTO != UBPF_PROG_TYPE_AUTO);
QEMU_BUILD_BUG_ON(UBPF_TYPE_XDP != UBPF_PROG_TYPE_XDP);
QEMU_BUILD_BUG_ON(UBPF_TYPE_TC != UBPF_PROG_TYPE_TC);
QEMU_BUILD_BUG_ON(UBPF_TYPE_SOCKET != UBPF_PROG_TYPE_SOCKET);
QEMU_BUILD_BUG_ON(UBPF_TYPE_UBPF != UBPF_PROG_TYPE_UBPF);

/* Move an engine error message into @errp. */
static bool ubpf_error(bool ok, char *errmsg, Error **errp)
{
    if (!ok) {
        error_setg(errp, "%s", errmsg ? errmsg : "eBPF engine error");
    }
    ubpf_rs_free_error(errmsg);
    return ok;
}

UbpfVm *ubpf_new(bool jit)
{
    return ubpf_rs_new(jit);
}

bool ubpf_load_file(UbpfVm *vm, const char *path, const char *section,
                    Error **errp)
{
    char *errmsg = NULL;
    bool ok = ubpf_rs_load_file(vm, path, section, &errmsg);

    return ubpf_error(ok, errmsg, errp);
}

bool ubpf_load_bytecode(UbpfVm *vm, const void *code, size_t len,
                        Error **errp)
{
    char *errmsg = NULL;
    bool ok = ubpf_rs_load_bytecode(vm, code, len, &errmsg);

    return ubpf_error(ok, errmsg, errp);
}

bool ubpf_set_prog_type(UbpfVm *vm, UbpfType type, Error **errp)
{
    char *errmsg = NULL;
    bool ok = ubpf_rs_set_prog_type(vm, type, &errmsg);

    return ubpf_error(ok, errmsg, errp);
}

UbpfType ubpf_get_prog_type(const UbpfVm *vm)
{
    return ubpf_rs_prog_type(vm);
}

bool ubpf_set_verify(UbpfVm *vm, bool verify, size_t min_len, Error **errp)
{
    char *errmsg = NULL;
    bool ok = ubpf_rs_set_verify(vm, verify, min_len, &errmsg);

    return ubpf_error(ok, errmsg, errp);
}

bool ubpf_run(UbpfVm *vm, void *mem, size_t len, uint64_t *result,
              Error **errp)
{
    char *errmsg = NULL;

    if (likely(ubpf_rs_run(vm, mem, len, result, &errmsg))) {
        return true;
    }
    return ubpf_error(false, errmsg, errp);
}

bool ubpf_run_packet(UbpfVm *vm, const void *frame, size_t len,
                     uint64_t *result, Error **errp)
{
    char *errmsg = NULL;

    if (likely(ubpf_rs_run_packet(vm, frame, len, result, &errmsg))) {
        return true;
    }
    return ubpf_error(false, errmsg, errp);
}

bool ubpf_map_get_info(const UbpfVm *vm, const char *map,
                       uint32_t *key_size, uint32_t *value_size,
                       uint32_t *max_entries, Error **errp)
{
    char *errmsg = NULL;
    bool ok = ubpf_rs_map_info(vm, map, key_size, value_size, max_entries,
                               &errmsg);

    return ubpf_error(ok, errmsg, errp);
}

int ubpf_map_lookup(const UbpfVm *vm, const char *map,
                    const void *key, size_t key_size,
                    void *value, size_t value_size, Error **errp)
{
    char *errmsg = NULL;
    int ret = ubpf_rs_map_lookup(vm, map, key, key_size, value, value_size,
                                 &errmsg);

    ubpf_error(ret >= 0, errmsg, errp);
    return ret;
}

bool ubpf_map_update(UbpfVm *vm, const char *map,
                     const void *key, size_t key_size,
                     const void *value, size_t value_size,
                     uint64_t flags, Error **errp)
{
    char *errmsg = NULL;
    bool ok = ubpf_rs_map_update(vm, map, key, key_size, value, value_size,
                                 flags, &errmsg);

    return ubpf_error(ok, errmsg, errp);
}

int ubpf_map_delete(UbpfVm *vm, const char *map,
                    const void *key, size_t key_size, Error **errp)
{
    char *errmsg = NULL;
    int ret = ubpf_rs_map_delete(vm, map, key, key_size, &errmsg);

    ubpf_error(ret >= 0, errmsg, errp);
    return ret;
}

int ubpf_map_get_next_key(const UbpfVm *vm, const char *map,
                          const void *key, void *next_key,
                          size_t key_size, Error **errp)
{
    char *errmsg = NULL;
    int ret = ubpf_rs_map_next_key(vm, map, key, next_key, key_size,
                                   &errmsg);

    ubpf_error(ret >= 0, errmsg, errp);
    return ret;
}

bool ubpf_set_jit(UbpfVm *vm, bool jit, Error **errp)
{
    char *errmsg = NULL;
    bool ok = ubpf_rs_set_jit(vm, jit, &errmsg);

    return ubpf_error(ok, errmsg, errp);
}

bool ubpf_is_jit(const UbpfVm *vm)
{
    return ubpf_rs_is_jit(vm);
}

void ubpf_free(UbpfVm *vm)
{
    ubpf_rs_free(vm);
}
