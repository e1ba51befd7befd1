// SPDX-License-Identifier: GPL-2.0-or-later

//! Abstract machine state of the verifier: register types and values,
//! stack slots, what is known about the packet's length.
//!
//! Values that relate to the packet carry a *symbolic* part next to their
//! numeric [`Range`]: `sym + c`, where `sym` names an unknown value (a
//! fresh name from [`State::fresh`], never reused on a path), the packet
//! length [`LEN`], or [`ZERO`].  `c` is exact: every operation that
//! computes one is checked and bounded by [`MAX_C`], and drops the
//! symbolic part instead of wrapping.  Facts
//! "the packet extends at least `k` bytes beyond `sym`" (`LEN - sym >= k`)
//! are learnt from comparisons and kept in [`State::safe`]; a packet
//! access at `sym + c + off` of `n` bytes is in bounds when
//! `LEN - sym >= c + off + n`.  This covers both conventions alike:
//! comparing a packet pointer against `data_end` (`data + sym + c <=
//! data + LEN`) and comparing an offset against the length in r2.

use std::fmt::{self, Write};
use std::rc::Rc;

use super::domain::Range;

/// A symbolic value: [`ZERO`], [`LEN`], [`META`], [`NONE`] or a value a
/// program computed (from [`FIRST`] on).
pub type Sym = u32;
/// The constant 0: `ZERO + c` is the constant `c`.
pub const ZERO: Sym = 0;
/// The packet length.
pub const LEN: Sym = 1;
/// No symbolic knowledge.
pub const NONE: Sym = u32::MAX;
/// Where `data_meta` is, as a packet offset: minus the length of the
/// metadata in front of the packet (`bpf_xdp_adjust_meta`), within
/// [-[`MAX_META`], 0].  Packet pointers `META + c` with `c >= 0` do not
/// point before the metadata (the start of the memory packet pointers
/// may reach).
pub const META: Sym = 2;
/// The first fresh symbol.
pub const FIRST: Sym = 3;
pub use crate::progtype::MAX_META;

/// Largest magnitude of a symbolic offset `c` (and of the packet offsets
/// the verifier reasons about): values beyond lose their symbolic part.
pub const MAX_C: i64 = 1 << 40;

/// Largest magnitude of a length fact `LEN - sym >= k` worth keeping.
const MAX_FACT: i64 = 1 << 42;

/// `a + b` if it stays within [`MAX_C`].
pub fn c_add(a: i64, b: i64) -> Option<i64> {
    a.checked_add(b).filter(|c| c.abs() <= MAX_C)
}

/// `a - b` if it stays within [`MAX_C`].
pub fn c_sub(a: i64, b: i64) -> Option<i64> {
    a.checked_sub(b).filter(|c| c.abs() <= MAX_C)
}

/// Largest packet length the proofs assume (the engine checks it).
pub const MAX_LEN: u64 = u32::MAX as u64;

/// Bytes of the largest stack frame.
pub const STACK_SIZE: i64 = 512;

/// A number (or a packet offset) with what is known about it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Val {
    /// Numeric bounds (packet offsets: signed).
    pub n: Range,
    /// Symbolic part: the value is `sym + c` (exactly, without wrapping).
    pub sym: Sym,
    pub c: i64,
}

impl Val {
    /// The constant `v` (`ZERO + v` when `v` is a small non-negative
    /// number).
    pub const fn konst(v: u64) -> Self {
        let c = v as i64;
        if c >= 0 && c <= MAX_C {
            Self {
                n: Range::konst(v),
                sym: ZERO,
                c,
            }
        } else {
            Self {
                n: Range::konst(v),
                sym: NONE,
                c: 0,
            }
        }
    }

    /// `n`, known to be `sym + c` when `c` is (see [`c_add`]); only `n`
    /// otherwise.
    pub const fn with_sym(n: Range, sym: Sym, c: Option<i64>) -> Self {
        match c {
            Some(c) if c >= -MAX_C && c <= MAX_C && sym != NONE => Self { n, sym, c },
            _ => Self { n, sym: NONE, c: 0 },
        }
    }
}

/// How the symbols of a stored state correspond to those of the state
/// compared with it: `(o, s, d)` says that `o`'s symbol `o` is `s + d`
/// in the other state.
/// Kept on the stack (states are compared often): a comparison that
/// would need more entries than [`SYMMAP_CAP`] fails, which only prunes
/// less.
pub struct SymMap {
    len: usize,
    e: [(Sym, Sym, i64); SYMMAP_CAP],
    /// Stack slots the last comparison looked at (its cost).
    pub slots: u64,
}

/// Most distinct symbols matched up in one state comparison.
const SYMMAP_CAP: usize = 16;

impl Default for SymMap {
    fn default() -> Self {
        Self {
            len: 0,
            e: [(NONE, NONE, 0); SYMMAP_CAP],
            slots: 0,
        }
    }
}

impl SymMap {
    /// Whether `a` (of the state being compared) is within `b` (of the
    /// stored state) as far as their symbolic parts go, extending the map.
    fn relate(&mut self, a: &Val, b: &Val) -> bool {
        if b.sym == NONE {
            return true;
        }
        if a.sym == NONE {
            return false;
        }
        let Some(d) = a.c.checked_sub(b.c) else {
            return false;
        };
        if matches!(b.sym, ZERO | LEN | META) || matches!(a.sym, ZERO | LEN | META) {
            return a.sym == b.sym && d == 0;
        }
        match self.e[..self.len].iter().find(|&&(o, _, _)| o == b.sym) {
            Some(&(_, s, e)) => s == a.sym && e == d,
            None if self.len < SYMMAP_CAP => {
                self.e[self.len] = (b.sym, a.sym, d);
                self.len += 1;
                true
            }
            None => false,
        }
    }

    /// The symbol and offset a stored symbol stands for.
    fn get(&self, o: Sym) -> Option<(Sym, i64)> {
        if matches!(o, ZERO | LEN | META) {
            return Some((o, 0));
        }
        self.e[..self.len]
            .iter()
            .find(|&&(k, _, _)| k == o)
            .map(|&(_, s, d)| (s, d))
    }
}

/// The type and value of a register (or spilled stack slot).
///
/// Map pointers: an `lddw` of a map gives its handle ([`Reg::MapPtr`]),
/// one of global data a [`Reg::MapValue`]; `bpf_map_lookup_elem` returns
/// a [`Reg::MapValueOrNull`], which a comparison against 0 turns into a
/// [`Reg::MapValue`] (or the number 0); [`super::exec`] checks accesses
/// against the map's value size.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reg {
    /// Never written (or clobbered by a call): cannot be read.
    Uninit,
    /// A packet pointer that a helper moving or resizing the packet made
    /// invalid: cannot be read (as a number it would give away a host
    /// address).
    Stale,
    /// A number.
    Scalar(Val),
    /// A pointer into the packet; the value is the offset from its start.
    Pkt(Val),
    /// A pointer into the stack frame of call depth `frame`, `off` bytes
    /// from its frame pointer.
    Stack { frame: u8, off: i64 },
    /// The context block (`struct ubpf_md` / `struct xdp_md`).
    Ctx { off: i64 },
    /// The handle of map `map` (index in the program's maps): only passed
    /// to map helpers.
    MapPtr { map: u16 },
    /// A pointer into a value of map `map`, `off` bytes from its start.
    MapValue { map: u16, off: Range },
    /// A value pointer of map `map` or NULL (what `bpf_map_lookup_elem`
    /// returns).  Registers with the same non-zero `id` hold the same
    /// pointer: checking one checks them all.
    MapValueOrNull { map: u16, id: u32 },
    /// A ring buffer record from `bpf_ringbuf_reserve` (at instruction
    /// `id - 1`) of `size` bytes, `off` bytes from its start: a reference
    /// the program must release (submit or discard).
    Record { id: u32, size: u32, off: i64 },
    /// The same, or NULL.
    RecordOrNull { id: u32, size: u32 },
}

impl Reg {
    pub const fn is_init(&self) -> bool {
        !matches!(self, Self::Uninit | Self::Stale)
    }

    pub const fn is_pointer(&self) -> bool {
        !matches!(self, Self::Uninit | Self::Stale | Self::Scalar(_))
    }

    pub const fn sym(&self) -> Sym {
        match self {
            Self::Scalar(v) | Self::Pkt(v) => v.sym,
            _ => NONE,
        }
    }

    /// Short name of the type, for messages.
    pub const fn kind(&self) -> &'static str {
        match self {
            Self::Uninit => "uninitialised",
            Self::Stale => "invalidated packet pointer",
            Self::Scalar(_) => "scalar",
            Self::Pkt(_) => "packet pointer",
            Self::Stack { .. } => "stack pointer",
            Self::Ctx { .. } => "context pointer",
            Self::MapPtr { .. } => "map handle",
            Self::MapValue { .. } => "map value pointer",
            Self::MapValueOrNull { .. } => "map value pointer (or NULL)",
            Self::Record { .. } => "ring buffer record pointer",
            Self::RecordOrNull { .. } => "ring buffer record pointer (or NULL)",
        }
    }

    /// The least register containing both; `f` joins the symbolic parts
    /// of two numbers or two packet offsets.
    fn join(&self, o: &Self, f: &mut impl FnMut(&Val, &Val) -> Val) -> Self {
        match (self, o) {
            (Self::Scalar(a), Self::Scalar(b)) => Self::Scalar(f(a, b)),
            (Self::Pkt(a), Self::Pkt(b)) => Self::Pkt(f(a, b)),
            (Self::MapValue { map: m, off: a }, Self::MapValue { map: n, off: b }) if m == n => {
                Self::MapValue {
                    map: *m,
                    off: a.join(b),
                }
            }
            (Self::MapValueOrNull { map: m, id: a }, Self::MapValueOrNull { map: n, id: b })
                if m == n =>
            {
                Self::MapValueOrNull {
                    map: *m,
                    id: if a == b { *a } else { 0 },
                }
            }
            (a, b) if a == b => *a,
            _ => Self::Uninit,
        }
    }

    /// Whether every concrete value `self` stands for is allowed by `o`
    /// (so what was proven from `o` holds for `self`), with `o`'s symbols
    /// read through `m`.
    fn within(&self, o: &Self, m: &mut SymMap) -> bool {
        match (self, o) {
            (_, Self::Uninit | Self::Stale) => true,
            (Self::Scalar(a), Self::Scalar(b)) | (Self::Pkt(a), Self::Pkt(b)) => {
                a.n.within(&b.n) && m.relate(a, b)
            }
            (Self::MapValue { map: m1, off: a }, Self::MapValue { map: n, off: b }) => {
                m1 == n && a.within(b)
            }
            // an unlinked pointer in `o` allows a linked one in `self`
            (Self::MapValueOrNull { map: m1, id: a }, Self::MapValueOrNull { map: n, id: b }) => {
                m1 == n && (*b == 0 || a == b)
            }
            (a, b) => a == b,
        }
    }
}

impl fmt::Display for Reg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sym = |out: &mut fmt::Formatter<'_>, v: &Val| match v.sym {
            NONE | ZERO => Ok(()),
            LEN => write!(out, " =len{:+}", v.c),
            META => write!(out, " =meta{:+}", v.c),
            s => write!(out, " =v{}{:+}", s - FIRST, v.c),
        };
        match self {
            Self::Uninit => write!(f, "?"),
            Self::Stale => write!(f, "stale"),
            Self::Scalar(v) => {
                write!(f, "{}", v.n)?;
                sym(f, v)
            }
            Self::Pkt(v) => {
                write!(f, "pkt+{}", v.n)?;
                sym(f, v)
            }
            Self::Stack { frame: 0, off } => write!(f, "fp{off:+}"),
            Self::Stack { frame, off } => write!(f, "fp{frame}{off:+}"),
            Self::Ctx { off } => write!(f, "ctx{off:+}"),
            Self::MapPtr { map } => write!(f, "map{map}"),
            Self::MapValue { map, off } => write!(f, "map{map}value+{off}"),
            Self::MapValueOrNull { map, id } => write!(f, "map{map}value_or_null#{id}"),
            Self::Record { id, size, off } => write!(f, "record#{id}[{size}]{off:+}"),
            Self::RecordOrNull { id, size } => write!(f, "record_or_null#{id}[{size}]"),
        }
    }
}

/// r10 in a state of `frames` call frames.
fn frame_pointer(frames: usize) -> Reg {
    Reg::Stack {
        frame: u8::try_from(frames.saturating_sub(1)).unwrap_or(u8::MAX),
        off: 0,
    }
}

/// A state kept for later: a checkpoint, or a path waiting to be
/// explored.  Only the registers that hold something are stored, in an
/// arena the verifier keeps (at a prune point most registers are dead):
/// large programs keep hundreds of such states at once, and their memory
/// is most of the verifier's.
pub struct Packed {
    /// Bit `r`: register `r` is stored (the others are uninitialised,
    /// but for r10, the frame pointer).
    has: u16,
    /// Where the stored registers start in the arena.
    at: usize,
    pub frames: Rc<Vec<Frame>>,
    pub safe: Facts,
    pub next: Sym,
    pub refs: Vec<u32>,
}

impl Packed {
    /// `st`, its registers appended to `arena`.
    pub fn new(st: &State, arena: &mut Vec<Reg>) -> Self {
        let at = arena.len();
        let mut has = 0;
        // r10 is always the frame pointer of the current frame
        debug_assert_eq!(st.regs[10], frame_pointer(st.frames.len()));
        for (r, x) in st.regs[..10].iter().enumerate() {
            if !matches!(x, Reg::Uninit) {
                has |= 1 << r;
                arena.push(*x);
            }
        }
        Self {
            has,
            at,
            frames: Rc::clone(&st.frames),
            safe: st.safe.clone(),
            next: st.next,
            refs: st.refs.clone(),
        }
    }

    /// Where its registers start in the arena (what follows them there
    /// belongs to states packed after it).
    pub const fn start(&self) -> usize {
        self.at
    }

    /// The stored registers, by number.
    pub fn regs<'a>(&self, arena: &'a [Reg]) -> impl Iterator<Item = (usize, &'a Reg)> + use<'a> {
        let has = self.has;
        let n = has.count_ones() as usize;
        (0..10)
            .filter(move |r| has & (1 << r) != 0)
            .zip(arena[self.at..self.at + n].iter())
    }

    /// Make `st` this state (`st`'s memory is reused).
    pub fn unpack(&self, arena: &[Reg], st: &mut State) {
        st.regs = [Reg::Uninit; 11];
        for (r, x) in self.regs(arena) {
            st.regs[r] = *x;
        }
        st.regs[10] = frame_pointer(self.frames.len());
        st.frames.clone_from(&self.frames);
        st.safe.clone_from(&self.safe);
        st.next = self.next;
        st.refs.clone_from(&self.refs);
    }
}

/// One 8-byte stack slot.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Slot {
    /// A whole register stored by an aligned 8-byte store.
    Spill(Reg),
    /// Data bytes: bit `k` set = byte `k` of the slot was written.
    Bytes(u8),
}

/// A call frame.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Frame {
    /// The call instruction that created the frame (`usize::MAX` for the
    /// program's entry).
    pub callsite: usize,
    /// The caller's r6-r9 (restored on return).
    pub saved: [Reg; 4],
    /// Bytes of stack the frame may use below its frame pointer.
    pub limit: i64,
    /// Written slots, sorted by index (slot `k` covers `fp-512+8k`).
    pub slots: Vec<(u8, Slot)>,
}

impl Frame {
    pub const fn new(callsite: usize, saved: [Reg; 4], limit: i64) -> Self {
        Self {
            callsite,
            saved,
            limit,
            slots: Vec::new(),
        }
    }

    pub fn slot(&self, k: usize) -> Option<Slot> {
        self.slots
            .binary_search_by_key(&k, |&(i, _)| usize::from(i))
            .ok()
            .map(|p| self.slots[p].1)
    }

    pub fn set_slot(&mut self, k: usize, s: Slot) {
        let key = u8::try_from(k).unwrap_or(u8::MAX);
        match self.slots.binary_search_by_key(&key, |&(i, _)| i) {
            Ok(p) => self.slots[p].1 = s,
            Err(p) => self.slots.insert(p, (key, s)),
        }
    }
}

/// Whether a register of `regs` or a saved or spilled register of
/// `frames` holds `sym`.
fn holds(regs: &[Reg; 11], frames: &[Frame], sym: Sym) -> bool {
    regs.iter().any(|r| r.sym() == sym)
        || frames.iter().any(|f| {
            f.saved.iter().any(|r| r.sym() == sym)
                || f.slots
                    .iter()
                    .any(|(_, s)| matches!(s, Slot::Spill(r) if r.sym() == sym))
        })
}

/// Slot index and byte within it of frame offset `off` (in `[-512, 0)`).
pub fn slot_of(off: i64) -> (usize, u32) {
    let b = usize::try_from(off + STACK_SIZE).unwrap_or(0);
    (b / 8, u32::try_from(b % 8).unwrap_or(0))
}

/// Known lower bounds of `LEN - sym`, sorted by symbol.  States are
/// copied at every branch and most hold a few facts: up to
/// [`FACTS_INLINE`] are kept inline, so that copying a state or learning
/// a fact does not allocate.
#[derive(Clone, Debug)]
pub enum Facts {
    Inline(u8, [(Sym, i64); FACTS_INLINE]),
    Heap(Vec<(Sym, i64)>),
}

/// Facts a state holds without an allocation.
const FACTS_INLINE: usize = 4;

impl Default for Facts {
    fn default() -> Self {
        Self::Inline(0, [(NONE, 0); FACTS_INLINE])
    }
}

impl PartialEq for Facts {
    fn eq(&self, o: &Self) -> bool {
        self[..] == o[..]
    }
}

impl Eq for Facts {}

impl std::ops::Deref for Facts {
    type Target = [(Sym, i64)];
    fn deref(&self) -> &Self::Target {
        match self {
            Self::Inline(n, a) => &a[..usize::from(*n)],
            Self::Heap(v) => v,
        }
    }
}

impl std::ops::DerefMut for Facts {
    fn deref_mut(&mut self) -> &mut Self::Target {
        match self {
            Self::Inline(n, a) => &mut a[..usize::from(*n)],
            Self::Heap(v) => v,
        }
    }
}

impl From<Vec<(Sym, i64)>> for Facts {
    fn from(v: Vec<(Sym, i64)>) -> Self {
        if v.len() <= FACTS_INLINE {
            let mut f = Self::default();
            for e in v {
                f.insert(f.len(), e);
            }
            f
        } else {
            Self::Heap(v)
        }
    }
}

impl Facts {
    /// Insert `e` at position `p` (keeping the order is the caller's).
    pub fn insert(&mut self, p: usize, e: (Sym, i64)) {
        match self {
            Self::Inline(n, a) if usize::from(*n) < FACTS_INLINE => {
                let len = usize::from(*n);
                a.copy_within(p..len, p + 1);
                a[p] = e;
                *n += 1;
            }
            Self::Inline(n, a) => {
                let mut v = a[..usize::from(*n)].to_vec();
                v.insert(p, e);
                *self = Self::Heap(v);
            }
            Self::Heap(v) => v.insert(p, e),
        }
    }

    /// Keep the facts `f` approves of.
    pub fn retain(&mut self, mut f: impl FnMut(&(Sym, i64)) -> bool) {
        match self {
            Self::Inline(n, a) => {
                let mut k = 0;
                for i in 0..usize::from(*n) {
                    if f(&a[i]) {
                        a[k] = a[i];
                        k += 1;
                    }
                }
                *n = u8::try_from(k).unwrap_or(0);
            }
            Self::Heap(v) => v.retain(f),
        }
    }
}

/// The abstract state at one program point.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct State {
    /// Registers of the current frame (r10 is its frame pointer).
    pub regs: [Reg; 11],
    /// Call frames, the program's first; the last is the current one.
    /// Shared between the copies of a state until one changes them (the
    /// verifier copies states at every branch).
    pub frames: Rc<Vec<Frame>>,
    /// Known lower bounds of `LEN - sym`, sorted by symbol; `ZERO`'s
    /// entry is the known minimum packet length.
    pub safe: Facts,
    /// The next fresh symbol.
    pub next: Sym,
    /// Ring buffer records reserved and not yet released (their ids,
    /// sorted): none may be left at the program's exit.
    pub refs: Vec<u32>,
}

impl State {
    /// `*self = o.clone()`, reusing `self`'s memory.
    pub fn copy_from(&mut self, o: &Self) {
        self.regs = o.regs;
        self.frames.clone_from(&o.frames);
        self.safe.clone_from(&o.safe);
        self.next = o.next;
        self.refs.clone_from(&o.refs);
    }

    pub fn depth(&self) -> usize {
        self.frames.len() - 1
    }

    /// What is known of `LEN - sym` (`None`: nothing).
    pub fn safe(&self, sym: Sym) -> Option<i64> {
        match sym {
            LEN => Some(0),
            NONE => None,
            s => self
                .safe
                .binary_search_by_key(&s, |&(k, _)| k)
                .ok()
                .map(|p| self.safe[p].1),
        }
    }

    /// The known minimum packet length.
    pub fn min_len(&self) -> i64 {
        self.safe(ZERO).unwrap_or(0)
    }

    /// Learn `LEN - sym >= k`.
    pub fn learn(&mut self, sym: Sym, k: i64) {
        if sym == NONE || sym == LEN || k.abs() > MAX_FACT {
            return;
        }
        match self.safe.binary_search_by_key(&sym, |&(s, _)| s) {
            Ok(p) => {
                if self.safe[p].1 >= k {
                    return;
                }
                self.safe[p].1 = k;
            }
            Err(p) => self.safe.insert(p, (sym, k)),
        }
        if sym == ZERO {
            self.tighten_len();
        }
    }

    /// Bring the numeric range of every value tied to `LEN` in line with
    /// the known minimum length.
    fn tighten_len(&mut self) {
        let min = u64::try_from(self.min_len()).unwrap_or(0);
        let len = Range::urange(min, MAX_LEN);
        let fix = |r: &mut Reg| match r {
            Reg::Scalar(v) | Reg::Pkt(v) if v.sym == LEN => {
                if let Some((m, _)) = len
                    .shifted(v.c)
                    .and_then(|n| Range::refine(&v.n, &n, super::domain::Cmp::Eq))
                {
                    v.n = m;
                }
            }
            _ => {}
        };
        self.for_each_reg(fix);
    }

    /// Apply `f` to every register and spilled register of all frames.
    pub fn for_each_reg(&mut self, mut f: impl FnMut(&mut Reg)) {
        for r in &mut self.regs {
            f(r);
        }
        // frames are copied only if something in them can change
        let touched = self.frames.iter().any(|fr| {
            fr.saved.iter().any(Reg::is_init)
                || fr.slots.iter().any(|(_, s)| matches!(s, Slot::Spill(_)))
        });
        if !touched {
            return;
        }
        for fr in Rc::make_mut(&mut self.frames).iter_mut() {
            for r in &mut fr.saved {
                f(r);
            }
            for (_, s) in &mut fr.slots {
                if let Slot::Spill(r) = s {
                    f(r);
                }
            }
        }
    }

    /// A new unknown value within `n` (a constant if `n` is one), with a
    /// name of its own.
    pub fn fresh(&mut self, n: Range) -> Val {
        if let Some(v) = n.as_const() {
            return Val::konst(v);
        }
        let sym = self.next;
        if sym == NONE {
            return Val::with_sym(n, NONE, None);
        }
        self.next += 1;
        Val { n, sym, c: 0 }
    }

    /// Whether a register or spilled register of some frame holds `sym`.
    fn holds(&self, sym: Sym) -> bool {
        holds(&self.regs, &self.frames, sym)
    }

    /// Forget facts about symbols nobody holds any more.
    pub fn gc(&mut self) {
        if self.safe.iter().all(|&(s, _)| s == ZERO) {
            return;
        }
        // facts are few: look each one up among the registers
        if self.safe.iter().all(|&(s, _)| s == ZERO || self.holds(s)) {
            return;
        }
        let (regs, frames) = (&self.regs, &self.frames);
        self.safe
            .retain(|&(s, _)| s == ZERO || holds(regs, frames, s));
    }

    /// The least state containing both (same call stack required).
    ///
    /// Values with the same symbolic part keep it.  Values with different
    /// ones get a new symbol per pair of symbols (and difference of
    /// offsets), so values related in both states stay related, and the
    /// facts about the pair carry over to it.
    pub fn join(&self, o: &Self) -> Option<Self> {
        if self.refs != o.refs
            || self.frames.len() != o.frames.len()
            || self
                .frames
                .iter()
                .zip(o.frames.iter())
                .any(|(a, b)| a.callsite != b.callsite)
        {
            return None;
        }
        let mut next = self.next.max(o.next);
        // (symbol here, symbol there, offset difference) -> new symbol
        let mut pairs: Vec<(Sym, Sym, i64, Sym)> = Vec::new();
        let mut safe: Vec<(Sym, i64)> = self
            .safe
            .iter()
            .filter_map(|&(s, k)| o.safe(s).map(|m| (s, k.min(m))))
            .collect();
        let mut f = |a: &Val, b: &Val| -> Val {
            let n = a.n.join(&b.n);
            if a.sym == b.sym && a.c == b.c {
                return Val { n, ..*a };
            }
            // the new symbol j is a.sym here and b.sym - d there, so the
            // value is j + a.c in both
            let Some(d) = a.c.checked_sub(b.c) else {
                return Val::with_sym(n, NONE, None);
            };
            if a.sym == NONE || b.sym == NONE || n.as_const().is_some() {
                return Val::with_sym(n, NONE, None);
            }
            let j = match pairs
                .iter()
                .find(|&&(x, y, e, _)| x == a.sym && y == b.sym && e == d)
            {
                Some(&(_, _, _, j)) => j,
                None => {
                    if next == NONE {
                        return Val::with_sym(n, NONE, None);
                    }
                    let j = next;
                    next += 1;
                    pairs.push((a.sym, b.sym, d, j));
                    let here = self.safe(a.sym);
                    let there = o.safe(b.sym).and_then(|k| k.checked_add(d));
                    if let (Some(x), Some(y)) = (here, there) {
                        let k = x.min(y);
                        if k.abs() <= MAX_FACT {
                            safe.push((j, k));
                        }
                    }
                    j
                }
            };
            Val::with_sym(n, j, Some(a.c))
        };
        // registers both states can read must stay readable: states whose
        // values have incompatible types (two pointers into different
        // places) are not joined, they are explored separately
        let mut lost = false;
        let mut regs = self.regs;
        for (r, b) in regs.iter_mut().zip(&o.regs) {
            let both = r.is_init() && b.is_init();
            *r = r.join(b, &mut f);
            lost |= both && !r.is_init();
        }
        let mut frames = Vec::with_capacity(self.frames.len());
        for (a, b) in self.frames.iter().zip(o.frames.iter()) {
            let mut fr = Frame::new(a.callsite, a.saved, a.limit);
            for (r, x) in fr.saved.iter_mut().zip(&b.saved) {
                let both = r.is_init() && x.is_init();
                *r = r.join(x, &mut f);
                lost |= both && !r.is_init();
            }
            for &(k, s) in &a.slots {
                let Some(t) = b.slot(usize::from(k)) else {
                    continue;
                };
                let j = match (s, t) {
                    (Slot::Spill(x), Slot::Spill(y)) if x.join(&y, &mut f).is_init() => {
                        Slot::Spill(x.join(&y, &mut f))
                    }
                    (Slot::Spill(Reg::Scalar(_)), Slot::Spill(Reg::Scalar(_))) => Slot::Bytes(0xff),
                    (Slot::Bytes(m), Slot::Bytes(n)) => Slot::Bytes(m & n),
                    (Slot::Bytes(m), Slot::Spill(Reg::Scalar(_)))
                    | (Slot::Spill(Reg::Scalar(_)), Slot::Bytes(m)) => Slot::Bytes(m),
                    (Slot::Spill(_), Slot::Spill(_)) => {
                        lost = true;
                        continue;
                    }
                    _ => continue,
                };
                fr.slots.push((k, j));
            }
            frames.push(fr);
        }
        if lost {
            return None;
        }
        safe.sort_unstable();
        safe.dedup_by_key(|e| e.0);
        let mut st = Self {
            regs,
            frames: Rc::new(frames),
            safe: Facts::from(safe),
            next,
            refs: self.refs.clone(),
        };
        st.gc();
        Some(st)
    }

    /// Whether the registers and spilled registers that hold a constant in
    /// one state hold the same in the other.
    pub fn same_constants(&self, o: &Self) -> bool {
        let konst = |r: &Reg| match r {
            Reg::Scalar(v) => v.n.as_const(),
            _ => None,
        };
        let same = |a: &Reg, b: &Reg| konst(a) == konst(b);
        self.frames.len() == o.frames.len()
            && self.regs.iter().zip(&o.regs).all(|(a, b)| same(a, b))
            && self.frames.iter().zip(o.frames.iter()).all(|(f, g)| {
                f.saved.iter().zip(&g.saved).all(|(a, b)| same(a, b))
                    && f.slots.len() == g.slots.len()
                    && f.slots.iter().zip(&g.slots).all(|(x, y)| {
                        x.0 == y.0
                            && match (x.1, y.1) {
                                (Slot::Spill(a), Slot::Spill(b)) => same(&a, &b),
                                (a, b) => a == b,
                            }
                    })
            })
    }

    /// Whether `self` is contained in `o`: everything proven from `o` on
    /// holds from `self` on.  Symbols are matched up as they are met:
    /// `o`'s symbol `s` must stand for the same `self` symbol (plus a
    /// fixed offset) everywhere.
    ///
    /// With `precise` (see [`super::precise`]), only the numbers of `o`'s
    /// registers r0-r9 and stack slots of the program's frame in that set
    /// are compared; any number is within the others, and facts about
    /// symbols only such numbers hold are not needed.
    ///
    /// `m` is scratch space, reused between comparisons (it is emptied
    /// first).
    pub fn within(&self, o: &Packed, arena: &[Reg], precise: Option<u128>, m: &mut SymMap) -> bool {
        if self.frames.len() != o.frames.len() || self.refs != o.refs {
            return false;
        }
        let loose = |bit: usize| precise.is_some_and(|mask| bit < 128 && mask & (1 << bit) == 0);
        m.len = 0;
        m.slots = 0;
        // any register is within one that `o` does not hold
        if !o.regs(arena).all(|(r, b)| {
            let a = &self.regs[r];
            match (a, b) {
                (Reg::Scalar(_), Reg::Scalar(_)) if r < 10 && loose(r) => true,
                _ => a.within(b, m),
            }
        }) {
            return false;
        }
        for (depth, (a, b)) in self.frames.iter().zip(o.frames.iter()).enumerate() {
            if a.callsite != b.callsite
                || !a.saved.iter().zip(&b.saved).all(|(x, y)| x.within(y, m))
            {
                return false;
            }
            // both slot lists are sorted by index: walk them together
            let mut mine = a.slots.iter().peekable();
            for &(k, s) in &b.slots {
                m.slots += 1;
                while mine.next_if(|&&(j, _)| j < k).is_some() {}
                let here = mine.next_if(|&&(j, _)| j == k).map(|&(_, t)| t);
                let ok = match (here, s) {
                    (
                        Some(Slot::Spill(Reg::Scalar(_)) | Slot::Bytes(0xff)),
                        Slot::Spill(Reg::Scalar(_)),
                    ) if depth == 0 && loose(10 + usize::from(k)) => true,
                    (None, Slot::Bytes(0)) => true,
                    (None, _) => false,
                    (Some(Slot::Spill(x)), Slot::Spill(y)) => x.within(&y, m),
                    (Some(Slot::Spill(Reg::Scalar(_))), Slot::Bytes(_)) => true,
                    (Some(Slot::Bytes(x)), Slot::Bytes(y)) => x & y == y,
                    _ => false,
                };
                if !ok {
                    return false;
                }
            }
        }
        // o's fact LEN - s >= k, with s = t + d here: LEN - t >= k + d
        if precise.is_some_and(|p| p & super::precise::FACTS == 0) {
            return true;
        }
        o.safe.iter().all(|&(s, k)| match m.get(s) {
            Some((t, d)) => k
                .checked_add(d)
                .is_some_and(|need| self.safe(t).is_some_and(|have| have >= need)),
            // held by imprecise numbers only
            None => precise.is_some() && s != ZERO,
        })
    }

    /// One-line description for the verifier log.
    pub fn describe(&self) -> String {
        let mut out = String::new();
        for (i, r) in self.regs.iter().enumerate() {
            if r.is_init() && !(i == 10 && self.depth() == 0) {
                let _ = write!(out, " r{i}={r}");
            }
        }
        if let Some(fr) = self.frames.last() {
            for &(k, s) in &fr.slots {
                let off = i64::from(k) * 8 - STACK_SIZE;
                match s {
                    Slot::Spill(r) => {
                        let _ = write!(out, " fp{off}={r}");
                    }
                    Slot::Bytes(0xff) => {
                        let _ = write!(out, " fp{off}=data");
                    }
                    Slot::Bytes(m) => {
                        let _ = write!(out, " fp{off}=data/{m:08b}");
                    }
                }
            }
        }
        let _ = write!(out, " | len>={}", self.min_len());
        for &(s, k) in self.safe.iter() {
            match s {
                ZERO => {}
                META => {
                    let _ = write!(out, " len-meta>={k}");
                }
                s => {
                    let _ = write!(out, " len-v{}>={k}", s - FIRST);
                }
            }
        }
        if self.depth() > 0 {
            let _ = write!(out, " | depth {}", self.depth());
        }
        out
    }
}
