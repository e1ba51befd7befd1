/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Userspace eBPF (ubpf): load eBPF ELF objects and run them on memory
 *
 * The engine is written in Rust (rust/ubpf) on top of rbpf.  Programs are
 * checked when loaded (valid instructions, jumps in range and forward
 * only, known helpers), and run with r1 = start of the memory and
 * r2 = its length; the result is the program's r0.
 *
 * Without JIT, every memory access of the program is checked against the
 * memory it runs on and its stack.  With JIT, accesses are not checked:
 * the program is trusted (it comes from the host's configuration).
 *
 * This work is licensed under the terms of the GNU GPL, version 2 or later.
 * See the COPYING file in the top-level directory.
 */

#ifndef QEMU_EBPF_UBPF_H
#define QEMU_EBPF_UBPF_H

#include "qapi/error.h"

typedef struct UbpfVm UbpfVm;

/**
 * ubpf_new: create an eBPF VM with no program loaded.
 * @jit: run programs as x86-64 JIT code (trusted programs only; hosts
 * without the JIT use the interpreter)
 *
 * Returns: the VM, or NULL when eBPF support is not built in.
 */
UbpfVm *ubpf_new(bool jit);

/**
 * ubpf_load_file: load and check a program, replacing the loaded one.
 * @vm: the VM
 * @path: an eBPF ELF object (clang -O2 -target bpf -c)
 * @section: the program's section (SEC("...")), or NULL for the only one
 * @errp: error object; the message names the file, section and
 * instruction that were refused
 *
 * Returns: true on success.
 */
bool ubpf_load_file(UbpfVm *vm, const char *path, const char *section,
                    Error **errp);

/**
 * ubpf_load_bytecode: load and check raw eBPF bytecode.
 * @vm: the VM
 * @code: little-endian 8-byte instructions
 * @len: length of @code in bytes
 * @errp: error object
 *
 * Returns: true on success.
 */
bool ubpf_load_bytecode(UbpfVm *vm, const void *code, size_t len,
                        Error **errp);

/**
 * ubpf_run: run the loaded program once.
 * @vm: the VM
 * @mem: the memory the program sees (it may modify it)
 * @len: length of @mem
 * @result: where to store the program's return value
 * @errp: error object (no program loaded, or a run-time error such as an
 * out-of-bounds access caught by the interpreter)
 *
 * Does not allocate memory unless it fails.  A VM must not be used by
 * two threads at once.
 *
 * Returns: true on success.
 */
bool ubpf_run(UbpfVm *vm, void *mem, size_t len, uint64_t *result,
              Error **errp);

/**
 * ubpf_set_jit: switch the JIT on or off; a loaded program is prepared
 * again for the new mode.
 * @vm: the VM
 * @jit: whether to use the JIT
 * @errp: error object
 *
 * Returns: true on success; on failure the VM is unchanged.
 */
bool ubpf_set_jit(UbpfVm *vm, bool jit, Error **errp);

/**
 * ubpf_is_jit: whether the loaded program runs as JIT code.
 * @vm: the VM
 */
bool ubpf_is_jit(const UbpfVm *vm);

/**
 * ubpf_free: destroy a VM and its program.
 * @vm: the VM, or NULL
 */
void ubpf_free(UbpfVm *vm);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(UbpfVm, ubpf_free)

#endif /* QEMU_EBPF_UBPF_H */
