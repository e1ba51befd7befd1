// SPDX-License-Identifier: GPL-2.0-or-later

//! Engine benchmark: cost per packet of the interpreter and the JIT against
//! the same logic in plain Rust, cost of a map lookup from a program, load
//! and JIT-compile cost, and heap allocations per packet.
//!
//! ```text
//! cargo bench --manifest-path rust/ubpf/Cargo.toml --bench engine [-- --json FILE]
//! ```
//!
//! The machine may be busy with other work, so every figure comes from
//! interleaved rounds: in each round every program runs on each engine in
//! turn (the order rotates), and the reported values are medians over the
//! rounds; ratios are taken within a round, then their median.
//!
//! Environment: `UBPF_BENCH_ROUNDS` (default 31), `UBPF_BENCH_SAMPLE_MS`
//! (time per sample, default 4), `CLANG` (default `clang`).

// the engine tests' helpers: compiling the BPF sources, the PRNG
#[path = "../../tests/common/mod.rs"]
mod common;
mod iovisor;
mod json;
mod maps;
mod native;
mod packets;

use std::alloc::{GlobalAlloc, Layout, System};
use std::hint::black_box;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use json::J;
use ubpf::net::program_memory;
use ubpf::{Convention, Engine, Program, Trust, Verified, VerifyOptions, Vm};

// ---- counting allocator ----

struct Counting;

static ALLOCATIONS: AtomicU64 = AtomicU64::new(0);

// SAFETY: forwards to the system allocator; counting does not affect the
// memory returned.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: same contract as the caller's.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: same contract as the caller's.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: same contract as the caller's.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: same contract as the caller's.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn allocations() -> u64 {
    ALLOCATIONS.load(Ordering::Relaxed)
}

// ---- settings ----

struct Settings {
    /// `cargo bench` passes `--bench`; `cargo test --all-targets` runs
    /// this binary without it: then only the checks run, not the timing.
    bench: bool,
    rounds: usize,
    sample: Duration,
    json: Option<PathBuf>,
}

fn env_num(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .filter(|&n| n > 0)
        .unwrap_or(default)
}

impl Settings {
    fn from_env() -> Self {
        let mut json = None;
        let mut bench = false;
        let mut args = std::env::args().skip(1);
        while let Some(a) = args.next() {
            match a.as_str() {
                "--json" => json = args.next().map(PathBuf::from),
                "--bench" => bench = true,
                _ => (),
            }
        }
        Self {
            bench,
            rounds: usize::try_from(env_num("UBPF_BENCH_ROUNDS", 31)).unwrap_or(31),
            sample: Duration::from_millis(env_num("UBPF_BENCH_SAMPLE_MS", 4)),
            json,
        }
    }
}

// ---- programs ----

/// Compile `tests/data/ubpf/<name>.bpf.c` as the tests do and return the
/// object's bytes.
fn compile(name: &str) -> Vec<u8> {
    std::fs::read(common::compile(name)).expect("read object")
}

fn load(name: &str, elf: &[u8]) -> Program {
    Program::load_elf(elf, name, None).unwrap_or_else(|e| panic!("{e}"))
}

fn vm(prog: &Program, engine: Engine) -> Vm {
    Vm::new(prog.clone(), engine).unwrap_or_else(|e| panic!("{e}"))
}

const JIT: Engine = Engine::Jit(Trust::Trusted);

// ---- statistics ----

fn median(v: &[f64]) -> f64 {
    quantile(v, 0.5)
}

fn quantile(v: &[f64], q: f64) -> f64 {
    let mut s: Vec<f64> = v.iter().copied().filter(|x| x.is_finite()).collect();
    if s.is_empty() {
        return f64::NAN;
    }
    s.sort_by(f64::total_cmp);
    let pos = q * (s.len() - 1) as f64;
    let lo = pos.floor() as usize;
    let hi = pos.ceil() as usize;
    s[lo] + (s[hi] - s[lo]) * (pos - lo as f64)
}

fn us(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6
}

// ---- per-packet runs ----

/// What runs a program: the same logic in native Rust, our interpreter
/// and JIT, and iovisor/ubpf's interpreter and JIT when available.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Native,
    Interpreter,
    Jit,
    UbpfInterpreter,
    UbpfJit,
}

const KINDS: [Kind; 5] = [
    Kind::Native,
    Kind::Interpreter,
    Kind::Jit,
    Kind::UbpfInterpreter,
    Kind::UbpfJit,
];

impl Kind {
    const fn index(self) -> usize {
        self as usize
    }

    const fn label(self) -> &'static str {
        match self {
            Self::Native => "native",
            Self::Interpreter => "interpreter",
            Self::Jit => "jit",
            Self::UbpfInterpreter => "ubpf_interpreter",
            Self::UbpfJit => "ubpf_jit",
        }
    }
}

/// Number of frame orders: every pass over the frames takes the next one.
const ORDERS: usize = 16;

/// One reference program with its implementations and the memory it runs
/// on for each frame of the mix.
struct Case {
    name: &'static str,
    ip_mode: bool,
    insns: usize,
    interp: Vm,
    jit: Vm,
    native: fn(&[u8]) -> u64,
    /// whether `native` is timed too (else it only gives the verdicts
    /// that the engines must return)
    native_timed: bool,
    ubpf: Option<iovisor::Vm<'static>>,
    /// program memory of each frame the filter runs the program on
    mems: Vec<Vec<u8>>,
    /// `ORDERS` random permutations of the frames
    orders: Vec<Vec<usize>>,
    /// passes over the frames per round, per kind
    passes: [u64; 5],
    /// time of the current round, per kind
    round_time: [Duration; 5],
    /// ns per run, one entry per round
    ns: [Vec<f64>; 5],
    /// heap allocations counted while timing, per kind
    allocs: [u64; 5],
    runs: [u64; 5],
}

fn run_vm(vm: &mut Vm, m: &mut [u8]) -> u64 {
    vm.run(m).unwrap_or(u64::MAX)
}

impl Case {
    fn new(
        name: &'static str,
        prog: &Program,
        ip_mode: bool,
        native: fn(&[u8]) -> u64,
        mix: &[Vec<u8>],
        ubpf: Option<&'static iovisor::Lib>,
    ) -> Self {
        let mems: Vec<Vec<u8>> = mix
            .iter()
            .filter_map(|f| {
                let mut f = f.clone();
                program_memory(&mut f, ip_mode).map(|m| m.to_vec())
            })
            .collect();
        let mut rng =
            common::Rng::new(0x5eed ^ mems.len() as u64 ^ (prog.insn_count() as u64) << 20);
        let orders = (0..ORDERS)
            .map(|_| {
                let mut o: Vec<usize> = (0..mems.len()).collect();
                for i in (1..o.len()).rev() {
                    let j = usize::try_from(rng.below(i as u64 + 1)).unwrap_or(0);
                    o.swap(i, j);
                }
                o
            })
            .collect();
        let ubpf = ubpf.and_then(|lib| match lib.load(prog.bytecode()) {
            Ok(vm) => Some(vm),
            Err(e) => {
                eprintln!("engine bench: iovisor/ubpf cannot load {name}: {e}");
                None
            }
        });
        Self {
            name,
            ip_mode,
            insns: prog.insn_count(),
            interp: vm(prog, Engine::Interpreter),
            jit: vm(prog, JIT),
            native,
            native_timed: true,
            ubpf,
            mems,
            orders,
            passes: [1; 5],
            round_time: [Duration::ZERO; 5],
            ns: std::array::from_fn(|_| Vec::new()),
            allocs: [0; 5],
            runs: [0; 5],
        }
    }

    fn has(&self, kind: Kind) -> bool {
        match kind {
            Kind::Native => self.native_timed,
            Kind::Interpreter | Kind::Jit => true,
            Kind::UbpfInterpreter | Kind::UbpfJit => self.ubpf.is_some(),
        }
    }

    /// Verdict of each engine on each frame: they must all agree.
    fn check_verdicts(&mut self) -> Vec<u64> {
        let mut out = Vec::new();
        for i in 0..self.mems.len() {
            let m = self.mems[i].clone();
            let vn = (self.native)(&m);
            for kind in KINDS {
                if kind == Kind::Native || !self.has(kind) {
                    continue;
                }
                let mut copy = m.clone();
                let v = self.run_one(kind, &mut copy);
                assert!(
                    v == vn,
                    "{}: verdicts differ ({} {v}, native {vn}) on {m:02x?}",
                    self.name,
                    kind.label()
                );
            }
            out.push(vn);
        }
        out
    }

    fn run_one(&mut self, kind: Kind, m: &mut [u8]) -> u64 {
        match kind {
            Kind::Native => (self.native)(m),
            Kind::Interpreter => run_vm(&mut self.interp, m),
            Kind::Jit => run_vm(&mut self.jit, m),
            Kind::UbpfInterpreter => self.ubpf.as_ref().map_or(u64::MAX, |u| u.interpret(m)),
            Kind::UbpfJit => self.ubpf.as_ref().map_or(u64::MAX, |u| u.jit(m)),
        }
    }

    /// Time one pass over the frames in order `order`; count allocations.
    fn pass(&mut self, kind: Kind, order: usize) -> (Duration, u64) {
        let order = &self.orders[order % ORDERS];
        let mems = &mut self.mems;
        let mut acc = 0u64;
        macro_rules! timed {
            ($f:expr) => {{
                let a0 = allocations();
                let t0 = Instant::now();
                for &i in order {
                    acc = acc.wrapping_add($f(&mut mems[black_box(i)][..]));
                }
                let elapsed = t0.elapsed();
                (elapsed, allocations() - a0)
            }};
        }
        let res = match kind {
            Kind::Native => {
                let f = self.native;
                timed!(|m: &mut [u8]| f(m))
            }
            Kind::Interpreter => {
                let vm = &mut self.interp;
                timed!(|m: &mut [u8]| run_vm(vm, m))
            }
            Kind::Jit => {
                let vm = &mut self.jit;
                timed!(|m: &mut [u8]| run_vm(vm, m))
            }
            Kind::UbpfInterpreter => {
                let u = self.ubpf.as_ref().expect("ubpf VM");
                timed!(|m: &mut [u8]| u.interpret(m))
            }
            Kind::UbpfJit => {
                let u = self.ubpf.as_ref().expect("ubpf VM");
                timed!(|m: &mut [u8]| u.jit(m))
            }
        };
        black_box(acc);
        res
    }

    /// Warm up, and find the number of passes per round for each kind.
    fn calibrate(&mut self, target: Duration) {
        for kind in KINDS {
            if !self.has(kind) {
                continue;
            }
            let mut best = Duration::MAX;
            for o in 0..4 {
                best = best.min(self.pass(kind, o).0);
            }
            let n = target.as_secs_f64() / best.as_secs_f64().max(1e-9);
            self.passes[kind.index()] = (n as u64).clamp(1, 1 << 20);
        }
    }

    /// Pass number `pass` of this round for `kind`, if it has that many.
    fn step(&mut self, kind: Kind, pass: u64, order: usize) {
        let i = kind.index();
        if !self.has(kind) || pass >= self.passes[i] {
            return;
        }
        let (d, allocs) = self.pass(kind, order);
        self.round_time[i] += d;
        self.allocs[i] += allocs;
        self.runs[i] += self.mems.len() as u64;
    }

    fn end_round(&mut self) {
        for kind in KINDS {
            let i = kind.index();
            if self.has(kind) {
                let runs = self.passes[i] * self.mems.len() as u64;
                self.ns[i].push(self.round_time[i].as_secs_f64() * 1e9 / runs as f64);
            }
            self.round_time[i] = Duration::ZERO;
        }
    }

    fn ratio(&self, kind: Kind) -> f64 {
        let k = &self.ns[kind.index()];
        let n = &self.ns[Kind::Native.index()];
        let ratios: Vec<f64> = k.iter().zip(n).map(|(a, b)| a / b).collect();
        median(&ratios)
    }

    /// Median over rounds of (this - `base`) / (native - `base` native):
    /// the ratio without the fixed cost of a run, `base` being the program
    /// that only returns.
    fn body_ratio(&self, kind: Kind, base: &Self) -> f64 {
        let n = Kind::Native.index();
        let k = kind.index();
        let ratios: Vec<f64> = (0..self.ns[k].len().min(base.ns[k].len()))
            .map(|r| (self.ns[k][r] - base.ns[k][r]) / (self.ns[n][r] - base.ns[n][r]))
            .collect();
        median(&ratios)
    }

    fn ns_median(&self, kind: Kind) -> f64 {
        median(&self.ns[kind.index()])
    }

    fn spread(&self, kind: Kind) -> f64 {
        let v = &self.ns[kind.index()];
        (quantile(v, 0.75) - quantile(v, 0.25)) / median(v)
    }

    fn to_json(&self, verdicts: &[u64], base: &Self) -> J {
        let dropped = verdicts.iter().filter(|&&v| v != 0).count();
        let per = |f: &dyn Fn(Kind) -> f64| {
            J::Obj(
                KINDS
                    .iter()
                    .filter(|&&k| self.has(k))
                    .map(|&k| (k.label(), J::num(f(k))))
                    .collect(),
            )
        };
        J::Obj(vec![
            ("program", J::str(self.name)),
            ("mode", J::str(if self.ip_mode { "ip" } else { "raw" })),
            ("insns", J::Int(self.insns as u64)),
            ("runs_per_pass", J::Int(self.mems.len() as u64)),
            ("dropped_per_pass", J::Int(dropped as u64)),
            ("ns_per_run_median", per(&|k| self.ns_median(k))),
            ("ns_per_run_iqr_rel", per(&|k| self.spread(k))),
            ("over_native", per(&|k| self.ratio(k))),
            (
                "over_native_without_fixed_cost",
                per(&|k| self.body_ratio(k, base)),
            ),
            (
                "allocations_per_run",
                per(&|k| {
                    let i = k.index();
                    self.allocs[i] as f64 / self.runs[i].max(1) as f64
                }),
            ),
        ])
    }
}

/// Interleaved rounds: in each, pass after pass, every program runs on
/// every implementation in turn (programs and implementations in a
/// rotating order), each pass over the frames in another random order.
fn measure_runs(cases: &mut [Case], rounds: usize) {
    let max_passes = cases.iter().flat_map(|c| c.passes).max().unwrap_or(1);
    let mut order = 0usize;
    for r in 0..rounds {
        for pass in 0..max_passes {
            let rot = r + pass as usize;
            for k in 0..KINDS.len() {
                let kind = KINDS[(rot + k) % KINDS.len()];
                for c in 0..cases.len() {
                    let n = cases.len();
                    order += 1;
                    cases[(rot + c) % n].step(kind, pass, order);
                }
            }
        }
        for c in cases.iter_mut() {
            c.end_round();
        }
    }
}

// ---- load cost ----

#[derive(Clone, Copy)]
enum LoadOp {
    /// `Program::load_elf`: ELF parsing and the engine's checks
    Load,
    /// `ubpf::verify`: the verifier's range analysis
    Verify,
    /// `Vm::new(Interpreter)`: rbpf's verifier, helper registration
    VmInterp,
    /// `Vm::new(Jit)`: the same plus JIT compilation
    VmJit,
    /// `Program::load_elf`, `ubpf::verify` (if the program verifies),
    /// then `Vm::new(Jit)`
    Total,
}

const LOAD_OPS: [LoadOp; 5] = [
    LoadOp::Load,
    LoadOp::Verify,
    LoadOp::VmInterp,
    LoadOp::VmJit,
    LoadOp::Total,
];

struct LoadCase {
    name: &'static str,
    elf: Vec<u8>,
    prog: Program,
    opts: VerifyOptions,
    /// `Err`: why the verifier refused the program
    verified: Result<VerifyStatsJson, String>,
    batch: [usize; 5],
    us: [Vec<f64>; 5],
    allocs: [u64; 5],
}

/// What the verifier reported, for the results.
struct VerifyStatsJson {
    processed: usize,
    states: usize,
}

impl LoadCase {
    fn new(name: &'static str, elf: Vec<u8>, ip_mode: bool) -> Self {
        let prog = load(name, &elf);
        // the filter guarantees an IPv4 header in ip-mode, an Ethernet
        // header in raw mode
        let opts = VerifyOptions {
            convention: Convention::Raw,
            min_len: if ip_mode { 20 } else { 14 },
        };
        let verified = ubpf::verify(&prog, &opts)
            .map(|v| {
                let st = v.stats();
                VerifyStatsJson {
                    processed: st.processed,
                    states: st.states,
                }
            })
            .map_err(|e| e.to_string());
        Self {
            name,
            elf,
            prog,
            opts,
            verified,
            batch: [1; 5],
            us: std::array::from_fn(|_| Vec::new()),
            allocs: [0; 5],
        }
    }

    fn verify(&self, prog: &Program) -> Option<Verified> {
        if self.verified.is_err() {
            return None;
        }
        Some(ubpf::verify(prog, &self.opts).unwrap_or_else(|e| panic!("{e}")))
    }

    /// Time `n` operations; results are dropped after the clock stops.
    fn sample(&self, op: LoadOp, n: usize) -> (Duration, u64) {
        let progs: Vec<Program> = match op {
            LoadOp::VmInterp | LoadOp::VmJit => (0..n).map(|_| self.prog.clone()).collect(),
            LoadOp::Load | LoadOp::Verify | LoadOp::Total => Vec::new(),
        };
        let mut loaded: Vec<Program> = Vec::with_capacity(n);
        let mut proofs: Vec<Option<Verified>> = Vec::with_capacity(n);
        let mut vms: Vec<Vm> = Vec::with_capacity(n);
        let a0 = allocations();
        let t0 = Instant::now();
        match op {
            LoadOp::Load => {
                for _ in 0..n {
                    loaded.push(load(self.name, black_box(&self.elf)));
                }
            }
            LoadOp::Verify => {
                for _ in 0..n {
                    proofs.push(self.verify(black_box(&self.prog)));
                }
            }
            LoadOp::VmInterp | LoadOp::VmJit => {
                let engine = if matches!(op, LoadOp::VmJit) {
                    JIT
                } else {
                    Engine::Interpreter
                };
                for p in progs {
                    vms.push(Vm::new(p, engine.clone()).unwrap_or_else(|e| panic!("{e}")));
                }
            }
            LoadOp::Total => {
                for _ in 0..n {
                    let p = load(self.name, black_box(&self.elf));
                    let trust = self.verify(&p).map_or(Trust::Trusted, Trust::Verified);
                    vms.push(Vm::new(p, Engine::Jit(trust)).unwrap_or_else(|e| panic!("{e}")));
                }
            }
        }
        let elapsed = t0.elapsed();
        let allocs = allocations() - a0;
        drop(black_box(vms));
        drop(black_box(proofs));
        drop(black_box(loaded));
        (elapsed, allocs)
    }

    fn calibrate(&mut self, target: Duration) {
        for (i, op) in LOAD_OPS.into_iter().enumerate() {
            let (one, allocs) = self.sample(op, 1);
            self.allocs[i] = allocs;
            let n = target.as_secs_f64() / one.as_secs_f64().max(1e-9);
            self.batch[i] = (n as usize).clamp(1, 2000);
        }
    }

    fn round(&mut self, first: usize) {
        for k in 0..LOAD_OPS.len() {
            let i = (first + k) % LOAD_OPS.len();
            let n = self.batch[i];
            let (d, _) = self.sample(LOAD_OPS[i], n);
            self.us[i].push(us(d) / n as f64);
        }
    }

    fn med(&self, op: LoadOp) -> f64 {
        median(&self.us[op as usize])
    }

    fn to_json(&self) -> J {
        let jit_only: Vec<f64> = self.us[LoadOp::VmJit as usize]
            .iter()
            .zip(&self.us[LoadOp::VmInterp as usize])
            .map(|(j, i)| j - i)
            .collect();
        J::Obj(vec![
            ("program", J::str(self.name)),
            ("insns", J::Int(self.prog.insn_count() as u64)),
            ("elf_bytes", J::Int(self.elf.len() as u64)),
            ("load_elf_us", J::num(self.med(LoadOp::Load))),
            (
                "verify_us",
                if self.verified.is_ok() {
                    J::num(self.med(LoadOp::Verify))
                } else {
                    J::Null
                },
            ),
            (
                "verifier",
                match &self.verified {
                    Ok(st) => J::Obj(vec![
                        ("min_len", J::Int(self.opts.min_len as u64)),
                        ("processed", J::Int(st.processed as u64)),
                        ("states", J::Int(st.states as u64)),
                    ]),
                    Err(e) => J::Obj(vec![("refused", J::str(e))]),
                },
            ),
            ("vm_new_interpreter_us", J::num(self.med(LoadOp::VmInterp))),
            ("vm_new_jit_us", J::num(self.med(LoadOp::VmJit))),
            ("jit_compile_us", J::num(median(&jit_only))),
            ("load_verify_jit_us", J::num(self.med(LoadOp::Total))),
            (
                "allocations",
                J::Obj(vec![
                    ("load_elf", J::Int(self.allocs[LoadOp::Load as usize])),
                    ("verify", J::Int(self.allocs[LoadOp::Verify as usize])),
                    ("vm_new_jit", J::Int(self.allocs[LoadOp::VmJit as usize])),
                ]),
            ),
        ])
    }
}

// ---- main ----

const VERIFY_NOTE: &str = "ubpf::verify with the filter's guarantees (min_len 14 raw, \
                           20 ip-mode); load_elf covers ELF parsing and the structural \
                           checks, vm(interp) rbpf's verifier and helper registration, \
                           jit = vm(jit) - vm(interp); load+verify+jit is measured as one \
                           operation";

fn print_runs(cases: &[Case], rounds: usize, frames: usize) {
    println!(
        "\nengine: ns per program run, median of {rounds} interleaved rounds \
         ({frames}-frame mix in {ORDERS} random orders, programs and engines \
         interleaved; ip-mode programs run on the IPv4 frames only)"
    );
    let ubpf = cases.iter().any(|c| c.ubpf.is_some());
    println!(
        "{:<22} {:>5} {:>4} {:>8} {:>9} {:>9} {:>8} {:>8}   {:>22}",
        "program",
        "insns",
        "runs",
        "native",
        "ubpf-int",
        "ubpf-jit",
        "interp",
        "jit",
        "x native: ubpf-jit jit"
    );
    let cell = |c: &Case, k: Kind| {
        if c.has(k) {
            format!("{:.2}", c.ns_median(k))
        } else {
            "-".to_owned()
        }
    };
    let ratio = |c: &Case, k: Kind| {
        if c.has(k) {
            format!("{:.2}x", c.ratio(k))
        } else {
            "-".to_owned()
        }
    };
    for c in cases {
        let label = format!("{}{}", c.name, if c.ip_mode { " (ip)" } else { " (raw)" });
        println!(
            "{:<22} {:>5} {:>4} {:>8.2} {:>9} {:>9} {:>8.2} {:>8.2}   {:>10} {:>11}",
            label,
            c.insns,
            c.mems.len(),
            c.ns_median(Kind::Native),
            cell(c, Kind::UbpfInterpreter),
            cell(c, Kind::UbpfJit),
            c.ns_median(Kind::Interpreter),
            c.ns_median(Kind::Jit),
            ratio(c, Kind::UbpfJit),
            ratio(c, Kind::Jit),
        );
    }
    println!(
        "\nratios to native (median of per-round ratios), and without the fixed cost of a run"
    );
    println!(
        "{:<22} {:>9} {:>9} {:>8} {:>8}   {:>24}",
        "program", "ubpf-int", "ubpf-jit", "interp", "jit", "w/o fixed: ubpf-jit jit"
    );
    let base = &cases[0];
    for c in cases {
        let body = |k: Kind| {
            let native_body = c.ns_median(Kind::Native) - base.ns_median(Kind::Native);
            if std::ptr::eq(c, base) || !c.has(k) {
                "-".to_owned()
            } else if native_body < 1.0 {
                "n/m".to_owned()
            } else {
                format!("{:.2}x", c.body_ratio(k, base))
            }
        };
        println!(
            "{:<22} {:>9} {:>9} {:>8} {:>8}   {:>11} {:>12}",
            c.name,
            ratio(c, Kind::UbpfInterpreter),
            ratio(c, Kind::UbpfJit),
            ratio(c, Kind::Interpreter),
            ratio(c, Kind::Jit),
            body(Kind::UbpfJit),
            body(Kind::Jit),
        );
    }
    let fixed = |k: Kind| base.ns_median(k) - base.ns_median(Kind::Native);
    println!(
        "fixed cost of a run ({} minus native): jit {:.2} ns, interpreter {:.2} ns{}",
        base.name,
        fixed(Kind::Jit),
        fixed(Kind::Interpreter),
        if ubpf && base.has(Kind::UbpfJit) {
            format!(
                "; ubpf jit {:.2} ns, ubpf interpreter {:.2} ns",
                fixed(Kind::UbpfJit),
                fixed(Kind::UbpfInterpreter)
            )
        } else {
            String::new()
        }
    );
    println!(
        "w/o fixed: (engine - engine on {}) / (native - native on {}); n/m: native body under 1 ns",
        base.name, base.name
    );
    if !ubpf {
        println!("iovisor/ubpf: not measured (set UBPF_BENCH_IOVISOR_LIB, see run-bench.sh)");
    }
    for (kind, label) in [(Kind::Interpreter, "interpreter"), (Kind::Jit, "JIT")] {
        let i = kind.index();
        let allocs: u64 = cases.iter().map(|c| c.allocs[i]).sum();
        let runs: u64 = cases.iter().map(|c| c.runs[i]).sum();
        println!(
            "heap allocations per run, {label}: {} ({allocs} in {runs} runs)",
            allocs as f64 / runs.max(1) as f64
        );
    }
}

fn print_loads(loads: &[LoadCase], rounds: usize) {
    println!("\nload cost: µs per operation, median of {rounds} interleaved rounds");
    println!(
        "{:<16} {:>5} {:>9} {:>8} {:>11} {:>8} {:>7} {:>17}",
        "program", "insns", "load_elf", "verify", "vm(interp)", "vm(jit)", "jit", "load+verify+jit"
    );
    for l in loads {
        let j = l.to_json();
        let J::Obj(fields) = &j else { continue };
        let get = |k: &str| {
            fields
                .iter()
                .find(|(n, _)| *n == k)
                .and_then(|(_, v)| if let J::Num(x) = v { Some(*x) } else { None })
                .unwrap_or(f64::NAN)
        };
        let verify = match &l.verified {
            Ok(_) => format!("{:.2}", get("verify_us")),
            Err(_) => "refused".to_owned(),
        };
        println!(
            "{:<16} {:>5} {:>9.2} {:>8} {:>11.2} {:>8.2} {:>7.2} {:>17.2}",
            l.name,
            l.prog.insn_count(),
            get("load_elf_us"),
            verify,
            get("vm_new_interpreter_us"),
            get("vm_new_jit_us"),
            get("jit_compile_us"),
            get("load_verify_jit_us"),
        );
    }
    for l in loads {
        if let Err(e) = &l.verified {
            println!("verifier refused {}: {e}", l.name);
        }
    }
    println!("verify: {VERIFY_NOTE}");
}

// ---- verification time of the verifier's corpus ----

/// Compile a C program of the verifier's corpus (`rel` to its directory).
fn compile_corpus(dir: &std::path::Path, rel: &str) -> Vec<u8> {
    let out_dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("ubpf-bench-verifier");
    std::fs::create_dir_all(&out_dir).expect("create output directory");
    let stem = rel.replace("../", "up-").replace('/', "-");
    let obj = out_dir.join(format!("{stem}.o"));
    let clang = std::env::var("CLANG").unwrap_or_else(|_| "clang".to_owned());
    let status = std::process::Command::new(&clang)
        .args(["-O2", "-g", "-target", "bpf", "-c"])
        .arg("-I/usr/include/x86_64-linux-gnu")
        .arg("-I")
        .arg(dir)
        .arg("-I")
        .arg(common::data_dir())
        .arg(dir.join(rel))
        .arg("-o")
        .arg(&obj)
        .status()
        .unwrap_or_else(|e| panic!("cannot run {clang}: {e}"));
    assert!(status.success(), "{clang} failed on {rel}");
    std::fs::read(&obj).expect("read object")
}

/// Time `ubpf::verify` on every program of the verifier's corpus
/// (tests/data/ubpf/verifier/EXPECT), accepted and refused: median of
/// up to 15 runs (at most about 100 ms of runs per program).
fn verifier_corpus() -> J {
    let dir = common::data_dir().join("verifier");
    let text = std::fs::read_to_string(dir.join("EXPECT")).expect("read EXPECT");
    println!("\nverifier corpus: ms per ubpf::verify (median of up to 15 runs)");
    println!(
        "{:<28} {:>4} {:>4} {:>6} {:>9} {:>9}",
        "program", "conv", "min", "insns", "verdict", "ms"
    );
    let mut rows = Vec::new();
    let mut worst: Option<(String, f64)> = None;
    let mut total = 0.0;
    for line in text.lines().map(str::trim) {
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let f: Vec<&str> = line.split_whitespace().collect();
        let (Some(&file), Some(&conv), Some(min)) = (f.first(), f.get(1), f.get(2)) else {
            continue;
        };
        let convention = if conv == "ctx" {
            Convention::Context
        } else {
            Convention::Raw
        };
        let opts = VerifyOptions {
            convention,
            min_len: min.parse().unwrap_or(0),
        };
        let prog = if file.ends_with(".asm") {
            Program::from_bytecode(&common::assemble_file(&dir.join(file)))
        } else {
            Program::load_elf(&compile_corpus(&dir, file), file, None)
        };
        let prog = match prog {
            Ok(p) => p,
            Err(e) => {
                println!("{file:<28} cannot load: {e}");
                continue;
            }
        };
        let mut times = Vec::new();
        let mut spent = Duration::ZERO;
        let mut accepted = false;
        while times.len() < 15 && (times.len() < 3 || spent < Duration::from_millis(100)) {
            let t0 = Instant::now();
            let res = black_box(ubpf::verify(black_box(&prog), &opts));
            let d = t0.elapsed();
            accepted = res.is_ok();
            drop(res);
            spent += d;
            times.push(d.as_secs_f64() * 1e3);
        }
        let ms = median(&times);
        total += ms;
        if worst.as_ref().is_none_or(|(_, w)| ms > *w) {
            worst = Some((file.to_owned(), ms));
        }
        let verdict = if accepted { "accepted" } else { "refused" };
        println!(
            "{:<28} {:>4} {:>4} {:>6} {:>9} {:>9.3}",
            file,
            conv,
            min,
            prog.insn_count(),
            verdict,
            ms
        );
        rows.push(J::Obj(vec![
            ("program", J::str(file)),
            ("convention", J::str(conv)),
            ("min_len", J::Int(opts.min_len as u64)),
            ("insns", J::Int(prog.insn_count() as u64)),
            ("verdict", J::str(verdict)),
            ("verify_ms", J::num(ms)),
        ]));
    }
    if let Some((file, ms)) = &worst {
        println!(
            "verifier corpus: {} programs, {total:.2} ms in all, worst {file} {ms:.3} ms",
            rows.len()
        );
    }
    J::Arr(rows)
}

/// A reference program: name, ip-mode, native equivalent.
type Source = (&'static str, bool, fn(&[u8]) -> u64);

/// The cases of `bench_map.bpf.c`'s programs (in the order of
/// [`maps::SPECS`]), their maps filled by the host, verdicts and hits
/// checked: each with the number of entries filled and its verdicts.
fn map_cases(mix: &[Vec<u8>]) -> Vec<(Case, usize, Vec<u64>)> {
    let elf = compile("bench_map");
    maps::SPECS
        .iter()
        .map(|spec| {
            let prog = Program::load_elf(&elf, "bench_map", Some(spec.function))
                .unwrap_or_else(|e| panic!("{e}"));
            let mut case = Case::new(spec.function, &prog, true, spec.verdict, mix, None);
            case.native_timed = false;
            let entries = maps::fill(&case, spec);
            let verdicts = case.check_verdicts();
            maps::check_hits(&case, spec, &verdicts, 1);
            (case, entries, verdicts)
        })
        .collect()
}

fn main() {
    let settings = Settings::from_env();
    let rounds = settings.rounds;
    let mix = packets::mix();

    let sources: [Source; 5] = [
        ("bench_pass", false, native::pass),
        ("ip_dst", true, native::ip_dst),
        ("port_allow_eth", false, native::port_allow_eth),
        ("bench_parser", false, native::parser),
        ("bench_4k", false, native::k4),
    ];
    let ubpf: Option<&'static iovisor::Lib> = match iovisor::Lib::from_env() {
        Some(Ok(lib)) => Some(Box::leak(Box::new(lib))),
        Some(Err(e)) => panic!("UBPF_BENCH_IOVISOR_LIB: {e}"),
        None => None,
    };
    let mut cases = Vec::new();
    let mut loads = Vec::new();
    let mut verdicts = Vec::new();
    for (name, ip_mode, f) in sources {
        let elf = compile(name);
        let mut case = Case::new(name, &load(name, &elf), ip_mode, f, &mix, ubpf);
        verdicts.push(case.check_verdicts());
        cases.push(case);
        loads.push(LoadCase::new(name, elf, ip_mode));
    }
    // the map programs run in the same rounds, after the reference ones
    let refs = cases.len();
    let mut entries = Vec::new();
    for (case, n, v) in map_cases(&mix) {
        cases.push(case);
        entries.push(n);
        verdicts.push(v);
    }
    eprintln!(
        "engine bench: {} frames, verdicts agree on all programs{}",
        mix.len(),
        if ubpf.is_some() {
            " (with iovisor/ubpf)"
        } else {
            ""
        }
    );
    if !settings.bench {
        // test mode: one pass per engine, no allocation, no timing
        for c in &mut cases {
            for kind in KINDS {
                if c.has(kind) {
                    c.step(kind, 0, 0);
                }
            }
            for kind in [Kind::Interpreter, Kind::Jit] {
                assert_eq!(c.allocs[kind.index()], 0, "{}: runs allocated", c.name);
            }
        }
        for ((c, spec), v) in cases[refs..]
            .iter()
            .zip(&maps::SPECS)
            .zip(&verdicts[refs..])
        {
            maps::check_hits(c, spec, v, 2);
        }
        eprintln!("engine bench: test mode (cargo bench for figures): checks passed");
        return;
    }

    for c in &mut cases {
        c.calibrate(settings.sample);
    }
    measure_runs(&mut cases, rounds);

    for l in &mut loads {
        l.calibrate(Duration::from_millis(2));
    }
    for r in 0..rounds {
        for l in &mut loads {
            l.round(r);
        }
    }

    print_runs(&cases[..refs], rounds, mix.len());
    let map_rows: Vec<maps::Row> = cases[refs..]
        .iter()
        .zip(&maps::SPECS)
        .zip(entries.iter().zip(&verdicts[refs..]))
        .map(|((c, spec), (&n, v))| maps::Row::new(c, spec, n, v))
        .collect();
    maps::print(&map_rows, rounds);
    print_loads(&loads, rounds);
    let corpus = verifier_corpus();

    if let Some(path) = settings.json {
        let doc = J::Obj(vec![
            ("frames", J::Int(mix.len() as u64)),
            ("rounds", J::Int(rounds as u64)),
            (
                "frame_sizes",
                J::Arr(mix.iter().map(|f| J::Int(f.len() as u64)).collect()),
            ),
            (
                "runs",
                J::Arr(
                    cases[..refs]
                        .iter()
                        .zip(&verdicts)
                        .map(|(c, v)| c.to_json(v, &cases[0]))
                        .collect(),
                ),
            ),
            ("map_lookup", maps::to_json(&map_rows)),
            (
                "load",
                J::Arr(loads.iter().map(LoadCase::to_json).collect()),
            ),
            ("verify", J::str(VERIFY_NOTE)),
            ("verifier_corpus", corpus),
        ]);
        let mut out = String::new();
        doc.write(&mut out, 0);
        out.push('\n');
        std::fs::write(&path, out)
            .unwrap_or_else(|e| panic!("cannot write {}: {e}", path.display()));
        eprintln!("engine bench: results in {}", path.display());
    }
}
