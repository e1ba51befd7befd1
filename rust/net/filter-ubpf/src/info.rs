// SPDX-License-Identifier: GPL-2.0-or-later

//! What `x-query-filter-ubpf` and `info ubpf` show of a filter, and
//! `x-filter-ubpf-load`: the functions of `net/filter-ubpf.h` that
//! `net/filter-ubpf-qmp.c` turns into monitor commands.  All run under the
//! BQL, like packet processing: a snapshot is consistent.

use std::ffi::{c_char, c_int, CStr};

use qemu_api::bindings;
use ubpf::{ProgType, Program, TagHash};

use crate::filter::{
    convention_index, convention_of, parse_globals, prog_type_index, prog_type_of, strdup,
    FilterUbpf, Settings,
};

/// `FilterUbpfInfo`
#[repr(C)]
pub struct Info {
    file: *mut c_char,
    section: *mut c_char,
    tag: *mut c_char,
    insns: u64,
    load_time: u64,
    verified: bool,
    jit: bool,
    ip_mode: bool,
    convention: c_int,
    prog_type: c_int,
    ifindex: u32,
    stats: bool,
    packets: u64,
    passed: u64,
    dropped: u64,
    aborted: u64,
    tx: u64,
    redirected: u64,
    truncated: u64,
    errors: u64,
    unfiltered: u64,
    run_count: u64,
    run_time_ns: u64,
}

/// `FilterUbpfLoad`
#[repr(C)]
pub struct Load {
    handler: *const c_char,
    section: *const c_char,
    ip_mode: c_int,
    convention: c_int,
    prog_type: c_int,
    verify: c_int,
    jit: c_int,
    keep_maps: c_int,
    globals: *const c_char,
}

/// The program's tag, in hexadecimal: the tag the kernel of this host
/// gives the same object (`bpftool prog show`), see [`Program::tag`].
pub fn tag(prog: &Program) -> String {
    prog.tag(TagHash::host())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// # Safety
///
/// See `net/filter-ubpf.h`.
#[no_mangle]
pub unsafe extern "C" fn filter_ubpf_info(filter: *mut bindings::Object, info: *mut Info) -> bool {
    let f = FilterUbpf::from_obj(filter);
    let config = f.config.borrow();
    let c = f.counters.get();
    let Some(loaded) = f.with_loaded(|l| {
        let prog = l.vm.program();
        (
            prog.section().to_owned(),
            tag(prog),
            prog.insn_count() as u64,
            l.load_time,
            l.vm.is_verified(),
            l.vm.is_jit(),
            l.vm.prog_type(),
        )
    }) else {
        return false;
    };
    let (section, tag, insns, load_time, verified, jit, ty) = loaded;
    // SAFETY: info is writable (caller contract).
    unsafe {
        *info = Info {
            file: strdup(config.handler.as_deref()),
            section: strdup(Some(&section)),
            tag: strdup(Some(&tag)),
            insns,
            load_time,
            verified,
            jit,
            ip_mode: config.ip_mode,
            convention: convention_index(ty.convention()),
            prog_type: prog_type_index(Some(ty)),
            ifindex: config.ifindex,
            stats: config.stats,
            packets: c.packets,
            passed: c.passed,
            dropped: c.dropped,
            aborted: c.aborted,
            tx: c.tx,
            redirected: c.redirected,
            truncated: c.truncated,
            errors: c.errors,
            unfiltered: c.unfiltered,
            run_count: c.run_count,
            run_time_ns: c.run_time_ns,
        };
    }
    true
}

/// `v`: -1 for unchanged, else 0 or 1.
fn flag(v: c_int) -> Option<bool> {
    (v >= 0).then_some(v != 0)
}

/// # Safety
///
/// `s` must be NULL or a NUL-terminated string.
unsafe fn opt_str(s: *const c_char) -> Option<String> {
    // SAFETY: caller contract.
    (!s.is_null()).then(|| unsafe { CStr::from_ptr(s) }.to_string_lossy().into_owned())
}

/// # Safety
///
/// See `net/filter-ubpf.h`.
#[no_mangle]
pub unsafe extern "C" fn filter_ubpf_load(
    filter: *mut bindings::Object,
    load: *const Load,
    errmsg: *mut *mut c_char,
) -> bool {
    // SAFETY: load is valid (caller contract).
    let load = unsafe { &*load };
    let settings = Settings {
        // SAFETY: the strings are NULL or NUL-terminated (caller contract).
        handler: unsafe { opt_str(load.handler) },
        // SAFETY: as above.
        section: unsafe { opt_str(load.section) },
        ip_mode: flag(load.ip_mode),
        // a convention forces the type of that convention
        prog_type: if load.prog_type >= 0 {
            Some(prog_type_of(load.prog_type))
        } else {
            convention_of(load.convention).map(|c| Some(ProgType::of_convention(c)))
        },
        verify: flag(load.verify),
        jit: flag(load.jit),
        keep_maps: flag(load.keep_maps),
        globals: None,
    };
    // SAFETY: as above.
    let globals = unsafe { opt_str(load.globals) };
    let result = globals
        .as_deref()
        .map(parse_globals)
        .transpose()
        .and_then(|globals| {
            FilterUbpf::from_obj(filter).apply(Settings {
                globals,
                ..settings
            })
        });
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
