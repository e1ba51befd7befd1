// SPDX-License-Identifier: GPL-2.0-or-later

//! iovisor/ubpf (the C library) side by side: its interpreter and JIT on
//! the same programs (bytecode) and frames, when `UBPF_BENCH_IOVISOR_LIB` names a
//! shared library built from its sources (outside this repository, see
//! `scripts/ubpf/bench/build-iovisor-ubpf.sh`).  Loaded with `dlopen`: the
//! benchmark builds and runs without it.

use std::ffi::{c_char, c_int, c_void, CStr, CString};

type Create = unsafe extern "C" fn() -> *mut c_void;
type Destroy = unsafe extern "C" fn(*mut c_void);
type Load = unsafe extern "C" fn(*mut c_void, *const c_void, u32, *mut *mut c_char) -> c_int;
type Exec = unsafe extern "C" fn(*const c_void, *mut c_void, usize, *mut u64) -> c_int;
/// `ubpf_jit_fn`: r1 = mem, r2 = `mem_len`, as ours.
pub type JitFn = unsafe extern "C" fn(*mut c_void, usize) -> u64;
type Compile = unsafe extern "C" fn(*mut c_void, *mut *mut c_char) -> Option<JitFn>;

/// The library's entry points.
pub struct Lib {
    create: Create,
    destroy: Destroy,
    load: Load,
    exec: Exec,
    compile: Compile,
}

fn sym<T: Copy>(handle: *mut c_void, name: &str) -> Result<T, String> {
    let cname = CString::new(name).map_err(|e| e.to_string())?;
    // SAFETY: `handle` comes from dlopen, `cname` is a C string.
    let p = unsafe { libc::dlsym(handle, cname.as_ptr()) };
    if p.is_null() {
        return Err(format!("no symbol {name}"));
    }
    assert_eq!(std::mem::size_of::<T>(), std::mem::size_of::<*mut c_void>());
    // SAFETY: T is the function pointer type of the symbol, as declared in
    // ubpf.h (checked to be pointer-sized above).
    Ok(unsafe { std::mem::transmute_copy::<*mut c_void, T>(&p) })
}

fn take_error(msg: *mut c_char) -> String {
    if msg.is_null() {
        return "unknown error".to_owned();
    }
    // SAFETY: ubpf returns a malloc'd C string, freed here.
    unsafe {
        let s = CStr::from_ptr(msg).to_string_lossy().into_owned();
        libc::free(msg.cast());
        s
    }
}

impl Lib {
    /// The library named by `UBPF_BENCH_IOVISOR_LIB`, if set.
    pub fn from_env() -> Option<Result<Self, String>> {
        let path = std::env::var("UBPF_BENCH_IOVISOR_LIB").ok()?;
        Some(Self::open(&path))
    }

    fn open(path: &str) -> Result<Self, String> {
        let cpath = CString::new(path).map_err(|e| e.to_string())?;
        // SAFETY: plain dlopen of a library the user named; it stays
        // loaded for the life of the process.
        let handle = unsafe { libc::dlopen(cpath.as_ptr(), libc::RTLD_NOW) };
        if handle.is_null() {
            return Err(format!("cannot dlopen {path}"));
        }
        Ok(Self {
            create: sym(handle, "ubpf_create")?,
            destroy: sym(handle, "ubpf_destroy")?,
            load: sym(handle, "ubpf_load")?,
            exec: sym(handle, "ubpf_exec")?,
            compile: sym(handle, "ubpf_compile")?,
        })
    }

    /// Load `code` (the program's bytecode, as the ELF loader of this
    /// crate linked it: `ubpf_load_elf` only finds programs in `.text`)
    /// into a new VM, and JIT-compile it.
    pub fn load(&self, code: &[u8]) -> Result<Vm<'_>, String> {
        let len = u32::try_from(code.len()).map_err(|e| e.to_string())?;
        // SAFETY: ubpf's API, used as documented in ubpf.h: a VM from
        // ubpf_create, bytecode valid for the call.
        unsafe {
            let vm = (self.create)();
            if vm.is_null() {
                return Err("ubpf_create failed".to_owned());
            }
            let mut err = std::ptr::null_mut();
            if (self.load)(vm, code.as_ptr().cast(), len, &raw mut err) < 0 {
                (self.destroy)(vm);
                return Err(take_error(err));
            }
            let mut jit_err = std::ptr::null_mut();
            let Some(jit) = (self.compile)(vm, &raw mut jit_err) else {
                (self.destroy)(vm);
                return Err(take_error(jit_err));
            };
            Ok(Vm { lib: self, vm, jit })
        }
    }
}

/// A program loaded in ubpf.
pub struct Vm<'a> {
    lib: &'a Lib,
    vm: *mut c_void,
    jit: JitFn,
}

impl Vm<'_> {
    /// Run with ubpf's interpreter (`ubpf_exec`).
    pub fn interpret(&self, mem: &mut [u8]) -> u64 {
        let mut ret = 0u64;
        // SAFETY: a loaded VM, memory valid for the call.
        let rc =
            unsafe { (self.lib.exec)(self.vm, mem.as_mut_ptr().cast(), mem.len(), &raw mut ret) };
        if rc < 0 {
            u64::MAX
        } else {
            ret
        }
    }

    /// Run ubpf's JIT code.
    pub fn jit(&self, mem: &mut [u8]) -> u64 {
        // SAFETY: code compiled by ubpf for this VM, which is alive; the
        // programs are the benchmark's, which the engines' verdicts check
        // against native code first.
        unsafe { (self.jit)(mem.as_mut_ptr().cast(), mem.len()) }
    }
}

impl Drop for Vm<'_> {
    fn drop(&mut self) {
        // SAFETY: created by ubpf_create, destroyed once.
        unsafe { (self.lib.destroy)(self.vm) }
    }
}
