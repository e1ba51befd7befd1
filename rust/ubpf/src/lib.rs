// SPDX-License-Identifier: GPL-2.0-or-later

//! Userspace eBPF engine for QEMU's `filter-ubpf`.
//!
//! A [`Program`] is loaded from an eBPF ELF object (or raw bytecode) and
//! checked before anything runs; a [`Vm`] runs it on packets with rbpf's
//! interpreter (memory accesses checked at run time) or rbpf's x86-64 JIT
//! (unchecked: for programs proven safe by the [`verify`]er, or that the
//! caller declares trusted).
//!
//! Calling conventions ([`Convention`]): r1 = start of the packet, r2 =
//! its length (raw, the default), or r1 = a context block holding the
//! packet's start and end (`struct ubpf_md`, XDP style).  The return value
//! is the program's r0.
//!
//! ```no_run
//! # fn main() -> Result<(), ubpf::Error> {
//! use ubpf::{Convention, Engine, Program, Trust, VerifyOptions, Vm};
//! let prog = Program::load_file("ip_dst.o".as_ref(), None)?;
//! let opts = VerifyOptions { convention: Convention::Raw, min_len: 20 };
//! let proof = ubpf::verify(&prog, &opts)?;
//! let mut vm = Vm::new(prog, Engine::Jit(Trust::Verified(proof)))?;
//! # Ok(()) }
//! ```

mod btf;
mod check;
mod context;
mod elf;
mod error;
pub mod filter;
pub mod helpers;
pub mod maps;
pub mod net;
pub mod packet;
pub mod progtype;
mod rewrite;
mod tag;
mod verifier;

pub mod capi;

use std::path::Path;
use std::sync::Arc;

pub use check::{MAX_CALL_DEPTH, MAX_INSNS};
pub use elf::Global;
pub use error::{Error, ErrorKind, RunError};
pub use maps::{Map, MapDef, MapExtra, MapRef, PinRegistry, Redirect};
pub use packet::Packet;
pub use progtype::{PacketMeta, ProgType, RedirectTarget, Verdict};
pub use tag::TagHash;
pub use verifier::{
    verify, verify_with_log, Convention, Verified, VerifyOptions, VerifyStats, MAX_PROCESSED,
};

/// "cannot read: <reason>", without Rust's "(os error N)".
fn io_message(e: &std::io::Error) -> String {
    let reason = match e.kind() {
        std::io::ErrorKind::NotFound => "no such file".to_owned(),
        std::io::ErrorKind::PermissionDenied => "permission denied".to_owned(),
        std::io::ErrorKind::IsADirectory => "it is a directory".to_owned(),
        _ => {
            let text = e.to_string();
            match text.find(" (os error") {
                Some(i) => text[..i].to_owned(),
                None => text,
            }
        }
    };
    format!("cannot read: {reason}")
}

/// Largest ELF object [`read_object_file`] reads: 64 MiB, far above any
/// real program (a program has at most [`MAX_INSNS`] instructions) and low
/// enough that a wrong path cannot make the caller allocate without bound.
pub const MAX_OBJECT_SIZE: u64 = 64 << 20;

/// What a file that is not a regular file is, for errors.
#[cfg(unix)]
fn file_kind(t: std::fs::FileType) -> &'static str {
    use std::os::unix::fs::FileTypeExt;
    if t.is_dir() {
        "it is a directory"
    } else if t.is_fifo() {
        "it is a FIFO"
    } else if t.is_char_device() {
        "it is a character device"
    } else if t.is_block_device() {
        "it is a block device"
    } else if t.is_socket() {
        "it is a socket"
    } else {
        "it is not a regular file"
    }
}

#[cfg(not(unix))]
fn file_kind(t: std::fs::FileType) -> &'static str {
    if t.is_dir() {
        "it is a directory"
    } else {
        "it is not a regular file"
    }
}

/// The bytes that hexadecimal text gives ("0a00ff", white space between
/// digits ignored), as map keys and values are written on the monitor and
/// on the command line; an error says what is wrong with the text.
pub fn parse_hex(text: &str) -> Result<Vec<u8>, String> {
    if let Some(bad) = text
        .chars()
        .find(|c| !c.is_ascii_whitespace() && !c.is_ascii_hexdigit())
    {
        return Err(format!("{text:?} is not hexadecimal (character {bad:?})"));
    }
    let digits: Vec<u8> = text.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
    if digits.len() % 2 != 0 {
        return Err(format!("odd number of hex digits in {text:?}"));
    }
    let nibble = |b: u8| char::from(b).to_digit(16).map_or(0, |d| d as u8);
    Ok(digits
        .chunks_exact(2)
        .map(|p| nibble(p[0]) << 4 | nibble(p[1]))
        .collect())
}

/// Read the ELF object at `path`: only a regular file of at most
/// [`MAX_OBJECT_SIZE`] bytes, and without blocking on the way (the file is
/// opened with `O_NONBLOCK`, so a FIFO without a writer does not hang the
/// caller, and its type and size are checked with `fstat` before anything
/// is read).
pub fn read_object_file(path: &Path) -> Result<Vec<u8>, Error> {
    use std::io::Read;
    let origin = path.display().to_string();
    let fail = |m: String| Error::new(&origin, None, ErrorKind::Io(m));
    let mut options = std::fs::OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY);
    }
    let file = options.open(path).map_err(|e| fail(io_message(&e)))?;
    let meta = file.metadata().map_err(|e| fail(io_message(&e)))?;
    if !meta.is_file() {
        return Err(fail(format!(
            "cannot read: {}; the program must be a regular file",
            file_kind(meta.file_type())
        )));
    }
    let too_big = |size: u64| {
        fail(format!(
            "cannot read: {size} bytes, more than the {} MiB an eBPF object may have",
            MAX_OBJECT_SIZE >> 20
        ))
    };
    if meta.len() > MAX_OBJECT_SIZE {
        return Err(too_big(meta.len()));
    }
    let mut data = Vec::with_capacity(usize::try_from(meta.len()).unwrap_or(0));
    // the file may grow while it is read: never read past the cap
    file.take(MAX_OBJECT_SIZE + 1)
        .read_to_end(&mut data)
        .map_err(|e| fail(io_message(&e)))?;
    if data.len() as u64 > MAX_OBJECT_SIZE {
        return Err(too_big(data.len() as u64));
    }
    Ok(data)
}

/// Origin used in errors for programs given as bytecode.
const BYTECODE_ORIGIN: &str = "<bytecode>";

/// A loaded and checked program: immutable, and cheap to hand to several
/// [`Vm`]s.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Program {
    code: Vec<u8>,
    section: String,
    origin: String,
    maps: Vec<MapDef>,
    map_extras: Vec<MapExtra>,
    map_refs: Vec<MapRef>,
    back_edge: Option<(usize, usize)>,
    function: Option<String>,
    object_programs: Vec<String>,
    globals: Vec<Global>,
    prog_type: ProgType,
    /// The object's BTF (the types of map keys and values), shared by
    /// the copies of the program.
    btf: Option<Arc<btf::Btf>>,
    /// Per instruction of `code`, the instruction of the program as loaded
    /// it comes from (empty when the load-time rewrite changed nothing).
    source_insns: Vec<usize>,
    /// The code as loaded, before the rewrite (empty when it changed
    /// nothing).
    source_code: Vec<u8>,
    /// The programs of the object that `bpf_tail_call` may run, by
    /// program index ([`Program::object_programs`]); None for programs of
    /// another type.  Empty when the program does not call it.
    tail_targets: Vec<Option<Program>>,
}

/// How to show the keys and values of one map typed by the object's BTF
/// ([`Program::map_format`]).
#[derive(Clone, Copy)]
pub struct MapFormat<'a> {
    btf: &'a btf::Btf,
    key: u32,
    value: u32,
}

impl MapFormat<'_> {
    /// `key` as JSON text, typed as `bpftool --json map dump` shows it
    /// (see the [`btf`] module); None if the object does not give the
    /// key's type (global data, `__uint(key_size, n)`), or if the key
    /// cannot be shown so (wrong size, longer than
    /// [`btf::MAX_FORMATTED`] bytes of text).
    pub fn key(&self, key: &[u8]) -> Option<String> {
        (self.key != 0)
            .then(|| self.btf.format(self.key, key).ok())
            .flatten()
    }

    /// `value` as JSON text, as [`MapFormat::key`]; for per-CPU maps,
    /// the value of one CPU.
    pub fn value(&self, value: &[u8]) -> Option<String> {
        (self.value != 0)
            .then(|| self.btf.format(self.value, value).ok())
            .flatten()
    }
}

impl Program {
    fn checked(code: Vec<u8>, origin: &str, section: &str) -> Result<Self, Error> {
        let sect = (!section.is_empty()).then_some(section);
        let checked = check::check(&code).map_err(|k| Error::new(origin, sect, k))?;
        // tail calls and ld_abs/ld_ind become ordinary instructions
        let rw = if rewrite::needed(&code) {
            Some(rewrite::rewrite(&code).map_err(|k| Error::new(origin, sect, k))?)
        } else {
            None
        };
        let (code, source_insns, source_code) =
            if let Some(rw) = rw.filter(rewrite::Rewritten::changed) {
                (rw.code, rw.old_index, code)
            } else {
                (code, Vec::new(), Vec::new())
            };
        // rbpf's own structural verifier, on top of ours, on the code that
        // runs (Vm::build relies on it; no VM is built for it); it does not
        // know callx, which never reaches it (see Vm::build)
        let has_callx = code
            .chunks_exact(check::INSN_SIZE)
            .any(|insn| insn[0] == check::CALLX);
        let structural = if has_callx {
            let mut plain = code.clone();
            for insn in plain.chunks_exact_mut(check::INSN_SIZE) {
                if insn[0] == check::CALLX {
                    insn.copy_from_slice(&[0x05, 0, 0, 0, 0, 0, 0, 0]);
                }
            }
            rbpf::verifier::check(&plain)
        } else {
            rbpf::verifier::check(&code)
        };
        structural.map_err(|e| Error::new(origin, sect, ErrorKind::Rejected(e.to_string())))?;
        Ok(Self {
            code,
            section: section.to_owned(),
            origin: origin.to_owned(),
            maps: Vec::new(),
            map_extras: Vec::new(),
            map_refs: Vec::new(),
            back_edge: checked.back_edge,
            function: None,
            object_programs: Vec::new(),
            globals: Vec::new(),
            prog_type: ProgType::from_section(section),
            btf: None,
            source_insns,
            source_code,
            tail_targets: Vec::new(),
        })
    }

    /// The instruction of the program as loaded that instruction `i` of
    /// [`Program::bytecode`] comes from (they differ after the rewrite of
    /// tail calls and `ld_abs`/`ld_ind`).
    pub fn source_insn(&self, i: usize) -> usize {
        self.source_insns.get(i).copied().unwrap_or(i)
    }

    /// The linked bytecode as loaded, before the rewrite of tail calls
    /// and `ld_abs`/`ld_ind` (what the kernel would be given); its map
    /// references are at [`Program::source_insn`] of [`Program::map_refs`].
    pub fn source_bytecode(&self) -> &[u8] {
        if self.source_code.is_empty() {
            &self.code
        } else {
            &self.source_code
        }
    }

    /// The program's tag, as the kernel computes it for the same object
    /// loaded by libbpf (`bpftool prog show`, `bpftool prog list`): the
    /// first 8 bytes of `hash` over [`Program::source_bytecode`] -- the
    /// linked instructions as loaded, before the rewrite of tail calls
    /// and `ld_abs`/`ld_ind` (the kernel hashes what the loader gives it,
    /// before its verifier changes anything) -- with the `src_reg` of map
    /// references set as libbpf sets it (`BPF_PSEUDO_MAP_FD`, or
    /// `BPF_PSEUDO_MAP_VALUE` for global data) and their immediates
    /// zeroed.  Linux hashes with SHA-256 since 6.18, with SHA-1 before:
    /// [`TagHash::host`] gives the host kernel's.
    pub fn tag(&self, hash: TagHash) -> [u8; 8] {
        let mut code = self.source_bytecode().to_vec();
        for r in &self.map_refs {
            let kind: u8 = if r.value_offset.is_some() { 2 } else { 1 };
            if let Some(regs) = code.get_mut(self.source_insn(r.insn) * check::INSN_SIZE + 1) {
                *regs = (*regs & 0x0f) | (kind << 4);
            }
        }
        tag::kernel_tag(&code, hash)
    }

    pub(crate) fn original_insn(&self, i: usize) -> usize {
        self.source_insn(i)
    }

    /// The programs of its object a `bpf_tail_call` of this program may
    /// run, by program index ([`Program::object_programs`]): those of
    /// the same type (by section, as the kernel only lets a program array
    /// hold programs of one type), loaded with it.  Empty when the
    /// program makes no tail calls.
    pub fn tail_targets(&self) -> &[Option<Program>] {
        &self.tail_targets
    }

    /// Load the program of `section` (or the only program) of the ELF
    /// object at `path`.  `section` is a section name, or
    /// "section/function" (or just the function's name) to choose one of
    /// several programs in a section, as libbpf names them.
    /// The file is read with [`read_object_file`].
    pub fn load_file(path: &Path, section: Option<&str>) -> Result<Self, Error> {
        let data = read_object_file(path)?;
        Self::load_elf(&data, &path.display().to_string(), section)
    }

    /// Load the program of `section` (or the only program) from the ELF
    /// object in `bytes`; `origin` names it in errors.
    ///
    /// When the program calls `bpf_tail_call`, the object's other programs
    /// of its type are loaded too ([`Program::tail_targets`]): as libbpf
    /// loads a whole object, an error in one of them is an error.
    pub fn load_elf(bytes: &[u8], origin: &str, section: Option<&str>) -> Result<Self, Error> {
        let mut prog = Self::load_one(bytes, origin, section)?;
        let tail_calls = prog.code.chunks_exact(check::INSN_SIZE).any(|x| {
            x[0] == check::CALL
                && x[1] >> 4 == 0
                && i32::from_le_bytes([x[4], x[5], x[6], x[7]]) == helpers::TAIL_CALL
        });
        if tail_calls {
            let ty = ProgType::from_section(&prog.section);
            let mut targets = Vec::with_capacity(prog.object_programs.len());
            for name in &prog.object_programs {
                let t = Self::load_one(bytes, origin, Some(name))?;
                targets.push((ProgType::from_section(&t.section) == ty).then_some(t));
            }
            prog.tail_targets = targets;
        }
        Ok(prog)
    }

    fn load_one(bytes: &[u8], origin: &str, section: Option<&str>) -> Result<Self, Error> {
        let ex = elf::extract(bytes, section)
            .map_err(|(sect, kind)| Error::new(origin, sect.as_deref(), kind))?;
        let mut prog = Self::checked(ex.code, origin, &ex.section)?;
        prog.map_refs = ex.map_refs;
        if !prog.source_insns.is_empty() {
            // the lddw of a map moved with the rewrite
            let mut new_index = vec![usize::MAX; prog.source_insns.len()];
            for (new, &old) in prog.source_insns.iter().enumerate().rev() {
                if let Some(slot) = new_index.get_mut(old) {
                    *slot = new;
                }
            }
            for r in &mut prog.map_refs {
                r.insn = new_index.get(r.insn).copied().unwrap_or(r.insn);
            }
        }
        prog.maps = ex.maps;
        prog.map_extras = ex.extras;
        prog.function = ex.function;
        prog.object_programs = ex.programs;
        prog.globals = ex.globals;
        prog.btf = ex.btf.map(Arc::new);
        Ok(prog)
    }

    /// Use raw eBPF bytecode (little-endian 8-byte instructions).
    pub fn from_bytecode(code: &[u8]) -> Result<Self, Error> {
        Self::checked(code.to_vec(), BYTECODE_ORIGIN, "")
    }

    /// The maps the program uses (BTF or legacy map definitions, and
    /// global data sections as single-entry arrays).
    pub fn maps(&self) -> &[MapDef] {
        &self.maps
    }

    /// Flags, pinning and initial contents of the maps, in the order of
    /// [`Program::maps`].
    pub fn map_extras(&self) -> &[MapExtra] {
        &self.map_extras
    }

    /// How to show the keys and values of map `name` typed by the
    /// object's BTF, as `bpftool map dump` does; None if the object has no
    /// BTF for it (legacy `SEC("maps")` definitions, bytecode, an object
    /// built without `-g`): show them in hexadecimal then.
    pub fn map_format(&self, name: &str) -> Option<MapFormat<'_>> {
        let btf = self.btf.as_deref()?;
        let i = self.maps.iter().position(|m| m.name == name)?;
        let extra = self.map_extras.get(i)?;
        (extra.btf_key_type != 0 || extra.btf_value_type != 0).then_some(MapFormat {
            btf,
            key: extra.btf_key_type,
            value: extra.btf_value_type,
        })
    }

    /// The function the program is, when it was chosen among several of
    /// its section.
    pub fn function(&self) -> Option<&str> {
        self.function.as_deref()
    }

    /// The programs of the object it came from ("section/function"), in
    /// the order `prog_array` values (program indices) refer to them.
    pub fn object_programs(&self) -> &[String] {
        &self.object_programs
    }

    /// The global variables of the object.
    pub fn globals(&self) -> &[Global] {
        &self.globals
    }

    /// Set the initial bytes of global variable `name` (e.g. a `const
    /// volatile` configuration in `.rodata`, as libbpf's skeletons do),
    /// before the program runs: `bytes` goes at the variable's start
    /// and may not be longer than it.  Applies to the [`Vm`]s created
    /// afterwards (`.rodata` cannot change once loaded).
    pub fn set_global(&mut self, name: &str, bytes: &[u8]) -> Result<(), Error> {
        let err = |m: String| self.error(ErrorKind::Map(m));
        let Some(g) = self.globals.iter().find(|g| g.name == name) else {
            return Err(err(format!("no global variable \"{name}\"")));
        };
        if bytes.len() > g.size as usize {
            return Err(err(format!(
                "global \"{name}\" is {} bytes, not {}",
                g.size,
                bytes.len()
            )));
        }
        let Some(i) = self.maps.iter().position(|m| m.name == g.section) else {
            return Err(err(format!(
                "global \"{name}\" is in {}, which the program does not use",
                g.section
            )));
        };
        let off = g.offset as usize;
        let def = &mut self.maps[i];
        let init = def
            .initial
            .get_or_insert_with(|| vec![0; def.value_size as usize]);
        init[off..off + bytes.len()].copy_from_slice(bytes);
        Ok(())
    }

    /// The `lddw` instructions that refer to maps.
    pub fn map_refs(&self) -> &[MapRef] {
        &self.map_refs
    }

    /// The program type: chosen from the section name as libbpf does
    /// ([`ProgType::from_section`]), or set by [`Program::set_prog_type`].
    pub const fn prog_type(&self) -> ProgType {
        self.prog_type
    }

    /// Force the program type (e.g. for a program whose section name
    /// does not tell).  Its context accesses are checked when a [`Vm`]
    /// is made or it is verified.
    pub fn set_prog_type(&mut self, ty: ProgType) {
        self.prog_type = ty;
        for t in self.tail_targets.iter_mut().flatten() {
            t.prog_type = ty;
        }
    }

    /// The section the program came from (empty for bytecode).
    pub fn section(&self) -> &str {
        &self.section
    }

    /// Where the program came from (file name, or `<bytecode>`).
    pub fn origin(&self) -> &str {
        &self.origin
    }

    /// Number of instruction slots (an `lddw` counts twice).
    pub fn insn_count(&self) -> usize {
        self.code.len() / check::INSN_SIZE
    }

    /// The linked bytecode, with tail calls and `ld_abs`/`ld_ind`
    /// rewritten into ordinary instructions (see
    /// [`Program::source_insn`]).
    pub fn bytecode(&self) -> &[u8] {
        &self.code
    }

    /// Whether the program has backward jumps (loops): it then only runs
    /// with a proof from the verifier.
    pub const fn has_back_edges(&self) -> bool {
        self.back_edge.is_some()
    }

    fn error(&self, kind: ErrorKind) -> Error {
        let sect = (!self.section.is_empty()).then_some(self.section.as_str());
        Error::new(&self.origin, sect, kind)
    }
}

/// Why the caller may run a program without run-time memory checks.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Trust {
    /// The caller vouches for the program (it comes from a trusted source,
    /// e.g. the host administrator, and is known to stay within the packet).
    Trusted,
    /// The verifier proved the program safe ([`verify`]); the VM uses the
    /// proof's convention and refuses packets shorter than its minimum
    /// length.
    Verified(Verified),
}

/// How a [`Vm`] executes its program.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Engine {
    /// rbpf's interpreter; every memory access is checked.
    Interpreter,
    /// rbpf's x86-64 JIT; memory accesses are not checked, hence the
    /// [`Trust`] the caller must state.  On other hosts the interpreter is
    /// used instead ([`Vm::is_jit`] tells).
    Jit(Trust),
}

/// Whether this build can JIT-compile.
pub const JIT_AVAILABLE: bool = cfg!(target_arch = "x86_64");

/// The rbpf VM of a convention: both engines enter the program with
/// r1 = packet and r2 = its length ([`Convention::Raw`]), or r1 = the
/// context block ([`Convention::Context`]).
enum Inner {
    Raw(rbpf::EbpfVmRaw<'static>),
    Context(rbpf::EbpfVmMbuff<'static>),
}

impl Inner {
    fn register_helper(&mut self, id: u32, f: rbpf::ebpf::Helper) -> Result<(), std::io::Error> {
        match self {
            Self::Raw(vm) => vm.register_helper(id, f),
            Self::Context(vm) => vm.register_helper(id, f),
        }
    }

    fn register_allowed_memory(&mut self, range: std::ops::Range<u64>) {
        match self {
            Self::Raw(vm) => vm.register_allowed_memory(range),
            Self::Context(vm) => vm.register_allowed_memory(range),
        }
    }

    /// Give each function the frame the verifier sized (its first
    /// instruction, its stack bytes): a callee's frame pointer is its
    /// caller's frame size below the caller's (interpreter and JIT).
    fn set_frames(&mut self, frames: &[(usize, u16)]) -> Result<(), std::io::Error> {
        /// Frame sizes by first instruction; other functions (none in a
        /// verified program) get rbpf's default.
        fn frame_size(_: &[u8], pc: usize, data: &mut dyn std::any::Any) -> u16 {
            data.downcast_ref::<Vec<(usize, u16)>>()
                .and_then(|f| f.binary_search_by_key(&pc, |e| e.0).ok().map(|k| f[k].1))
                .unwrap_or(rbpf::ebpf::LOCAL_FUNCTION_STACK_SIZE)
        }
        let data = Box::new(frames.to_vec());
        match self {
            Self::Raw(vm) => vm.set_stack_usage_calculator(frame_size, data),
            Self::Context(vm) => vm.set_stack_usage_calculator(frame_size, data),
        }
    }

    /// The JIT-compiled program, to call directly, if compiled.
    fn jit_entry(&self) -> Option<JitEntry> {
        match self {
            Self::Raw(vm) => vm.jit_function().map(JitEntry::Raw),
            Self::Context(vm) => vm.jit_function().map(JitEntry::Context),
        }
    }

    fn stack_range(&self) -> (u64, u64) {
        let range = match self {
            Self::Raw(vm) => vm.interpreter_stack_range(),
            Self::Context(vm) => vm.interpreter_stack_range(),
        };
        range.map_or((0, 0), |r| (r.start, r.end))
    }
}

/// The machine code of a JIT-compiled program, called as a C function.  Valid
/// while the [`Inner`] it comes from lives (it is never compiled again).
#[derive(Clone, Copy)]
enum JitEntry {
    /// r1 = the packet, r2 = its length.
    Raw(rbpf::JitRawFunction),
    /// r1 = the context block (then its length, the packet and its length).
    Context(rbpf::JitFunction),
}

/// The context block a program's r1 points to (see [`progtype`]).
#[repr(C, align(8))]
struct CtxBlock([u8; progtype::CTX_BLOCK]);

/// What a run of [`Vm::run_packet`] gave.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Outcome {
    /// The program's return value.
    pub r0: u64,
    /// What it means for the program's type.
    pub verdict: Verdict,
}

/// Options of [`Vm::with_options`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct VmOptions {
    /// How the program receives the packet (must be the proof's, if
    /// any); it selects the program type the Vm runs it as
    /// ([`ProgType::of_convention`]).  [`Vm::new`] uses the program's
    /// type ([`Program::prog_type`]).
    pub convention: Convention,
    /// A proof for the program, for the interpreter: programs with loops
    /// run only with one (the JIT takes it from [`Trust::Verified`]).
    pub proof: Option<Verified>,
}

/// Heap copy of the code that the rbpf VM borrows for `'static`.
struct OwnedCode(*mut [u8]);

impl OwnedCode {
    fn new(code: Vec<u8>) -> Self {
        Self(Box::into_raw(code.into_boxed_slice()))
    }

    fn get(&self) -> &'static [u8] {
        // SAFETY: the pointer comes from Box::into_raw and is freed only by
        // Drop; the only holder of the returned reference is the rbpf VM in
        // the same `Vm`, which is dropped first (field order).
        unsafe { &*self.0 }
    }
}

impl Drop for OwnedCode {
    fn drop(&mut self) {
        // SAFETY: allocated by Box::into_raw in `new`, freed only here.
        drop(unsafe { Box::from_raw(self.0) });
    }
}

/// One program of a [`Vm`]: the program or one of its tail-call targets,
/// with its rbpf VM and code.
struct Stage {
    // Field order matters: `inner` borrows `code` and must drop first.
    inner: Inner,
    _code: OwnedCode,
    /// Whether the program calls helpers: only then does a run set up
    /// what they need ([`maps::RunContext`]).
    helpers: bool,
    /// Addresses of the interpreter's stack, for the helpers' checks.
    stack: (u64, u64),
    /// The JIT code, when JIT-compiled.
    jit: Option<JitEntry>,
}

impl Stage {
    /// The rbpf VM of `prog` (with its `proof`, if any), whose map `i` is
    /// `addrs[map_index[i]]`.
    fn build(
        prog: &Program,
        proof: Option<&Verified>,
        map_index: &[usize],
        addrs: &[*const Map],
        convention: Convention,
        jit: bool,
    ) -> Result<Self, Error> {
        let err = |k: ErrorKind| prog.error(k.map_insns(|i| prog.original_insn(i)));
        let ty = ProgType::of_convention(convention);
        let analysed;
        let body = match proof {
            Some(p) => p.exec_code(),
            None => {
                analysed = context::analyse(&prog.code, ty)
                    .map_err(|(insn, _, detail)| err(ErrorKind::Context { insn, detail }))?;
                &analysed.code[..]
            }
        };
        if proof.is_none() {
            if let Some(insn) = (0..body.len() / check::INSN_SIZE)
                .find(|&i| body[i * check::INSN_SIZE] == check::CALLX)
            {
                return Err(err(ErrorKind::UnsupportedInstruction {
                    insn,
                    what: "call by register (callx) runs only in a verified program (the \
                           verifier proves which helper it calls); build with clang -O2 for \
                           direct calls",
                }));
            }
        }
        let mut code = body.to_vec();
        for r in &prog.map_refs {
            let addr = addrs[map_index[r.map]];
            // SAFETY: the map outlives the code (both owned by the Vm).
            let map = unsafe { &*addr };
            let value = match r.value_offset {
                None => addr as u64,
                Some(off) => map.value_region().start + u64::from(off),
            };
            let at = r.insn * check::INSN_SIZE;
            code[at + 4..at + 8].copy_from_slice(&(value as u32).to_le_bytes());
            code[at + 12..at + 16].copy_from_slice(&((value >> 32) as u32).to_le_bytes());
        }
        let code = OwnedCode::new(code);
        let helpers = code
            .get()
            .chunks_exact(check::INSN_SIZE)
            .any(|insn| insn[0] == check::CALLX || (insn[0] == check::CALL && insn[1] >> 4 == 0));
        let rejected = |e: std::io::Error| err(ErrorKind::Rejected(e.to_string()));
        // rbpf's structural verifier passed on this code when it was
        // loaded (Program::checked); the relocations of lddw immediates
        // since do not change its structure, so it is not run again
        let trusted: rbpf::Verifier = |_| Ok(());
        // a JIT-compiled stage never runs on the interpreter: it is not
        // prepared (no decoding, no stack mapping)
        let mut inner = match convention {
            Convention::Raw => {
                let mut vm = rbpf::EbpfVmRaw::new(None).map_err(rejected)?;
                vm.set_verifier(trusted).map_err(rejected)?;
                vm.set_interpreter(!jit);
                vm.set_program(code.get()).map_err(rejected)?;
                Inner::Raw(vm)
            }
            _ => {
                let mut vm = rbpf::EbpfVmMbuff::new(None).map_err(rejected)?;
                vm.set_verifier(trusted).map_err(rejected)?;
                vm.set_interpreter(!jit);
                vm.set_program(code.get()).map_err(rejected)?;
                Inner::Context(vm)
            }
        };
        for (id, f) in helpers::ALL {
            inner
                .register_helper(id.unsigned_abs(), f)
                .map_err(|e| err(ErrorKind::Rejected(e.to_string())))?;
        }
        for &addr in addrs {
            // SAFETY: see above.
            inner.register_allowed_memory(unsafe { &*addr }.value_region());
        }
        if let Some(p) = proof.filter(|p| !p.frames().is_empty()) {
            inner
                .set_frames(p.frames())
                .map_err(|e| err(ErrorKind::Rejected(e.to_string())))?;
        }
        if jit {
            compile(&mut inner).map_err(|m| err(ErrorKind::Jit(m)))?;
        }
        let stack = inner.stack_range();
        let jit = if jit { inner.jit_entry() } else { None };
        Ok(Self {
            inner,
            _code: code,
            helpers,
            stack,
            jit,
        })
    }
}

/// A program ready to run: owns the program, the rbpf VM, and the JIT
/// code if any.  Runs do not allocate.
pub struct Vm {
    /// The program.
    main: Stage,
    /// Its tail-call targets, by program index of the object
    /// ([`Program::object_programs`]); None: not a target (another
    /// program type).
    tail: Vec<Option<Stage>>,
    /// The context block: `data` and `data_end` of the current packet,
    /// read by the prologue (raw convention) or by the program, and the
    /// kernel structure's fields.
    mbuff: Box<CtxBlock>,
    /// The type the program runs as.
    prog_type: ProgType,
    jit: bool,
    /// Whether a map has a queue, whose reservations a run must end.
    queues: bool,
    /// Shortest packet the program runs on (verified programs).
    min_len: usize,
    verified: bool,
    program: Program,
    /// The program's maps, in the order of `program.maps()`, then those
    /// only its tail-call targets use; empty once
    /// retired.  On the heap: the code holds their addresses, which must
    /// not change when the maps move to a replacement Vm; shared with
    /// other programs when pinned.
    maps: Vec<Arc<Map>>,
    /// What the helpers of the last run left (redirect, tail call).
    state: maps::RunState,
    /// Its maps went to a replacement ([`Vm::new_keeping_maps`]).
    retired: bool,
    /// The JIT code of a raw-convention program that calls no helper (so
    /// makes no tail call) and has no queue to end, whose runs by
    /// [`Vm::run`] are the call alone; None once retired.
    direct: Option<rbpf::JitRawFunction>,
    /// The same for such a program on the interpreter: [`Vm::run`] enters
    /// it directly.
    direct_interp: bool,
}

// SAFETY: the rbpf VM holds helper function pointers, hash sets, the JIT
// code (owned memory) and an optional stack-usage calculator context that
// is never set here; `code` is owned; the maps are `Send + Sync` (pinned
// maps are shared, their bookkeeping guarded by their busy flag).  Nothing
// else is shared with other threads or tied to the creating thread.
unsafe impl Send for Vm {}

impl Vm {
    /// Prepare `prog` to run with `engine`, with fresh maps: the raw
    /// convention, or the convention of the proof in [`Trust::Verified`].
    pub fn new(prog: Program, engine: Engine) -> Result<Self, Error> {
        let opts = default_options(&prog, &engine);
        Self::build(prog, engine, opts, None, None)
    }

    /// Prepare `prog` to run with `engine` and `opts`: maps declared with
    /// `pinning` `LIBBPF_PIN_BY_NAME` come from `pins` (and are pinned
    /// there if new), the others from `old` if given and compatible (see
    /// [`Vm::new_keeping_maps`]), else fresh.  A pinned map whose
    /// definition differs is an error naming the map and the difference.
    pub fn with_pins(
        prog: Program,
        engine: Engine,
        opts: VmOptions,
        pins: &PinRegistry,
        old: Option<&mut Self>,
    ) -> Result<Self, Error> {
        Self::build(prog, engine, opts, old, Some(pins))
    }

    /// Prepare `prog` to run with `engine` and `opts`, with fresh maps.
    ///
    /// A program with loops needs a proof (in `engine` or `opts`); a
    /// proof must be about `prog` and for `opts.convention`.
    pub fn with_options(prog: Program, engine: Engine, opts: VmOptions) -> Result<Self, Error> {
        Self::build(prog, engine, opts, None, None)
    }

    /// Like [`Vm::new`], but the new program takes over the maps of `old`
    /// that match its own by name, kind and sizes, so that their contents
    /// survive a program replacement; the other maps start empty.  On
    /// success `old` is retired: its runs fail, it is only to be dropped.
    /// On failure `old` is unchanged.
    pub fn new_keeping_maps(prog: Program, engine: Engine, old: &mut Self) -> Result<Self, Error> {
        let opts = default_options(&prog, &engine);
        Self::build(prog, engine, opts, Some(old), None)
    }

    /// [`Vm::new_keeping_maps`] with [`VmOptions`].
    pub fn with_options_keeping_maps(
        prog: Program,
        engine: Engine,
        opts: VmOptions,
        old: &mut Self,
    ) -> Result<Self, Error> {
        Self::build(prog, engine, opts, Some(old), None)
    }

    fn build(
        prog: Program,
        engine: Engine,
        opts: VmOptions,
        old: Option<&mut Self>,
        pins: Option<&PinRegistry>,
    ) -> Result<Self, Error> {
        let err = |k| prog.error(k);
        let convention = opts.convention;
        let proof = proof_for(&prog, &engine, opts)?;
        // The maps of the program and of its tail-call targets (the same
        // object: a map is known by its name), the program's first.
        let mut defs: Vec<(MapDef, MapExtra)> = prog
            .maps
            .iter()
            .enumerate()
            .map(|(i, d)| {
                (
                    d.clone(),
                    prog.map_extras.get(i).cloned().unwrap_or_default(),
                )
            })
            .collect();
        let mut target_maps: Vec<Vec<usize>> = Vec::new();
        for t in prog.tail_targets.iter().flatten() {
            let mut index = Vec::new();
            for (i, d) in t.maps.iter().enumerate() {
                let at = match defs.iter().position(|(u, _)| u.name == d.name) {
                    Some(at) if same_shape(&defs[at].0, d) => at,
                    Some(_) => {
                        return Err(t.error(ErrorKind::Map(format!(
                            "map \"{}\" differs from the map of that name of program {}",
                            d.name,
                            prog.function().unwrap_or_else(|| prog.section())
                        ))))
                    }
                    None => {
                        defs.push((d.clone(), t.map_extras.get(i).cloned().unwrap_or_default()));
                        defs.len() - 1
                    }
                };
                index.push(at);
            }
            target_maps.push(index);
        }
        // Maps first: the code refers to them by address.  Kept maps stay
        // in `old` until nothing can fail any more.
        let mut fresh: Vec<Option<Arc<Map>>> = Vec::new();
        let mut kept: Vec<Option<usize>> = Vec::new();
        let mut addrs = Vec::new();
        maps::check_defs(&prog.maps, &prog.map_extras).map_err(|m| err(ErrorKind::Map(m)))?;
        for (def, extra) in &defs {
            let extra = extra.clone();
            if let (Some(pins), maps::Pinning::ByName) = (pins, extra.pinning) {
                let map = pins
                    .get_or_create(def, &extra)
                    .map_err(|m| err(ErrorKind::Map(m)))?;
                addrs.push(Arc::as_ptr(&map));
                fresh.push(Some(map));
                kept.push(None);
                continue;
            }
            let reuse = old.as_deref().and_then(|o| {
                o.maps.iter().position(|m| {
                    // global data set anew (Program::set_global) is
                    // not the old object's: a new map holds it
                    m.compatible(def)
                        && m.extra().pinning == extra.pinning
                        && m.def().initial == def.initial
                })
            });
            if let (Some(at), Some(o)) = (reuse, old.as_deref()) {
                addrs.push(Arc::as_ptr(&o.maps[at]));
                fresh.push(None);
            } else {
                let map = Arc::new(
                    Map::with_extra(def.clone(), extra).map_err(|m| err(ErrorKind::Map(m)))?,
                );
                addrs.push(Arc::as_ptr(&map));
                fresh.push(Some(map));
            }
            kept.push(reuse);
        }
        let ty = ProgType::of_convention(convention);
        let jit = matches!(engine, Engine::Jit(_)) && JIT_AVAILABLE;
        let own: Vec<usize> = (0..prog.maps.len()).collect();
        let main = Stage::build(&prog, proof.as_ref(), &own, &addrs, convention, jit)?;
        // Tail-call targets: verified with the program's proof (which
        // holds theirs), or under the same rules as the program.
        let mut tail = Vec::with_capacity(prog.tail_targets.len());
        let mut target_maps = target_maps.iter();
        for (i, t) in prog.tail_targets.iter().enumerate() {
            let Some(t) = t else {
                tail.push(None);
                continue;
            };
            let tproof = match &proof {
                Some(p) => Some(p.target(i).ok_or_else(|| {
                    t.error(ErrorKind::ProofMismatch(
                        "the proof does not cover this tail-call target".to_owned(),
                    ))
                })?),
                None => {
                    if let Some((insn, target)) = t.back_edge {
                        return Err(t.error(ErrorKind::BackwardJump { insn, target }));
                    }
                    None
                }
            };
            let index = target_maps.next().map_or(&[][..], Vec::as_slice);
            tail.push(Some(Stage::build(
                t, tproof, index, &addrs, convention, jit,
            )?));
        }
        // Nothing fails from here on: take over the kept maps.
        let mut taken = match old {
            Some(o) => {
                o.retired = true;
                o.direct = None;
                o.direct_interp = false;
                std::mem::take(&mut o.maps).into_iter().map(Some).collect()
            }
            None => Vec::new(),
        };
        let maps: Vec<Arc<Map>> = fresh
            .into_iter()
            .zip(kept)
            .map(|(f, k)| match (f, k) {
                (Some(map), _) => map,
                (None, Some(i)) => taken[i].take().expect("a map is kept once"),
                (None, None) => unreachable!("a map is either fresh or kept"),
            })
            .collect();
        let tail_ok: Vec<bool> = tail.iter().map(Option::is_some).collect();
        let queues = maps.iter().any(|m| m.has_queue());
        let plain = !main.helpers && !queues;
        let direct = match main.jit {
            Some(JitEntry::Raw(f)) if plain => Some(f),
            _ => None,
        };
        let direct_interp = plain && !jit && matches!(main.inner, Inner::Raw(_));
        Ok(Self {
            main,
            tail,
            mbuff: Box::new(CtxBlock([0; progtype::CTX_BLOCK])),
            prog_type: ty,
            jit,
            queues,
            min_len: proof.as_ref().map_or(0, Verified::min_len),
            verified: proof.is_some(),
            program: prog,
            maps,
            state: {
                let mut st = maps::RunState {
                    tail_targets: tail_ok.into_boxed_slice(),
                    ..maps::RunState::default()
                };
                st.printk.get_mut().reserve(packet::MAX_TRACE_LINES);
                st.xdp.set(ty == ProgType::Xdp);
                st.verified.set(proof.is_some());
                st
            },
            retired: false,
            direct,
            direct_interp,
        })
    }

    /// The program's maps, in the order of [`Program::maps`].
    pub fn maps(&self) -> impl Iterator<Item = &Map> {
        self.maps.iter().map(|m| &**m)
    }

    /// A shared handle to the map called `name` (for the host to keep).
    pub fn map_handle(&self, name: &str) -> Option<Arc<Map>> {
        self.maps.iter().find(|m| m.def().name == name).cloned()
    }

    /// Where the last run redirected the packet with `bpf_redirect_map`
    /// (its verdict was then `XDP_REDIRECT`, 4).
    pub fn last_redirect(&self) -> Option<Redirect> {
        self.state.redirect.get()
    }

    /// The map called `name`.
    pub fn map(&self, name: &str) -> Option<&Map> {
        self.maps().find(|m| m.def().name == name)
    }

    /// Run the program on `packet`: r1 = packet start, r2 = its length
    /// (or r1 = the context block, with the packet's start and end and,
    /// for kernel types, the fields of [`PacketMeta::default`]).
    ///
    /// The program may modify the packet, not move or resize it (that
    /// needs [`Vm::run_packet`]).  Does not allocate, except to describe
    /// an error.  A verified program does not run on packets shorter
    /// than the minimum length it was proven for.
    #[inline]
    pub fn run(&mut self, packet: &mut [u8]) -> Result<u64, RunError> {
        if let Some(f) = self.direct {
            // Nothing else to do for this program (see `direct`): the
            // checks of run_view, then the call.
            let len = packet.len();
            if len >= self.min_len && len <= u32::MAX as usize {
                let mem = if len == 0 {
                    std::ptr::null_mut()
                } else {
                    packet.as_mut_ptr()
                };
                // SAFETY: as in Run::exec (`jit_safety`), the packet being
                // at least `min_len` bytes long.
                return Ok(unsafe { f(mem, len) });
            }
        }
        self.run_slice(packet)
    }

    /// [`Vm::run`] but for the JIT's direct call (out of line, so that
    /// `run` stays small enough to inline).
    #[inline(never)]
    fn run_slice(&mut self, packet: &mut [u8]) -> Result<u64, RunError> {
        if self.direct_interp && packet.len() >= self.min_len && packet.len() <= u32::MAX as usize {
            return self.run_interp(packet);
        }
        let block = std::ptr::from_mut(&mut *self.mbuff) as u64;
        let view = packet::PktView::of_slice(packet, block);
        self.run_view(packet, view, &PacketMeta::default())
    }

    /// A run of a `direct_interp` program: the interpreter alone.
    fn run_interp(&self, packet: &mut [u8]) -> Result<u64, RunError> {
        let Inner::Raw(vm) = &self.main.inner else {
            return Err(RunError::Other("not a raw-convention program".to_owned()));
        };
        let res = if self.verified {
            // SAFETY: as in Run::exec: the proof makes the interpreter's
            // checks redundant, the packet being at least `min_len` bytes
            // long (checked by the caller).
            unsafe { vm.execute_program_unchecked(packet) }
        } else {
            vm.execute_program(packet)
        };
        res.map_err(|e| {
            let start = packet.as_ptr() as u64;
            let regions = Regions {
                packet: (start, start + packet.len() as u64),
                ctx: None,
                stack: self.main.stack,
            };
            run_error(&e.to_string(), &self.program, None, &regions)
        })
    }

    /// Run the program on `pkt` as its type means it: the context holds
    /// `meta`'s fields, the program may move and resize the packet
    /// (`bpf_xdp_adjust_head/tail`: [`Packet::data`] is the packet
    /// afterwards), and the verdict is the kernel's for the return value
    /// ([`ProgType::verdict`], with the redirect target of
    /// `bpf_redirect`/`bpf_redirect_map`).  Output of
    /// `bpf_trace_printk` waits in [`Vm::take_trace`].
    pub fn run_packet(&mut self, pkt: &mut Packet, meta: &PacketMeta) -> Result<Outcome, RunError> {
        let block = std::ptr::from_mut(&mut *self.mbuff) as u64;
        let view = pkt.view(block);
        let res = self.run_view(pkt.buffer_mut(), view, meta);
        let after = self.state.pkt.get();
        pkt.update(&after);
        let r0 = res?;
        let verdict = self
            .prog_type
            .verdict(r0, self.state.target.get(), pkt.len());
        Ok(Outcome { r0, verdict })
    }

    /// The lines `bpf_trace_printk` produced since the last call (at
    /// most [`packet::MAX_TRACE_LINES`] are kept).
    pub fn take_trace(&self) -> Vec<String> {
        self.state
            .printk
            .try_borrow_mut()
            .map(|mut q| q.drain(..).map(|l| l.text()).collect())
            .unwrap_or_default()
    }

    /// The type the program runs as.
    pub const fn prog_type(&self) -> ProgType {
        self.prog_type
    }

    /// Where the last run sent the packet (`bpf_redirect` or
    /// `bpf_redirect_map`), if it did.
    pub fn last_target(&self) -> Option<RedirectTarget> {
        self.state.target.get()
    }

    fn run_view(
        &mut self,
        mem: &mut [u8],
        view: packet::PktView,
        meta: &PacketMeta,
    ) -> Result<u64, RunError> {
        let len = usize::try_from(view.data_end - view.data).unwrap_or(usize::MAX);
        if self.verified && (len < self.min_len || len as u64 > u64::from(u32::MAX)) {
            return Err(RunError::PacketLength {
                len,
                min: self.min_len,
            });
        }
        if self.retired {
            return Err(RunError::Other(
                "the program was replaced and its maps handed over".to_owned(),
            ));
        }
        if self.main.helpers {
            // what the helpers leave, for the whole chain of tail calls
            self.state.reset();
        }
        self.state.pkt.set(view);
        let block = &mut self.mbuff.0;
        if let Inner::Context(_) = self.main.inner {
            block[progtype::CTX_DATA..progtype::CTX_DATA + 8]
                .copy_from_slice(&view.data.to_ne_bytes());
            block[progtype::CTX_DATA_END..progtype::CTX_DATA_END + 8]
                .copy_from_slice(&view.data_end.to_ne_bytes());
            block[progtype::CTX_DATA_META..progtype::CTX_DATA_META + 8]
                .copy_from_slice(&view.meta.to_ne_bytes());
            if self.prog_type != ProgType::Ubpf {
                let mac_off = usize::try_from(view.mac - view.buf.0).unwrap_or(0);
                let end_off = usize::try_from(view.data_end - view.buf.0).unwrap_or(0);
                let frame = mem.get(mac_off..end_off).unwrap_or(&[]);
                progtype::fill_fields(self.prog_type, block, len, frame, meta);
            }
        }
        let run = Run {
            maps: &self.maps,
            state: &self.state,
            checked: !self.jit && !self.verified,
            jit: self.jit,
            verified: self.verified,
        };
        let mut res = run.exec(&self.main, block, mem, view);
        // the tail-call target that ran last (None: the program)
        let mut ran = None;
        // bpf_tail_call: the program ended (the rewrite's exit after a
        // successful call, crate::rewrite); its target runs on the same
        // context and packet, until a program ends without one.  The
        // helper counts the calls (at most maps::MAX_TAIL_CALLS) and only
        // succeeds for targets the Vm has.
        let mut short = None;
        while let Some(next) = self.state.tail_call.take() {
            let Some(stage) = self.tail.get(next as usize).and_then(Option::as_ref) else {
                break;
            };
            if res.is_err() {
                break;
            }
            let now = self.state.pkt.get();
            let now_len = usize::try_from(now.data_end - now.data).unwrap_or(usize::MAX);
            if self.verified && now_len < self.min_len {
                // the target was proven for packets of at least min_len
                short = Some(RunError::PacketLength {
                    len: now_len,
                    min: self.min_len,
                });
                break;
            }
            ran = Some(next as usize);
            res = run.exec(stage, block, mem, now);
        }
        if self.queues {
            maps::end_of_run(&self.maps);
        }
        if let Some(e) = short {
            return Err(e);
        }
        res.map_err(|e| self.fault(&e.to_string(), ran))
    }

    /// The [`RunError`] of rbpf's message `msg` about the run of the
    /// program, or of its tail-call target `ran`, that just failed.
    fn fault(&self, msg: &str, ran: Option<usize>) -> RunError {
        let target = ran.and_then(|i| Some((self.program.tail_targets.get(i)?.as_ref()?, i)));
        let (prog, stage) = match target {
            Some((t, i)) => match self.tail.get(i).and_then(Option::as_ref) {
                Some(stage) => (t, stage),
                None => (&self.program, &self.main),
            },
            None => (&self.program, &self.main),
        };
        let now = self.state.pkt.get();
        let regions = Regions {
            packet: (now.data, now.data_end),
            ctx: matches!(stage.inner, Inner::Context(_))
                .then(|| std::ptr::from_ref(&*self.mbuff) as u64),
            stack: stage.stack,
        };
        let name = target.map(|(t, _)| t.function().unwrap_or_else(|| t.section()));
        run_error(msg, prog, name, &regions)
    }

    /// The number of tail calls the last run made.
    pub fn last_tail_calls(&self) -> u32 {
        self.state.tail_calls.get()
    }

    /// Whether runs use JIT code.
    pub const fn is_jit(&self) -> bool {
        self.jit
    }

    /// Whether the program runs with a proof from the verifier.
    pub const fn is_verified(&self) -> bool {
        self.verified
    }

    /// The program.
    pub const fn program(&self) -> &Program {
        &self.program
    }
}

/// What the runs of a [`Vm`]'s programs share.
struct Run<'a> {
    maps: &'a [Arc<Map>],
    state: &'a maps::RunState,
    /// Helpers check the pointers they are given (unverified programs on
    /// the interpreter).
    checked: bool,
    jit: bool,
    verified: bool,
}

impl Run<'_> {
    /// Run `stage` on the packet of `view` (within `mem`) and the context
    /// `block`.
    fn exec(
        &self,
        stage: &Stage,
        block: &mut [u8],
        mem: &mut [u8],
        view: packet::PktView,
    ) -> Result<u64, std::io::Error> {
        // what the helpers need: this run's maps and memory
        let ctx = stage.helpers.then(|| {
            maps::RunContext::enter(
                self.maps,
                view.buf.0..view.buf.1,
                stage.stack,
                self.checked,
                self.state,
            )
        });
        let res = match &stage.inner {
            Inner::Raw(vm) => {
                // r1 = data, r2 = its length: the packet's bytes within the
                // buffer (which has head- and tailroom)
                let off = usize::try_from(view.data - view.buf.0).unwrap_or(0);
                let len = usize::try_from(view.data_end - view.data).unwrap_or(0);
                let packet = mem.get_mut(off..off + len).unwrap_or(&mut []);
                if let Some(JitEntry::Raw(f)) = stage.jit {
                    let ptr = if packet.is_empty() {
                        std::ptr::null_mut()
                    } else {
                        packet.as_mut_ptr()
                    };
                    // SAFETY: see `jit_safety` below.
                    Ok(unsafe { f(ptr, packet.len()) })
                } else if self.jit {
                    // SAFETY: see `jit_safety` below.
                    unsafe { vm.execute_program_jit(packet) }
                } else if self.verified {
                    // SAFETY: the same guarantees (a proof) make the
                    // interpreter's checks redundant.
                    unsafe { vm.execute_program_unchecked(packet) }
                } else {
                    vm.execute_program(packet)
                }
            }
            Inner::Context(vm) => {
                if let Some(JitEntry::Context(f)) = stage.jit {
                    let ptr = if mem.is_empty() {
                        std::ptr::null_mut()
                    } else {
                        mem.as_mut_ptr()
                    };
                    // SAFETY: see `jit_safety` below.
                    Ok(unsafe { f(block.as_mut_ptr(), block.len(), ptr, mem.len(), 0, 0) })
                } else if self.jit {
                    // SAFETY: see `jit_safety` below.
                    unsafe { vm.execute_program_jit(mem, block) }
                } else if self.verified {
                    // SAFETY: as for the JIT.
                    unsafe { vm.execute_program_unchecked(mem, block) }
                } else {
                    vm.execute_program(mem, block)
                }
            }
        };
        // jit_safety: the JIT does not check memory accesses.  A `Vm` only
        // uses it for programs that passed the checks (valid code, known
        // helpers, bounded calls) and that the verifier proved to stay
        // within the packet (at least `min_len` bytes, checked by the
        // caller before each program of a chain of tail calls), their
        // stack frames and the context block, and to terminate -- or that
        // the caller declared trusted (`Trust`), which also requires forward
        // jumps only (tail-call targets included).  `packet` and `mbuff`
        // are valid for the call.
        drop(ctx);
        res
    }
}

/// Whether two programs of an object declare map `a` and `b` alike
/// (initial contents aside: the program's own win).
fn same_shape(a: &MapDef, b: &MapDef) -> bool {
    a.name == b.name
        && a.kind == b.kind
        && a.key_size == b.key_size
        && a.value_size == b.value_size
        && a.max_entries == b.max_entries
}

/// The options [`Vm::new`] uses for `prog` and `engine`.
fn default_options(prog: &Program, engine: &Engine) -> VmOptions {
    VmOptions {
        convention: match engine {
            Engine::Jit(Trust::Verified(v)) => v.convention(),
            _ => prog.prog_type.convention(),
        },
        proof: None,
    }
}

/// The proof `prog` runs with, checked against it and `opts`.
fn proof_for(prog: &Program, engine: &Engine, opts: VmOptions) -> Result<Option<Verified>, Error> {
    let mismatch = |m: String| prog.error(ErrorKind::ProofMismatch(m));
    let proof = match (engine, opts.proof) {
        (Engine::Jit(Trust::Verified(v)), Some(p)) if *v != p => {
            return Err(mismatch("two different proofs given".to_owned()));
        }
        (Engine::Jit(Trust::Verified(v)), _) => Some(v.clone()),
        (_, p) => p,
    };
    match &proof {
        Some(p) if !p.proves(prog) => {
            Err(mismatch("the proof is about another program".to_owned()))
        }
        Some(p) if p.convention() != opts.convention => Err(mismatch(format!(
            "the program was verified for the {:?} convention, not {:?}",
            p.convention(),
            opts.convention
        ))),
        Some(_) => Ok(proof),
        None => match prog.back_edge {
            Some((insn, target)) => Err(prog.error(ErrorKind::BackwardJump { insn, target })),
            None => Ok(None),
        },
    }
}

#[cfg(target_arch = "x86_64")]
fn compile(inner: &mut Inner) -> Result<(), String> {
    // rbpf asserts internally; never let that unwind into the caller.
    let res = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| match inner {
        Inner::Raw(vm) => vm.jit_compile(),
        Inner::Context(vm) => vm.jit_compile(),
    }));
    match res {
        Ok(Ok(())) => Ok(()),
        Ok(Err(e)) => Err(e.to_string()),
        Err(_) => Err("the JIT compiler panicked".to_owned()),
    }
}

#[cfg(not(target_arch = "x86_64"))]
fn compile(_inner: &mut Inner) -> Result<(), String> {
    Ok(())
}

/// Where the memory of a run was, to say where a faulting access went
/// without naming host addresses.
struct Regions {
    /// The packet: `data`, `data_end`.
    packet: (u64, u64),
    /// The context block, in the context conventions.
    ctx: Option<u64>,
    /// The program's stack: its lowest address and its end (r10).
    stack: (u64, u64),
}

impl Regions {
    /// Where `addr` is ("at packet offset 24 (the packet has 20 bytes)",
    /// "at stack offset -520 ..."): relative to the region holding it,
    /// else to the first of the packet, the stack and the context block
    /// that it is near (not to the nearest: how far apart the regions
    /// are is up to the host's allocator, and the message would change
    /// with it).
    fn place(&self, addr: u64) -> String {
        /// Farther than this from every region, an address is not
        /// described relative to one.
        const NEAR: u64 = 1 << 16;
        let distance = |(lo, hi): (u64, u64)| {
            if addr < lo {
                lo - addr
            } else if addr >= hi {
                addr - hi + 1
            } else {
                0
            }
        };
        #[derive(Clone, Copy)]
        enum Region {
            Packet,
            Stack,
            Ctx,
        }
        let ctx = self.ctx.map(|c| (c, c + progtype::CTX_BLOCK as u64));
        let off = |base: u64| i128::from(addr) - i128::from(base);
        let nearest = [
            (Region::Packet, Some(self.packet)),
            (Region::Stack, Some(self.stack).filter(|s| s.1 > s.0)),
            (Region::Ctx, ctx),
        ]
        .into_iter()
        .filter_map(|(k, r)| r.map(|r| (k, r, distance(r))))
        .enumerate()
        .filter(|&(_, (_, _, d))| d <= NEAR)
        .min_by_key(|&(order, (_, _, d))| (d > 0, order))
        .map(|(_, r)| r);
        match nearest {
            Some((Region::Packet, (data, end), _)) => format!(
                "at packet offset {} (the packet has {} bytes)",
                off(data),
                end - data
            ),
            Some((Region::Stack, (lo, hi), _)) => format!(
                "at stack offset {} (the stack is offsets -{} to -1 from r10)",
                off(hi),
                hi - lo
            ),
            Some((Region::Ctx, (c, end), _)) => format!(
                "at offset {} of the context block ({} bytes)",
                off(c),
                end - c
            ),
            None if addr < 4096 => format!("at address {addr}: a null pointer"),
            None if self.ctx.is_some() => {
                "outside the packet, the stack, the context and the maps".to_owned()
            }
            None => "outside the packet, the stack and the maps".to_owned(),
        }
    }
}

/// Turn rbpf's run-time error message `msg` about `prog` (a tail-call
/// target of that name when `target` is given) into a [`RunError`]: its
/// instruction numbered as the program was loaded (rbpf counts the code
/// that runs, after the rewrite of tail calls and `ld_abs`/`ld_ind`, and
/// names the instruction after a faulting access), the kind and size of
/// the access, and its address relative to `regions` instead of a host
/// address.
fn run_error(msg: &str, prog: &Program, target: Option<&str>, regions: &Regions) -> RunError {
    let msg = msg.strip_prefix("Error: ").unwrap_or(msg);
    // the first line; rbpf's next lines list the regions by address
    let msg = msg.lines().next().unwrap_or(msg);
    if msg.starts_with("too many nested calls") {
        return RunError::CallDepth;
    }
    let number = |s: &str, radix: u32| {
        let digits: String = s.chars().take_while(|c| c.is_digit(radix)).collect();
        u64::from_str_radix(&digits, radix).ok()
    };
    // "WHAT (insn #N), addr 0xA, size S"
    let (what, insn, rest) = match msg.split_once(" (insn #") {
        Some((what, rest)) => {
            let n = number(rest, 10).and_then(|n| usize::try_from(n).ok());
            let rest = rest.split_once(')').map_or("", |(_, r)| r);
            (what, n, rest)
        }
        None => (msg, None, ""),
    };
    let field = |name: &str, radix: u32| {
        let (_, v) = rest.split_once(name)?;
        number(v.strip_prefix("0x").unwrap_or(v), radix)
    };
    let addr = field(", addr ", 16);
    let size = field(", size ", 10);
    let place = addr.map(|a| regions.place(a));
    if let Some(kind) = what.strip_prefix("out of bounds memory ") {
        // rbpf names the instruction after the access
        let insn = insn
            .and_then(|n| n.checked_sub(1))
            .map(|i| prog.source_insn(i));
        let mut detail = match size {
            Some(n) => format!("{n}-byte {kind}"),
            None => kind.to_owned(),
        };
        if let Some(p) = place {
            detail = format!("{detail} {p}");
        }
        return RunError::OutOfBounds {
            insn,
            detail,
            target: target.map(str::to_owned),
        };
    }
    let mut text = String::new();
    if let Some(i) = insn {
        text = format!("instruction {}", prog.source_insn(i));
        if let Some(t) = target {
            text.push_str(&format!(" of tail-call target {t}"));
        }
        text.push_str(": ");
    }
    text.push_str(what);
    if let Some(p) = place {
        text = format!("{text} {p}");
    }
    RunError::Other(text)
}
