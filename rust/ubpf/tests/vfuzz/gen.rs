// SPDX-License-Identifier: GPL-2.0-or-later

//! Program generator and mutator of the verifier fuzzer.
//!
//! Structured templates keep a rough model of what each register and
//! stack slot holds, so that most programs are plausible (and accepted),
//! and with a small probability they misuse it: an access one byte past
//! the proven length, a missing check, a pointer where a number belongs.
//! The mutator takes accepted programs and flips constants to edge
//! values, swaps opcodes within their class and inserts or deletes
//! instructions (jump offsets follow).

use super::{Case, Rng, Slot};
use ubpf::Convention;

// ---- instruction encoding ----

pub const LDX: u8 = 0x01;
pub const ST: u8 = 0x02;
pub const STX: u8 = 0x03;
pub const ALU: u8 = 0x04;
pub const JMP: u8 = 0x05;
pub const JMP32: u8 = 0x06;
pub const ALU64: u8 = 0x07;
pub const MEM: u8 = 0x60;
pub const X: u8 = 0x08;
pub const LDDW: u8 = 0x18;
pub const CALL: u8 = 0x85;
pub const EXIT: u8 = 0x95;

/// Size bits of a memory access of `n` bytes.
pub const fn size_bits(n: u8) -> u8 {
    match n {
        1 => 0x10,
        2 => 0x08,
        4 => 0x00,
        _ => 0x18,
    }
}

/// Bytes of a memory access, from its opcode.
pub const fn size_of(code: u8) -> u8 {
    match code & 0x18 {
        0x10 => 1,
        0x08 => 2,
        0x00 => 4,
        _ => 8,
    }
}

pub fn ins(code: u8, dst: u8, src: u8, off: i16, imm: i32) -> Slot {
    let o = off.to_le_bytes();
    let i = imm.to_le_bytes();
    [
        code,
        (dst & 15) | (src << 4),
        o[0],
        o[1],
        i[0],
        i[1],
        i[2],
        i[3],
    ]
}

pub fn off_of(s: &Slot) -> i16 {
    i16::from_le_bytes([s[2], s[3]])
}

pub fn imm_of(s: &Slot) -> i32 {
    i32::from_le_bytes([s[4], s[5], s[6], s[7]])
}

fn set_off(s: &mut Slot, off: i16) {
    s[2..4].copy_from_slice(&off.to_le_bytes());
}

fn set_imm(s: &mut Slot, imm: i32) {
    s[4..8].copy_from_slice(&imm.to_le_bytes());
}

/// A jump with a relative target in `off` (not `call`/`exit`).
pub fn is_jump(s: &Slot) -> bool {
    let class = s[0] & 7;
    (class == JMP || class == JMP32) && s[0] != CALL && s[0] != EXIT
}

/// A bpf-to-bpf call (target in `imm`).
pub fn is_local_call(s: &Slot) -> bool {
    s[0] == CALL && s[1] >> 4 == 1
}

// ---- edge values ----

/// 64-bit edge values (also used through `lddw`).
pub const EDGE64: &[i64] = &[
    0,
    1,
    -1,
    2,
    7,
    8,
    13,
    14,
    15,
    16,
    20,
    54,
    64,
    255,
    256,
    1500,
    4096,
    65535,
    65536,
    0x7fff_ffff,
    0x8000_0000,
    0xffff_ffff,
    0x1_0000_0000,
    0x1_0000_0001,
    -0x8000_0000,
    -0x8000_0001,
    i64::MAX,
    i64::MIN,
    i64::MIN + 1,
    i64::MAX - 15,
    1 << 62,
    -(1 << 62),
    -14,
    -20,
    -1500,
    -65536,
    1 << 40,
    -(1 << 40),
    (1 << 40) - 1,
    i64::MAX - 0xffff_ffff,
    i64::MAX - 0x1_ffff_ffff,
    i64::MIN + 0xffff_ffff,
];

/// 32-bit immediates at the edges.
pub const EDGE32: &[i32] = &[
    0,
    1,
    -1,
    2,
    3,
    4,
    7,
    8,
    13,
    14,
    15,
    16,
    20,
    21,
    34,
    54,
    60,
    64,
    255,
    256,
    1500,
    65535,
    65536,
    i32::MAX,
    i32::MIN,
    i32::MIN + 1,
    i32::MAX - 1,
    -14,
    -8,
    -512,
    0x7fff_0000,
];

/// Packet offsets worth trying.
const OFFS: &[i16] = &[
    -1, 0, 1, 2, 3, 7, 8, 12, 13, 14, 15, 16, 19, 20, 21, 23, 33, 34, 53, 54, 60, 64, 1499, 1500,
    32767, -32768,
];

// ---- a small assembler ----

#[derive(Clone, Copy, PartialEq, Eq)]
struct Label(usize);

#[derive(Default)]
struct Asm {
    code: Vec<Slot>,
    labels: Vec<Option<usize>>,
    fix: Vec<(usize, Label)>,
}

impl Asm {
    fn label(&mut self) -> Label {
        self.labels.push(None);
        Label(self.labels.len() - 1)
    }
    fn bind(&mut self, l: Label) {
        self.labels[l.0] = Some(self.code.len());
    }
    fn i(&mut self, code: u8, dst: u8, src: u8, off: i16, imm: i32) {
        self.code.push(ins(code, dst, src, off, imm));
    }
    fn lddw(&mut self, dst: u8, v: i64) {
        let v = v as u64;
        self.code.push(ins(LDDW, dst, 0, 0, v as u32 as i32));
        self.code.push(ins(0, 0, 0, 0, (v >> 32) as u32 as i32));
    }
    /// A jump (or, for `CALL`, a local call) to `l`.
    fn j(&mut self, code: u8, dst: u8, src: u8, imm: i32, l: Label) {
        self.fix.push((self.code.len(), l));
        self.i(code, dst, src, 0, imm);
    }
    fn finish(mut self) -> Vec<Slot> {
        for &(at, l) in &self.fix {
            let target = self.labels[l.0].expect("bound label");
            let rel = target as i64 - at as i64 - 1;
            if self.code[at][0] == CALL {
                set_imm(&mut self.code[at], rel as i32);
            } else {
                set_off(&mut self.code[at], i16::try_from(rel).unwrap_or(0));
            }
        }
        std::mem::take(&mut self.code)
    }
}

// ---- the structured generator ----

/// What the generator believes a register or stack slot holds.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum V {
    Uninit,
    Scalar,
    /// Packet pointer at a known constant offset.
    Pkt(i64),
    /// Pointer `data_meta` + a known constant offset.
    Meta(i64),
    End,
    Ctx,
    Stack,
    MapVal,
    MapOrNull,
    Handle,
}

/// Packet start, `data_end` (context) or length (raw).
const P: u8 = 8;
const E: u8 = 9;
const HASH: u8 = 6;
const ARRAY: u8 = 7;
/// Map value size of both maps (see `MAPS_C`).
pub const VALUE_SIZE: i64 = 8;

struct Gen<'a> {
    rng: &'a mut Rng,
    a: Asm,
    regs: [V; 11],
    slots: [V; 64],
    ctx: bool,
    maps: bool,
    /// Bytes proven present from the packet start (checks and `min_len`).
    safe: i64,
    end: Label,
    subs: Vec<(Label, u8)>,
    /// Host addresses worth comparing pointers against.
    hints: &'a [u64],
}

impl Gen<'_> {
    fn p(&mut self, n: u64) -> bool {
        self.rng.below(n) == 0
    }
    fn scratch(&mut self) -> u8 {
        let pool: &[u8] = if self.maps {
            &[0, 1, 2, 3, 4, 5]
        } else {
            &[0, 1, 2, 3, 4, 5, 6, 7]
        };
        self.rng.pick(pool)
    }
    fn reg_with(&mut self, f: impl Fn(V) -> bool) -> Option<u8> {
        let c: Vec<u8> = (0..11u8).filter(|&r| f(self.regs[r as usize])).collect();
        (!c.is_empty()).then(|| self.rng.pick(&c))
    }
    fn scalar(&mut self) -> u8 {
        if let Some(r) = self.reg_with(|v| v == V::Scalar) {
            if !self.p(3) {
                return r;
            }
        }
        let r = self.scratch();
        self.konst(r);
        r
    }
    fn edge64(&mut self) -> i64 {
        if !self.hints.is_empty() && self.p(24) {
            return self.rng.pick(self.hints) as i64;
        }
        let v = self.rng.pick(EDGE64);
        match self.rng.below(6) {
            0 => v.wrapping_add(self.rng.pick(&[-1, 1, 2, -2])),
            _ => v,
        }
    }
    fn edge32(&mut self) -> i32 {
        if self.p(5) {
            (self.rng.below(70) as i32) - 3
        } else {
            self.rng.pick(EDGE32)
        }
    }
    fn konst(&mut self, r: u8) {
        match self.rng.below(3) {
            0 => {
                let v = self.edge64();
                self.a.lddw(r, v);
            }
            1 => {
                let v = self.edge32();
                self.a.i(ALU64 | 0xb0, r, 0, 0, v);
            }
            _ => {
                let v = self.edge32();
                self.a.i(ALU | 0xb0, r, 0, 0, v);
            }
        }
        self.regs[r as usize] = V::Scalar;
    }
    fn set(&mut self, r: u8, v: V) {
        self.regs[r as usize] = v;
    }
    /// A packet pointer register and its offset.
    fn pkt(&mut self) -> (u8, i64) {
        let c: Vec<u8> = (0..10u8)
            .filter(|&r| matches!(self.regs[r as usize], V::Pkt(_)))
            .collect();
        let r = if c.is_empty() || self.p(2) {
            P
        } else {
            self.rng.pick(&c)
        };
        match self.regs[r as usize] {
            V::Pkt(o) => (r, o.clamp(-1 << 20, 1 << 20)),
            _ => (P, 0),
        }
    }
    fn size(&mut self) -> u8 {
        self.rng.pick(&[1, 2, 4, 8])
    }
    fn cond_op(&mut self) -> u8 {
        self.rng.pick(&[
            0x10, 0x20, 0x30, 0x40, 0x50, 0x60, 0x70, 0xa0, 0xb0, 0xc0, 0xd0,
        ])
    }
    fn jclass(&mut self) -> u8 {
        if self.p(4) {
            JMP32
        } else {
            JMP
        }
    }

    /// Ensure `p + k <= end` on the fall-through path (or on purpose not
    /// quite).
    fn check(&mut self, k: i64) {
        let k = k.clamp(0, 0x7fff);
        let cls = self.jclass();
        let end = self.end;
        if self.ctx {
            let t = self.scratch();
            let (base, o) = self.pkt();
            self.a.i(ALU64 | X | 0xb0, t, base, 0, 0); // t = base
            self.a.i(ALU64, t, 0, 0, (k - o) as i32); // t += k - o
            match self.rng.below(6) {
                0 => self.a.j(cls | X | 0xa0, E, t, 0, end), // if end < t
                1 => self.a.j(cls | X | 0x30, t, E, 0, end), // if t >= end (off by one)
                2 => self.a.j(cls | X | 0x60, t, E, 0, end), // signed
                3 => {
                    let op = self.cond_op();
                    self.a.j(cls | X | op, t, E, 0, end);
                }
                _ => self.a.j(cls | X | 0x20, t, E, 0, end), // if t > end
            }
            self.set(t, V::Pkt(k));
        } else {
            match self.rng.below(6) {
                0 => {
                    let t = self.scratch();
                    self.a.i(ALU64 | 0xb0, t, 0, 0, k as i32);
                    self.a.j(cls | X | 0x20, t, E, 0, end); // if k > len
                    self.set(t, V::Scalar);
                }
                1 => self.a.j(cls | 0xc0, E, 0, k as i32, end), // signed len < k
                2 => {
                    let op = self.cond_op();
                    self.a.j(cls | op, E, 0, k as i32, end);
                }
                3 => self.a.j(cls | 0xb0, E, 0, k as i32, end), // len <= k (off by one)
                _ => self.a.j(cls | 0xa0, E, 0, k as i32, end), // len < k
            }
        }
        self.safe = self.safe.max(k);
    }

    fn mem_off(&mut self, size: i64, base_off: i64) -> i16 {
        let hi = self.safe - size - base_off;
        if self.p(12) || hi < -base_off {
            return self.rng.pick(OFFS);
        }
        let lo = -base_off;
        let v = lo + self.rng.below(u64::try_from(hi - lo + 1).unwrap_or(1)) as i64;
        if self.p(10) {
            (hi + 1) as i16
        } else {
            v as i16
        }
    }

    fn load_pkt(&mut self) {
        if self.p(3) {
            let k = self.edge32().clamp(0, 1600);
            self.check(i64::from(k));
        }
        let sz = self.size();
        let (b, o) = self.pkt();
        let off = self.mem_off(i64::from(sz), o);
        let d = self.scratch();
        self.a.i(LDX | MEM | size_bits(sz), d, b, off, 0);
        self.set(d, V::Scalar);
    }

    fn store_pkt(&mut self) {
        let sz = self.size();
        let (b, o) = self.pkt();
        let off = self.mem_off(i64::from(sz), o);
        if self.p(2) {
            let v = self.edge32();
            self.a.i(ST | MEM | size_bits(sz), b, 0, off, v);
        } else {
            // usually a number; sometimes whatever (a pointer must be refused)
            let s = if self.p(6) {
                self.rng.below(11) as u8
            } else {
                self.scalar()
            };
            self.a.i(STX | MEM | size_bits(sz), b, s, off, 0);
        }
    }

    fn alu(&mut self) {
        let d = self.scalar();
        let ops = [
            0x00, 0x10, 0x20, 0x30, 0x40, 0x50, 0x60, 0x70, 0x80, 0x90, 0xa0, 0xb0, 0xc0,
        ];
        let op = self.rng.pick(&ops);
        let cls = if self.p(3) { ALU } else { ALU64 };
        if op == 0x80 {
            self.a.i(cls | op, d, 0, 0, 0);
        } else if self.p(2) {
            let imm = match op {
                0x60 | 0x70 | 0xc0 => self.rng.below(if cls == ALU { 32 } else { 64 }) as i32,
                0x30 | 0x90 => self.edge32().max(1),
                _ => self.edge32(),
            };
            self.a.i(cls | op, d, 0, 0, imm);
        } else {
            let s = self.scalar();
            let op = if op == 0x30 || op == 0x90 { 0xa0 } else { op };
            self.a.i(cls | X | op, d, s, 0, 0);
        }
        self.set(d, V::Scalar);
    }

    fn swap(&mut self) {
        let d = self.scalar();
        let code = if self.p(2) { 0xd4 } else { 0xdc };
        let w = self.rng.pick(&[16, 32, 64]);
        self.a.i(code, d, 0, 0, w);
    }

    /// A variable offset from packet bytes, bounded, added to a pointer.
    fn var_off(&mut self) {
        let (b, o) = self.pkt();
        let sz = self.rng.pick(&[1, 2, 4]);
        if self.safe < o + i64::from(sz) {
            self.check(o + i64::from(sz));
        }
        let x = self.scratch();
        self.a.i(LDX | MEM | size_bits(sz), x, b, 0, 0);
        self.set(x, V::Scalar);
        let bound: i64 = match self.rng.below(5) {
            0 => {
                let m = self.rng.pick(&[1, 3, 7, 15, 60, 255, 0xffff, -1]);
                let cls = if self.p(2) { ALU } else { ALU64 };
                self.a.i(cls | 0x50, x, 0, 0, m);
                i64::from(m.max(0)).max(0xffff_ffff * i64::from(m < 0))
            }
            1 => {
                let s = self.rng.pick(&[1, 4, 8, 12, 24, 28, 31, 32, 56, 60, 63]);
                self.a.i(ALU64 | 0x70, x, 0, 0, s);
                0xffff_ffff >> s.min(32)
            }
            2 => {
                let k = self.edge32();
                let cls = self.jclass();
                let op = self.rng.pick(&[0x20, 0x30, 0x60, 0x70, 0x50]);
                self.a.j(cls | op, x, 0, k, self.end);
                i64::from(k)
            }
            3 => {
                // compare against the length / end, like clang does
                if self.ctx {
                    let t = self.scratch();
                    self.a.i(ALU64 | X | 0xb0, t, P, 0, 0);
                    self.a.i(ALU64 | X, t, x, 0, 0);
                    self.a.i(ALU64, t, 0, 0, i32::from(sz));
                    let cls = self.jclass();
                    self.a.j(cls | X | 0x20, t, E, 0, self.end);
                    self.set(t, V::Scalar);
                } else {
                    let op = self.rng.pick(&[0x20, 0x30, 0x60, 0xa0, 0x50]);
                    let cls = self.jclass();
                    self.a.j(cls | X | op, x, E, 0, self.end);
                }
                0
            }
            _ => {
                let m = self.edge32();
                self.a.i(ALU64 | 0x90, x, 0, 0, m.max(1));
                i64::from(m)
            }
        };
        if self.p(2) {
            let k = (bound + 8).clamp(0, 1600);
            self.check(k);
        }
        let q = self.scratch();
        self.a.i(ALU64 | X | 0xb0, q, P, 0, 0);
        self.a.i(ALU64 | X, q, x, 0, 0);
        self.set(q, V::Pkt(0));
        let asz = self.size();
        let off = self.mem_off(i64::from(asz), 0).clamp(-4, 64);
        let d = self.scratch();
        if self.p(4) {
            self.a.i(STX | MEM | size_bits(asz), q, x, off, 0);
        } else {
            self.a.i(LDX | MEM | size_bits(asz), d, q, off, 0);
            self.set(d, V::Scalar);
        }
        self.set(q, V::Uninit);
    }

    /// Two ways give an offset different values (constants, a bounded or
    /// unbounded packet byte, a copy) and meet again; the offset may go
    /// through a stack slot, then moves a packet pointer that is read.
    /// What one way's exploration proved must not be taken for the other
    /// (the verifier's precision tracking).
    fn diamond_off(&mut self) {
        let (b, o) = self.pkt();
        if self.safe < o + 1 {
            self.check(o + 1);
        }
        let x = self.scratch();
        self.a.i(LDX | MEM | size_bits(1), x, b, 0, 0);
        self.set(x, V::Scalar);
        let d = self.scratch_not(x);
        let right = self.a.label();
        let join = self.a.label();
        let cls = self.jclass();
        let op = self.rng.pick(&[0x10, 0x20, 0x30, 0x40, 0x50, 0xa0]);
        let k = self.rng.pick(&[0, 1, 10, 100, 200, 255]);
        self.a.j(cls | op, x, 0, k, right);
        self.diamond_arm(d, x);
        self.a.j(JMP, 0, 0, 0, join);
        self.a.bind(right);
        self.diamond_arm(d, x);
        self.a.bind(join);
        self.set(d, V::Scalar);
        if self.p(2) {
            let s = self.slot();
            let fp_off = -8 * (s as i16 + 1);
            self.a.i(STX | MEM | 0x18, 10, d, fp_off, 0);
            self.slots[s] = V::Scalar;
            if self.p(2) {
                self.a.i(ALU64 | 0xb0, d, 0, 0, 0);
            }
            self.a.i(LDX | MEM | 0x18, d, 10, fp_off, 0);
        }
        if self.p(3) {
            let need = self.rng.pick(&[8, 16, 64, 256]);
            self.check(need);
        }
        let q = self.scratch_not(d);
        self.a.i(ALU64 | X | 0xb0, q, P, 0, 0);
        self.a.i(ALU64 | X, q, d, 0, 0);
        self.set(q, V::Pkt(0));
        let sz = self.size();
        let r = self.scratch_not(q);
        self.a.i(LDX | MEM | size_bits(sz), r, q, 0, 0);
        self.set(r, V::Scalar);
        self.set(q, V::Uninit);
    }

    /// One way of [`Self::diamond_off`]: the offset `d` from `x`.
    fn diamond_arm(&mut self, d: u8, x: u8) {
        match self.rng.below(5) {
            0 => {
                let k = self.rng.pick(&[0, 1, 8, 14, 20, 60, 200, 1500]);
                self.a.i(ALU64 | 0xb0, d, 0, 0, k);
            }
            1 => {
                let m = self.rng.pick(&[7, 15, 63, 255]);
                self.a.i(ALU64 | X | 0xb0, d, x, 0, 0);
                self.a.i(ALU64 | 0x50, d, 0, 0, m);
            }
            2 => self.a.i(ALU64 | X | 0xb0, d, x, 0, 0),
            3 => {
                let k = self.rng.pick(&[0, 7, 13, 64]);
                self.a.i(ALU64 | X | 0xb0, d, x, 0, 0);
                let cls = self.jclass();
                self.a.j(cls | 0x20, d, 0, k, self.end);
            }
            _ => {
                let k = self.edge32();
                self.a.i(ALU64 | 0xb0, d, 0, 0, k);
            }
        }
    }

    /// Length (or `data_end`) arithmetic with large constants, compared
    /// with a packet pointer or offset moved by another large constant,
    /// then an access past the minimum length.
    fn len_arith(&mut self) {
        let t = self.scratch();
        self.a.i(ALU64 | X | 0xb0, t, E, 0, 0);
        let k1 = self.edge64();
        let s = self.scratch_not(t);
        self.a.lddw(s, k1);
        let op = if self.p(2) { 0x00 } else { 0x10 };
        self.a.i(ALU64 | X | op, t, s, 0, 0);
        let q = loop {
            let q = self.scratch();
            if q != t {
                break q;
            }
        };
        if self.p(2) {
            self.a.i(ALU64 | X | 0xb0, q, P, 0, 0);
        } else {
            // an offset: p - p, a number tied to the packet start
            self.a.i(ALU64 | 0xb0, q, 0, 0, 0);
        }
        let k2 = self.edge64().clamp(-(1 << 40), 1 << 40);
        let s2 = self.scratch_not(q);
        let s2 = if s2 == t { s } else { s2 };
        self.a.lddw(s2, k2);
        let op2 = if self.p(2) { 0x00 } else { 0x10 };
        self.a.i(ALU64 | X | op2, q, s2, 0, 0);
        let cls = self.jclass();
        let cop = self
            .rng
            .pick(&[0x20, 0x30, 0xa0, 0xb0, 0x60, 0x70, 0xc0, 0xd0]);
        if self.p(2) {
            self.a.j(cls | X | cop, q, t, 0, self.end);
        } else {
            self.a.j(cls | X | cop, t, q, 0, self.end);
        }
        self.set(t, V::Uninit);
        self.set(q, V::Uninit);
        self.set(s, V::Scalar);
        self.set(s2, V::Scalar);
        let sz = self.size();
        let off = self
            .rng
            .pick(&[0, 1, 8, 14, 20, 54, 64, 255, 1500, 4096, 32767]);
        let d = self.scratch();
        self.a.i(LDX | MEM | size_bits(sz), d, P, off, 0);
        self.set(d, V::Scalar);
    }

    /// Pointer arithmetic with large scalars: `p + k`, `p - k`, `p - q`.
    fn ptr_arith(&mut self) {
        let q = self.scratch();
        let (b, o) = self.pkt();
        self.a.i(ALU64 | X | 0xb0, q, b, 0, 0);
        let k = self.edge64();
        let mut new_off;
        match self.rng.below(6) {
            0 => {
                let imm = self.edge32();
                self.a.i(ALU64, q, 0, 0, imm);
                new_off = o.wrapping_add(i64::from(imm));
            }
            1 => {
                let imm = self.edge32();
                self.a.i(ALU64 | 0x10, q, 0, 0, imm);
                new_off = o.wrapping_sub(i64::from(imm));
            }
            2 | 3 => {
                let s = self.scratch_not(q);
                self.a.lddw(s, k);
                self.set(s, V::Scalar);
                let op = if self.p(2) { 0x00 } else { 0x10 };
                self.a.i(ALU64 | X | op, q, s, 0, 0);
                new_off = if op == 0 {
                    o.wrapping_add(k)
                } else {
                    o.wrapping_sub(k)
                };
                if self.p(2) {
                    // and back
                    let op2 = if self.p(2) { 0x10 ^ op } else { op };
                    self.a.i(ALU64 | X | op2, q, s, 0, 0);
                    new_off = if op2 == op { new_off } else { o };
                }
            }
            4 => {
                // difference of two packet pointers: a number
                let (b2, _) = self.pkt();
                let d = self.scratch_not(q);
                self.a.i(ALU64 | X | 0xb0, d, b2, 0, 0);
                let imm = self.edge32();
                self.a.i(ALU64, d, 0, 0, imm);
                self.a.i(ALU64 | X | 0x10, q, d, 0, 0);
                self.set(d, V::Uninit);
                self.set(q, V::Scalar);
                // use it as an offset, after comparing it with the length
                if self.p(2) {
                    let cls = self.jclass();
                    if self.ctx {
                        let lim = self.edge32();
                        self.a.j(cls | 0x20, q, 0, lim, self.end);
                    } else {
                        self.a.j(cls | X | 0x30, q, E, 0, self.end);
                    }
                    let r = self.scratch_not(q);
                    self.a.i(ALU64 | X | 0xb0, r, P, 0, 0);
                    self.a.i(ALU64 | X, r, q, 0, 0);
                    let sz = self.size();
                    self.a.i(LDX | MEM | size_bits(sz), q, r, 0, 0);
                    self.set(r, V::Uninit);
                }
                return;
            }
            _ => {
                // `end - k` style
                if self.ctx {
                    self.a.i(ALU64 | X | 0xb0, q, E, 0, 0);
                    let imm = self.edge32();
                    self.a.i(ALU64 | 0x10, q, 0, 0, imm);
                    let cls = self.jclass();
                    let op = self.rng.pick(&[0x20, 0xa0, 0x30, 0xb0, 0x60, 0xc0]);
                    let (pb, _) = self.pkt();
                    self.a.j(cls | X | op, q, pb, 0, self.end);
                    self.set(q, V::Uninit);
                    let sz = self.size();
                    let d = self.scratch();
                    self.a.i(LDX | MEM | size_bits(sz), d, q, 0, 0);
                    self.set(d, V::Scalar);
                    return;
                }
                let imm = self.edge32();
                self.a.i(ALU64, q, 0, 0, imm);
                new_off = o.wrapping_add(i64::from(imm));
            }
        }
        self.set(q, V::Pkt(new_off));
        if self.p(2) {
            let need = new_off.saturating_add(8).clamp(0, 0x7fff);
            if self.ctx && self.p(2) {
                // check through q itself
                let t = self.scratch_not(q);
                self.a.i(ALU64 | X | 0xb0, t, q, 0, 0);
                self.a.i(ALU64, t, 0, 0, 8);
                let cls = self.jclass();
                self.a.j(cls | X | 0x20, t, E, 0, self.end);
                self.set(t, V::Uninit);
            } else {
                self.check(need);
            }
        }
        let sz = self.size();
        let d = self.scratch_not(q);
        let off = self.rng.pick(&[0, 0, 0, 1, -1, 8, -8]);
        if self.p(4) {
            let s = self.scalar();
            self.a.i(STX | MEM | size_bits(sz), q, s, off, 0);
        } else {
            self.a.i(LDX | MEM | size_bits(sz), d, q, off, 0);
            self.set(d, V::Scalar);
        }
    }

    fn scratch_not(&mut self, r: u8) -> u8 {
        loop {
            let s = self.scratch();
            if s != r {
                return s;
            }
        }
    }

    fn slot(&mut self) -> usize {
        if self.p(3) {
            self.rng.below(4) as usize
        } else {
            self.rng.below(64) as usize
        }
    }

    /// Spill a register (often a pointer) to the stack, then fill it back
    /// whole or in part, maybe after a partial overwrite.
    fn spill_fill(&mut self) {
        let s = self.slot();
        let fp_off = -8 * (s as i16 + 1);
        let cands: Vec<u8> = (0..11u8)
            .filter(|&r| self.regs[r as usize] != V::Uninit)
            .collect();
        let r = self.rng.pick(&cands);
        self.a.i(STX | MEM | 0x18, 10, r, fp_off, 0);
        self.slots[s] = self.regs[r as usize];
        if self.p(2) {
            // partial overwrite
            let sz = self.rng.pick(&[1, 2, 4]);
            let at = fp_off + i16::from(sz) * self.rng.below(u64::from(8 / sz)) as i16;
            if self.p(2) {
                let k = self.edge32();
                self.a.i(ST | MEM | size_bits(sz), 10, 0, at, k);
            } else {
                let v = self.scalar();
                self.a.i(STX | MEM | size_bits(sz), 10, v, at, 0);
            }
            self.slots[s] = V::Scalar;
        }
        let d = self.scratch();
        if self.p(2) {
            let sz = self.rng.pick(&[1, 2, 4]);
            let at = fp_off + i16::from(sz) * self.rng.below(u64::from(8 / sz)) as i16;
            self.a.i(LDX | MEM | size_bits(sz), d, 10, at, 0);
            if sz == 4 && self.p(2) {
                // the other half, combined: a whole pointer
                let e = self.scratch_not(d);
                let other = if at == fp_off { fp_off + 4 } else { fp_off };
                self.a.i(LDX | MEM, e, 10, other, 0);
                let (lo, hi) = if other == fp_off { (e, d) } else { (d, e) };
                self.a.i(ALU64 | 0x60, hi, 0, 0, 32);
                self.a.i(ALU64 | X | 0x40, lo, hi, 0, 0);
                self.set(hi, V::Scalar);
                self.set(lo, V::Scalar);
                self.sink_reg(lo);
                return;
            }
            self.set(d, V::Scalar);
        } else {
            self.a.i(LDX | MEM | 0x18, d, 10, fp_off, 0);
            let v = self.slots[s];
            self.set(d, v);
        }
        // use it: as a pointer, or let it out
        if self.p(2) || matches!(self.regs[d as usize], V::Pkt(_)) {
            let sz = self.size();
            let off = self.rng.pick(&[0, 0, 1, 4, 8, 13]);
            let t = self.scratch_not(d);
            self.a.i(LDX | MEM | size_bits(sz), t, d, off, 0);
            self.set(t, V::Scalar);
        } else {
            self.sink_reg(d);
        }
    }

    /// Let the value of `r` out: r0 accumulates it, or it goes into the
    /// packet.
    fn sink_reg(&mut self, r: u8) {
        if self.safe >= 8 && self.p(2) {
            let off = self.rng.below(u64::try_from(self.safe - 7).unwrap_or(1)) as i16;
            self.a.i(STX | MEM | 0x18, P, r, off, 0);
        } else if r != 0 {
            if self.regs[0] == V::Scalar && self.p(2) {
                self.a.i(ALU64 | X | 0xa0, 0, r, 0, 0);
            } else {
                self.a.i(ALU64 | X | 0xb0, 0, r, 0, 0);
                self.regs[0] = self.regs[r as usize];
            }
        }
    }

    /// Stack bytes of numbers, then reads of various sizes.
    fn stack_data(&mut self) {
        let s = self.slot();
        let fp_off = -8 * (s as i16 + 1);
        let sz = self.size();
        let at = fp_off + i16::from(sz) * self.rng.below(u64::from(8 / sz)) as i16;
        if self.p(2) {
            let k = self.edge32();
            self.a.i(ST | MEM | size_bits(sz), 10, 0, at, k);
        } else {
            let v = self.scalar();
            self.a.i(STX | MEM | size_bits(sz), 10, v, at, 0);
        }
        if sz == 8 {
            self.slots[s] = V::Scalar;
        }
        let d = self.scratch();
        let sz2 = self.size();
        let at2 = fp_off + i16::from(sz2) * self.rng.below(u64::from(8 / sz2)) as i16;
        self.a.i(LDX | MEM | size_bits(sz2), d, 10, at2, 0);
        self.set(d, V::Scalar);
    }

    /// Pointer against number comparisons (must be refused, or harmless).
    fn ptr_cmp(&mut self) {
        let cands: Vec<u8> = (0..11u8)
            .filter(|&r| {
                r != 10 && !matches!(self.regs[r as usize], V::Uninit | V::Scalar | V::MapOrNull)
            })
            .collect();
        let r = self.rng.pick(&cands);
        let cls = self.jclass();
        let op = self.cond_op();
        let skip = self.a.label();
        if self.p(2) {
            let s = self.scalar();
            self.a.j(cls | X | op, r, s, 0, skip);
        } else {
            let imm = self.edge32();
            self.a.j(cls | op, r, 0, imm, skip);
        }
        self.a.i(ALU64 | 0xb0, 0, 0, 0, 1);
        self.a.bind(skip);
        // r0 is a number whichever way (1, or what it was)
        if self.regs[0] != V::Scalar {
            self.a.i(ALU64 | 0xb0, 0, 0, 0, 2);
        }
        self.regs[0] = V::Scalar;
    }

    /// A bounded loop over packet bytes.
    fn bounded_loop(&mut self) {
        let c = self.scratch();
        let acc = self.scratch_not(c);
        let t = loop {
            let t = self.scratch();
            if t != c && t != acc {
                break t;
            }
        };
        let n = self.rng.pick(&[1, 2, 4, 8, 13, 14, 15, 20, 33, 64]);
        let step = self.rng.pick(&[1, 1, 2, 3, 4]);
        self.a.i(ALU64 | 0xb0, c, 0, 0, 0);
        self.a.i(ALU64 | 0xb0, acc, 0, 0, 0);
        let top = self.a.label();
        let out = self.a.label();
        self.a.bind(top);
        let sz = self.rng.pick(&[1, 1, 2, 4]);
        if self.ctx {
            self.a.i(ALU64 | X | 0xb0, t, P, 0, 0);
            self.a.i(ALU64 | X, t, c, 0, 0);
            self.a.i(ALU64, t, 0, 0, i32::from(sz));
            let cls = self.jclass();
            self.a.j(cls | X | 0x20, t, E, 0, out);
            self.a.i(ALU64, t, 0, 0, -i32::from(sz));
        } else {
            self.a.i(ALU64 | X | 0xb0, t, c, 0, 0);
            let slack = if self.p(8) { 0 } else { i32::from(sz) };
            self.a.i(ALU64, t, 0, 0, slack);
            let cls = self.jclass();
            let op = if self.p(6) { 0x30 } else { 0x20 };
            self.a.j(cls | X | op, t, E, 0, out);
            self.a.i(ALU64 | X | 0xb0, t, P, 0, 0);
            self.a.i(ALU64 | X, t, c, 0, 0);
        }
        self.a.i(LDX | MEM | size_bits(sz), t, t, 0, 0);
        self.a.i(ALU64 | X, acc, t, 0, 0);
        self.a.i(ALU64, c, 0, 0, step);
        let cls = if self.p(4) { JMP32 } else { JMP };
        let mut op = self.rng.pick(&[0xa0, 0xa0, 0xb0, 0x50, 0xc0]);
        if op == 0x50 && n % step != 0 {
            op = 0xa0;
        }
        self.a.j(cls | op, c, 0, n, top);
        self.a.bind(out);
        self.set(c, V::Scalar);
        self.set(acc, V::Scalar);
        self.set(t, V::Uninit);
    }

    /// A map helper call with stack key/value (maybe holding pointers).
    fn map_call(&mut self) {
        let map = if self.p(2) { HASH } else { ARRAY };
        let key_off = -8 * (self.rng.below(8) as i16 + 1);
        let val_off = -8 * (self.rng.below(8) as i16 + 9);
        // the key: a small number (array index) or whatever a register holds
        match self.rng.below(4) {
            0 => {
                let cands: Vec<u8> = (0..11u8)
                    .filter(|&r| self.regs[r as usize] != V::Uninit)
                    .collect();
                let r = self.rng.pick(&cands);
                self.a.i(STX | MEM | 0x18, 10, r, key_off, 0);
            }
            1 => {
                let k = self.edge32();
                self.a.i(ST | MEM | 0x18, 10, 0, key_off, k);
            }
            _ => self
                .a
                .i(ST | MEM | 0x18, 10, 0, key_off, self.rng.below(4) as i32),
        }
        let helper = self.rng.pick(&[1, 1, 1, 2, 2, 3]);
        if helper == 2 {
            let cands: Vec<u8> = (0..11u8)
                .filter(|&r| self.regs[r as usize] != V::Uninit)
                .collect();
            let r = self.rng.pick(&cands);
            let sz = if self.p(4) { 4 } else { 8 };
            self.a.i(STX | MEM | size_bits(sz), 10, r, val_off, 0);
            if sz == 4 {
                self.a.i(ST | MEM, 10, 0, val_off + 4, 0);
            }
            self.a.i(ALU64 | X | 0xb0, 3, 10, 0, 0);
            self.a.i(ALU64, 3, 0, 0, i32::from(val_off));
            self.a.i(ALU64 | 0xb0, 4, 0, 0, 0);
        }
        self.a.i(ALU64 | X | 0xb0, 1, map, 0, 0);
        self.a.i(ALU64 | X | 0xb0, 2, 10, 0, 0);
        self.a.i(ALU64, 2, 0, 0, i32::from(key_off));
        self.a.i(CALL, 0, 0, 0, helper);
        for r in 1..=5 {
            self.regs[r] = V::Uninit;
        }
        if helper != 1 {
            self.regs[0] = V::Scalar;
            return;
        }
        self.regs[0] = V::MapOrNull;
        let v = self.scratch();
        if v != 0 {
            self.a.i(ALU64 | X | 0xb0, v, 0, 0, 0);
        }
        if !self.p(16) {
            let cls = if self.p(6) { JMP32 } else { JMP };
            self.a.j(cls | 0x10, v, 0, 0, self.end);
        }
        self.set(v, V::MapVal);
        self.set(0, V::MapVal);
        for _ in 0..1 + self.rng.below(2) {
            let sz = self.size();
            let off = if self.p(6) {
                self.rng.pick(&[-1, -8, 1, 4, 7, 8, 16])
            } else {
                self.rng
                    .below(u64::try_from(VALUE_SIZE).unwrap() - u64::from(sz) + 1)
                    as i16
            };
            if self.p(2) {
                let d = self.scratch_not(v);
                self.a.i(LDX | MEM | size_bits(sz), d, v, off, 0);
                self.set(d, V::Scalar);
            } else {
                let cands: Vec<u8> = (0..11u8)
                    .filter(|&r| self.regs[r as usize] != V::Uninit)
                    .collect();
                let s = if self.p(5) {
                    self.rng.pick(&cands)
                } else {
                    self.scalar()
                };
                self.a.i(STX | MEM | size_bits(sz), v, s, off, 0);
            }
        }
        if self.regs[0] != V::Scalar {
            self.a.i(ALU64 | 0xb0, 0, 0, 0, 0);
            self.regs[0] = V::Scalar;
        }
    }

    /// A bpf-to-bpf call with a packet or stack pointer argument.
    fn local_call(&mut self) {
        let kind = self.rng.below(4) as u8;
        let l = self.a.label();
        match kind {
            0 | 1 => {
                // r1 = packet pointer, r2 = end or length
                let (b, _) = self.pkt();
                self.a.i(ALU64 | X | 0xb0, 1, b, 0, 0);
                self.a.i(ALU64 | X | 0xb0, 2, E, 0, 0);
                let v = self.scalar();
                if v != 3 {
                    self.a.i(ALU64 | X | 0xb0, 3, v, 0, 0);
                }
            }
            _ => {
                // r1 = pointer into our stack
                let off = -8 * (self.rng.below(8) as i16 + 1);
                let k = self.edge32();
                self.a.i(ST | MEM | 0x18, 10, 0, off, k);
                self.a.i(ALU64 | X | 0xb0, 1, 10, 0, 0);
                self.a.i(ALU64, 1, 0, 0, i32::from(off));
                let v = self.scalar();
                if v != 2 {
                    self.a.i(ALU64 | X | 0xb0, 2, v, 0, 0);
                }
            }
        }
        self.a.j(CALL, 0, 1, 0, l);
        self.subs.push((l, kind));
        for r in 1..=5 {
            self.regs[r] = V::Uninit;
        }
        self.regs[0] = V::Scalar;
    }

    fn subprogram(&mut self, l: Label, kind: u8) {
        self.a.bind(l);
        let ret = self.a.label();
        self.a.i(ALU64 | 0xb0, 0, 0, 0, 0);
        let sz = self.size();
        match kind {
            0 => {
                // guarded access at r1 + k
                let k = self.rng.pick(&[0, 1, 8, 13, 14, 20, 54]);
                self.a.i(ALU64 | X | 0xb0, 4, 1, 0, 0);
                self.a.i(ALU64, 4, 0, 0, k + i32::from(sz));
                if self.ctx {
                    self.a.j(JMP | X | 0x20, 4, 2, 0, ret);
                } else {
                    self.a.i(ALU64 | X | 0xb0, 4, 0, 0, 0);
                    self.a.i(ALU64, 4, 0, 0, k + i32::from(sz));
                    let op = if self.p(6) { 0x30 } else { 0x20 };
                    self.a.j(JMP | op, 4, 0, 0, ret);
                    self.a.j(JMP | X | 0x20, 4, 2, 0, ret);
                }
                self.a.i(LDX | MEM | size_bits(sz), 0, 1, k as i16, 0);
            }
            1 => {
                // variable offset r3, bounded
                let lim = self.edge32();
                let cls = self.jclass();
                self.a.j(cls | 0x20, 3, 0, lim, ret);
                let op = if self.p(5) { 0x60 } else { 0x20 };
                self.a.j(JMP | X | op, 3, 2, 0, ret);
                self.a.i(ALU64 | X, 1, 3, 0, 0);
                if self.ctx {
                    self.a.i(ALU64 | X | 0xb0, 4, 1, 0, 0);
                    self.a.i(ALU64, 4, 0, 0, i32::from(sz));
                    self.a.j(JMP | X | 0x20, 4, 2, 0, ret);
                }
                self.a.i(LDX | MEM | size_bits(sz), 0, 1, 0, 0);
            }
            2 => {
                // write through the caller's stack pointer
                let off = self.rng.pick(&[0, 0, 4, 8, -8, 7]);
                self.a.i(STX | MEM | size_bits(sz), 1, 2, off, 0);
                self.a.i(LDX | MEM | 0x18, 0, 1, 0, 0);
            }
            _ => {
                // own stack, and the caller's via r2 as an offset
                self.a.i(STX | MEM | 0x18, 10, 1, -8, 0);
                self.a.i(LDX | MEM | size_bits(sz), 3, 10, -8, 0);
                self.a.i(LDX | MEM | 0x18, 0, 1, 0, 0);
                self.a.i(ALU64 | X | 0xa0, 0, 3, 0, 0);
            }
        }
        self.a.bind(ret);
        self.a.i(EXIT, 0, 0, 0, 0);
    }

    /// `bpf_xdp_adjust_meta`, `_head` or `_tail` (ctx, delta) with the
    /// context in r1: deltas around the kernel's limits (multiples of 4
    /// up to 32 bytes of metadata, the Ethernet header); clobbers r1-r5
    /// (the context comes back from fp-8).  Packet pointers are invalid
    /// afterwards.
    fn move_packet(&mut self) {
        let helper = self.rng.pick(&[54, 54, 44, 65]);
        let delta = self.rng.pick(&[-4, -8, -16, -32, -36, -2, 0, 4, 8, -256]);
        self.a.i(STX | MEM | 0x18, 10, 1, -8, 0);
        self.a.i(ALU64 | 0xb0, 2, 0, 0, delta);
        self.a.i(CALL, 0, 0, 0, helper);
        for r in 1..=5 {
            self.regs[r] = V::Uninit;
        }
        self.regs[0] = V::Scalar;
        self.a.i(LDX | MEM | 0x18, 1, 10, -8, 0);
        self.set(1, V::Ctx);
        self.slots[63] = V::Ctx;
    }

    /// Something with a `data_meta` pointer: a check of its extent
    /// against `data` (or, wrongly, against `data_end`, signed, 32-bit,
    /// off by one), an access at an offset near what was checked,
    /// arithmetic, or a call that moves the metadata (its pointers must
    /// be dead afterwards).
    fn meta_op(&mut self) {
        let Some(m) = self.reg_with(|v| matches!(v, V::Meta(_))) else {
            return;
        };
        let V::Meta(o) = self.regs[m as usize] else {
            return;
        };
        match self.rng.below(6) {
            0 | 1 => {
                let k = self
                    .rng
                    .pick(&[0, 1, 3, 4, 7, 8, 12, 16, 31, 32, 33, 36, 0xffff, 0x10000]);
                let t = self.scratch_not(m);
                self.a.i(ALU64 | X | 0xb0, t, m, 0, 0);
                self.a.i(ALU64, t, 0, 0, k - o as i32);
                let end = self.end;
                let (cls, op, a, b) = match self.rng.below(8) {
                    0 | 1 => (JMP, 0x20, t, P), // if t > data: the kernel's check
                    2 => (JMP, 0xa0, P, t),     // if data < t
                    3 => (JMP, 0x30, t, P),     // if t >= data (one byte more)
                    4 => (JMP, 0x20, t, E),     // against data_end: proves nothing
                    5 => (JMP, 0x60, t, P),     // signed
                    6 => (JMP32, 0x20, t, P),   // 32-bit
                    _ => {
                        let op = self.cond_op();
                        (JMP, op, t, P)
                    }
                };
                self.a.j(cls | X | op, a, b, 0, end);
                self.set(t, V::Meta(i64::from(k)));
            }
            2 | 3 => {
                let sz = self.size();
                let off = self
                    .rng
                    .pick(&[-4i16, -1, 0, 0, 1, 2, 4, 4, 8, 12, 28, 31, 32])
                    - o as i16;
                if self.p(2) {
                    let d = self.scratch();
                    self.a.i(LDX | MEM | size_bits(sz), d, m, off, 0);
                    self.set(d, V::Scalar);
                } else {
                    let v = self.scalar();
                    self.a.i(STX | MEM | size_bits(sz), m, v, off, 0);
                }
            }
            4 => {
                let k = self.rng.pick(&[-4, -1, 1, 4, 8, 32]);
                let d = self.scratch_not(m);
                self.a.i(ALU64 | X | 0xb0, d, m, 0, 0);
                self.a.i(ALU64, d, 0, 0, k);
                self.set(d, V::Meta(o + i64::from(k)));
            }
            _ => {
                if self.regs[1] == V::Ctx {
                    self.move_packet();
                }
            }
        }
    }

    fn prelude(&mut self, min_len: usize) {
        self.safe = i64::try_from(min_len).unwrap_or(0);
        if !self.ctx {
            self.a.i(ALU64 | X | 0xb0, P, 1, 0, 0);
            self.a.i(ALU64 | X | 0xb0, E, 2, 0, 0);
            self.set(P, V::Pkt(0));
            self.set(E, V::Scalar);
            self.set(1, V::Pkt(0));
            self.set(2, V::Scalar);
            return;
        }
        self.set(1, V::Ctx);
        // ubpf_md (8-byte at 0 and 8) or xdp_md (4-byte at 0 and 4), and
        // now and then a load the context does not have
        let (sz, d_off, e_off) = match self.rng.below(20) {
            0..=8 => (8, 0, 8),
            9..=17 => (4, 0, 4),
            18 => {
                let sz = self.rng.pick(&[1, 2, 4, 8]);
                (sz, self.rng.below(12) as i16, self.rng.below(16) as i16)
            }
            _ => (
                4,
                self.rng.pick(&[0, 1, 2, 3]),
                self.rng.pick(&[4, 5, 6, 7, 8, 12]),
            ),
        };
        let meta = self.p(3);
        if meta && self.p(2) {
            self.move_packet();
        }
        if self.p(8) {
            // ctx spilled and filled first
            self.a.i(STX | MEM | 0x18, 10, 1, -8, 0);
            self.a.i(LDX | MEM | 0x18, 3, 10, -8, 0);
            self.a.i(LDX | MEM | size_bits(sz), P, 3, d_off, 0);
        } else {
            self.a.i(LDX | MEM | size_bits(sz), P, 1, d_off, 0);
        }
        self.a.i(LDX | MEM | size_bits(sz), E, 1, e_off, 0);
        self.set(P, V::Pkt(0));
        self.set(E, V::End);
        if meta {
            // data_meta (xdp_md offset 8)
            self.a.i(LDX | MEM | size_bits(4), 3, 1, 8, 0);
            self.set(3, V::Meta(0));
        }
        if self.p(12) {
            let sz2 = self.rng.pick(&[1, 2, 4, 8]);
            let o = self.rng.below(16) as i16;
            self.a.i(LDX | MEM | size_bits(sz2), 4, 1, o, 0);
            self.set(4, V::Scalar);
        }
        if self.p(3) {
            // r2 = length
            self.a.i(ALU64 | X | 0xb0, 2, E, 0, 0);
            self.a.i(ALU64 | X | 0x10, 2, P, 0, 0);
            self.set(2, V::Scalar);
        }
    }
}

/// A structured random program.
pub fn generate(rng: &mut Rng, hints: &[u64], maps_available: bool) -> Case {
    let ctx = rng.below(2) == 0;
    let maps = maps_available && rng.below(3) == 0;
    let min_len = rng.pick(&[0, 0, 1, 8, 14, 14, 20, 20, 34, 54]);
    let mut a = Asm::default();
    let end = a.label();
    let mut g = Gen {
        rng,
        a,
        regs: [V::Uninit; 11],
        slots: [V::Uninit; 64],
        ctx,
        maps,
        safe: 0,
        end,
        subs: Vec::new(),
        hints,
    };
    g.regs[10] = V::Stack;
    if maps {
        g.regs[HASH as usize] = V::Handle;
        g.regs[ARRAY as usize] = V::Handle;
    }
    g.prelude(min_len);
    g.a.i(ALU64 | 0xb0, 0, 0, 0, 0);
    g.regs[0] = V::Scalar;
    let n = 1 + g.rng.below(7);
    for _ in 0..n {
        match g.rng.below(if maps { 16 } else { 14 }) {
            0 | 1 if g.regs.iter().any(|v| matches!(v, V::Meta(_))) && g.p(2) => g.meta_op(),
            0 | 1 => g.load_pkt(),
            2 => g.store_pkt(),
            3 => g.alu(),
            4 => g.swap(),
            5 => g.var_off(),
            6 => {
                if g.p(2) {
                    g.var_off();
                } else {
                    g.diamond_off();
                }
            }
            7 => g.ptr_arith(),
            8 => {
                if g.p(2) {
                    g.len_arith();
                } else {
                    g.ptr_arith();
                }
            }
            9 | 10 => g.spill_fill(),
            11 => {
                if g.p(2) {
                    g.stack_data();
                } else {
                    g.ptr_cmp();
                }
            }
            12 => g.bounded_loop(),
            13 => g.local_call(),
            _ => g.map_call(),
        }
        if g.p(4) {
            let k = i64::from(g.edge32().clamp(0, 1600));
            g.check(k);
        }
    }
    // the result: a number (or, rarely, whatever is at hand)
    let r = if g.p(12) {
        g.rng.below(11) as u8
    } else {
        g.scalar()
    };
    if r != 0 && g.regs[r as usize] != V::Uninit {
        g.sink_reg(r);
    }
    if g.regs[0] != V::Scalar && !g.p(12) {
        g.a.i(ALU64 | 0xb0, 0, 0, 0, 0);
    }
    g.a.i(EXIT, 0, 0, 0, 0);
    g.a.bind(end);
    let v = g.rng.pick(&[0, 1, 2]);
    g.a.i(ALU64 | 0xb0, 0, 0, 0, v);
    g.a.i(EXIT, 0, 0, 0, 0);
    let subs = std::mem::take(&mut g.subs);
    for (l, kind) in subs {
        g.subprogram(l, kind);
    }
    let convention = if ctx {
        Convention::Context
    } else {
        Convention::Raw
    };
    Case {
        convention,
        min_len,
        maps,
        body: g.a.finish(),
    }
}

// ---- mutation ----

/// Slot indices that start an instruction (the second half of an
/// `lddw` is not one).
fn heads(code: &[Slot]) -> Vec<usize> {
    let mut v = Vec::new();
    let mut i = 0;
    while i < code.len() {
        v.push(i);
        i += if code[i][0] == LDDW { 2 } else { 1 };
    }
    v
}

/// Re-target jumps and calls after `n` slots were inserted at `at`
/// (`n > 0`) or removed from `at` (`n < 0`).
fn retarget(code: &mut [Slot], old_len: usize, at: usize, n: isize) -> Option<()> {
    let map = |x: usize| -> usize {
        if n >= 0 {
            if x >= at {
                x + n.unsigned_abs()
            } else {
                x
            }
        } else {
            let k = n.unsigned_abs();
            if x >= at + k {
                x - k
            } else {
                x.min(at)
            }
        }
    };
    let _ = old_len;
    // walk the new code, recover each instruction's old position
    let mut new_pos_of_old: Vec<(usize, usize)> = Vec::new();
    for new in 0..code.len() {
        let old = if n >= 0 {
            if new < at {
                Some(new)
            } else if new < at + n.unsigned_abs() {
                None
            } else {
                Some(new - n.unsigned_abs())
            }
        } else if new < at {
            Some(new)
        } else {
            Some(new + n.unsigned_abs())
        };
        if let Some(o) = old {
            new_pos_of_old.push((new, o));
        }
    }
    for (new, old) in new_pos_of_old {
        let s = code[new];
        if is_jump(&s) {
            let t = old as i64 + 1 + i64::from(off_of(&s));
            let t2 = map(usize::try_from(t).ok()?) as i64;
            let rel = i16::try_from(t2 - new as i64 - 1).ok()?;
            set_off(&mut code[new], rel);
        } else if is_local_call(&s) {
            let t = old as i64 + 1 + i64::from(imm_of(&s));
            let t2 = map(usize::try_from(t).ok()?) as i64;
            set_imm(&mut code[new], (t2 - new as i64 - 1) as i32);
        }
    }
    Some(())
}

/// A random single instruction (for insertion).
fn random_insn(rng: &mut Rng) -> Vec<Slot> {
    let r = |g: &mut Rng| g.below(10) as u8;
    match rng.below(9) {
        0 => {
            let v = rng.pick(EDGE64);
            let v = v as u64;
            vec![
                ins(LDDW, r(rng), 0, 0, v as u32 as i32),
                ins(0, 0, 0, 0, (v >> 32) as u32 as i32),
            ]
        }
        1 => vec![ins(ALU64 | 0xb0, r(rng), 0, 0, rng.pick(EDGE32))],
        2 => {
            let op = rng.pick(&[0x00, 0x10, 0x20, 0x40, 0x50, 0x60, 0x70, 0xa0, 0xc0]);
            let cls = rng.pick(&[ALU, ALU64]);
            vec![ins(cls | op, r(rng), 0, 0, rng.pick(EDGE32))]
        }
        3 => {
            let op = rng.pick(&[0x00, 0x10, 0xb0, 0xa0, 0x50]);
            vec![ins(ALU64 | X | op, r(rng), r(rng), 0, 0)]
        }
        4 => {
            let sz = rng.pick(&[1, 2, 4, 8]);
            let off = -(rng.below(64) as i16) - 1;
            vec![ins(STX | MEM | size_bits(sz), 10, r(rng), off, 0)]
        }
        5 => {
            let sz = rng.pick(&[1, 2, 4, 8]);
            let off = -(rng.below(64) as i16) - 1;
            vec![ins(LDX | MEM | size_bits(sz), r(rng), 10, off, 0)]
        }
        6 => {
            let sz = rng.pick(&[1, 2, 4]);
            let off = -(rng.below(64) as i16) - 1;
            vec![ins(ST | MEM | size_bits(sz), 10, 0, off, rng.pick(EDGE32))]
        }
        7 => vec![ins(
            rng.pick(&[0xd4, 0xdc]),
            r(rng),
            0,
            0,
            rng.pick(&[16, 32, 64]),
        )],
        _ => {
            let sz = rng.pick(&[1, 2, 4, 8]);
            vec![ins(
                LDX | MEM | size_bits(sz),
                r(rng),
                r(rng),
                rng.pick(OFFS),
                0,
            )]
        }
    }
}

fn insert(code: &mut Vec<Slot>, at: usize, new: &[Slot]) -> Option<()> {
    let old_len = code.len();
    for (k, s) in new.iter().enumerate() {
        code.insert(at + k, *s);
    }
    retarget(code, old_len, at, new.len() as isize)
}

/// Remove the instruction at slot `at` (both halves of an `lddw`).
pub fn delete(code: &mut Vec<Slot>, at: usize) -> Option<()> {
    let n = if code[at][0] == LDDW { 2 } else { 1 };
    if at + n > code.len() {
        return None;
    }
    let old_len = code.len();
    code.drain(at..at + n);
    retarget(code, old_len, at, -(n as isize))
}

/// One to three random mutations of `case`.
pub fn mutate(rng: &mut Rng, case: &Case) -> Option<Case> {
    let mut c = case.clone();
    for _ in 0..1 + rng.below(3) {
        let h = heads(&c.body);
        let at = rng.pick(&h);
        let s = &mut c.body[at];
        match rng.below(10) {
            0 | 1 => {
                if s[0] == LDDW {
                    let v = rng.pick(EDGE64) as u64;
                    set_imm(s, v as u32 as i32);
                    let next = &mut c.body[at + 1];
                    set_imm(next, (v >> 32) as u32 as i32);
                } else if !is_local_call(s) && s[0] != CALL {
                    let v = rng.pick(EDGE32);
                    let v = if rng.below(3) == 0 {
                        imm_of(s).wrapping_add(rng.pick(&[-1, 1]))
                    } else {
                        v
                    };
                    set_imm(s, v);
                }
            }
            2 => {
                let class = s[0] & 7;
                if matches!(class, LDX | ST | STX) {
                    let o = if rng.below(2) == 0 {
                        rng.pick(OFFS)
                    } else {
                        off_of(s).wrapping_add(rng.pick(&[-1, 1, -4, 4, 8]))
                    };
                    set_off(s, o);
                }
            }
            3 | 4 => {
                let class = s[0] & 7;
                match class {
                    ALU | ALU64 if s[0] & 0xf0 <= 0xc0 => {
                        let op = rng.pick(&[
                            0x00, 0x10, 0x20, 0x40, 0x50, 0x60, 0x70, 0x80, 0xa0, 0xb0, 0xc0,
                        ]);
                        s[0] = (s[0] & 0x0f) | op;
                        if rng.below(4) == 0 {
                            s[0] ^= ALU ^ ALU64;
                        }
                        if op == 0x80 {
                            s[0] &= !X;
                            s[1] &= 0x0f;
                            set_imm(s, 0);
                        }
                    }
                    JMP | JMP32 if is_jump(s) && s[0] & 0xf0 != 0 => {
                        let op = rng.pick(&[
                            0x10, 0x20, 0x30, 0x40, 0x50, 0x60, 0x70, 0xa0, 0xb0, 0xc0, 0xd0,
                        ]);
                        s[0] = (s[0] & 0x0f) | op;
                        if rng.below(4) == 0 {
                            s[0] ^= JMP ^ JMP32;
                        }
                    }
                    LDX | ST | STX => {
                        let sz = rng.pick(&[1, 2, 4, 8]);
                        s[0] = (s[0] & !0x18) | size_bits(sz);
                    }
                    _ => {
                        if s[0] & 0xf0 == 0xd0 {
                            set_imm(s, rng.pick(&[16, 32, 64]));
                            s[0] ^= 0x08;
                        }
                    }
                }
            }
            5 => {
                let class = s[0] & 7;
                if s[0] != CALL && s[0] != EXIT && s[0] != LDDW && rng.below(2) == 0 {
                    s[1] = (s[1] & 0xf0) | rng.below(10) as u8;
                } else if matches!(class, LDX | STX) || (s[0] & X != 0 && class != LDX) {
                    s[1] = (s[1] & 0x0f) | ((rng.below(11) as u8) << 4);
                }
            }
            6 | 7 => {
                let new = random_insn(rng);
                insert(&mut c.body, at, &new)?;
            }
            8 => {
                if c.body.len() > 4 {
                    delete(&mut c.body, at)?;
                }
            }
            _ => {
                c.min_len = rng.pick(&[0, 1, 8, 13, 14, 15, 20, 54]);
            }
        }
    }
    Some(c)
}
