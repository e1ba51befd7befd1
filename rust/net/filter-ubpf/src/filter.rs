// SPDX-License-Identifier: GPL-2.0-or-later

//! The `filter-ubpf` QOM type: a thin shell over the `ubpf` engine crate.
//!
//! Properties are stored until the filter is attached to its netdev
//! (`setup`), which reads the object file and loads the program.  After
//! that, a change loads a new program first and swaps it in only when it
//! loaded and passed the engine's checks; on failure the error goes back to
//! the caller (QMP `qom-set`) and the previous program keeps running.
//!
//! Only setting `ubpf-handler` reads the file.  The filter keeps the
//! object's bytes and the parsed program: `section` picks another program
//! of the same object, `ip-mode`, `convention`, `verify` and `jit` check
//! and prepare the same program again, and all of these keep the maps and
//! their contents.  Several settings change at once with
//! [`FilterUbpf::apply`] (QMP `x-filter-ubpf-load`).  All of this, and
//! packet processing, runs with the BQL held.

use std::{
    ffi::{c_char, c_int, c_uint, c_void, CStr, CString},
    path::Path,
    ptr::{addr_of_mut, NonNull},
    time::{Instant, SystemTime},
};

use qemu_api::{
    bindings::{
        self, object_class_property_add, object_class_property_add_bool,
        object_class_property_add_enum, object_class_property_add_str,
        object_class_property_set_description, object_get_canonical_path_component, Error,
        QEnumLookup, Visitor,
    },
    c_str,
    cell::{BqlCell, BqlRefCell},
    qom::{ObjectImpl, ObjectType, ParentField},
    qom_isa,
};
use ubpf::{
    filter::{min_len, program_start, redirect_targets, Fate},
    read_object_file, verify, Convention, Engine, Packet, PacketMeta, PinRegistry, ProgType,
    Program, Trust, Verdict, VerifyOptions, Vm, VmOptions,
};

use crate::netfilter::{
    error_set, netfilter_class_init, NetFilterClass, NetFilterImpl, NetFilterState, Received,
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
    fn filter_ubpf_trace_aborted(id: *const c_char, r0: u64);
    fn filter_ubpf_trace_redirect_failed(id: *const c_char, ifindex: u32, why: *const c_char);
    fn filter_ubpf_trace_printk_enabled() -> bool;
    fn filter_ubpf_trace_printk(id: *const c_char, line: *const c_char);
    fn filter_ubpf_trace_verdict_enabled() -> bool;
    fn filter_ubpf_trace_verdict(id: *const c_char, action: *const c_char, r0: u64, len: c_uint);
    fn filter_ubpf_trace_unloaded(id: *const c_char, path: *const c_char, section: *const c_char);

    // net/filter-ubpf.h
    fn filter_ubpf_pass_on(
        nf: *mut bindings::NetFilterState,
        sender: *mut bindings::NetClientState,
        flags: c_uint,
        buf: *const u8,
        len: usize,
    );
    fn filter_ubpf_send_back(
        sender: *mut bindings::NetClientState,
        flags: c_uint,
        buf: *const u8,
        len: usize,
    ) -> bool;
    fn filter_ubpf_redirect(
        ifindex: u32,
        ingress: bool,
        flags: c_uint,
        buf: *const u8,
        len: usize,
    ) -> *const c_char;
    fn filter_ubpf_by_ifindex(ifindex: u32) -> *mut bindings::NetFilterState;
    fn filter_ubpf_emit_record(id: *const c_char, map: *const c_char, data: *const u8, len: usize);

    fn g_strdup(s: *const c_char) -> *mut c_char;

    // qapi/qapi-types-qom.h
    static UbpfConvention_lookup: QEnumLookup;
    static UbpfProgType_lookup: QEnumLookup;
    static UbpfUnfilteredAction_lookup: QEnumLookup;
    fn visit_type_uint64(
        v: *mut Visitor,
        name: *const c_char,
        obj: *mut u64,
        errp: *mut *mut Error,
    ) -> bool;
    fn visit_type_uint32(
        v: *mut Visitor,
        name: *const c_char,
        obj: *mut u32,
        errp: *mut *mut Error,
    ) -> bool;
}

/// The maps pinned by name (`LIBBPF_PIN_BY_NAME`) of the whole process:
/// every filter loads its programs with it, so programs that pin a map
/// of the same name share it, and a pinned map outlives the programs and
/// filters that used it until `x-filter-ubpf-unpin`.
pub(crate) fn pins() -> &'static PinRegistry {
    static PINS: std::sync::OnceLock<PinRegistry> = std::sync::OnceLock::new();
    PINS.get_or_init(PinRegistry::new)
}

/// Ring buffer and perf event array records reported per packet and map
/// (`FILTER_UBPF_RECORD` events); the others wait in the map, which a
/// program then finds full.
const MAX_RECORDS_PER_PACKET: usize = 8;

pub const TYPE_FILTER_UBPF: &CStr = c_str!("filter-ubpf");

/// What happens to the frames the program is not run on
/// (`unfiltered-action`):
/// values of the QAPI enum `UbpfUnfilteredAction`.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Unfiltered {
    #[default]
    Pass = 0,
    Drop = 1,
}

/// What the user configured; applied when the filter is attached.
#[derive(Debug, Default, Clone)]
pub(crate) struct Config {
    /// The object file, resolved to an absolute path when it is set.
    pub(crate) handler: Option<String>,
    pub(crate) section: Option<String>,
    pub(crate) ip_mode: bool,
    pub(crate) jit: bool,
    pub(crate) keep_maps: bool,
    pub(crate) verify: bool,
    /// The program type; `None`: from the section name, as libbpf.
    pub(crate) prog_type: Option<ProgType>,
    pub(crate) unfiltered: Unfiltered,
    pub(crate) stats: bool,
    /// The interface index of the netdev for programs and redirects
    /// (0: none).
    pub(crate) ifindex: u32,
    /// Initial values of global variables (`.rodata`, `.data`), set
    /// before the program is prepared, as libbpf's skeletons do.
    pub(crate) globals: Vec<(String, Vec<u8>)>,
}

impl Config {
    /// Whether `self` and `other` prepare the same program the same way.
    fn same_program(&self, other: &Self) -> bool {
        self.ip_mode == other.ip_mode
            && self.jit == other.jit
            && self.verify == other.verify
            && self.prog_type == other.prog_type
    }
}

/// Whether `program`, refused under the raw convention, would pass under
/// the context one: the hint for a program written for XDP's context.
fn verifies_as_context(program: &Program, options: VerifyOptions) -> bool {
    let options = VerifyOptions {
        convention: Convention::Context,
        ..options
    };
    verify(program, &options).is_ok()
}

/// `UbpfConvention` values.
pub(crate) const fn convention_index(c: Convention) -> c_int {
    match c {
        Convention::Raw => 0,
        Convention::Context => 1,
        Convention::Tc => 2,
        Convention::Socket => 3,
    }
}

/// The `UbpfConvention` of index `v`.
pub(crate) const fn convention_of(v: c_int) -> Option<Convention> {
    match v {
        0 => Some(Convention::Raw),
        1 => Some(Convention::Context),
        2 => Some(Convention::Tc),
        3 => Some(Convention::Socket),
        _ => None,
    }
}

/// `UbpfProgType` values (0 is `auto`).
pub(crate) const fn prog_type_index(t: Option<ProgType>) -> c_int {
    match t {
        None => 0,
        Some(ProgType::Xdp) => 1,
        Some(ProgType::SchedCls) => 2,
        Some(ProgType::SocketFilter) => 3,
        Some(_) => 4,
    }
}

/// The program type `UbpfProgType` index `v` forces (`None`: auto).
pub(crate) const fn prog_type_of(v: c_int) -> Option<ProgType> {
    match v {
        1 => Some(ProgType::Xdp),
        2 => Some(ProgType::SchedCls),
        3 => Some(ProgType::SocketFilter),
        4 => Some(ProgType::Ubpf),
        _ => None,
    }
}

/// `path` made absolute (symbolic links resolved when it exists), so that
/// a later reload does not depend on QEMU's working directory, which
/// `-daemonize` changes to `/`.
fn resolve(path: &str) -> String {
    let p = Path::new(path);
    std::fs::canonicalize(p)
        .or_else(|_| std::path::absolute(p))
        .map_or_else(|_| path.to_owned(), |p| p.display().to_string())
}

/// Packet counters, read-only QOM properties: the engine's, which
/// `ubpf-run` counts the same way.
pub(crate) use ubpf::filter::Counters;

/// The loaded object and the running program.
pub(crate) struct Loaded {
    pub(crate) vm: Vm,
    /// The object file's bytes, to pick another section without reading
    /// the file again.
    elf: Vec<u8>,
    /// When the file was read (seconds since the Unix epoch).
    pub(crate) load_time: u64,
    /// The program's ring buffers and perf event arrays, whose records
    /// go to the monitor.
    records: Vec<std::sync::Arc<ubpf::Map>>,
    /// The filter's id, for the unload trace (a finalized object has
    /// none any more).
    id: CString,
}

impl Drop for Loaded {
    /// The filter is deleted: its program is unloaded.
    fn drop(&mut self) {
        let path = cstring(self.vm.program().origin());
        let section = cstring(self.vm.program().section());
        // SAFETY: all strings are NUL-terminated and outlive the call.
        unsafe {
            filter_ubpf_trace_unloaded(self.id.as_ptr(), path.as_ptr(), section.as_ptr());
        }
    }
}

/// The maps of `vm` whose records the host reads.
fn record_maps(vm: &Vm) -> Vec<std::sync::Arc<ubpf::Map>> {
    vm.maps()
        .filter(|m| {
            matches!(
                m.def().kind,
                ubpf::maps::MapKind::RingBuf | ubpf::maps::MapKind::PerfEventArray
            )
        })
        .filter_map(|m| vm.map_handle(&m.def().name))
        .collect()
}

/// What a change needs to load again.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Reload {
    /// Nothing: the setting takes effect at once.
    None,
    /// Check and prepare the same program again.
    Program,
    /// Take another section of the same object.
    Section,
    /// Read the file.
    File,
}

/// A set of changes applied at once ([`FilterUbpf::apply`]); `None`
/// keeps the current setting.
#[derive(Debug, Default)]
pub(crate) struct Settings {
    pub(crate) handler: Option<String>,
    /// `Some("")`: the only program of the object.
    pub(crate) section: Option<String>,
    pub(crate) ip_mode: Option<bool>,
    /// `Some(None)`: auto (the property's own `None`), `None`: unchanged.
    #[allow(clippy::option_option)]
    pub(crate) prog_type: Option<Option<ProgType>>,
    pub(crate) verify: Option<bool>,
    pub(crate) jit: Option<bool>,
    pub(crate) keep_maps: Option<bool>,
    pub(crate) globals: Option<Vec<(String, Vec<u8>)>>,
}

/// The `globals` property's value: `NAME=HEX[:NAME=HEX...]`, each
/// variable's initial bytes in hexadecimal, in the order the program
/// stores them (little-endian numbers); "" for none.
pub(crate) fn parse_globals(text: &str) -> Result<Vec<(String, Vec<u8>)>, String> {
    let mut out: Vec<(String, Vec<u8>)> = Vec::new();
    for item in text.split(':').filter(|i| !i.is_empty()) {
        let bad = |why: &str| {
            format!(
                "filter-ubpf: globals: \"{item}\" {why} (expected NAME=HEX[:NAME=HEX...], \
                 e.g. port=3500:verbose=01)"
            )
        };
        let Some((name, hex)) = item.split_once('=') else {
            return Err(bad("has no '='"));
        };
        if name.is_empty() || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
            return Err(bad("does not start with a variable name"));
        }
        if hex.is_empty() || hex.len() % 2 != 0 {
            return Err(bad("needs an even, non-zero number of hex digits"));
        }
        let bytes = ubpf::parse_hex(hex).map_err(|_| bad("has a value that is not hexadecimal"))?;
        if out.iter().any(|(n, _)| n == name) {
            return Err(bad("sets a variable a second time"));
        }
        out.push((name.to_owned(), bytes));
    }
    Ok(out)
}

/// The `globals` property's text for `globals`.
fn format_globals(globals: &[(String, Vec<u8>)]) -> String {
    globals
        .iter()
        .map(|(n, b)| {
            let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
            format!("{n}={hex}")
        })
        .collect::<Vec<_>>()
        .join(":")
}

#[repr(C)]
#[derive(qemu_api_macros::Object)]
pub struct FilterUbpf {
    parent_obj: ParentField<NetFilterState>,
    pub(crate) config: BqlRefCell<Config>,
    /// The object and its running program; `None` until setup.
    loaded: BqlRefCell<Option<Loaded>>,
    /// Reused buffer for packets that come in several iovec pieces.
    scratch: BqlRefCell<Vec<u8>>,
    /// Reused buffer the program runs on.
    packet: BqlRefCell<Packet>,
    /// Reused buffer for the packets the filter sends.
    out: BqlCell<Vec<u8>>,
    pub(crate) counters: BqlCell<Counters>,
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
    Aborted,
    Tx,
    Redirected,
    Truncated,
    Errors,
    Unfiltered,
    RunCount,
    RunTimeNs,
}

impl Counter {
    const ALL: [(Counter, &'static CStr, &'static CStr); 11] = [
        (
            Counter::Packets,
            c_str!("packets"),
            c_str!("packets seen by the filter while on (read-only)"),
        ),
        (
            Counter::Passed,
            c_str!("passed"),
            c_str!("packets passed on, including those whose run failed (read-only)"),
        ),
        (
            Counter::Dropped,
            c_str!("dropped"),
            c_str!("packets dropped as the program type means its verdict (read-only)"),
        ),
        (
            Counter::Aborted,
            c_str!("aborted"),
            c_str!("packets dropped as XDP_ABORTED, also counted in errors (read-only)"),
        ),
        (
            Counter::Tx,
            c_str!("tx"),
            c_str!("packets sent back where they came from (XDP_TX) (read-only)"),
        ),
        (
            Counter::Redirected,
            c_str!("redirected"),
            c_str!("packets redirected to another netdev (read-only)"),
        ),
        (
            Counter::Truncated,
            c_str!("truncated"),
            c_str!("packets a socket filter shortened and passed on (read-only)"),
        ),
        (
            Counter::Errors,
            c_str!("errors"),
            c_str!("program runs that failed at run time; such packets pass (read-only)"),
        ),
        (
            Counter::Unfiltered,
            c_str!("unfiltered"),
            c_str!(
                "packets the program was not run on, see ip-mode and unfiltered-action (read-only)"
            ),
        ),
        (
            Counter::RunCount,
            c_str!("run-count"),
            c_str!("program runs while stats is on (read-only)"),
        ),
        (
            Counter::RunTimeNs,
            c_str!("run-time-ns"),
            c_str!("total time of those runs, in nanoseconds (read-only)"),
        ),
    ];

    fn read(self, c: Counters) -> u64 {
        match self {
            Counter::Packets => c.packets,
            Counter::Passed => c.passed,
            Counter::Dropped => c.dropped,
            Counter::Aborted => c.aborted,
            Counter::Tx => c.tx,
            Counter::Redirected => c.redirected,
            Counter::Truncated => c.truncated,
            Counter::Errors => c.errors,
            Counter::Unfiltered => c.unfiltered,
            Counter::RunCount => c.run_count,
            Counter::RunTimeNs => c.run_time_ns,
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
            addr_of_mut!(self.loaded).write(BqlRefCell::new(None));
            addr_of_mut!(self.scratch).write(BqlRefCell::new(Vec::new()));
            addr_of_mut!(self.packet).write(BqlRefCell::new(Packet::default()));
            addr_of_mut!(self.out).write(BqlCell::new(Vec::new()));
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
                c_str!("path of the eBPF ELF object (clang -O2 -target bpf -c), made absolute when set; setting it reads the file and, on a running filter, replaces the program").as_ptr(),
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
            object_class_property_add_str(
                oc,
                c_str!("globals").as_ptr(),
                Some(get_globals),
                Some(set_globals),
            );
            object_class_property_set_description(
                oc,
                c_str!("globals").as_ptr(),
                c_str!("initial values of the program's global variables (const volatile configuration in .rodata, or .data), set before it is checked and loaded: NAME=HEX[:NAME=HEX...], the bytes in hexadecimal as the program stores them (default: the object's own)").as_ptr(),
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
            object_class_property_add_enum(
                oc,
                c_str!("convention").as_ptr(),
                c_str!("UbpfConvention").as_ptr(),
                &raw const UbpfConvention_lookup,
                Some(get_convention),
                Some(set_convention),
            );
            object_class_property_set_description(
                oc,
                c_str!("convention").as_ptr(),
                c_str!("how the running program receives the packet, given by its type: raw (ubpf), context (xdp), tc, socket; setting it forces the program type of that convention (see prog-type)").as_ptr(),
            );
            object_class_property_add_enum(
                oc,
                c_str!("prog-type").as_ptr(),
                c_str!("UbpfProgType").as_ptr(),
                &raw const UbpfProgType_lookup,
                Some(get_prog_type),
                Some(set_prog_type),
            );
            object_class_property_set_description(
                oc,
                c_str!("prog-type").as_ptr(),
                c_str!("program type, which gives the context and the meaning of the return value: auto (from the ELF section name, as libbpf: xdp, tc/classifier, socket; others ubpf), xdp, tc, socket or ubpf (default: auto)").as_ptr(),
            );
            object_class_property_add(
                oc,
                c_str!("ifindex").as_ptr(),
                c_str!("uint32").as_ptr(),
                Some(get_ifindex),
                Some(set_ifindex),
                None,
                std::ptr::null_mut(),
            );
            object_class_property_set_description(
                oc,
                c_str!("ifindex").as_ptr(),
                c_str!("interface index of the filter's netdev: the ifindex programs see in their context, and the target of redirects (bpf_redirect, devmap values) to this netdev; unique among filter-ubpf objects, 0 for none (default: 0)").as_ptr(),
            );
            object_class_property_add_enum(
                oc,
                c_str!("unfiltered-action").as_ptr(),
                c_str!("UbpfUnfilteredAction").as_ptr(),
                &raw const UbpfUnfilteredAction_lookup,
                Some(get_unfiltered),
                Some(set_unfiltered),
            );
            object_class_property_set_description(
                oc,
                c_str!("unfiltered-action").as_ptr(),
                c_str!("pass or drop the packets the program is not run on: in ip-mode those without a complete IPv4 header (IPv6, ARP, more than two VLAN tags, truncated), otherwise those shorter than an Ethernet header (default: pass)").as_ptr(),
            );
            object_class_property_add_bool(
                oc,
                c_str!("stats").as_ptr(),
                Some(get_stats),
                Some(set_stats),
            );
            object_class_property_set_description(
                oc,
                c_str!("stats").as_ptr(),
                c_str!("on: count the program's runs and their time (run-count, run-time-ns), at the cost of two clock reads per packet (default: off)").as_ptr(),
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
        self.loaded.borrow().is_some()
    }

    /// Run `f` on the running program, if there is one.
    pub(crate) fn with_vm<R>(&self, f: impl FnOnce(&Vm) -> R) -> Option<R> {
        self.loaded.borrow().as_ref().map(|l| f(&l.vm))
    }

    /// Run `f` on the loaded object, if there is one.
    pub(crate) fn with_loaded<R>(&self, f: impl FnOnce(&Loaded) -> R) -> Option<R> {
        self.loaded.borrow().as_ref().map(f)
    }

    /// Check and prepare `program` as `config` says; with `old`, the new
    /// program takes over the old one's matching maps.
    fn prepare(config: &Config, mut program: Program, old: Option<&mut Vm>) -> Result<Vm, String> {
        let ty = config
            .prog_type
            .unwrap_or_else(|| ProgType::from_section(program.section()));
        program.set_prog_type(ty);
        for (name, bytes) in &config.globals {
            program
                .set_global(name, bytes)
                .map_err(|e| format!("filter-ubpf: globals: {e}"))?;
        }
        let convention = ty.convention();
        // Only verified programs may run with the JIT, which does not check
        // memory accesses; unverified ones run in the checked interpreter.
        let (engine, proof) = if config.verify {
            let options = VerifyOptions {
                convention,
                min_len: min_len(ty, config.ip_mode),
            };
            let proof = verify(&program, &options).map_err(|e| {
                let hint =
                    if convention == Convention::Raw && verifies_as_context(&program, options) {
                        "; the program reads r1 as a context (struct xdp_md): it verifies with \
                     convention=context (prog-type=xdp; x-filter-ubpf-load changes ip-mode \
                     and the program type at once)"
                    } else {
                        ""
                    };
                format!("filter-ubpf: {e}{hint}")
            })?;
            if config.jit {
                (Engine::Jit(Trust::Verified(proof)), None)
            } else {
                (Engine::Interpreter, Some(proof))
            }
        } else {
            (Engine::Interpreter, None)
        };
        let options = VmOptions { convention, proof };
        Vm::with_pins(program, engine, options, pins(), old)
            .map_err(|e| format!("filter-ubpf: {e}"))
    }

    /// Load what `config` describes.  `what` tells what to read again;
    /// `current` is the loaded object, whose maps the new program takes
    /// over (all of them unless the file is read again, then only with
    /// `keep-maps`).  The object's bytes are returned when the file was read.
    fn load(
        config: &Config,
        what: Reload,
        current: Option<&mut Loaded>,
    ) -> Result<(Vm, Option<Vec<u8>>), String> {
        let Some(handler) = config.handler.as_deref() else {
            return Err("filter-ubpf: property 'ubpf-handler' is required".to_owned());
        };
        let section = config.section.as_deref();
        let (vm, elf) = match current {
            Some(cur) if what < Reload::File => {
                let program = if what == Reload::Section {
                    Program::load_elf(&cur.elf, handler, section)
                        .map_err(|e| format!("filter-ubpf: {e}"))?
                } else {
                    cur.vm.program().clone()
                };
                // the same object: its maps and their contents stay
                let vm = Self::prepare(config, program, Some(&mut cur.vm))?;
                return Ok((vm, None));
            }
            cur => {
                let elf = read_object_file(Path::new(handler))
                    .map_err(|e| format!("filter-ubpf: {e}"))?;
                let program = Program::load_elf(&elf, handler, section)
                    .map_err(|e| format!("filter-ubpf: {e}"))?;
                let old = cur.filter(|_| config.keep_maps).map(|c| &mut c.vm);
                (Self::prepare(config, program, old)?, elf)
            }
        };
        Ok((vm, Some(elf)))
    }

    /// Apply a configuration change: before setup, just store it; after,
    /// load what the change needs and swap it in only if that worked.
    fn reconfigure(&self, change: impl FnOnce(&mut Config)) -> Result<(), String> {
        let mut next = self.config.borrow().clone();
        change(&mut next);
        self.commit(next, false)
    }

    /// Several settings at once: one load, one swap, nothing in between.
    pub(crate) fn apply(&self, s: Settings) -> Result<(), String> {
        let mut next = self.config.borrow().clone();
        let read_file = s.handler.is_some();
        if let Some(h) = s.handler {
            next.handler = Some(resolve(&h));
        }
        if let Some(sect) = s.section {
            next.section = (!sect.is_empty()).then_some(sect);
        }
        next.ip_mode = s.ip_mode.unwrap_or(next.ip_mode);
        next.prog_type = s.prog_type.unwrap_or(next.prog_type);
        next.verify = s.verify.unwrap_or(next.verify);
        next.jit = s.jit.unwrap_or(next.jit);
        next.keep_maps = s.keep_maps.unwrap_or(next.keep_maps);
        if let Some(g) = s.globals {
            next.globals = g;
        }
        self.commit(next, read_file)
    }

    /// Make `next` the configuration, loading what it needs.
    fn commit(&self, next: Config, read_file: bool) -> Result<(), String> {
        if !self.attached() {
            *self.config.borrow_mut() = next;
            return Ok(());
        }
        let mut config = self.config.borrow_mut();
        let what = if read_file {
            Reload::File
        } else if next.section != config.section || next.globals != config.globals {
            // the object's own initial values, then the new ones
            Reload::Section
        } else if !next.same_program(&config) {
            Reload::Program
        } else {
            Reload::None
        };
        if what != Reload::None {
            let mut loaded = self.loaded.borrow_mut();
            let cur = loaded.as_mut().expect("attached");
            let (vm, elf) = self.load_traced(&next, what, Some(&mut *cur))?;
            cur.records = record_maps(&vm);
            cur.vm = vm;
            if let Some(elf) = elf {
                cur.elf = elf;
                cur.load_time = now();
            }
        }
        *config = next;
        Ok(())
    }

    /// [`Self::load`], with the outcome in the trace.
    fn load_traced(
        &self,
        config: &Config,
        what: Reload,
        current: Option<&mut Loaded>,
    ) -> Result<(Vm, Option<Vec<u8>>), String> {
        let id = self.id();
        let replaced = current.is_some();
        match Self::load(config, what, current) {
            Ok((vm, elf)) => {
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
                Ok((vm, elf))
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

    /// The per-packet trace: what became of a packet of `len` bytes (as
    /// it leaves the filter).
    fn trace_verdict(&self, action: &CStr, r0: u64, len: usize) {
        // SAFETY: no arguments; reads the trace event's state.
        if unsafe { filter_ubpf_trace_verdict_enabled() } {
            let len = c_uint::try_from(len).unwrap_or(c_uint::MAX);
            // SAFETY: both strings are NUL-terminated and outlive the call.
            unsafe {
                filter_ubpf_trace_verdict(self.id().as_ptr(), action.as_ptr(), r0, len);
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
        let (vm, elf) = self.load_traced(&self.config.borrow(), Reload::File, None)?;
        *self.loaded.borrow_mut() = Some(Loaded {
            records: record_maps(&vm),
            vm,
            elf: elf.unwrap_or_default(),
            load_time: now(),
            id: self.id(),
        });
        Ok(())
    }

    fn receive(&self, rx: &Received<'_>) -> bool {
        let mut out = self.out.take();
        let route = self.run(rx, &mut out);
        let pass = self.route(rx, route, &out);
        self.out.set(out);
        pass
    }
}

/// Where a packet goes after its program ran.
enum Route {
    /// The original, unchanged (or changed in place).
    Pass,
    /// Nowhere.
    Drop,
    /// The filter's output buffer in its place, on through the filters.
    Next,
    /// The output buffer straight back to the sender (`XDP_TX`).
    Back,
    /// The output buffer to the netdev of `ifindex`'s filter (`ingress`:
    /// to its peer, as if the netdev had received it); several for a
    /// devmap broadcast.
    Redirect(Vec<(u32, bool)>),
}

impl FilterUbpf {
    /// The effective convention: the running program's, else the one of
    /// the configured program type.
    fn convention(&self) -> Convention {
        self.with_vm(|vm| vm.prog_type().convention())
            .unwrap_or_else(|| {
                self.config
                    .borrow()
                    .prog_type
                    .map_or(Convention::Raw, ProgType::convention)
            })
    }

    /// Run the program on the packet; what it sends on is left in `out`.
    fn run(&self, rx: &Received<'_>, out: &mut Vec<u8>) -> Route {
        let mut loaded = self.loaded.borrow_mut();
        let Some(l) = loaded.as_mut() else {
            return Route::Pass;
        };
        let Loaded { vm, records, .. } = l;
        // only packets in several pieces need the scratch buffer
        let mut scratch;
        let single = matches!(rx.iov, [_]);
        let whole: &[u8] = if let [one] = rx.iov {
            if one.iov_base.is_null() {
                &[]
            } else {
                // SAFETY: the net layer hands us iov_len valid bytes.
                unsafe { std::slice::from_raw_parts(one.iov_base.cast::<u8>(), one.iov_len) }
            }
        } else {
            scratch = self.scratch.borrow_mut();
            scratch.clear();
            for piece in rx.iov.iter().filter(|v| !v.iov_base.is_null()) {
                // SAFETY: as above, each piece holds iov_len valid bytes.
                let bytes = unsafe {
                    std::slice::from_raw_parts(piece.iov_base.cast::<u8>(), piece.iov_len)
                };
                scratch.extend_from_slice(bytes);
            }
            &scratch[..]
        };
        let hdr = rx.vnet_hdr_len.min(whole.len());
        let frame = &whole[hdr..];
        let (ip_mode, unfiltered, stats, ifindex) = {
            let c = self.config.borrow();
            (c.ip_mode, c.unfiltered, c.stats, c.ifindex)
        };
        let ty = vm.prog_type();
        // the raw type in ip-mode sees the packet from its IPv4 header;
        // every other program the Ethernet frame
        let Some(pull) = program_start(ty, frame, ip_mode) else {
            // not IPv4 in ip-mode, or too short to hold the headers the
            // program may rely on: the program does not see it
            let pass = unfiltered == Unfiltered::Pass;
            let action = if pass {
                c_str!("not run (unfiltered): passed")
            } else {
                c_str!("not run (unfiltered): dropped")
            };
            self.trace_verdict(action, 0, if pass { frame.len() } else { 0 });
            self.count(|c| c.count(Fate::Unfiltered { dropped: !pass }));
            return if pass { Route::Pass } else { Route::Drop };
        };
        let mut pkt = self.packet.borrow_mut();
        pkt.set(frame);
        pkt.pull(pull);
        let meta = PacketMeta {
            ifindex,
            ingress_ifindex: ifindex,
            ..PacketMeta::default()
        };
        let start = stats.then(Instant::now);
        let result = vm.run_packet(&mut pkt, &meta);
        if let Some(start) = start {
            let ns = u64::try_from(start.elapsed().as_nanos()).unwrap_or(u64::MAX);
            self.count(|c| {
                c.run_count += 1;
                c.run_time_ns = c.run_time_ns.saturating_add(ns);
            });
        }
        self.trace_printk(vm);
        if !records.is_empty() {
            self.report_records(records);
        }
        let outcome = match result {
            Ok(o) => o,
            Err(e) => {
                self.trace_run_error(&e);
                self.count(|c| c.count(Fate::RunFailed));
                return Route::Pass;
            }
        };
        // the packet as the program left it: from the Ethernet header on
        let after = if pull > 0 { pkt.frame() } else { pkt.data() };
        out.clear();
        out.extend_from_slice(&whole[..hdr]);
        let route = match outcome.verdict {
            Verdict::Pass if after == frame => Route::Pass,
            Verdict::Pass if single && after.len() == frame.len() => {
                // changed in place, as an XDP program changes the buffer
                let one = &rx.iov[0];
                // SAFETY: the net layer hands us iov_len valid bytes that
                // no one else touches while the filter chain runs.
                let bytes = unsafe {
                    std::slice::from_raw_parts_mut(one.iov_base.cast::<u8>(), one.iov_len)
                };
                bytes[hdr..].copy_from_slice(after);
                Route::Pass
            }
            Verdict::Pass => {
                out.extend_from_slice(after);
                Route::Next
            }
            Verdict::Truncate(n) => {
                let n = usize::try_from(n).unwrap_or(usize::MAX).min(after.len());
                out.extend_from_slice(&after[..n]);
                Route::Next
            }
            Verdict::Drop | Verdict::Aborted => Route::Drop,
            Verdict::Tx => {
                out.extend_from_slice(after);
                Route::Back
            }
            Verdict::Redirect(target) => {
                out.extend_from_slice(after);
                Route::Redirect(redirect_targets(vm, target, ifindex))
            }
        };
        let action = match outcome.verdict {
            Verdict::Pass => c_str!("pass"),
            Verdict::Drop => c_str!("drop"),
            Verdict::Aborted => c_str!("aborted (dropped)"),
            Verdict::Tx => c_str!("tx (back to the sender)"),
            Verdict::Redirect(_) => c_str!("redirect"),
            Verdict::Truncate(_) => c_str!("truncate"),
        };
        let len = match route {
            Route::Pass => frame.len(),
            Route::Drop => 0,
            _ => out.len() - hdr,
        };
        self.trace_verdict(action, outcome.r0, len);
        if outcome.verdict == Verdict::Aborted {
            // SAFETY: the id is a NUL-terminated string alive for the call.
            unsafe {
                filter_ubpf_trace_aborted(self.id().as_ptr(), outcome.r0);
            }
        }
        self.count(|c| c.count(Fate::Verdict(outcome.verdict)));
        route
    }

    /// Send the packet where `route` says, with no borrow held: the net
    /// layer may call filters (this one too) while it delivers.  Returns
    /// whether the original packet passes.
    fn route(&self, rx: &Received<'_>, route: Route, out: &[u8]) -> bool {
        let nf: *mut bindings::NetFilterState = std::ptr::from_ref(self).cast_mut().cast();
        match route {
            Route::Pass => true,
            Route::Drop => false,
            Route::Next => {
                // SAFETY: nf and sender are live (we are in their receive
                // hook); out is valid for the call and copied if kept.
                unsafe {
                    filter_ubpf_pass_on(nf, rx.sender, rx.flags, out.as_ptr(), out.len());
                }
                false
            }
            Route::Back => {
                // SAFETY: as above.
                let sent =
                    unsafe { filter_ubpf_send_back(rx.sender, rx.flags, out.as_ptr(), out.len()) };
                if !sent {
                    self.redirect_failed(0, c_str!("no way back to the sender"));
                }
                false
            }
            Route::Redirect(targets) => {
                for (ifindex, ingress) in targets {
                    // SAFETY: out is valid for the call and copied if kept.
                    let why = unsafe {
                        filter_ubpf_redirect(ifindex, ingress, rx.flags, out.as_ptr(), out.len())
                    };
                    if !why.is_null() {
                        // SAFETY: the C side returns a static string.
                        self.redirect_failed(ifindex, unsafe { CStr::from_ptr(why) });
                    }
                }
                false
            }
        }
    }

    fn redirect_failed(&self, ifindex: u32, why: &CStr) {
        self.count(Counters::count_delivery_failure);
        // SAFETY: both strings are NUL-terminated and outlive the call.
        unsafe {
            filter_ubpf_trace_redirect_failed(self.id().as_ptr(), ifindex, why.as_ptr());
        }
    }

    /// Up to [`MAX_RECORDS_PER_PACKET`] records of each map as
    /// `FILTER_UBPF_RECORD` events: what the run wrote, called after each
    /// run.
    fn report_records(&self, maps: &[std::sync::Arc<ubpf::Map>]) {
        let mut id = None;
        for m in maps {
            for _ in 0..MAX_RECORDS_PER_PACKET {
                let Some(rec) = m.pop_record() else {
                    break;
                };
                let id = id.get_or_insert_with(|| self.id());
                let name = cstring(&m.def().name);
                // SAFETY: the strings are NUL-terminated, rec is valid;
                // all outlive the call.
                unsafe {
                    filter_ubpf_emit_record(id.as_ptr(), name.as_ptr(), rec.as_ptr(), rec.len());
                }
            }
        }
    }

    /// `bpf_trace_printk` output of the last run, into the trace.
    fn trace_printk(&self, vm: &Vm) {
        let lines = vm.take_trace();
        // SAFETY: no arguments; reads the trace event's state.
        if lines.is_empty() || !unsafe { filter_ubpf_trace_printk_enabled() } {
            return;
        }
        let id = self.id();
        for line in lines {
            let line = cstring(line.trim_end_matches('\n'));
            // SAFETY: both strings are NUL-terminated and outlive the call.
            unsafe {
                filter_ubpf_trace_printk(id.as_ptr(), line.as_ptr());
            }
        }
    }
}

/// Seconds since the Unix epoch.
fn now() -> u64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
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
    let settings = Settings {
        handler: Some(path),
        ..Settings::default()
    };
    if let Err(msg) = FilterUbpf::from_obj(obj).apply(settings) {
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

unsafe extern "C" fn get_globals(
    obj: *mut bindings::Object,
    _errp: *mut *mut Error,
) -> *mut c_char {
    strdup(Some(&format_globals(
        &FilterUbpf::from_obj(obj).config.borrow().globals,
    )))
}

unsafe extern "C" fn set_globals(
    obj: *mut bindings::Object,
    v: *const c_char,
    errp: *mut *mut Error,
) {
    // SAFETY: v is the property value passed by QOM.
    let text = unsafe { arg(v) };
    let res =
        parse_globals(&text).and_then(|g| FilterUbpf::from_obj(obj).reconfigure(|c| c.globals = g));
    if let Err(msg) = res {
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

unsafe extern "C" fn get_convention(obj: *mut bindings::Object, _errp: *mut *mut Error) -> c_int {
    convention_index(FilterUbpf::from_obj(obj).convention())
}

unsafe extern "C" fn set_convention(obj: *mut bindings::Object, v: c_int, errp: *mut *mut Error) {
    // QOM checked the value against UbpfConvention
    let ty = ProgType::of_convention(convention_of(v).unwrap_or_default());
    if let Err(msg) = FilterUbpf::from_obj(obj).reconfigure(|c| c.prog_type = Some(ty)) {
        // SAFETY: errp comes from QOM.
        unsafe {
            error_set(errp, &msg);
        }
    }
}

unsafe extern "C" fn get_prog_type(obj: *mut bindings::Object, _errp: *mut *mut Error) -> c_int {
    prog_type_index(FilterUbpf::from_obj(obj).config.borrow().prog_type)
}

unsafe extern "C" fn set_prog_type(obj: *mut bindings::Object, v: c_int, errp: *mut *mut Error) {
    // QOM checked the value against UbpfProgType
    let ty = prog_type_of(v);
    if let Err(msg) = FilterUbpf::from_obj(obj).reconfigure(|c| c.prog_type = ty) {
        // SAFETY: errp comes from QOM.
        unsafe {
            error_set(errp, &msg);
        }
    }
}

unsafe extern "C" fn get_ifindex(
    obj: *mut bindings::Object,
    v: *mut Visitor,
    name: *const c_char,
    _opaque: *mut c_void,
    errp: *mut *mut Error,
) {
    let mut value = FilterUbpf::from_obj(obj).config.borrow().ifindex;
    // SAFETY: v, name and errp come from QOM; value outlives the call.
    unsafe {
        visit_type_uint32(v, name, &raw mut value, errp);
    }
}

unsafe extern "C" fn set_ifindex(
    obj: *mut bindings::Object,
    v: *mut Visitor,
    name: *const c_char,
    _opaque: *mut c_void,
    errp: *mut *mut Error,
) {
    let mut value = 0u32;
    // SAFETY: v, name and errp come from QOM; value outlives the call.
    if !unsafe { visit_type_uint32(v, name, &raw mut value, errp) } {
        return;
    }
    let f = FilterUbpf::from_obj(obj);
    if value != 0 {
        // SAFETY: a plain lookup under the BQL.
        let other = unsafe { filter_ubpf_by_ifindex(value) };
        if !other.is_null() && other.cast::<FilterUbpf>() != std::ptr::from_ref(f).cast_mut() {
            // SAFETY: errp comes from QOM.
            unsafe {
                error_set(
                    errp,
                    &format!("filter-ubpf: ifindex {value} belongs to another filter-ubpf"),
                );
            }
            return;
        }
    }
    f.config.borrow_mut().ifindex = value;
}

unsafe extern "C" fn get_unfiltered(obj: *mut bindings::Object, _errp: *mut *mut Error) -> c_int {
    FilterUbpf::from_obj(obj).config.borrow().unfiltered as c_int
}

unsafe extern "C" fn set_unfiltered(obj: *mut bindings::Object, v: c_int, _errp: *mut *mut Error) {
    // QOM checked the value against UbpfUnfilteredAction
    FilterUbpf::from_obj(obj).config.borrow_mut().unfiltered = if v == Unfiltered::Drop as c_int {
        Unfiltered::Drop
    } else {
        Unfiltered::Pass
    };
}

unsafe extern "C" fn get_stats(obj: *mut bindings::Object, _errp: *mut *mut Error) -> bool {
    FilterUbpf::from_obj(obj).config.borrow().stats
}

unsafe extern "C" fn set_stats(obj: *mut bindings::Object, v: bool, _errp: *mut *mut Error) {
    FilterUbpf::from_obj(obj).config.borrow_mut().stats = v;
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
