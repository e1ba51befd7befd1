// SPDX-License-Identifier: GPL-2.0-or-later

//! Abstract execution of one instruction.

use super::domain::{Cmp, Range};
use super::state::{
    c_add, c_sub, slot_of, Facts, Frame, Reg, Slot, State, Val, LEN, MAX_C, MAX_LEN, MAX_META,
    META, NONE, STACK_SIZE, ZERO,
};
use super::Convention;
use crate::check::{Insn, CALL, EXIT, LDDW};
use crate::context::CtxAccess;
use crate::helpers::{self, Arg, Ret};
use crate::maps::MapDef;
use crate::progtype::FieldKind;
use std::rc::Rc;

/// Largest packet pointer offset (in magnitude) arithmetic may produce.
const MAX_OFF: i64 = MAX_C;

/// Why the program was rejected at an instruction.
#[derive(Debug)]
pub struct Reject {
    pub reg: Option<u8>,
    pub msg: String,
}

pub type VResult<T> = Result<T, Reject>;

fn reject<T>(reg: impl Into<Option<u8>>, msg: impl Into<String>) -> VResult<T> {
    Err(Reject {
        reg: reg.into(),
        msg: msg.into(),
    })
}

/// What follows an instruction.
pub enum Step {
    /// Continue at this instruction.
    Next(usize),
    /// Conditional jump: the state was narrowed to the fall-through case
    /// (`fall`: whether it is possible); `taken` is the state at `target`.
    Branch {
        target: usize,
        taken: Option<Box<State>>,
        fall: bool,
    },
    /// The program returned.
    Exit,
}

/// Per-program facts and what the verifier records for the engine.
pub struct Prog<'a> {
    pub code: &'a [Insn],
    pub conv: Convention,
    /// Whether the program has bpf-to-bpf calls (frame sizes depend on it).
    pub has_calls: bool,
    /// Per instruction: 1 = accesses the context, 2 = other memory.
    pub access: Vec<u8>,
    /// Per instruction: its context access, as the load-time pass
    /// (`crate::context`) found and rewrote it.
    pub ctx: &'a [Option<CtxAccess>],
    /// `callx` instructions to rewrite into calls of this helper: (the
    /// instruction, the helper), in the order first met (programs have
    /// few).
    pub callx: Vec<(usize, i32)>,
    /// Per function (by its first instruction): the most stack bytes
    /// below its frame pointer any path reached.
    pub stack_use: Vec<std::cell::Cell<u16>>,
    /// Per instruction: whether some path simulated it.  Those no path
    /// reaches (behind branches the verifier decided) never run; the
    /// engine gets `exit` in their place, as the kernel sanitizes dead
    /// code, so that nothing it cannot compile (a `callx` whose helper was
    /// never proven, an unknown helper) reaches it.
    pub seen: Vec<bool>,
    /// The program's maps.
    pub maps: &'a [MapDef],
    /// Per map: whether programs may write (`.0`) and read (`.1`) its
    /// values (`BPF_F_RDONLY_PROG`, `BPF_F_WRONLY_PROG`, devmaps).
    pub map_access: Vec<(bool, bool)>,
    /// The `lddw`s of maps, sorted by instruction: (the instruction, (the
    /// map, `None` for its handle or the offset of a pointer into its
    /// value, for global data)).
    pub map_lddw: Vec<(usize, (u16, Option<u32>))>,
    /// States no longer needed, whose memory copies of states reuse
    /// (boxed: the path being explored holds its state so).
    #[allow(clippy::vec_box)]
    pub spare: Vec<Box<State>>,
}

impl Prog<'_> {
    /// A copy of `st`, in a spare state's memory if there is one.
    pub fn copy(&mut self, st: &State) -> Box<State> {
        match self.spare.pop() {
            Some(mut b) => {
                b.copy_from(st);
                b
            }
            None => Box::new(st.clone()),
        }
    }

    /// A state to overwrite: a spare one if there is one.
    pub fn spare_state(&mut self) -> Box<State> {
        self.spare.pop().unwrap_or_else(|| {
            Box::new(State {
                regs: [Reg::Uninit; 11],
                frames: std::rc::Rc::default(),
                safe: Facts::default(),
                next: super::state::FIRST,
                refs: Vec::new(),
            })
        })
    }

    /// `st` is no longer needed.
    pub fn recycle(&mut self, st: Box<State>) {
        if self.spare.len() < 64 {
            self.spare.push(st);
        }
    }
}

impl Prog<'_> {
    /// Stack bytes of a frame at call depth `depth`: 512, as in the
    /// kernel, for every function; with bpf-to-bpf calls the frames of a
    /// call chain must also fit in 512 bytes together, which
    /// [`super::frames`] checks once each function's use is known (the
    /// engine gives each callee a frame pointer that many bytes below its
    /// caller's).
    pub const fn frame_limit(&self, depth: usize) -> i64 {
        if depth < crate::check::MAX_CALL_DEPTH {
            STACK_SIZE
        } else {
            0
        }
    }

    /// Note that the function frame `f` of `st` runs reaches `-off` bytes
    /// below its frame pointer.
    fn note_stack(&self, st: &State, f: usize, off: i64) {
        let entry = match st.frames.get(f) {
            Some(fr) if f > 0 => self
                .code
                .get(fr.callsite)
                .and_then(|x| super::cfg::call_target(x, fr.callsite))
                .unwrap_or(0),
            _ => 0,
        };
        let used = u16::try_from(off.unsigned_abs()).unwrap_or(u16::MAX);
        if let Some(c) = self.stack_use.get(entry) {
            c.set(c.get().max(used));
        }
    }

    /// Name and value size of map `map`.
    fn map(&self, map: u16) -> (&str, u32) {
        self.maps
            .get(usize::from(map))
            .map_or(("?", 0), |d| (d.name.as_str(), d.value_size))
    }

    fn hint(&self) -> &'static str {
        match self.conv {
            Convention::Raw => "test the length (r2) first",
            _ => "compare against data_end first",
        }
    }
}

fn read(st: &State, r: u8) -> VResult<Reg> {
    let v = st.regs[usize::from(r)];
    match v {
        Reg::Stale => reject(
            r,
            format!(
                "r{r} held a packet pointer that a helper moving or resizing the packet \
                 (bpf_xdp_adjust_head/tail/meta, bpf_skb_store_bytes, ...) made invalid: load \
                 it from the context again"
            ),
        ),
        _ if v.is_init() => Ok(v),
        _ => reject(
            r,
            format!("r{r} is read before it is written (uninitialised)"),
        ),
    }
}

fn scalar(st: &State, r: u8) -> VResult<Val> {
    match read(st, r)? {
        Reg::Scalar(v) => Ok(v),
        o => reject(r, format!("r{r} must be a scalar here, not a {}", o.kind())),
    }
}

/// Give `dst` a new value.
fn set(st: &mut State, dst: u8, v: Reg) {
    st.regs[usize::from(dst)] = v;
}

pub(super) const fn size_of(code: u8) -> u32 {
    match code & 0x18 {
        0x00 => 4,
        0x08 => 2,
        0x10 => 1,
        _ => 8,
    }
}

fn bytes(n: u32) -> String {
    if n == 1 {
        "1 byte".to_owned()
    } else {
        format!("{n} bytes")
    }
}

fn fmt_off(v: &Val, off: i64) -> String {
    match v.n.as_const() {
        Some(c) => format!("{}", (c as i64).wrapping_add(off)),
        None => {
            let (lo, hi) = (v.n.smin.saturating_add(off), v.n.smax.saturating_add(off));
            match v.sym {
                LEN => format!("data_end{:+}", v.c.saturating_add(off)),
                _ => format!("[{lo}, {hi}]"),
            }
        }
    }
}

/// Check a packet access of `size` bytes at `v + off`.
fn check_pkt(p: &Prog, st: &State, r: u8, v: &Val, off: i64, size: u32, what: &str) -> VResult<()> {
    let n = i64::from(size);
    if v.sym == META {
        return check_meta(st, r, v, off, size, what);
    }
    if v.n.smin.saturating_add(off) < 0 {
        return reject(
            r,
            format!(
                "packet {what} of {} at offset {} may start before the packet",
                bytes(size),
                fmt_off(v, off)
            ),
        );
    }
    let need = v.c.saturating_add(off).saturating_add(n);
    let by_sym = st.safe(v.sym).is_some_and(|k| k >= need);
    let by_num = v.n.smax.saturating_add(off).saturating_add(n) <= st.min_len();
    if by_sym || by_num {
        return Ok(());
    }
    let known = match st.safe(v.sym) {
        Some(k) if v.sym != ZERO && v.sym != LEN => {
            format!(
                "{k} bytes beyond the variable part, at least {}",
                st.min_len()
            )
        }
        _ => format!("[0, {})", st.min_len()),
    };
    reject(
        r,
        format!(
            "packet {what} of {} at offset {} not proven within the packet (bounds known: {known}); {}",
            bytes(size),
            fmt_off(v, off),
            p.hint()
        ),
    )
}

/// Check an access of `size` bytes at `META + v.c + off`: within the
/// metadata, from `data_meta` up to what a comparison with `data`
/// proved (the kernel's rule for `PTR_TO_PACKET_META`).
fn check_meta(st: &State, r: u8, v: &Val, off: i64, size: u32, what: &str) -> VResult<()> {
    let start = v.c.checked_add(off).filter(|&c| c >= 0);
    let end = start.and_then(|c| c.checked_add(i64::from(size)));
    let proven = st.safe(META).unwrap_or(0);
    if end.is_some_and(|e| e <= proven) {
        return Ok(());
    }
    reject(
        r,
        format!(
            "metadata {what} of {} at data_meta{:+} not proven within the metadata ({proven} \
             bytes known): compare data_meta + {} with data first",
            bytes(size),
            v.c.saturating_add(off),
            v.c.saturating_add(off)
                .saturating_add(i64::from(size))
                .max(0)
        ),
    )
}

/// Check a stack access and return the frame index and offset.
fn check_stack(
    st: &State,
    r: u8,
    frame: u8,
    off: i64,
    size: u32,
    what: &str,
    aligned: bool,
) -> VResult<(usize, i64)> {
    let f = usize::from(frame);
    let limit = st.frames.get(f).map_or(0, |fr| fr.limit);
    let end = off + i64::from(size);
    if off < -limit || end > 0 {
        let frame_desc = if limit == 0 {
            "this call depth has no stack (the engine gives frames below depth 1 none)".to_owned()
        } else {
            format!("outside the {limit}-byte stack frame [fp-{limit}, fp)")
        };
        return reject(
            r,
            format!("stack {what} of {} at fp{off:+} {frame_desc}", bytes(size)),
        );
    }
    if aligned && off.rem_euclid(i64::from(size)) != 0 {
        return reject(
            r,
            format!(
                "stack {what} of {} at fp{off:+} is not {size}-byte aligned",
                bytes(size)
            ),
        );
    }
    Ok((f, off))
}

/// A stack load: the register loaded, or `None` for data bytes of unknown
/// value.
fn stack_load(fr: &Frame, r: u8, off: i64, size: u32) -> VResult<Option<Reg>> {
    let (k, b) = slot_of(off);
    let slot = fr.slot(k);
    if size == 8 {
        if let Some(Slot::Spill(v)) = slot {
            return Ok(Some(v));
        }
    }
    let init = match slot {
        Some(Slot::Spill(Reg::Scalar(v))) => {
            if let Some(c) = v.n.as_const() {
                let shifted = c >> (8 * b);
                let mask = if size == 8 {
                    u64::MAX
                } else {
                    (1u64 << (8 * size)) - 1
                };
                return Ok(Some(Reg::Scalar(Val::konst(shifted & mask))));
            }
            true
        }
        Some(Slot::Spill(v)) => {
            return reject(
                r,
                format!(
                    "stack read of {} at fp{off:+} reads part of a spilled {}: pointers are \
                     read back whole, with aligned 8-byte loads",
                    bytes(size),
                    v.kind()
                ),
            )
        }
        Some(Slot::Bytes(m)) => {
            let want = (((1u16 << size) - 1) << b) as u8;
            m & want == want
        }
        None => false,
    };
    if !init {
        return reject(
            r,
            format!(
                "stack read of {} at fp{off:+} reads uninitialised stack",
                bytes(size)
            ),
        );
    }
    Ok(None)
}

fn stack_store(fr: &mut Frame, r: u8, off: i64, size: u32, v: Reg) -> VResult<()> {
    let (k, b) = slot_of(off);
    if size == 8 {
        fr.set_slot(k, Slot::Spill(v));
        return Ok(());
    }
    if v.is_pointer() {
        return reject(
            r,
            format!(
                "partial store of a {} ({} at fp{off:+}): pointers are spilled with aligned 8-byte stores",
                v.kind(),
                bytes(size)
            ),
        );
    }
    // the other bytes of a spilled number stay data; those of a spilled
    // pointer are pointer bits and become unreadable
    let m = match fr.slot(k) {
        Some(Slot::Spill(Reg::Scalar(_))) => 0xff,
        Some(Slot::Bytes(m)) => m,
        Some(Slot::Spill(_)) | None => 0,
    };
    let bits = (((1u16 << size) - 1) << b) as u8;
    fr.set_slot(k, Slot::Bytes(m | bits));
    Ok(())
}

fn note_access(p: &mut Prog, i: usize, r: u8, ctx: bool) -> VResult<()> {
    let kind = if ctx { 1 } else { 2 };
    if p.access[i] != 0 && p.access[i] != kind {
        return reject(
            r,
            "the same load accesses the context on one path and other memory on another",
        );
    }
    p.access[i] = kind;
    Ok(())
}

/// A context access at instruction `i` through `r` (the context plus
/// `total`): it must be the one the load-time pass found and rewrote;
/// the value a load gives.
fn ctx_access(
    p: &Prog,
    st: &mut State,
    i: usize,
    r: u8,
    total: i64,
    value: Option<Reg>,
) -> VResult<Option<Reg>> {
    let Some(a) = p.ctx.get(i).copied().flatten() else {
        return reject(
            r,
            "context access the load-time analysis did not attribute to the context (the \
             context pointer must reach it the same way on every path)",
        );
    };
    if a.off != total || a.write != value.is_some() {
        return reject(
            r,
            format!(
                "context access at offset {total}, the load-time analysis saw offset {}",
                a.off
            ),
        );
    }
    if let Some(v) = value {
        if v.is_pointer() {
            return reject(
                r,
                format!(
                    "storing a {} into the context would leak a host address",
                    v.kind()
                ),
            );
        }
        return Ok(None);
    }
    let min = u64::try_from(st.min_len()).unwrap_or(0);
    Ok(Some(match a.field.kind {
        FieldKind::Data => Reg::Pkt(Val::konst(0)),
        FieldKind::DataMeta => Reg::Pkt(Val {
            n: Range::konst(0).sub(&Range::urange(0, MAX_META)),
            sym: META,
            c: 0,
        }),
        FieldKind::DataEnd => Reg::Pkt(Val {
            n: Range::urange(min, MAX_LEN),
            sym: LEN,
            c: 0,
        }),
        FieldKind::Scalar { max } => {
            let size = size_of(p.code[i].code);
            let whole = u32::from(a.field.elem) == size && a.off == i64::from(a.field.off);
            let bits = if size >= 8 {
                u64::MAX
            } else {
                (1u64 << (8 * size)) - 1
            };
            let hi = if whole { max.min(bits) } else { bits };
            Reg::Scalar(st.fresh(Range::urange(0, hi)))
        }
    }))
}

/// A load (`value == None`) or store through register `r`.
fn access(
    p: &mut Prog,
    st: &mut State,
    i: usize,
    x: &Insn,
    r: u8,
    value: Option<Reg>,
) -> VResult<Option<Reg>> {
    let size = size_of(x.code);
    let off = i64::from(x.off);
    let what = if value.is_some() { "write" } else { "read" };
    let base = read(st, r)?;
    note_access(p, i, r, matches!(base, Reg::Ctx { .. }))?;
    if !matches!(base, Reg::Ctx { .. }) && p.ctx.get(i).copied().flatten().is_some() {
        return reject(
            r,
            format!(
                "the load-time analysis took this access for a context access, but r{r} is \
                 not the context here"
            ),
        );
    }
    match base {
        Reg::Uninit | Reg::Stale => unreachable!(),
        Reg::Scalar(_) => reject(
            r,
            format!("memory {what} through r{r}, a scalar (not a pointer)"),
        ),
        Reg::Pkt(v) => {
            check_pkt(p, st, r, &v, off, size, what)?;
            match value {
                Some(val) if val.is_pointer() => reject(
                    x.src,
                    format!(
                        "storing a {} into the packet would leak a host address",
                        val.kind()
                    ),
                ),
                Some(_) => Ok(None),
                None => Ok(Some(Reg::Scalar(st.fresh(Range::unknown_bytes(size))))),
            }
        }
        Reg::Stack { frame, off: fo } => {
            let (f, total) = check_stack(st, r, frame, fo + off, size, what, true)?;
            p.note_stack(st, f, total);
            match value {
                Some(val) => {
                    stack_store(
                        &mut Rc::make_mut(&mut st.frames)[f],
                        x.src,
                        total,
                        size,
                        val,
                    )?;
                    Ok(None)
                }
                None => Ok(Some(match stack_load(&st.frames[f], r, total, size)? {
                    Some(v) => v,
                    None => Reg::Scalar(st.fresh(Range::unknown_bytes(size))),
                })),
            }
        }
        Reg::Ctx { off: co } => ctx_access(p, st, i, r, co + off, value),
        Reg::MapValue { map, off: mo } => {
            check_map_value(p, r, map, &mo, off, size, what)?;
            check_map_access(p, r, map, value.is_some(), "")?;
            match value {
                Some(val) if val.is_pointer() => reject(
                    x.src,
                    format!(
                        "storing a {} into a map value would leak a host address",
                        val.kind()
                    ),
                ),
                Some(_) => Ok(None),
                None => Ok(Some(Reg::Scalar(st.fresh(Range::unknown_bytes(size))))),
            }
        }
        Reg::MapValueOrNull { map, .. } => reject(r, maybe_null(p, r, map, what)),
        Reg::Record {
            size: rs, off: ro, ..
        } => {
            check_record(r, rs, ro + off, size, what)?;
            match value {
                Some(val) if val.is_pointer() => reject(
                    x.src,
                    format!(
                        "storing a {} into a ring buffer record would leak a host address",
                        val.kind()
                    ),
                ),
                Some(_) => Ok(None),
                None => Ok(Some(Reg::Scalar(st.fresh(Range::unknown_bytes(size))))),
            }
        }
        Reg::RecordOrNull { .. } => reject(
            r,
            format!(
                "{what} through r{r}, a ring buffer record that may be NULL: check the result \
                 of bpf_ringbuf_reserve against NULL first"
            ),
        ),
        Reg::MapPtr { map } => reject(
            r,
            format!(
                "memory {what} through r{r}, the handle of map \"{}\" (not a pointer to \
                 memory): bpf_map_lookup_elem gives a pointer to a value",
                p.map(map).0
            ),
        ),
    }
}

/// Check an access of `size` bytes at `off` in a record of `rs` bytes.
fn check_record(r: u8, rs: u32, off: i64, size: u32, what: &str) -> VResult<()> {
    if off >= 0 && off + i64::from(size) <= i64::from(rs) {
        return Ok(());
    }
    reject(
        r,
        format!(
            "ring buffer record {what} of {} at offset {off} outside its {rs} bytes",
            bytes(size)
        ),
    )
}

/// The refusal of an access through a pointer that may be NULL.
fn maybe_null(p: &Prog, r: u8, map: u16, what: &str) -> String {
    format!(
        "{what} through r{r}, a value pointer of map \"{}\" that may be NULL: check the \
         result of bpf_map_lookup_elem against NULL first",
        p.map(map).0
    )
}

/// Check an access of `size` bytes at `mo + off` in a value of `map`.
/// Whether programs may write (or read) the values of map `map` (the
/// map's type and `BPF_F_RDONLY_PROG`/`BPF_F_WRONLY_PROG`), directly or
/// through a helper (`helper`: its name and ": ", or empty).
fn check_map_access(p: &Prog, r: u8, map: u16, write: bool, helper: &str) -> VResult<()> {
    let (writable, readable) = p
        .map_access
        .get(usize::from(map))
        .copied()
        .unwrap_or_default();
    if if write { writable } else { readable } {
        return Ok(());
    }
    reject(
        r,
        format!(
            "{helper}map \"{}\" values are {} for programs",
            p.map(map).0,
            if write { "read-only" } else { "write-only" }
        ),
    )
}

fn check_map_value(
    p: &Prog,
    r: u8,
    map: u16,
    mo: &Range,
    off: i64,
    size: u32,
    what: &str,
) -> VResult<()> {
    let (name, vsize) = p.map(map);
    let lo = mo.smin.saturating_add(off);
    let hi = mo.smax.saturating_add(off).saturating_add(i64::from(size));
    if lo >= 0 && hi <= i64::from(vsize) {
        return Ok(());
    }
    let at = match mo.as_const() {
        Some(c) => format!("{}", (c as i64).saturating_add(off)),
        None => format!("[{lo}, {}]", mo.smax.saturating_add(off)),
    };
    let hint = if mo.as_const().is_some() {
        ""
    } else {
        "; bound the offset by a comparison first"
    };
    reject(
        r,
        format!(
            "map \"{name}\" value {what} of {} at offset {at} not proven within its \
             {vsize}-byte value{hint}",
            bytes(size)
        ),
    )
}

/// A memory argument of a helper: `size` bytes readable at `v`.
fn check_mem_arg(st: &State, p: &Prog, r: u8, v: Reg, size: u32, helper: &str) -> VResult<()> {
    match v {
        Reg::Stack { frame, off } => {
            let (f, total) =
                check_stack(st, r, frame, off, size, &format!("read ({helper})"), false)?;
            p.note_stack(st, f, total);
            for b in 0..size {
                let o = total + i64::from(b);
                let (k, bit) = slot_of(o);
                let ok = match st.frames[f].slot(k) {
                    Some(Slot::Spill(Reg::Scalar(_))) => true,
                    Some(Slot::Spill(spilled)) => {
                        return reject(
                            r,
                            format!(
                                "{helper}: argument r{r} points to a spilled {} at fp{o:+} \
                                 (a helper must not read pointer bits)",
                                spilled.kind()
                            ),
                        )
                    }
                    Some(Slot::Bytes(m)) => m & (1 << bit) != 0,
                    None => false,
                };
                if !ok {
                    return reject(
                        r,
                        format!("{helper}: argument r{r} points to uninitialised stack at fp{o:+}"),
                    );
                }
            }
            Ok(())
        }
        Reg::Pkt(val) => check_pkt(p, st, r, &val, 0, size, &format!("read ({helper})")),
        Reg::Record { size: rs, off, .. } => {
            check_record(r, rs, off, size, &format!("read ({helper})"))
        }
        Reg::MapValue { map, off } => {
            check_map_value(p, r, map, &off, 0, size, &format!("read ({helper})"))?;
            check_map_access(p, r, map, false, &format!("{helper}: "))
        }
        Reg::MapValueOrNull { map, .. } => reject(
            r,
            format!(
                "{helper}: argument r{r}: {}",
                maybe_null(p, r, map, "memory read")
            ),
        ),
        o => reject(
            r,
            format!(
                "{helper}: argument r{r} must point to readable memory (stack, packet or map \
                 value), not a {}",
                o.kind()
            ),
        ),
    }
}

/// A memory argument a helper writes: `size` bytes writable at `v`, the
/// first `written` of which the helper surely writes (stack bytes become
/// initialised).
fn check_write_arg(
    st: &mut State,
    p: &Prog,
    r: u8,
    v: Reg,
    size: u32,
    written: u32,
    helper: &str,
) -> VResult<()> {
    match v {
        Reg::Stack { frame, off } => {
            let (f, total) =
                check_stack(st, r, frame, off, size, &format!("write ({helper})"), false)?;
            p.note_stack(st, f, total);
            for b in 0..written {
                let o = total + i64::from(b);
                let unknown = Reg::Scalar(Val::with_sym(Range::UNKNOWN, NONE, None));
                stack_store(&mut Rc::make_mut(&mut st.frames)[f], r, o, 1, unknown)?;
            }
            Ok(())
        }
        Reg::Pkt(val) => check_pkt(p, st, r, &val, 0, size, &format!("write ({helper})")),
        Reg::MapValue { map, off } => {
            check_map_value(p, r, map, &off, 0, size, &format!("write ({helper})"))?;
            check_map_access(p, r, map, true, &format!("{helper}: "))
        }
        o => reject(
            r,
            format!(
                "{helper}: argument r{r} must point to writable memory (stack, packet or map \
                 value), not a {}",
                o.kind()
            ),
        ),
    }
}

/// After a helper that may move or resize the packet: packet pointers
/// become unreadable (the kernel's `clear_all_pkt_pointers` for programs
/// that may not leak pointers: as unknown numbers they would give away
/// the packet's host address), and nothing is known of the new length.
fn clear_packet(st: &mut State) {
    st.for_each_reg(|r| match r {
        Reg::Pkt(_) => *r = Reg::Stale,
        Reg::Scalar(v) if v.sym == LEN || v.sym == META => v.sym = NONE,
        _ => {}
    });
    st.safe = Facts::default();
}

fn call_helper(p: &Prog, st: &mut State, i: usize, id: i32) -> VResult<()> {
    let Some(sig) = helpers::signature(id) else {
        return reject(None, format!("call to unknown helper {id}"));
    };
    let name = format!("helper {id} ({})", sig.name);
    if id == helpers::TAIL_CALL && st.depth() > 0 {
        // as the kernel, for programs without BTF function information
        return reject(
            None,
            format!("{name} from a bpf-to-bpf function: tail calls leave only the main program"),
        );
    }
    // a record's size: a constant in r2, as the kernel requires
    let record_size = match (sig.ret, st.regs[2]) {
        (Ret::RecordOrNull, Reg::Scalar(v)) => {
            v.n.as_const()
                .and_then(|c| u32::try_from(c).ok())
                .filter(|&c| c > 0 && c <= crate::maps::MAX_VALUE_SIZE)
        }
        _ => None,
    };
    // sizes and maps first: memory arguments are checked with them
    let mut order: Vec<usize> = (0..5).collect();
    order.sort_by_key(|&k| !matches!(sig.args[k], Arg::Size | Arg::ConstMapPtr));
    let mut map: Option<u16> = None;
    for k in order {
        let arg = &sig.args[k];
        let r = u8::try_from(k + 1).unwrap_or(1);
        let memory = matches!(
            arg,
            Arg::ReadMem { .. }
                | Arg::ReadMemOrNull { .. }
                | Arg::WriteMem { .. }
                | Arg::MapKey
                | Arg::MapValue
        );
        if memory && matches!(st.regs[usize::from(r)], Reg::Pkt(_)) && !sig.packet_memory {
            return reject(
                r,
                format!(
                    "{name}: argument r{r} points into the packet; as in the kernel, only the \
                     map helpers and bpf_csum_diff take packet memory (copy the bytes to the \
                     stack first)"
                ),
            );
        }
        match *arg {
            Arg::Unused => {}
            Arg::Any => {
                read(st, r)?;
            }
            Arg::Size => {
                let v = scalar(st, r)?;
                if v.n.umax > 512 {
                    return reject(
                        r,
                        format!(
                            "{name}: size argument r{r} may exceed 512 (r{r} in {})",
                            v.n
                        ),
                    );
                }
            }
            Arg::ReadMem { size } => {
                let v = read(st, r)?;
                let sv = scalar(st, size)?;
                let n = u32::try_from(sv.n.umax.min(512)).unwrap_or(512);
                check_mem_arg(st, p, r, v, n, &name)?;
            }
            Arg::ReadMemOrNull { size } => {
                let v = read(st, r)?;
                let sv = scalar(st, size)?;
                let null = matches!(v, Reg::Scalar(z) if z.n.as_const() == Some(0));
                if !(null && sv.n.umax == 0) {
                    let n = u32::try_from(sv.n.umax.min(512)).unwrap_or(512);
                    check_mem_arg(st, p, r, v, n, &name)?;
                }
            }
            Arg::WriteMem { size } => {
                let v = read(st, r)?;
                let sv = scalar(st, size)?;
                let n = u32::try_from(sv.n.umax.min(512)).unwrap_or(512);
                let written = u32::try_from(sv.n.umin.min(512)).unwrap_or(0);
                check_write_arg(st, p, r, v, n, written, &name)?;
            }
            Arg::Ctx => match read(st, r)? {
                Reg::Ctx { off: 0 } => {}
                o => {
                    return reject(
                        r,
                        format!(
                            "{name}: argument r{r} must be the context (r1 as the program \
                             received it), not a {}",
                            o.kind()
                        ),
                    )
                }
            },
            Arg::Scalar => {
                scalar(st, r).map_err(|e| Reject {
                    msg: format!("{name}: {}", e.msg),
                    ..e
                })?;
            }
            Arg::ConstMapPtr => match read(st, r)? {
                Reg::MapPtr { map: m } => {
                    let kind = p.maps.get(usize::from(m)).map(|d| d.kind);
                    if let Some(kind) = kind.filter(|&t| !crate::maps::helper_accepts_map(id, t)) {
                        return reject(
                            r,
                            format!(
                                "{name}: map \"{}\" is a {} map, which this helper does not take",
                                p.map(m).0,
                                kind.info().name
                            ),
                        );
                    }
                    map = Some(m);
                }
                o => {
                    return reject(
                        r,
                        format!(
                            "{name}: argument r{r} must be a map (an lddw of a map), not a {}",
                            o.kind()
                        ),
                    )
                }
            },
            Arg::MapKey | Arg::MapValue => {
                let v = read(st, r)?;
                let Some(def) = map.and_then(|m| p.maps.get(usize::from(m))) else {
                    return reject(r, format!("{name}: no map argument"));
                };
                let (n, what) = if *arg == Arg::MapKey {
                    (def.key_size, "key")
                } else {
                    (def.value_size, "value")
                };
                check_mem_arg(
                    st,
                    p,
                    r,
                    v,
                    n,
                    &format!("{name}, {what} of map \"{}\"", def.name),
                )?;
            }
            Arg::ReleaseRecord => match read(st, r)? {
                Reg::Record {
                    id: rec, off: 0, ..
                } => release(st, rec),
                o => {
                    let why = match o {
                        Reg::RecordOrNull { .. } => "check it against NULL first",
                        Reg::Record { .. } => "it must point to the start of the record",
                        _ => "it must be a record from bpf_ringbuf_reserve",
                    };
                    return reject(r, format!("{name}: argument r{r} is a {}: {why}", o.kind()));
                }
            },
        }
    }
    for r in 1..=5 {
        st.regs[r] = Reg::Uninit;
    }
    if sig.changes_packet {
        clear_packet(st);
    }
    let ret = match sig.ret {
        Ret::U32 => Range::urange(0, u64::from(u32::MAX)),
        Ret::LoadOrError(bytes) => {
            // the value, or a negative errno (the rewrite of ld_abs tests
            // the sign; the value's range follows on the other path)
            let mut r = Range::UNKNOWN;
            r.smin = -4095;
            r.smax = (1i64 << (8 * u32::from(bytes).min(4))) - 1;
            r.norm().unwrap_or(Range::UNKNOWN)
        }
        Ret::MapValueOrNull => {
            let Some(m) = map else {
                return reject(None, format!("{name}: no map argument"));
            };
            let link = u32::try_from(i + 1).unwrap_or(u32::MAX);
            // an older result of this call is no longer the same pointer
            st.for_each_reg(|r| {
                if let Reg::MapValueOrNull { id: old, .. } = r {
                    if *old == link {
                        *old = 0;
                    }
                }
            });
            st.regs[0] = Reg::MapValueOrNull { map: m, id: link };
            return Ok(());
        }
        Ret::RecordOrNull => {
            let Some(size) = record_size else {
                return reject(2, format!("{name}: the size (r2) must be a known constant"));
            };
            let rec = u32::try_from(i + 1).unwrap_or(u32::MAX);
            if st.refs.contains(&rec) {
                return reject(
                    None,
                    format!(
                        "{name}: called again before the record it reserved here was \
                         submitted or discarded"
                    ),
                );
            }
            st.refs.push(rec);
            st.refs.sort_unstable();
            st.regs[0] = Reg::RecordOrNull { id: rec, size };
            return Ok(());
        }
        Ret::Void => {
            st.regs[0] = Reg::Uninit;
            return Ok(());
        }
        _ => Range::UNKNOWN,
    };
    let v = st.fresh(ret);
    set(st, 0, Reg::Scalar(v));
    Ok(())
}

/// Release record `id`: every copy of its pointer becomes unusable.
fn release(st: &mut State, id: u32) {
    st.refs.retain(|&k| k != id);
    st.for_each_reg(|r| {
        if matches!(*r, Reg::Record { id: k, .. } | Reg::RecordOrNull { id: k, .. } if k == id) {
            *r = Reg::Uninit;
        }
    });
}

fn call_local(p: &Prog, st: &mut State, i: usize, target: usize) -> VResult<Step> {
    let depth = st.depth() + 1;
    // the kernel's limit counts frames, the program's own included
    if depth + 1 > crate::check::MAX_CALL_DEPTH {
        return reject(
            None,
            format!(
                "bpf-to-bpf calls nest too deep: a call stack of {} frames (at most {})",
                depth + 1,
                crate::check::MAX_CALL_DEPTH
            ),
        );
    }
    let saved = [st.regs[6], st.regs[7], st.regs[8], st.regs[9]];
    Rc::make_mut(&mut st.frames).push(Frame::new(i, saved, p.frame_limit(depth)));
    st.regs[0] = Reg::Uninit;
    for r in 6..=9 {
        st.regs[r] = Reg::Uninit;
    }
    st.regs[10] = Reg::Stack {
        frame: u8::try_from(depth).unwrap_or(u8::MAX),
        off: 0,
    };
    Ok(Step::Next(target))
}

fn exit(st: &mut State) -> VResult<Step> {
    let depth = st.depth();
    // a function may return nothing (a void function): r0 is then as
    // unreadable in its caller as it was here, as in the kernel
    let r0 = if depth == 0 { read(st, 0)? } else { st.regs[0] };
    if depth == 0 {
        if let Some(&id) = st.refs.first() {
            return reject(
                None,
                format!(
                    "the ring buffer record reserved at instruction {} is neither submitted nor \
                     discarded on this path",
                    id - 1
                ),
            );
        }
        if !matches!(r0, Reg::Scalar(_)) {
            return reject(
                0,
                format!("the program returns a {}, not a number", r0.kind()),
            );
        }
        return Ok(Step::Exit);
    }
    if matches!(r0, Reg::Stack { frame, .. } if usize::from(frame) >= depth) {
        return reject(0, "a function returns a pointer to its own stack frame");
    }
    let Some(fr) = Rc::make_mut(&mut st.frames).pop() else {
        return reject(None, "no frame to return to");
    };
    for r in 1..=5 {
        st.regs[r] = Reg::Uninit;
    }
    st.regs[6..=9].copy_from_slice(&fr.saved);
    st.regs[10] = Reg::Stack {
        frame: u8::try_from(depth - 1).unwrap_or(0),
        off: 0,
    };
    // pointers into the dead frame are no longer usable
    st.for_each_reg(|r| {
        if matches!(r, Reg::Stack { frame, .. } if usize::from(*frame) >= depth) {
            *r = Reg::Uninit;
        }
    });
    Ok(Step::Next(fr.callsite + 1))
}

/// `p ± s` for a packet pointer `p` and a scalar `s`.
fn pkt_add(st: &mut State, r: u8, src: u8, p: &Val, s: &Val, neg: bool) -> VResult<Val> {
    let bounded = s.n.smin >= -MAX_OFF && s.n.smax <= MAX_OFF;
    if !bounded {
        return reject(
            r,
            format!(
                "pointer arithmetic with an unbounded scalar (r{src} in {}); bound it by a comparison first",
                s.n
            ),
        );
    }
    let n = if neg { p.n.sub(&s.n) } else { p.n.add(&s.n) };
    if n.smin < -MAX_OFF || n.smax > MAX_OFF {
        return reject(r, format!("packet pointer offset out of range ({n})"));
    }
    let konst = s.n.as_const().map(|k| k as i64);
    let (sym, c) = match konst {
        Some(k) if p.sym != NONE => (p.sym, if neg { c_sub(p.c, k) } else { c_add(p.c, k) }),
        _ if !neg && p.sym == ZERO && s.sym != NONE && s.n.smin >= 0 => (s.sym, c_add(p.c, s.c)),
        _ => (NONE, None),
    };
    Ok(match c {
        Some(_) => Val::with_sym(n, sym, c),
        None => st.fresh(n),
    })
}

/// `p ± s` for a map value offset `p` and a scalar `s`.
fn map_add(r: u8, src: u8, p: &Range, s: &Val, neg: bool) -> VResult<Range> {
    if s.n.smin < -MAX_OFF || s.n.smax > MAX_OFF {
        return reject(
            r,
            format!(
                "map value pointer arithmetic with an unbounded scalar (r{src} in {}); bound \
                 it by a comparison first",
                s.n
            ),
        );
    }
    let n = if neg { p.sub(&s.n) } else { p.add(&s.n) };
    if n.smin < -MAX_OFF || n.smax > MAX_OFF {
        return reject(r, format!("map value pointer offset out of range ({n})"));
    }
    Ok(n)
}

/// `off ± b` for a pointer whose offset must stay a known constant (stack,
/// context, ring buffer record): refused with `variable` when `b` is not
/// a constant, with `range` when the result leaves [`MAX_OFF`].
fn const_off(dst: u8, b: &Val, sub: bool, off: i64, variable: &str, range: &str) -> VResult<i64> {
    let Some(k) = b.n.as_const() else {
        return reject(dst, variable);
    };
    let k = k as i64;
    let r = if sub {
        off.checked_sub(k)
    } else {
        off.checked_add(k)
    };
    match r.filter(|o| o.abs() <= MAX_OFF) {
        Some(o) => Ok(o),
        None => reject(dst, range),
    }
}

/// Map handles and pointers that may be NULL take no arithmetic.
const fn no_alu(r: &Reg) -> bool {
    matches!(
        r,
        Reg::MapPtr { .. } | Reg::MapValueOrNull { .. } | Reg::RecordOrNull { .. }
    )
}

fn refuse_map_alu(x: &Insn, dst: u8, src_r: u8, a: &Reg, b: &Reg) -> VResult<()> {
    let (r, what) = if no_alu(a) { (dst, a) } else { (src_r, b) };
    let why = if matches!(what, Reg::MapPtr { .. }) {
        "a map handle only goes to map helpers, unchanged".to_owned()
    } else {
        format!(
            "it may be NULL: check the result of bpf_map_lookup_elem against NULL first \
             (then r{r} is a map value pointer)"
        )
    };
    reject(
        r,
        format!("ALU operation {:#04x} on a {}: {why}", x.code, what.kind()),
    )
}

/// Byte swaps: `le`/`be` (ALU class, bit 0x08 = to big endian) and ISA
/// v4's unconditional `bswap` (ALU64 class).  Only `dst` is read.
fn byte_swap(st: &mut State, x: &Insn) -> VResult<()> {
    let v = scalar(st, x.dst)?;
    let width = match x.imm {
        16 | 32 | 64 => x.imm.unsigned_abs(),
        w => return reject(None, format!("byte swap of width {w} (16, 32 or 64)")),
    };
    let swap = x.code & 0x07 == 0x07 || x.code & 0x08 != 0;
    let n = match v.n.as_const() {
        Some(c) => Range::konst(match (width, swap) {
            (16, true) => u64::from((c as u16).swap_bytes()),
            (32, true) => u64::from((c as u32).swap_bytes()),
            (16, false) => u64::from(c as u16),
            (32, false) => u64::from(c as u32),
            (_, true) => c.swap_bytes(),
            (_, false) => c,
        }),
        None if !swap && width == 64 => v.n,
        None if !swap && v.n.umax >> width == 0 => v.n,
        None => Range::unknown_bytes(width / 8),
    };
    let val = if !swap && n == v.n { v } else { st.fresh(n) };
    set(st, x.dst, Reg::Scalar(val));
    Ok(())
}

/// Sign-extend the low `bits` bits of the values of `n`.
fn sign_extend(n: &Range, bits: u32) -> Range {
    if let Some(c) = n.as_const() {
        let sh = 64 - bits;
        return Range::konst((((c << sh) as i64) >> sh) as u64);
    }
    let half = 1u64 << (bits - 1);
    if n.umax < half {
        return *n;
    }
    let mut r = Range::UNKNOWN;
    r.smin = -(half as i64);
    r.smax = half as i64 - 1;
    r.norm().unwrap_or(Range::UNKNOWN)
}

/// `mov` (ISA v4: `movsx` when the offset is 8, 16 or 32).
fn mov(st: &mut State, x: &Insn, src_v: Reg) -> VResult<()> {
    let is64 = x.code & 0x07 == 0x07;
    let by_reg = x.code & 0x08 != 0;
    if by_reg && x.off != 0 {
        let Reg::Scalar(s) = src_v else {
            return reject(x.src, format!("sign-extending move of a {}", src_v.kind()));
        };
        let bits = match (x.off, is64) {
            (8 | 16, _) | (32, true) => u32::from(x.off.unsigned_abs()),
            _ => return reject(None, format!("movsx with offset {}", x.off)),
        };
        let mut n = sign_extend(&s.n, bits);
        if !is64 {
            n = n.low32();
        }
        let v = if n == s.n { s } else { st.fresh(n) };
        set(st, x.dst, Reg::Scalar(v));
        return Ok(());
    }
    let v = if is64 {
        src_v
    } else {
        let Reg::Scalar(s) = src_v else {
            return reject(x.src, format!("32-bit move of a {}", src_v.kind()));
        };
        if s.n.umax <= u64::from(u32::MAX) {
            Reg::Scalar(s)
        } else {
            Reg::Scalar(st.fresh(s.n.low32()))
        }
    };
    set(st, x.dst, v);
    Ok(())
}

fn alu(st: &mut State, x: &Insn) -> VResult<()> {
    let op = x.code & 0xf0;
    let is64 = x.code & 0x07 == 0x07;
    let by_reg = x.code & 0x08 != 0;
    let dst = x.dst;
    if op == 0xd0 {
        return byte_swap(st, x);
    }
    let src_v = if by_reg {
        read(st, x.src)?
    } else if is64 {
        Reg::Scalar(Val::konst(i64::from(x.imm) as u64))
    } else {
        Reg::Scalar(Val::konst(u64::from(x.imm as u32)))
    };
    if op == 0xb0 {
        return mov(st, x, src_v);
    }
    if matches!(op, 0x30 | 0x90) && !by_reg && x.imm == 0 {
        // defined (the result is 0 or the dividend), but the kernel
        // refuses it as a certain mistake
        return reject(
            None,
            "division by the constant 0 (the kernel refuses it as a mistake)",
        );
    }
    let dst_v = read(st, dst)?;
    if op == 0x10 && matches!(dst_v, Reg::Stack { .. }) {
        return reject(
            dst,
            "subtraction from a stack pointer (the kernel refuses it: add a negative \
             number instead)",
        );
    }
    let src_r = if by_reg { x.src } else { dst };
    let res = match (dst_v, src_v) {
        (Reg::Scalar(a), Reg::Scalar(b)) => Reg::Scalar(scalar_alu(st, op, &a, &b, is64, x.off)),
        (Reg::Pkt(a), Reg::Scalar(b)) if is64 && (op == 0x00 || op == 0x10) => {
            Reg::Pkt(pkt_add(st, dst, src_r, &a, &b, op == 0x10)?)
        }
        (Reg::Scalar(a), Reg::Pkt(b)) if is64 && op == 0x00 => {
            Reg::Pkt(pkt_add(st, dst, dst, &b, &a, false)?)
        }
        (Reg::Pkt(a), Reg::Pkt(b)) if is64 && op == 0x10 => {
            let n = a.n.sub(&b.n);
            let same = a.sym == b.sym && a.sym != NONE;
            let v = match c_sub(a.c, b.c) {
                Some(d) if same => Val::konst(d as u64),
                Some(d) if b.sym == ZERO && a.sym != NONE && n.smin >= 0 => {
                    Val::with_sym(n, a.sym, Some(d))
                }
                _ => st.fresh(n),
            };
            Reg::Scalar(v)
        }
        (Reg::Stack { frame, off }, Reg::Scalar(b))
        | (Reg::Scalar(b), Reg::Stack { frame, off })
            if is64 && (op == 0x00 || (op == 0x10 && matches!(dst_v, Reg::Stack { .. }))) =>
        {
            let Some(k) = b.n.as_const() else {
                return reject(
                    dst,
                    format!(
                        "variable offset into the stack (scalar in {}) is not supported",
                        b.n
                    ),
                );
            };
            let k = k as i64;
            let off = if op == 0x10 {
                off.checked_sub(k)
            } else {
                off.checked_add(k)
            }
            .filter(|o| o.abs() <= MAX_OFF);
            let Some(off) = off else {
                return reject(dst, "stack pointer offset out of range");
            };
            Reg::Stack { frame, off }
        }
        (Reg::Record { id, size, off }, Reg::Scalar(b)) if is64 && (op == 0x00 || op == 0x10) => {
            let off = const_off(
                dst,
                &b,
                op == 0x10,
                off,
                "variable offset into a ring buffer record is not supported",
                "record pointer offset out of range",
            )?;
            Reg::Record { id, size, off }
        }
        (Reg::Ctx { off }, Reg::Scalar(b)) if is64 && (op == 0x00 || op == 0x10) => {
            let off = const_off(
                dst,
                &b,
                op == 0x10,
                off,
                "variable offset into the context is not supported",
                "context pointer offset out of range",
            )?;
            Reg::Ctx { off }
        }
        (Reg::MapValue { map, off }, Reg::Scalar(b))
        | (Reg::Scalar(b), Reg::MapValue { map, off })
            if is64 && (op == 0x00 || (op == 0x10 && matches!(dst_v, Reg::MapValue { .. }))) =>
        {
            Reg::MapValue {
                map,
                off: map_add(dst, src_r, &off, &b, op == 0x10)?,
            }
        }
        (a, b) if no_alu(&a) || no_alu(&b) => return refuse_map_alu(x, dst, src_r, &a, &b),
        (a, b) => {
            let (r, what) = if a.is_pointer() { (dst, a) } else { (src_r, b) };
            return reject(
                r,
                format!(
                    "{}-bit ALU operation {:#04x} on a {}: only adding or subtracting a \
                     scalar (64-bit) is allowed on pointers",
                    if is64 { 64 } else { 32 },
                    x.code,
                    what.kind()
                ),
            );
        }
    };
    set(st, dst, res);
    Ok(())
}

fn scalar_alu(st: &mut State, op: u8, a: &Val, b: &Val, is64: bool, off: i16) -> Val {
    let n = if matches!(op, 0x30 | 0x90) && off == 1 {
        // ISA v4 signed division and modulo
        match (a.n.as_const(), b.n.as_const()) {
            (Some(x), Some(y)) => Range::konst(eval_sdiv(op, x, y, is64)),
            _ if is64 => Range::UNKNOWN,
            _ => Range::unknown_bytes(4),
        }
    } else {
        a.n.alu(op, &b.n, is64)
    };
    if let Some(c) = n.as_const() {
        return Val::konst(c);
    }
    // keep the symbolic part across additions of constants that cannot wrap
    let limit = if is64 { u64::MAX } else { u64::from(u32::MAX) };
    let shift = |v: &Val, k: i64| -> Option<Val> {
        if v.sym == NONE || v.n.umax > limit {
            return None;
        }
        let m = v.n.shifted(k)?;
        (m.umax <= limit).then_some(Val::with_sym(m, v.sym, Some(c_add(v.c, k)?)))
    };
    let k_of = |v: &Val| -> Option<i64> {
        let c = v.n.as_const()?;
        Some(if is64 {
            c as i64
        } else {
            i64::from(c as u32 as i32)
        })
    };
    let kept = match op {
        0x00 => k_of(b)
            .and_then(|k| shift(a, k))
            .or_else(|| k_of(a).and_then(|k| shift(b, k))),
        0x10 => k_of(b).and_then(|k| shift(a, k.checked_neg()?)),
        // setting bits known to be clear adds them
        0x40 | 0xa0 => {
            b.n.as_const()
                .filter(|&k| (a.n.t.value | a.n.t.mask) & k == 0 && k <= i64::MAX as u64)
                .and_then(|k| shift(a, k as i64))
        }
        _ => None,
    };
    kept.unwrap_or_else(|| st.fresh(n))
}

/// Concrete ISA v4 signed division (`op` 0x30) and modulo (0x90), as the
/// engine executes them: x / 0 = 0, x % 0 = x, `MIN / -1` = `MIN`,
/// `MIN % -1` = 0.
pub fn eval_sdiv(op: u8, a: u64, b: u64, is64: bool) -> u64 {
    if is64 {
        let (x, y) = (a as i64, b as i64);
        (match (op, y) {
            (0x30, 0) => 0,
            (_, 0) => x,
            (0x30, _) => x.wrapping_div(y),
            _ => x.wrapping_rem(y),
        }) as u64
    } else {
        let (x, y) = (a as u32 as i32, b as u32 as i32);
        u64::from(
            (match (op, y) {
                (0x30, 0) => 0,
                (_, 0) => x,
                (0x30, _) => x.wrapping_div(y),
                _ => x.wrapping_rem(y),
            }) as u32,
        )
    }
}

/// Learn from `lo <= hi` (`lo < hi` if `strict`) on values `lo`, `hi`.
fn learn_le(st: &mut State, lo: &Val, hi: &Val, strict: bool) {
    // the metadata's extent is learnt from data only (learn_meta), as in
    // the kernel: its accesses end before the packet
    if hi.sym == LEN && !matches!(lo.sym, NONE | LEN | META) {
        if let Some(k) = c_sub(lo.c, hi.c).and_then(|k| k.checked_add(i64::from(strict))) {
            st.learn(lo.sym, k);
        }
    }
}

/// Record what `a op b`, for packet offsets, tells about the metadata:
/// as in the kernel, `data_meta + n <= data` (and its other forms)
/// proves `n` bytes at `data_meta`: `META + n <= 0 <= LEN`.
fn learn_meta(st: &mut State, a: &Val, b: &Val, op: Cmp) {
    let (lo, hi, strict) = match op {
        Cmp::Lt => (a, b, true),
        Cmp::Le => (a, b, false),
        Cmp::Gt => (b, a, true),
        Cmp::Ge => (b, a, false),
        Cmp::Eq => {
            learn_meta(st, a, b, Cmp::Le);
            learn_meta(st, b, a, Cmp::Le);
            return;
        }
        _ => return,
    };
    // the kernel learns nothing from offsets beyond MAX_PACKET_OFF
    if lo.sym == META && hi.sym == ZERO && hi.c == 0 && lo.c <= 0xffff {
        if let Some(k) = lo.c.checked_add(i64::from(strict)) {
            st.learn(META, k);
        }
    }
}

/// Record what `a op b` tells about the packet length.
fn learn(st: &mut State, a: &Val, b: &Val, op: Cmp) {
    match op {
        Cmp::Lt => learn_le(st, a, b, true),
        Cmp::Le => learn_le(st, a, b, false),
        Cmp::Gt => learn_le(st, b, a, true),
        Cmp::Ge => learn_le(st, b, a, false),
        Cmp::Eq => {
            learn_le(st, a, b, false);
            learn_le(st, b, a, false);
        }
        _ => {}
    }
}

/// Narrow other registers holding the same symbol as `r`.
fn propagate(st: &mut State, r: usize) {
    let Reg::Scalar(v) = st.regs[r] else {
        return;
    };
    if v.sym == NONE || v.sym == ZERO {
        return;
    }
    if v.sym == LEN {
        // LEN = v - c >= v.umin - c
        if let Some(m) = i64::try_from(v.n.umin)
            .ok()
            .and_then(|m| m.checked_sub(v.c))
        {
            st.learn(ZERO, m);
        }
    }
    for k in 0..10 {
        if k == r {
            continue;
        }
        if let Reg::Scalar(o) = &mut st.regs[k] {
            if o.sym == v.sym {
                if let Some((m, _)) =
                    o.c.checked_sub(v.c)
                        .and_then(|d| v.n.shifted(d))
                        .and_then(|n| Range::refine(&o.n, &n, Cmp::Eq))
                {
                    o.n = m;
                }
            }
        }
    }
}

/// Narrow `st` assuming `dst op src` holds; `false` if it cannot.
fn assume(st: &mut State, x: &Insn, op: Cmp, is64: bool) -> bool {
    let by_reg = x.code & 0x08 != 0;
    let a = st.regs[usize::from(x.dst)];
    let b = if by_reg {
        st.regs[usize::from(x.src)]
    } else if is64 {
        Reg::Scalar(Val::konst(i64::from(x.imm) as u64))
    } else {
        Reg::Scalar(Val::konst(u64::from(x.imm as u32)))
    };
    match (a, b) {
        (Reg::Scalar(va), Reg::Scalar(vb)) => {
            let fits = |v: &Val| v.n.umax <= u64::from(u32::MAX >> u32::from(is_signed(op)));
            if !(is64 || fits(&va) && fits(&vb)) {
                // 32-bit comparison of values wider than 32 bits
                if let (Some(p), Some(q)) = (va.n.as_const(), vb.n.as_const()) {
                    let (p, q) = if is_signed(op) {
                        (
                            i64::from(p as u32 as i32) as u64,
                            i64::from(q as u32 as i32) as u64,
                        )
                    } else {
                        (u64::from(p as u32), u64::from(q as u32))
                    };
                    return op.eval(p, q);
                }
                return true;
            }
            let Some((na, nb)) = Range::refine(&va.n, &vb.n, op) else {
                return false;
            };
            learn(st, &va, &vb, op);
            if let Reg::Scalar(v) = &mut st.regs[usize::from(x.dst)] {
                v.n = na;
            }
            propagate(st, usize::from(x.dst));
            if by_reg {
                if let Reg::Scalar(v) = &mut st.regs[usize::from(x.src)] {
                    v.n = nb;
                }
                propagate(st, usize::from(x.src));
            }
            true
        }
        (Reg::Pkt(va), Reg::Pkt(vb)) if is64 => {
            if va.sym == vb.sym && va.sym != NONE {
                let (p, q) = if is_signed(op) {
                    (va.c as u64, vb.c as u64)
                } else {
                    (va.c as u64 ^ (1 << 63), vb.c as u64 ^ (1 << 63))
                };
                return op.eval(p, q) || matches!(op, Cmp::Set | Cmp::NotSet);
            }
            // packet offsets compare as the addresses do: the buffer has
            // room in front of the packet for the metadata
            let ordered = |v: &Val| v.n.smin >= 0 || v.sym == META;
            if ordered(&va) && ordered(&vb) && !is_signed(op) {
                learn(st, &va, &vb, op);
                learn_meta(st, &va, &vb, op);
            }
            // offsets from the packet's start compare as numbers do: an
            // impossible outcome is not explored, and `data_end` (its copy
            // compared) learns an upper bound, so that a second test of
            // `data + k > data_end` is decided, as in the kernel
            if va.n.smin >= 0 && vb.n.smin >= 0 && !is_signed(op) {
                let Some((na, nb)) = Range::refine(&va.n, &vb.n, op) else {
                    return false;
                };
                for (r, n) in [(x.dst, na), (x.src, nb)] {
                    if let Reg::Pkt(v) = &mut st.regs[usize::from(r)] {
                        if v.sym == LEN {
                            v.n = n;
                        }
                    }
                }
            }
            true
        }
        _ => true,
    }
}

/// `r == 0` / `r != 0` on a map value pointer that may be NULL: narrow
/// `fall` and `taken` (copies of the state) to its NULL and non-NULL
/// cases.  `false` if the jump is no such check.
fn null_check(fall: &mut State, taken: &mut State, x: &Insn, op: Cmp, is64: bool) -> bool {
    if !matches!(op, Cmp::Eq | Cmp::Ne) {
        return false;
    }
    let zero = |r: Reg| matches!(r, Reg::Scalar(v) if v.n.as_const() == Some(0));
    let dst = fall.regs[usize::from(x.dst)];
    let (k, other) = if x.code & 0x08 == 0 {
        (x.dst, x.imm == 0)
    } else {
        let src = fall.regs[usize::from(x.src)];
        let nullable = |r: Reg| matches!(r, Reg::MapValueOrNull { .. } | Reg::RecordOrNull { .. });
        match (dst, src) {
            (d, s) if nullable(d) => (x.dst, zero(s)),
            (d, s) if nullable(s) => (x.src, zero(d)),
            _ => return false,
        }
    };
    let (id, valid) = match fall.regs[usize::from(k)] {
        Reg::MapValueOrNull { map, id } => (
            id,
            Reg::MapValue {
                map,
                off: Range::konst(0),
            },
        ),
        Reg::RecordOrNull { id, size } => (id, Reg::Record { id, size, off: 0 }),
        _ => return false,
    };
    let record = matches!(valid, Reg::Record { .. });
    if !other {
        return false;
    }
    let (null, nonnull) = if op == Cmp::Eq {
        (taken, fall)
    } else {
        (fall, taken)
    };
    narrow_null(nonnull, k, id, valid);
    // a 32-bit comparison only tells that the low half is zero
    if is64 {
        narrow_null(null, k, id, Reg::Scalar(Val::konst(0)));
        if record {
            // a NULL record needs no release
            null.refs.retain(|&r| r != id);
        }
    }
    true
}

/// Replace the pointer in register `k` and its copies (same non-zero
/// `id`) by `new`.
fn narrow_null(st: &mut State, k: u8, id: u32, new: Reg) {
    st.regs[usize::from(k)] = new;
    if id == 0 {
        return;
    }
    st.for_each_reg(|r| {
        if matches!(*r, Reg::MapValueOrNull { id: j, .. } | Reg::RecordOrNull { id: j, .. } if j == id)
        {
            *r = new;
        }
    });
}

/// Comparisons involving pointers.  A program may compare two pointers
/// into the same packet, stack frame, map value or context (which tells
/// it offsets it knows), and a pointer that cannot be NULL against 0
/// (`Some(outcome)`); nothing else, as the outcome would depend on (and
/// reveal) a host address.  `None` for comparisons of numbers and of
/// packet pointers, which [`assume`] handles.
fn pointer_cmp(st: &State, x: &Insn, op: Cmp) -> VResult<Option<bool>> {
    let a = st.regs[usize::from(x.dst)];
    let (b, src) = if x.code & 0x08 != 0 {
        (st.regs[usize::from(x.src)], x.src)
    } else {
        (Reg::Scalar(Val::konst(i64::from(x.imm) as u64)), x.dst)
    };
    let bits = matches!(op, Cmp::Set | Cmp::NotSet);
    let zero = |r: &Reg| matches!(r, Reg::Scalar(v) if v.n.as_const() == Some(0));
    match (a, b) {
        (Reg::Scalar(_), Reg::Scalar(_)) => return Ok(None),
        (Reg::Pkt(_), Reg::Pkt(_)) if !bits && x.code & 0x07 == 0x05 => return Ok(None),
        // the packet pointer is NULL for an empty packet (rbpf passes no
        // memory): a test against 0 may go either way
        (Reg::Pkt(_), z) | (z, Reg::Pkt(_)) if zero(&z) && matches!(op, Cmp::Eq | Cmp::Ne) => {
            return Ok(None);
        }
        (p, z) | (z, p)
            if p.is_pointer()
                && !matches!(p, Reg::MapValueOrNull { .. } | Reg::RecordOrNull { .. })
                && zero(&z)
                && matches!(op, Cmp::Eq | Cmp::Ne) =>
        {
            return Ok(Some(op == Cmp::Ne));
        }
        (Reg::Stack { frame: f, .. }, Reg::Stack { frame: g, .. }) if f == g && !bits => {}
        (Reg::MapValue { map: m, .. }, Reg::MapValue { map: n, .. }) if m == n && !bits => {}
        (Reg::Ctx { .. }, Reg::Ctx { .. }) if !bits => {}
        (Reg::Pkt(_), Reg::Pkt(_)) if !bits => {
            return reject(
                x.dst,
                "32-bit comparison of packet pointers: compare them with 64-bit jumps",
            );
        }
        _ => {
            let r = if a.is_pointer() { x.dst } else { src };
            return reject(
                r,
                format!(
                    "comparison of a {} with a {}: its outcome would depend on a host address",
                    a.kind(),
                    b.kind()
                ),
            );
        }
    }
    // same-region pointers: both outcomes are possible
    Ok(None)
}

const fn is_signed(op: Cmp) -> bool {
    matches!(op, Cmp::Sgt | Cmp::Sge | Cmp::Slt | Cmp::Sle)
}

fn jump(p: &mut Prog, st: &mut State, i: usize, x: &Insn) -> VResult<Step> {
    let op = x.code & 0xf0;
    let target = super::cfg::jump_target(x, i).unwrap_or(0);
    if op == 0x00 {
        return Ok(Step::Next(target));
    }
    let is64 = x.code & 0x07 == 0x05;
    read(st, x.dst)?;
    if x.code & 0x08 != 0 {
        read(st, x.src)?;
    }
    let Some(cmp) = Cmp::from_op(op) else {
        return reject(None, format!("unknown jump {:#04x}", x.code));
    };
    let mut taken = p.copy(st);
    if null_check(st, &mut taken, x, cmp, is64) {
        return Ok(Step::Branch {
            target,
            taken: Some(taken),
            fall: true,
        });
    }
    if let Some(known) = pointer_cmp(st, x, cmp)? {
        return Ok(if known {
            Step::Next(target)
        } else {
            Step::Next(i + 1)
        });
    }
    let t_ok = assume(&mut taken, x, cmp, is64);
    let f_ok = assume(st, x, cmp.negate(), is64);
    let taken = if t_ok {
        Some(taken)
    } else {
        p.recycle(taken);
        None
    };
    Ok(Step::Branch {
        target,
        taken,
        fall: f_ok,
    })
}

/// An atomic read-modify-write of 4 or 8 bytes at `dst + off` (stack or
/// map value, naturally aligned) with the number in `src`; the fetching
/// forms give the old value to `src` (`r0` for `cmpxchg`, which compares
/// it with `r0`).
fn atomic(p: &mut Prog, st: &mut State, i: usize, x: &Insn) -> VResult<()> {
    let size = size_of(x.code);
    let base = read(st, x.dst)?;
    match base {
        Reg::Stack { .. } => {}
        Reg::MapValue { off, .. } => {
            let aligned = off
                .as_const()
                .is_some_and(|c| (c as i64 + i64::from(x.off)).rem_euclid(i64::from(size)) == 0);
            if !aligned {
                return reject(
                    x.dst,
                    format!(
                        "atomic operation at map value offset {off}{:+} not proven {size}-byte \
                         aligned",
                        x.off
                    ),
                );
            }
        }
        o => {
            return reject(
                x.dst,
                format!(
                    "atomic operation on a {}: only the stack and map values take them",
                    o.kind()
                ),
            )
        }
    }
    let src = read(st, x.src)?;
    if src.is_pointer() {
        return reject(
            x.src,
            format!(
                "atomic operation with a {}: would store a host address",
                src.kind()
            ),
        );
    }
    let cmpxchg = x.imm == 0xf1;
    if cmpxchg {
        scalar(st, 0)?;
    }
    let old = access(p, st, i, x, x.dst, None)?.unwrap_or(Reg::Uninit);
    if !matches!(old, Reg::Scalar(_)) {
        return reject(
            x.dst,
            format!("atomic operation on a spilled {}", old.kind()),
        );
    }
    let new = Reg::Scalar(st.fresh(Range::unknown_bytes(size)));
    access(p, st, i, x, x.dst, Some(new))?;
    if cmpxchg {
        set(st, 0, old);
    } else if x.imm & 1 != 0 {
        set(st, x.src, old);
    }
    Ok(())
}

/// Execute instruction `i` on `st`.
pub fn step(p: &mut Prog, st: &mut State, i: usize) -> VResult<Step> {
    let x = p.code[i];
    p.seen[i] = true;
    match x.code & 0x07 {
        0x00 if x.code == LDDW => {
            let lddw = p.map_lddw.binary_search_by_key(&i, |&(at, _)| at);
            if let Some((map, value)) = lddw.ok().map(|k| p.map_lddw[k].1) {
                let v = match value {
                    None => Reg::MapPtr { map },
                    Some(off) => Reg::MapValue {
                        map,
                        off: Range::konst(u64::from(off)),
                    },
                };
                set(st, x.dst, v);
                return Ok(Step::Next(i + 2));
            }
            let hi = p.code.get(i + 1).map_or(0, |y| y.imm as u32);
            let v = u64::from(x.imm as u32) | (u64::from(hi) << 32);
            set(st, x.dst, Reg::Scalar(Val::konst(v)));
            Ok(Step::Next(i + 2))
        }
        0x00 => reject(
            None,
            "legacy packet access (ld_abs/ld_ind) is not supported by the verifier",
        ),
        0x01 => {
            let v = access(p, st, i, &x, x.src, None)?.unwrap_or(Reg::Uninit);
            let v = if x.code & 0xe0 == 0x80 {
                // ISA v4 sign-extending load
                let Reg::Scalar(s) = v else {
                    return reject(x.src, format!("sign-extending load of a {}", v.kind()));
                };
                let n = sign_extend(&s.n, size_of(x.code) * 8);
                Reg::Scalar(if n == s.n { s } else { st.fresh(n) })
            } else {
                v
            };
            set(st, x.dst, v);
            Ok(Step::Next(i + 1))
        }
        0x02 => {
            let imm = Reg::Scalar(Val::konst(i64::from(x.imm) as u64));
            access(p, st, i, &x, x.dst, Some(imm))?;
            Ok(Step::Next(i + 1))
        }
        0x03 if super::cfg::is_atomic(&x) => {
            atomic(p, st, i, &x)?;
            Ok(Step::Next(i + 1))
        }
        0x03 => {
            let v = read(st, x.src)?;
            access(p, st, i, &x, x.dst, Some(v))?;
            Ok(Step::Next(i + 1))
        }
        0x04 | 0x07 => {
            alu(st, &x)?;
            Ok(Step::Next(i + 1))
        }
        _ if x.code == crate::check::CALLX => {
            let reg = crate::check::callx_reg(&x).unwrap_or(0);
            let id = match read(st, reg)? {
                Reg::Scalar(v) => v.n.as_const().and_then(|c| i32::try_from(c).ok()),
                _ => None,
            };
            let Some(id) = id.filter(|&id| helpers::signature(id).is_some()) else {
                return reject(
                    reg,
                    format!(
                        "call by register (callx r{}): the register must hold the ID of a known \
                         helper; for calls through function pointers build with clang -O2, \
                         which calls helpers and functions directly",
                        reg
                    ),
                );
            };
            match p.callx.iter().find(|&&(at, _)| at == i) {
                Some(&(_, k)) if k != id => {
                    return reject(reg, "callx calls different helpers on different paths");
                }
                Some(_) => {}
                None => p.callx.push((i, id)),
            }
            call_helper(p, st, i, id)?;
            Ok(Step::Next(i + 1))
        }
        _ if x.code == CALL && x.src == 0 => {
            call_helper(p, st, i, x.imm)?;
            Ok(Step::Next(i + 1))
        }
        _ if x.code == CALL => {
            let t = super::cfg::call_target(&x, i).unwrap_or(0);
            call_local(p, st, i, t)
        }
        _ if x.code == EXIT => exit(st),
        _ => jump(p, st, i, &x),
    }
}

/// The state on entry.
pub fn entry_state(p: &Prog, min_len: u64) -> State {
    let mut regs = [Reg::Uninit; 11];
    let min = min_len.min(MAX_LEN);
    match p.conv {
        Convention::Raw => {
            regs[1] = Reg::Pkt(Val::konst(0));
            regs[2] = Reg::Scalar(Val {
                n: Range::urange(min, MAX_LEN),
                sym: LEN,
                c: 0,
            });
        }
        Convention::Context | Convention::Tc | Convention::Socket => {
            regs[1] = Reg::Ctx { off: 0 };
        }
    }
    regs[10] = Reg::Stack { frame: 0, off: 0 };
    let mut st = State {
        regs,
        frames: Rc::new(vec![Frame::new(
            usize::MAX,
            [Reg::Uninit; 4],
            p.frame_limit(0),
        )]),
        safe: Facts::default(),
        next: super::state::FIRST,
        refs: Vec::new(),
    };
    st.learn(ZERO, i64::try_from(min).unwrap_or(0));
    st
}
