// SPDX-License-Identifier: GPL-2.0-or-later

//! Numeric abstract domain of the verifier: known bits ([`Tnum`]) plus
//! unsigned and signed bounds ([`Range`]), kept consistent with each other.

use std::fmt;

/// Known bits of a 64-bit value: bits set in `mask` are unknown, the
/// others are those of `value` (whose unknown bits are 0).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Tnum {
    pub value: u64,
    pub mask: u64,
}

impl Tnum {
    pub const UNKNOWN: Self = Self {
        value: 0,
        mask: u64::MAX,
    };

    pub const fn konst(v: u64) -> Self {
        Self { value: v, mask: 0 }
    }

    /// The smallest tnum containing every value of `[min, max]`.
    pub const fn from_range(min: u64, max: u64) -> Self {
        let chi = min ^ max;
        let bits = 64 - chi.leading_zeros();
        if bits >= 64 {
            return Self::UNKNOWN;
        }
        let delta = (1u64 << bits) - 1;
        Self {
            value: min & !delta,
            mask: delta,
        }
    }

    const fn add(self, o: Self) -> Self {
        let sm = self.mask.wrapping_add(o.mask);
        let sv = self.value.wrapping_add(o.value);
        let sigma = sm.wrapping_add(sv);
        let chi = sigma ^ sv;
        let mu = chi | self.mask | o.mask;
        Self {
            value: sv & !mu,
            mask: mu,
        }
    }

    const fn sub(self, o: Self) -> Self {
        let dv = self.value.wrapping_sub(o.value);
        let alpha = dv.wrapping_add(self.mask);
        let beta = dv.wrapping_sub(o.mask);
        let chi = alpha ^ beta;
        let mu = chi | self.mask | o.mask;
        Self {
            value: dv & !mu,
            mask: mu,
        }
    }

    const fn and(self, o: Self) -> Self {
        let alpha = self.value | self.mask;
        let beta = o.value | o.mask;
        let v = self.value & o.value;
        Self {
            value: v,
            mask: alpha & beta & !v,
        }
    }

    const fn or(self, o: Self) -> Self {
        let v = self.value | o.value;
        let mu = self.mask | o.mask;
        Self {
            value: v,
            mask: mu & !v,
        }
    }

    const fn xor(self, o: Self) -> Self {
        let v = self.value ^ o.value;
        let mu = self.mask | o.mask;
        Self {
            value: v & !mu,
            mask: mu,
        }
    }

    const fn shl(self, k: u32) -> Self {
        Self {
            value: self.value << k,
            mask: self.mask << k,
        }
    }

    const fn shr(self, k: u32) -> Self {
        Self {
            value: self.value >> k,
            mask: self.mask >> k,
        }
    }

    /// Known trailing zero bits.
    const fn trailing_zeros(self) -> u32 {
        (self.value | self.mask).trailing_zeros()
    }

    const fn mul(self, o: Self) -> Self {
        if self.mask == 0 && o.mask == 0 {
            return Self::konst(self.value.wrapping_mul(o.value));
        }
        let tz = self.trailing_zeros() + o.trailing_zeros();
        if tz >= 64 {
            return Self::konst(0);
        }
        Self {
            value: 0,
            mask: u64::MAX << tz,
        }
    }

    pub const fn cast32(self) -> Self {
        Self {
            value: self.value & 0xffff_ffff,
            mask: self.mask & 0xffff_ffff,
        }
    }

    const fn intersect(self, o: Self) -> Self {
        let v = self.value | o.value;
        let mu = self.mask & o.mask;
        Self {
            value: v & !mu,
            mask: mu,
        }
    }

    const fn union(self, o: Self) -> Self {
        let mu = self.mask | o.mask | (self.value ^ o.value);
        Self {
            value: self.value & !mu,
            mask: mu,
        }
    }

    /// Whether every value of `self` is in `o`.
    const fn within(self, o: Self) -> bool {
        self.mask & !o.mask == 0 && self.value & !o.mask == o.value
    }
}

/// An abstract 64-bit value: the values within both bound pairs whose
/// bits agree with `t`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Range {
    pub umin: u64,
    pub umax: u64,
    pub smin: i64,
    pub smax: i64,
    pub t: Tnum,
}

/// Comparison operators of conditional jumps.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cmp {
    Eq,
    Ne,
    Gt,
    Ge,
    Lt,
    Le,
    Sgt,
    Sge,
    Slt,
    Sle,
    Set,
    NotSet,
}

impl Cmp {
    /// The operator from the jump opcode's operation nibble.
    pub const fn from_op(op: u8) -> Option<Self> {
        Some(match op {
            0x10 => Self::Eq,
            0x20 => Self::Gt,
            0x30 => Self::Ge,
            0x40 => Self::Set,
            0x50 => Self::Ne,
            0x60 => Self::Sgt,
            0x70 => Self::Sge,
            0xa0 => Self::Lt,
            0xb0 => Self::Le,
            0xc0 => Self::Slt,
            0xd0 => Self::Sle,
            _ => return None,
        })
    }

    /// The operator that holds when `self` does not.
    pub const fn negate(self) -> Self {
        match self {
            Self::Eq => Self::Ne,
            Self::Ne => Self::Eq,
            Self::Gt => Self::Le,
            Self::Ge => Self::Lt,
            Self::Lt => Self::Ge,
            Self::Le => Self::Gt,
            Self::Sgt => Self::Sle,
            Self::Sge => Self::Slt,
            Self::Slt => Self::Sge,
            Self::Sle => Self::Sgt,
            Self::Set => Self::NotSet,
            Self::NotSet => Self::Set,
        }
    }

    /// `a op b` is `b swap(op) a`.
    pub const fn swap(self) -> Self {
        match self {
            Self::Gt => Self::Lt,
            Self::Ge => Self::Le,
            Self::Lt => Self::Gt,
            Self::Le => Self::Ge,
            Self::Sgt => Self::Slt,
            Self::Sge => Self::Sle,
            Self::Slt => Self::Sgt,
            Self::Sle => Self::Sge,
            o => o,
        }
    }

    /// Evaluate on concrete 64-bit values.
    pub const fn eval(self, a: u64, b: u64) -> bool {
        match self {
            Self::Eq => a == b,
            Self::Ne => a != b,
            Self::Gt => a > b,
            Self::Ge => a >= b,
            Self::Lt => a < b,
            Self::Le => a <= b,
            Self::Sgt => (a as i64) > (b as i64),
            Self::Sge => (a as i64) >= (b as i64),
            Self::Slt => (a as i64) < (b as i64),
            Self::Sle => (a as i64) <= (b as i64),
            Self::Set => a & b != 0,
            Self::NotSet => a & b == 0,
        }
    }
}

impl Range {
    pub const UNKNOWN: Self = Self {
        umin: 0,
        umax: u64::MAX,
        smin: i64::MIN,
        smax: i64::MAX,
        t: Tnum::UNKNOWN,
    };

    pub const fn konst(v: u64) -> Self {
        Self {
            umin: v,
            umax: v,
            smin: v as i64,
            smax: v as i64,
            t: Tnum::konst(v),
        }
    }

    /// `[min, max]` (unsigned).
    pub fn urange(min: u64, max: u64) -> Self {
        let mut r = Self::UNKNOWN;
        r.umin = min;
        r.umax = max;
        r.norm().unwrap_or(Self::UNKNOWN)
    }

    /// An unknown value of `bytes` bytes, zero-extended.
    pub fn unknown_bytes(bytes: u32) -> Self {
        if bytes >= 8 {
            Self::UNKNOWN
        } else {
            Self::urange(0, (1u64 << (bytes * 8)) - 1)
        }
    }

    pub const fn as_const(&self) -> Option<u64> {
        if self.t.mask == 0 {
            Some(self.t.value)
        } else {
            None
        }
    }

    /// Make the bounds and known bits agree; `None` if no value is left
    /// (an infeasible branch).
    pub fn norm(mut self) -> Option<Self> {
        for round in 0..2 {
            let before = self;
            // known bits -> bounds
            self.umin = self.umin.max(self.t.value);
            self.umax = self.umax.min(self.t.value | self.t.mask);
            let sign = 1u64 << 63;
            self.smin = self.smin.max((self.t.value | (self.t.mask & sign)) as i64);
            self.smax = self.smax.min((self.t.value | (self.t.mask & !sign)) as i64);
            // signed <-> unsigned
            if self.smin >= 0 || self.smax < 0 {
                self.umin = self.umin.max(self.smin as u64);
                self.umax = self.umax.min(self.smax as u64);
            }
            if (self.umax as i64) >= 0 || (self.umin as i64) < 0 {
                // both bounds in the same signed half
                if self.umin <= self.umax {
                    self.smin = self.smin.max(self.umin as i64);
                    self.smax = self.smax.min(self.umax as i64);
                }
            }
            if self.umin > self.umax || self.smin > self.smax {
                return None;
            }
            // bounds -> known bits
            self.t = self.t.intersect(Tnum::from_range(self.umin, self.umax));
            if self.t.value & !self.t.mask != self.t.value {
                return None;
            }
            // a second round only if the first changed something
            if round == 0 && self == before {
                break;
            }
        }
        if self.umin > self.umax || self.smin > self.smax {
            return None;
        }
        Some(self)
    }

    fn from_t(t: Tnum) -> Self {
        let mut r = Self::UNKNOWN;
        r.t = t;
        r.norm().unwrap_or(Self::UNKNOWN)
    }

    pub fn join(&self, o: &Self) -> Self {
        Self {
            umin: self.umin.min(o.umin),
            umax: self.umax.max(o.umax),
            smin: self.smin.min(o.smin),
            smax: self.smax.max(o.smax),
            t: self.t.union(o.t),
        }
    }

    /// Whether every value of `self` is in `o`.
    pub const fn within(&self, o: &Self) -> bool {
        self.umin >= o.umin
            && self.umax <= o.umax
            && self.smin >= o.smin
            && self.smax <= o.smax
            && self.t.within(o.t)
    }

    pub fn add(&self, o: &Self) -> Self {
        let mut r = Self::from_t(self.t.add(o.t));
        if let (Some(lo), Some(hi)) = (self.umin.checked_add(o.umin), self.umax.checked_add(o.umax))
        {
            r.umin = r.umin.max(lo);
            r.umax = r.umax.min(hi);
        }
        if let (Some(lo), Some(hi)) = (self.smin.checked_add(o.smin), self.smax.checked_add(o.smax))
        {
            r.smin = r.smin.max(lo);
            r.smax = r.smax.min(hi);
        }
        r.norm().unwrap_or(Self::UNKNOWN)
    }

    pub fn sub(&self, o: &Self) -> Self {
        let mut r = Self::from_t(self.t.sub(o.t));
        if self.umin >= o.umax {
            r.umin = r.umin.max(self.umin - o.umax);
            r.umax = r.umax.min(self.umax - o.umin);
        }
        if let (Some(lo), Some(hi)) = (self.smin.checked_sub(o.smax), self.smax.checked_sub(o.smin))
        {
            r.smin = r.smin.max(lo);
            r.smax = r.smax.min(hi);
        }
        r.norm().unwrap_or(Self::UNKNOWN)
    }

    fn mul(&self, o: &Self) -> Self {
        let mut r = Self::from_t(self.t.mul(o.t));
        if let Some(hi) = self.umax.checked_mul(o.umax) {
            r.umin = r.umin.max(self.umin * o.umin);
            r.umax = r.umax.min(hi);
        }
        r.norm().unwrap_or(Self::UNKNOWN)
    }

    fn and(&self, o: &Self) -> Self {
        let mut r = Self::from_t(self.t.and(o.t));
        r.umax = r.umax.min(self.umax).min(o.umax);
        r.norm().unwrap_or(Self::UNKNOWN)
    }

    fn or(&self, o: &Self) -> Self {
        let mut r = Self::from_t(self.t.or(o.t));
        r.umin = r.umin.max(self.umin).max(o.umin);
        r.norm().unwrap_or(Self::UNKNOWN)
    }

    fn shl(&self, k: u32) -> Self {
        let mut r = Self::from_t(self.t.shl(k));
        if self.umax.leading_zeros() >= k {
            r.umin = r.umin.max(self.umin << k);
            r.umax = r.umax.min(self.umax << k);
        }
        r.norm().unwrap_or(Self::UNKNOWN)
    }

    fn shr(&self, k: u32) -> Self {
        let mut r = Self::from_t(self.t.shr(k));
        r.umin = r.umin.max(self.umin >> k);
        r.umax = r.umax.min(self.umax >> k);
        r.norm().unwrap_or(Self::UNKNOWN)
    }

    fn arsh(&self, k: u32) -> Self {
        let mut r = Self::UNKNOWN;
        r.smin = self.smin >> k;
        r.smax = self.smax >> k;
        r.norm().unwrap_or(Self::UNKNOWN)
    }

    /// The 32-bit view (low half, zero-extended).
    pub fn low32(&self) -> Self {
        if self.umax <= u64::from(u32::MAX) {
            *self
        } else {
            Self::from_t(self.t.cast32())
        }
    }

    /// Apply ALU operation `op` (operation nibble) with operand `o`, on 64
    /// or 32 bits.  Division and modulo by zero follow rbpf (x / 0 = 0,
    /// x % 0 = x).
    pub fn alu(&self, op: u8, o: &Self, is64: bool) -> Self {
        let (a, b) = if is64 {
            (*self, *o)
        } else {
            (self.low32(), o.low32())
        };
        let bits = if is64 { 64 } else { 32 };
        let shift = b.as_const().map(|k| (k % bits) as u32);
        let r = match op {
            0x00 => a.add(&b),
            0x10 => a.sub(&b),
            0x20 => a.mul(&b),
            0x30 => Self::urange(0, a.umax),
            0x40 => a.or(&b),
            0x50 => a.and(&b),
            0x60 => match shift {
                Some(k) => a.shl(k),
                // a shift amount within [b.umin, b.umax] < bits: as the
                // kernel, bound by the extreme shifts when none overflows
                None if b.umax < bits && u64::from(a.umax.leading_zeros()) >= b.umax => {
                    Self::urange(a.umin << b.umin, a.umax << b.umax)
                }
                None => Self::UNKNOWN,
            },
            0x70 => match shift {
                Some(k) => a.shr(k),
                None if b.umax < bits => Self::urange(a.umin >> b.umax, a.umax >> b.umin),
                None => Self::urange(0, a.umax),
            },
            0x80 => Self::konst(0).sub(&a),
            0x90 => {
                if b.umin > 0 {
                    Self::urange(0, a.umax.min(b.umax - 1))
                } else {
                    Self::urange(0, a.umax)
                }
            }
            0xa0 => Self::from_t(a.t.xor(b.t)),
            0xb0 => b,
            0xc0 if is64 => shift.map_or(Self::UNKNOWN, |k| a.arsh(k)),
            _ => Self::UNKNOWN,
        };
        if let (Some(x), Some(y)) = (a.as_const(), b.as_const()) {
            return Self::konst(eval_alu(op, x, y, is64));
        }
        if is64 || r.umax <= u64::from(u32::MAX) {
            r
        } else {
            Self::from_t(r.t.cast32())
        }
    }

    /// Refine `a` and `b` assuming `a op b` holds; `None` when it cannot.
    pub fn refine(a: &Self, b: &Self, op: Cmp) -> Option<(Self, Self)> {
        let (mut x, mut y) = (*a, *b);
        match op {
            Cmp::Eq => {
                let mut m = x;
                m.umin = m.umin.max(y.umin);
                m.umax = m.umax.min(y.umax);
                m.smin = m.smin.max(y.smin);
                m.smax = m.smax.min(y.smax);
                m.t = m.t.intersect(y.t);
                let m = m.norm()?;
                return Some((m, m));
            }
            Cmp::Ne => {
                if let (Some(p), Some(q)) = (x.as_const(), y.as_const()) {
                    return (p != q).then_some((x, y));
                }
                // trim a constant at a bound
                if let Some(q) = y.as_const() {
                    if x.umin == q {
                        x.umin = q.checked_add(1)?;
                    }
                    if x.umax == q {
                        x.umax = q.checked_sub(1)?;
                    }
                }
                if let Some(p) = x.as_const() {
                    if y.umin == p {
                        y.umin = p.checked_add(1)?;
                    }
                    if y.umax == p {
                        y.umax = p.checked_sub(1)?;
                    }
                }
            }
            Cmp::Lt | Cmp::Le | Cmp::Gt | Cmp::Ge => {
                if matches!(op, Cmp::Gt | Cmp::Ge) {
                    let (q, p) = Self::refine(b, a, op.swap())?;
                    return Some((p, q));
                }
                let strict = u64::from(op == Cmp::Lt);
                // x < y: x <= y.umax - 1, y >= x.umin + 1
                x.umax = x.umax.min(y.umax.checked_sub(strict)?);
                y.umin = y.umin.max(x.umin.checked_add(strict)?);
            }
            Cmp::Slt | Cmp::Sle | Cmp::Sgt | Cmp::Sge => {
                if matches!(op, Cmp::Sgt | Cmp::Sge) {
                    let (q, p) = Self::refine(b, a, op.swap())?;
                    return Some((p, q));
                }
                let strict = i64::from(op == Cmp::Slt);
                x.smax = x.smax.min(y.smax.checked_sub(strict)?);
                y.smin = y.smin.max(x.smin.checked_add(strict)?);
            }
            Cmp::Set => {
                if x.t.and(y.t).value | x.t.and(y.t).mask == 0 {
                    return None;
                }
            }
            Cmp::NotSet => {
                if let Some(q) = y.as_const() {
                    x.t = x.t.intersect(Tnum { value: 0, mask: !q });
                    if x.t.value & q != 0 {
                        return None;
                    }
                }
                if x.t.and(y.t).value != 0 {
                    return None;
                }
            }
        }
        Some((x.norm()?, y.norm()?))
    }

    /// Shift all values by `k` (signed), if no value wraps.
    pub fn shifted(&self, k: i64) -> Option<Self> {
        let lo = i128::from(self.umin) + i128::from(k);
        let hi = i128::from(self.umax) + i128::from(k);
        if lo < 0 || hi > i128::from(u64::MAX) {
            return None;
        }
        Some(self.add(&Self::konst(k as u64)))
    }
}

/// Concrete ALU semantics (as rbpf executes them).
pub fn eval_alu(op: u8, a: u64, b: u64, is64: bool) -> u64 {
    if is64 {
        match op {
            0x00 => a.wrapping_add(b),
            0x10 => a.wrapping_sub(b),
            0x20 => a.wrapping_mul(b),
            0x30 => a.checked_div(b).unwrap_or(0),
            0x40 => a | b,
            0x50 => a & b,
            0x60 => a << (b & 63),
            0x70 => a >> (b & 63),
            0x80 => a.wrapping_neg(),
            0x90 => a.checked_rem(b).unwrap_or(a),
            0xa0 => a ^ b,
            0xb0 => b,
            0xc0 => ((a as i64) >> (b & 63)) as u64,
            _ => 0,
        }
    } else {
        let (x, y) = (a as u32, b as u32);
        u64::from(match op {
            0x00 => x.wrapping_add(y),
            0x10 => x.wrapping_sub(y),
            0x20 => x.wrapping_mul(y),
            0x30 => x.checked_div(y).unwrap_or(0),
            0x40 => x | y,
            0x50 => x & y,
            0x60 => x.wrapping_shl(y),
            0x70 => x.wrapping_shr(y),
            0x80 => x.wrapping_neg(),
            0x90 => x.checked_rem(y).unwrap_or(x),
            0xa0 => x ^ y,
            0xb0 => y,
            0xc0 => (x as i32).wrapping_shr(y) as u32,
            _ => 0,
        })
    }
}

impl fmt::Display for Range {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(c) = self.as_const() {
            return write!(f, "{}", c as i64);
        }
        if self.smin < 0 && self.smax >= 0 && self.umax == u64::MAX {
            write!(f, "[{}, {}]", self.smin, self.smax)?;
        } else {
            write!(f, "[{}, {}]", self.umin, self.umax)?;
        }
        if self.t.mask != u64::MAX && self.t != Tnum::from_range(self.umin, self.umax) {
            write!(f, " bits {:#x}/{:#x}", self.t.value, self.t.mask)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::{Cmp, Range};

    #[test]
    fn arithmetic() {
        let x = Range::urange(0, 255);
        let m = x.alu(0x50, &Range::konst(0xf), true);
        assert_eq!((m.umin, m.umax), (0, 15));
        let s = m.alu(0x60, &Range::konst(2), true);
        assert_eq!((s.umin, s.umax), (0, 60));
        assert_eq!(s.t.value & 3, 0);
        let a = s.alu(0x00, &Range::konst(4), true);
        assert_eq!((a.umin, a.umax), (4, 64));
        let w = Range::urange(0, 10).alu(0x10, &Range::konst(20), false);
        assert!(w.umax <= u64::from(u32::MAX));
    }

    #[test]
    fn variable_shifts() {
        // [0, 255] << [2, 3] is within [0, 2040]; >> [2, 3] within [0, 63]
        let x = Range::urange(0, 255);
        let s = Range::urange(2, 3);
        let l = x.alu(0x60, &s, true);
        assert_eq!((l.umin, l.umax), (0, 2040));
        let r = x.alu(0x70, &s, true);
        assert_eq!((r.umin, r.umax), (0, 63));
        // a shift that may overflow knows nothing
        let big = Range::urange(0, u64::MAX >> 1);
        assert_eq!(big.alu(0x60, &s, true).umax, u64::MAX);
        // every concrete shift lands within the abstract result
        for v in [0u64, 1, 77, 255] {
            for k in [2u64, 3] {
                assert!(l.umin <= v << k && v << k <= l.umax);
                assert!(r.umin <= v >> k && v >> k <= r.umax);
            }
        }
    }

    #[test]
    fn refinement() {
        let x = Range::urange(0, 100);
        let (t, _) = Range::refine(&x, &Range::konst(20), Cmp::Lt).unwrap();
        assert_eq!((t.umin, t.umax), (0, 19));
        let (f, _) = Range::refine(&x, &Range::konst(20), Cmp::Ge).unwrap();
        assert_eq!((f.umin, f.umax), (20, 100));
        assert!(Range::refine(&Range::konst(3), &Range::konst(3), Cmp::Ne).is_none());
        assert!(Range::refine(&Range::urange(5, 9), &Range::konst(3), Cmp::Lt).is_none());
        let (g, _) = Range::refine(&x, &Range::konst(50), Cmp::Gt).unwrap();
        assert_eq!((g.umin, g.umax), (51, 100));
    }
}
