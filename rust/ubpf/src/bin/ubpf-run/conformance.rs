// SPDX-License-Identifier: GPL-2.0-or-later

//! Runner for the eBPF ISA conformance suite's `.data` files (shared by
//! the `ubpf-run` tool and the integration test).
//!
//! A test passes when the program loads and r0 equals `-- result`, or when
//! a program whose file has `-- error` is refused (by the checks or by the
//! verifier).  Files of the suite's
//! `negative/` directory pass when the check fails in any way (refusal,
//! run-time error, or a result different from the claimed one).

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use ubpf::{Convention, Engine, Program, Trust, VerifyOptions, Vm, VmOptions};

/// Execution mode.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    Interpreter,
    Jit,
}

impl Mode {
    pub const fn name(self) -> &'static str {
        match self {
            Self::Interpreter => "interpreter",
            Self::Jit => "jit",
        }
    }
}

/// A parsed `.data` file.
#[derive(Debug, Default)]
pub struct TestFile {
    pub asm: Option<String>,
    pub raw: Option<Vec<u8>>,
    pub mem: Vec<u8>,
    pub result: Option<u64>,
    pub error: bool,
}

/// Parse hex bytes separated by white space ("aa bb 11").
pub fn parse_hex_bytes(text: &str) -> Result<Vec<u8>, String> {
    ubpf::parse_hex(text)
}

fn parse_u64(text: &str) -> Option<u64> {
    let t = text.trim();
    t.strip_prefix("0x")
        .map_or_else(|| t.parse().ok(), |h| u64::from_str_radix(h, 16).ok())
}

/// Parse the sections of a `.data` file.
pub fn parse_file(text: &str) -> Result<TestFile, String> {
    let mut t = TestFile::default();
    let mut current: Option<String> = None;
    let mut body = String::new();
    let flush = |name: Option<&str>, sect: &str, tf: &mut TestFile| -> Result<(), String> {
        match name {
            Some("asm") => tf.asm = Some(sect.to_owned()),
            Some("raw") => {
                let mut code = Vec::new();
                for line in sect.lines().map(str::trim).filter(|l| !l.is_empty()) {
                    if line.contains(char::is_whitespace) {
                        // instruction as bytes: "07 00 01 00 01 00 00 00"
                        code.extend_from_slice(&parse_hex_bytes(line)?);
                    } else {
                        let w = parse_u64(line).ok_or_else(|| format!("bad raw word {line:?}"))?;
                        code.extend_from_slice(&w.to_le_bytes());
                    }
                }
                tf.raw = Some(code);
            }
            Some("mem") => tf.mem = parse_hex_bytes(sect)?,
            Some("result") => {
                tf.result =
                    Some(parse_u64(sect).ok_or_else(|| format!("bad result {:?}", sect.trim()))?);
            }
            Some("error") => tf.error = true,
            _ => {}
        }
        Ok(())
    };
    for line in text.lines() {
        if let Some(name) = line.strip_prefix("-- ") {
            flush(current.as_deref(), &body, &mut t)?;
            current = Some(name.trim().to_owned());
            body.clear();
        } else if current.is_some() {
            body.push_str(line);
            body.push('\n');
        }
    }
    flush(current.as_deref(), &body, &mut t)?;
    Ok(t)
}

fn slots(mnemonic: &str) -> usize {
    if mnemonic == "lddw" {
        2
    } else {
        1
    }
}

fn is_number(tok: &str) -> bool {
    let t = tok.trim_start_matches(['-', '+']);
    t.starts_with(|c: char| c.is_ascii_digit())
}

/// Check a number token and, outside `lddw`, map hex immediates between
/// 2^31 and 2^32 to their 32-bit two's complement (the suite's syntax).
fn number(tok: &str, wide: bool) -> Result<String, String> {
    let (neg, t) = match tok.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, tok.strip_prefix('+').unwrap_or(tok)),
    };
    let value = if let Some(h) = t.strip_prefix("0x") {
        u64::from_str_radix(h, 16).map_err(|_| format!("invalid number {tok}"))?
    } else {
        t.parse::<u64>()
            .map_err(|_| format!("invalid number {tok}"))?
    };
    if neg {
        let v = i64::try_from(value).map_err(|_| format!("invalid number {tok}"))?;
        return Ok(format!("-{v}"));
    }
    if !wide && t.starts_with("0x") && value > 0x7fff_ffff && value <= 0xffff_ffff {
        let v = i64::from(u32::try_from(value).unwrap_or(0) as i32);
        return Ok(v.to_string());
    }
    if i64::try_from(value).is_err() {
        // rbpf's parser wants an i64; keep the bits
        return Ok(format!("0x{value:x}"));
    }
    Ok(if t.starts_with("0x") {
        format!("0x{value:x}")
    } else {
        value.to_string()
    })
}

/// One instruction slot.
fn encode(code: u8, dst: u8, src: u8, off: i16, imm: i32) -> [u8; 8] {
    let mut b = [0u8; 8];
    b[0] = code;
    b[1] = (src << 4) | dst;
    b[2..4].copy_from_slice(&off.to_le_bytes());
    b[4..8].copy_from_slice(&imm.to_le_bytes());
    b
}

fn reg(op: &str) -> Result<u8, String> {
    op.strip_prefix('r')
        .and_then(|n| n.parse::<u8>().ok())
        .filter(|&n| n <= 10)
        .ok_or_else(|| format!("invalid register {op}"))
}

fn imm32(op: &str) -> Result<i32, String> {
    let n = number(op, false)?;
    let v = n.strip_prefix("0x").map_or_else(
        || n.parse::<i64>().ok(),
        |h| i64::from_str_radix(h, 16).ok(),
    );
    v.and_then(|v| i32::try_from(v).ok())
        .ok_or_else(|| format!("invalid 32-bit immediate {op}"))
}

/// `[rN+off]` / `[rN-off]` / `[rN]`.
fn mem_operand(op: &str) -> Result<(u8, i16), String> {
    let inner = op
        .strip_prefix('[')
        .and_then(|o| o.strip_suffix(']'))
        .ok_or_else(|| format!("invalid memory operand {op}"))?;
    let (r, off) = match inner.find(['+', '-']) {
        Some(pos) => (&inner[..pos], imm32(&inner[pos..])?),
        None => (inner, 0),
    };
    let off = i16::try_from(off).map_err(|_| format!("offset out of range in {op}"))?;
    Ok((reg(r.trim())?, off))
}

/// The instructions rbpf's assembler does not know (atomics, ISA v4 and
/// call by register), in the suite's syntax (`%` already stripped); None
/// for the others.
fn assemble_extra(mnemonic: &str, rest: &str) -> Option<Result<[u8; 8], String>> {
    let ops: Vec<&str> = rest
        .split(',')
        .map(str::trim)
        .filter(|o| !o.is_empty())
        .collect();
    let want = |n: usize| {
        if ops.len() == n {
            Ok(())
        } else {
            Err(format!("invalid number of operands for {mnemonic}"))
        }
    };
    // reg-or-immediate ALU operand: (source bit, src, imm)
    let operand = |op: &str| -> Result<(u8, u8, i32), String> {
        if op.starts_with('r') {
            Ok((0x08, reg(op)?, 0))
        } else {
            Ok((0x00, 0, imm32(op)?))
        }
    };
    let result = match mnemonic {
        // lock [fetch] <op>[32] [dst+off], src
        "lock" => (|| {
            let invalid = || format!("invalid number of operands for {mnemonic}");
            if ops.len() != 2 {
                return Err(invalid());
            }
            let words: Vec<&str> = ops[0].split_whitespace().collect();
            let (mem, names) = words.split_last().ok_or_else(invalid)?;
            let (fetch, op) = match names {
                ["fetch", op] => (true, *op),
                [op] => (false, *op),
                _ => return Err(invalid()),
            };
            let (name, code) = match op.strip_suffix("32") {
                Some(n) => (n, 0xc3),
                None => (op, 0xdb),
            };
            let imm = match name {
                "add" => 0x00,
                "or" => 0x40,
                "and" => 0x50,
                "xor" => 0xa0,
                "xchg" => 0xe1,
                "cmpxchg" => 0xf1,
                _ => return Err(format!("unknown atomic operation {op}")),
            } | i32::from(fetch);
            let (dst, off) = mem_operand(mem)?;
            Ok(encode(code, dst, reg(ops[1])?, off, imm))
        })(),
        "ldxsb" | "ldxsh" | "ldxsw" => want(2).and_then(|()| {
            let code = match mnemonic {
                "ldxsb" => 0x91,
                "ldxsh" => 0x89,
                _ => 0x81,
            };
            let (src, off) = mem_operand(ops[1])?;
            Ok(encode(code, reg(ops[0])?, src, off, 0))
        }),
        "sdiv" | "sdiv32" | "smod" | "smod32" => want(2).and_then(|()| {
            let class = if mnemonic.ends_with("32") { 0x04 } else { 0x07 };
            let op = if mnemonic.starts_with("sdiv") {
                0x30
            } else {
                0x90
            };
            let (x, src, imm) = operand(ops[1])?;
            Ok(encode(op | x | class, reg(ops[0])?, src, 1, imm))
        }),
        "movsx832" | "movsx1632" | "movsx864" | "movsx1664" | "movsx3264" => {
            want(2).and_then(|()| {
                let (bits, to) = mnemonic["movsx".len()..].split_at(mnemonic.len() - 7);
                let class = if to == "32" { 0x04 } else { 0x07 };
                let bits: i16 = bits.parse().map_err(|_| "bad movsx".to_owned())?;
                Ok(encode(0xb8 | class, reg(ops[0])?, reg(ops[1])?, bits, 0))
            })
        }
        "bswap16" | "bswap32" | "bswap64" | "swap16" | "swap32" | "swap64" => {
            want(1).and_then(|()| {
                let width: i32 = mnemonic[mnemonic.len() - 2..].parse().unwrap_or(0);
                Ok(encode(0xd7, reg(ops[0])?, 0, 0, width))
            })
        }
        "ja32" => want(1).and_then(|()| Ok(encode(0x06, 0, 0, 0, imm32(ops[0])?))),
        // call by register: dst holds the target
        "call" if ops.len() == 1 && ops[0].starts_with('r') => {
            reg(ops[0]).map(|r| encode(0x8d, r, 0, 0, 0))
        }
        _ => return None,
    };
    Some(result)
}

/// Assemble the suite's syntax with rbpf's assembler: strip `%`, resolve
/// labels (`name:` lines, `ja name`, `jeq %r1, 2, name`, `call local name`),
/// normalise numbers.  Instructions rbpf's assembler does not know are
/// encoded here.
pub fn assemble(src: &str) -> Result<Vec<u8>, String> {
    // pass 1: labels
    let mut lines = Vec::new();
    let mut labels = std::collections::HashMap::new();
    let mut slot = 0usize;
    for line in src.lines() {
        let line = line.split('#').next().unwrap_or("").trim();
        let line = line.split("//").next().unwrap_or("").trim();
        if line.is_empty() {
            continue;
        }
        if let Some(label) = line.strip_suffix(':') {
            labels.insert(label.trim().to_owned(), slot);
            continue;
        }
        let mnemonic = line.split_whitespace().next().unwrap_or("");
        lines.push((slot, line.replace('%', "")));
        slot += slots(mnemonic);
    }
    // pass 2: rewrite
    let mut out = String::new();
    let mut code = Vec::new();
    for (at, line) in lines {
        let (mnemonic, rest) = line.split_once(char::is_whitespace).unwrap_or((&line, ""));
        let mut ops: Vec<String> = rest
            .split(',')
            .map(|s| s.trim().to_owned())
            .filter(|s| !s.is_empty())
            .collect();
        let rel = |name: &str| -> Result<String, String> {
            // "exit" without such a label: the final exit instruction
            let last = slot.saturating_sub(1);
            let target = match labels.get(name) {
                Some(t) => t,
                None if name == "exit" => &last,
                None => return Err(format!("unknown label {name}")),
            };
            let off = i64::try_from(*target).unwrap_or(0) - i64::try_from(at).unwrap_or(0) - 1;
            Ok(off.to_string())
        };
        let mut mnemonic = mnemonic.to_owned();
        if mnemonic == "call" {
            if let Some(name) = ops.first().and_then(|o| o.strip_prefix("local ")) {
                let name = name.trim().to_owned();
                mnemonic = "callx".to_owned();
                ops = vec![rel(&name)?];
            }
        } else if mnemonic.starts_with('j') {
            if let Some(last) = ops.last_mut() {
                let is_reg = last.len() > 1
                    && last.starts_with('r')
                    && last[1..].chars().all(|c| c.is_ascii_digit());
                if !is_number(last) && (!is_reg || labels.contains_key(last.as_str())) {
                    *last = rel(last)?;
                }
            }
        }
        let wide = mnemonic == "lddw";
        for op in &mut ops {
            if is_number(op) {
                *op = number(op, wide)?;
            } else if let Some(inner) = op.strip_prefix('[').and_then(|o| o.strip_suffix(']')) {
                // [reg+off] / [reg-off]
                if let Some(pos) = inner.find(['+', '-']) {
                    let (reg, off) = inner.split_at(pos);
                    let off = number(off, true)?;
                    let sign = if off.starts_with('-') { "" } else { "+" };
                    *op = format!("[{}{sign}{off}]", reg.trim());
                }
            }
        }
        match assemble_extra(&mnemonic, &ops.join(", ")) {
            Some(insn) => {
                code.extend_from_slice(&rbpf_assemble(&out)?);
                out.clear();
                code.extend_from_slice(&insn?);
            }
            None => {
                let _ = writeln!(out, "{mnemonic} {}", ops.join(", "));
            }
        }
    }
    code.extend_from_slice(&rbpf_assemble(&out)?);
    Ok(code)
}

fn rbpf_assemble(text: &str) -> Result<Vec<u8>, String> {
    if text.is_empty() {
        return Ok(Vec::new());
    }
    // rbpf's parser may panic on odd input; never let that escape
    std::panic::catch_unwind(|| rbpf::assembler::assemble(text))
        .map_err(|_| "assembler panicked".to_owned())?
}

/// Outcome of one test in one mode.
#[derive(Debug, PartialEq, Eq)]
pub enum Outcome {
    Pass,
    Fail(String),
    Skip(String),
}

/// Load the program of a test file (raw words if present, else asm).
pub fn program(t: &TestFile) -> Result<Program, String> {
    let code = match (&t.raw, &t.asm) {
        (Some(raw), _) => raw.clone(),
        (None, Some(asm)) => assemble(asm).map_err(|e| format!("assembler: {e}"))?,
        (None, None) => return Err("no program".to_owned()),
    };
    Program::from_bytecode(&code).map_err(|e| e.to_string())
}

/// Run `prog` on `mem` in `mode`.  In JIT mode the program (trusted, as
/// conformance programs are) first runs on the interpreter: a program the
/// interpreter stops for a bad access is not handed to the unchecked JIT.
///
/// A program the verifier proves safe on this memory runs with the proof
/// (which lets bounded loops run); the others run unverified, as the
/// suite is about instruction semantics.
pub fn execute(prog: &Program, mem: &[u8], mode: Mode) -> Result<u64, String> {
    let vopts = VerifyOptions {
        convention: Convention::Raw,
        min_len: mem.len(),
    };
    let proof = ubpf::verify(prog, &vopts).ok();
    let opts = VmOptions {
        convention: Convention::Raw,
        proof: proof.clone(),
    };
    let mut m = mem.to_vec();
    let mut int =
        Vm::with_options(prog.clone(), Engine::Interpreter, opts).map_err(|e| e.to_string())?;
    let r = int.run(&mut m).map_err(|e| format!("run: {e}"))?;
    if mode == Mode::Interpreter {
        return Ok(r);
    }
    let trust = proof.map_or(Trust::Trusted, Trust::Verified);
    let mut jit = Vm::new(prog.clone(), Engine::Jit(trust)).map_err(|e| e.to_string())?;
    let mut m2 = mem.to_vec();
    jit.run(&mut m2).map_err(|e| format!("run: {e}"))
}

/// Run one test file.
pub fn run_test(t: &TestFile, negative: bool, mode: Mode) -> Outcome {
    if mode == Mode::Jit && !ubpf::JIT_AVAILABLE {
        return Outcome::Skip("no JIT on this host".to_owned());
    }
    if t.asm.is_none() && t.raw.is_none() {
        return if negative {
            Outcome::Pass
        } else {
            Outcome::Skip("no program".to_owned())
        };
    }
    let res = program(t).and_then(|p| {
        if t.error {
            // a program that must be refused: the verifier's refusal
            // counts too (unverified programs only run trusted)
            let vopts = VerifyOptions {
                convention: Convention::Raw,
                min_len: t.mem.len(),
            };
            ubpf::verify(&p, &vopts).map_err(|e| format!("verifier: {e}"))?;
        }
        execute(&p, &t.mem, mode)
    });
    match res {
        Err(e) if negative || t.error => {
            let _ = e;
            Outcome::Pass
        }
        Err(e) => Outcome::Fail(e),
        Ok(_) if t.error => Outcome::Fail("accepted a program that must be refused".to_owned()),
        Ok(r) => match t.result {
            Some(want) if want == r => {
                if negative {
                    Outcome::Fail(format!("negative test produced its result {r:#x}"))
                } else {
                    Outcome::Pass
                }
            }
            Some(want) if negative => {
                let _ = want;
                Outcome::Pass
            }
            Some(want) => Outcome::Fail(format!("r0 = {r:#x}, expected {want:#x}")),
            None if negative => Outcome::Pass,
            None => Outcome::Skip("no expected result".to_owned()),
        },
    }
}

/// Match `name` against `pattern`, where `*` stands for any run of
/// characters.
fn glob(pattern: &str, name: &str) -> bool {
    let mut parts = pattern.split('*');
    let first = parts.next().unwrap_or("");
    let Some(mut rest) = name.strip_prefix(first) else {
        return false;
    };
    let parts: Vec<&str> = parts.collect();
    if parts.is_empty() {
        return rest.is_empty();
    }
    for (k, p) in parts.iter().enumerate() {
        if k == parts.len() - 1 {
            return rest.ends_with(p);
        }
        match rest.find(p) {
            Some(i) => rest = &rest[i + p.len()..],
            None => return false,
        }
    }
    true
}

/// Expected failures (`*` matches any characters in the file name): `<dir>/<file> <mode|all> <reason>` per line.
#[derive(Debug, Default)]
pub struct Xfail {
    entries: Vec<(String, String, String)>,
}

impl Xfail {
    pub fn parse(text: &str) -> Result<Self, String> {
        let mut entries = Vec::new();
        for line in text.lines() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let mut it = line.splitn(3, char::is_whitespace);
            let name = it.next().unwrap_or("").to_owned();
            let mode = it.next().unwrap_or("").trim().to_owned();
            let reason = it.next().unwrap_or("").trim().to_owned();
            if !matches!(mode.as_str(), "all" | "interpreter" | "jit") || reason.is_empty() {
                return Err(format!(
                    "bad xfail line {line:?}: want <file> <mode> <reason>"
                ));
            }
            entries.push((name, mode, reason));
        }
        Ok(Self { entries })
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn get(&self, name: &str, mode: Mode) -> Option<&str> {
        self.entries
            .iter()
            .find(|(n, m, _)| glob(n, name) && (m == "all" || m == mode.name()))
            .map(|(_, _, r)| r.as_str())
    }
}

/// Per-mode totals.
#[derive(Debug, Default)]
pub struct Summary {
    pub passed: usize,
    pub failed: usize,
    pub skipped: usize,
    pub xfailed: usize,
    /// Unexpected failures and unexpected passes, with details.
    pub problems: Vec<String>,
}

impl Summary {
    /// The one-line result of `mode`: "jit: N passed, N failed (N expected), N skipped".
    pub fn line(&self, mode: Mode) -> String {
        format!(
            "{}: {} passed, {} failed ({} expected), {} skipped",
            mode.name(),
            self.passed,
            self.failed + self.xfailed,
            self.xfailed,
            self.skipped
        )
    }
}

/// The `.data` files of the suite: `tests/*.data` then `negative/*.data`,
/// named relative to `root`.
pub fn list(root: &Path) -> std::io::Result<Vec<(String, PathBuf, bool)>> {
    let mut out = Vec::new();
    for (dir, negative) in [("tests", false), ("negative", true)] {
        let mut files: Vec<PathBuf> = match std::fs::read_dir(root.join(dir)) {
            Ok(rd) => rd
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|e| e == "data"))
                .collect(),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(e),
        };
        files.sort();
        for p in files {
            let name = format!(
                "{dir}/{}",
                p.file_name().unwrap_or_default().to_string_lossy()
            );
            out.push((name, p, negative));
        }
    }
    Ok(out)
}

/// Run the whole suite in `mode`.
pub fn run_suite(root: &Path, mode: Mode, xfail: &Xfail) -> std::io::Result<Summary> {
    let mut s = Summary::default();
    for (name, path, negative) in list(root)? {
        let text = std::fs::read_to_string(&path)?;
        let outcome = match parse_file(&text) {
            Ok(t) => run_test(&t, negative, mode),
            Err(e) => Outcome::Fail(format!("cannot parse: {e}")),
        };
        let expected = xfail.get(&name, mode);
        match (outcome, expected) {
            (Outcome::Pass, None) => s.passed += 1,
            (Outcome::Pass, Some(_)) => {
                s.passed += 1;
                s.problems
                    .push(format!("{name}: passes but is listed as expected failure"));
            }
            (Outcome::Fail(_), Some(_)) => s.xfailed += 1,
            (Outcome::Fail(why), None) => {
                s.failed += 1;
                s.problems.push(format!("{name}: {why}"));
            }
            (Outcome::Skip(_), _) => s.skipped += 1,
        }
    }
    Ok(s)
}
