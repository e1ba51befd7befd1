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
mod elf;
mod error;
pub mod helpers;
pub mod maps;
pub mod net;
mod verifier;

pub mod capi;

use std::path::Path;

pub use check::{MAX_CALL_DEPTH, MAX_INSNS};
pub use error::{Error, ErrorKind, RunError};
pub use maps::{Map, MapDef, MapRef};
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
    map_refs: Vec<MapRef>,
    back_edge: Option<(usize, usize)>,
}

impl Program {
    fn checked(code: Vec<u8>, origin: &str, section: &str) -> Result<Self, Error> {
        let sect = (!section.is_empty()).then_some(section);
        let checked = check::check(&code).map_err(|k| Error::new(origin, sect, k))?;
        // rbpf's own structural verifier, on top of ours.
        rbpf::EbpfVmMbuff::new(Some(&code))
            .map_err(|e| Error::new(origin, sect, ErrorKind::Rejected(e.to_string())))?;
        Ok(Self {
            code,
            section: section.to_owned(),
            origin: origin.to_owned(),
            maps: Vec::new(),
            map_refs: Vec::new(),
            back_edge: checked.back_edge,
        })
    }

    /// Load the program of `section` (or the only program) of the ELF
    /// object at `path`.
    /// The file is read with [`read_object_file`].
    pub fn load_file(path: &Path, section: Option<&str>) -> Result<Self, Error> {
        let data = read_object_file(path)?;
        Self::load_elf(&data, &path.display().to_string(), section)
    }

    /// Load the program of `section` (or the only program) from the ELF
    /// object in `bytes`; `origin` names it in errors.
    pub fn load_elf(bytes: &[u8], origin: &str, section: Option<&str>) -> Result<Self, Error> {
        let ex = elf::extract(bytes, section)
            .map_err(|(sect, kind)| Error::new(origin, sect.as_deref(), kind))?;
        let mut prog = Self::checked(ex.code, origin, &ex.section)?;
        prog.maps = ex.maps;
        prog.map_refs = ex.map_refs;
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

    /// The `lddw` instructions that refer to maps.
    pub fn map_refs(&self) -> &[MapRef] {
        &self.map_refs
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

    /// The linked bytecode.
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

/// Loads r1 = data and r2 = `data_end` - data from the metadata block that
/// r1 points to on entry (see [`Vm::run`]).
const PROLOGUE: [u8; 24] = [
    0x79, 0x12, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00, // ldxdw r2, [r1 + 8]
    0x79, 0x11, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, // ldxdw r1, [r1 + 0]
    0x1f, 0x12, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, // sub r2, r1
];

/// Options of [`Vm::with_options`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct VmOptions {
    /// How the program receives the packet (must be the proof's, if any).
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

/// A program ready to run: owns the program, the rbpf VM, and the JIT
/// code if any.  Runs do not allocate.
pub struct Vm {
    // Field order matters: `inner` borrows `code` and must drop first.
    inner: rbpf::EbpfVmMbuff<'static>,
    _code: OwnedCode,
    /// `data` and `data_end` of the current packet, read by the prologue
    /// (raw convention) or by the program (context convention).
    mbuff: [u8; 16],
    jit: bool,
    /// Instructions added in front of the program.
    prologue: usize,
    /// Shortest packet the program runs on (verified programs).
    min_len: usize,
    verified: bool,
    program: Program,
    /// The program's maps, in the order of `program.maps()`; empty once
    /// retired.  Boxed: the code holds their addresses, which must not
    /// change when the maps move to a replacement Vm.
    #[allow(clippy::vec_box)]
    maps: Vec<Box<Map>>,
    /// Its maps went to a replacement ([`Vm::new_keeping_maps`]).
    retired: bool,
}

// SAFETY: the rbpf VM holds helper function pointers, hash sets, the JIT
// code (owned memory) and an optional stack-usage calculator context that
// is never set here; `code` and the maps are owned (maps move to another
// Vm only through `new_keeping_maps`, which retires this one).  Nothing is
// shared with other threads or tied to the creating thread.
unsafe impl Send for Vm {}

impl Vm {
    /// Prepare `prog` to run with `engine`, with fresh maps: the raw
    /// convention, or the convention of the proof in [`Trust::Verified`].
    pub fn new(prog: Program, engine: Engine) -> Result<Self, Error> {
        let opts = default_options(&engine);
        Self::build(prog, engine, opts, None)
    }

    /// Prepare `prog` to run with `engine` and `opts`, with fresh maps.
    ///
    /// A program with loops needs a proof (in `engine` or `opts`); a
    /// proof must be about `prog` and for `opts.convention`.
    pub fn with_options(prog: Program, engine: Engine, opts: VmOptions) -> Result<Self, Error> {
        Self::build(prog, engine, opts, None)
    }

    /// Like [`Vm::new`], but the new program takes over the maps of `old`
    /// that match its own by name, kind and sizes, so that their contents
    /// survive a program replacement; the other maps start empty.  On
    /// success `old` is retired: its runs fail, it is only to be dropped.
    /// On failure `old` is unchanged.
    pub fn new_keeping_maps(prog: Program, engine: Engine, old: &mut Self) -> Result<Self, Error> {
        let opts = default_options(&engine);
        Self::build(prog, engine, opts, Some(old))
    }

    /// [`Vm::new_keeping_maps`] with [`VmOptions`].
    pub fn with_options_keeping_maps(
        prog: Program,
        engine: Engine,
        opts: VmOptions,
        old: &mut Self,
    ) -> Result<Self, Error> {
        Self::build(prog, engine, opts, Some(old))
    }

    fn build(
        prog: Program,
        engine: Engine,
        opts: VmOptions,
        old: Option<&mut Self>,
    ) -> Result<Self, Error> {
        let err = |k| prog.error(k);
        let convention = opts.convention;
        let proof = proof_for(&prog, &engine, opts)?;
        // Maps first: the code refers to them by address.  Kept maps stay
        // in `old` until nothing can fail any more.
        let mut fresh: Vec<Option<Box<Map>>> = Vec::new();
        let mut kept: Vec<Option<usize>> = Vec::new();
        let mut addrs = Vec::new();
        maps::check_defs(&prog.maps).map_err(|m| err(ErrorKind::Map(m)))?;
        for def in &prog.maps {
            let reuse = old
                .as_deref()
                .and_then(|o| o.maps.iter().position(|m| m.compatible(def)));
            if let (Some(i), Some(o)) = (reuse, old.as_deref()) {
                addrs.push(std::ptr::from_ref::<Map>(&o.maps[i]));
                fresh.push(None);
            } else {
                let map = Box::new(Map::new(def.clone()).map_err(|m| err(ErrorKind::Map(m)))?);
                addrs.push(std::ptr::from_ref::<Map>(&map));
                fresh.push(Some(map));
            }
            kept.push(reuse);
        }
        let body = proof.as_ref().map_or(&prog.code[..], Verified::exec_code);
        let prologue: &[u8] = match convention {
            Convention::Raw => &PROLOGUE,
            Convention::Context => &[],
        };
        let prologue_insns = prologue.len() / check::INSN_SIZE;
        let mut code = Vec::with_capacity(prologue.len() + body.len());
        code.extend_from_slice(prologue);
        code.extend_from_slice(body);
        for r in &prog.map_refs {
            // SAFETY: the map outlives the code (both owned by the Vm).
            let map = unsafe { &*addrs[r.map] };
            let value = match r.value_offset {
                None => addrs[r.map] as u64,
                Some(off) => map.value_region().start + u64::from(off),
            };
            let at = (prologue_insns + r.insn) * check::INSN_SIZE;
            code[at + 4..at + 8].copy_from_slice(&(value as u32).to_le_bytes());
            code[at + 12..at + 16].copy_from_slice(&((value >> 32) as u32).to_le_bytes());
        }
        let code = OwnedCode::new(code);
        let mut inner = rbpf::EbpfVmMbuff::new(Some(code.get()))
            .map_err(|e| err(ErrorKind::Rejected(e.to_string())))?;
        for (id, f) in helpers::ALL {
            inner
                .register_helper(id.unsigned_abs(), f)
                .map_err(|e| err(ErrorKind::Rejected(e.to_string())))?;
        }
        for &addr in &addrs {
            // SAFETY: see above.
            inner.register_allowed_memory(unsafe { &*addr }.value_region());
        }
        let jit = matches!(engine, Engine::Jit(_)) && JIT_AVAILABLE;
        if jit {
            compile(&mut inner).map_err(|m| err(ErrorKind::Jit(m)))?;
        }
        // Nothing fails from here on: take over the kept maps.
        let mut taken = match old {
            Some(o) => {
                o.retired = true;
                std::mem::take(&mut o.maps).into_iter().map(Some).collect()
            }
            None => Vec::new(),
        };
        let maps = fresh
            .into_iter()
            .zip(kept)
            .map(|(f, k)| match (f, k) {
                (Some(map), _) => map,
                (None, Some(i)) => taken[i].take().expect("a map is kept once"),
                (None, None) => unreachable!("a map is either fresh or kept"),
            })
            .collect();
        Ok(Self {
            inner,
            _code: code,
            mbuff: [0; 16],
            jit,
            prologue: prologue_insns,
            min_len: proof.as_ref().map_or(0, Verified::min_len),
            verified: proof.is_some(),
            program: prog,
            maps,
            retired: false,
        })
    }

    /// The program's maps, in the order of [`Program::maps`].
    pub fn maps(&self) -> impl Iterator<Item = &Map> {
        self.maps.iter().map(|m| &**m)
    }

    /// The map called `name`.
    pub fn map(&self, name: &str) -> Option<&Map> {
        self.maps().find(|m| m.def().name == name)
    }

    /// Run the program on `packet`: r1 = packet start, r2 = its length
    /// (or r1 = the context block).
    ///
    /// The program may modify the packet.  Does not allocate, except to
    /// describe an error.  A verified program does not run on packets
    /// shorter than the minimum length it was proven for.
    pub fn run(&mut self, packet: &mut [u8]) -> Result<u64, RunError> {
        if self.verified
            && (packet.len() < self.min_len || packet.len() as u64 > u64::from(u32::MAX))
        {
            return Err(RunError::PacketLength {
                len: packet.len(),
                min: self.min_len,
            });
        }
        if self.retired {
            return Err(RunError::Other(
                "the program was replaced and its maps handed over".to_owned(),
            ));
        }
        let start = packet.as_mut_ptr() as usize as u64;
        let end = start.wrapping_add(packet.len() as u64);
        // what the map helpers need: this run's maps and memory
        let _ctx = maps::RunContext::enter(&self.maps, start..end, !self.jit);
        self.mbuff[..8].copy_from_slice(&start.to_ne_bytes());
        self.mbuff[8..].copy_from_slice(&end.to_ne_bytes());
        let res = if self.jit {
            // SAFETY: the JIT does not check memory accesses.  A `Vm` only
            // uses it for programs that passed the checks (valid code,
            // known helpers, bounded calls) and that the verifier proved
            // to stay within the packet (at least `min_len` bytes, checked
            // above), their stack frames and the context block, and to
            // terminate -- or that the caller declared trusted (`Trust`),
            // which also requires forward jumps only.  `packet` and
            // `mbuff` are valid for the call.
            unsafe { self.inner.execute_program_jit(packet, &mut self.mbuff) }
        } else {
            self.inner.execute_program(packet, &self.mbuff)
        };
        res.map_err(|e| run_error(&e.to_string(), self.prologue))
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

/// The options [`Vm::new`] uses for `engine`.
fn default_options(engine: &Engine) -> VmOptions {
    VmOptions {
        convention: opts_convention(engine),
        proof: None,
    }
}

const fn opts_convention(engine: &Engine) -> Convention {
    match engine {
        Engine::Jit(Trust::Verified(v)) => v.convention(),
        _ => Convention::Raw,
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
fn compile(inner: &mut rbpf::EbpfVmMbuff<'static>) -> Result<(), String> {
    // rbpf asserts internally; never let that unwind into the caller.
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| inner.jit_compile())) {
        Ok(Ok(())) => Ok(()),
        Ok(Err(e)) => Err(e.to_string()),
        Err(_) => Err("the JIT compiler panicked".to_owned()),
    }
}

#[cfg(not(target_arch = "x86_64"))]
fn compile(_inner: &mut rbpf::EbpfVmMbuff<'static>) -> Result<(), String> {
    Ok(())
}

/// Turn an rbpf run-time error message into a [`RunError`], with the
/// instruction index in program terms (without the prologue).
fn run_error(msg: &str, prologue: usize) -> RunError {
    let msg = msg.strip_prefix("Error: ").unwrap_or(msg);
    if msg.starts_with("out of bounds") {
        // rbpf reports the index of the instruction after the access.
        let insn = msg
            .split_once("insn #")
            .and_then(|(_, rest)| {
                let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
                digits.parse::<usize>().ok()
            })
            .and_then(|n| n.checked_sub(1 + prologue));
        let detail = msg.lines().next().unwrap_or(msg).to_owned();
        return RunError::OutOfBounds { insn, detail };
    }
    if msg.starts_with("too many nested calls") {
        return RunError::CallDepth;
    }
    RunError::Other(msg.to_owned())
}
