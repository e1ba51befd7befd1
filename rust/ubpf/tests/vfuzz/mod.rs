// SPDX-License-Identifier: GPL-2.0-or-later

//! Verifier fuzzer (test support, no dependencies): generates eBPF
//! programs biased toward the verifier's known bug classes, and runs every
//! program the verifier accepts, with its proof, on adversarial packets:
//!
//! - in the checked interpreter twice, with the packet, the stack, the
//!   maps and the context block at different host addresses (A and B):
//!   an out-of-bounds access, any other run-time error, a panic, or a
//!   result (r0, the packet, the maps) that differs between A and B is a
//!   finding -- a verified program's behaviour must not depend on where
//!   its memory is; a result that looks like a host address (within
//!   1 MiB of the packet, stack, map or VM memory) is a pointer leak;
//! - when the interpreter found nothing, on the JIT (unchecked, with the
//!   proof): a different r0, packet or map contents is a finding.
//!
//! A verifier panic (debug builds: arithmetic overflow) is a finding too.
//! Findings are minimised (instructions deleted, packet shortened while
//! the same class of finding remains) and written as reproducers.

pub mod gen;

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::hint::black_box;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use ubpf::{Convention, Engine, Program, RunError, Trust, VerifyOptions, Vm, VmOptions};

/// One instruction slot.
pub type Slot = [u8; 8];

pub use crate::common::Rng;

/// A generated program and the options it is verified with.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Case {
    pub convention: Convention,
    pub min_len: usize,
    /// The body runs inside the map template: r6 = hash map, r7 = array
    /// map (both key 8 bytes... see `MAPS_C`).
    pub maps: bool,
    pub body: Vec<Slot>,
}

impl Case {
    fn opts(&self) -> VerifyOptions {
        VerifyOptions {
            convention: self.convention,
            min_len: self.min_len,
        }
    }
}

/// Classes of findings.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Class {
    /// The verifier panicked (debug builds: arithmetic overflow).
    VerifierPanic,
    /// A verified program accessed memory out of bounds (interpreter).
    OutOfBounds,
    /// A verified program failed at run time otherwise.
    RunError,
    /// A run panicked.
    RunPanic,
    /// r0, the packet or a map holds a host address.
    PointerLeak,
    /// The result depends on where the memory is.
    AddressDependent,
    /// The JIT's result differs from the interpreter's.
    JitMismatch,
}

/// A finding, with what reproduces it.
#[derive(Clone, Debug)]
pub struct Finding {
    pub class: Class,
    pub detail: String,
    pub case: Case,
    pub packet: Vec<u8>,
}

// ---- the map template ----

/// BPF C source of the map template: two maps, their handles in r6 and
/// r7, then room for the generated body (placeholder instructions).
pub const MAPS_C: &str = r#"/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, 64);
    __type(key, __u64);
    __type(value, __u64);
} fz_hash SEC(".maps");
struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, 4);
    __type(key, __u32);
    __type(value, __u64);
} fz_array SEC(".maps");
#define PAD "r0 = 0x5a5a5a5a\n"
#define PAD8 PAD PAD PAD PAD PAD PAD PAD PAD
#define PAD64 PAD8 PAD8 PAD8 PAD8 PAD8 PAD8 PAD8 PAD8
SEC("ubpf") __attribute__((naked)) int fz(void)
{
    asm volatile("r6 = %[h] ll\n"
                 "r7 = %[a] ll\n"
                 PAD64 PAD64 PAD64 PAD64 PAD64 PAD64
                 "exit\n" :: [h] "i"(&fz_hash), [a] "i"(&fz_array) : "memory");
}
char _license[] SEC("license") = "GPL";
"#;

/// The compiled map template and where its body goes.
pub struct MapTemplate {
    elf: Vec<u8>,
    /// File offset of the first placeholder.
    at: usize,
    /// Slots available for the body.
    room: usize,
}

const PAD: Slot = [0xb7, 0, 0, 0, 0x5a, 0x5a, 0x5a, 0x5a];

impl MapTemplate {
    /// Compile `MAPS_C` with clang (`CLANG`), or `None` if that fails.
    pub fn build(dir: &Path) -> Option<Self> {
        let clang = std::env::var("CLANG").unwrap_or_else(|_| "clang".to_owned());
        std::fs::create_dir_all(dir).ok()?;
        let src = dir.join("vfuzz_maps.bpf.c");
        let obj = dir.join(format!("vfuzz_maps.{}.o", std::process::id()));
        std::fs::write(&src, MAPS_C).ok()?;
        let multiarch = crate::common::multiarch(&clang);
        let ok = std::process::Command::new(&clang)
            .args(["-O2", "-g", "-target", "bpf", "-c"])
            .arg(format!("-I/usr/include/{multiarch}"))
            .arg(&src)
            .arg("-o")
            .arg(&obj)
            .status()
            .ok()?
            .success();
        if !ok {
            return None;
        }
        let elf = std::fs::read(&obj).ok()?;
        let _ = std::fs::remove_file(&obj);
        let pad = PAD.repeat(8);
        let at = elf.windows(pad.len()).position(|w| w == pad)?;
        let mut room = 0;
        while elf[at + room * 8..at + room * 8 + 8] == PAD {
            room += 1;
        }
        // the final exit stays: the body gets the placeholders and the exit
        Some(Self {
            elf,
            at,
            room: room + 1,
        })
    }

    /// The object with `body` in place (padding first).
    fn object(&self, body: &[Slot]) -> Option<Vec<u8>> {
        if body.len() > self.room {
            return None;
        }
        let mut elf = self.elf.clone();
        let pad = self.room - body.len();
        for k in 0..self.room {
            let s = if k < pad { PAD } else { body[k - pad] };
            elf[self.at + k * 8..self.at + k * 8 + 8].copy_from_slice(&s);
        }
        Some(elf)
    }
}

/// The program of `case`.
pub fn program(case: &Case, tmpl: Option<&MapTemplate>) -> Option<Program> {
    if case.maps {
        let elf = tmpl?.object(&case.body)?;
        Program::load_elf(&elf, "<vfuzz>", None).ok()
    } else {
        Program::from_bytecode(&case.body.concat()).ok()
    }
}

// ---- running ----

static PANIC_MSG: Mutex<String> = Mutex::new(String::new());

std::thread_local! {
    /// Inside the verifier or a run: a panic there is a finding.
    static CAUGHT: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Record the panic messages of the verifier and of runs instead of
/// printing them, while fuzzing (others, the fuzzer's own, still print).
fn quiet_panics() {
    std::panic::set_hook(Box::new(|info| {
        if CAUGHT.with(std::cell::Cell::get) {
            let mut m = PANIC_MSG
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            *m = info.to_string();
        } else {
            eprintln!("{info}");
        }
    }));
}

/// `f()`, a panic caught with its message.
fn caught<R>(f: impl FnOnce() -> R) -> Result<R, String> {
    CAUGHT.with(|c| c.set(true));
    let r = catch_unwind(AssertUnwindSafe(f)).map_err(|_| last_panic());
    CAUGHT.with(|c| c.set(false));
    r
}

fn last_panic() -> String {
    PANIC_MSG
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .clone()
}

/// What one run left: r0 or the error, the packet, the maps.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Outcome {
    r0: Result<u64, String>,
    packet: Vec<u8>,
    maps: Vec<Vec<(Vec<u8>, Vec<u8>)>>,
}

/// Run `vm` on a copy of `pkt` placed at `buf[off..]`, `depth` * 4 KiB
/// deeper on the native stack (so that the eBPF stack moves too).
fn run_placed(
    vm: &mut Vm,
    buf: &mut [u8],
    off: usize,
    pkt: &[u8],
    depth: usize,
) -> Result<Result<u64, RunError>, String> {
    if depth > 0 {
        let pad = black_box([0u8; 4096]);
        let r = run_placed(vm, buf, off, pkt, depth - 1);
        black_box(&pad);
        return r;
    }
    let slice = &mut buf[off..off + pkt.len()];
    slice.copy_from_slice(pkt);
    caught(|| vm.run(slice))
}

fn map_contents(vm: &Vm) -> Vec<Vec<(Vec<u8>, Vec<u8>)>> {
    vm.maps()
        .map(|m| {
            let mut e = m.entries();
            e.sort();
            e
        })
        .collect()
}

/// Host addresses a leak would be near.
fn bases(env: &Env, vms: &[&Vm]) -> Vec<u64> {
    let mut b = env.stack_bases.clone();
    for buf in [&env.buf_a, &env.buf_b, &env.buf_c] {
        b.push(buf.as_ptr() as u64);
    }
    for vm in vms {
        b.push(std::ptr::from_ref::<Vm>(vm) as u64);
        for m in vm.maps() {
            b.push(std::ptr::from_ref(m) as u64);
            b.push(m.value_region().start);
        }
    }
    b
}

fn near(v: u64, bases: &[u64]) -> bool {
    bases.iter().any(|&b| v.abs_diff(b) < 1 << 20)
}

fn near32(v: u32, bases: &[u64]) -> bool {
    bases
        .iter()
        .any(|&b| u64::from(v).abs_diff(b & 0xffff_ffff) < 1 << 20 && b > 0xffff_ffff)
}

/// Where in `out` (compared with `input`) a host address shows.
fn leak_in(input: &[u8], out: &[u8], bases: &[u64], wide: bool) -> Option<String> {
    let first = input.iter().zip(out).position(|(a, b)| a != b)?;
    let last = input.iter().zip(out).rposition(|(a, b)| a != b)?;
    let lo = first.saturating_sub(7);
    for i in lo..=last {
        if i + 8 <= out.len() {
            let v = u64::from_le_bytes(out[i..i + 8].try_into().unwrap());
            let was = u64::from_le_bytes(input[i..i + 8].try_into().unwrap());
            if near(v, bases) && !near(was, bases) {
                return Some(format!("bytes {i}..{} = {v:#x}", i + 8));
            }
        }
        if wide && i + 4 <= out.len() {
            let v = u32::from_le_bytes(out[i..i + 4].try_into().unwrap());
            let was = u32::from_le_bytes(input[i..i + 4].try_into().unwrap());
            if near32(v, bases) && !near32(was, bases) {
                return Some(format!("bytes {i}..{} = {v:#x} (low half)", i + 4));
            }
        }
    }
    None
}

fn leak_of(o: &Outcome, input: &[u8], bases: &[u64], wide: bool) -> Option<String> {
    if let Ok(r0) = o.r0 {
        if near(r0, bases) || (wide && r0 >> 32 == 0 && near32(r0 as u32, bases)) {
            return Some(format!("r0 = {r0:#x}"));
        }
    }
    if let Some(w) = leak_in(input, &o.packet, bases, wide) {
        return Some(format!("packet {w}"));
    }
    for (k, m) in o.maps.iter().enumerate() {
        for (key, val) in m {
            for bytes in [key, val] {
                let zero = vec![0; bytes.len()];
                if let Some(w) = leak_in(&zero, bytes, bases, wide) {
                    return Some(format!("map {k}: {w}"));
                }
            }
        }
    }
    None
}

/// Shared state of a fuzzing session.
pub struct Env {
    pub tmpl: Option<MapTemplate>,
    buf_a: Vec<u8>,
    buf_b: Vec<u8>,
    buf_c: Vec<u8>,
    stack_bases: Vec<u64>,
    /// Addresses between placements A and B, for pointer comparisons.
    pub hints: Vec<u64>,
    /// Where the last JIT candidate goes before it runs (a crash leaves it).
    pub last_jit: Option<PathBuf>,
}

/// Largest packet.
const MAX_PKT: usize = 65535;
/// Offset of placement B in its buffer.
const OFF_B: usize = 3;
/// Extra native stack depth (4 KiB units) of the B runs.
const DEPTH_B: usize = 3;

impl Env {
    pub fn new(tmpl: Option<MapTemplate>) -> Self {
        let mut env = Self {
            tmpl,
            buf_a: vec![0; MAX_PKT + 16],
            buf_b: vec![0; MAX_PKT + 16],
            buf_c: vec![0; MAX_PKT + 16],
            stack_bases: Vec::new(),
            hints: Vec::new(),
            last_jit: None,
        };
        // where the eBPF stacks are: a program returning r10
        let probe = [
            gen::ins(gen::ALU64 | gen::X | 0xb0, 0, 10, 0, 0),
            gen::ins(gen::EXIT, 0, 0, 0, 0),
        ]
        .concat();
        let prog = Program::from_bytecode(&probe).expect("probe");
        for engine in [Engine::Interpreter, Engine::Jit(Trust::Trusted)] {
            let mut vm = Vm::new(prog.clone(), engine).expect("probe VM");
            for depth in [0, DEPTH_B] {
                if let Ok(Ok(r10)) = run_placed(&mut vm, &mut env.buf_a, 0, &[0; 64], depth) {
                    env.stack_bases.push(r10);
                }
            }
        }
        let a = env.buf_a.as_ptr() as u64;
        let b = env.buf_b.as_ptr() as u64 + OFF_B as u64;
        let mid = a / 2 + b / 2;
        env.hints = vec![mid, mid + 64, mid - 64];
        env
    }
}

/// The verdict on one case.
pub enum Verdict {
    /// Not a valid program (the structural checks refuse it).
    Invalid,
    Rejected,
    Accepted {
        packets: usize,
        findings: Vec<Finding>,
    },
}

/// Packets for a program: lengths around the minimum and a few large
/// ones; random, constant edge bytes, or host addresses.
pub fn packets(rng: &mut Rng, min_len: usize, hints: &[u64], n: usize) -> Vec<Vec<u8>> {
    (0..n)
        .map(|k| {
            let len = match rng.below(12) {
                0 => rng.pick(&[1500, 1514, 9000, MAX_PKT]).max(min_len),
                1 => min_len,
                _ => min_len + rng.below(65) as usize,
            };
            let mut p = vec![0u8; len];
            match (k + rng.below(6) as usize) % 6 {
                0 | 1 => p.iter_mut().for_each(|b| *b = rng.next_u64() as u8),
                2 => p.fill(rng.pick(&[0x00, 0xff, 0x80, 0x7f, 0x01])),
                3 => p
                    .iter_mut()
                    .for_each(|b| *b = rng.pick(&[0x00, 0xff, 0x80, 0x7f, 0x01, 0x0e, 0x14])),
                4 if !hints.is_empty() => {
                    for c in p.chunks_mut(8) {
                        let h = rng.pick(hints).to_le_bytes();
                        c.copy_from_slice(&h[..c.len()]);
                    }
                }
                _ => {
                    // an IPv4-ish header
                    for (i, b) in p.iter_mut().enumerate() {
                        *b = match i {
                            0 => 0x45,
                            9 => 6,
                            _ => {
                                let r = rng.next_u64() as u8;
                                rng.pick(&[0, 0xff, r])
                            }
                        };
                    }
                }
            }
            p
        })
        .collect()
}

/// Verify `case` and run it on `pkts`.
pub fn evaluate(env: &mut Env, case: &Case, pkts: &[Vec<u8>]) -> Verdict {
    let Some(prog) = program(case, env.tmpl.as_ref()) else {
        return Verdict::Invalid;
    };
    let opts = case.opts();
    let proof = match caught(|| ubpf::verify(&prog, &opts)) {
        Err(msg) => {
            return Verdict::Accepted {
                packets: 0,
                findings: vec![Finding {
                    class: Class::VerifierPanic,
                    detail: msg,
                    case: case.clone(),
                    packet: Vec::new(),
                }],
            }
        }
        Ok(Err(_)) => return Verdict::Rejected,
        Ok(Ok(p)) => p,
    };
    let finding = |class, detail: String, packet: &[u8]| Finding {
        class,
        detail,
        case: case.clone(),
        packet: packet.to_vec(),
    };
    let vm_opts = VmOptions {
        convention: case.convention,
        proof: Some(proof.clone()),
    };
    let mk = || Vm::with_options(prog.clone(), Engine::Interpreter, vm_opts.clone());
    let (Ok(mut int_a), Ok(mut int_b)) = (mk(), mk()) else {
        let e = mk().err().map(|e| e.to_string()).unwrap_or_default();
        return Verdict::Accepted {
            packets: 0,
            findings: vec![finding(Class::RunError, format!("no VM: {e}"), &[])],
        };
    };
    let jit_opts = VmOptions {
        convention: case.convention,
        proof: None,
    };
    let mut jit =
        Vm::with_options(prog.clone(), Engine::Jit(Trust::Verified(proof)), jit_opts).ok();
    let mut findings = Vec::new();
    let mut jit_ok = true;
    let mut jit_saved = false;
    let mut ran = 0;
    for pkt in pkts {
        ran += 1;
        let Env { buf_a, buf_b, .. } = env;
        let ra = run_placed(&mut int_a, buf_a, 0, pkt, 0);
        let rb = run_placed(&mut int_b, buf_b, OFF_B, pkt, DEPTH_B);
        let out = |r: Result<Result<u64, RunError>, String>, buf: &[u8], off: usize, vm: &Vm| {
            r.map(|r| Outcome {
                r0: r.map_err(|e| e.to_string()),
                packet: buf[off..off + pkt.len()].to_vec(),
                maps: map_contents(vm),
            })
        };
        let bs = bases(env, &[&int_a, &int_b]);
        let (oa, ob) = match (ra, rb) {
            (Err(p), _) | (_, Err(p)) => {
                findings.push(finding(Class::RunPanic, p, pkt));
                break;
            }
            (Ok(Err(e)), _) => {
                let class = match e {
                    RunError::OutOfBounds { .. } => Class::OutOfBounds,
                    _ => Class::RunError,
                };
                findings.push(finding(class, e.to_string(), pkt));
                break;
            }
            (ra, rb) => (
                out(ra, &env.buf_a, 0, &int_a).expect("ran"),
                out(rb, &env.buf_b, OFF_B, &int_b).expect("ran"),
            ),
        };
        if let Err(e) = &ob.r0 {
            let class = if e.contains("out-of-bounds") {
                Class::OutOfBounds
            } else {
                Class::RunError
            };
            findings.push(finding(class, format!("placement B: {e}"), pkt));
            break;
        }
        // a host address in the output moves with the memory: a leak
        // makes A and B differ (constants near an address do not count)
        let differ = oa != ob;
        if let Some(w) = differ.then(|| leak_of(&oa, pkt, &bs, true)).flatten() {
            findings.push(finding(Class::PointerLeak, w, pkt));
            break;
        }
        if differ {
            let what = describe_diff(&oa, &ob);
            findings.push(finding(Class::AddressDependent, what, pkt));
            break;
        }
        if let (Some(j), true) = (jit.as_mut(), jit_ok) {
            if let (Some(path), true) = (&env.last_jit, !jit_saved) {
                jit_saved = true;
                let f = Finding {
                    class: Class::JitMismatch,
                    detail: "the JIT crashed on this case".to_owned(),
                    case: case.clone(),
                    packet: pkt.clone(),
                };
                let _ = std::fs::write(path, reproducer(&f, env.tmpl.as_ref()));
            }
            let rc = run_placed(j, &mut env.buf_c, 0, pkt, 1);
            let oc = match rc {
                Err(p) => {
                    findings.push(finding(Class::RunPanic, format!("JIT: {p}"), pkt));
                    jit_ok = false;
                    continue;
                }
                Ok(r) => Outcome {
                    r0: r.map_err(|e| e.to_string()),
                    packet: env.buf_c[..pkt.len()].to_vec(),
                    maps: map_contents(j),
                },
            };
            if oc != oa {
                let what = describe_diff(&oa, &oc);
                findings.push(finding(Class::JitMismatch, what, pkt));
                jit_ok = false;
            }
        }
    }
    Verdict::Accepted {
        packets: ran,
        findings,
    }
}

fn describe_diff(a: &Outcome, b: &Outcome) -> String {
    if a.r0 != b.r0 {
        return format!("r0 {:x?} vs {:x?}", a.r0, b.r0);
    }
    if a.packet != b.packet {
        let i = a.packet.iter().zip(&b.packet).position(|(x, y)| x != y);
        return format!("packet differs from byte {i:?}");
    }
    "map contents differ".to_owned()
}

// ---- minimisation and reproducers ----

/// The class of finding `case` gives on `pkt` alone (fresh maps).
fn class_on(env: &mut Env, case: &Case, pkt: &[u8]) -> Option<Class> {
    let pkts = [pkt.to_vec()];
    match evaluate(env, case, &pkts) {
        Verdict::Accepted { findings, .. } => findings.first().map(|f| f.class),
        _ => None,
    }
}

/// Whether slot `i` is inside a loop: deleting it may make the loop
/// endless, and the verifier slow to refuse it.
fn in_loop(code: &[Slot], i: usize) -> bool {
    code.iter().enumerate().any(|(j, s)| {
        gen::is_jump(s) && gen::off_of(s) < 0 && {
            let t = j as i64 + 1 + i64::from(gen::off_of(s));
            t <= i as i64 && i <= j
        }
    })
}

/// Shrink a finding while it keeps its class.
pub fn minimize(env: &mut Env, f: &Finding, budget: Duration) -> Finding {
    let t0 = Instant::now();
    if class_on(env, &f.case, &f.packet) != Some(f.class) {
        return f.clone();
    }
    let mut case = f.case.clone();
    let mut pkt = f.packet.clone();
    let mut changed = true;
    while changed && t0.elapsed() < budget {
        changed = false;
        let mut i = case.body.len();
        while i > 0 && t0.elapsed() < budget {
            i -= 1;
            if (i > 0 && case.body[i - 1][0] == gen::LDDW) || in_loop(&case.body, i) {
                continue;
            }
            let mut c = case.clone();
            if gen::delete(&mut c.body, i).is_none() {
                continue;
            }
            if class_on(env, &c, &pkt) == Some(f.class) {
                case = c;
                changed = true;
                i = i.min(case.body.len());
            }
        }
        // shorter packets, then plainer bytes
        for len in [
            case.min_len,
            case.min_len + 8,
            case.min_len + 16,
            (pkt.len() / 2).max(case.min_len),
        ] {
            if len < pkt.len() && class_on(env, &case, &pkt[..len]) == Some(f.class) {
                pkt.truncate(len);
                changed = true;
                break;
            }
        }
        let plain = pkt.iter().all(|&b| b == 0 || b == 0xff);
        for fill in [0u8, 0xff] {
            let p = vec![fill; pkt.len()];
            if !plain && class_on(env, &case, &p) == Some(f.class) {
                pkt = p;
                changed = true;
                break;
            }
        }
    }
    let pkts = [pkt.clone()];
    let detail = match evaluate(env, &case, &pkts) {
        Verdict::Accepted { findings, .. } => findings
            .first()
            .map_or_else(|| f.detail.clone(), |g| g.detail.clone()),
        _ => f.detail.clone(),
    };
    Finding {
        class: f.class,
        detail,
        case,
        packet: pkt,
    }
}

const REGS: [&str; 11] = [
    "r0", "r1", "r2", "r3", "r4", "r5", "r6", "r7", "r8", "r9", "r10",
];

/// An assembler-like listing of `code`.
pub fn disasm(code: &[Slot]) -> String {
    let mut out = String::new();
    let mut i = 0;
    while i < code.len() {
        let s = code[i];
        let (dst, src) = (REGS[usize::from(s[1] & 15).min(10)], s[1] >> 4);
        let srcn = REGS[usize::from(src).min(10)];
        let (off, imm) = (gen::off_of(&s), gen::imm_of(&s));
        let class = s[0] & 7;
        let sz = match gen::size_of(s[0]) {
            1 => "u8",
            2 => "u16",
            4 => "u32",
            _ => "u64",
        };
        let text = match class {
            _ if s[0] == gen::LDDW => {
                let hi = code.get(i + 1).map_or(0, gen::imm_of);
                let v = (u64::from(hi as u32) << 32) | u64::from(imm as u32);
                i += 1;
                format!("{dst} = {v:#x} ll")
            }
            gen::LDX => format!("{dst} = *({sz} *)({srcn} {off:+})"),
            gen::ST => format!("*({sz} *)({dst} {off:+}) = {imm}"),
            gen::STX => format!("*({sz} *)({dst} {off:+}) = {srcn}"),
            gen::ALU | gen::ALU64 => {
                let w = if class == gen::ALU { "w" } else { "r" };
                let d = format!("{w}{}", s[1] & 15);
                let op = s[0] & 0xf0;
                let rhs = if s[0] & gen::X != 0 {
                    format!("{w}{src}")
                } else {
                    imm.to_string()
                };
                match op {
                    0x80 => format!("{d} = -{d}"),
                    0xd0 => {
                        let e = if s[0] & gen::X != 0 { "be" } else { "le" };
                        format!("{dst} = {e}{imm} {dst}")
                    }
                    _ => {
                        let o = [
                            "+=", "-=", "*=", "/=", "|=", "&=", "<<=", ">>=", "neg", "%=", "^=",
                            "=", "s>>=",
                        ][usize::from(op >> 4)];
                        format!("{d} {o} {rhs}")
                    }
                }
            }
            gen::JMP | gen::JMP32 => {
                let target = i as i64 + 1 + i64::from(off);
                match s[0] {
                    gen::CALL if src == 1 => {
                        format!("call pc{:+} (insn {})", imm, i as i64 + 1 + i64::from(imm))
                    }
                    gen::CALL => format!("call helper {imm}"),
                    gen::EXIT => "exit".to_owned(),
                    0x05 => format!("goto {target}"),
                    _ => {
                        let w = if class == gen::JMP32 { "w" } else { "r" };
                        let op = [
                            "ja", "==", ">", ">=", "&", "!=", "s>", "s>=", "call", "exit", "<",
                            "<=", "s<", "s<=",
                        ][usize::from(s[0] >> 4).min(13)];
                        let rhs = if s[0] & gen::X != 0 {
                            format!("{w}{src}")
                        } else {
                            imm.to_string()
                        };
                        format!("if {w}{} {op} {rhs} goto {target}", s[1] & 15)
                    }
                }
            }
            _ => format!("{s:02x?}"),
        };
        let _ = writeln!(
            out,
            "{:4}: {text}",
            if s[0] == gen::LDDW { i - 1 } else { i }
        );
        i += 1;
    }
    out
}

fn hex(b: &[u8]) -> String {
    b.iter().fold(String::new(), |mut s, x| {
        let _ = write!(s, "{x:02x}");
        s
    })
}

/// A reproducer: options, packet, bytecode, listing.
pub fn reproducer(f: &Finding, tmpl: Option<&MapTemplate>) -> String {
    let mut s = String::new();
    let c = &f.case;
    let _ = writeln!(s, "class: {:?}", f.class);
    let _ = writeln!(s, "detail: {}", f.detail.replace('\n', " | "));
    let _ = writeln!(
        s,
        "options: convention={:?} min_len={} maps={}",
        c.convention, c.min_len, c.maps
    );
    if c.maps {
        let _ = writeln!(
            s,
            "(map template: vfuzz::MAPS_C; r6 = fz_hash, r7 = fz_array ll, then the body)"
        );
    }
    let _ = writeln!(s, "packet ({} bytes): {}", f.packet.len(), hex(&f.packet));
    let _ = writeln!(s, "bytecode: {}", hex(&c.body.concat()));
    let _ = writeln!(s, "listing:");
    s.push_str(&disasm(&c.body));
    if c.maps && tmpl.is_some() {
        let _ = writeln!(s, "(body placed at the end of the template's placeholders)");
    }
    s
}

// ---- the driver ----

/// Figures of a session.
#[derive(Clone, Debug, Default)]
pub struct Stats {
    /// Programs handed to the verifier.
    pub executions: usize,
    pub generated: usize,
    pub mutated: usize,
    /// Passed the structural checks.
    pub valid: usize,
    pub accepted: usize,
    pub packets: usize,
    pub findings: BTreeMap<String, usize>,
}

impl std::fmt::Display for Stats {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "executions {} (generated {}, mutated {}), valid {}, accepted {}, packets {}, findings {:?}",
            self.executions,
            self.generated,
            self.mutated,
            self.valid,
            self.accepted,
            self.packets,
            self.findings
        )
    }
}

/// Session settings.
pub struct Settings {
    pub seed: u64,
    pub time: Duration,
    /// Where reproducers go (none: kept in memory only).
    pub out: Option<PathBuf>,
    /// Packets per accepted program.
    pub packets: usize,
    /// Reproducers minimised and kept per class.
    pub keep_per_class: usize,
    /// Progress lines on stderr this often.
    pub progress: Option<Duration>,
}

/// Fuzz for `s.time`; the statistics and the kept (minimised) findings.
pub fn fuzz(s: &Settings, tmpl: Option<MapTemplate>) -> (Stats, Vec<Finding>) {
    let prev_hook = std::panic::take_hook();
    quiet_panics();
    let mut env = Env::new(tmpl);
    if let Some(dir) = &s.out {
        let _ = std::fs::create_dir_all(dir);
        env.last_jit = Some(dir.join("last-jit-candidate.txt"));
    }
    let mut rng = Rng::new(s.seed);
    let mut st = Stats::default();
    let mut pool: Vec<Case> = Vec::new();
    let mut kept: Vec<Finding> = Vec::new();
    let mut per_class: BTreeMap<Class, usize> = BTreeMap::new();
    let t0 = Instant::now();
    let mut next_progress = s.progress;
    while t0.elapsed() < s.time {
        let case = if !pool.is_empty() && rng.below(2) == 0 {
            let parent = &pool[rng.below(pool.len() as u64) as usize];
            let Some(c) = gen::mutate(&mut rng, parent) else {
                continue;
            };
            st.mutated += 1;
            c
        } else {
            st.generated += 1;
            gen::generate(&mut rng, &env.hints, env.tmpl.is_some())
        };
        st.executions += 1;
        let pkts = packets(&mut rng, case.min_len, &env.hints, s.packets);
        let te = Instant::now();
        let verdict = evaluate(&mut env, &case, &pkts);
        if std::env::var_os("VFUZZ_SLOW").is_some() && te.elapsed() > Duration::from_millis(50) {
            eprintln!("slow {:?}\n{}", te.elapsed(), disasm(&case.body));
        }
        match verdict {
            Verdict::Invalid => {}
            Verdict::Rejected => st.valid += 1,
            Verdict::Accepted { packets, findings } => {
                st.valid += 1;
                st.accepted += 1;
                st.packets += packets;
                if findings.is_empty() {
                    if pool.len() < 4096 {
                        pool.push(case);
                    } else {
                        let k = rng.below(pool.len() as u64) as usize;
                        pool[k] = case;
                    }
                }
                for f in findings {
                    *st.findings.entry(format!("{:?}", f.class)).or_default() += 1;
                    let n = per_class.entry(f.class).or_default();
                    if *n >= s.keep_per_class {
                        continue;
                    }
                    *n += 1;
                    let tm = Instant::now();
                    let m = minimize(&mut env, &f, Duration::from_secs(5));
                    if std::env::var_os("VFUZZ_SLOW").is_some() {
                        eprintln!(
                            "minimized in {:?}: {} -> {} slots",
                            tm.elapsed(),
                            f.case.body.len(),
                            m.case.body.len()
                        );
                    }
                    if let Some(dir) = &s.out {
                        let name = format!("{:?}-{}.txt", m.class, *n);
                        let _ = std::fs::write(dir.join(name), reproducer(&m, env.tmpl.as_ref()));
                    }
                    kept.push(m);
                }
            }
        }
        if let Some(p) = s.progress {
            if next_progress.is_some_and(|n| t0.elapsed() >= n) {
                eprintln!("[{:>5.0} s] {st}", t0.elapsed().as_secs_f64());
                next_progress = Some(t0.elapsed() + p);
            }
        }
    }
    if let Some(path) = &env.last_jit {
        let _ = std::fs::remove_file(path);
    }
    std::panic::set_hook(prev_hook);
    (st, kept)
}
