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
//! bool ubpf_rs_run(UbpfRs *vm, void *mem, size_t len, uint64_t *result,
//!                  char **errmsg);
//! bool ubpf_rs_set_jit(UbpfRs *vm, bool jit, char **errmsg);
//! bool ubpf_rs_is_jit(const UbpfRs *vm);
//! void ubpf_rs_free(UbpfRs *vm);
//! void ubpf_rs_free_error(char *errmsg);
//! ```
//!
//! Error messages are allocated here and must be released with
//! `ubpf_rs_free_error`.  No panic crosses this boundary: each function
//! catches unwinding and reports it as an error.  With `jit`, the loaded
//! program is trusted: the JIT does not check memory accesses.

use std::ffi::{c_char, c_void, CStr, CString};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::Path;
use std::ptr;

use crate::{Engine, Program, Trust, Vm};

/// Opaque handle of the C API.
pub struct UbpfRs {
    jit: bool,
    vm: Option<Vm>,
}

impl UbpfRs {
    const fn engine(&self) -> Engine {
        if self.jit {
            Engine::Jit(Trust::Trusted)
        } else {
            Engine::Interpreter
        }
    }

    fn install(&mut self, prog: Program) -> Result<(), String> {
        let vm = Vm::new(prog, self.engine()).map_err(|e| e.to_string())?;
        self.vm = Some(vm);
        Ok(())
    }
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

/// Run `f`, turning an error or a panic into `false` plus a message.
///
/// # Safety
///
/// `errmsg` is null or valid for writing one pointer.
unsafe fn guarded(errmsg: *mut *mut c_char, f: impl FnOnce() -> Result<(), String>) -> bool {
    let msg = match catch_unwind(AssertUnwindSafe(f)) {
        Ok(Ok(())) => return true,
        Ok(Err(m)) => m,
        Err(_) => "internal error in the eBPF engine".to_owned(),
    };
    // SAFETY: forwarded contract.
    unsafe {
        set_error(errmsg, &msg);
    }
    false
}

/// Create a handle; with `jit`, programs run as JIT code (trusted).
/// Returns NULL only if allocation fails.
#[no_mangle]
pub extern "C" fn ubpf_rs_new(jit: bool) -> *mut UbpfRs {
    catch_unwind(|| Box::into_raw(Box::new(UbpfRs { jit, vm: None }))).unwrap_or(ptr::null_mut())
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
        vm.install(prog)
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
        vm.install(prog)
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
    let mut value = 0;
    let f = || {
        value = inner
            .run(packet)
            .map_err(|e| format!("eBPF program failed: {e}"))?;
        Ok(())
    };
    // SAFETY: forwarded contract.
    if !unsafe { guarded(errmsg, f) } {
        return false;
    }
    if !result.is_null() {
        // SAFETY: result is writable per the contract.
        unsafe {
            *result = value;
        }
    }
    true
}

/// Switch the JIT on or off; a loaded program is prepared again for the
/// new mode.  On failure the previous mode and program stay.
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
    let f = || {
        let old = vm.jit;
        vm.jit = jit;
        if let Some(prog) = vm.vm.as_ref().map(|v| v.program().clone()) {
            if let Err(e) = vm.install(prog) {
                vm.jit = old;
                return Err(e);
            }
        }
        Ok(())
    };
    // SAFETY: forwarded contract.
    unsafe { guarded(errmsg, f) }
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
