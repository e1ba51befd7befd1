/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Userspace eBPF (ubpf): load eBPF ELF objects and run them on memory
 *
 * The engine is written in Rust (rust/ubpf) on top of rbpf.  Programs are
 * checked when loaded (valid instructions, jumps in range, known helpers,
 * context accesses valid for the program type).  A program runs as its
 * type means it: the original convention (r1 = start of the memory,
 * r2 = its length), XDP's struct xdp_md, or the struct __sk_buff of tc
 * programs and socket filters; the result is the program's r0.
 *
 * With ubpf_set_verify(), a program loads only if the engine's verifier
 * proves it safe: every memory access in bounds, every loop bounded.
 * A verified program runs with that proof, so programs with loops run,
 * and the JIT runs it without further checks.  An unverified program
 * must be free of backward jumps; in the interpreter every memory access
 * is checked at run time, but with the JIT it is not checked at all: the
 * caller then vouches for the program (it comes from the host's
 * configuration).  Verify programs from any other source.
 *
 * Maps of the loaded program are reached by name, with the key and value
 * sizes of their definition.
 *
 * This work is licensed under the terms of the GNU GPL, version 2 or later.
 * See the COPYING file in the top-level directory.
 */

#ifndef QEMU_EBPF_UBPF_H
#define QEMU_EBPF_UBPF_H

#include "qapi/error.h"

typedef struct UbpfVm UbpfVm;

/**
 * UbpfType: the type of an eBPF program (the values of QAPI's
 * UbpfProgType)
 * @UBPF_TYPE_AUTO: from the program's ELF section name, as libbpf
 * does ("xdp...": xdp, "tc...", "classifier...": tc, "socket...":
 * socket); any other section, and bytecode, is UBPF_TYPE_UBPF
 * @UBPF_TYPE_XDP: BPF_PROG_TYPE_XDP: r1 is a struct xdp_md
 * @UBPF_TYPE_TC: BPF_PROG_TYPE_SCHED_CLS: r1 is a struct __sk_buff
 * @UBPF_TYPE_SOCKET: BPF_PROG_TYPE_SOCKET_FILTER: r1 is a read-only
 * struct __sk_buff (but cb), and the packet starts at the network header
 * @UBPF_TYPE_UBPF: the original convention: r1 is the packet, r2 its
 * length
 */
typedef enum UbpfType {
    UBPF_TYPE_AUTO,
    UBPF_TYPE_XDP,
    UBPF_TYPE_TC,
    UBPF_TYPE_SOCKET,
    UBPF_TYPE_UBPF,
} UbpfType;

/* Flags of ubpf_map_update(), as the kernel's BPF_ANY etc. */
#define UBPF_ANY        0 /* create or replace the entry */
#define UBPF_NOEXIST    1 /* create it only */
#define UBPF_EXIST      2 /* replace it only */

/**
 * ubpf_new: create an eBPF VM with no program loaded.
 * @jit: run programs as x86-64 JIT code (verified or trusted programs
 * only, see ubpf_set_verify(); hosts without the JIT use the interpreter)
 *
 * Programs are not verified, and their type comes from their section,
 * until ubpf_set_verify() and ubpf_set_prog_type() say otherwise.
 *
 * Returns: the VM, or NULL when eBPF support is not built in.
 */
UbpfVm *ubpf_new(bool jit);

/**
 * ubpf_load_file: load and check a program, replacing the loaded one and
 * its maps (the new program's maps start empty, or with their initial
 * contents for global data).
 * @vm: the VM
 * @path: an eBPF ELF object (clang -O2 -target bpf -c)
 * @section: the program's section (SEC("...")), or NULL for the only one
 * @errp: error object; the message names the file, section and
 * instruction that were refused
 *
 * On failure the loaded program, if any, stays.
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
 * ubpf_set_prog_type: force the type of the programs the VM loads.
 * @vm: the VM
 * @type: the type, or UBPF_TYPE_AUTO to take it from the section name
 * @errp: error object (the loaded program is not valid for @type)
 *
 * A loaded program is prepared again as @type, keeping its maps.
 *
 * Returns: true on success; on failure the VM is unchanged.
 */
bool ubpf_set_prog_type(UbpfVm *vm, UbpfType type, Error **errp);

/**
 * ubpf_get_prog_type: the type the loaded program runs as.
 * @vm: the VM
 *
 * Returns: the loaded program's type; without one, the type set by
 * ubpf_set_prog_type() (UBPF_TYPE_AUTO if none).
 */
UbpfType ubpf_get_prog_type(const UbpfVm *vm);

/**
 * ubpf_set_verify: whether programs must pass the verifier to load.
 * @vm: the VM
 * @verify: verify the loaded program and every program loaded later
 * @min_len: bytes every packet is guaranteed to have (for the
 * UBPF_TYPE_UBPF convention, whose programs may read that many bytes
 * without checking the length; 0 for the other types, whose programs
 * compare packet pointers); runs on shorter packets fail
 * @errp: error object; the message names the instruction the verifier
 * refused and why
 *
 * Needed for programs with loops, and for the JIT to run programs the
 * host does not vouch for.  A loaded program is prepared again, keeping
 * its maps.
 *
 * Returns: true on success; on failure the VM is unchanged.
 */
bool ubpf_set_verify(UbpfVm *vm, bool verify, size_t min_len, Error **errp);

/**
 * ubpf_run: run the loaded program once.
 * @vm: the VM
 * @mem: the memory the program sees (it may modify it): r1 = @mem for
 * UBPF_TYPE_UBPF, the context's packet for the other types
 * @len: length of @mem (r2 for UBPF_TYPE_UBPF)
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
 * ubpf_run_packet: run the loaded program on a network frame, as the
 * kernel runs a program of its type.
 * @vm: the VM
 * @frame: an Ethernet frame, copied before the run (the program's
 * changes are not written back)
 * @len: length of @frame
 * @result: where to store the program's return value (r0)
 * @errp: error object (no program loaded, a socket filter given less
 * than an Ethernet header, or a run-time error)
 *
 * An XDP or tc program sees the frame from its Ethernet header; a socket
 * filter, as in the kernel, from its network header (14 bytes in), with
 * the Ethernet header within reach of bpf_skb_load_bytes_relative() and
 * legacy loads.  The context's other fields (ifindex, mark, ...) are 0,
 * but len and protocol, which describe the frame.  Does not allocate
 * memory once the VM has seen a frame that large, unless it fails.
 *
 * Returns: true on success.
 */
bool ubpf_run_packet(UbpfVm *vm, const void *frame, size_t len,
                     uint64_t *result, Error **errp);

/**
 * ubpf_map_get_info: the sizes of a map of the loaded program.
 * @vm: the VM
 * @map: the map's name (its variable name in the program)
 * @key_size: where to store its key size in bytes, or NULL
 * @value_size: where to store its value size in bytes, or NULL
 * @max_entries: where to store its maximum number of entries, or NULL
 * @errp: error object (no program loaded, or no map called @map: the
 * message lists the program's maps)
 *
 * Returns: true on success.
 */
bool ubpf_map_get_info(const UbpfVm *vm, const char *map,
                       uint32_t *key_size, uint32_t *value_size,
                       uint32_t *max_entries, Error **errp);

/**
 * ubpf_map_lookup: read the value of a key, as BPF_MAP_LOOKUP_ELEM.
 * @vm: the VM
 * @map: the map's name
 * @key: the key
 * @key_size: size of @key: the map's key size
 * @value: where to store the value
 * @value_size: size of @value: the map's value size
 * @errp: error object (no such map, or a size that is not the map's:
 * the message names the map and both sizes)
 *
 * Returns: 1 when the key was found, 0 when it is not in the map, -1 on
 * error.
 */
int ubpf_map_lookup(const UbpfVm *vm, const char *map,
                    const void *key, size_t key_size,
                    void *value, size_t value_size, Error **errp);

/**
 * ubpf_map_update: set the value of a key, as BPF_MAP_UPDATE_ELEM.
 * @vm: the VM
 * @map: the map's name
 * @key: the key
 * @key_size: size of @key: the map's key size
 * @value: the value
 * @value_size: size of @value: the map's value size
 * @flags: UBPF_ANY, UBPF_NOEXIST or UBPF_EXIST
 * @errp: error object (no such map, wrong sizes, or the kernel's reasons:
 * an array index beyond the map, a full map, an existing key with
 * UBPF_NOEXIST, a missing one with UBPF_EXIST)
 *
 * Maps may be filled before the program first runs, as QEMU fills the
 * maps of a kernel program; a program sees the change at its next run.
 *
 * Returns: true on success.
 */
bool ubpf_map_update(UbpfVm *vm, const char *map,
                     const void *key, size_t key_size,
                     const void *value, size_t value_size,
                     uint64_t flags, Error **errp);

/**
 * ubpf_map_delete: delete a key, as BPF_MAP_DELETE_ELEM.
 * @vm: the VM
 * @map: the map's name
 * @key: the key
 * @key_size: size of @key: the map's key size
 * @errp: error object (no such map, wrong size, or a map whose entries
 * cannot be deleted, such as an array)
 *
 * Returns: 1 when the key was deleted, 0 when it was not in the map, -1
 * on error.
 */
int ubpf_map_delete(UbpfVm *vm, const char *map,
                    const void *key, size_t key_size, Error **errp);

/**
 * ubpf_map_get_next_key: iterate over the keys of a map, as
 * BPF_MAP_GET_NEXT_KEY.
 * @vm: the VM
 * @map: the map's name
 * @key: the current key, or NULL for the first one
 * @next_key: where to store the key after @key (the first key when @key
 * is NULL or not in the map)
 * @key_size: size of @key and @next_key: the map's key size
 * @errp: error object (no such map, wrong size)
 *
 * Returns: 1 when a key was stored, 0 after the last key, -1 on error.
 */
int ubpf_map_get_next_key(const UbpfVm *vm, const char *map,
                          const void *key, void *next_key,
                          size_t key_size, Error **errp);

/**
 * ubpf_set_jit: switch the JIT on or off; a loaded program is prepared
 * again for the new mode, keeping its maps.
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
