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

bool ubpf_run(UbpfVm *vm, void *mem, size_t len, uint64_t *result,
              Error **errp)
{
    char *errmsg = NULL;

    if (likely(ubpf_rs_run(vm, mem, len, result, &errmsg))) {
        return true;
    }
    return ubpf_error(false, errmsg, errp);
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
