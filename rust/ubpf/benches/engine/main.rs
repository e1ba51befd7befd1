// SPDX-License-Identifier: GPL-2.0-or-later

//! Engine benchmark: cost per packet of the interpreter and the JIT against
//! the same logic in plain Rust, load and JIT-compile cost, and heap
//! allocations per packet.
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
mod json;
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

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Interpreter,
    Jit,
    Native,
}

const KINDS: [Kind; 3] = [Kind::Interpreter, Kind::Jit, Kind::Native];

impl Kind {
    const fn index(self) -> usize {
        match self {
            Self::Interpreter => 0,
            Self::Jit => 1,
            Self::Native => 2,
        }
    }
}

/// One reference program with its three implementations and the memory
/// it runs on for each frame of the mix.
struct Case {
    name: &'static str,
    ip_mode: bool,
    insns: usize,
    interp: Vm,
    jit: Vm,
    native: fn(&[u8]) -> u64,
    /// program memory of each frame the filter runs the program on
    mems: Vec<Vec<u8>>,
    iters: [u64; 3],
    /// ns per run, one entry per round
    ns: [Vec<f64>; 3],
    /// heap allocations counted while timing, per engine
    allocs: [u64; 3],
    runs: [u64; 3],
}

/// Time `iters` passes of `f` over `mems`; also count allocations.
fn time_runs(
    mems: &mut [Vec<u8>],
    iters: u64,
    mut f: impl FnMut(&mut [u8]) -> u64,
) -> (Duration, u64) {
    let a0 = allocations();
    let t0 = Instant::now();
    let mut acc = 0u64;
    for _ in 0..iters {
        for m in mems.iter_mut() {
            acc = acc.wrapping_add(f(black_box(&mut m[..])));
        }
    }
    let elapsed = t0.elapsed();
    let a1 = allocations();
    black_box(acc);
    (elapsed, a1 - a0)
}

fn run_vm(vm: &mut Vm, m: &mut [u8]) -> u64 {
    vm.run(m).unwrap_or(u64::MAX)
}

impl Case {
    fn new(
        name: &'static str,
        elf: &[u8],
        ip_mode: bool,
        native: fn(&[u8]) -> u64,
        mix: &[Vec<u8>],
    ) -> Self {
        let prog = load(name, elf);
        let mems = mix
            .iter()
            .filter_map(|f| {
                let mut f = f.clone();
                program_memory(&mut f, ip_mode).map(|m| m.to_vec())
            })
            .collect();
        Self {
            name,
            ip_mode,
            insns: prog.insn_count(),
            interp: vm(&prog, Engine::Interpreter),
            jit: vm(&prog, JIT),
            native,
            mems,
            iters: [1; 3],
            ns: [Vec::new(), Vec::new(), Vec::new()],
            allocs: [0; 3],
            runs: [0; 3],
        }
    }

    /// Verdict of each engine on each frame: they must all agree.
    fn check_verdicts(&mut self) -> Vec<u64> {
        let mut out = Vec::new();
        for m in &self.mems {
            let mut a = m.clone();
            let mut b = m.clone();
            let vi = self
                .interp
                .run(&mut a)
                .unwrap_or_else(|e| panic!("{}: interpreter: {e}", self.name));
            let vj = self
                .jit
                .run(&mut b)
                .unwrap_or_else(|e| panic!("{}: jit: {e}", self.name));
            let vn = (self.native)(m);
            assert!(
                vi == vj && vj == vn,
                "{}: verdicts differ (interpreter {vi}, JIT {vj}, native {vn}) on {m:02x?}",
                self.name
            );
            out.push(vn);
        }
        out
    }

    fn sample(&mut self, kind: Kind, iters: u64) -> (Duration, u64) {
        let native = self.native;
        match kind {
            Kind::Interpreter => {
                let vm = &mut self.interp;
                time_runs(&mut self.mems, iters, |m| run_vm(vm, m))
            }
            Kind::Jit => {
                let vm = &mut self.jit;
                time_runs(&mut self.mems, iters, |m| run_vm(vm, m))
            }
            Kind::Native => time_runs(&mut self.mems, iters, |m| native(m)),
        }
    }

    /// Warm up, and find the number of passes over the mix per sample.
    fn calibrate(&mut self, target: Duration) {
        for kind in KINDS {
            let mut iters = 1u64;
            loop {
                let (d, _) = self.sample(kind, iters);
                if d >= target / 2 || iters >= 1 << 30 {
                    let scale = target.as_secs_f64() / d.as_secs_f64().max(1e-9);
                    let n = (iters as f64 * scale).clamp(1.0, 1e9);
                    self.iters[kind.index()] = n as u64;
                    break;
                }
                iters *= 2;
            }
        }
    }

    fn round(&mut self, order: &[Kind]) {
        for &kind in order {
            let i = kind.index();
            let iters = self.iters[i];
            let (d, allocs) = self.sample(kind, iters);
            let runs = iters * self.mems.len() as u64;
            self.ns[i].push(d.as_secs_f64() * 1e9 / runs as f64);
            self.allocs[i] += allocs;
            self.runs[i] += runs;
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
            J::Obj(vec![
                ("interpreter", J::num(f(Kind::Interpreter))),
                ("jit", J::num(f(Kind::Jit))),
                ("native", J::num(f(Kind::Native))),
            ])
        };
        J::Obj(vec![
            ("program", J::str(self.name)),
            ("mode", J::str(if self.ip_mode { "ip" } else { "raw" })),
            ("insns", J::Int(self.insns as u64)),
            ("runs_per_pass", J::Int(self.mems.len() as u64)),
            ("dropped_per_pass", J::Int(dropped as u64)),
            ("ns_per_run_median", per(&|k| self.ns_median(k))),
            ("ns_per_run_iqr_rel", per(&|k| self.spread(k))),
            ("jit_over_native", J::num(self.ratio(Kind::Jit))),
            (
                "interpreter_over_native",
                J::num(self.ratio(Kind::Interpreter)),
            ),
            (
                "jit_over_native_without_fixed_cost",
                J::num(self.body_ratio(Kind::Jit, base)),
            ),
            (
                "interpreter_over_native_without_fixed_cost",
                J::num(self.body_ratio(Kind::Interpreter, base)),
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

const MAP_PLACEHOLDER: &str = "map lookup: n/a (maps not implemented yet)";
const VERIFY_NOTE: &str = "ubpf::verify with the filter's guarantees (min_len 14 raw, \
                           20 ip-mode); load_elf covers ELF parsing and the structural \
                           checks, vm(interp) rbpf's verifier and helper registration, \
                           jit = vm(jit) - vm(interp); load+verify+jit is measured as one \
                           operation";

fn print_runs(cases: &[Case], rounds: usize, frames: usize) {
    println!(
        "\nengine: ns per program run, median of {rounds} interleaved rounds \
         ({frames}-frame mix; ip-mode programs run on the IPv4 frames only)"
    );
    println!(
        "{:<22} {:>5} {:>4} {:>8} {:>7} {:>7} {:>10} {:>13} {:>16}",
        "program",
        "insns",
        "runs",
        "interp",
        "jit",
        "native",
        "jit/native",
        "interp/native",
        "(without fixed)"
    );
    let base = &cases[0];
    for c in cases {
        let label = format!("{}{}", c.name, if c.ip_mode { " (ip)" } else { " (raw)" });
        let native_body = c.ns_median(Kind::Native) - base.ns_median(Kind::Native);
        let body = if std::ptr::eq(c, base) {
            "-".to_owned()
        } else if native_body < 1.0 {
            "n/m".to_owned()
        } else {
            format!(
                "{:.2}x / {:.1}x",
                c.body_ratio(Kind::Jit, base),
                c.body_ratio(Kind::Interpreter, base)
            )
        };
        println!(
            "{:<22} {:>5} {:>4} {:>8.1} {:>7.1} {:>7.1} {:>9.2}x {:>12.2}x {:>16}",
            label,
            c.insns,
            c.mems.len(),
            c.ns_median(Kind::Interpreter),
            c.ns_median(Kind::Jit),
            c.ns_median(Kind::Native),
            c.ratio(Kind::Jit),
            c.ratio(Kind::Interpreter),
            body,
        );
    }
    println!(
        "(without fixed): jit/native and interp/native after subtracting each engine's \
         bench_pass time (the fixed cost of a run); n/m: native body under 1 ns"
    );
    println!("{MAP_PLACEHOLDER}");
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

/// A reference program: name, ip-mode, native equivalent.
type Source = (&'static str, bool, fn(&[u8]) -> u64);

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
    let mut cases = Vec::new();
    let mut loads = Vec::new();
    let mut verdicts = Vec::new();
    for (name, ip_mode, f) in sources {
        let elf = compile(name);
        let mut case = Case::new(name, &elf, ip_mode, f, &mix);
        verdicts.push(case.check_verdicts());
        cases.push(case);
        loads.push(LoadCase::new(name, elf, ip_mode));
    }
    eprintln!(
        "engine bench: {} frames, verdicts agree on all programs",
        mix.len()
    );
    if !settings.bench {
        // test mode: one pass per engine, no allocation, no timing
        for c in &mut cases {
            c.round(&KINDS);
            for kind in [Kind::Interpreter, Kind::Jit] {
                assert_eq!(c.allocs[kind.index()], 0, "{}: runs allocated", c.name);
            }
        }
        eprintln!("engine bench: test mode (cargo bench for figures): checks passed");
        return;
    }

    for c in &mut cases {
        c.calibrate(settings.sample);
    }
    for r in 0..rounds {
        let order: Vec<Kind> = (0..3).map(|k| KINDS[(r + k) % 3]).collect();
        for c in &mut cases {
            c.round(&order);
        }
    }

    for l in &mut loads {
        l.calibrate(Duration::from_millis(2));
    }
    for r in 0..rounds {
        for l in &mut loads {
            l.round(r);
        }
    }

    print_runs(&cases, rounds, mix.len());
    print_loads(&loads, rounds);

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
                    cases
                        .iter()
                        .zip(&verdicts)
                        .map(|(c, v)| c.to_json(v, &cases[0]))
                        .collect(),
                ),
            ),
            ("map_lookup", J::str(MAP_PLACEHOLDER)),
            (
                "load",
                J::Arr(loads.iter().map(LoadCase::to_json).collect()),
            ),
            ("verify", J::str(VERIFY_NOTE)),
        ]);
        let mut out = String::new();
        doc.write(&mut out, 0);
        out.push('\n');
        std::fs::write(&path, out)
            .unwrap_or_else(|e| panic!("cannot write {}: {e}", path.display()));
        eprintln!("engine bench: results in {}", path.display());
    }
}
