// SPDX-License-Identifier: GPL-2.0-or-later

//! Map access for the monitor: the functions of `net/filter-ubpf.h`, which
//! `net/filter-ubpf-qmp.c` turns into QMP and HMP commands.  They run under
//! the BQL, like packet processing, so they never race with a program.

use std::ffi::{c_char, c_void, CStr};

use qemu_api::bindings;
use ubpf::{Map, Vm};

use crate::filter::{strdup, FilterUbpf};

/// `FilterUbpfMapDesc`
#[repr(C)]
pub struct MapDesc {
    name: *mut c_char,
    map_type: u32,
    key_size: u32,
    value_size: u32,
    max_entries: u32,
    entries: u64,
}

/// Called for each entry; returns false to stop the walk.
type EntryFn = unsafe extern "C" fn(
    opaque: *mut c_void,
    key: *const u8,
    klen: usize,
    value: *const u8,
    vlen: usize,
) -> bool;

/// Run `f` on the filter's program, reporting its error through `errmsg`.
///
/// # Safety
///
/// `filter` must be a filter-ubpf object and `errmsg` writable.
unsafe fn with_vm(
    filter: *mut bindings::Object,
    errmsg: *mut *mut c_char,
    f: impl FnOnce(&Vm) -> Result<(), String>,
) -> bool {
    let result = FilterUbpf::from_obj(filter)
        .with_vm(f)
        .unwrap_or_else(|| Err("the filter has no program".to_owned()));
    match result {
        Ok(()) => true,
        Err(msg) => {
            if !errmsg.is_null() {
                // SAFETY: errmsg is writable (caller contract).
                unsafe {
                    *errmsg = strdup(Some(&msg));
                }
            }
            false
        }
    }
}

fn map(vm: &Vm, name: *const c_char) -> Result<&Map, String> {
    // SAFETY: the C callers pass a NUL-terminated map name.
    let name = unsafe { CStr::from_ptr(name) }.to_string_lossy();
    vm.map(&name).ok_or_else(|| {
        let names: Vec<String> = vm.maps().map(|m| format!("\"{}\"", m.def().name)).collect();
        if names.is_empty() {
            format!("no map \"{name}\": the program has no maps")
        } else {
            format!("no map \"{name}\" (maps: {})", names.join(", "))
        }
    })
}

/// # Safety
///
/// `ptr` must point to `len` readable bytes (or `len` be 0).
unsafe fn bytes<'a>(ptr: *const u8, len: usize) -> &'a [u8] {
    if len == 0 || ptr.is_null() {
        &[]
    } else {
        // SAFETY: caller contract.
        unsafe { std::slice::from_raw_parts(ptr, len) }
    }
}

/// # Safety
///
/// See `net/filter-ubpf.h`.
#[no_mangle]
pub unsafe extern "C" fn filter_ubpf_map_count(
    filter: *mut bindings::Object,
    count: *mut usize,
    errmsg: *mut *mut c_char,
) -> bool {
    // SAFETY: caller contract.
    unsafe {
        with_vm(filter, errmsg, |vm| {
            *count = vm.maps().count();
            Ok(())
        })
    }
}

/// # Safety
///
/// See `net/filter-ubpf.h`.
#[no_mangle]
pub unsafe extern "C" fn filter_ubpf_map_desc(
    filter: *mut bindings::Object,
    index: usize,
    desc: *mut MapDesc,
    errmsg: *mut *mut c_char,
) -> bool {
    // SAFETY: caller contract.
    unsafe {
        with_vm(filter, errmsg, |vm| {
            let m = vm.maps().nth(index).ok_or("no such map")?;
            let d = m.def();
            *desc = MapDesc {
                name: strdup(Some(&d.name)),
                // the kernel's BPF_MAP_TYPE_* value (ubpf::maps::MAP_TYPES)
                map_type: d.kind.id(),
                key_size: d.key_size,
                value_size: d.value_size,
                max_entries: d.max_entries,
                entries: m.len() as u64,
            };
            Ok(())
        })
    }
}

/// # Safety
///
/// See `net/filter-ubpf.h`.
#[no_mangle]
pub unsafe extern "C" fn filter_ubpf_map_walk(
    filter: *mut bindings::Object,
    name: *const c_char,
    start: *const u8,
    start_len: usize,
    f: EntryFn,
    opaque: *mut c_void,
    errmsg: *mut *mut c_char,
) -> bool {
    // SAFETY: caller contract.
    unsafe {
        with_vm(filter, errmsg, |vm| {
            let m = map(vm, name)?;
            let start = (!start.is_null()).then(|| bytes(start, start_len));
            // the slices are valid for the call of f
            m.walk(start, |k, v| {
                f(opaque, k.as_ptr(), k.len(), v.as_ptr(), v.len())
            })
            .map_err(|e| format!("map \"{}\": start key: {e}", m.def().name))
        })
    }
}

/// # Safety
///
/// See `net/filter-ubpf.h`.
#[no_mangle]
pub unsafe extern "C" fn filter_ubpf_map_update(
    filter: *mut bindings::Object,
    name: *const c_char,
    key: *const u8,
    key_len: usize,
    value: *const u8,
    value_len: usize,
    flags: u64,
    errmsg: *mut *mut c_char,
) -> bool {
    // SAFETY: caller contract.
    unsafe {
        with_vm(filter, errmsg, |vm| {
            let m = map(vm, name)?;
            m.update(bytes(key, key_len), bytes(value, value_len), flags)
                .map_err(|e| format!("map \"{}\": {e}", m.def().name))
        })
    }
}

/// # Safety
///
/// See `net/filter-ubpf.h`.
#[no_mangle]
pub unsafe extern "C" fn filter_ubpf_map_delete(
    filter: *mut bindings::Object,
    name: *const c_char,
    key: *const u8,
    key_len: usize,
    errmsg: *mut *mut c_char,
) -> bool {
    // SAFETY: caller contract.
    unsafe {
        with_vm(filter, errmsg, |vm| {
            let m = map(vm, name)?;
            m.delete(bytes(key, key_len))
                .map_err(|e| format!("map \"{}\": {e}", m.def().name))
        })
    }
}

extern "C" {
    fn g_malloc0_n(n: usize, size: usize) -> *mut c_void;
}

/// Unpin the map pinned as `name` (`x-filter-ubpf-unpin`): programs that
/// use it keep it; the next program pinning that name gets a fresh map.
///
/// # Safety
///
/// `name` must be a NUL-terminated string.
#[no_mangle]
pub unsafe extern "C" fn filter_ubpf_unpin(name: *const c_char) -> bool {
    // SAFETY: caller contract.
    let name = unsafe { CStr::from_ptr(name) }.to_string_lossy();
    crate::filter::pins().unpin(&name)
}

/// The names of the pinned maps, as a NULL-terminated array that the
/// caller frees with `g_free` (the array and each string).
#[no_mangle]
pub extern "C" fn filter_ubpf_pinned_names() -> *mut *mut c_char {
    let names = crate::filter::pins().names();
    // SAFETY: g_malloc0_n aborts rather than return NULL.
    let array = unsafe { g_malloc0_n(names.len() + 1, std::mem::size_of::<*mut c_char>()) }
        .cast::<*mut c_char>();
    for (i, name) in names.iter().enumerate() {
        // SAFETY: the array has names.len() + 1 entries.
        unsafe {
            *array.add(i) = strdup(Some(name));
        }
    }
    array
}
