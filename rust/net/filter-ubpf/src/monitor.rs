// SPDX-License-Identifier: GPL-2.0-or-later

//! Map access for the monitor: the functions of `net/filter-ubpf.h`, which
//! `net/filter-ubpf-qmp.c` turns into QMP and HMP commands.  They run under
//! the BQL, like packet processing, so they never race with a program.

use std::ffi::{c_char, c_void, CStr, CString};
use std::ptr;

use qemu_api::bindings;
use ubpf::maps::MapError;
use ubpf::{Map, MapFormat, Vm};

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

/// Called for each entry; returns false to stop the walk.  `fkey` and
/// `fvalue` are the typed forms (JSON text), or NULL.
type EntryFn = unsafe extern "C" fn(
    opaque: *mut c_void,
    key: *const u8,
    klen: usize,
    value: *const u8,
    vlen: usize,
    fkey: *const c_char,
    fvalue: *const c_char,
) -> bool;

/// The typed form of `bytes`, as a C string for the call of an
/// [`EntryFn`] (JSON text has no NUL: the formatter escapes it).
fn typed(format: Option<&MapFormat<'_>>, bytes: Option<&[u8]>, value: bool) -> Option<CString> {
    let (f, b) = (format?, bytes?);
    let text = if value { f.value(b) } else { f.key(b) }?;
    CString::new(text).ok()
}

fn c_ptr(s: Option<&CString>) -> *const c_char {
    s.map_or(ptr::null(), |c| c.as_ptr())
}

/// Call `f` with one entry (or one key, `value` None) and its typed forms.
///
/// # Safety
///
/// `f` must be safe to call with `opaque` (caller contract of the
/// exported functions).
unsafe fn call_entry(
    f: EntryFn,
    opaque: *mut c_void,
    format: Option<&MapFormat<'_>>,
    key: &[u8],
    value: Option<&[u8]>,
) -> bool {
    let fkey = typed(format, Some(key), false);
    let fvalue = typed(format, value, true);
    let (vptr, vlen) = value.map_or((ptr::null(), 0), |v| (v.as_ptr(), v.len()));
    // SAFETY: the slices and strings live until f returns; caller contract.
    unsafe {
        f(
            opaque,
            key.as_ptr(),
            key.len(),
            vptr,
            vlen,
            c_ptr(fkey.as_ref()),
            c_ptr(fvalue.as_ref()),
        )
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

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
            let format = vm.program().map_format(&m.def().name);
            let start = (!start.is_null()).then(|| bytes(start, start_len));
            // the slices are valid for the call of f
            m.walk(start, |k, v| {
                call_entry(f, opaque, format.as_ref(), k, Some(v))
            })
            .map_err(|e| format!("map \"{}\": start key: {e}", m.def().name))
        })
    }
}

/// # Safety
///
/// See `net/filter-ubpf.h`.
#[no_mangle]
pub unsafe extern "C" fn filter_ubpf_map_lookup(
    filter: *mut bindings::Object,
    name: *const c_char,
    key: *const u8,
    key_len: usize,
    f: EntryFn,
    opaque: *mut c_void,
    errmsg: *mut *mut c_char,
) -> bool {
    // SAFETY: caller contract.
    unsafe {
        with_vm(filter, errmsg, |vm| {
            let m = map(vm, name)?;
            let mname = &m.def().name;
            let k = bytes(key, key_len);
            // per-CPU maps: the value of the engine's one CPU, as dumped
            let value = m.lookup(k).map_err(|e| match e {
                MapError::NoSuchKey => format!("map \"{mname}\": key {} not found", hex(k)),
                e => format!("map \"{mname}\": {e}"),
            })?;
            let format = vm.program().map_format(mname);
            call_entry(f, opaque, format.as_ref(), k, Some(&value));
            Ok(())
        })
    }
}

/// # Safety
///
/// See `net/filter-ubpf.h`.
#[no_mangle]
pub unsafe extern "C" fn filter_ubpf_map_get_next(
    filter: *mut bindings::Object,
    name: *const c_char,
    key: *const u8,
    key_len: usize,
    f: EntryFn,
    opaque: *mut c_void,
    errmsg: *mut *mut c_char,
) -> bool {
    // SAFETY: caller contract.
    unsafe {
        with_vm(filter, errmsg, |vm| {
            let m = map(vm, name)?;
            let mname = &m.def().name;
            let k = (!key.is_null()).then(|| bytes(key, key_len));
            match m.next_key(k) {
                Ok(next) => {
                    let format = vm.program().map_format(mname);
                    call_entry(f, opaque, format.as_ref(), &next, None);
                    Ok(())
                }
                // after the last key: f is not called
                Err(MapError::NoSuchKey) => Ok(()),
                Err(e) => Err(format!("map \"{mname}\": {e}")),
            }
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
