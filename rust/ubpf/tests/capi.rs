// SPDX-License-Identifier: GPL-2.0-or-later

//! The C API, driven from Rust as C would.

#![allow(clippy::shadow_unrelated)]

mod common;

use std::ffi::{c_char, c_void, CStr, CString};
use std::ptr;

use common::{compile, ether, ipv4};
use ubpf::capi::{
    ubpf_rs_free, ubpf_rs_free_error, ubpf_rs_is_jit, ubpf_rs_load_bytecode, ubpf_rs_load_file,
    ubpf_rs_map_delete, ubpf_rs_map_info, ubpf_rs_map_lookup, ubpf_rs_map_next_key,
    ubpf_rs_map_update, ubpf_rs_new, ubpf_rs_prog_type, ubpf_rs_run, ubpf_rs_run_packet,
    ubpf_rs_set_jit, ubpf_rs_set_prog_type, ubpf_rs_set_verify, UbpfRs,
};

fn take_error(msg: *mut c_char) -> String {
    assert!(!msg.is_null());
    // SAFETY: a message from the API, released right after.
    let s = unsafe { CStr::from_ptr(msg) }
        .to_string_lossy()
        .into_owned();
    // SAFETY: released once.
    unsafe {
        ubpf_rs_free_error(msg);
    }
    s
}

/// `ubpf_rs_run` on `pkt`: whether it succeeded, and the result.
///
/// # Safety
///
/// `vm` is a live handle.
unsafe fn run(vm: *mut UbpfRs, pkt: &mut [u8], err: &mut *mut c_char) -> (bool, u64) {
    let mut result = 99u64;
    let ptr = if pkt.is_empty() {
        ptr::null_mut()
    } else {
        pkt.as_mut_ptr().cast()
    };
    // SAFETY: the buffer is valid for its length; vm per the contract.
    let ok = unsafe { ubpf_rs_run(vm, ptr, pkt.len(), &raw mut result, err) };
    (ok, result)
}

#[test]
fn c_api_round_trip() {
    let obj = CString::new(compile("arp_only").to_str().unwrap()).unwrap();
    for jit in [false, true] {
        let vm = ubpf_rs_new(jit);
        assert!(!vm.is_null());
        let mut err: *mut c_char = ptr::null_mut();
        // SAFETY: valid handle and strings.
        let ok = unsafe { ubpf_rs_load_file(vm, obj.as_ptr(), ptr::null(), &raw mut err) };
        assert!(ok, "{}", take_error(err));
        // SAFETY: valid handle.
        assert_eq!(unsafe { ubpf_rs_is_jit(vm) }, jit && ubpf::JIT_AVAILABLE);
        let mut arp = ether(0x0806, &[], &[0; 28]);
        let mut ip = ether(0x0800, &[], &[0x45; 20]);
        // SAFETY: buffers valid for their length.
        unsafe {
            assert_eq!(run(vm, &mut arp, &mut err), (true, 0));
            assert_eq!(run(vm, &mut ip, &mut err), (true, 1));
            assert_eq!(run(vm, &mut [], &mut err), (true, 1));
            // switch mode with the program loaded
            assert!(ubpf_rs_set_jit(vm, !jit, &raw mut err));
            assert_eq!(run(vm, &mut arp, &mut err), (true, 0));
            ubpf_rs_free(vm);
        }
    }
}

#[test]
fn c_api_errors() {
    let vm = ubpf_rs_new(false);
    let mut err: *mut c_char = ptr::null_mut();
    let missing = CString::new("/nonexistent/x.o").unwrap();
    let mut result = 0u64;
    // SAFETY: valid handle, strings and buffers.
    unsafe {
        assert!(!ubpf_rs_run(
            vm,
            ptr::null_mut(),
            0,
            &raw mut result,
            &raw mut err
        ));
        assert!(take_error(err).contains("no eBPF program loaded"));
        assert!(!ubpf_rs_load_file(
            vm,
            missing.as_ptr(),
            ptr::null(),
            &raw mut err
        ));
        assert!(take_error(err).starts_with("/nonexistent/x.o: cannot read"));
        // NULL errmsg is allowed
        assert!(!ubpf_rs_load_file(
            vm,
            missing.as_ptr(),
            ptr::null(),
            ptr::null_mut()
        ));
        let obj = CString::new(compile("two_progs").to_str().unwrap()).unwrap();
        let sect = CString::new("nope").unwrap();
        assert!(!ubpf_rs_load_file(
            vm,
            obj.as_ptr(),
            sect.as_ptr(),
            &raw mut err
        ));
        let msg = take_error(err);
        assert!(
            msg.contains("section \"nope\"") && msg.contains("drop_all"),
            "{msg}"
        );
        // bytecode; run-time error (load from address 0)
        let code: [u8; 16] = [0x61, 0x00, 0, 0, 0, 0, 0, 0, 0x95, 0, 0, 0, 0, 0, 0, 0];
        assert!(ubpf_rs_load_bytecode(
            vm,
            code.as_ptr().cast(),
            code.len(),
            &raw mut err
        ));
        let bad: [u8; 16] = [0x71, 0x10, 0, 0, 0, 0, 0, 0, 0x95, 0, 0, 0, 0, 0, 0, 0];
        assert!(ubpf_rs_load_bytecode(
            vm,
            bad.as_ptr().cast(),
            bad.len(),
            &raw mut err
        ));
        let mut pkt = [1u8; 4];
        assert_eq!(run(vm, &mut pkt, &mut err), (true, 1));
        let oob: [u8; 16] = [0x71, 0x10, 0x40, 0, 0, 0, 0, 0, 0x95, 0, 0, 0, 0, 0, 0, 0];
        assert!(ubpf_rs_load_bytecode(
            vm,
            oob.as_ptr().cast(),
            oob.len(),
            &raw mut err
        ));
        assert!(!ubpf_rs_run(
            vm,
            pkt.as_mut_ptr().cast(),
            pkt.len(),
            &raw mut result,
            &raw mut err
        ));
        let msg = take_error(err);
        assert!(msg.contains("instruction 0: out-of-bounds"), "{msg}");
        ubpf_rs_free(vm);
        ubpf_rs_free(ptr::null_mut());
        ubpf_rs_free_error(ptr::null_mut());
        assert!(!ubpf_rs_load_file(
            ptr::null_mut(),
            missing.as_ptr(),
            ptr::null(),
            &raw mut err
        ));
        let _ = take_error(err);
    }
}

/// `ubpf_rs_map_update` of `blocked` (u32 key, u64 value).
///
/// # Safety
///
/// `vm` is a live handle.
unsafe fn update(vm: *mut UbpfRs, key: u32, value: u64, flags: u64) -> Result<(), String> {
    let map = CString::new("blocked").unwrap();
    let mut err: *mut c_char = ptr::null_mut();
    // SAFETY: key and value valid for their sizes; vm per the contract.
    let ok = unsafe {
        ubpf_rs_map_update(
            vm,
            map.as_ptr(),
            (&raw const key).cast(),
            4,
            (&raw const value).cast(),
            8,
            flags,
            &raw mut err,
        )
    };
    if ok {
        Ok(())
    } else {
        Err(take_error(err))
    }
}

/// `ubpf_rs_map_lookup` of `blocked`: the C return value and the value.
///
/// # Safety
///
/// `vm` is a live handle.
unsafe fn lookup(vm: *mut UbpfRs, key: u32) -> (i32, u64) {
    let map = CString::new("blocked").unwrap();
    let mut value = 99u64;
    // SAFETY: key and value valid for their sizes; vm per the contract.
    let ret = unsafe {
        ubpf_rs_map_lookup(
            vm,
            map.as_ptr(),
            (&raw const key).cast(),
            4,
            (&raw mut value).cast(),
            8,
            ptr::null_mut(),
        )
    };
    (ret, value)
}

/// `ubpf_rs_run_packet` on `frame`: the result, or the error.
///
/// # Safety
///
/// `vm` is a live handle.
unsafe fn run_packet(vm: *mut UbpfRs, frame: &[u8]) -> Result<u64, String> {
    let mut result = 99u64;
    let mut err: *mut c_char = ptr::null_mut();
    // SAFETY: frame valid for its length; vm per the contract.
    let ok = unsafe {
        ubpf_rs_run_packet(
            vm,
            frame.as_ptr().cast(),
            frame.len(),
            &raw mut result,
            &raw mut err,
        )
    };
    if ok {
        Ok(result)
    } else {
        Err(take_error(err))
    }
}

const BLOCKED: [u8; 4] = [10, 0, 0, 1];

/// Load `maps_blocklist` into `vm`: unproven for packets of any length,
/// proven from 20 bytes on.
///
/// # Safety
///
/// `vm` is a live handle.
unsafe fn load_blocklist(vm: *mut UbpfRs, obj: &CStr, jit: bool) {
    let mut err: *mut c_char = ptr::null_mut();
    // SAFETY: valid handle and strings.
    unsafe {
        assert!(ubpf_rs_set_verify(vm, true, 0, &raw mut err));
        assert!(!ubpf_rs_load_file(
            vm,
            obj.as_ptr(),
            ptr::null(),
            &raw mut err
        ));
        let msg = take_error(err);
        assert!(msg.contains("instruction"), "{msg}");
        assert!(ubpf_rs_set_verify(vm, true, 20, &raw mut err));
        assert!(ubpf_rs_load_file(
            vm,
            obj.as_ptr(),
            ptr::null(),
            &raw mut err
        ));
        assert_eq!(ubpf_rs_prog_type(vm), 4);
        assert_eq!(ubpf_rs_is_jit(vm), jit && ubpf::JIT_AVAILABLE);
    }
}

/// The flags of updates, and runs that read and count in the map.
///
/// # Safety
///
/// `vm` is a live handle with `maps_blocklist` loaded.
unsafe fn fill_and_run(vm: *mut UbpfRs) {
    let name = CString::new("blocked").unwrap();
    let blocked = u32::from_ne_bytes(BLOCKED);
    let (mut ks, mut vs, mut max) = (0u32, 0u32, 0u32);
    // SAFETY: valid handle, strings and buffers.
    unsafe {
        assert!(ubpf_rs_map_info(
            vm,
            name.as_ptr(),
            &raw mut ks,
            &raw mut vs,
            &raw mut max,
            ptr::null_mut()
        ));
        assert_eq!((ks, vs, max), (4, 8, 1024));
        assert!(update(vm, blocked, 5, 2)
            .unwrap_err()
            .contains("no such key"));
        update(vm, blocked, 5, 1).unwrap();
        assert!(update(vm, blocked, 6, 1).unwrap_err().contains("exists"));
        update(vm, blocked, 7, 2).unwrap();
        assert_eq!(lookup(vm, blocked), (1, 7));
        assert_eq!(lookup(vm, 1).0, 0);
        // the type is ubpf: the program's memory is the packet given
        let hit = ipv4(17, BLOCKED, [10, 0, 0, 2], &[0; 8]);
        let miss = ipv4(17, [10, 0, 0, 3], [10, 0, 0, 2], &[0; 8]);
        assert_eq!(run_packet(vm, &hit), Ok(1));
        assert_eq!(run_packet(vm, &miss), Ok(0));
        assert_eq!(lookup(vm, blocked), (1, 8));
        let msg = run_packet(vm, &hit[..12]).unwrap_err();
        assert!(msg.contains("12"), "{msg}");
    }
}

/// Preparing the program again (JIT, verification, type) keeps its maps;
/// a refused setting leaves the VM as it was.
///
/// # Safety
///
/// `vm` is a live handle with `maps_blocklist` loaded.
unsafe fn reprepare(vm: *mut UbpfRs, jit: bool) {
    let blocked = u32::from_ne_bytes(BLOCKED);
    let mut err: *mut c_char = ptr::null_mut();
    // SAFETY: valid handle.
    unsafe {
        assert!(ubpf_rs_set_jit(vm, !jit, &raw mut err));
        assert!(!ubpf_rs_set_verify(vm, true, 0, &raw mut err));
        let _ = take_error(err);
        assert!(ubpf_rs_set_prog_type(vm, 4, &raw mut err));
        assert_eq!(lookup(vm, blocked), (1, 8));
        assert!(!ubpf_rs_set_prog_type(vm, 9, &raw mut err));
        assert!(take_error(err).contains("unknown eBPF program type 9"));
        let hit = ipv4(17, BLOCKED, [10, 0, 0, 2], &[0; 8]);
        // still verified for 20 bytes
        let msg = run_packet(vm, &hit[..12]).unwrap_err();
        assert!(msg.contains("20"), "{msg}");
    }
}

/// Iteration and deletion in the hash map, and errors naming the map.
///
/// # Safety
///
/// `vm` is a live handle with `maps_blocklist` loaded.
unsafe fn iterate_and_delete(vm: *mut UbpfRs) {
    let name = CString::new("blocked").unwrap();
    let blocked = u32::from_ne_bytes(BLOCKED);
    let mut err: *mut c_char = ptr::null_mut();
    let mut key = 0u32;
    // SAFETY: valid handle, strings and buffers.
    let next = |from: *const u32, to: &mut u32| unsafe {
        ubpf_rs_map_next_key(
            vm,
            name.as_ptr(),
            from.cast(),
            (&raw mut *to).cast(),
            4,
            ptr::null_mut(),
        )
    };
    // SAFETY: valid handle, strings and buffers.
    let del = |k: *const c_void, len: usize, err: *mut *mut c_char| unsafe {
        ubpf_rs_map_delete(vm, name.as_ptr(), k, len, err)
    };
    assert_eq!(next(ptr::null(), &mut key), 1);
    assert_eq!(key, blocked);
    let from = key;
    assert_eq!(next(&raw const from, &mut key), 0);
    assert_eq!(del((&raw const blocked).cast(), 4, ptr::null_mut()), 1);
    assert_eq!(del((&raw const blocked).cast(), 4, ptr::null_mut()), 0);
    assert_eq!(next(ptr::null(), &mut key), 0);
    let hit = ipv4(17, BLOCKED, [10, 0, 0, 2], &[0; 8]);
    // SAFETY: valid handle.
    assert_eq!(unsafe { run_packet(vm, &hit) }, Ok(0));
    let short = 1u16;
    assert_eq!(del((&raw const short).cast(), 2, &raw mut err), -1);
    assert_eq!(
        take_error(err),
        "map \"blocked\": the key is 2 bytes, the map's keys are 4 bytes"
    );
    let other = CString::new("allowed").unwrap();
    // SAFETY: valid handle and string.
    assert!(!unsafe {
        ubpf_rs_map_info(
            vm,
            other.as_ptr(),
            ptr::null_mut(),
            ptr::null_mut(),
            ptr::null_mut(),
            &raw mut err,
        )
    });
    assert_eq!(
        take_error(err),
        "the eBPF program has no map \"allowed\" (its maps: \"blocked\")"
    );
}

/// Verification, program types, frames and hash-map access through the C
/// API, on `maps_blocklist` (a hash map of IPv4 sources; it reads the
/// source address without checking the length).
#[test]
fn c_api_verify_and_maps() {
    let obj = CString::new(compile("maps_blocklist").to_str().unwrap()).unwrap();
    for jit in [false, true] {
        let vm = ubpf_rs_new(jit);
        // SAFETY: a live handle, freed once at the end.
        unsafe {
            load_blocklist(vm, &obj, jit);
            fill_and_run(vm);
            reprepare(vm, jit);
            iterate_and_delete(vm);
            ubpf_rs_free(vm);
        }
    }
}
