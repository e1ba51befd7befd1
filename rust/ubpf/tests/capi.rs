// SPDX-License-Identifier: GPL-2.0-or-later

//! The C API, driven from Rust as C would.

#![allow(clippy::shadow_unrelated)]

mod common;

use std::ffi::{c_char, CStr, CString};
use std::ptr;

use common::{compile, ether};
use ubpf::capi::{
    ubpf_rs_free, ubpf_rs_free_error, ubpf_rs_is_jit, ubpf_rs_load_bytecode, ubpf_rs_load_file,
    ubpf_rs_new, ubpf_rs_run, ubpf_rs_set_jit, UbpfRs,
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
