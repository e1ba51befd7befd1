// SPDX-License-Identifier: GPL-2.0-or-later

//! Userspace eBPF engine for QEMU's `filter-ubpf`.
//!
//! A [`Program`] is loaded from an eBPF ELF object (or raw bytecode) and
//! checked before anything runs; a [`Vm`] runs it on packets with rbpf's
//! interpreter (memory accesses checked at run time) or, for programs the
//! caller declares trusted, rbpf's x86-64 JIT.
//!
//! Calling convention: r1 = start of the packet, r2 = its length.  The
//! return value is the program's r0.

mod check;
mod elf;
mod error;
pub mod helpers;
pub mod net;

pub mod capi;

use std::path::Path;

pub use check::{MAX_CALL_DEPTH, MAX_INSNS};
pub use error::{Error, ErrorKind, RunError};

/// Origin used in errors for programs given as bytecode.
const BYTECODE_ORIGIN: &str = "<bytecode>";

/// A loaded and checked program: immutable, and cheap to hand to several
/// [`Vm`]s.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Program {
    code: Vec<u8>,
    section: String,
    origin: String,
}

impl Program {
    fn checked(code: Vec<u8>, origin: &str, section: &str) -> Result<Self, Error> {
        let sect = (!section.is_empty()).then_some(section);
        check::check(&code).map_err(|k| Error::new(origin, sect, k))?;
        // rbpf's own structural verifier, on top of ours.
        rbpf::EbpfVmMbuff::new(Some(&code))
            .map_err(|e| Error::new(origin, sect, ErrorKind::Rejected(e.to_string())))?;
        Ok(Self {
            code,
            section: section.to_owned(),
            origin: origin.to_owned(),
        })
    }

    /// Load the program of `section` (or the only program) of the ELF
    /// object at `path`.
    pub fn load_file(path: &Path, section: Option<&str>) -> Result<Self, Error> {
        let origin = path.display().to_string();
        let data = std::fs::read(path)
            .map_err(|e| Error::new(&origin, None, ErrorKind::Io(format!("cannot read: {e}"))))?;
        Self::load_elf(&data, &origin, section)
    }

    /// Load the program of `section` (or the only program) from the ELF
    /// object in `bytes`; `origin` names it in errors.
    pub fn load_elf(bytes: &[u8], origin: &str, section: Option<&str>) -> Result<Self, Error> {
        let ex = elf::extract(bytes, section)
            .map_err(|(sect, kind)| Error::new(origin, sect.as_deref(), kind))?;
        Self::checked(ex.code, origin, &ex.section)
    }

    /// Use raw eBPF bytecode (little-endian 8-byte instructions).
    pub fn from_bytecode(code: &[u8]) -> Result<Self, Error> {
        Self::checked(code.to_vec(), BYTECODE_ORIGIN, "")
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
}

/// Why the caller may run a program without run-time memory checks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Trust {
    /// The caller vouches for the program (it comes from a trusted source,
    /// e.g. the host administrator, and is known to stay within the packet).
    Trusted,
}

/// How a [`Vm`] executes its program.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
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
const PROLOGUE_INSNS: usize = PROLOGUE.len() / check::INSN_SIZE;

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
    /// `data` and `data_end` of the current packet, read by the prologue.
    mbuff: [u8; 16],
    jit: bool,
    program: Program,
}

// SAFETY: the rbpf VM holds helper function pointers, hash sets, the JIT
// code (owned memory) and an optional stack-usage calculator context that
// is never set here; `code` is owned.  Nothing is shared with other
// threads or tied to the creating thread.
unsafe impl Send for Vm {}

impl Vm {
    /// Prepare `prog` to run with `engine`.
    pub fn new(prog: Program, engine: Engine) -> Result<Self, Error> {
        let sect = (!prog.section.is_empty()).then_some(prog.section.as_str());
        let err = |k| Error::new(&prog.origin, sect, k);
        let mut code = Vec::with_capacity(PROLOGUE.len() + prog.code.len());
        code.extend_from_slice(&PROLOGUE);
        code.extend_from_slice(&prog.code);
        let code = OwnedCode::new(code);
        let mut inner = rbpf::EbpfVmMbuff::new(Some(code.get()))
            .map_err(|e| err(ErrorKind::Rejected(e.to_string())))?;
        for (id, f) in helpers::ALL {
            inner
                .register_helper(id.unsigned_abs(), f)
                .map_err(|e| err(ErrorKind::Rejected(e.to_string())))?;
        }
        let jit = matches!(engine, Engine::Jit(Trust::Trusted)) && JIT_AVAILABLE;
        if jit {
            compile(&mut inner).map_err(|m| err(ErrorKind::Jit(m)))?;
        }
        Ok(Self {
            inner,
            _code: code,
            mbuff: [0; 16],
            jit,
            program: prog,
        })
    }

    /// Run the program on `packet`: r1 = packet start, r2 = its length.
    ///
    /// The program may modify the packet.  Does not allocate, except to
    /// describe an error.
    pub fn run(&mut self, packet: &mut [u8]) -> Result<u64, RunError> {
        let start = packet.as_mut_ptr() as usize as u64;
        let end = start.wrapping_add(packet.len() as u64);
        self.mbuff[..8].copy_from_slice(&start.to_ne_bytes());
        self.mbuff[8..].copy_from_slice(&end.to_ne_bytes());
        let res = if self.jit {
            // SAFETY: the JIT does not check memory accesses.  A `Vm` only
            // uses it for programs the caller declared trusted (`Trust`),
            // that passed the checks (valid code, forward jumps only, known
            // helpers, bounded calls), and whose stack fits the frame the
            // JIT allocates.  `packet` and `mbuff` are valid for the call.
            unsafe { self.inner.execute_program_jit(packet, &mut self.mbuff) }
        } else {
            self.inner.execute_program(packet, &self.mbuff)
        };
        res.map_err(|e| run_error(&e.to_string()))
    }

    /// Whether runs use JIT code.
    pub const fn is_jit(&self) -> bool {
        self.jit
    }

    /// The program.
    pub const fn program(&self) -> &Program {
        &self.program
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
fn run_error(msg: &str) -> RunError {
    let msg = msg.strip_prefix("Error: ").unwrap_or(msg);
    if msg.starts_with("out of bounds") {
        // rbpf reports the index of the instruction after the access.
        let insn = msg
            .split_once("insn #")
            .and_then(|(_, rest)| {
                let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
                digits.parse::<usize>().ok()
            })
            .and_then(|n| n.checked_sub(1 + PROLOGUE_INSNS));
        let detail = msg.lines().next().unwrap_or(msg).to_owned();
        return RunError::OutOfBounds { insn, detail };
    }
    if msg.starts_with("too many nested calls") {
        return RunError::CallDepth;
    }
    RunError::Other(msg.to_owned())
}
