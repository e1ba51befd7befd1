// SPDX-License-Identifier: GPL-2.0-or-later

//! Errors of the eBPF engine: load-time refusals ([`Error`]) and run-time
//! failures ([`RunError`]).

use std::fmt;

/// Why a program was refused.
///
/// Variants that concern one instruction carry its index, counted in
/// 8-byte instruction slots from the start of the program (after linking
/// `.text` subprograms behind the program section).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The file could not be read.
    Io(String),
    /// The data is not an ELF object (or not a 64-bit one).
    NotElf(String),
    /// The ELF machine is not `EM_BPF` (247).
    WrongMachine(u16),
    /// The object is big-endian; only little-endian eBPF runs here.
    WrongEndianness,
    /// The ELF structure is broken (bad section table, symbol, ...).
    BadElf(String),
    /// The object has no program section.
    NoProgram,
    /// The requested section does not exist or holds no program.
    UnknownSection {
        /// The section that was asked for.
        wanted: String,
        /// Program sections of the object.
        available: Vec<String>,
    },
    /// Several program sections and none was chosen.
    AmbiguousSection {
        /// Program sections of the object.
        available: Vec<String>,
    },
    /// A relocation the engine cannot apply (map or global data
    /// reference, unknown type, ...).
    UnsupportedRelocation {
        /// Instruction the relocation applies to.
        insn: usize,
        /// What is wrong.
        detail: String,
    },
    /// The program has more instructions than allowed.
    TooManyInstructions {
        /// Instructions in the program.
        count: usize,
        /// The limit.
        max: usize,
    },
    /// The program is empty, or its size is not a multiple of 8, or the
    /// section extends beyond the end of the file.
    Truncated(String),
    /// Unknown or malformed opcode.
    InvalidOpcode {
        /// Instruction index.
        insn: usize,
        /// The opcode byte.
        opcode: u8,
    },
    /// An instruction rbpf 0.4 cannot execute (atomics, signed division,
    /// sign-extending moves, ...).
    UnsupportedInstruction {
        /// Instruction index.
        insn: usize,
        /// Which instruction.
        what: &'static str,
    },
    /// Invalid source or destination register, or a write to r10.
    InvalidRegister {
        /// Instruction index.
        insn: usize,
        /// What is wrong.
        detail: String,
    },
    /// A reserved field (offset, immediate, register) is not zero.
    InvalidField {
        /// Instruction index.
        insn: usize,
        /// What is wrong.
        detail: &'static str,
    },
    /// A jump or call leaves the program.
    JumpOutOfRange {
        /// Instruction index.
        insn: usize,
        /// Target instruction.
        target: i64,
        /// Instructions in the program.
        len: usize,
    },
    /// A jump or call lands on the second half of an `lddw`.
    JumpIntoLddw {
        /// Instruction index.
        insn: usize,
        /// Target instruction.
        target: usize,
    },
    /// The program ends in the middle of an `lddw`.
    IncompleteLddw {
        /// Instruction index.
        insn: usize,
    },
    /// A backward jump in a program that was not verified: loops only run
    /// once the verifier proved that they terminate.
    BackwardJump {
        /// Instruction index.
        insn: usize,
        /// Target instruction.
        target: usize,
    },
    /// A bpf-to-bpf call cycle (recursion).
    Recursion {
        /// Instruction index of the call closing the cycle.
        insn: usize,
    },
    /// Bpf-to-bpf calls nest deeper than the engine allows.
    CallDepth {
        /// Instruction index of the call.
        insn: usize,
        /// The limit.
        max: usize,
    },
    /// A call to a helper the engine does not provide.
    UnknownHelper {
        /// Instruction index.
        insn: usize,
        /// Helper ID.
        id: i32,
    },
    /// Execution can run past the last instruction.
    FallsOffEnd {
        /// The last instruction.
        insn: usize,
    },
    /// The verifier could not prove an instruction safe.
    Verifier {
        /// Instruction index.
        insn: usize,
        /// The register concerned, if any.
        reg: Option<u8>,
        /// What could not be proven.
        detail: String,
    },
    /// The verifier could not prove that a loop terminates.
    UnboundedLoop {
        /// The backward jump closing the loop.
        insn: usize,
        /// Its target (the loop's head).
        target: usize,
        /// Why.
        detail: String,
    },
    /// The program is too complex to verify within the verifier's limits.
    TooComplex {
        /// Where the verifier gave up.
        insn: usize,
        /// Which limit.
        detail: String,
    },
    /// A verified program's proof does not fit the program or the
    /// requested convention.
    ProofMismatch(String),
    /// rbpf's own verifier refused the program.
    Rejected(String),
    /// JIT compilation failed.
    Jit(String),
    /// A map the program declares cannot be created.
    Map(String),
    /// A context access (or helper, or legacy load) its program type
    /// does not allow; refused at load time for every engine.
    Context {
        /// Instruction index.
        insn: usize,
        /// Why.
        detail: String,
    },
}

impl ErrorKind {
    /// The instruction index the error refers to, if any.
    pub const fn insn(&self) -> Option<usize> {
        match self {
            Self::UnsupportedRelocation { insn, .. }
            | Self::InvalidOpcode { insn, .. }
            | Self::UnsupportedInstruction { insn, .. }
            | Self::InvalidRegister { insn, .. }
            | Self::InvalidField { insn, .. }
            | Self::JumpOutOfRange { insn, .. }
            | Self::JumpIntoLddw { insn, .. }
            | Self::IncompleteLddw { insn }
            | Self::BackwardJump { insn, .. }
            | Self::Recursion { insn }
            | Self::CallDepth { insn, .. }
            | Self::UnknownHelper { insn, .. }
            | Self::FallsOffEnd { insn }
            | Self::Verifier { insn, .. }
            | Self::UnboundedLoop { insn, .. }
            | Self::TooComplex { insn, .. }
            | Self::Context { insn, .. } => Some(*insn),
            _ => None,
        }
    }

    /// The same error with its instruction indices passed through `f`
    /// (from the rewritten program to the original's: the engine rewrites
    /// tail calls and `ld_abs`/`ld_ind` at load, `crate::rewrite`).
    pub(crate) fn map_insns(mut self, f: impl Fn(usize) -> usize) -> Self {
        match &mut self {
            Self::UnsupportedInstruction { insn, .. }
            | Self::Verifier { insn, .. }
            | Self::TooComplex { insn, .. }
            | Self::Context { insn, .. } => *insn = f(*insn),
            Self::UnboundedLoop { insn, target, .. } => {
                *insn = f(*insn);
                *target = f(*target);
            }
            _ => {}
        }
        self
    }

    /// The register a verifier refusal concerns, if any.
    pub const fn reg(&self) -> Option<u8> {
        match self {
            Self::Verifier { reg, .. } => *reg,
            _ => None,
        }
    }
}

fn list(f: &mut fmt::Formatter<'_>, names: &[String]) -> fmt::Result {
    if names.is_empty() {
        return write!(f, "none");
    }
    for (i, n) in names.iter().enumerate() {
        if i > 0 {
            write!(f, ", ")?;
        }
        write!(f, "\"{n}\"")?;
    }
    Ok(())
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Io(e) => write!(f, "{e}"),
            Self::NotElf(why) => write!(f, "not an ELF object ({why})"),
            Self::WrongMachine(m) => {
                write!(f, "ELF machine is {m}, not BPF (247): not an eBPF object")
            }
            Self::WrongEndianness => write!(
                f,
                "big-endian eBPF object: only little-endian objects are supported \
                 (compile with -target bpfel or -target bpf on a little-endian host)"
            ),
            Self::BadElf(why) => write!(f, "malformed ELF object: {why}"),
            Self::NoProgram => write!(f, "no program section in the object"),
            Self::UnknownSection { available, .. } => {
                write!(f, "no such program section; available: ")?;
                list(f, available)
            }
            Self::AmbiguousSection { available } => {
                write!(f, "several program sections, choose one of: ")?;
                list(f, available)
            }
            Self::UnsupportedRelocation { detail, .. } => {
                write!(f, "unsupported relocation: {detail}")
            }
            Self::TooManyInstructions { count, max } => {
                write!(f, "too many instructions ({count}, at most {max})")
            }
            Self::Truncated(why) => write!(f, "truncated program: {why}"),
            Self::InvalidOpcode { opcode, .. } => write!(f, "invalid opcode {opcode:#04x}"),
            Self::UnsupportedInstruction { what, .. } => {
                write!(f, "unsupported instruction: {what}")
            }
            Self::InvalidRegister { detail, .. } => write!(f, "{detail}"),
            Self::InvalidField { detail, .. } => write!(f, "{detail}"),
            Self::JumpOutOfRange { target, len, .. } => write!(
                f,
                "jump out of range (target {target}, program has {len} instructions)"
            ),
            Self::JumpIntoLddw { target, .. } => {
                write!(
                    f,
                    "jump into the middle of lddw at instruction {}",
                    target - 1
                )
            }
            Self::IncompleteLddw { .. } => write!(f, "incomplete lddw at the end of the program"),
            Self::BackwardJump { target, .. } => write!(
                f,
                "backward jump to instruction {target}: loops only run in verified programs"
            ),
            Self::Recursion { .. } => write!(f, "recursive bpf-to-bpf call"),
            Self::CallDepth { max, .. } => {
                write!(f, "bpf-to-bpf calls nest deeper than {max} levels")
            }
            Self::UnknownHelper { id, .. } => match crate::helpers::helper_name(*id) {
                Some(name) => write!(
                    f,
                    "call to helper {id} ({name}), which the engine does not provide"
                ),
                None => write!(f, "call to unknown helper {id}"),
            },
            Self::FallsOffEnd { .. } => {
                write!(f, "execution can run past the end of the program (no exit)")
            }
            Self::Verifier {
                reg: Some(r),
                detail,
                ..
            } if !detail.starts_with(&format!("r{r}")) => write!(f, "r{r}: {detail}"),
            Self::Verifier { detail, .. } => write!(f, "{detail}"),
            Self::UnboundedLoop { target, detail, .. } => write!(
                f,
                "loop (backward jump to instruction {target}) not proven to terminate: {detail}"
            ),
            Self::TooComplex { detail, .. } => {
                write!(f, "program too complex to verify: {detail}")
            }
            Self::ProofMismatch(msg) => write!(f, "{msg}"),
            Self::Rejected(msg) => write!(f, "refused by rbpf: {msg}"),
            Self::Jit(msg) => write!(f, "JIT compilation failed: {msg}"),
            Self::Map(msg) => write!(f, "{msg}"),
            Self::Context { detail, .. } => write!(f, "{detail}"),
        }
    }
}

/// A load-time refusal, naming where it happened.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Error {
    origin: String,
    section: Option<String>,
    kind: ErrorKind,
}

impl Error {
    /// Build an error for `origin` (file name or other description).
    pub fn new(origin: &str, section: Option<&str>, kind: ErrorKind) -> Self {
        Self {
            origin: origin.to_owned(),
            section: section.map(str::to_owned),
            kind,
        }
    }

    /// What went wrong.
    pub const fn kind(&self) -> &ErrorKind {
        &self.kind
    }

    /// The file (or description of the input) the error refers to.
    pub fn origin(&self) -> &str {
        &self.origin
    }

    /// The section the error refers to, if any.
    pub fn section(&self) -> Option<&str> {
        self.section.as_deref()
    }

    /// The instruction the error refers to, if any.
    pub const fn insn(&self) -> Option<usize> {
        self.kind.insn()
    }

    /// The register a verifier refusal concerns, if any.
    pub const fn reg(&self) -> Option<u8> {
        self.kind.reg()
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: ", self.origin)?;
        let section = match &self.kind {
            ErrorKind::UnknownSection { wanted, .. } => Some(wanted.as_str()),
            _ => self.section.as_deref(),
        };
        if let Some(s) = section {
            write!(f, "section \"{s}\": ")?;
        }
        if let Some(i) = self.kind.insn() {
            write!(f, "instruction {i}: ")?;
        }
        write!(f, "{}", self.kind)
    }
}

impl std::error::Error for Error {}

/// A run-time failure. Only the interpreter detects these; a trusted
/// program run by the JIT is assumed not to fail.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum RunError {
    /// A load or store outside the memory the program may access (the
    /// packet, the stack, the context, map values).
    OutOfBounds {
        /// Index of the instruction in the program as loaded, the
        /// numbering of the verifier's errors ([`crate::Program::source_insn`]),
        /// when known.
        insn: Option<usize>,
        /// The access and where it went, relative to the run's memory
        /// ("4-byte load at packet offset 100 (the packet has 20
        /// bytes)"); never a host address.
        detail: String,
        /// The tail-call target the instruction belongs to (its
        /// function's name); `None`: the program itself.
        target: Option<String>,
    },
    /// Bpf-to-bpf calls nested too deep at run time.
    CallDepth,
    /// The packet is shorter than the minimum length the program was
    /// verified for (or longer than 4 GiB); it was not run.
    PacketLength {
        /// The packet's length.
        len: usize,
        /// The verified minimum.
        min: usize,
    },
    /// Any other failure reported by rbpf, its instruction numbered as
    /// in the program as loaded, without host addresses.
    Other(String),
}

impl fmt::Display for RunError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::OutOfBounds {
                insn,
                detail,
                target,
            } => {
                if let Some(i) = insn {
                    write!(f, "instruction {i}")?;
                    if let Some(t) = target {
                        write!(f, " of tail-call target {t}")?;
                    }
                    write!(f, ": ")?;
                } else if let Some(t) = target {
                    write!(f, "tail-call target {t}: ")?;
                }
                write!(f, "out-of-bounds {detail}")
            }
            Self::CallDepth => write!(f, "bpf-to-bpf calls nested too deep"),
            Self::PacketLength { len, min } => write!(
                f,
                "packet of {len} bytes not run: the program was verified for packets of \
                 {min} bytes or more"
            ),
            Self::Other(msg) => write!(f, "{msg}"),
        }
    }
}

impl std::error::Error for RunError {}
