// SPDX-License-Identifier: GPL-2.0-or-later

//! Bindings for QEMU's abstract `netfilter` QOM class (`include/net/filter.h`).
//!
//! As the module documentation of `qemu_api::qom` describes, the bindings
//! for a parent class can live in any crate: this module provides the Rust
//! wrapper for `NetFilterState`, the `NetFilterImpl` trait holding the
//! class's virtual methods, and [`netfilter_class_init`], which fills the
//! class struct from a `NetFilterImpl`.  Nothing here is specific to
//! filter-ubpf.

use std::{
    ffi::{c_int, c_uint, CStr},
    ptr::NonNull,
};

extern "C" {
    // include/net/net.h, which the generated bindings do not cover
    fn qemu_get_vnet_hdr_len(nc: *mut NetClientState) -> c_int;
}

use qemu_api::{
    bindings::{self, iovec, Error, NetClientState, NetPacketSent},
    c_str,
    cell::Opaque,
    qom::{IsA, Object, ObjectCast, ObjectImpl, ObjectType},
    qom_isa,
};

/// A safe wrapper around [`bindings::NetFilterState`].
#[repr(transparent)]
#[derive(Debug)]
pub struct NetFilterState(Opaque<bindings::NetFilterState>);

// SAFETY: like qemu_api's own wrappers, the C object is only accessed with
// the BQL held (filters run on the main loop).
unsafe impl Send for NetFilterState {}
// SAFETY: see above.
unsafe impl Sync for NetFilterState {}

pub use bindings::NetFilterClass;

// SAFETY: NetFilterState is a transparent wrapper of the C struct whose
// QOM type name is TYPE_NETFILTER, and NetFilterClass is its class struct.
unsafe impl ObjectType for NetFilterState {
    type Class = NetFilterClass;
    const TYPE_NAME: &'static CStr =
        // SAFETY: TYPE_NETFILTER is a NUL-terminated string constant.
        unsafe { CStr::from_bytes_with_nul_unchecked(bindings::TYPE_NETFILTER) };
}
qom_isa!(NetFilterState: Object);

impl NetFilterState {
    /// The vnet header length of the filtered netdev: packets between it and
    /// its peer start with a virtio-net header of this size (0 for none).
    pub fn vnet_hdr_len(&self) -> usize {
        // SAFETY: the state is valid while &self is; netdev is set by the
        // netfilter base class before setup() and stays valid while the
        // filter is attached to it; qemu_get_vnet_hdr_len accepts NULL.
        let len = unsafe { qemu_get_vnet_hdr_len((*self.0.as_ptr()).netdev) };
        usize::try_from(len).unwrap_or(0)
    }
}

/// Virtual methods of a netfilter subclass.
pub trait NetFilterImpl: ObjectImpl + IsA<NetFilterState> {
    /// Called when the filter is attached to its netdev (user-creatable
    /// `complete`).  An error makes `-object`/`object-add` fail.
    fn setup(&self) -> Result<(), String> {
        Ok(())
    }

    /// One packet.  Return `true` to let it pass to the next filter or
    /// the peer, `false` to consume it (drop it, or send something else
    /// in its place).
    fn receive(&self, packet: &Received<'_>) -> bool;
}

/// A packet as a filter receives it.
#[derive(Debug)]
pub struct Received<'a> {
    /// Who sent it: the netdev (`queue=tx`) or its peer (`queue=rx`).
    pub sender: *mut NetClientState,
    /// `QEMU_NET_PACKET_FLAG_*`.
    pub flags: c_uint,
    /// Bytes of virtio-net header in front of the frame.
    pub vnet_hdr_len: usize,
    /// The packet, in pieces.
    pub iov: &'a [iovec],
}

/// Report `msg` through `errp` as QEMU's `error_setg` does.
///
/// # Safety
///
/// `errp` must be a valid `Error **` as passed by QEMU (it may be NULL).
pub unsafe fn error_set(errp: *mut *mut Error, msg: &str) {
    let msg = std::ffi::CString::new(msg.replace('\0', " ")).unwrap_or_default();
    // SAFETY: the format string takes exactly one string argument, which
    // is a NUL-terminated string alive for the duration of the call.
    unsafe {
        bindings::error_setg_internal(
            errp,
            c_str!("rust/net/filter-ubpf").as_ptr(),
            c_int::try_from(line!()).unwrap_or(0),
            c_str!("filter-ubpf").as_ptr(),
            c_str!("%s").as_ptr(),
            msg.as_ptr(),
        );
    }
}

/// # Safety
///
/// `nf` must point to a live instance of `T`.
unsafe fn state<'a, T: NetFilterImpl>(nf: *mut bindings::NetFilterState) -> &'a T {
    // SAFETY: QEMU calls the class hooks only on instances of the class
    // whose class_init installed them, i.e. on a T.
    unsafe { NonNull::new(nf).unwrap().cast::<T>().as_ref() }
}

unsafe extern "C" fn rust_setup<T: NetFilterImpl>(
    nf: *mut bindings::NetFilterState,
    errp: *mut *mut Error,
) {
    // SAFETY: called by netfilter_complete on an instance of T.
    let filter = unsafe { state::<T>(nf) };
    if let Err(msg) = filter.setup() {
        // SAFETY: errp comes straight from QEMU.
        unsafe {
            error_set(errp, &msg);
        }
    }
}

unsafe extern "C" fn rust_receive_iov<T: NetFilterImpl>(
    nf: *mut bindings::NetFilterState,
    sender: *mut NetClientState,
    flags: c_uint,
    iov: *const iovec,
    iovcnt: c_int,
    _sent_cb: NetPacketSent,
) -> isize {
    // SAFETY: called by qemu_netfilter_receive on an instance of T.
    let filter = unsafe { state::<T>(nf) };
    let iov = match usize::try_from(iovcnt) {
        // SAFETY: the net layer passes iovcnt valid iovec entries.
        Ok(n) if n > 0 && !iov.is_null() => unsafe { std::slice::from_raw_parts(iov, n) },
        _ => &[],
    };
    let vnet_hdr_len = filter.upcast::<NetFilterState>().vnet_hdr_len();
    let packet = Received {
        sender,
        flags,
        vnet_hdr_len,
        iov,
    };
    if filter.receive(&packet) {
        0
    } else {
        // Consuming the packet: return its size, as the net layer expects.
        let size: usize = iov.iter().map(|v| v.iov_len).sum();
        isize::try_from(size).unwrap_or(isize::MAX)
    }
}

/// Fill the `NetFilterClass` virtual methods from `T`'s `NetFilterImpl`,
/// then the `ObjectClass` ones.  A free function rather than an inherent
/// method because `NetFilterClass` is defined in another crate.
///
/// There is deliberately no `cleanup` hook: QOM finalizes the subclass
/// first, and qemu-api's `instance_finalize` drops the whole Rust struct,
/// before the parent's `netfilter_finalize` would call `cleanup` on it.
/// A Rust filter releases its resources in `Drop` instead.
pub fn netfilter_class_init<T: NetFilterImpl>(klass: &mut NetFilterClass) {
    klass.setup = Some(rust_setup::<T>);
    klass.receive_iov = Some(rust_receive_iov::<T>);
    klass.parent_class.class_init::<T>();
}
