// SPDX-License-Identifier: GPL-2.0-or-later

//! The host kernel as an oracle (tests only).
//!
//! Loads one of our [`Program`]s -- the same linked bytecode, maps and
//! map relocations that the engine runs -- into the kernel with the
//! `bpf()` system call: the maps are created from the program's
//! [`MapDef`]s, the `lddw`s of maps get the map fds
//! (`BPF_PSEUDO_MAP_FD`, or `BPF_PSEUDO_MAP_VALUE` plus the offset for
//! global data, whose initial contents are written first; `.rodata` is
//! created read-only for programs and frozen, as libbpf does), and the
//! program is loaded with `BPF_PROG_LOAD` and the license "GPL".  The
//! kernel's verdict and verifier log tell whether it accepts the program;
//! `BPF_PROG_TEST_RUN` runs it on a packet (return value, packet after
//! the run) and the maps can be read and written around runs.
//!
//! A program that calls `bpf_tail_call` comes with the object's other
//! programs of its type ([`Program::tail_targets`]): they are loaded too,
//! sharing the maps of the same name, and the program arrays the object
//! initialises (`.values = { [i] = &prog }`, [`ubpf::MapExtra`]'s
//! `initial_programs`) get their file descriptors, as `bpf_object__load`
//! does -- the engine fills the same slots with the same programs.
//!
//! Everything returns `None` when `bpf()` is not available here (not
//! root, no such system call, a sandbox): callers then print a message
//! and skip.  [`kernel_accepts`] is the bytecode-only entry point for the
//! verifier's fuzzer.
//!
//! The attribute layouts below are those of the kernel's UAPI
//! (`union bpf_attr`), written out for the few commands used; the kernel
//! accepts a shorter attribute than its own and zero-fills the rest.

#![allow(dead_code)]

use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::sync::OnceLock;

use ubpf::{MapDef, Program};

const BPF_MAP_CREATE: u32 = 0;
const BPF_MAP_LOOKUP_ELEM: u32 = 1;
const BPF_MAP_UPDATE_ELEM: u32 = 2;
const BPF_MAP_GET_NEXT_KEY: u32 = 4;
const BPF_PROG_LOAD: u32 = 5;
const BPF_PROG_TEST_RUN: u32 = 10;
const BPF_OBJ_GET_INFO_BY_FD: u32 = 15;
const BPF_MAP_FREEZE: u32 = 22;

const BPF_PSEUDO_MAP_FD: u8 = 1;
const BPF_PSEUDO_MAP_VALUE: u8 = 2;
/// Map flag: programs may only read the map (libbpf's `.rodata`).
const BPF_F_RDONLY_PROG: u32 = 1 << 7;

/// Program types the differential tests use (`BPF_PROG_TYPE_*`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ProgType {
    /// `BPF_PROG_TYPE_SOCKET_FILTER`: `struct __sk_buff`, data from L3.
    SocketFilter,
    /// `BPF_PROG_TYPE_SCHED_CLS` (tc): `struct __sk_buff`, data from L2.
    SchedCls,
    /// `BPF_PROG_TYPE_XDP`: `struct xdp_md`.
    Xdp,
}

impl ProgType {
    /// The kernel's number.
    pub const fn id(self) -> u32 {
        match self {
            Self::SocketFilter => 1,
            Self::SchedCls => 3,
            Self::Xdp => 6,
        }
    }

    /// Name as in the corpus manifest: `xdp`, `sched_cls`, `socket_filter`.
    pub const fn name(self) -> &'static str {
        match self {
            Self::SocketFilter => "socket_filter",
            Self::SchedCls => "sched_cls",
            Self::Xdp => "xdp",
        }
    }

    /// Parse a manifest name.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "xdp" => Some(Self::Xdp),
            "sched_cls" | "tc" | "classifier" => Some(Self::SchedCls),
            "socket_filter" | "socket" => Some(Self::SocketFilter),
            _ => None,
        }
    }

    /// The type libbpf gives a section name (the common packet ones).
    pub fn from_section(section: &str) -> Option<Self> {
        let head = section.split('/').next().unwrap_or(section);
        match head {
            "xdp" | "xdp.frags" => Some(Self::Xdp),
            "tc" | "classifier" | "tcx" => Some(Self::SchedCls),
            "socket" => Some(Self::SocketFilter),
            _ if head.starts_with("tc") => Some(Self::SchedCls),
            _ => None,
        }
    }
}

/// `bpf(cmd, attr, size)`: the result, or the errno.
fn bpf<T>(cmd: u32, attr: &mut T) -> Result<i64, i32> {
    let size = std::mem::size_of::<T>();
    // SAFETY: `attr` is a live, exclusively borrowed `#[repr(C)]` attribute
    // block of `size` bytes for the duration of the call; every pointer
    // inside it (set by the callers) points to a buffer that outlives the
    // call and has the length the same block states.
    let ret = unsafe { libc::syscall(libc::SYS_bpf, cmd, std::ptr::from_mut(attr), size) };
    if ret < 0 {
        Err(std::io::Error::last_os_error().raw_os_error().unwrap_or(0))
    } else {
        Ok(ret)
    }
}

fn errno_name(e: i32) -> String {
    let name = match e {
        libc::EPERM => "EPERM",
        libc::ENOENT => "ENOENT",
        libc::E2BIG => "E2BIG",
        libc::EACCES => "EACCES",
        libc::EFAULT => "EFAULT",
        libc::EINVAL => "EINVAL",
        libc::ENOSPC => "ENOSPC",
        libc::ENOSYS => "ENOSYS",
        libc::ENOTSUP => "ENOTSUP",
        libc::ENOMEM => "ENOMEM",
        _ => return format!("errno {e}"),
    };
    name.to_owned()
}

/// Turn a syscall's return value (a new fd) into an owned fd.
fn owned_fd(fd: i64) -> OwnedFd {
    let fd = i32::try_from(fd).expect("fd fits in an int");
    // SAFETY: `fd` was just returned by bpf() as a new descriptor that
    // nothing else owns.
    unsafe { OwnedFd::from_raw_fd(fd) }
}

#[repr(C)]
#[derive(Default)]
struct MapCreateAttr {
    map_type: u32,
    key_size: u32,
    value_size: u32,
    max_entries: u32,
    map_flags: u32,
    inner_map_fd: u32,
    numa_node: u32,
    map_name: [u8; 16],
}

#[repr(C)]
#[derive(Default)]
struct MapElemAttr {
    map_fd: u32,
    pad: u32,
    key: u64,
    value: u64,
    flags: u64,
}

#[repr(C)]
#[derive(Default)]
struct ProgLoadAttr {
    prog_type: u32,
    insn_cnt: u32,
    insns: u64,
    license: u64,
    log_level: u32,
    log_size: u32,
    log_buf: u64,
    kern_version: u32,
    prog_flags: u32,
    prog_name: [u8; 16],
    prog_ifindex: u32,
    expected_attach_type: u32,
}

#[repr(C)]
#[derive(Default)]
struct InfoAttr {
    bpf_fd: u32,
    info_len: u32,
    info: u64,
}

#[repr(C)]
#[derive(Default)]
struct TestRunAttr {
    prog_fd: u32,
    retval: u32,
    data_size_in: u32,
    data_size_out: u32,
    data_in: u64,
    data_out: u64,
    repeat: u32,
    duration: u32,
    ctx_size_in: u32,
    ctx_size_out: u32,
    ctx_in: u64,
    ctx_out: u64,
    flags: u32,
    cpu: u32,
    batch_size: u32,
    pad: u32,
}

fn ptr<T>(p: *const T) -> u64 {
    p as usize as u64
}

/// Whether `bpf()` works here (probed once: a one-entry array map).  When
/// it does not, prints why once and returns false.
pub fn available() -> bool {
    static AVAILABLE: OnceLock<bool> = OnceLock::new();
    *AVAILABLE.get_or_init(|| {
        let mut attr = MapCreateAttr {
            map_type: 2,
            key_size: 4,
            value_size: 4,
            max_entries: 1,
            ..MapCreateAttr::default()
        };
        match bpf(BPF_MAP_CREATE, &mut attr) {
            Ok(fd) => {
                drop(owned_fd(fd));
                true
            }
            Err(e) => {
                eprintln!(
                    "kernel oracle: bpf() is not available ({}): kernel comparisons skipped",
                    errno_name(e)
                );
                false
            }
        }
    })
}

/// Number of possible CPUs (per-CPU map values hold one slot each).
fn possible_cpus() -> usize {
    static N: OnceLock<usize> = OnceLock::new();
    *N.get_or_init(|| {
        let text = std::fs::read_to_string("/sys/devices/system/cpu/possible").unwrap_or_default();
        let mut n = 0;
        for part in text.trim().split(',').filter(|p| !p.is_empty()) {
            let (a, b) = part.split_once('-').unwrap_or((part, part));
            let (a, b): (usize, usize) = (a.parse().unwrap_or(0), b.parse().unwrap_or(0));
            n = n.max(b + 1).max(a + 1);
        }
        n.max(1)
    })
}

/// The kernel's map type for one of our map kinds, by its bpftool name
/// (so that kinds added to the engine later map without changes here).
fn map_type_id(def: &MapDef) -> Option<(u32, bool)> {
    // (type, per-CPU values)
    Some(match def.kind.name() {
        "hash" => (1, false),
        "array" => (2, false),
        "prog_array" => (3, false),
        "perf_event_array" => (4, false),
        "percpu_hash" => (5, true),
        "percpu_array" => (6, true),
        "lru_hash" => (9, false),
        "lru_percpu_hash" => (10, true),
        "lpm_trie" => (11, false),
        "devmap" => (14, false),
        "cpumap" => (16, false),
        "xskmap" => (17, false),
        "queue" => (22, false),
        "stack" => (23, false),
        "devmap_hash" => (25, false),
        "ringbuf" => (27, false),
        _ => return None,
    })
}

/// Global data sections are single-entry arrays named after the section.
fn is_global_data(def: &MapDef) -> bool {
    def.name.starts_with(".data") || def.name.starts_with(".bss") || def.name.starts_with(".rodata")
}

/// A map created in the kernel for one of the program's [`MapDef`]s.
pub struct KernelMap {
    fd: OwnedFd,
    /// The definition it was made from.
    pub def: MapDef,
    percpu: bool,
}

impl KernelMap {
    /// Create the kernel map for `def` (global data: filled with its
    /// initial contents; `.rodata` frozen).
    pub fn create(def: &MapDef, flags: u32) -> Result<Self, String> {
        let (map_type, percpu) = map_type_id(def)
            .ok_or_else(|| format!("map kind {} has no kernel equivalent here", def.kind.name()))?;
        let rodata = def.name.starts_with(".rodata");
        let mut name = [0u8; 16];
        // the kernel accepts [A-Za-z0-9_.] in names, at most 15 bytes
        for (d, s) in name[..15].iter_mut().zip(
            def.name
                .bytes()
                .filter(|b| b.is_ascii_alphanumeric() || *b == b'_' || *b == b'.'),
        ) {
            *d = s;
        }
        let mut attr = MapCreateAttr {
            map_type,
            key_size: def.key_size,
            value_size: def.value_size,
            max_entries: def.max_entries,
            map_flags: flags | if rodata { BPF_F_RDONLY_PROG } else { 0 },
            map_name: name,
            ..MapCreateAttr::default()
        };
        let fd = bpf(BPF_MAP_CREATE, &mut attr).map_err(|e| {
            format!(
                "BPF_MAP_CREATE of \"{}\" ({} key {} value {} entries {}): {}",
                def.name,
                def.kind.name(),
                def.key_size,
                def.value_size,
                def.max_entries,
                errno_name(e)
            )
        })?;
        let map = Self {
            fd: owned_fd(fd),
            def: def.clone(),
            percpu,
        };
        if let Some(init) = &def.initial {
            map.update(&0u32.to_le_bytes(), init)?;
        }
        if rodata {
            let mut freeze = MapElemAttr {
                map_fd: map.raw_fd(),
                ..MapElemAttr::default()
            };
            bpf(BPF_MAP_FREEZE, &mut freeze)
                .map_err(|e| format!("BPF_MAP_FREEZE of {}: {}", def.name, errno_name(e)))?;
        }
        Ok(map)
    }

    fn raw_fd(&self) -> u32 {
        u32::try_from(self.fd.as_raw_fd()).expect("fds are not negative")
    }

    /// The map's file descriptor (to map a ring buffer's memory).
    pub fn fd(&self) -> std::os::fd::BorrowedFd<'_> {
        use std::os::fd::AsFd;
        self.fd.as_fd()
    }

    /// Bytes of one value as the syscalls transfer it (per-CPU maps: one
    /// 8-byte aligned slot per possible CPU).
    fn value_len(&self) -> usize {
        let vs = self.def.value_size as usize;
        if self.percpu {
            vs.div_ceil(8) * 8 * possible_cpus()
        } else {
            vs
        }
    }

    /// Set `key` to `value` (`BPF_ANY`); per-CPU maps get `value` on every
    /// CPU.
    pub fn update(&self, key: &[u8], value: &[u8]) -> Result<(), String> {
        let mut buf = vec![0u8; self.value_len()];
        if self.percpu {
            let slot = (self.def.value_size as usize).div_ceil(8) * 8;
            for c in buf.chunks_mut(slot) {
                let n = value.len().min(c.len());
                c[..n].copy_from_slice(&value[..n]);
            }
        } else {
            let n = value.len().min(buf.len());
            buf[..n].copy_from_slice(&value[..n]);
        }
        let mut k = key.to_vec();
        k.resize(self.def.key_size as usize, 0);
        let mut attr = MapElemAttr {
            map_fd: self.raw_fd(),
            key: ptr(k.as_ptr()),
            value: ptr(buf.as_ptr()),
            ..MapElemAttr::default()
        };
        bpf(BPF_MAP_UPDATE_ELEM, &mut attr)
            .map(drop)
            .map_err(|e| format!("update of {}: {}", self.def.name, errno_name(e)))
    }

    /// The value of `key` (per-CPU maps: the slot of `cpu`).
    pub fn lookup(&self, key: &[u8], cpu: usize) -> Option<Vec<u8>> {
        let mut buf = vec![0u8; self.value_len()];
        let mut attr = MapElemAttr {
            map_fd: self.raw_fd(),
            key: ptr(key.as_ptr()),
            value: ptr(buf.as_mut_ptr()),
            ..MapElemAttr::default()
        };
        bpf(BPF_MAP_LOOKUP_ELEM, &mut attr).ok()?;
        let vs = self.def.value_size as usize;
        if self.percpu {
            let at = vs.div_ceil(8) * 8 * cpu;
            Some(buf[at..at + vs].to_vec())
        } else {
            Some(buf)
        }
    }

    /// Every (key, value), sorted by key (per-CPU maps: the slot of
    /// `cpu`).  Maps without keys (ring buffers, queues) give nothing.
    pub fn entries(&self, cpu: usize) -> Vec<(Vec<u8>, Vec<u8>)> {
        let ks = self.def.key_size as usize;
        let mut out = Vec::new();
        if ks == 0 {
            return out;
        }
        let mut key: Option<Vec<u8>> = None;
        loop {
            let mut next = vec![0u8; ks];
            let mut attr = MapElemAttr {
                map_fd: self.raw_fd(),
                key: key.as_ref().map_or(0, |k| ptr(k.as_ptr())),
                value: ptr(next.as_mut_ptr()),
                ..MapElemAttr::default()
            };
            if bpf(BPF_MAP_GET_NEXT_KEY, &mut attr).is_err() {
                break;
            }
            if let Some(v) = self.lookup(&next, cpu) {
                out.push((next.clone(), v));
            }
            key = Some(next);
            if out.len() > self.def.max_entries as usize {
                break; // entries deleted and re-added during the walk
            }
        }
        out.sort();
        out
    }
}

/// Why the kernel did not load a program.
#[derive(Debug, Clone)]
pub struct Refusal {
    /// What failed: `map` (creating a map), `relocation`, or `verifier`.
    pub stage: &'static str,
    /// The error, and for `verifier` the errno.
    pub error: String,
    /// The verifier log (the end of it, for long logs).
    pub log: String,
}

impl Refusal {
    /// The last meaningful line of the log (or the error).
    pub fn reason(&self) -> String {
        let line = self
            .log
            .lines()
            .rev()
            .map(str::trim)
            .find(|l| {
                !l.is_empty()
                    && !l.starts_with("processed ")
                    && !l.starts_with("verification time")
                    && !l.starts_with("stack depth")
                    && !l.starts_with("-- END PROG LOAD LOG --")
            })
            .unwrap_or("");
        if line.is_empty() {
            self.error.clone()
        } else {
            line.to_owned()
        }
    }
}

/// What one `BPF_PROG_TEST_RUN` gave.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunOutput {
    /// The program's return value (32 bits, as the kernel reports it).
    pub retval: u32,
    /// The packet after the run (`data_size_out` bytes).
    pub packet: Vec<u8>,
}

/// A program loaded into the kernel, with its maps.
pub struct KernelProg {
    fd: OwnedFd,
    /// The maps, in the order of [`Program::maps`], then those only its
    /// tail-call targets use (in the order the engine's [`ubpf::Vm`] has
    /// them).
    pub maps: Vec<KernelMap>,
    /// Its type.
    pub prog_type: ProgType,
    cpu: usize,
    /// The tail-call targets loaded with it: (program index in
    /// [`Program::object_programs`], fd, the kernel's program id, which
    /// is what reading a program array gives).
    targets: Vec<(u32, OwnedFd, u32)>,
}

/// Load `insns` (relocated) as `prog_type`: the fd, or the errno and the
/// verifier log.
fn prog_load(insns: &[u8], prog_type: ProgType, name: &str) -> Result<OwnedFd, (i32, String)> {
    let license = b"GPL\0";
    let mut prog_name = [0u8; 16];
    for (d, s) in prog_name[..15].iter_mut().zip(
        name.bytes()
            .filter(|b| b.is_ascii_alphanumeric() || *b == b'_'),
    ) {
        *d = s;
    }
    let insn_cnt = u32::try_from(insns.len() / 8).unwrap_or(u32::MAX);
    let mut attr = ProgLoadAttr {
        prog_type: prog_type.id(),
        insn_cnt,
        insns: ptr(insns.as_ptr()),
        license: ptr(license.as_ptr()),
        prog_name,
        ..ProgLoadAttr::default()
    };
    // first without a log: a log buffer that is too small makes the
    // load fail with ENOSPC even for good programs
    match bpf(BPF_PROG_LOAD, &mut attr) {
        Ok(fd) => return Ok(owned_fd(fd)),
        Err(libc::EPERM) if !available() => return Err((libc::EPERM, String::new())),
        Err(_) => {}
    }
    // again with a log (the kernel keeps its end when it does not fit)
    let mut log = vec![0u8; 4 << 20];
    attr.log_level = 1;
    attr.log_size = u32::try_from(log.len()).unwrap_or(u32::MAX);
    attr.log_buf = ptr(log.as_mut_ptr());
    match bpf(BPF_PROG_LOAD, &mut attr) {
        Ok(fd) => Ok(owned_fd(fd)),
        Err(e) => {
            let end = log.iter().position(|&b| b == 0).unwrap_or(log.len());
            let text = String::from_utf8_lossy(&log[..end]).into_owned();
            // keep the end: the error is there
            let lines: Vec<&str> = text.lines().collect();
            let keep = lines.len().saturating_sub(60);
            Err((e, lines[keep..].join("\n")))
        }
    }
}

/// `prog`'s code as loaded, its `lddw`s of maps pointing at `maps` (found
/// by name).
fn relocate(prog: &Program, maps: &[KernelMap]) -> Result<Vec<u8>, Refusal> {
    let fail = |error: String| Refusal {
        stage: "relocation",
        error,
        log: String::new(),
    };
    // the code as loaded: the engine's rewrite of tail calls and
    // ld_abs/ld_ind calls internal helpers the kernel does not have
    let mut code = prog.source_bytecode().to_vec();
    for r in prog.map_refs() {
        let at = prog.source_insn(r.insn) * 8;
        let map = prog
            .maps()
            .get(r.map)
            .and_then(|def| maps.iter().find(|m| m.def.name == def.name))
            .ok_or_else(|| {
                fail(format!(
                    "lddw at {} refers to map {} of {}",
                    r.insn,
                    r.map,
                    prog.maps().len()
                ))
            })?;
        if code.len() < at + 16 {
            return Err(fail(format!("lddw at {} is past the end", r.insn)));
        }
        let (kind, second) = match r.value_offset {
            None => (BPF_PSEUDO_MAP_FD, 0),
            Some(off) => (BPF_PSEUDO_MAP_VALUE, off),
        };
        // src_reg is the high nibble of the register byte
        code[at + 1] = (code[at + 1] & 0x0f) | (kind << 4);
        code[at + 4..at + 8].copy_from_slice(&map.raw_fd().to_le_bytes());
        code[at + 12..at + 16].copy_from_slice(&second.to_le_bytes());
    }
    Ok(code)
}

/// Relocate and load one program.
fn load_linked(
    prog: &Program,
    maps: &[KernelMap],
    prog_type: ProgType,
) -> Result<OwnedFd, Refusal> {
    let code = relocate(prog, maps)?;
    let name = prog
        .function()
        .unwrap_or_else(|| prog.section().rsplit('/').next().unwrap_or("prog"));
    prog_load(&code, prog_type, name).map_err(|(e, log)| Refusal {
        stage: "verifier",
        error: errno_name(e),
        log,
    })
}

/// The kernel's id and tag of the program `fd` (`BPF_OBJ_GET_INFO_BY_FD`:
/// `struct bpf_prog_info` starts with the type and the id, 32 bits each,
/// then the 8-byte tag).
fn prog_info(fd: &OwnedFd) -> Result<(u32, [u8; 8]), String> {
    let mut info = [0u8; 16];
    let mut attr = InfoAttr {
        bpf_fd: u32::try_from(fd.as_raw_fd()).expect("fds are not negative"),
        info_len: 16,
        info: ptr(info.as_mut_ptr()),
    };
    bpf(BPF_OBJ_GET_INFO_BY_FD, &mut attr)
        .map_err(|e| format!("BPF_OBJ_GET_INFO_BY_FD: {}", errno_name(e)))?;
    let id = u32::from_ne_bytes(info[4..8].try_into().expect("4 bytes"));
    let tag = info[8..16].try_into().expect("8 bytes");
    Ok((id, tag))
}

/// The kernel's id of the program `fd`.
fn prog_id(fd: &OwnedFd) -> Result<u32, String> {
    prog_info(fd).map(|(id, _)| id)
}

/// Load `prog` (its maps, then its code) into the kernel as `prog_type`,
/// with its tail-call targets and their program arrays (see the module
/// documentation).  `None` when `bpf()` is not available.
pub fn load(prog: &Program, prog_type: ProgType) -> Option<Result<KernelProg, Refusal>> {
    if !available() {
        return None;
    }
    Some(load_object(prog, prog_type))
}

fn load_object(prog: &Program, prog_type: ProgType) -> Result<KernelProg, Refusal> {
    let map_err = |error: String| Refusal {
        stage: "map",
        error,
        log: String::new(),
    };
    // the program's maps, then those of its targets it does not have (the
    // same object: known by their names), as the engine's Vm has them
    let mut defs: Vec<(&ubpf::MapDef, &ubpf::MapExtra)> =
        prog.maps().iter().zip(prog.map_extras()).collect();
    for t in prog.tail_targets().iter().flatten() {
        for (def, extra) in t.maps().iter().zip(t.map_extras()) {
            if !defs.iter().any(|(d, _)| d.name == def.name) {
                defs.push((def, extra));
            }
        }
    }
    let mut maps = Vec::new();
    for (def, extra) in &defs {
        maps.push(KernelMap::create(def, extra.flags).map_err(map_err)?);
    }
    let fd = load_linked(prog, &maps, prog_type)?;
    // the object's other programs of this type, as bpf_object__load
    // loads them all: one the kernel refuses fails the whole object
    let mut targets = Vec::new();
    for (i, t) in prog.tail_targets().iter().enumerate() {
        let Some(t) = t else { continue };
        let tfd = load_linked(t, &maps, prog_type).map_err(|mut r| {
            r.error = format!(
                "tail-call target {}: {}",
                t.function().unwrap_or_else(|| t.section()),
                r.error
            );
            r
        })?;
        let id = prog_id(&tfd).map_err(map_err)?;
        targets.push((u32::try_from(i).expect("few programs"), tfd, id));
    }
    // the program arrays the object initialises
    for ((def, extra), map) in defs.iter().zip(&maps) {
        for &(slot, index) in &extra.initial_programs {
            let (_, tfd, _) = targets
                .iter()
                .find(|(i, _, _)| *i == index)
                .ok_or_else(|| {
                    map_err(format!(
                        "{} slot {slot}: program {index} of the object is not a {}",
                        def.name,
                        prog_type.name()
                    ))
                })?;
            let raw = u32::try_from(tfd.as_raw_fd()).expect("fds are not negative");
            map.update(&slot.to_ne_bytes(), &raw.to_ne_bytes())
                .map_err(map_err)?;
        }
    }
    Ok(KernelProg {
        fd,
        maps,
        prog_type,
        cpu: run_cpu(),
        targets,
    })
}

/// Whether the kernel accepts raw bytecode `code` (no maps) as
/// `prog_type`, and its verifier log (empty when accepted).  `None` when
/// `bpf()` is not available.  For the verifier's fuzzer.
pub fn kernel_accepts(code: &[u8], prog_type: ProgType) -> Option<(bool, String)> {
    if !available() {
        return None;
    }
    Some(match prog_load(code, prog_type, "fuzz") {
        Ok(_) => (true, String::new()),
        Err((e, log)) => (false, if log.is_empty() { errno_name(e) } else { log }),
    })
}

/// This thread's CPU affinity.
fn affinity() -> Option<libc::cpu_set_t> {
    // SAFETY: cpu_set_t is plain data; zeroed is a valid empty set.
    let mut set: libc::cpu_set_t = unsafe { std::mem::zeroed() };
    let size = std::mem::size_of_val(&set);
    // SAFETY: `set` is a valid, writable cpu_set_t of `size` bytes.
    let ret = unsafe { libc::sched_getaffinity(0, size, std::ptr::from_mut(&mut set)) };
    (ret == 0).then_some(set)
}

/// Set this thread's CPU affinity (best effort).
fn set_affinity(set: &libc::cpu_set_t) {
    let size = std::mem::size_of_val(set);
    // SAFETY: `set` is a valid cpu_set_t of `size` bytes.
    unsafe {
        libc::sched_setaffinity(0, size, std::ptr::from_ref(set));
    }
}

/// The CPU test runs are pinned to: the first one this thread may use.
fn run_cpu() -> usize {
    affinity()
        .and_then(|set| {
            // CPU_SETSIZE is a small positive constant (1024)
            (0..usize::try_from(libc::CPU_SETSIZE).unwrap_or(0))
                // SAFETY: CPU_ISSET reads `set` at indices < CPU_SETSIZE.
                .find(|&c| unsafe { libc::CPU_ISSET(c, &set) })
        })
        .unwrap_or(0)
}

/// Run `f` with this thread pinned to `cpu` (per-CPU maps are then read
/// at that CPU's slot), restoring its affinity afterwards.
fn on_cpu<R>(cpu: usize, f: impl FnOnce() -> R) -> R {
    let old = affinity();
    // SAFETY: cpu_set_t is plain data; zeroed is a valid empty set.
    let mut one: libc::cpu_set_t = unsafe { std::mem::zeroed() };
    // SAFETY: `cpu` comes from run_cpu, below CPU_SETSIZE.
    unsafe {
        libc::CPU_SET(cpu, &mut one);
    }
    set_affinity(&one);
    let r = f();
    if let Some(old) = old {
        set_affinity(&old);
    }
    r
}

impl KernelProg {
    /// Run the program once on `packet` with `BPF_PROG_TEST_RUN`.  The
    /// kernel refuses packets shorter than an Ethernet header (14 bytes)
    /// or longer than about a page: `Err(errno name)`.  Socket filters
    /// see the packet from L3 on (the kernel strips the Ethernet header
    /// it is given) and their packet output is the whole frame again.
    pub fn test_run(&self, packet: &[u8]) -> Result<RunOutput, String> {
        let mut out = vec![0u8; 8192];
        let mut attr = TestRunAttr {
            prog_fd: u32::try_from(self.fd.as_raw_fd()).expect("fds are not negative"),
            data_size_in: u32::try_from(packet.len()).unwrap_or(u32::MAX),
            data_size_out: u32::try_from(out.len()).unwrap_or(u32::MAX),
            data_in: ptr(packet.as_ptr()),
            data_out: ptr(out.as_mut_ptr()),
            repeat: 1,
            ..TestRunAttr::default()
        };
        on_cpu(self.cpu, || bpf(BPF_PROG_TEST_RUN, &mut attr)).map_err(errno_name)?;
        out.truncate(attr.data_size_out as usize);
        Ok(RunOutput {
            retval: attr.retval,
            packet: out,
        })
    }

    /// The tag the kernel gave the program (`bpftool prog show`'s).
    pub fn tag(&self) -> Result<[u8; 8], String> {
        prog_info(&self.fd).map(|(_, tag)| tag)
    }

    /// The tags the kernel gave the tail-call targets loaded with the
    /// program, by program index ([`Program::object_programs`]).
    pub fn target_tags(&self) -> Result<Vec<(u32, [u8; 8])>, String> {
        self.targets
            .iter()
            .map(|(index, fd, _)| prog_info(fd).map(|(_, tag)| (*index, tag)))
            .collect()
    }

    /// The CPU the test runs are pinned to.
    pub const fn cpu(&self) -> usize {
        self.cpu
    }

    /// Set entry `key` of the program array or perf event array map `i`
    /// to the file descriptor `fd` (`BPF_ANY`).
    pub fn set_fd(
        &self,
        i: usize,
        key: u32,
        fd: std::os::fd::BorrowedFd<'_>,
    ) -> Result<(), String> {
        let fd = u32::try_from(fd.as_raw_fd()).expect("fds are not negative");
        self.maps[i].update(&key.to_ne_bytes(), &fd.to_ne_bytes())
    }

    /// Contents of map `i` after the runs, sorted by key (per-CPU maps:
    /// the slot of the CPU the runs used).  Program arrays give the
    /// kernel's program ids; those of the tail-call targets loaded with
    /// the program are turned into their program index, as the engine
    /// has them.
    pub fn map_entries(&self, i: usize) -> Vec<(Vec<u8>, Vec<u8>)> {
        let mut entries = self.maps[i].entries(self.cpu);
        if self.maps[i].def.kind.name() == "prog_array" {
            for (_, v) in &mut entries {
                let Ok(id) = <[u8; 4]>::try_from(v.as_slice()).map(u32::from_ne_bytes) else {
                    continue;
                };
                if let Some((index, _, _)) = self.targets.iter().find(|t| t.2 == id) {
                    *v = index.to_le_bytes().to_vec();
                }
            }
        }
        entries
    }

    /// Set slot `slot` of the program array called `map` to the tail-call
    /// target of program index `index` ([`Program::object_programs`]),
    /// as the object's user space would.
    pub fn set_tail_target(&self, map: &str, slot: u32, index: u32) -> Result<(), String> {
        let m = self
            .maps
            .iter()
            .find(|m| m.def.name == map)
            .ok_or_else(|| format!("no map {map}"))?;
        let (_, fd, _) = self
            .targets
            .iter()
            .find(|t| t.0 == index)
            .ok_or_else(|| format!("program {index} was not loaded as a tail-call target"))?;
        let raw = u32::try_from(fd.as_raw_fd()).expect("fds are not negative");
        m.update(&slot.to_ne_bytes(), &raw.to_ne_bytes())
    }

    /// [`KernelProg::map_entries`] of the map called `name`.
    pub fn map_entries_named(&self, name: &str) -> Option<Vec<(Vec<u8>, Vec<u8>)>> {
        let i = self.maps.iter().position(|m| m.def.name == name)?;
        Some(self.map_entries(i))
    }
}
