// SPDX-License-Identifier: GPL-2.0-or-later

//! BPF maps: array, hash and per-CPU array (a plain array here: filters run
//! under QEMU's big lock, one packet at a time).
//!
//! All memory is allocated when a map is created: lookups, updates and
//! deletions never allocate, so programs using maps keep the engine's
//! "no allocation per run" property.  A value's address never changes
//! while the map lives, as programs hold pointers to values.
//!
//! Maps are used from one thread at a time (`Map` is `Send`, not `Sync`);
//! programs write values through raw pointers, the host through `&self`
//! methods, never at the same time.

use std::cell::{Cell, UnsafeCell};
use std::fmt;

/// `BPF_MAP_TYPE_*` values of the kernel ABI.
pub const BPF_MAP_TYPE_HASH: u32 = 1;
/// `BPF_MAP_TYPE_ARRAY`
pub const BPF_MAP_TYPE_ARRAY: u32 = 2;
/// `BPF_MAP_TYPE_PERCPU_ARRAY`
pub const BPF_MAP_TYPE_PERCPU_ARRAY: u32 = 6;

/// Update flags of `bpf_map_update_elem`.
pub const BPF_ANY: u64 = 0;
/// Create a new element only.
pub const BPF_NOEXIST: u64 = 1;
/// Update an existing element only.
pub const BPF_EXIST: u64 = 2;

/// Largest key or value accepted, in bytes (the kernel's limit for keys is
/// 512; values are kept small enough for a filter's state).
pub const MAX_KEY_SIZE: u32 = 512;
/// Largest value.
pub const MAX_VALUE_SIZE: u32 = 65536;
/// Largest map memory, in bytes.
pub const MAX_MAP_BYTES: usize = 64 << 20;
/// Largest memory of all the maps of a program, in bytes.
pub const MAX_PROGRAM_MAP_BYTES: usize = 256 << 20;

/// Kind of map.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MapKind {
    /// `BPF_MAP_TYPE_ARRAY`
    Array,
    /// `BPF_MAP_TYPE_HASH`
    Hash,
    /// `BPF_MAP_TYPE_PERCPU_ARRAY`, stored as one array.
    PercpuArray,
}

impl MapKind {
    /// The kind for a `BPF_MAP_TYPE_*` value.
    pub const fn from_type(t: u32) -> Option<Self> {
        match t {
            BPF_MAP_TYPE_HASH => Some(Self::Hash),
            BPF_MAP_TYPE_ARRAY => Some(Self::Array),
            BPF_MAP_TYPE_PERCPU_ARRAY => Some(Self::PercpuArray),
            _ => None,
        }
    }

    /// Name as in the kernel's `bpftool` output.
    pub const fn name(self) -> &'static str {
        match self {
            Self::Array => "array",
            Self::Hash => "hash",
            Self::PercpuArray => "percpu_array",
        }
    }

    const fn is_array(self) -> bool {
        matches!(self, Self::Array | Self::PercpuArray)
    }
}

/// A map as declared by a program.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MapDef {
    /// Name of the map's symbol (`.data` etc. for global data).
    pub name: String,
    /// Kind.
    pub kind: MapKind,
    /// Key size in bytes.
    pub key_size: u32,
    /// Value size in bytes.
    pub value_size: u32,
    /// Maximum number of entries.
    pub max_entries: u32,
    /// Initial contents of entry 0 (global data: `.data`, `.rodata`).
    pub initial: Option<Vec<u8>>,
}

/// An `lddw` of the program that refers to a map: it loads the map's
/// handle (`value_offset` None), or the address of the map's single value
/// plus `value_offset` (global data).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MapRef {
    /// Instruction index of the `lddw`.
    pub insn: usize,
    /// Index in the program's maps.
    pub map: usize,
    /// Offset in the value, for global data.
    pub value_offset: Option<u32>,
}

/// Why a map operation failed; `errno` gives the kernel's error number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MapError {
    /// The key does not exist (ENOENT).
    NoSuchKey,
    /// `BPF_NOEXIST` and the key exists (EEXIST).
    Exists,
    /// The map is full (E2BIG).
    Full,
    /// Arrays cannot delete; bad flags; index out of range (EINVAL).
    Invalid(&'static str),
    /// Key or value of the wrong size (EINVAL).
    Size {
        /// What has the wrong size.
        what: &'static str,
        /// Size expected.
        expected: u32,
        /// Size given.
        got: usize,
    },
}

impl MapError {
    /// The negative errno a helper returns for this error.
    pub const fn errno(&self) -> i64 {
        match self {
            Self::NoSuchKey => -(libc::ENOENT as i64),
            Self::Exists => -(libc::EEXIST as i64),
            Self::Full => -(libc::E2BIG as i64),
            Self::Invalid(_) | Self::Size { .. } => -(libc::EINVAL as i64),
        }
    }
}

impl fmt::Display for MapError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NoSuchKey => write!(f, "no such key"),
            Self::Exists => write!(f, "the key exists already (BPF_NOEXIST)"),
            Self::Full => write!(f, "the map is full"),
            Self::Invalid(why) => write!(f, "{why}"),
            Self::Size {
                what,
                expected,
                got,
            } => {
                let unit = if *got == 1 { "byte" } else { "bytes" };
                write!(
                    f,
                    "{what} is {got} {unit}, the map's {what}s are {expected} bytes"
                )
            }
        }
    }
}

impl std::error::Error for MapError {}

/// Memory that programs read and write through raw pointers.
struct Bytes(Box<[UnsafeCell<u8>]>);

impl Bytes {
    fn new(len: usize) -> Self {
        Self((0..len).map(|_| UnsafeCell::new(0)).collect())
    }

    fn ptr(&self, off: usize) -> *mut u8 {
        debug_assert!(off <= self.0.len());
        // UnsafeCell<u8> has the layout of u8: the cells are contiguous.
        UnsafeCell::raw_get(self.0.as_ptr().wrapping_add(off))
    }

    fn read(&self, off: usize, len: usize) -> &[u8] {
        // SAFETY: in bounds (callers pass ranges inside the buffer); no
        // program runs while the host holds this slice (see module doc).
        unsafe { std::slice::from_raw_parts(self.ptr(off), len) }
    }

    fn zero(&self, off: usize, len: usize) {
        // SAFETY: in bounds, see read.
        unsafe {
            std::ptr::write_bytes(self.ptr(off), 0, len);
        }
    }

    fn write(&self, off: usize, data: &[u8]) {
        // SAFETY: as for read; `data` may lie in this very buffer (a program
        // can pass a map value to a helper), hence copy, not
        // copy_nonoverlapping.
        unsafe {
            std::ptr::copy(data.as_ptr(), self.ptr(off), data.len());
        }
    }
}

const EMPTY: u32 = u32::MAX;
const TOMBSTONE: u32 = u32::MAX - 1;

/// A map instance.
pub struct Map {
    def: MapDef,
    /// Value slots, `stride` bytes apart (8-byte aligned).
    values: Bytes,
    stride: usize,
    /// Hash maps: the key of each slot, and whether it is used.
    keys: Bytes,
    used: Box<[Cell<bool>]>,
    /// Hash maps: open-addressing index of slot numbers.
    index: Box<[Cell<u32>]>,
    /// Hash maps: free slots (a stack of slot numbers), and its height.
    free: Box<[Cell<u32>]>,
    free_len: Cell<usize>,
    tombstones: Cell<usize>,
    entries: Cell<usize>,
}

// SAFETY: a Map owns its memory; it moves between threads only as a whole,
// with no program running on it (it is not Sync).
unsafe impl Send for Map {}

impl fmt::Debug for Map {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Map")
            .field("def", &self.def)
            .field("entries", &self.entries.get())
            .finish_non_exhaustive()
    }
}

fn hash(key: &[u8]) -> u64 {
    // FNV-1a: keys are small, and the map is not exposed to adversarial
    // key choice beyond what max_entries bounds anyway.
    key.iter().fold(0xcbf2_9ce4_8422_2325_u64, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// Whether a map can be created from `def` (what [`Map::new`] checks,
/// without allocating): the verifier refuses programs with maps that
/// cannot be.
/// Bytes a map of `def` allocates (None if that overflows).
fn footprint(def: &MapDef) -> Option<usize> {
    let stride = (def.value_size as usize).next_multiple_of(8);
    let per_entry = if def.kind.is_array() {
        stride
    } else {
        // value, key, and the index and free-list words
        stride + def.key_size as usize + 16
    };
    (def.max_entries as usize).checked_mul(per_entry)
}

/// Check the maps of a program together: each must be valid, and all of
/// them may use at most `MAX_PROGRAM_MAP_BYTES`.
pub(crate) fn check_defs(defs: &[MapDef]) -> Result<(), String> {
    let mut total = 0usize;
    for def in defs {
        check_def(def)?;
        total = total.saturating_add(footprint(def).unwrap_or(usize::MAX));
    }
    if total > MAX_PROGRAM_MAP_BYTES {
        return Err(format!(
            "the program's maps need {} MiB, more than the {} MiB a program may use",
            total >> 20,
            MAX_PROGRAM_MAP_BYTES >> 20
        ));
    }
    Ok(())
}

pub(crate) fn check_def(def: &MapDef) -> Result<(), String> {
    let bad = |why: String| Err(format!("map \"{}\": {why}", def.name));
    if def.max_entries == 0 {
        return bad("max_entries is 0".to_owned());
    }
    if def.value_size == 0 || def.value_size > MAX_VALUE_SIZE {
        return bad(format!(
            "value size {} is not in 1..={MAX_VALUE_SIZE}",
            def.value_size
        ));
    }
    let key_ok = if def.kind.is_array() {
        def.key_size == 4
    } else {
        (1..=MAX_KEY_SIZE).contains(&def.key_size)
    };
    if !key_ok {
        return bad(format!(
            "key size {} is not valid for a {} map",
            def.key_size,
            def.kind.name()
        ));
    }
    let n = def.max_entries as usize;
    if footprint(def).filter(|&t| t <= MAX_MAP_BYTES).is_none() {
        return bad(format!(
            "{n} entries of this size exceed {MAX_MAP_BYTES} bytes"
        ));
    }
    Ok(())
}

impl Map {
    /// Create a map; sizes are checked here.
    pub fn new(def: MapDef) -> Result<Self, String> {
        check_def(&def)?;
        let n = def.max_entries as usize;
        let stride = (def.value_size as usize).next_multiple_of(8);
        let hashed = !def.kind.is_array();
        let values = Bytes::new(n * stride);
        if let Some(init) = &def.initial {
            values.write(0, &init[..init.len().min(def.value_size as usize)]);
        }
        let (keys, used, index, free) = if hashed {
            let cap = (n * 2).next_power_of_two();
            (
                Bytes::new(n * def.key_size as usize),
                (0..n).map(|_| Cell::new(false)).collect(),
                (0..cap).map(|_| Cell::new(EMPTY)).collect(),
                // slot 0 on top of the stack
                (0..n).rev().map(|i| Cell::new(i as u32)).collect(),
            )
        } else {
            (
                Bytes::new(0),
                Box::default(),
                Box::default(),
                Box::default(),
            )
        };
        Ok(Self {
            entries: Cell::new(if hashed { 0 } else { n }),
            free_len: Cell::new(if hashed { n } else { 0 }),
            tombstones: Cell::new(0),
            def,
            values,
            stride,
            keys,
            used,
            index,
            free,
        })
    }

    /// The definition.
    pub const fn def(&self) -> &MapDef {
        &self.def
    }

    /// Number of entries (arrays: always `max_entries`).
    pub fn len(&self) -> usize {
        self.entries.get()
    }

    /// Whether the map has no entries.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The address range of the value memory, which programs may access.
    pub fn value_region(&self) -> std::ops::Range<u64> {
        let start = self.values.ptr(0) as u64;
        start..start + (self.def.max_entries as usize * self.stride) as u64
    }

    fn check_key(&self, key: &[u8]) -> Result<(), MapError> {
        if key.len() == self.def.key_size as usize {
            Ok(())
        } else {
            Err(MapError::Size {
                what: "key",
                expected: self.def.key_size,
                got: key.len(),
            })
        }
    }

    fn array_index(&self, key: &[u8]) -> Result<usize, MapError> {
        self.check_key(key)?;
        let i = u32::from_le_bytes([key[0], key[1], key[2], key[3]]) as usize;
        if i < self.def.max_entries as usize {
            Ok(i)
        } else {
            Err(MapError::NoSuchKey)
        }
    }

    /// Position in `index` of `key`'s slot, or of where to insert it.
    fn probe(&self, key: &[u8]) -> (Option<usize>, usize) {
        let mask = self.index.len() - 1;
        let mut pos = hash(key) as usize & mask;
        let mut first_free = None;
        for _ in 0..self.index.len() {
            match self.index[pos].get() {
                EMPTY => return (None, first_free.unwrap_or(pos)),
                TOMBSTONE => {
                    first_free.get_or_insert(pos);
                }
                slot => {
                    let ks = self.def.key_size as usize;
                    if self.keys.read(slot as usize * ks, ks) == key {
                        return (Some(pos), pos);
                    }
                }
            }
            pos = (pos + 1) & mask;
        }
        (None, first_free.unwrap_or(0))
    }

    fn slot_of(&self, key: &[u8]) -> Result<Option<usize>, MapError> {
        if self.def.kind.is_array() {
            return self.array_index(key).map(Some);
        }
        self.check_key(key)?;
        Ok(self.probe(key).0.map(|pos| self.index[pos].get() as usize))
    }

    /// Address of `key`'s value, as `bpf_map_lookup_elem` returns it.
    pub fn lookup_ptr(&self, key: &[u8]) -> Option<*mut u8> {
        match self.slot_of(key) {
            Ok(Some(slot)) => Some(self.values.ptr(slot * self.stride)),
            _ => None,
        }
    }

    /// A copy of `key`'s value.
    pub fn lookup(&self, key: &[u8]) -> Result<Vec<u8>, MapError> {
        let slot = self.slot_of(key)?.ok_or(MapError::NoSuchKey)?;
        Ok(self
            .values
            .read(slot * self.stride, self.def.value_size as usize)
            .to_vec())
    }

    /// `bpf_map_update_elem`: set `key` to `value` (flags: `BPF_ANY`,
    /// `BPF_NOEXIST`, `BPF_EXIST`).
    pub fn update(&self, key: &[u8], value: &[u8], flags: u64) -> Result<(), MapError> {
        if flags > BPF_EXIST {
            return Err(MapError::Invalid("unknown update flags"));
        }
        if value.len() != self.def.value_size as usize {
            return Err(MapError::Size {
                what: "value",
                expected: self.def.value_size,
                got: value.len(),
            });
        }
        let slot = if self.def.kind.is_array() {
            if flags == BPF_NOEXIST {
                return Err(MapError::Exists);
            }
            self.array_index(key)?
        } else {
            self.check_key(key)?;
            match (self.probe(key), flags) {
                ((Some(_), _), BPF_NOEXIST) => return Err(MapError::Exists),
                ((None, _), BPF_EXIST) => return Err(MapError::NoSuchKey),
                ((Some(pos), _), _) => self.index[pos].get() as usize,
                ((None, pos), _) => self.insert(key, pos)?,
            }
        };
        self.values.write(slot * self.stride, value);
        Ok(())
    }

    fn insert(&self, key: &[u8], pos: usize) -> Result<usize, MapError> {
        let top = self.free_len.get();
        if top == 0 {
            return Err(MapError::Full);
        }
        let slot = self.free[top - 1].get() as usize;
        self.free_len.set(top - 1);
        self.used[slot].set(true);
        self.keys.write(slot * self.def.key_size as usize, key);
        if self.index[pos].get() == TOMBSTONE {
            self.tombstones.set(self.tombstones.get() - 1);
        }
        self.index[pos].set(slot as u32);
        self.entries.set(self.entries.get() + 1);
        Ok(slot)
    }

    /// `bpf_map_delete_elem`.
    pub fn delete(&self, key: &[u8]) -> Result<(), MapError> {
        if self.def.kind.is_array() {
            self.check_key(key)?;
            return Err(MapError::Invalid("array elements cannot be deleted"));
        }
        self.check_key(key)?;
        let (Some(pos), _) = self.probe(key) else {
            return Err(MapError::NoSuchKey);
        };
        let slot = self.index[pos].get() as usize;
        self.index[pos].set(TOMBSTONE);
        self.used[slot].set(false);
        let top = self.free_len.get();
        self.free[top].set(slot as u32);
        self.free_len.set(top + 1);
        self.entries.set(self.entries.get() - 1);
        self.tombstones.set(self.tombstones.get() + 1);
        // values read as zero when the slot is used again
        self.values
            .zero(slot * self.stride, self.def.value_size as usize);
        if self.tombstones.get() > self.index.len() / 4 {
            self.rebuild_index();
        }
        Ok(())
    }

    /// Drop the tombstones: re-insert the used slots (no allocation).
    fn rebuild_index(&self) {
        self.index.iter().for_each(|c| c.set(EMPTY));
        self.tombstones.set(0);
        let ks = self.def.key_size as usize;
        let mask = self.index.len() - 1;
        for slot in (0..self.used.len()).filter(|&i| self.used[i].get()) {
            let mut pos = hash(self.keys.read(slot * ks, ks)) as usize & mask;
            while self.index[pos].get() != EMPTY {
                pos = (pos + 1) & mask;
            }
            self.index[pos].set(slot as u32);
        }
    }

    /// Every (key, value), in slot order.
    pub fn entries(&self) -> Vec<(Vec<u8>, Vec<u8>)> {
        let vs = self.def.value_size as usize;
        let ks = self.def.key_size as usize;
        (0..self.def.max_entries as usize)
            .filter(|&i| self.def.kind.is_array() || self.used[i].get())
            .map(|i| {
                let key = if self.def.kind.is_array() {
                    (i as u32).to_le_bytes().to_vec()
                } else {
                    self.keys.read(i * ks, ks).to_vec()
                };
                (key, self.values.read(i * self.stride, vs).to_vec())
            })
            .collect()
    }

    /// Walk the entries in the order of [`Map::entries`], from the entry
    /// of key `start` (from the first without), building no list: `f`
    /// gets each key and value and returns `false` to stop.  Fails if
    /// `start` is not a key of the map.
    pub fn walk(
        &self,
        start: Option<&[u8]>,
        mut f: impl FnMut(&[u8], &[u8]) -> bool,
    ) -> Result<(), MapError> {
        let first = match start {
            Some(key) => self.slot_of(key)?.ok_or(MapError::NoSuchKey)?,
            None => 0,
        };
        let vs = self.def.value_size as usize;
        let ks = self.def.key_size as usize;
        for i in first..self.def.max_entries as usize {
            let index = (i as u32).to_le_bytes();
            let key = if self.def.kind.is_array() {
                &index[..]
            } else if self.used[i].get() {
                self.keys.read(i * ks, ks)
            } else {
                continue;
            };
            if !f(key, self.values.read(i * self.stride, vs)) {
                break;
            }
        }
        Ok(())
    }

    /// Whether `other` could take this map's place (same name, kind and
    /// sizes): used to keep maps across a program replacement.
    pub fn compatible(&self, other: &MapDef) -> bool {
        let d = &self.def;
        d.name == other.name
            && d.kind == other.kind
            && d.key_size == other.key_size
            && d.value_size == other.value_size
            && d.max_entries == other.max_entries
    }
}

// ---- helpers 1-3 and what they need of the running program ----

/// What the map helpers of the current run may use: set by `Vm::run` for
/// the duration of a run (helpers are plain functions without context).
#[derive(Clone, Copy)]
struct Run {
    maps: *const Box<Map>,
    nmaps: usize,
    packet: (u64, u64),
    /// Interpreter runs: check the pointers programs pass to helpers.
    checked: bool,
}

std::thread_local! {
    static RUN: Cell<Option<Run>> = const { Cell::new(None) };
}

/// Sets the run context, restores the previous one when dropped.
pub(crate) struct RunContext(Option<Run>);

impl RunContext {
    pub(crate) fn enter(maps: &[Box<Map>], packet: std::ops::Range<u64>, checked: bool) -> Self {
        let run = Run {
            maps: maps.as_ptr(),
            nmaps: maps.len(),
            packet: (packet.start, packet.end),
            checked,
        };
        Self(RUN.with(|r| r.replace(Some(run))))
    }
}

impl Drop for RunContext {
    fn drop(&mut self) {
        RUN.with(|r| r.set(self.0));
    }
}

impl Run {
    fn maps(&self) -> &[Box<Map>] {
        // SAFETY: set from a slice that outlives the run (RunContext).
        unsafe { std::slice::from_raw_parts(self.maps, self.nmaps) }
    }

    /// The map whose handle is `addr`, if the program has one.
    fn map(&self, addr: u64) -> Option<&Map> {
        self.maps()
            .iter()
            .map(|m| &**m)
            .find(|&m| std::ptr::from_ref(m) as u64 == addr)
    }

    /// `len` bytes at `addr`, if the program may read them: in interpreter
    /// runs, inside the packet, the program's stack or a map value; JIT
    /// runs are of trusted or verified programs.
    fn bytes(&self, addr: u64, len: usize) -> Option<&[u8]> {
        let end = addr.checked_add(len as u64)?;
        if self.checked {
            let within = |(s, e): (u64, u64)| s <= addr && end <= e && s < e;
            let ok = within(self.packet)
                || within(rbpf::current_stack_range())
                || self.maps().iter().any(|m| {
                    let r = m.value_region();
                    within((r.start, r.end))
                });
            if !ok || addr == 0 {
                return None;
            }
        }
        // SAFETY: checked above (interpreter), or guaranteed by the trust
        // the caller put in a JIT-run program.
        Some(unsafe { std::slice::from_raw_parts(addr as *const u8, len) })
    }
}

fn with_run(f: impl FnOnce(&Run) -> Option<u64>) -> Option<u64> {
    RUN.with(Cell::get).and_then(|run| f(&run))
}

const EFAULT: u64 = (-(libc::EFAULT as i64)) as u64;

/// `void *bpf_map_lookup_elem(map, const void *key)`
pub(crate) fn lookup_elem(map: u64, key: u64, _: u64, _: u64, _: u64) -> u64 {
    with_run(|run| {
        let m = run.map(map)?;
        let key = run.bytes(key, m.def().key_size as usize)?;
        m.lookup_ptr(key).map(|p| p as u64)
    })
    .unwrap_or(0)
}

/// `long bpf_map_update_elem(map, const void *key, const void *value, u64 flags)`
pub(crate) fn update_elem(map: u64, key: u64, value: u64, flags: u64, _: u64) -> u64 {
    with_run(|run| {
        let m = run.map(map)?;
        let key = run.bytes(key, m.def().key_size as usize)?;
        let value = run.bytes(value, m.def().value_size as usize)?;
        Some(match m.update(key, value, flags) {
            Ok(()) => 0,
            Err(e) => e.errno() as u64,
        })
    })
    .unwrap_or(EFAULT)
}

/// `long bpf_map_delete_elem(map, const void *key)`
pub(crate) fn delete_elem(map: u64, key: u64, _: u64, _: u64, _: u64) -> u64 {
    with_run(|run| {
        let m = run.map(map)?;
        let key = run.bytes(key, m.def().key_size as usize)?;
        Some(match m.delete(key) {
            Ok(()) => 0,
            Err(e) => e.errno() as u64,
        })
    })
    .unwrap_or(EFAULT)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn def(kind: MapKind, key_size: u32, value_size: u32, max_entries: u32) -> MapDef {
        MapDef {
            name: "m".to_owned(),
            kind,
            key_size,
            value_size,
            max_entries,
            initial: None,
        }
    }

    #[test]
    fn array() {
        let m = Map::new(def(MapKind::Array, 4, 8, 4)).unwrap();
        assert_eq!(m.len(), 4);
        assert_eq!(m.lookup(&2u32.to_le_bytes()).unwrap(), vec![0; 8]);
        m.update(&2u32.to_le_bytes(), &7u64.to_le_bytes(), BPF_ANY)
            .unwrap();
        assert_eq!(m.lookup(&2u32.to_le_bytes()).unwrap(), 7u64.to_le_bytes());
        assert_eq!(m.lookup(&4u32.to_le_bytes()), Err(MapError::NoSuchKey));
        assert_eq!(
            m.update(&1u32.to_le_bytes(), &[0; 8], BPF_NOEXIST),
            Err(MapError::Exists)
        );
        assert!(matches!(
            m.delete(&1u32.to_le_bytes()),
            Err(MapError::Invalid(_))
        ));
        assert!(matches!(
            m.update(&[0; 3], &[0; 8], BPF_ANY),
            Err(MapError::Size { .. })
        ));
        assert!(matches!(
            m.update(&[0; 4], &[0; 7], BPF_ANY),
            Err(MapError::Size { .. })
        ));
        assert_eq!(m.entries().len(), 4);
    }

    #[test]
    fn hash_flags_full_delete() {
        let m = Map::new(def(MapKind::Hash, 4, 4, 3)).unwrap();
        for k in 0u32..3 {
            m.update(&k.to_le_bytes(), &(k * 10).to_le_bytes(), BPF_NOEXIST)
                .unwrap();
        }
        assert_eq!(m.len(), 3);
        assert_eq!(
            m.update(&9u32.to_le_bytes(), &[0; 4], BPF_ANY),
            Err(MapError::Full)
        );
        assert_eq!(
            m.update(&1u32.to_le_bytes(), &[0; 4], BPF_NOEXIST),
            Err(MapError::Exists)
        );
        assert_eq!(
            m.update(&8u32.to_le_bytes(), &[0; 4], BPF_EXIST),
            Err(MapError::NoSuchKey)
        );
        m.update(&1u32.to_le_bytes(), &5u32.to_le_bytes(), BPF_EXIST)
            .unwrap();
        assert_eq!(m.lookup(&1u32.to_le_bytes()).unwrap(), 5u32.to_le_bytes());
        let p = m.lookup_ptr(&1u32.to_le_bytes()).unwrap();
        m.delete(&1u32.to_le_bytes()).unwrap();
        assert_eq!(m.delete(&1u32.to_le_bytes()), Err(MapError::NoSuchKey));
        assert_eq!(m.len(), 2);
        // the freed slot is reused, at the same address, zeroed
        m.update(&9u32.to_le_bytes(), &[0; 4], BPF_ANY).unwrap();
        assert_eq!(m.lookup_ptr(&9u32.to_le_bytes()), Some(p));
        let mut keys: Vec<_> = m.entries().into_iter().map(|(k, _)| k[0]).collect();
        keys.sort_unstable();
        assert_eq!(keys, vec![0, 2, 9]);
    }

    #[test]
    fn hash_churn_keeps_working() {
        // many inserts and deletes: tombstones must not exhaust the index
        let m = Map::new(def(MapKind::Hash, 8, 8, 16)).unwrap();
        for round in 0u64..2000 {
            let k = round.to_le_bytes();
            m.update(&k, &k, BPF_ANY).unwrap();
            if round >= 8 {
                m.delete(&(round - 8).to_le_bytes()).unwrap();
            }
            assert_eq!(m.lookup(&k).unwrap(), k);
        }
        assert_eq!(m.len(), 8);
    }

    #[test]
    fn a_program_may_not_take_gigabytes() {
        let big = def(MapKind::Array, 4, 65536, 1000); // 62.5 MiB each
        check_defs(&[big.clone(), big.clone(), big.clone(), big.clone()]).unwrap();
        let err = check_defs(&[big.clone(), big.clone(), big.clone(), big.clone(), big])
            .expect_err("five maps of 62.5 MiB exceed 256 MiB");
        assert!(err.contains("more than the 256 MiB"), "{err}");
    }

    #[test]
    fn bad_definitions() {
        let err = |d| Map::new(d).expect_err("must be refused");
        assert!(err(def(MapKind::Array, 8, 8, 4)).contains("key size 8"));
        assert!(err(def(MapKind::Hash, 4, 8, 0)).contains("max_entries is 0"));
        assert!(err(def(MapKind::Hash, 4, 0, 4)).contains("value size 0"));
        assert!(err(def(MapKind::Hash, 4, 8, u32::MAX)).contains("exceed"));
    }
}
