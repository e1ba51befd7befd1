// SPDX-License-Identifier: GPL-2.0-or-later

//! Precision: which numbers of a stored state its proof depends on.
//!
//! A stored state (a checkpoint) prunes a later state that is *within*
//! it.  Comparing every number exactly is sound but often fails for
//! numbers whose exact range never mattered: a hash accumulated from
//! packet bytes, a checksum, a counter only ever stored.  Like the
//! kernel's verifier, this one records, for each checkpoint, the numbers
//! its proof used ("precise" locations: registers r0-r9 and the 8-byte
//! stack slots of the program's frame), and once the checkpoint's
//! exploration is complete it compares only those exactly; any number is
//! within an imprecise one.
//!
//! Instead of replaying instructions backwards, a path carries its
//! *dependencies*: for each register and stack slot, the set of locations
//! of the path's last checkpoint its number was computed from ([`Deps`]).
//! A checkpoint keeps the dependencies the path had when it was stored
//! (locations of its parent checkpoint), so marking a location precise
//! walks up the chain of checkpoints.  A number is *used* (its locations
//! marked precise) when its range decides something the proof relies on:
//!
//! * pointer arithmetic (the offset range, or a constant offset);
//! * a helper argument the helper's checks look at (sizes, flags, a
//!   `callx` helper ID);
//! * a conditional jump that only one way is possible (the branch not
//!   explored is only safe because of the range);
//! * an atomic operation on the stack;
//!
//! and numbers compared by a conditional jump that both ways are possible
//! depend on each other from then on (what one branch learns about one of
//! them narrows the other, also through shared symbols: every location
//! holding the same symbol joins the group).  Loads from the packet, the
//! context or a map give numbers that depend on nothing of the state;
//! pointers are always compared exactly.
//!
//! Programs with bpf-to-bpf calls are not tracked: their states are
//! compared exactly, as before.

use super::exec::size_of;
use super::state::{slot_of, Reg, Slot, State, Sym, LEN, NONE, STACK_SIZE, ZERO};
use crate::check::{Insn, CALL, EXIT, LDDW};
use crate::helpers::{Arg, Ret};

/// A set of locations: bit `r` for register `r` (0-9), bit `10 + k` for
/// stack slot `k` of the program's frame, and [`FACTS`].
pub type Mask = u128;

const SLOT0: u32 = 10;

/// The facts about the packet's length ([`State::safe`], with the known
/// minimum length): used by packet accesses and helper calls, and learnt
/// from comparisons of packet pointers and of numbers tied to the length.
pub const FACTS: Mask = 1 << (SLOT0 + 64);

/// Every location.
const ALL: Mask = ((1 << (SLOT0 + 64)) - 1) | FACTS;

/// Register `r`'s location (r10, the frame pointer, has none).
const fn reg_bit(r: usize) -> Mask {
    if r < SLOT0 as usize {
        1 << r
    } else {
        0
    }
}

/// Stack slot `k`'s location (slots are below 64).
const fn slot_bit(k: usize) -> Mask {
    if k < 64 {
        1 << (SLOT0 as usize + k)
    } else {
        0
    }
}

/// Dependencies of the numbers of a path's state on the locations of its
/// last checkpoint.
#[derive(Clone, Debug, Default)]
pub struct Deps {
    regs: [Mask; 10],
    /// Stack slots with dependencies, sorted by slot.
    slots: Vec<(u8, Mask)>,
    /// Those of the length facts.
    facts: Mask,
}

/// What a step does to precision, beyond updating the dependencies.
#[derive(Default)]
pub struct Effect {
    /// Locations whose numbers were used.
    pub uses: Mask,
    /// For a conditional jump: the locations it relates and the union of
    /// their dependencies.
    pub branch: Option<(Mask, Mask)>,
}

impl Deps {
    /// At a new checkpoint: every number depends on itself.
    pub fn identity(st: &State) -> Self {
        let mut d = Self {
            facts: FACTS,
            ..Self::default()
        };
        for (r, m) in d.regs.iter_mut().enumerate() {
            if matches!(st.regs[r], Reg::Scalar(_)) {
                *m = reg_bit(r);
            }
        }
        if let Some(fr) = st.frames.first() {
            for &(k, s) in &fr.slots {
                if matches!(s, Slot::Spill(Reg::Scalar(_))) && k < 64 {
                    d.slots.push((k, slot_bit(usize::from(k))));
                }
            }
        }
        d
    }

    fn reg(&self, r: u8) -> Mask {
        self.regs.get(usize::from(r)).copied().unwrap_or(0)
    }

    fn set_reg(&mut self, r: u8, m: Mask) {
        if let Some(x) = self.regs.get_mut(usize::from(r)) {
            *x = m;
        }
    }

    fn slot(&self, k: usize) -> Mask {
        self.slots
            .binary_search_by_key(&k, |&(i, _)| usize::from(i))
            .map_or(0, |p| self.slots[p].1)
    }

    fn set_slot(&mut self, k: usize, m: Mask) {
        let Ok(key) = u8::try_from(k) else {
            return;
        };
        match self.slots.binary_search_by_key(&key, |&(i, _)| i) {
            Ok(p) if m == 0 => {
                self.slots.remove(p);
            }
            Ok(p) => self.slots[p].1 = m,
            Err(_) if m == 0 => {}
            Err(p) => self.slots.insert(p, (key, m)),
        }
    }

    /// The dependencies of the locations in `mask`.
    pub fn of(&self, mask: Mask) -> Mask {
        of(mask, |r| self.regs[r], &self.slots, self.facts)
    }

    /// The same, kept for later: the registers' masks are appended to
    /// `arena`.
    pub fn pack(self, arena: &mut Vec<Mask>) -> PackedDeps {
        let at = arena.len();
        let mut has = 0;
        for (r, &m) in self.regs.iter().enumerate() {
            if m != 0 {
                has |= 1 << r;
                arena.push(m);
            }
        }
        PackedDeps {
            has,
            at,
            slots: self.slots,
            facts: self.facts,
        }
    }
}

/// The dependencies of the locations in `mask`, the registers' from
/// `reg`.
fn of(mask: Mask, reg: impl Fn(usize) -> Mask, slots: &[(u8, Mask)], facts: Mask) -> Mask {
    let mut out = 0;
    let mut m = mask;
    while m != 0 {
        let b = m.trailing_zeros();
        m &= m - 1;
        out |= if b < SLOT0 {
            reg(b as usize)
        } else if b < SLOT0 + 64 {
            let k = (b - SLOT0) as usize;
            slots
                .binary_search_by_key(&k, |&(i, _)| usize::from(i))
                .map_or(0, |p| slots[p].1)
        } else {
            facts
        };
    }
    out
}

/// [`Deps`] kept for later (by a checkpoint, or a path waiting to be
/// explored): only the registers with dependencies are stored, in an
/// arena the verifier keeps.
#[derive(Debug)]
pub struct PackedDeps {
    /// Bit `r`: register `r`'s mask is stored (the others are empty).
    has: u16,
    /// Where the stored masks start in the arena.
    at: usize,
    slots: Vec<(u8, Mask)>,
    facts: Mask,
}

impl PackedDeps {
    /// Where its masks start in the arena (what follows them there
    /// belongs to dependencies packed after these).
    pub const fn start(&self) -> usize {
        self.at
    }

    /// Register `r`'s mask.
    fn reg(&self, arena: &[Mask], r: usize) -> Mask {
        if r >= 16 || self.has & (1 << r) == 0 {
            return 0;
        }
        let rank = (self.has & ((1 << r) - 1)).count_ones() as usize;
        arena[self.at + rank]
    }

    /// The dependencies of the locations in `mask`.
    pub fn of(&self, arena: &[Mask], mask: Mask) -> Mask {
        of(mask, |r| self.reg(arena, r), &self.slots, self.facts)
    }

    pub fn unpack(self, arena: &[Mask]) -> Deps {
        let mut regs = [0; 10];
        for (r, m) in regs.iter_mut().enumerate() {
            *m = self.reg(arena, r);
        }
        Deps {
            regs,
            slots: self.slots,
            facts: self.facts,
        }
    }
}

impl Deps {
    /// Apply instruction `x` (about to run on `st`) to the dependencies.
    pub fn step(&mut self, x: &Insn, st: &State) -> Effect {
        let mut e = Effect::default();
        let class = x.code & 0x07;
        let base = match class {
            0x01 => Some(x.src),
            0x02 | 0x03 => Some(x.dst),
            _ => None,
        };
        if base.is_some_and(|r| matches!(st.regs.get(usize::from(r)), Some(Reg::Pkt(_)))) {
            e.uses |= self.facts;
        }
        match class {
            0x00 if x.code == LDDW => self.set_reg(x.dst, 0),
            0x00 => e.uses |= self.of(ALL),
            0x01 => {
                // a fill from the stack carries the slots' dependencies;
                // anything else read from memory depends on no location
                let d = self.stack_bytes(st, x.src, x.off, size_of(x.code));
                self.set_reg(x.dst, d.map_or(0, |(m, _)| m));
            }
            0x02 | 0x03 => e.uses |= self.store(x, st),
            0x04 | 0x07 => e.uses |= self.alu(x, st),
            _ if x.code == CALL || x.code == crate::check::CALLX => e.uses |= self.call(x),
            _ if x.code == EXIT || x.code & 0xf0 == 0x00 => {}
            _ => {
                let locs = related(x, st);
                e.branch = Some((locs, self.of(locs)));
            }
        }
        e
    }

    /// A store or an atomic operation; the locations it uses.
    fn store(&mut self, x: &Insn, st: &State) -> Mask {
        let size = size_of(x.code);
        let class = x.code & 0x07;
        let src = if class == 0x03 { self.reg(x.src) } else { 0 };
        if class == 0x03 && x.code & 0xe0 == 0xc0 {
            // atomics: everything involved is used; what they fetch then
            // depends on nothing left imprecise
            let slots = self.stack_bytes(st, x.dst, x.off, size);
            let uses = src | self.reg(0) | slots.map_or(0, |(m, _)| m);
            if x.imm == 0xf1 {
                self.set_reg(0, 0);
            } else if x.imm & 1 != 0 {
                self.set_reg(x.src, 0);
            }
            for k in slots.into_iter().flat_map(|(_, ks)| ks).flatten() {
                self.set_slot(k, 0);
            }
            return uses;
        }
        if let Some(a) = stack_addr(st, x.dst, x.off) {
            match slot_of(a) {
                (k, 0) if size == 8 => self.set_slot(k, src),
                _ => {
                    for t in touched(a, size).into_iter().flatten() {
                        let m = self.slot(t) | src;
                        self.set_slot(t, m);
                    }
                }
            }
        }
        0
    }

    /// An ALU instruction; the locations it uses.
    fn alu(&mut self, x: &Insn, st: &State) -> Mask {
        let by_reg = x.code & 0x08 != 0;
        let pointer = |r: u8| st.regs.get(usize::from(r)).is_some_and(Reg::is_pointer);
        let src = if by_reg { self.reg(x.src) } else { 0 };
        match x.code & 0xf0 {
            0xd0 | 0x80 => {}
            0xb0 => self.set_reg(x.dst, src),
            _ if pointer(x.dst) || by_reg && pointer(x.src) => {
                // pointer arithmetic: the offset's range is used; pointers
                // are compared exactly
                let uses = src | self.reg(x.dst);
                self.set_reg(x.dst, 0);
                return uses;
            }
            _ => self.set_reg(x.dst, self.reg(x.dst) | src),
        }
        0
    }

    /// A helper call; the locations it uses.  Helpers may read the
    /// packet; the numbers the checks of a helper's arguments look at are
    /// used: sizes, a NULL memory argument, a ring buffer record's size
    /// (others are only required to be numbers, and pointers are
    /// compared exactly).
    fn call(&mut self, x: &Insn) -> Mask {
        let sig = (x.code == CALL && x.src == 0)
            .then(|| crate::helpers::signature(x.imm))
            .flatten();
        let mut uses = self.facts;
        for r in 1..=5u8 {
            let looked_at = sig.is_none_or(|s| {
                matches!(
                    s.args[usize::from(r - 1)],
                    Arg::Size | Arg::ReadMemOrNull { .. }
                ) || (r == 2 && s.ret == Ret::RecordOrNull)
            });
            if looked_at {
                uses |= self.reg(r);
            }
        }
        if x.code == crate::check::CALLX {
            uses |= crate::check::callx_reg(x).map_or(0, |r| self.reg(r));
        }
        for r in 0..=5 {
            self.set_reg(r, 0);
        }
        uses
    }

    /// After a conditional jump both ways of which are possible: the
    /// related locations depend on each other.
    pub fn relate(&mut self, locs: Mask, union: Mask) {
        let mut m = locs;
        while m != 0 {
            let b = m.trailing_zeros();
            m &= m - 1;
            if b < SLOT0 {
                self.regs[b as usize] = union;
            } else if b < SLOT0 + 64 {
                self.set_slot((b - SLOT0) as usize, union);
            } else {
                self.facts = union;
            }
        }
    }

    /// The dependencies of the stack slots an access of `size` bytes at
    /// `r + off` covers (spilled numbers only), and those slots; `None`
    /// if `r` does not point into the program's frame.
    fn stack_bytes(
        &self,
        st: &State,
        r: u8,
        off: i16,
        size: u32,
    ) -> Option<(Mask, [Option<usize>; 2])> {
        let a = stack_addr(st, r, off)?;
        let fr = st.frames.first()?;
        let ks = touched(a, size);
        let m = ks
            .into_iter()
            .flatten()
            .filter(|&k| matches!(fr.slot(k), Some(Slot::Spill(_))))
            .fold(0, |m, k| m | self.slot(k));
        Some((m, ks))
    }
}

/// The locations a conditional jump relates: the compared numbers, every
/// location sharing a symbol with them, and the length facts when it may
/// teach something about the packet's length.
fn related(x: &Insn, st: &State) -> Mask {
    let reg = |r: u8| st.regs.get(usize::from(r)).copied().unwrap_or(Reg::Uninit);
    let dst = reg(x.dst);
    let src = if x.code & 0x08 != 0 {
        reg(x.src)
    } else {
        Reg::Uninit
    };
    let mut locs = reg_bit(usize::from(x.dst));
    if x.code & 0x08 != 0 {
        locs |= reg_bit(usize::from(x.src));
    }
    let syms = [dst.sym(), src.sym()];
    if matches!(dst, Reg::Pkt(_)) || matches!(src, Reg::Pkt(_)) || syms.contains(&LEN) {
        locs |= FACTS;
    }
    let shared = |s: Sym| s != NONE && s != ZERO && syms.contains(&s);
    for (r, v) in st.regs.iter().enumerate() {
        if matches!(v, Reg::Scalar(_)) && shared(v.sym()) {
            locs |= reg_bit(r);
        }
    }
    if let Some(fr) = st.frames.first() {
        for &(k, s) in &fr.slots {
            if matches!(s, Slot::Spill(r @ Reg::Scalar(_)) if shared(r.sym())) {
                locs |= slot_bit(usize::from(k));
            }
        }
    }
    locs
}

/// The frame offset `r + off` addresses, if `r` points into the
/// program's own frame.
fn stack_addr(st: &State, r: u8, off: i16) -> Option<i64> {
    match st.regs.get(usize::from(r))? {
        Reg::Stack { frame: 0, off: o } => o.checked_add(i64::from(off)),
        _ => None,
    }
}

/// The (at most two) slots `size` bytes at frame offset `a` cover.
fn touched(a: i64, size: u32) -> [Option<usize>; 2] {
    let ok = |o: i64| (-STACK_SIZE..0).contains(&o).then(|| slot_of(o).0);
    let first = ok(a);
    let last = ok(a + i64::from(size.max(1)) - 1);
    [first, last.filter(|&l| Some(l) != first)]
}
