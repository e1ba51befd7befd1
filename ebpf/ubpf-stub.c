/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Userspace eBPF (ubpf): stubs for builds without eBPF support
 *
 * This work is licensed under the terms of the GNU GPL, version 2 or later.
 * See the COPYING file in the top-level directory.
 */

#include "qemu/osdep.h"
#include "qapi/error.h"
#include "ebpf/ubpf.h"

#define UBPF_DISABLED "eBPF support (ubpf) is not enabled in this build"

UbpfVm *ubpf_new(bool jit)
{
    return NULL;
}

bool ubpf_load_file(UbpfVm *vm, const char *path, const char *section,
                    Error **errp)
{
    error_setg(errp, UBPF_DISABLED);
    return false;
}

bool ubpf_load_bytecode(UbpfVm *vm, const void *code, size_t len,
                        Error **errp)
{
    error_setg(errp, UBPF_DISABLED);
    return false;
}

bool ubpf_run(UbpfVm *vm, void *mem, size_t len, uint64_t *result,
              Error **errp)
{
    error_setg(errp, UBPF_DISABLED);
    return false;
}

bool ubpf_set_prog_type(UbpfVm *vm, UbpfType type, Error **errp)
{
    error_setg(errp, UBPF_DISABLED);
    return false;
}

UbpfType ubpf_get_prog_type(const UbpfVm *vm)
{
    return UBPF_TYPE_AUTO;
}

bool ubpf_set_verify(UbpfVm *vm, bool verify, size_t min_len, Error **errp)
{
    error_setg(errp, UBPF_DISABLED);
    return false;
}

bool ubpf_run_packet(UbpfVm *vm, const void *frame, size_t len,
                     uint64_t *result, Error **errp)
{
    error_setg(errp, UBPF_DISABLED);
    return false;
}

bool ubpf_map_get_info(const UbpfVm *vm, const char *map,
                       uint32_t *key_size, uint32_t *value_size,
                       uint32_t *max_entries, Error **errp)
{
    error_setg(errp, UBPF_DISABLED);
    return false;
}

int ubpf_map_lookup(const UbpfVm *vm, const char *map,
                    const void *key, size_t key_size,
                    void *value, size_t value_size, Error **errp)
{
    error_setg(errp, UBPF_DISABLED);
    return -1;
}

bool ubpf_map_update(UbpfVm *vm, const char *map,
                     const void *key, size_t key_size,
                     const void *value, size_t value_size,
                     uint64_t flags, Error **errp)
{
    error_setg(errp, UBPF_DISABLED);
    return false;
}

int ubpf_map_delete(UbpfVm *vm, const char *map,
                    const void *key, size_t key_size, Error **errp)
{
    error_setg(errp, UBPF_DISABLED);
    return -1;
}

int ubpf_map_get_next_key(const UbpfVm *vm, const char *map,
                          const void *key, void *next_key,
                          size_t key_size, Error **errp)
{
    error_setg(errp, UBPF_DISABLED);
    return -1;
}

bool ubpf_set_jit(UbpfVm *vm, bool jit, Error **errp)
{
    error_setg(errp, UBPF_DISABLED);
    return false;
}

bool ubpf_is_jit(const UbpfVm *vm)
{
    return false;
}

void ubpf_free(UbpfVm *vm)
{
}
