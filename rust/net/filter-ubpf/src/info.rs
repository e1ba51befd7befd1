// SPDX-License-Identifier: GPL-2.0-or-later

//! What `x-query-filter-ubpf` and `info ubpf` show of a filter, and
//! `x-filter-ubpf-load`: the functions of `net/filter-ubpf.h` that
//! `net/filter-ubpf-qmp.c` turns into monitor commands.  All run under the
//! BQL, like packet processing: a snapshot is consistent.

use std::ffi::{c_char, c_int, CStr};

use qemu_api::bindings;
use ubpf::{ProgType, Program};

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

/// The program's tag, in the manner of the kernel's (`bpftool prog
/// show`): the first 8 bytes of the SHA-1 of its instructions as the
/// object holds them, with the immediates of map references zeroed
/// (`src_reg` says what they refer to: 1 a map, 2 a map value).  It
/// identifies the bytecode; it does not equal the kernel's tag for the
/// same object (measured: the kernel hashes its own rewritten form).
pub fn tag(prog: &Program) -> String {
    let mut code = prog.bytecode().to_vec();
    for r in prog.map_refs() {
        let at = r.insn * 8;
        if let Some(insn) = code.get_mut(at..at + 16) {
            let src = if r.value_offset.is_some() { 2 } else { 1 };
            insn[1] = (insn[1] & 0x0f) | (src << 4);
            insn[4..8].fill(0);
            insn[12..16].fill(0);
        }
    }
    sha1(&code)[..8]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// SHA-1 (FIPS 180-4), for [`tag`] only.
fn sha1(data: &[u8]) -> [u8; 20] {
    let mut h: [u32; 5] = [
        0x6745_2301,
        0xefcd_ab89,
        0x98ba_dcfe,
        0x1032_5476,
        0xc3d2_e1f0,
    ];
    let mut msg = data.to_vec();
    msg.push(0x80);
    while msg.len() % 64 != 56 {
        msg.push(0);
    }
    msg.extend_from_slice(&((data.len() as u64) * 8).to_be_bytes());
    for block in msg.chunks_exact(64) {
        let mut w = [0u32; 80];
        for (i, word) in block.chunks_exact(4).enumerate() {
            w[i] = u32::from_be_bytes([word[0], word[1], word[2], word[3]]);
        }
        for i in 16..80 {
            w[i] = (w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16]).rotate_left(1);
        }
        let [mut a, mut b, mut c, mut d, mut e] = h;
        for (i, wi) in w.iter().enumerate() {
            let (f, k) = match i {
                0..=19 => ((b & c) | (!b & d), 0x5a82_7999),
                20..=39 => (b ^ c ^ d, 0x6ed9_eba1),
                40..=59 => ((b & c) | (b & d) | (c & d), 0x8f1b_bcdc),
                _ => (b ^ c ^ d, 0xca62_c1d6),
            };
            let t = a
                .rotate_left(5)
                .wrapping_add(f)
                .wrapping_add(e)
                .wrapping_add(k)
                .wrapping_add(*wi);
            e = d;
            d = c;
            c = b.rotate_left(30);
            b = a;
            a = t;
        }
        for (x, y) in h.iter_mut().zip([a, b, c, d, e]) {
            *x = x.wrapping_add(y);
        }
    }
    let mut out = [0u8; 20];
    for (chunk, x) in out.chunks_exact_mut(4).zip(h) {
        chunk.copy_from_slice(&x.to_be_bytes());
    }
    out
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

#[cfg(test)]
mod tests {
    use super::sha1;

    fn hex(b: &[u8]) -> String {
        b.iter().map(|x| format!("{x:02x}")).collect()
    }

    #[test]
    fn sha1_vectors() {
        assert_eq!(hex(&sha1(b"")), "da39a3ee5e6b4b0d3255bfef95601890afd80709");
        assert_eq!(
            hex(&sha1(b"abc")),
            "a9993e364706816aba3e25717850c26c9cd0d89d"
        );
        let long = b"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
        assert_eq!(hex(&sha1(long)), "84983e441c3bd26ebaae4aa1f95129e5e54670f1");
    }
}
