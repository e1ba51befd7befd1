// SPDX-License-Identifier: GPL-2.0-or-later

//! The `filter-ubpf` QOM type: a thin shell over the `ubpf` engine crate.
//!
//! Properties are stored until the filter is attached to its netdev
//! (`setup`), which loads the program.  After that, setting `ubpf-handler`,
//! `section` or `jit` loads a new program first and swaps it in only when it
//! loaded and passed the engine's checks; on failure the error goes back to
//! the caller (QMP `qom-set`) and the previous program keeps running.  All
//! of this, and packet processing, runs with the BQL held.

use std::{
    ffi::{c_char, c_uint, c_void, CStr, CString},
    path::Path,
    ptr::{addr_of_mut, NonNull},
};

use qemu_api::{
    bindings::{
        self, iovec, object_class_property_add, object_class_property_add_bool,
        object_class_property_add_str, object_class_property_set_description,
        object_get_canonical_path_component, Error, Visitor,
    },
    c_str,
    cell::{BqlCell, BqlRefCell},
    qom::{ObjectImpl, ObjectType, ParentField},
    qom_isa,
};
use ubpf::{
    net::program_memory, verify, Convention, Engine, Program, Trust, VerifyOptions, Vm, VmOptions,
};

use crate::netfilter::{
    error_set, netfilter_class_init, NetFilterClass, NetFilterImpl, NetFilterState,
};

extern "C" {
    // net/filter-ubpf-trace.h
    fn filter_ubpf_trace_loaded(
        id: *const c_char,
        replaced: bool,
        path: *const c_char,
        section: *const c_char,
        insns: c_uint,
        jit: bool,
    );
    fn filter_ubpf_trace_load_failed(id: *const c_char, error: *const c_char);
    fn filter_ubpf_trace_run_error_enabled() -> bool;
    fn filter_ubpf_trace_run_error(id: *const c_char, error: *const c_char);

    fn g_strdup(s: *const c_char) -> *mut c_char;
    fn visit_type_uint64(
        v: *mut Visitor,
        name: *const c_char,
        obj: *mut u64,
        errp: *mut *mut Error,
    ) -> bool;
}

pub const TYPE_FILTER_UBPF: &CStr = c_str!("filter-ubpf");

/// What the user configured; applied when the filter is attached.
#[derive(Debug, Default, Clone)]
struct Config {
    handler: Option<String>,
    section: Option<String>,
    ip_mode: bool,
    jit: bool,
    keep_maps: bool,
    verify: bool,
    convention: Convention,
}

/// Bytes a program can rely on: the filter runs it only on memory that
/// holds a complete IPv4 header (ip-mode) or an Ethernet header.
const fn min_len(ip_mode: bool) -> usize {
    if ip_mode {
        20
    } else {
        14
    }
}

fn convention_name(c: Convention) -> &'static str {
    match c {
        Convention::Context => "context",
        _ => "raw",
    }
}

/// Packet counters, read-only QOM properties.
#[derive(Debug, Default, Clone, Copy)]
struct Counters {
    packets: u64,
    passed: u64,
    dropped: u64,
    errors: u64,
}

#[repr(C)]
#[derive(qemu_api_macros::Object)]
pub struct FilterUbpf {
    parent_obj: ParentField<NetFilterState>,
    config: BqlRefCell<Config>,
    /// The running program; `None` until setup.
    vm: BqlRefCell<Option<Vm>>,
    /// Reused buffer for packets that come in several iovec pieces.
    scratch: BqlRefCell<Vec<u8>>,
    counters: BqlCell<Counters>,
}

qom_isa!(FilterUbpf: NetFilterState, qemu_api::qom::Object);

// SAFETY: FilterUbpf is a #[repr(C)] QOM object whose first field is its
// parent, and NetFilterClass is the class struct it uses.
unsafe impl ObjectType for FilterUbpf {
    type Class = NetFilterClass;
    const TYPE_NAME: &'static CStr = TYPE_FILTER_UBPF;
}

impl ObjectImpl for FilterUbpf {
    type ParentType = NetFilterState;
    const INSTANCE_INIT: Option<unsafe fn(&mut Self)> = Some(Self::init);
    const CLASS_INIT: fn(&mut NetFilterClass) = Self::class_init;
}

/// Which counter a read-only property reads (its `opaque`).
#[derive(Clone, Copy)]
enum Counter {
    Packets,
    Passed,
    Dropped,
    Errors,
}

impl Counter {
    const ALL: [(Counter, &'static CStr, &'static CStr); 4] = [
        (
            Counter::Packets,
            c_str!("packets"),
            c_str!("packets seen by the filter while on (read-only)"),
        ),
        (
            Counter::Passed,
            c_str!("passed"),
            c_str!("packets passed on, including packets whose run failed (read-only)"),
        ),
        (
            Counter::Dropped,
            c_str!("dropped"),
            c_str!("packets dropped: the program returned non-zero (read-only)"),
        ),
        (
            Counter::Errors,
            c_str!("errors"),
            c_str!("program runs that failed at run time; such packets pass (read-only)"),
        ),
    ];

    fn read(self, c: Counters) -> u64 {
        match self {
            Counter::Packets => c.packets,
            Counter::Passed => c.passed,
            Counter::Dropped => c.dropped,
            Counter::Errors => c.errors,
        }
    }
}

impl FilterUbpf {
    /// # Safety
    ///
    /// Called by QOM on zeroed memory for the fields of this struct.
    unsafe fn init(&mut self) {
        // SAFETY: the fields are zeroed, not valid values: write them
        // without dropping the previous contents.
        unsafe {
            addr_of_mut!(self.config).write(BqlRefCell::new(Config {
                ip_mode: true,
                jit: true,
                verify: true,
                ..Config::default()
            }));
            addr_of_mut!(self.vm).write(BqlRefCell::new(None));
            addr_of_mut!(self.scratch).write(BqlRefCell::new(Vec::new()));
            addr_of_mut!(self.counters).write(BqlCell::new(Counters::default()));
        }
    }

    fn class_init(klass: &mut NetFilterClass) {
        netfilter_class_init::<Self>(klass);
        let oc: *mut bindings::ObjectClass = &raw mut klass.parent_class;
        // SAFETY: oc is the class being initialized; names, descriptions and
        // accessors are 'static.
        unsafe {
            object_class_property_add_str(
                oc,
                c_str!("ubpf-handler").as_ptr(),
                Some(get_handler),
                Some(set_handler),
            );
            object_class_property_set_description(
                oc,
                c_str!("ubpf-handler").as_ptr(),
                c_str!("path of the eBPF ELF object (clang -O2 -target bpf -c); setting it on a running filter replaces the program").as_ptr(),
            );
            object_class_property_add_str(
                oc,
                c_str!("section").as_ptr(),
                Some(get_section),
                Some(set_section),
            );
            object_class_property_set_description(
                oc,
                c_str!("section").as_ptr(),
                c_str!("ELF section of the program (default: the only program in the object)")
                    .as_ptr(),
            );
            object_class_property_add_bool(
                oc,
                c_str!("ip-mode").as_ptr(),
                Some(get_ip_mode),
                Some(set_ip_mode),
            );
            object_class_property_set_description(
                oc,
                c_str!("ip-mode").as_ptr(),
                c_str!("on: the program sees the packet from the IPv4 header on, frames without one pass; off: the whole Ethernet frame (default: on)").as_ptr(),
            );
            object_class_property_add_bool(
                oc,
                c_str!("verify").as_ptr(),
                Some(get_verify),
                Some(set_verify),
            );
            object_class_property_set_description(
                oc,
                c_str!("verify").as_ptr(),
                c_str!("on: refuse programs whose memory accesses and termination the verifier cannot prove; off: load them anyway, run them only in the checked interpreter, never with the JIT (default: on)").as_ptr(),
            );
            object_class_property_add_str(
                oc,
                c_str!("convention").as_ptr(),
                Some(get_convention),
                Some(set_convention),
            );
            object_class_property_set_description(
                oc,
                c_str!("convention").as_ptr(),
                c_str!("raw: r1 = packet, r2 = its length; context: r1 = a context whose first fields are the packet's start and end, as XDP's struct xdp_md (default: raw)").as_ptr(),
            );
            object_class_property_add_bool(
                oc,
                c_str!("keep-maps").as_ptr(),
                Some(get_keep_maps),
                Some(set_keep_maps),
            );
            object_class_property_set_description(
                oc,
                c_str!("keep-maps").as_ptr(),
                c_str!("on: a replacement program takes over the maps of the old one that have the same name, type and sizes; off: it starts with fresh maps (default: off)").as_ptr(),
            );
            object_class_property_add_bool(
                oc,
                c_str!("jit").as_ptr(),
                Some(get_jit),
                Some(set_jit),
            );
            object_class_property_set_description(
                oc,
                c_str!("jit").as_ptr(),
                c_str!("on: run verified programs with the x86-64 JIT; off: with the interpreter, which also checks every access at run time (default: on)").as_ptr(),
            );
            object_class_property_add_bool(
                oc,
                c_str!("program-verified").as_ptr(),
                Some(get_program_verified),
                None,
            );
            object_class_property_set_description(
                oc,
                c_str!("program-verified").as_ptr(),
                c_str!("whether the running program passed the verifier (read-only)").as_ptr(),
            );
            object_class_property_add_bool(
                oc,
                c_str!("program-jit").as_ptr(),
                Some(get_program_jit),
                None,
            );
            object_class_property_set_description(
                oc,
                c_str!("program-jit").as_ptr(),
                c_str!("whether the running program runs as JIT-compiled code (read-only)")
                    .as_ptr(),
            );
            for (counter, name, desc) in Counter::ALL {
                object_class_property_add(
                    oc,
                    name.as_ptr(),
                    c_str!("uint64").as_ptr(),
                    Some(get_counter),
                    None,
                    None,
                    // the opaque pointer only carries the counter's index
                    (counter as usize + 1) as *mut c_void,
                );
                object_class_property_set_description(oc, name.as_ptr(), desc.as_ptr());
            }
        }
    }

    pub(crate) fn from_obj<'a>(obj: *mut bindings::Object) -> &'a Self {
        // SAFETY: property accessors are only registered on this class, so
        // QOM passes instances of it.
        unsafe { NonNull::new(obj).unwrap().cast::<Self>().as_ref() }
    }

    /// Whether `setup()` ran: properties then take effect at once.
    fn attached(&self) -> bool {
        self.vm.borrow().is_some()
    }

    /// Run `f` on the running program, if there is one.
    pub(crate) fn with_vm<R>(&self, f: impl FnOnce(&Vm) -> R) -> Option<R> {
        self.vm.borrow().as_ref().map(f)
    }

    /// Load and check the program described by `config`; with `old`, the
    /// new program takes over the old one's matching maps.
    fn load(config: &Config, old: Option<&mut Vm>) -> Result<Vm, String> {
        let Some(handler) = config.handler.as_deref() else {
            return Err("filter-ubpf: property 'ubpf-handler' is required".to_owned());
        };
        let program = Program::load_file(Path::new(handler), config.section.as_deref())
            .map_err(|e| format!("filter-ubpf: {e}"))?;
        let convention = config.convention;
        // Only verified programs may run with the JIT, which does not check
        // memory accesses; unverified ones run in the checked interpreter.
        let (engine, proof) = if config.verify {
            let options = VerifyOptions {
                convention,
                min_len: min_len(config.ip_mode),
            };
            let proof = verify(&program, &options).map_err(|e| format!("filter-ubpf: {e}"))?;
            if config.jit {
                (Engine::Jit(Trust::Verified(proof)), None)
            } else {
                (Engine::Interpreter, Some(proof))
            }
        } else {
            (Engine::Interpreter, None)
        };
        let options = VmOptions { convention, proof };
        match old {
            Some(old) => Vm::with_options_keeping_maps(program, engine, options, old),
            None => Vm::with_options(program, engine, options),
        }
        .map_err(|e| format!("filter-ubpf: {e}"))
    }

    /// Apply a configuration change: before setup, just store it; after,
    /// load the new program and swap it in only if that worked.
    fn reconfigure(&self, change: impl FnOnce(&mut Config)) -> Result<(), String> {
        if !self.attached() {
            change(&mut self.config.borrow_mut());
            return Ok(());
        }
        let mut config = self.config.borrow_mut();
        let mut next = config.clone();
        change(&mut next);
        let mut current = self.vm.borrow_mut();
        let old = current.as_mut().filter(|_| next.keep_maps);
        let vm = self.load_traced(&next, true, old)?;
        *config = next;
        *current = Some(vm);
        Ok(())
    }

    /// [`Self::load`], with the outcome in the trace.
    fn load_traced(
        &self,
        config: &Config,
        replaced: bool,
        old: Option<&mut Vm>,
    ) -> Result<Vm, String> {
        let id = self.id();
        match Self::load(config, old) {
            Ok(vm) => {
                let path = cstring(config.handler.as_deref().unwrap_or_default());
                let section = cstring(vm.program().section());
                let insns = c_uint::try_from(vm.program().insn_count()).unwrap_or(c_uint::MAX);
                // SAFETY: all strings are NUL-terminated and outlive the call.
                unsafe {
                    filter_ubpf_trace_loaded(
                        id.as_ptr(),
                        replaced,
                        path.as_ptr(),
                        section.as_ptr(),
                        insns,
                        vm.is_jit(),
                    );
                }
                Ok(vm)
            }
            Err(msg) => {
                let error = cstring(&msg);
                // SAFETY: both strings are NUL-terminated and outlive the call.
                unsafe {
                    filter_ubpf_trace_load_failed(id.as_ptr(), error.as_ptr());
                }
                Err(msg)
            }
        }
    }

    /// The object's id, for traces ("filter-ubpf" before it has one).
    fn id(&self) -> CString {
        let obj: *const bindings::Object = (self as *const Self).cast();
        // SAFETY: self is a live QOM object; the function returns NULL or
        // a string owned by the object.
        let name = unsafe { object_get_canonical_path_component(obj) };
        if name.is_null() {
            cstring("filter-ubpf")
        } else {
            // SAFETY: name is a valid NUL-terminated string (see above).
            unsafe { CStr::from_ptr(name) }.to_owned()
        }
    }

    fn trace_run_error(&self, error: &ubpf::RunError) {
        // SAFETY: no arguments; reads the trace event's state.
        if unsafe { filter_ubpf_trace_run_error_enabled() } {
            let error = cstring(&error.to_string());
            // SAFETY: both strings are NUL-terminated and outlive the call.
            unsafe {
                filter_ubpf_trace_run_error(self.id().as_ptr(), error.as_ptr());
            }
        }
    }

    fn count(&self, f: impl FnOnce(&mut Counters)) {
        let mut c = self.counters.get();
        f(&mut c);
        self.counters.set(c);
    }
}

impl NetFilterImpl for FilterUbpf {
    fn setup(&self) -> Result<(), String> {
        let vm = self.load_traced(&self.config.borrow(), false, None)?;
        *self.vm.borrow_mut() = Some(vm);
        Ok(())
    }

    fn receive(&self, vnet_hdr_len: usize, iov: &[iovec]) -> bool {
        let mut vm = self.vm.borrow_mut();
        let Some(vm) = vm.as_mut() else {
            return true;
        };
        // only packets in several pieces need the scratch buffer
        let mut scratch;
        let frame: &mut [u8] = if let [one] = iov {
            if one.iov_base.is_null() {
                &mut []
            } else {
                // SAFETY: the net layer hands us iov_len valid bytes that no
                // one else touches while the filter chain runs; the program
                // may write to them, as an XDP program may.
                unsafe { std::slice::from_raw_parts_mut(one.iov_base.cast::<u8>(), one.iov_len) }
            }
        } else {
            scratch = self.scratch.borrow_mut();
            scratch.clear();
            for piece in iov.iter().filter(|v| !v.iov_base.is_null()) {
                // SAFETY: as above, each piece holds iov_len valid bytes.
                let bytes = unsafe {
                    std::slice::from_raw_parts(piece.iov_base.cast::<u8>(), piece.iov_len)
                };
                scratch.extend_from_slice(bytes);
            }
            &mut scratch[..]
        };
        let frame = frame.get_mut(vnet_hdr_len..).unwrap_or_default();
        let Some(mem) = program_memory(frame, self.config.borrow().ip_mode) else {
            // not IPv4 in ip-mode, or too short to hold the headers the
            // program may rely on: pass untouched
            self.count(|c| {
                c.packets += 1;
                c.passed += 1;
            });
            return true;
        };
        match vm.run(mem) {
            Ok(0) => {
                self.count(|c| {
                    c.packets += 1;
                    c.passed += 1;
                });
                true
            }
            Ok(_) => {
                self.count(|c| {
                    c.packets += 1;
                    c.dropped += 1;
                });
                false
            }
            Err(e) => {
                self.trace_run_error(&e);
                self.count(|c| {
                    c.packets += 1;
                    c.passed += 1;
                    c.errors += 1;
                });
                true
            }
        }
    }
}

// ---- QOM property accessors (C ABI) ----

/// `s` as a C string (a NUL inside it would end the string: replaced).
fn cstring(s: &str) -> CString {
    CString::new(s.replace('\0', " ")).unwrap_or_default()
}

pub(crate) fn strdup(s: Option<&str>) -> *mut c_char {
    let s = cstring(s.unwrap_or_default());
    // SAFETY: s is a valid NUL-terminated string; g_strdup copies it into
    // memory the caller (QOM) frees with g_free.
    unsafe { g_strdup(s.as_ptr()) }
}

/// # Safety
///
/// `v` must be a valid NUL-terminated string.
unsafe fn arg(v: *const c_char) -> String {
    // SAFETY: QOM passes the NUL-terminated property value.
    unsafe { CStr::from_ptr(v) }.to_string_lossy().into_owned()
}

unsafe extern "C" fn get_handler(
    obj: *mut bindings::Object,
    _errp: *mut *mut Error,
) -> *mut c_char {
    strdup(FilterUbpf::from_obj(obj).config.borrow().handler.as_deref())
}

unsafe extern "C" fn set_handler(
    obj: *mut bindings::Object,
    v: *const c_char,
    errp: *mut *mut Error,
) {
    // SAFETY: v is the property value passed by QOM.
    let path = unsafe { arg(v) };
    if let Err(msg) = FilterUbpf::from_obj(obj).reconfigure(|c| c.handler = Some(path)) {
        // SAFETY: errp comes from QOM.
        unsafe {
            error_set(errp, &msg);
        }
    }
}

unsafe extern "C" fn get_section(
    obj: *mut bindings::Object,
    _errp: *mut *mut Error,
) -> *mut c_char {
    strdup(FilterUbpf::from_obj(obj).config.borrow().section.as_deref())
}

unsafe extern "C" fn set_section(
    obj: *mut bindings::Object,
    v: *const c_char,
    errp: *mut *mut Error,
) {
    // SAFETY: v is the property value passed by QOM.
    let section = unsafe { arg(v) };
    let section = (!section.is_empty()).then_some(section);
    if let Err(msg) = FilterUbpf::from_obj(obj).reconfigure(|c| c.section = section) {
        // SAFETY: errp comes from QOM.
        unsafe {
            error_set(errp, &msg);
        }
    }
}

unsafe extern "C" fn get_ip_mode(obj: *mut bindings::Object, _errp: *mut *mut Error) -> bool {
    FilterUbpf::from_obj(obj).config.borrow().ip_mode
}

unsafe extern "C" fn set_ip_mode(obj: *mut bindings::Object, v: bool, errp: *mut *mut Error) {
    // the program's guaranteed packet length changes: verify it again
    if let Err(msg) = FilterUbpf::from_obj(obj).reconfigure(|c| c.ip_mode = v) {
        // SAFETY: errp comes from QOM.
        unsafe {
            error_set(errp, &msg);
        }
    }
}

unsafe extern "C" fn get_program_verified(
    obj: *mut bindings::Object,
    _errp: *mut *mut Error,
) -> bool {
    FilterUbpf::from_obj(obj)
        .with_vm(Vm::is_verified)
        .unwrap_or(false)
}

unsafe extern "C" fn get_program_jit(obj: *mut bindings::Object, _errp: *mut *mut Error) -> bool {
    FilterUbpf::from_obj(obj)
        .with_vm(Vm::is_jit)
        .unwrap_or(false)
}

unsafe extern "C" fn get_verify(obj: *mut bindings::Object, _errp: *mut *mut Error) -> bool {
    FilterUbpf::from_obj(obj).config.borrow().verify
}

unsafe extern "C" fn set_verify(obj: *mut bindings::Object, v: bool, errp: *mut *mut Error) {
    if let Err(msg) = FilterUbpf::from_obj(obj).reconfigure(|c| c.verify = v) {
        // SAFETY: errp comes from QOM.
        unsafe {
            error_set(errp, &msg);
        }
    }
}

unsafe extern "C" fn get_convention(
    obj: *mut bindings::Object,
    _errp: *mut *mut Error,
) -> *mut c_char {
    strdup(Some(convention_name(
        FilterUbpf::from_obj(obj).config.borrow().convention,
    )))
}

unsafe extern "C" fn set_convention(
    obj: *mut bindings::Object,
    v: *const c_char,
    errp: *mut *mut Error,
) {
    // SAFETY: v is the property value passed by QOM.
    let convention = match unsafe { arg(v) }.as_str() {
        "raw" => Convention::Raw,
        "context" => Convention::Context,
        other => {
            let msg = format!("filter-ubpf: convention '{other}': use 'raw' or 'context'");
            // SAFETY: errp comes from QOM.
            unsafe {
                error_set(errp, &msg);
            }
            return;
        }
    };
    if let Err(msg) = FilterUbpf::from_obj(obj).reconfigure(|c| c.convention = convention) {
        // SAFETY: errp comes from QOM.
        unsafe {
            error_set(errp, &msg);
        }
    }
}

unsafe extern "C" fn get_keep_maps(obj: *mut bindings::Object, _errp: *mut *mut Error) -> bool {
    FilterUbpf::from_obj(obj).config.borrow().keep_maps
}

unsafe extern "C" fn set_keep_maps(obj: *mut bindings::Object, v: bool, _errp: *mut *mut Error) {
    FilterUbpf::from_obj(obj).config.borrow_mut().keep_maps = v;
}

unsafe extern "C" fn get_jit(obj: *mut bindings::Object, _errp: *mut *mut Error) -> bool {
    FilterUbpf::from_obj(obj).config.borrow().jit
}

unsafe extern "C" fn set_jit(obj: *mut bindings::Object, v: bool, errp: *mut *mut Error) {
    if let Err(msg) = FilterUbpf::from_obj(obj).reconfigure(|c| c.jit = v) {
        // SAFETY: errp comes from QOM.
        unsafe {
            error_set(errp, &msg);
        }
    }
}

unsafe extern "C" fn get_counter(
    obj: *mut bindings::Object,
    v: *mut Visitor,
    name: *const c_char,
    opaque: *mut c_void,
    errp: *mut *mut Error,
) {
    let index = (opaque as usize).wrapping_sub(1);
    let Some((counter, _, _)) = Counter::ALL.get(index) else {
        return;
    };
    let mut value = counter.read(FilterUbpf::from_obj(obj).counters.get());
    // SAFETY: v, name and errp come from QOM; value outlives the call.
    unsafe {
        visit_type_uint64(v, name, &raw mut value, errp);
    }
}
