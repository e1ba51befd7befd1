// SPDX-License-Identifier: GPL-2.0-or-later

//! The verifier: proves that a program stays within the memory it is
//! given, never reads an uninitialised register or stack byte, and
//! terminates.  Only proven programs may run on the JIT unchecked
//! ([`crate::Trust::Verified`]).
//!
//! It is an abstract interpreter over the program's paths: every register
//! has a type (number, packet pointer, stack pointer, context pointer,
//! map handle, map value pointer, map value pointer or NULL) and a value
//! range (unsigned and signed bounds, known bits); every
//! 8-byte stack slot remembers which bytes were written and which
//! register was spilled into it.  Packet accesses are allowed when proven
//! in bounds, from comparisons of packet pointers against `data_end`
//! (context convention) or of offsets against the length in r2 (raw
//! convention), and from the minimum length the caller guarantees
//! ([`VerifyOptions::min_len`]).
//!
//! States are compared at jump targets: a state contained in one already
//! explored completely is not explored again; when too many states meet
//! at a point of loop-free code they are joined.  Loops are simulated with
//! exact values until they exit: a loop whose state repeats (it cannot be
//! shown to progress) or that runs past the budget of
//! [`MAX_PROCESSED`] simulated instructions is rejected, naming its back
//! edge.  bpf-to-bpf calls are analysed at each call with the caller's
//! argument state.
//!
//! # Maps
//!
//! An `lddw` of a map gives the map's handle, which only map helpers
//! take; one of global data (`.data`, `.bss`, `.rodata`) a pointer into
//! the section's single value.  `bpf_map_lookup_elem` returns a value
//! pointer or NULL: comparing it (or a copy) against 0 tells which, and
//! only a pointer known not to be NULL may be dereferenced, within the
//! map's value size.  Keys and values given to the helpers must be
//! readable and initialised for the map's key and value sizes; map value
//! pointers may be spilled to the stack but not stored into the packet or
//! a map value.  A proof holds for the program's code and its maps'
//! sizes.
//!
//! # Conventions
//!
//! - [`Convention::Raw`]: r1 = packet start, r2 = packet length (the
//!   original series' `int prog(void *pkt, unsigned long len)`).
//! - [`Convention::Context`]: r1 points to a context block
//!   `struct ubpf_md { __u64 data; __u64 data_end; }` (header
//!   `tests/data/ubpf/verifier/ubpf_md.h`) or the kernel's `struct
//!   xdp_md`; [`Convention::Tc`] and [`Convention::Socket`]: r1 points to
//!   the kernel's `struct __sk_buff`.  The fields of each are described
//!   in [`crate::progtype`]; the load-time pass of `crate::context`
//!   rewrites context accesses into accesses of the engine's context
//!   block for verified and unverified programs alike, and the verifier
//!   checks that its own view of every context access agrees with that
//!   pass (a pointer field gives a packet pointer, a scalar field a
//!   number within the field's range; stores only to writable fields).

mod cfg;
mod domain;
mod exec;
mod precise;
mod state;

use std::fmt::Write;
use std::sync::Arc;

use crate::check::{Insn, INSN_SIZE, LDDW};
use crate::error::{Error, ErrorKind};
use crate::maps::{MapDef, MapRef};
use crate::Program;

use cfg::refill;
use exec::{Prog, Step};
use state::{Packed, State};

/// How the program receives the packet.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Convention {
    /// r1 = packet start, r2 = packet length.
    #[default]
    Raw,
    /// XDP: r1 = pointer to `struct ubpf_md { __u64 data, data_end; }`
    /// or the kernel's `struct xdp_md` (see [`crate::progtype`]).
    Context,
    /// tc (`sched_cls`): r1 = pointer to the kernel's `struct __sk_buff`.
    Tc,
    /// Socket filter: r1 = pointer to `struct __sk_buff` (no packet
    /// pointers; `ld_abs`/`ld_ind` and `bpf_skb_load_bytes` read it).
    Socket,
}

/// What the verifier may assume.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct VerifyOptions {
    /// How the program receives the packet.
    pub convention: Convention,
    /// Bytes every packet is guaranteed to have (the filter's: 20 in
    /// ip-mode, 14 in raw mode).  The engine refuses shorter packets for
    /// verified programs.
    pub min_len: usize,
}

/// Figures of one verification.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct VerifyStats {
    /// Instructions simulated.
    pub processed: usize,
    /// States stored at prune points.
    pub states: usize,
    /// Paths cut short because an explored state contained them.
    pub pruned: usize,
    /// States joined.
    pub joins: usize,
    /// Whether the program has loops (backward jumps).
    pub loops: bool,
    /// Work done, in units of about a nanosecond: instructions simulated
    /// and state comparisons, weighted by what each costs (the budget is
    /// `MAX_WORK`).
    pub work: u64,
}

/// Proof that a program passed the verifier: the only way to obtain one
/// is [`verify`].  It names the program (its bytecode), the convention
/// and the minimum packet length it was proven for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Verified {
    code: Arc<[u8]>,
    /// The maps the proof assumes (without initial contents) and the
    /// `lddw`s that refer to them.
    maps: Arc<[MapDef]>,
    map_refs: Arc<[MapRef]>,
    /// Per map: whether programs may write and read its values.
    map_access: Arc<[(bool, bool)]>,
    exec: Arc<[u8]>,
    opts: VerifyOptions,
    stats: VerifyStats,
    /// Proofs of the program's tail-call targets
    /// ([`Program::tail_targets`]), under the same options.
    targets: Arc<[Option<Verified>]>,
    /// With bpf-to-bpf calls: each function's first instruction and the
    /// stack bytes its frame takes (see [`frames`]).
    frames: Arc<[(usize, u16)]>,
}

impl Verified {
    /// The convention the program was verified for.
    pub const fn convention(&self) -> Convention {
        self.opts.convention
    }

    /// The minimum packet length the proof assumes.
    pub const fn min_len(&self) -> usize {
        self.opts.min_len
    }

    /// Verification figures.
    pub const fn stats(&self) -> &VerifyStats {
        &self.stats
    }

    /// The proof of tail-call target `i` (a program index of the object).
    pub(crate) fn target(&self, i: usize) -> Option<&Self> {
        self.targets.get(i)?.as_ref()
    }

    /// Whether the proof is about `prog` (its code and its maps, and its
    /// tail-call targets).
    pub fn proves(&self, prog: &Program) -> bool {
        self.targets.len() == prog.tail_targets().len()
            && self
                .targets
                .iter()
                .zip(prog.tail_targets())
                .all(|(v, t)| match (v, t) {
                    (Some(v), Some(t)) => v.proves(t),
                    (None, None) => true,
                    _ => false,
                })
            && *self.code == *prog.bytecode()
            && *self.map_refs == *prog.map_refs()
            && self.map_access.len() == prog.maps().len()
            && prog
                .maps()
                .iter()
                .zip(prog.map_extras())
                .zip(self.map_access.iter())
                .all(|((d, e), a)| crate::maps::program_access(d, e) == *a)
            && self.maps.len() == prog.maps().len()
            && self
                .maps
                .iter()
                .zip(prog.maps())
                .all(|(a, b)| *a == shape(b))
    }

    /// The code to execute (context loads rewritten).
    pub(crate) fn exec_code(&self) -> &[u8] {
        &self.exec
    }

    /// With bpf-to-bpf calls: each function's first instruction and the
    /// stack bytes its frame takes (empty without calls).
    pub(crate) fn frames(&self) -> &[(usize, u16)] {
        &self.frames
    }
}

/// What a proof assumes of a map: all but its initial contents.
fn shape(d: &MapDef) -> MapDef {
    MapDef {
        name: d.name.clone(),
        kind: d.kind,
        key_size: d.key_size,
        value_size: d.value_size,
        max_entries: d.max_entries,
        initial: None,
    }
}

/// Most instructions simulated before the verifier gives up.
pub const MAX_PROCESSED: usize = 1_000_000;
/// Cost of simulating one instruction, in work units (about a nanosecond
/// each on the 2-core x86-64 machine they were measured on: fits of the
/// verification times of the verifier and kernel corpora against the
/// instructions simulated, the states compared and the stack slots those
/// comparisons looked at, rounded up to the costliest shapes: symbol-heavy
/// comparisons for `WORK_COMPARE`, full stack frames for `WORK_SLOT`).
const WORK_INSN: u64 = 150;
/// Cost of comparing a path's state with a stored one...
const WORK_COMPARE: u64 = 50;
/// ... plus this much per stack slot the comparison looked at.
const WORK_SLOT: u64 = 32;
/// Most work before the verifier gives up: about 30 ms whatever the
/// program's shape (deterministic, unlike the time backstop).
const MAX_WORK: u64 = 30_000_000;
/// Most time spent verifying one program, a backstop for slow machines:
/// QEMU verifies with its main loop held.  Builds with debug assertions
/// (tests) run about ten times slower and get ten times longer.
const MAX_TIME: std::time::Duration = if cfg!(debug_assertions) {
    std::time::Duration::from_millis(2500)
} else {
    std::time::Duration::from_millis(250)
};
/// Most states stored per instruction.
const MAX_STATES: usize = 64;
/// Join states of loop-free code beyond this many per instruction.
const JOIN_AT: usize = 8;
/// A path stores its state at a prune point only after simulating this
/// many instructions since it last did (it is compared with the stored
/// states at every prune point).
const STORE_EVERY: u32 = 8;
/// Most paths waiting to be explored.
const JOIN_EVERY: u32 = 1;
const MAX_PENDING: usize = 65_536;

/// Verify `program` under `opts`, and its tail-call targets
/// ([`Program::tail_targets`]).
pub fn verify(program: &Program, opts: &VerifyOptions) -> Result<Verified, Error> {
    let mut v = run(program, opts, None)?;
    v.targets = targets(program, opts)?;
    Ok(v)
}

/// Proofs of the tail-call targets of `program`.
fn targets(program: &Program, opts: &VerifyOptions) -> Result<Arc<[Option<Verified>]>, Error> {
    program
        .tail_targets()
        .iter()
        .map(|t| t.as_ref().map(|t| run(t, opts, None)).transpose())
        .collect()
}

/// [`verify`], appending a log of every simulated instruction with the
/// abstract state before it to `log`.
pub fn verify_with_log(
    program: &Program,
    opts: &VerifyOptions,
    log: &mut String,
) -> Result<Verified, Error> {
    let mut v = run(program, opts, Some(log))?;
    v.targets = targets(program, opts)?;
    Ok(v)
}

/// The checkpoints stored at one instruction, oldest first: most prune
/// points hold one, kept without an allocation of its own.
#[derive(Default)]
enum At {
    #[default]
    Empty,
    One([usize; 1]),
    Many(Vec<usize>),
}

impl At {
    fn ids(&self) -> &[usize] {
        match self {
            Self::Empty => &[],
            Self::One(one) => one,
            Self::Many(v) => v,
        }
    }

    fn push(&mut self, id: usize) {
        *self = match std::mem::take(self) {
            Self::Empty => Self::One([id]),
            Self::One([a]) => Self::Many(vec![a, id]),
            Self::Many(mut v) => {
                v.push(id);
                Self::Many(v)
            }
        };
    }

    fn remove(&mut self, k: usize) {
        match self {
            Self::Empty => {}
            Self::One(_) => *self = Self::Empty,
            Self::Many(v) => {
                v.remove(k);
            }
        }
    }
}

struct Checkpoint {
    /// Its registers are in [`Driver::kept`].
    st: Packed,
    parent: Option<usize>,
    pending: u32,
    complete: bool,
    /// Created on a path that took a backward jump.
    looped: bool,
    /// Locations whose numbers the exploration from here relied on (see
    /// [`precise`]); final once `complete`.
    precise: precise::Mask,
    /// The path's dependencies on the parent checkpoint when this one
    /// was stored (in [`Driver::kept_deps`]).
    up: precise::PackedDeps,
}

struct Path<S = Box<State>, D = precise::Deps> {
    insn: usize,
    st: S,
    cp: Option<usize>,
    looped: bool,
    back: Option<(usize, usize)>,
    /// Instructions simulated since the path last stored a state.
    since: u32,
    /// What its numbers depend on in checkpoint `cp`.
    deps: D,
}

/// A path waiting to be explored (its registers are in
/// [`Driver::waiting`], its dependencies in [`Driver::waiting_deps`]).
type Waiting = Path<Packed, precise::PackedDeps>;

enum Fail {
    At(usize, exec::Reject),
    Loop {
        back: (usize, usize),
        detail: String,
    },
    Complex(usize, String),
}

/// Memory one verification leaves to the next on the same thread: a
/// large program keeps hundreds of states at once, and fresh pages from
/// the system for them each time would cost more than simulating them.
#[derive(Default)]
struct Scratch {
    cps: Vec<Checkpoint>,
    kept: Vec<state::Reg>,
    waiting: Vec<state::Reg>,
    kept_deps: Vec<precise::Mask>,
    waiting_deps: Vec<precise::Mask>,
    stack: Vec<Waiting>,
    at: Vec<At>,
    back_count: Vec<u32>,
    #[allow(clippy::vec_box)]
    spare: Vec<Box<State>>,
    code: Vec<Insn>,
    cfg: cfg::Memory,
    access: Vec<u8>,
    callx: Vec<(usize, i32)>,
    seen: Vec<bool>,
    stack_use: Vec<std::cell::Cell<u16>>,
    map_lddw: Vec<(usize, (u16, Option<u32>))>,
}

/// The decoded program, given back to the scratch memory after the
/// verification (which borrows it).
struct Code(Vec<Insn>);

impl Drop for Code {
    fn drop(&mut self) {
        let code = std::mem::take(&mut self.0);
        if code.capacity() * std::mem::size_of::<Insn>() <= SCRATCH_KEEP {
            let _ = SCRATCH.try_with(|c| {
                if let Ok(mut c) = c.try_borrow_mut() {
                    c.code = code;
                }
            });
        }
    }
}

/// Scratch memory is given back to the system after a verification
/// that needed more than this many bytes of it.
const SCRATCH_KEEP: usize = 4 << 20;

thread_local! {
    static SCRATCH: std::cell::RefCell<Scratch> = std::cell::RefCell::default();
}

impl Drop for Driver<'_> {
    fn drop(&mut self) {
        use std::mem::{size_of, take};
        let mut s = Scratch {
            cps: take(&mut self.cps),
            kept: take(&mut self.kept),
            waiting: take(&mut self.waiting),
            kept_deps: take(&mut self.kept_deps),
            waiting_deps: take(&mut self.waiting_deps),
            stack: take(&mut self.stack),
            at: take(&mut self.at),
            back_count: take(&mut self.back_count),
            spare: take(&mut self.prog.spare),
            code: Vec::new(),
            cfg: take(&mut self.cfg).into_memory(),
            access: take(&mut self.prog.access),
            callx: take(&mut self.prog.callx),
            seen: take(&mut self.prog.seen),
            stack_use: take(&mut self.prog.stack_use),
            map_lddw: take(&mut self.prog.map_lddw),
        };
        let bytes = s.cps.capacity() * size_of::<Checkpoint>()
            + (s.kept.capacity() + s.waiting.capacity()) * size_of::<state::Reg>()
            + (s.kept_deps.capacity() + s.waiting_deps.capacity()) * size_of::<precise::Mask>()
            + s.stack.capacity() * size_of::<Waiting>()
            + s.at.capacity() * size_of::<At>()
            + s.back_count.capacity() * size_of::<u32>()
            + s.spare.len() * size_of::<State>()
            + s.access.capacity()
            + s.seen.capacity()
            + s.stack_use.capacity() * size_of::<std::cell::Cell<u16>>()
            + s.callx.capacity() * size_of::<(usize, i32)>()
            + s.map_lddw.capacity() * size_of::<(usize, (u16, Option<u32>))>()
            + s.cfg.bytes();
        if bytes > SCRATCH_KEEP {
            return;
        }
        s.cps.clear();
        s.kept.clear();
        s.waiting.clear();
        s.kept_deps.clear();
        s.waiting_deps.clear();
        s.stack.clear();
        s.at.clear();
        s.back_count.clear();
        let _ = SCRATCH.try_with(|c| {
            if let Ok(mut c) = c.try_borrow_mut() {
                // the program's code comes back after the driver (see Code)
                s.code = take(&mut c.code);
                *c = s;
            }
        });
    }
}

struct Driver<'a> {
    prog: Prog<'a>,
    cfg: cfg::Cfg,
    cps: Vec<Checkpoint>,
    /// The registers of the checkpoints.
    kept: Vec<state::Reg>,
    /// Those of the paths waiting to be explored (a stack, as the paths).
    waiting: Vec<state::Reg>,
    /// The dependencies of the checkpoints' registers.
    kept_deps: Vec<precise::Mask>,
    /// Those of the paths waiting (a stack).
    waiting_deps: Vec<precise::Mask>,
    at: Vec<At>,
    back_count: Vec<u32>,
    /// Memory for the paths waiting to be explored.
    stack: Vec<Waiting>,
    stats: VerifyStats,
    log: Option<&'a mut String>,
    disasm: Vec<String>,
    work: u64,
    started: std::time::Instant,
    /// Whether precision is tracked (programs without bpf-to-bpf calls);
    /// otherwise states are compared exactly.
    track: bool,
    /// Scratch space of state comparisons.
    symmap: state::SymMap,
}

impl Driver<'_> {
    /// A path ended: release its checkpoint chain.
    fn finish(&mut self, mut cp: Option<usize>) {
        while let Some(c) = cp {
            let k = &mut self.cps[c];
            k.pending -= 1;
            if k.pending > 0 {
                return;
            }
            k.complete = true;
            cp = k.parent;
        }
    }

    /// The numbers at `mask` of checkpoint `cp` were used: mark them
    /// precise there and, through what they were computed from, in the
    /// checkpoints before it.
    fn mark(&mut self, mut cp: Option<usize>, mut mask: precise::Mask) {
        while let Some(c) = cp {
            let k = &mut self.cps[c];
            let new = mask & !k.precise;
            if new == 0 {
                return;
            }
            k.precise |= new;
            mask = k.up.of(&self.kept_deps, new);
            cp = k.parent;
        }
    }

    /// Forget the registers dead where `p` is.
    fn forget_dead(&self, p: &mut Path) {
        let live = self.cfg.live[p.insn];
        for r in 0..10 {
            if live & (1 << r) == 0 {
                p.st.regs[r] = state::Reg::Uninit;
            }
        }
    }

    /// At a prune point: whether the path goes on.
    fn visit(&mut self, p: &mut Path) -> Result<bool, Fail> {
        self.forget_dead(p);
        p.st.gc();
        for &c in self.at[p.insn].ids() {
            let k = &self.cps[c];
            // a complete exploration's proof is final: only the numbers
            // it relied on need to be within its own
            let mask = (k.complete && self.track).then_some(k.precise);
            let inside = p.st.within(&k.st, &self.kept, mask, &mut self.symmap);
            self.work += WORK_COMPARE + WORK_SLOT * self.symmap.slots;

            if !inside {
                continue;
            }
            if k.complete {
                self.stats.pruned += 1;
                // what the pruned path would have relied on
                if let Some(m) = mask {
                    let used = p.deps.of(m);
                    self.mark(p.cp, used);
                }
                self.finish(p.cp);
                return Ok(false);
            }
            // an unfinished state is one of this path's ancestors
            let back = p.back.unwrap_or((p.insn, p.insn));
            return Err(Fail::Loop {
                back,
                detail: "its state repeats: no progress towards an exit can be shown".to_owned(),
            });
        }
        let n = self.at[p.insn].ids().len();
        if n >= JOIN_AT {
            // never join states of different loop iterations: that would
            // lose the loop's counter; states of loops are joined only
            // with states holding the same constants (the same iteration)
            let mut other = self.prog.spare_state();
            let partner = self.at[p.insn].ids().iter().rev().find(|&&c| {
                let k = &self.cps[c];
                k.complete && {
                    k.st.unpack(&self.kept, &mut other);
                    !p.looped && !k.looped || p.st.same_constants(&other)
                }
            });
            if partner.is_some() {
                if let Some(j) = p.st.join(&other) {
                    self.stats.joins += 1;
                    *p.st = j;
                }
            }
            self.prog.recycle(other);
        }
        if p.since < STORE_EVERY && !(self.cfg.join[p.insn] && p.since >= JOIN_EVERY) {
            return Ok(true);
        }
        p.since = 0;
        if n >= MAX_STATES {
            // make room: forget the oldest state whose exploration is
            // complete (fewer stored states only prune less)
            match self.at[p.insn]
                .ids()
                .iter()
                .position(|&c| self.cps[c].complete)
            {
                Some(k) => {
                    self.at[p.insn].remove(k);
                }
                None => return Ok(true),
            }
        }
        let id = self.cps.len();
        let up = if self.track {
            std::mem::replace(&mut p.deps, precise::Deps::identity(&p.st))
        } else {
            precise::Deps::default()
        };
        self.cps.push(Checkpoint {
            st: Packed::new(&p.st, &mut self.kept),
            parent: p.cp,
            pending: 1,
            complete: false,
            looped: p.looped,
            precise: 0,
            up: up.pack(&mut self.kept_deps),
        });
        self.at[p.insn].push(id);
        self.stats.states += 1;
        p.cp = Some(id);
        Ok(true)
    }

    /// Keep `p` for later.
    fn wait(&mut self, p: Path) -> Waiting {
        let w = Path {
            insn: p.insn,
            st: Packed::new(&p.st, &mut self.waiting),
            cp: p.cp,
            looped: p.looped,
            back: p.back,
            since: p.since,
            deps: p.deps.pack(&mut self.waiting_deps),
        };
        self.prog.recycle(p.st);
        w
    }

    /// Take up the path last kept for later.
    fn resume(&mut self, w: Waiting) -> Path {
        let mut st = self.prog.spare_state();
        w.st.unpack(&self.waiting, &mut st);
        self.waiting.truncate(w.st.start());
        let at = w.deps.start();
        let deps = w.deps.unpack(&self.waiting_deps);
        self.waiting_deps.truncate(at);
        Path {
            insn: w.insn,
            st,
            cp: w.cp,
            looped: w.looped,
            back: w.back,
            since: w.since,
            deps,
        }
    }

    fn explore(&mut self, first: Path) -> Result<(), Fail> {
        let mut stack = std::mem::take(&mut self.stack);
        let res = self.explore_from(first, &mut stack);
        stack.clear();
        self.stack = stack;
        res
    }

    fn explore_from(&mut self, first: Path, stack: &mut Vec<Waiting>) -> Result<(), Fail> {
        let first = self.wait(first);
        stack.push(first);
        while let Some(w) = stack.pop() {
            let mut p = self.resume(w);
            loop {
                self.stats.processed += 1;
                self.work += WORK_INSN;
                p.since = p.since.saturating_add(1);
                if self.work > MAX_WORK
                    || (self.stats.processed % 1024 == 0 && self.started.elapsed() > MAX_TIME)
                {
                    let why = if self.work > MAX_WORK {
                        format!(
                            "more than the work budget of about {} ms ({} instructions \
                             simulated, {} states stored)",
                            MAX_WORK / 1_000_000,
                            self.stats.processed,
                            self.stats.states
                        )
                    } else {
                        format!(
                            "more than {} ms ({} instructions simulated, {} states stored)",
                            MAX_TIME.as_millis(),
                            self.stats.processed,
                            self.stats.states
                        )
                    };
                    return Err(self.give_up(p.insn, why));
                }
                if self.stats.processed > MAX_PROCESSED {
                    return Err(self.give_up(
                        p.insn,
                        format!("more than {MAX_PROCESSED} instructions to simulate"),
                    ));
                }
                if self.cfg.prune[p.insn] && !self.visit(&mut p)? {
                    self.prog.recycle(p.st);
                    break;
                }
                if let Some(log) = self.log.as_deref_mut() {
                    let _ = writeln!(
                        log,
                        "{:5}: {:<28}{}",
                        p.insn,
                        self.disasm.get(p.insn).map_or("", String::as_str),
                        p.st.describe()
                    );
                }
                let i = p.insn;
                let effect = if self.track {
                    p.deps.step(&self.prog.code[i], &p.st)
                } else {
                    precise::Effect::default()
                };
                let step = exec::step(&mut self.prog, &mut p.st, i).map_err(|e| Fail::At(i, e))?;
                if let Some((locs, union)) = effect.branch {
                    let both = matches!(
                        step,
                        Step::Branch {
                            taken: Some(_),
                            fall: true,
                            ..
                        }
                    );
                    if both {
                        p.deps.relate(locs, union);
                    } else {
                        // only one way is possible, because of the ranges
                        self.mark(p.cp, union);
                    }
                }
                if effect.uses != 0 {
                    self.mark(p.cp, effect.uses);
                }
                match step {
                    Step::Next(t) => self.go(&mut p, i, t),
                    Step::Exit => {
                        self.finish(p.cp);
                        self.prog.recycle(p.st);
                        break;
                    }
                    Step::Branch {
                        target,
                        taken,
                        fall,
                    } => match (taken, fall) {
                        (Some(t), true) => {
                            if stack.len() >= MAX_PENDING {
                                return Err(self
                                    .give_up(i, format!("more than {MAX_PENDING} paths pending")));
                            }
                            if let Some(c) = p.cp {
                                self.cps[c].pending += 1;
                            }
                            let mut q = Path {
                                insn: i,
                                st: t,
                                cp: p.cp,
                                looped: p.looped,
                                back: p.back,
                                since: p.since,
                                deps: p.deps.clone(),
                            };
                            self.go(&mut q, i, target);
                            if self.cfg.prune[q.insn] {
                                // what `visit` forgets first thing there
                                self.forget_dead(&mut q);
                            }
                            let q = self.wait(q);
                            stack.push(q);
                            self.go(&mut p, i, i + 1);
                        }
                        (Some(t), false) => {
                            let old = std::mem::replace(&mut p.st, t);
                            self.prog.recycle(old);
                            self.go(&mut p, i, target);
                        }
                        (None, true) => self.go(&mut p, i, i + 1),
                        (None, false) => {
                            // no concrete state reaches here
                            self.finish(p.cp);
                            self.prog.recycle(p.st);
                            break;
                        }
                    },
                }
            }
        }
        Ok(())
    }

    fn go(&mut self, p: &mut Path, from: usize, to: usize) {
        let x = self.prog.code[from];
        let is_jump = matches!(x.code & 0x07, 0x05 | 0x06) && x.code != crate::check::CALL;
        if is_jump && to <= from {
            p.looped = true;
            p.back = Some((from, to));
            self.back_count[from] = self.back_count[from].saturating_add(1);
        }
        p.insn = to;
    }

    /// A limit was reached at `at`: blame the busiest loop, if any.
    fn give_up(&self, at: usize, why: String) -> Fail {
        let hot = self
            .back_count
            .iter()
            .enumerate()
            .max_by_key(|&(_, c)| *c)
            .filter(|&(_, c)| *c > 0)
            .map(|(i, _)| i);
        match hot {
            Some(i) => {
                let x = self.prog.code[i];
                let t = cfg::jump_target(&x, i).unwrap_or(0);
                Fail::Loop {
                    back: (i, t),
                    detail: format!(
                        "no bound found ({why}, after {} iterations); bound it with a \
                         constant limit",
                        self.back_count[i]
                    ),
                }
            }
            None => Fail::Complex(at, why),
        }
    }
}

/// The text of instructions rbpf's disassembler does not know (ISA v4
/// and atomics).
fn describe_v4(x: &Insn) -> Option<String> {
    let size = match x.code & 0x18 {
        0x00 => "w",
        0x08 => "h",
        0x10 => "b",
        _ => "dw",
    };
    let class = x.code & 0x07;
    let (d, s) = (x.dst, x.src);
    Some(match class {
        0x01 if x.code & 0xe0 == 0x80 => format!("ldxs{size} r{d}, [r{s}{:+}]", x.off),
        0x03 if cfg::is_atomic(x) => {
            let op = match x.imm {
                0x00 | 0x01 => "add",
                0x40 | 0x41 => "or",
                0x50 | 0x51 => "and",
                0xa0 | 0xa1 => "xor",
                0xe1 => "xchg",
                0xf1 => "cmpxchg",
                _ => "?",
            };
            let fetch = if x.imm & 1 != 0 && x.imm < 0xe0 {
                "_fetch"
            } else {
                ""
            };
            format!("atomic_{op}{fetch}{size} [r{d}{:+}], r{s}", x.off)
        }
        0x04 | 0x07 if matches!(x.code & 0xf0, 0x30 | 0x90) && x.off == 1 => {
            let op = if x.code & 0xf0 == 0x30 {
                "sdiv"
            } else {
                "smod"
            };
            let w = if class == 0x07 { 64 } else { 32 };
            if x.code & 0x08 != 0 {
                format!("{op}{w} r{d}, r{s}")
            } else {
                format!("{op}{w} r{d}, {:#x}", x.imm)
            }
        }
        0x04 | 0x07 if x.code & 0xf0 == 0xb0 && x.code & 0x08 != 0 && x.off != 0 => {
            let w = if class == 0x07 { 64 } else { 32 };
            format!("movsx{w} r{d}, r{s} (s{})", x.off)
        }
        0x07 if x.code & 0xf0 == 0xd0 => format!("bswap{} r{d}", x.imm),
        0x06 if x.code & 0xf0 == 0x00 => format!("gotol {:+}", x.imm),
        _ => return None,
    })
}

fn disassemble(code: &[u8]) -> Vec<String> {
    let n = code.len() / INSN_SIZE;
    let mut out = vec![String::new(); n];
    // rbpf's disassembler gets a placeholder for what it does not know
    let mut known = code.to_vec();
    for i in 0..n {
        if let Some(text) = describe_v4(&Insn::at(code, i)) {
            out[i] = text;
            known[i * INSN_SIZE..(i + 1) * INSN_SIZE].copy_from_slice(&[0x05, 0, 0, 0, 0, 0, 0, 0]);
        }
    }
    let mut i = 0;
    for h in rbpf::disassembler::to_insn_vec(&known) {
        if i >= n {
            break;
        }
        if out[i].is_empty() {
            out[i] = h.desc;
        }
        i += if h.opc == crate::check::LDDW { 2 } else { 1 };
    }
    out
}

fn run(
    program: &Program,
    opts: &VerifyOptions,
    log: Option<&mut String>,
) -> Result<Verified, Error> {
    let sect = (!program.section().is_empty()).then_some(program.section());
    // instructions as the program was loaded (before crate::rewrite)
    let err = |k: ErrorKind| {
        Error::new(
            program.origin(),
            sect,
            k.map_insns(|i| program.source_insn(i)),
        )
    };
    // the program only runs if its maps can be created
    for def in program.maps() {
        crate::maps::check_def(def).map_err(|m| err(ErrorKind::Map(m)))?;
    }
    let bytes = program.bytecode();
    let n = bytes.len() / INSN_SIZE;
    // the memory an earlier verification on this thread left
    let mut scratch = SCRATCH.with(|s| std::mem::take(&mut *s.borrow_mut()));
    let mut code = Code(std::mem::take(&mut scratch.code));
    code.0.clear();
    code.0.extend((0..n).map(|i| Insn::at(bytes, i)));
    let cfg = cfg::analyse(&code.0, std::mem::take(&mut scratch.cfg));
    if let Some(insn) = cfg.unreachable {
        return Err(err(ErrorKind::Verifier {
            insn,
            reg: None,
            detail: "no path from the program's entry reaches this instruction (the kernel \
                     refuses dead code too)"
                .to_owned(),
        }));
    }
    let disasm = if log.is_some() {
        disassemble(bytes)
    } else {
        Vec::new()
    };
    let mut map_lddw = std::mem::take(&mut scratch.map_lddw);
    map_lddw.clear();
    // (the last reference to an instruction counts)
    for r in program.map_refs().iter().rev() {
        if let (true, Ok(map)) = (r.insn < n, u16::try_from(r.map)) {
            map_lddw.push((r.insn, (map, r.value_offset)));
        }
    }
    map_lddw.sort_by_key(|&(at, _)| at);
    map_lddw.dedup_by_key(|&mut (at, _)| at);
    let ty = crate::progtype::ProgType::of_convention(opts.convention);
    let ctx = crate::context::analyse(bytes, ty)
        .map_err(|(insn, reg, detail)| err(ErrorKind::Verifier { insn, reg, detail }))?;
    let mut prog = Prog {
        code: &code.0,
        conv: opts.convention,
        ctx: &ctx.access,
        has_calls: cfg.has_calls,
        access: refill(std::mem::take(&mut scratch.access), n, 0),
        callx: refill(std::mem::take(&mut scratch.callx), 0, (0, 0)),
        seen: refill(std::mem::take(&mut scratch.seen), n, false),
        stack_use: refill(
            std::mem::take(&mut scratch.stack_use),
            n,
            std::cell::Cell::new(0),
        ),
        maps: program.maps(),
        map_access: program
            .maps()
            .iter()
            .zip(program.map_extras())
            .map(|(d, e)| crate::maps::program_access(d, e))
            .collect(),
        map_lddw,
        spare: Vec::new(),
    };
    let min = u64::try_from(opts.min_len).unwrap_or(u64::MAX);
    let st = exec::entry_state(&prog, min);
    scratch.at.resize_with(n, At::default);
    scratch.back_count.resize(n, 0);
    prog.spare = scratch.spare;
    let mut d = Driver {
        prog,
        cfg,
        cps: scratch.cps,
        kept: scratch.kept,
        waiting: scratch.waiting,
        kept_deps: scratch.kept_deps,
        waiting_deps: scratch.waiting_deps,
        at: scratch.at,
        back_count: scratch.back_count,
        stack: scratch.stack,
        stats: VerifyStats::default(),
        log,
        disasm,
        work: 0,
        started: std::time::Instant::now(),
        track: false,
        symmap: state::SymMap::default(),
    };
    d.track = !d.cfg.has_calls;
    let res = d.explore(Path {
        insn: 0,
        st: Box::new(st),
        cp: None,
        looped: false,
        back: None,
        since: STORE_EVERY,
        deps: precise::Deps::default(),
    });
    d.stats.loops = d.back_count.iter().any(|&c| c > 0) || program.has_back_edges();
    d.stats.work = d.work;
    if let Err(f) = res {
        let kind = match f {
            Fail::At(insn, r) => ErrorKind::Verifier {
                insn,
                reg: r.reg,
                detail: r.msg,
            },
            Fail::Loop { back, detail } => ErrorKind::UnboundedLoop {
                insn: back.0,
                target: back.1,
                detail,
            },
            Fail::Complex(insn, detail) => ErrorKind::TooComplex { insn, detail },
        };
        if let Some(out) = d.log.as_deref_mut() {
            let _ = writeln!(out, "rejected: {}", err(kind.clone()));
        }
        return Err(err(kind));
    }
    let frames = if d.prog.has_calls {
        let used: Vec<u16> = d.prog.stack_use.iter().map(std::cell::Cell::get).collect();
        frames(&code.0, &used).map_err(|(insn, detail)| {
            err(ErrorKind::Verifier {
                insn,
                reg: None,
                detail,
            })
        })?
    } else {
        Vec::new()
    };
    let mut exec = ctx.code;
    // what no path reaches never runs: exits in its place, so that the
    // engine never compiles what the verifier did not check
    let mut at = 0;
    while at < n {
        let wide = if code.0[at].code == LDDW { 2 } else { 1 };
        if !d.prog.seen[at] {
            let dead = &mut exec[at * INSN_SIZE..(at + wide).min(n) * INSN_SIZE];
            for b in dead.chunks_exact_mut(INSN_SIZE) {
                b.copy_from_slice(&[crate::check::EXIT, 0, 0, 0, 0, 0, 0, 0]);
            }
        }
        at += wide;
    }
    for &(i, id) in &d.prog.callx {
        let b = &mut exec[i * INSN_SIZE..(i + 1) * INSN_SIZE];
        b[0] = crate::check::CALL;
        b[1] = 0;
        b[4..8].copy_from_slice(&id.to_le_bytes());
    }
    if let Some(out) = d.log.as_deref_mut() {
        let s = &d.stats;
        let _ = writeln!(
            out,
            "verified: {} instructions simulated, {} states stored, {} pruned, {} joins",
            s.processed, s.states, s.pruned, s.joins
        );
    }
    Ok(Verified {
        code: Arc::from(bytes),
        maps: program.maps().iter().map(shape).collect(),
        map_refs: Arc::from(program.map_refs()),
        map_access: Arc::from(d.prog.map_access.as_slice()),
        exec: Arc::from(exec),
        opts: *opts,
        stats: d.stats,
        targets: Arc::from([]),
        frames: Arc::from(frames),
    })
}

/// The frame of each function of a program with bpf-to-bpf calls (its
/// first instruction, and the stack bytes below its frame pointer the
/// engine gives it, the bytes it uses rounded up to 32 as the kernel
/// counts them), checked as the kernel does: the frames of every chain of
/// calls fit in 512 bytes together.  `used`: per instruction, the bytes
/// the function starting there uses.
fn frames(code: &[Insn], used: &[u16]) -> Result<Vec<(usize, u16)>, (usize, String)> {
    let n = code.len();
    let mut entries = vec![0usize];
    let mut calls = Vec::new();
    for (i, x) in code.iter().enumerate() {
        if x.code == crate::check::CALL && x.src == 1 {
            if let Some(t) = cfg::call_target(x, i).filter(|&t| t < n) {
                entries.push(t);
                calls.push((i, t));
            }
        }
    }
    entries.sort_unstable();
    entries.dedup();
    let func_of = |pc: usize| match entries.binary_search(&pc) {
        Ok(k) => k,
        Err(k) => k.saturating_sub(1),
    };
    let size: Vec<u16> = entries
        .iter()
        .map(|&e| used.get(e).copied().unwrap_or(0).max(1).div_ceil(32) * 32)
        .collect();
    // deepest chain from each function (the checks refused recursion):
    // (bytes, the call it continues with)
    let mut deepest: Vec<Option<(u32, Option<usize>)>> = vec![None; entries.len()];
    fn depth(
        f: usize,
        entries: &[usize],
        calls: &[(usize, usize)],
        size: &[u16],
        func_of: &dyn Fn(usize) -> usize,
        memo: &mut [Option<(u32, Option<usize>)>],
    ) -> u32 {
        if let Some((d, _)) = memo[f] {
            return d;
        }
        let end = entries.get(f + 1).copied().unwrap_or(usize::MAX);
        let mut best = (0, None);
        for &(at, t) in calls
            .iter()
            .filter(|&&(at, _)| at >= entries[f] && at < end)
        {
            let d = depth(func_of(t), entries, calls, size, func_of, memo);
            if d > best.0 {
                best = (d, Some(at));
            }
        }
        let d = u32::from(size[f]) + best.0;
        memo[f] = Some((d, best.1));
        d
    }
    let total = depth(0, &entries, &calls, &size, &func_of, &mut deepest);
    if i64::from(total) > state::STACK_SIZE {
        let mut chain = Vec::new();
        let mut f = 0;
        while let Some((_, Some(at))) = deepest[f] {
            chain.push(at);
            f = func_of(calls.iter().find(|c| c.0 == at).map_or(0, |c| c.1));
        }
        let first = chain.first().copied().unwrap_or(0);
        let path: Vec<String> = chain.iter().map(ToString::to_string).collect();
        return Err((
            first,
            format!(
                "the stack frames of the call chain through the calls at instructions {} \
                 take {total} bytes together (each function's stack rounded up to 32), \
                 more than 512 (the kernel's limit)",
                path.join(", ")
            ),
        ));
    }
    Ok(entries.into_iter().zip(size).collect())
}
