// SPDX-License-Identifier: GPL-2.0-or-later

//! C API of the engine, free of QEMU types; `ebpf/ubpf.c` wraps it into
//! QEMU's `ebpf/ubpf.h` API (converting error strings into `Error *`).
//!
//! ```c
//! typedef struct UbpfRs UbpfRs;
//! UbpfRs *ubpf_rs_new(bool jit);
//! bool ubpf_rs_load_file(UbpfRs *vm, const char *path, const char *section,
//!                        char **errmsg);
//! bool ubpf_rs_load_bytecode(UbpfRs *vm, const void *code, size_t len,
//!                            char **errmsg);
//! bool ubpf_rs_set_prog_type(UbpfRs *vm, int type, char **errmsg);
//! int ubpf_rs_prog_type(const UbpfRs *vm);
//! bool ubpf_rs_set_verify(UbpfRs *vm, bool verify, size_t min_len,
//!                         char **errmsg);
//! bool ubpf_rs_run(UbpfRs *vm, void *mem, size_t len, uint64_t *result,
//!                  char **errmsg);
//! bool ubpf_rs_run_packet(UbpfRs *vm, const void *frame, size_t len,
//!                         uint64_t *result, char **errmsg);
//! bool ubpf_rs_map_info(const UbpfRs *vm, const char *map,
//!                       uint32_t *key_size, uint32_t *value_size,
//!                       uint32_t *max_entries, char **errmsg);
//! int ubpf_rs_map_lookup(const UbpfRs *vm, const char *map,
//!                        const void *key, size_t key_size,
//!                        void *value, size_t value_size, char **errmsg);
//! bool ubpf_rs_map_update(UbpfRs *vm, const char *map,
//!                         const void *key, size_t key_size,
//!                         const void *value, size_t value_size,
//!                         uint64_t flags, char **errmsg);
//! int ubpf_rs_map_delete(UbpfRs *vm, const char *map,
//!                        const void *key, size_t key_size, char **errmsg);
//! int ubpf_rs_map_next_key(const UbpfRs *vm, const char *map,
//!                          const void *key, void *next, size_t key_size,
//!                          char **errmsg);
//! bool ubpf_rs_set_jit(UbpfRs *vm, bool jit, char **errmsg);
//! bool ubpf_rs_is_jit(const UbpfRs *vm);
//! void ubpf_rs_free(UbpfRs *vm);
//! void ubpf_rs_free_error(char *errmsg);
//! ```
//!
//! Error messages are allocated here and must be released with
//! `ubpf_rs_free_error`.  No panic crosses this boundary: each function
//! catches unwinding and reports it as an error.
//!
//! A handle has three settings that apply to every program it loads:
//! the program type (`UBPF_TYPE_*` of `ebpf/ubpf.h`, in the order of
//! QAPI's `UbpfProgType`; auto: from the section name), whether the
//! verifier must prove the program (for packets of at least `min_len`
//! bytes), and the JIT.  A verified program runs with its proof (the
//! JIT with `Trust::Verified`, the interpreter with the proof, so that
//! programs with bounded loops run); an unverified program runs in the
//! interpreter, or with the JIT as `Trust::Trusted`: the caller vouches
//! for it, because the JIT does not check memory accesses.  Changing a
//! setting prepares the loaded program again and keeps its maps.

use std::ffi::{c_char, c_int, c_void, CStr, CString};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::Path;
use std::ptr;

use crate::maps::MapError;
use crate::{
    verify, Engine, Map, Packet, PacketMeta, ProgType, Program, Trust, VerifyOptions, Vm, VmOptions,
};

/// `UBPF_TYPE_*` of `ebpf/ubpf.h` (QAPI's `UbpfProgType` order).
const TYPE_AUTO: c_int = 0;
const TYPE_XDP: c_int = 1;
const TYPE_TC: c_int = 2;
const TYPE_SOCKET: c_int = 3;
const TYPE_UBPF: c_int = 4;

/// Bytes of an Ethernet header: a socket filter's packet starts after it.
const ETH_HLEN: usize = 14;

/// The program type `UBPF_TYPE_*` value `v` forces (`None`: auto).
fn prog_type_of(v: c_int) -> Result<Option<ProgType>, String> {
    Ok(match v {
        TYPE_AUTO => None,
        TYPE_XDP => Some(ProgType::Xdp),
        TYPE_TC => Some(ProgType::SchedCls),
        TYPE_SOCKET => Some(ProgType::SocketFilter),
        TYPE_UBPF => Some(ProgType::Ubpf),
        _ => return Err(format!("unknown eBPF program type {v}")),
    })
}

/// The `UBPF_TYPE_*` value of `ty`.
const fn prog_type_value(ty: ProgType) -> c_int {
    match ty {
        ProgType::Xdp => TYPE_XDP,
        ProgType::SchedCls => TYPE_TC,
        ProgType::SocketFilter => TYPE_SOCKET,
        _ => TYPE_UBPF,
    }
}

/// Opaque handle of the C API.
pub struct UbpfRs {
    jit: bool,
    /// The forced program type; None: from the section name.
    prog_type: Option<ProgType>,
    /// Verify programs, for packets of at least this many bytes.
    verify: Option<usize>,
    vm: Option<Vm>,
    /// The buffer `ubpf_rs_run_packet` copies frames into.
    packet: Packet,
}

impl UbpfRs {
    /// Prepare `prog` under the current settings; with `keep_maps`, it
    /// takes over the maps of the loaded program.
    fn install(&mut self, mut prog: Program, keep_maps: bool) -> Result<(), String> {
        let ty = self
            .prog_type
            .unwrap_or_else(|| ProgType::from_section(prog.section()));
        prog.set_prog_type(ty);
        let convention = ty.convention();
        let (engine, proof) = match self.verify {
            Some(min_len) => {
                let proof = verify(
                    &prog,
                    &VerifyOptions {
                        convention,
                        min_len,
                    },
                )
                .map_err(|e| e.to_string())?;
                if self.jit {
                    (Engine::Jit(Trust::Verified(proof)), None)
                } else {
                    (Engine::Interpreter, Some(proof))
                }
            }
            None if self.jit => (Engine::Jit(Trust::Trusted), None),
            None => (Engine::Interpreter, None),
        };
        let opts = VmOptions { convention, proof };
        let vm = match (keep_maps, self.vm.as_mut()) {
            (true, Some(old)) => Vm::with_options_keeping_maps(prog, engine, opts, old),
            _ => Vm::with_options(prog, engine, opts),
        }
        .map_err(|e| e.to_string())?;
        self.vm = Some(vm);
        Ok(())
    }

    /// Change the settings with `f` and prepare the loaded program again
    /// (keeping its maps); on failure the settings are restored.
    fn reconfigure(&mut self, f: impl FnOnce(&mut Self)) -> Result<(), String> {
        let old = (self.jit, self.prog_type, self.verify);
        f(self);
        let Some(prog) = self.vm.as_ref().map(|v| v.program().clone()) else {
            return Ok(());
        };
        self.install(prog, true).inspect_err(|_| {
            (self.jit, self.prog_type, self.verify) = old;
        })
    }

    /// The map called `name` of the loaded program.
    fn map(&self, name: &CStr) -> Result<&Map, String> {
        let vm = self.vm.as_ref().ok_or("no eBPF program loaded")?;
        let name = name.to_string_lossy();
        vm.map(&name).ok_or_else(|| {
            let names: Vec<String> = vm.maps().map(|m| format!("\"{}\"", m.def().name)).collect();
            if names.is_empty() {
                format!("the eBPF program has no map \"{name}\" (it has no maps)")
            } else {
                format!(
                    "the eBPF program has no map \"{name}\" (its maps: {})",
                    names.join(", ")
                )
            }
        })
    }
}

/// Check that `what` (key or value) of `len` bytes fits `map`, whose
/// `what`s have `size` bytes.
fn check_size(map: &Map, what: &str, len: usize, size: u32) -> Result<(), String> {
    if len == size as usize {
        return Ok(());
    }
    Err(format!(
        "map \"{}\": the {what} is {len} bytes, the map's {what}s are {size} bytes",
        map.def().name
    ))
}

/// The message of a failed map operation.
fn map_error(map: &Map, e: &MapError) -> String {
    format!("map \"{}\": {e}", map.def().name)
}

/// Store `msg` into `*errmsg` if the caller asked for it.
///
/// # Safety
///
/// `errmsg` is null or valid for writing one pointer.
unsafe fn set_error(errmsg: *mut *mut c_char, msg: &str) {
    if errmsg.is_null() {
        return;
    }
    let c = CString::new(msg.replace('\0', " ")).unwrap_or_default();
    // SAFETY: non-null, and valid for writes per the contract above.
    unsafe {
        *errmsg = c.into_raw();
    }
}

/// The handle behind `vm`; for NULL, sets the error "no eBPF VM".
///
/// # Safety
///
/// `vm` is a live handle from `ubpf_rs_new` or NULL; `errmsg` is NULL or
/// writable.
unsafe fn handle<'a>(vm: *mut UbpfRs, errmsg: *mut *mut c_char) -> Option<&'a mut UbpfRs> {
    // SAFETY: caller contract.
    let handle = unsafe { vm.as_mut() };
    if handle.is_none() {
        // SAFETY: caller contract.
        unsafe {
            set_error(errmsg, "no eBPF VM");
        }
    }
    handle
}

/// Run `f`, turning an error or a panic into `failed` plus a message.
///
/// # Safety
///
/// `errmsg` is null or valid for writing one pointer.
unsafe fn guarded_with<T>(
    errmsg: *mut *mut c_char,
    failed: T,
    f: impl FnOnce() -> Result<T, String>,
) -> T {
    let msg = match catch_unwind(AssertUnwindSafe(f)) {
        Ok(Ok(v)) => return v,
        Ok(Err(m)) => m,
        Err(_) => "internal error in the eBPF engine".to_owned(),
    };
    // SAFETY: forwarded contract.
    unsafe {
        set_error(errmsg, &msg);
    }
    failed
}

/// Run `f`, turning an error or a panic into `false` plus a message.
///
/// # Safety
///
/// `errmsg` is null or valid for writing one pointer.
unsafe fn guarded(errmsg: *mut *mut c_char, f: impl FnOnce() -> Result<(), String>) -> bool {
    // SAFETY: forwarded contract.
    unsafe { guarded_with(errmsg, false, || f().map(|()| true)) }
}

/// Run `f` as [`guarded`] does; on success store its value in `*result`
/// (when not NULL).
///
/// # Safety
///
/// `errmsg` and `result` are NULL or writable.
unsafe fn store_result(
    errmsg: *mut *mut c_char,
    result: *mut u64,
    f: impl FnOnce() -> Result<u64, String>,
) -> bool {
    // SAFETY: forwarded contract.
    let value = unsafe { guarded_with(errmsg, None, || f().map(Some)) };
    let Some(value) = value else {
        return false;
    };
    if !result.is_null() {
        // SAFETY: result is writable per the contract.
        unsafe {
            *result = value;
        }
    }
    true
}

/// The handle behind a const `vm`; for NULL, sets the error "no eBPF VM".
///
/// # Safety
///
/// As [`handle`].
unsafe fn handle_ref<'a>(vm: *const UbpfRs, errmsg: *mut *mut c_char) -> Option<&'a UbpfRs> {
    // SAFETY: caller contract.
    unsafe { handle(vm.cast_mut(), errmsg) }.map(|h| &*h)
}

/// The map name at `name`; for NULL, sets an error.
///
/// # Safety
///
/// `name` is NULL or NUL-terminated; `errmsg` is NULL or writable.
unsafe fn map_name<'a>(name: *const c_char, errmsg: *mut *mut c_char) -> Option<&'a CStr> {
    if name.is_null() {
        // SAFETY: forwarded contract.
        unsafe {
            set_error(errmsg, "no map name");
        }
        return None;
    }
    // SAFETY: NUL-terminated per the contract.
    Some(unsafe { CStr::from_ptr(name) })
}

/// The `len` bytes at `p` (NULL: none, whatever `len` says).
///
/// # Safety
///
/// `p` is NULL or valid for reading `len` bytes during `'a`.
unsafe fn bytes<'a>(p: *const c_void, len: usize) -> Option<&'a [u8]> {
    if p.is_null() {
        return (len == 0).then_some(&[][..]);
    }
    // SAFETY: valid for len bytes per the contract.
    Some(unsafe { std::slice::from_raw_parts(p.cast::<u8>(), len) })
}

/// Copy `src` to `dst`, which is NULL or valid for `src.len()` bytes.
///
/// # Safety
///
/// `dst` is NULL or valid for writing `src.len()` bytes.
unsafe fn copy_out(map: &Map, what: &str, src: &[u8], dst: *mut c_void) -> Result<(), String> {
    if dst.is_null() {
        return Err(format!(
            "map \"{}\": no buffer for the {what}",
            map.def().name
        ));
    }
    // SAFETY: valid for src.len() bytes per the contract; the sizes were
    // checked by the caller against the length the C caller gave.
    unsafe {
        ptr::copy_nonoverlapping(src.as_ptr(), dst.cast::<u8>(), src.len());
    }
    Ok(())
}

/// Create a handle; with `jit`, programs run as JIT code.  Programs are
/// not verified and their type comes from their section until set.
/// Returns NULL only if allocation fails.
#[no_mangle]
pub extern "C" fn ubpf_rs_new(jit: bool) -> *mut UbpfRs {
    catch_unwind(|| {
        Box::into_raw(Box::new(UbpfRs {
            jit,
            prog_type: None,
            verify: None,
            vm: None,
            packet: Packet::default(),
        }))
    })
    .unwrap_or(ptr::null_mut())
}

/// Load the program of `section` (NULL: the only program) of the ELF
/// object at `path`, replacing any loaded program.
///
/// # Safety
///
/// `vm` comes from `ubpf_rs_new`; `path` is a NUL-terminated string;
/// `section` is NULL or NUL-terminated; `errmsg` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn ubpf_rs_load_file(
    vm: *mut UbpfRs,
    path: *const c_char,
    section: *const c_char,
    errmsg: *mut *mut c_char,
) -> bool {
    // SAFETY: per the contract, vm is a live handle or NULL.
    let Some(vm) = (unsafe { handle(vm, errmsg) }) else {
        return false;
    };
    if path.is_null() {
        // SAFETY: forwarded contract.
        unsafe {
            set_error(errmsg, "no eBPF program file name");
        }
        return false;
    }
    // SAFETY: path is NUL-terminated per the contract.
    let path = unsafe { CStr::from_ptr(path) };
    let section = if section.is_null() {
        None
    } else {
        // SAFETY: section is NUL-terminated per the contract.
        Some(unsafe { CStr::from_ptr(section) })
    };
    let f = || {
        let path = path
            .to_str()
            .map_err(|_| "file name is not UTF-8".to_owned())?;
        let section = match section {
            Some(s) => Some(
                s.to_str()
                    .map_err(|_| "section name is not UTF-8".to_owned())?,
            ),
            None => None,
        };
        let prog = Program::load_file(Path::new(path), section).map_err(|e| e.to_string())?;
        vm.install(prog, false)
    };
    // SAFETY: forwarded contract.
    unsafe { guarded(errmsg, f) }
}

/// Load raw eBPF bytecode (`len` bytes), replacing any loaded program.
///
/// # Safety
///
/// `vm` comes from `ubpf_rs_new`; `code` is valid for reading `len` bytes
/// (or `len` is 0); `errmsg` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn ubpf_rs_load_bytecode(
    vm: *mut UbpfRs,
    code: *const c_void,
    len: usize,
    errmsg: *mut *mut c_char,
) -> bool {
    // SAFETY: per the contract, vm is a live handle or NULL.
    let Some(vm) = (unsafe { handle(vm, errmsg) }) else {
        return false;
    };
    let code: &[u8] = if len == 0 || code.is_null() {
        &[]
    } else {
        // SAFETY: code is valid for reading len bytes per the contract.
        unsafe { std::slice::from_raw_parts(code.cast::<u8>(), len) }
    };
    let f = || {
        let prog = Program::from_bytecode(code).map_err(|e| e.to_string())?;
        vm.install(prog, false)
    };
    // SAFETY: forwarded contract.
    unsafe { guarded(errmsg, f) }
}

/// Run the loaded program on `len` bytes at `mem` (r1 = mem, r2 = len)
/// and store its return value into `*result`.
///
/// # Safety
///
/// `vm` comes from `ubpf_rs_new`; `mem` is valid for reading and writing
/// `len` bytes (or `len` is 0); `result` is writable; `errmsg` is NULL or
/// writable.  No other thread uses `vm` at the same time.
#[no_mangle]
pub unsafe extern "C" fn ubpf_rs_run(
    vm: *mut UbpfRs,
    mem: *mut c_void,
    len: usize,
    result: *mut u64,
    errmsg: *mut *mut c_char,
) -> bool {
    // SAFETY: per the contract, vm is a live handle or NULL.
    let Some(vm) = (unsafe { handle(vm, errmsg) }) else {
        return false;
    };
    let Some(inner) = vm.vm.as_mut() else {
        // SAFETY: forwarded contract.
        unsafe {
            set_error(errmsg, "no eBPF program loaded");
        }
        return false;
    };
    let packet: &mut [u8] = if len == 0 || mem.is_null() {
        &mut []
    } else {
        // SAFETY: mem is valid for len bytes and not aliased during the
        // call, per the contract.
        unsafe { std::slice::from_raw_parts_mut(mem.cast::<u8>(), len) }
    };
    let f = || {
        inner
            .run(packet)
            .map_err(|e| format!("eBPF program failed: {e}"))
    };
    // SAFETY: forwarded contract.
    unsafe { store_result(errmsg, result, f) }
}

/// Switch the JIT on or off; a loaded program is prepared again for the
/// new mode, keeping its maps.  On failure the previous mode and program
/// stay.
///
/// # Safety
///
/// `vm` comes from `ubpf_rs_new`; `errmsg` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn ubpf_rs_set_jit(
    vm: *mut UbpfRs,
    jit: bool,
    errmsg: *mut *mut c_char,
) -> bool {
    // SAFETY: per the contract, vm is a live handle or NULL.
    let Some(vm) = (unsafe { handle(vm, errmsg) }) else {
        return false;
    };
    let f = || vm.reconfigure(|h| h.jit = jit);
    // SAFETY: forwarded contract.
    unsafe { guarded(errmsg, f) }
}

/// Force the program type of the programs this handle loads (`type`,
/// a `UBPF_TYPE_*` value; `UBPF_TYPE_AUTO`: from the section name); a
/// loaded program is prepared again as that type, keeping its maps.  On
/// failure the previous type and program stay.
///
/// # Safety
///
/// `vm` comes from `ubpf_rs_new`; `errmsg` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn ubpf_rs_set_prog_type(
    vm: *mut UbpfRs,
    ty: c_int,
    errmsg: *mut *mut c_char,
) -> bool {
    // SAFETY: per the contract, vm is a live handle or NULL.
    let Some(vm) = (unsafe { handle(vm, errmsg) }) else {
        return false;
    };
    let f = || {
        let ty = prog_type_of(ty)?;
        vm.reconfigure(|h| h.prog_type = ty)
    };
    // SAFETY: forwarded contract.
    unsafe { guarded(errmsg, f) }
}

/// The `UBPF_TYPE_*` value of the type the loaded program runs as;
/// without a program, the type set (`UBPF_TYPE_AUTO` if none).
///
/// # Safety
///
/// `vm` is NULL or comes from `ubpf_rs_new`.
#[no_mangle]
pub unsafe extern "C" fn ubpf_rs_prog_type(vm: *const UbpfRs) -> c_int {
    // SAFETY: per the contract, vm is a live handle or NULL.
    let Some(h) = (unsafe { vm.as_ref() }) else {
        return TYPE_AUTO;
    };
    match (&h.vm, h.prog_type) {
        (Some(v), _) => prog_type_value(v.prog_type()),
        (None, Some(ty)) => prog_type_value(ty),
        (None, None) => TYPE_AUTO,
    }
}

/// Whether programs must pass the verifier (for packets of at least
/// `min_len` bytes) to load; a loaded program is prepared again, keeping
/// its maps.  On failure (the loaded program does not verify) the
/// previous setting and program stay.
///
/// # Safety
///
/// `vm` comes from `ubpf_rs_new`; `errmsg` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn ubpf_rs_set_verify(
    vm: *mut UbpfRs,
    verify: bool,
    min_len: usize,
    errmsg: *mut *mut c_char,
) -> bool {
    // SAFETY: per the contract, vm is a live handle or NULL.
    let Some(vm) = (unsafe { handle(vm, errmsg) }) else {
        return false;
    };
    let f = || vm.reconfigure(|h| h.verify = verify.then_some(min_len));
    // SAFETY: forwarded contract.
    unsafe { guarded(errmsg, f) }
}

/// Run the loaded program on a copy of the Ethernet frame of `len` bytes
/// at `frame`, as its type means it (a socket filter's packet starts at
/// the network header, 14 bytes in; the others' at the frame), and store
/// its return value into `*result`.
///
/// # Safety
///
/// `vm` comes from `ubpf_rs_new`; `frame` is valid for reading `len`
/// bytes (or `len` is 0); `result` is NULL or writable; `errmsg` is NULL
/// or writable.  No other thread uses `vm` at the same time.
#[no_mangle]
pub unsafe extern "C" fn ubpf_rs_run_packet(
    vm: *mut UbpfRs,
    frame: *const c_void,
    len: usize,
    result: *mut u64,
    errmsg: *mut *mut c_char,
) -> bool {
    // SAFETY: per the contract, vm is a live handle or NULL.
    let Some(UbpfRs { vm, packet, .. }) = (unsafe { handle(vm, errmsg) }) else {
        return false;
    };
    let Some(inner) = vm.as_mut() else {
        // SAFETY: forwarded contract.
        unsafe {
            set_error(errmsg, "no eBPF program loaded");
        }
        return false;
    };
    // SAFETY: valid for len bytes per the contract.
    let frame = unsafe { bytes(frame, len) }.unwrap_or_default();
    let f = || {
        packet.set(frame);
        if inner.prog_type() == ProgType::SocketFilter && !packet.pull(ETH_HLEN) {
            return Err(format!(
                "a frame of {len} bytes is shorter than the Ethernet header a socket \
                 filter needs"
            ));
        }
        inner
            .run_packet(packet, &PacketMeta::default())
            .map(|r| r.r0)
            .map_err(|e| format!("eBPF program failed: {e}"))
    };
    // SAFETY: forwarded contract.
    unsafe { store_result(errmsg, result, f) }
}

/// The key size, value size and maximum number of entries of `map`;
/// each output pointer may be NULL.
///
/// # Safety
///
/// `vm` comes from `ubpf_rs_new`; `map` is NUL-terminated; the outputs
/// are NULL or writable; `errmsg` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn ubpf_rs_map_info(
    vm: *const UbpfRs,
    map: *const c_char,
    key_size: *mut u32,
    value_size: *mut u32,
    max_entries: *mut u32,
    errmsg: *mut *mut c_char,
) -> bool {
    // SAFETY: per the contract, vm is a live handle or NULL.
    let Some(vm) = (unsafe { handle_ref(vm, errmsg) }) else {
        return false;
    };
    // SAFETY: forwarded contract.
    let Some(name) = (unsafe { map_name(map, errmsg) }) else {
        return false;
    };
    let f = || {
        let def = vm.map(name)?.def();
        for (out, v) in [
            (key_size, def.key_size),
            (value_size, def.value_size),
            (max_entries, def.max_entries),
        ] {
            if !out.is_null() {
                // SAFETY: writable per the contract.
                unsafe {
                    *out = v;
                }
            }
        }
        Ok(())
    };
    // SAFETY: forwarded contract.
    unsafe { guarded(errmsg, f) }
}

/// Copy the value of `key` in `map` into `value`: 1 if found, 0 if the
/// key is not in the map, -1 on error (sizes that are not the map's).
///
/// # Safety
///
/// `vm` comes from `ubpf_rs_new`; `map` is NUL-terminated; `key` is
/// valid for reading `key_size` bytes, `value` for writing `value_size`
/// bytes; `errmsg` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn ubpf_rs_map_lookup(
    vm: *const UbpfRs,
    map: *const c_char,
    key: *const c_void,
    key_size: usize,
    value: *mut c_void,
    value_size: usize,
    errmsg: *mut *mut c_char,
) -> c_int {
    // SAFETY: per the contract, vm is a live handle or NULL.
    let Some(vm) = (unsafe { handle_ref(vm, errmsg) }) else {
        return -1;
    };
    // SAFETY: forwarded contract.
    let Some(name) = (unsafe { map_name(map, errmsg) }) else {
        return -1;
    };
    // SAFETY: valid for key_size bytes per the contract.
    let key = unsafe { bytes(key, key_size) };
    let f = || {
        let m = vm.map(name)?;
        let key = key.ok_or_else(|| format!("map \"{}\": no key", m.def().name))?;
        check_size(m, "key", key.len(), m.def().key_size)?;
        check_size(m, "value", value_size, m.def().value_size)?;
        match m.lookup(key) {
            Ok(v) => {
                // SAFETY: value is valid for value_size bytes, which is
                // the map's value size, the length of v.
                unsafe { copy_out(m, "value", &v, value) }?;
                Ok(1)
            }
            Err(MapError::NoSuchKey) => Ok(0),
            Err(e) => Err(map_error(m, &e)),
        }
    };
    // SAFETY: forwarded contract.
    unsafe { guarded_with(errmsg, -1, f) }
}

/// Set the value of `key` in `map` (`flags`: `BPF_ANY` 0, `BPF_NOEXIST`
/// 1, `BPF_EXIST` 2), as `BPF_MAP_UPDATE_ELEM` does.
///
/// # Safety
///
/// `vm` comes from `ubpf_rs_new`; `map` is NUL-terminated; `key` and
/// `value` are valid for reading `key_size` and `value_size` bytes;
/// `errmsg` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn ubpf_rs_map_update(
    vm: *mut UbpfRs,
    map: *const c_char,
    key: *const c_void,
    key_size: usize,
    value: *const c_void,
    value_size: usize,
    flags: u64,
    errmsg: *mut *mut c_char,
) -> bool {
    // SAFETY: per the contract, vm is a live handle or NULL.
    let Some(vm) = (unsafe { handle_ref(vm, errmsg) }) else {
        return false;
    };
    // SAFETY: forwarded contract.
    let Some(name) = (unsafe { map_name(map, errmsg) }) else {
        return false;
    };
    // SAFETY: valid for their sizes per the contract.
    let (key, value) = unsafe { (bytes(key, key_size), bytes(value, value_size)) };
    let f = || {
        let m = vm.map(name)?;
        let key = key.ok_or_else(|| format!("map \"{}\": no key", m.def().name))?;
        let value = value.ok_or_else(|| format!("map \"{}\": no value", m.def().name))?;
        check_size(m, "key", key.len(), m.def().key_size)?;
        check_size(m, "value", value.len(), m.def().value_size)?;
        m.update(key, value, flags).map_err(|e| map_error(m, &e))
    };
    // SAFETY: forwarded contract.
    unsafe { guarded(errmsg, f) }
}

/// Delete `key` from `map`: 1 if deleted, 0 if it was not in the map,
/// -1 on error (arrays cannot delete).
///
/// # Safety
///
/// `vm` comes from `ubpf_rs_new`; `map` is NUL-terminated; `key` is
/// valid for reading `key_size` bytes; `errmsg` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn ubpf_rs_map_delete(
    vm: *mut UbpfRs,
    map: *const c_char,
    key: *const c_void,
    key_size: usize,
    errmsg: *mut *mut c_char,
) -> c_int {
    // SAFETY: per the contract, vm is a live handle or NULL.
    let Some(vm) = (unsafe { handle_ref(vm, errmsg) }) else {
        return -1;
    };
    // SAFETY: forwarded contract.
    let Some(name) = (unsafe { map_name(map, errmsg) }) else {
        return -1;
    };
    // SAFETY: valid for key_size bytes per the contract.
    let key = unsafe { bytes(key, key_size) };
    let f = || {
        let m = vm.map(name)?;
        let key = key.ok_or_else(|| format!("map \"{}\": no key", m.def().name))?;
        check_size(m, "key", key.len(), m.def().key_size)?;
        match m.delete(key) {
            Ok(()) => Ok(1),
            Err(MapError::NoSuchKey) => Ok(0),
            Err(e) => Err(map_error(m, &e)),
        }
    };
    // SAFETY: forwarded contract.
    unsafe { guarded_with(errmsg, -1, f) }
}

/// Store into `next` the key that follows `key` in `map` (`key` NULL or
/// not in the map: the first key), as `BPF_MAP_GET_NEXT_KEY` does: 1 if
/// stored, 0 after the last key, -1 on error.
///
/// # Safety
///
/// `vm` comes from `ubpf_rs_new`; `map` is NUL-terminated; `key` is NULL
/// or valid for reading `key_size` bytes, `next` for writing `key_size`
/// bytes; `errmsg` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn ubpf_rs_map_next_key(
    vm: *const UbpfRs,
    map: *const c_char,
    key: *const c_void,
    next: *mut c_void,
    key_size: usize,
    errmsg: *mut *mut c_char,
) -> c_int {
    // SAFETY: per the contract, vm is a live handle or NULL.
    let Some(vm) = (unsafe { handle_ref(vm, errmsg) }) else {
        return -1;
    };
    // SAFETY: forwarded contract.
    let Some(name) = (unsafe { map_name(map, errmsg) }) else {
        return -1;
    };
    let key = if key.is_null() {
        None
    } else {
        // SAFETY: valid for key_size bytes per the contract.
        unsafe { bytes(key, key_size) }
    };
    let f = || {
        let m = vm.map(name)?;
        check_size(m, "key", key_size, m.def().key_size)?;
        match m.next_key(key) {
            Ok(k) => {
                // SAFETY: next is valid for key_size bytes, the map's
                // key size, the length of k.
                unsafe { copy_out(m, "next key", &k, next) }?;
                Ok(1)
            }
            Err(MapError::NoSuchKey) => Ok(0),
            Err(e) => Err(map_error(m, &e)),
        }
    };
    // SAFETY: forwarded contract.
    unsafe { guarded_with(errmsg, -1, f) }
}

/// Whether the loaded program runs as JIT code.
///
/// # Safety
///
/// `vm` is NULL or comes from `ubpf_rs_new`.
#[no_mangle]
pub unsafe extern "C" fn ubpf_rs_is_jit(vm: *const UbpfRs) -> bool {
    // SAFETY: per the contract, vm is a live handle or NULL.
    unsafe { vm.as_ref() }
        .and_then(|v| v.vm.as_ref())
        .is_some_and(Vm::is_jit)
}

/// Destroy a handle (NULL is ignored).
///
/// # Safety
///
/// `vm` is NULL or comes from `ubpf_rs_new` and is not used afterwards.
#[no_mangle]
pub unsafe extern "C" fn ubpf_rs_free(vm: *mut UbpfRs) {
    if !vm.is_null() {
        // SAFETY: allocated by ubpf_rs_new, released once per the contract.
        let b = unsafe { Box::from_raw(vm) };
        let _ = catch_unwind(AssertUnwindSafe(move || drop(b)));
    }
}

/// Release an error message returned by this API (NULL is ignored).
///
/// # Safety
///
/// `errmsg` is NULL or a message from this API, released once.
#[no_mangle]
pub unsafe extern "C" fn ubpf_rs_free_error(errmsg: *mut c_char) {
    if !errmsg.is_null() {
        // SAFETY: allocated by CString::into_raw in set_error.
        drop(unsafe { CString::from_raw(errmsg) });
    }
}
