/*
 * Userspace eBPF (ubpf): the C API exported by the Rust engine
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * These functions are defined in rust/ubpf/src/capi.rs.  Errors come back
 * as strings the engine allocates and ubpf_rs_free_error() releases.
 * QEMU code uses the wrappers of ebpf/ubpf.h instead.
 */

#ifndef EBPF_UBPF_RS_H
#define EBPF_UBPF_RS_H

#include "ebpf/ubpf.h"

/* UbpfVm is the Rust engine's handle */
UbpfVm *ubpf_rs_new(bool jit);
bool ubpf_rs_load_file(UbpfVm *vm, const char *path, const char *section,
                       char **errmsg);
bool ubpf_rs_load_bytecode(UbpfVm *vm, const void *code, size_t len,
                           char **errmsg);
bool ubpf_rs_set_prog_type(UbpfVm *vm, int type, char **errmsg);
int ubpf_rs_prog_type(const UbpfVm *vm);
bool ubpf_rs_set_verify(UbpfVm *vm, bool verify, size_t min_len,
                        char **errmsg);
bool ubpf_rs_run(UbpfVm *vm, void *mem, size_t len, uint64_t *result,
                 char **errmsg);
bool ubpf_rs_run_packet(UbpfVm *vm, const void *frame, size_t len,
                        uint64_t *result, char **errmsg);
bool ubpf_rs_map_info(const UbpfVm *vm, const char *map,
                      uint32_t *key_size, uint32_t *value_size,
                      uint32_t *max_entries, char **errmsg);
int ubpf_rs_map_lookup(const UbpfVm *vm, const char *map,
                       const void *key, size_t key_size,
                       void *value, size_t value_size, char **errmsg);
bool ubpf_rs_map_update(UbpfVm *vm, const char *map,
                        const void *key, size_t key_size,
                        const void *value, size_t value_size,
                        uint64_t flags, char **errmsg);
int ubpf_rs_map_delete(UbpfVm *vm, const char *map,
                       const void *key, size_t key_size, char **errmsg);
int ubpf_rs_map_next_key(const UbpfVm *vm, const char *map,
                         const void *key, void *next, size_t key_size,
                         char **errmsg);
bool ubpf_rs_set_jit(UbpfVm *vm, bool jit, char **errmsg);
bool ubpf_rs_is_jit(const UbpfVm *vm);
void ubpf_rs_free(UbpfVm *vm);
void ubpf_rs_free_error(char *errmsg);

#endif
