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
