// SPDX-License-Identifier: GPL-2.0-or-later

//! BPF maps, with the kernel's semantics: update flags (`BPF_ANY`,
//! `BPF_NOEXIST`, `BPF_EXIST`), error numbers (`-ENOENT`, `-EEXIST`,
//! `-E2BIG`, `-EINVAL`, ...) returned by the helpers, iteration by
//! "get next key".  The map types and what they accept are data, in
//! [`MAP_TYPES`].
//!
//! # One CPU
//!
//! filter-ubpf runs a program on one packet at a time, under QEMU's big
//! lock: the engine is one "CPU", number 0.  Per-CPU maps
//! (`percpu_array`, `percpu_hash`, `lru_percpu_hash`) store one value per
//! key; programs see it as their CPU's value, and the host reads it with
//! [`Map::lookup`] (`value_size` bytes) or, in the kernel's syscall
//! layout for `nr_cpus` = 1, with [`Map::lookup_percpu`] (the value
//! padded to a multiple of 8 bytes).  `BPF_F_CURRENT_CPU` is CPU 0;
//! `bpf_map_lookup_percpu_elem` finds values for CPU 0 only.
//!
//! # Memory
//!
//! All memory is allocated when a map is created: lookups, updates and
//! deletions never allocate, so programs using maps keep the engine's
//! "no allocation per run" property.  (`lpm_trie` requires
//! `BPF_F_NO_PREALLOC`, as in the kernel; its nodes still come from a pool
//! of `max_entries` preallocated here.)  A value's address never changes
//! while the map lives, as programs hold pointers to values.
//!
//! # Sharing
//!
//! A map may be shared by several programs (pinned maps, see
//! [`PinRegistry`]).  Its bookkeeping is guarded by a busy flag: an
//! operation that finds the map in use by another thread fails with
//! `-EBUSY` instead of waiting (never happens under QEMU's big lock).
//! Programs read and write values through raw pointers, as in the kernel.

use std::cell::{Cell, UnsafeCell};
use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

mod lpm;
pub mod pin;
mod queue;
mod types;

pub use pin::{PinRegistry, Pinning};
pub use types::*;

use lpm::Lpm;
use queue::Queue;

/// `BPF_MAP_TYPE_HASH`
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

/// The number of "CPUs" of the engine (see the module doc).
pub const NR_CPUS: u32 = 1;
/// The kernel's limit of chained tail calls.
pub const MAX_TAIL_CALLS: u32 = 33;
/// Bytes of records a `perf_event_array` map holds until the host drains
/// them (the kernel's perf buffers are sized by user space; this is the
/// engine's fixed equivalent).
pub const PERF_QUEUE_BYTES: usize = 64 << 10;
/// Page size the ring buffer sizes must be a multiple of, as in the
/// kernel.
pub const RINGBUF_PAGE: u32 = 4096;

/// Largest key or value accepted, in bytes (the kernel's limit for keys is
/// 512; values are kept small enough for a filter's state).
pub const MAX_KEY_SIZE: u32 = 512;
/// Largest value.
pub const MAX_VALUE_SIZE: u32 = 65536;
/// Largest map memory, in bytes.
pub const MAX_MAP_BYTES: usize = 64 << 20;
/// Largest memory of all the maps of a program, in bytes.
pub const MAX_PROGRAM_MAP_BYTES: usize = 256 << 20;

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
    /// Maximum number of entries (ring buffers: bytes).
    pub max_entries: u32,
    /// Initial contents of entry 0 (global data: `.data`, `.rodata`).
    pub initial: Option<Vec<u8>>,
}

/// The rest of a map's declaration: flags, pinning, initial program
/// array contents.  (Kept beside [`MapDef`], in the same order in
/// [`crate::Program::map_extras`].)
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MapExtra {
    /// `map_flags` (`BPF_F_*`).
    pub flags: u32,
    /// libbpf's `pinning` attribute.
    pub pinning: Pinning,
    /// Global data that libbpf freezes after load (`.rodata`): the host
    /// can no longer update it (set it before, with
    /// [`crate::Program::set_global`]).
    pub frozen: bool,
    /// `prog_array` slots filled at load, as libbpf does from the map's
    /// `values`: (slot, program index in [`crate::Program::object_programs`]).
    pub initial_programs: Vec<(u32, u32)>,
    /// BTF type of the keys (`__type(key, T)`), 0 if the object does not
    /// tell, as the kernel's `btf_key_type_id`: how
    /// [`crate::Program::map_format`] shows them.
    pub btf_key_type: u32,
    /// BTF type of the values (`__type(value, T)`; for global data, the
    /// section's DATASEC), 0 if the object does not tell.
    pub btf_value_type: u32,
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

/// The kernel's `ENOTSUPP` (not in libc: kernel-internal, but returned by
/// some map operations all the same).
const ENOTSUPP: i64 = 524;

/// Why a map operation failed; `errno` gives the kernel's error number.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum MapError {
    /// The key does not exist (ENOENT).
    NoSuchKey,
    /// `BPF_NOEXIST` and the key exists (EEXIST).
    Exists,
    /// The map is full (E2BIG).
    Full,
    /// An array index beyond `max_entries` (E2BIG).
    OutOfRange,
    /// The trie is full (ENOSPC, as the kernel's `lpm_trie`).
    NoSpace,
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
    /// Access refused by the map's flags (EPERM).
    Permission(&'static str),
    /// The operation does not exist for this map type (ENOTSUPP).
    NotSupported(&'static str),
    /// The map is in use by another thread (EBUSY).
    Busy,
}

impl MapError {
    /// The negative errno a helper returns for this error.
    pub const fn errno(&self) -> i64 {
        match self {
            Self::NoSuchKey => -(libc::ENOENT as i64),
            Self::Exists => -(libc::EEXIST as i64),
            Self::Full | Self::OutOfRange => -(libc::E2BIG as i64),
            Self::NoSpace => -(libc::ENOSPC as i64),
            Self::Invalid(_) | Self::Size { .. } => -(libc::EINVAL as i64),
            Self::Permission(_) => -(libc::EPERM as i64),
            Self::NotSupported(_) => -ENOTSUPP,
            Self::Busy => -(libc::EBUSY as i64),
        }
    }
}

impl fmt::Display for MapError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NoSuchKey => write!(f, "no such key"),
            Self::Exists => write!(f, "the key exists already (BPF_NOEXIST)"),
            Self::Full => write!(f, "the map is full"),
            Self::OutOfRange => write!(f, "the index is beyond max_entries"),
            Self::NoSpace => write!(f, "the trie is full"),
            Self::Invalid(why) | Self::Permission(why) | Self::NotSupported(why) => {
                write!(f, "{why}")
            }
            Self::Busy => write!(f, "the map is in use by another thread"),
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

    fn len(&self) -> usize {
        self.0.len()
    }

    fn ptr(&self, off: usize) -> *mut u8 {
        debug_assert!(off <= self.0.len());
        // UnsafeCell<u8> has the layout of u8: the cells are contiguous.
        UnsafeCell::raw_get(self.0.as_ptr().wrapping_add(off))
    }

    fn read(&self, off: usize, len: usize) -> &[u8] {
        assert!(off + len <= self.0.len());
        // SAFETY: in bounds (asserted); the map's busy flag keeps other
        // host operations out while the slice lives (see module doc).
        unsafe { std::slice::from_raw_parts(self.ptr(off), len) }
    }

    fn zero(&self, off: usize, len: usize) {
        assert!(off + len <= self.0.len());
        // SAFETY: in bounds, see read.
        unsafe {
            std::ptr::write_bytes(self.ptr(off), 0, len);
        }
    }

    fn write(&self, off: usize, data: &[u8]) {
        assert!(off + data.len() <= self.0.len());
        // SAFETY: as for read; `data` may lie in this very buffer (a program
        // can pass a map value to a helper), hence copy, not
        // copy_nonoverlapping.
        unsafe {
            std::ptr::copy(data.as_ptr(), self.ptr(off), data.len());
        }
    }

    fn range(&self) -> std::ops::Range<u64> {
        let start = self.ptr(0) as u64;
        start..start + self.len() as u64
    }
}

const EMPTY: u32 = u32::MAX;
const TOMBSTONE: u32 = u32::MAX - 1;
const NIL: u32 = u32::MAX;

fn hash(key: &[u8]) -> u64 {
    // FNV-1a: keys are small, and the map is not exposed to adversarial
    // key choice beyond what max_entries bounds anyway.  (There is no
    // seed, which is what BPF_F_ZERO_SEED asks for.)
    key.iter().fold(0xcbf2_9ce4_8422_2325_u64, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// A hash table of `n` key slots: open addressing over slot numbers.
struct Table {
    ks: usize,
    keys: Bytes,
    used: Box<[Cell<bool>]>,
    index: Box<[Cell<u32>]>,
    /// Free slots (a stack of slot numbers), and its height.
    free: Box<[Cell<u32>]>,
    free_len: Cell<usize>,
    tombstones: Cell<usize>,
    entries: Cell<usize>,
}

impl Table {
    fn new(ks: usize, n: usize) -> Self {
        let cap = (n * 2).next_power_of_two();
        Self {
            ks,
            keys: Bytes::new(n * ks),
            used: (0..n).map(|_| Cell::new(false)).collect(),
            index: (0..cap).map(|_| Cell::new(EMPTY)).collect(),
            // slot 0 on top of the stack
            free: (0..n).rev().map(|i| Cell::new(i as u32)).collect(),
            free_len: Cell::new(n),
            tombstones: Cell::new(0),
            entries: Cell::new(0),
        }
    }

    /// Bytes per slot besides the key, for the memory accounting.
    const OVERHEAD: usize = 16;

    fn key(&self, slot: usize) -> &[u8] {
        self.keys.read(slot * self.ks, self.ks)
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
                    if self.key(slot as usize) == key {
                        return (Some(pos), pos);
                    }
                }
            }
            pos = (pos + 1) & mask;
        }
        (None, first_free.unwrap_or(0))
    }

    fn find(&self, key: &[u8]) -> Option<usize> {
        self.probe(key).0.map(|pos| self.index[pos].get() as usize)
    }

    fn is_full(&self) -> bool {
        self.free_len.get() == 0
    }

    /// Insert `key`, which is not in the table.
    fn insert(&self, key: &[u8]) -> Result<usize, MapError> {
        let top = self.free_len.get();
        if top == 0 {
            return Err(MapError::Full);
        }
        let (_, pos) = self.probe(key);
        let slot = self.free[top - 1].get() as usize;
        self.free_len.set(top - 1);
        self.used[slot].set(true);
        self.keys.write(slot * self.ks, key);
        if self.index[pos].get() == TOMBSTONE {
            self.tombstones.set(self.tombstones.get() - 1);
        }
        self.index[pos].set(slot as u32);
        self.entries.set(self.entries.get() + 1);
        Ok(slot)
    }

    /// Remove `key`; its former slot.
    fn remove(&self, key: &[u8]) -> Option<usize> {
        let (Some(pos), _) = self.probe(key) else {
            return None;
        };
        let slot = self.index[pos].get() as usize;
        self.index[pos].set(TOMBSTONE);
        self.used[slot].set(false);
        let top = self.free_len.get();
        self.free[top].set(slot as u32);
        self.free_len.set(top + 1);
        self.entries.set(self.entries.get() - 1);
        self.tombstones.set(self.tombstones.get() + 1);
        if self.tombstones.get() > self.index.len() / 4 {
            self.rebuild_index();
        }
        Some(slot)
    }

    /// Drop the tombstones: re-insert the used slots (no allocation).
    fn rebuild_index(&self) {
        self.index.iter().for_each(|c| c.set(EMPTY));
        self.tombstones.set(0);
        let mask = self.index.len() - 1;
        for slot in (0..self.used.len()).filter(|&i| self.used[i].get()) {
            let mut pos = hash(self.key(slot)) as usize & mask;
            while self.index[pos].get() != EMPTY {
                pos = (pos + 1) & mask;
            }
            self.index[pos].set(slot as u32);
        }
    }

    /// The first used slot at or after `from`.
    fn used_from(&self, from: usize) -> Option<usize> {
        (from..self.used.len()).find(|&i| self.used[i].get())
    }
}

/// Recency order of the slots of an LRU hash: most recent at `head`.
struct Lru {
    prev: Box<[Cell<u32>]>,
    next: Box<[Cell<u32>]>,
    head: Cell<u32>,
    tail: Cell<u32>,
}

impl Lru {
    fn new(n: usize) -> Self {
        Self {
            prev: (0..n).map(|_| Cell::new(NIL)).collect(),
            next: (0..n).map(|_| Cell::new(NIL)).collect(),
            head: Cell::new(NIL),
            tail: Cell::new(NIL),
        }
    }

    fn push_front(&self, slot: usize) {
        let old = self.head.get();
        self.prev[slot].set(NIL);
        self.next[slot].set(old);
        if old == NIL {
            self.tail.set(slot as u32);
        } else {
            self.prev[old as usize].set(slot as u32);
        }
        self.head.set(slot as u32);
    }

    fn unlink(&self, slot: usize) {
        let (p, n) = (self.prev[slot].get(), self.next[slot].get());
        if p == NIL {
            self.head.set(n);
        } else {
            self.next[p as usize].set(n);
        }
        if n == NIL {
            self.tail.set(p);
        } else {
            self.prev[n as usize].set(p);
        }
    }

    fn touch(&self, slot: usize) {
        if self.head.get() != slot as u32 {
            self.unlink(slot);
            self.push_front(slot);
        }
    }

    fn oldest(&self) -> Option<usize> {
        let t = self.tail.get();
        (t != NIL).then_some(t as usize)
    }
}

/// How a map stores its entries.
enum Store {
    /// Every index exists.
    Array,
    /// Indices exist once set.
    Sparse(Box<[Cell<bool>]>),
    /// Hash table, with a recency list for LRU maps.
    Hash(Table, Option<Lru>),
    /// Longest-prefix-match trie.
    Lpm(Lpm),
    /// No entries (ring buffer).
    Ring,
}

/// A map instance.
pub struct Map {
    def: MapDef,
    extra: MapExtra,
    info: &'static MapTypeInfo,
    /// Value slots, `stride` bytes apart (8-byte aligned).
    values: Bytes,
    stride: usize,
    store: Store,
    /// Records for the host (ring buffers, perf event arrays).
    queue: Option<Queue>,
    busy: AtomicBool,
}

// SAFETY: a Map owns its memory; nothing in it is tied to a thread.
unsafe impl Send for Map {}
// SAFETY: every access to the map's bookkeeping (the `Cell`s and the key
// and value memory the engine reads or writes) happens while holding
// `busy` (see `Map::lock`), so two threads never touch it at once; values
// that programs access through raw pointers are shared as in the kernel.
unsafe impl Sync for Map {}

impl fmt::Debug for Map {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Map")
            .field("def", &self.def)
            .field("extra", &self.extra)
            .finish_non_exhaustive()
    }
}

/// Holds a map's busy flag.
struct Guard<'a>(&'a AtomicBool);

impl Drop for Guard<'_> {
    fn drop(&mut self) {
        self.0.store(false, Ordering::Release);
    }
}

/// Bytes a map of `def` allocates (None if that overflows).
fn footprint(def: &MapDef) -> Option<usize> {
    let n = def.max_entries as usize;
    let stride = (def.value_size as usize).next_multiple_of(8);
    let ks = def.key_size as usize;
    match def.kind.info().storage {
        Storage::Array => n.checked_mul(stride),
        Storage::SparseArray => {
            let queue = if def.kind == MapKind::PerfEventArray {
                2 * PERF_QUEUE_BYTES
            } else {
                0
            };
            n.checked_mul(stride + 1)?.checked_add(queue)
        }
        // value, key, and the index and free-list words (LRU: its list)
        Storage::Hash => n.checked_mul(stride + ks + Table::OVERHEAD),
        Storage::LruHash => n.checked_mul(stride + ks + Table::OVERHEAD + 8),
        // the key twice (masked and as given), one count per prefix length
        Storage::Lpm => n
            .checked_mul(stride + 2 * ks + Table::OVERHEAD)?
            .checked_add(4 * 8 * ks),
        // the ring twice (see maps/queue.rs)
        Storage::Ring => n.checked_mul(2),
    }
}

/// Check the maps of a program together: each must be valid, and all of
/// them may use at most `MAX_PROGRAM_MAP_BYTES`.
pub(crate) fn check_defs(defs: &[MapDef], extras: &[MapExtra]) -> Result<(), String> {
    let mut total = 0usize;
    for (i, def) in defs.iter().enumerate() {
        check_def(def)?;
        if let Some(extra) = extras.get(i) {
            check_extra(def, extra)?;
        }
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

/// Whether a map can be created from `def` (what [`Map::new`] checks,
/// without allocating): the verifier refuses programs with maps that
/// cannot be.
pub(crate) fn check_def(def: &MapDef) -> Result<(), String> {
    let bad = |why: String| Err(format!("map \"{}\": {why}", def.name));
    let info = def.kind.info();
    if def.max_entries == 0 {
        return bad("max_entries is 0".to_owned());
    }
    if !info.value.allows(def.value_size) {
        return bad(format!(
            "value size {} is not valid for a {} map (valid: {})",
            def.value_size, info.name, info.value
        ));
    }
    if !info.key.allows(def.key_size) {
        return bad(format!(
            "key size {} is not valid for a {} map (valid: {})",
            def.key_size, info.name, info.key
        ));
    }
    if info.storage == Storage::Ring
        && (!def.max_entries.is_power_of_two() || def.max_entries % RINGBUF_PAGE != 0)
    {
        return bad(format!(
            "a ringbuf's max_entries ({}) must be a power of 2 and a multiple of {RINGBUF_PAGE}",
            def.max_entries
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

fn check_extra(def: &MapDef, extra: &MapExtra) -> Result<(), String> {
    types::check_flags(def.kind.info(), extra.flags)
        .map_err(|e| format!("map \"{}\": {e}", def.name))?;
    if let Some(&(slot, _)) = extra
        .initial_programs
        .iter()
        .find(|(slot, _)| *slot >= def.max_entries)
    {
        return Err(format!(
            "map \"{}\": initial value for slot {slot} beyond max_entries {}",
            def.name, def.max_entries
        ));
    }
    Ok(())
}

/// The prefix length of an `lpm_trie` key, as the kernel reads it (a
/// host-endian u32).
fn le_u32(b: &[u8]) -> u32 {
    u32::from_le_bytes([b[0], b[1], b[2], b[3]])
}

impl Map {
    /// Whether the map has a queue (ring buffer, perf event array).
    pub(crate) const fn has_queue(&self) -> bool {
        self.queue.is_some()
    }

    /// Create a map with no flags; sizes are checked here.
    pub fn new(def: MapDef) -> Result<Self, String> {
        Self::with_extra(def, MapExtra::default())
    }

    /// Create a map; sizes and flags are checked here.
    pub fn with_extra(def: MapDef, extra: MapExtra) -> Result<Self, String> {
        check_def(&def)?;
        check_extra(&def, &extra)?;
        let info = def.kind.info();
        let n = def.max_entries as usize;
        let ks = def.key_size as usize;
        let stride = (def.value_size as usize).next_multiple_of(8);
        let values = Bytes::new(if info.storage == Storage::Ring {
            0
        } else {
            n * stride
        });
        if let Some(init) = &def.initial {
            values.write(0, &init[..init.len().min(def.value_size as usize)]);
        }
        let store = match info.storage {
            Storage::Array => Store::Array,
            Storage::SparseArray => Store::Sparse((0..n).map(|_| Cell::new(false)).collect()),
            Storage::Hash => Store::Hash(Table::new(ks, n), None),
            Storage::LruHash => Store::Hash(Table::new(ks, n), Some(Lru::new(n))),
            Storage::Lpm => Store::Lpm(Lpm::new(ks, n)),
            Storage::Ring => Store::Ring,
        };
        let queue = match def.kind {
            MapKind::RingBuf => Some(Queue::new(n)),
            MapKind::PerfEventArray => Some(Queue::new(PERF_QUEUE_BYTES)),
            _ => None,
        };
        if let Store::Sparse(present) = &store {
            for &(slot, prog) in &extra.initial_programs {
                values.write(slot as usize * stride, &prog.to_le_bytes());
                present[slot as usize].set(true);
            }
        }
        Ok(Self {
            def,
            extra,
            info,
            values,
            stride,
            store,
            queue,
            busy: AtomicBool::new(false),
        })
    }

    fn lock(&self) -> Result<Guard<'_>, MapError> {
        self.busy
            .compare_exchange(false, true, Ordering::Acquire, Ordering::Relaxed)
            .map(|_| Guard(&self.busy))
            .map_err(|_| MapError::Busy)
    }

    /// The definition.
    pub const fn def(&self) -> &MapDef {
        &self.def
    }

    /// Flags, pinning and initial program slots.
    pub const fn extra(&self) -> &MapExtra {
        &self.extra
    }

    /// What the map's type accepts.
    pub const fn info(&self) -> &'static MapTypeInfo {
        self.info
    }

    /// Number of entries (arrays: always `max_entries`; ring buffers:
    /// records waiting).
    pub fn len(&self) -> usize {
        let Ok(_g) = self.lock() else {
            return 0;
        };
        match &self.store {
            Store::Array => self.def.max_entries as usize,
            Store::Sparse(present) => present.iter().filter(|p| p.get()).count(),
            Store::Hash(t, _) => t.entries.get(),
            Store::Lpm(l) => l.len(),
            Store::Ring => self.queue.as_ref().map_or(0, Queue::records),
        }
    }

    /// Whether the map has no entries.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The address range of the memory programs may access: the values
    /// (ring buffers: the ring, for `bpf_ringbuf_reserve`).
    pub fn value_region(&self) -> std::ops::Range<u64> {
        match (&self.store, &self.queue) {
            (Store::Ring, Some(q)) => q.region(),
            _ => self.values.range(),
        }
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

    fn check_value(&self, value: &[u8]) -> Result<(), MapError> {
        if value.len() == self.def.value_size as usize {
            Ok(())
        } else {
            Err(MapError::Size {
                what: "value",
                expected: self.def.value_size,
                got: value.len(),
            })
        }
    }

    /// The slot of `key`, if it exists (no recency update).
    fn slot_of(&self, key: &[u8]) -> Result<Option<usize>, MapError> {
        self.check_key(key)?;
        Ok(match &self.store {
            Store::Array => {
                let i = le_u32(key) as usize;
                (i < self.def.max_entries as usize).then_some(i)
            }
            Store::Sparse(present) => {
                let i = le_u32(key) as usize;
                present.get(i).filter(|p| p.get()).map(|_| i)
            }
            Store::Hash(t, _) => t.find(key),
            Store::Lpm(l) => l.lookup(key),
            Store::Ring => return Err(MapError::NotSupported("ring buffers have no keys")),
        })
    }

    fn value(&self, slot: usize) -> &[u8] {
        self.values
            .read(slot * self.stride, self.def.value_size as usize)
    }

    /// Address of `key`'s value, as `bpf_map_lookup_elem` returns it to a
    /// program: LRU maps count it as a use.
    pub fn lookup_ptr(&self, key: &[u8]) -> Option<*mut u8> {
        let _g = self.lock().ok()?;
        let slot = self.slot_of(key).ok()??;
        if let Store::Hash(_, Some(lru)) = &self.store {
            lru.touch(slot);
        }
        Some(self.values.ptr(slot * self.stride))
    }

    /// A copy of `key`'s value (`BPF_MAP_LOOKUP_ELEM`: LRU order is not
    /// changed, as in the kernel).
    pub fn lookup(&self, key: &[u8]) -> Result<Vec<u8>, MapError> {
        let _g = self.lock()?;
        if self.extra.flags & BPF_F_WRONLY != 0 {
            return Err(MapError::Permission("the map is write-only (BPF_F_WRONLY)"));
        }
        let slot = self.slot_of(key)?.ok_or(MapError::NoSuchKey)?;
        Ok(self.value(slot).to_vec())
    }

    /// `key`'s value in the kernel's per-CPU syscall layout, for
    /// [`NR_CPUS`] = 1: the value padded with zeros to a multiple of 8
    /// bytes.  Maps that are not per-CPU return the plain value.
    pub fn lookup_percpu(&self, key: &[u8]) -> Result<Vec<u8>, MapError> {
        let mut v = self.lookup(key)?;
        if self.info.percpu {
            v.resize(self.stride, 0);
        }
        Ok(v)
    }

    /// [`Map::update`] with a value in the per-CPU syscall layout (see
    /// [`Map::lookup_percpu`]).
    pub fn update_percpu(&self, key: &[u8], value: &[u8], flags: u64) -> Result<(), MapError> {
        if !self.info.percpu {
            return self.update(key, value, flags);
        }
        if value.len() != self.stride * NR_CPUS as usize {
            return Err(MapError::Size {
                what: "per-CPU value",
                expected: (self.stride * NR_CPUS as usize) as u32,
                got: value.len(),
            });
        }
        self.update(key, &value[..self.def.value_size as usize], flags)
    }

    /// `BPF_MAP_UPDATE_ELEM` from the host.
    pub fn update(&self, key: &[u8], value: &[u8], flags: u64) -> Result<(), MapError> {
        let _g = self.lock()?;
        if self.extra.flags & BPF_F_RDONLY != 0 {
            return Err(MapError::Permission("the map is read-only (BPF_F_RDONLY)"));
        }
        if self.extra.frozen {
            return Err(MapError::Permission(
                "the map is frozen (.rodata): set it before loading",
            ));
        }
        self.update_locked(key, value, flags)
    }

    /// `bpf_map_update_elem` from a program.
    fn prog_update(&self, key: &[u8], value: &[u8], flags: u64) -> Result<(), MapError> {
        let _g = self.lock()?;
        if self.extra.flags & BPF_F_RDONLY_PROG != 0 {
            return Err(MapError::Permission(
                "the map is read-only for programs (BPF_F_RDONLY_PROG)",
            ));
        }
        self.update_locked(key, value, flags)
    }

    fn update_locked(&self, key: &[u8], value: &[u8], flags: u64) -> Result<(), MapError> {
        if flags > BPF_EXIST {
            return Err(MapError::Invalid("unknown update flags"));
        }
        self.check_key(key)?;
        self.check_value(value)?;
        let slot = match &self.store {
            Store::Array => {
                let i = le_u32(key) as usize;
                if i >= self.def.max_entries as usize {
                    return Err(MapError::OutOfRange);
                }
                if flags == BPF_NOEXIST {
                    return Err(MapError::Exists);
                }
                i
            }
            Store::Sparse(present) => {
                let i = le_u32(key) as usize;
                self.sparse_update_check(i, value, flags)?;
                present[i].set(true);
                i
            }
            Store::Hash(t, lru) => match (t.find(key), flags) {
                (Some(_), BPF_NOEXIST) => return Err(MapError::Exists),
                // the kernel's devmap_hash does not check BPF_EXIST
                (None, BPF_EXIST) if self.def.kind != MapKind::DevMapHash => {
                    return Err(MapError::NoSuchKey)
                }
                (Some(slot), _) => {
                    if let Some(lru) = lru {
                        lru.touch(slot);
                    }
                    slot
                }
                (None, _) => {
                    if let (Some(lru), true) = (lru, t.is_full()) {
                        // make room: the least recently used entry goes
                        if let Some(old) = lru.oldest() {
                            lru.unlink(old);
                            let old_key = t.key(old);
                            // copy out: remove() reuses the slot's memory
                            let mut buf = [0u8; MAX_KEY_SIZE as usize];
                            buf[..old_key.len()].copy_from_slice(old_key);
                            t.remove(&buf[..t.ks]);
                        }
                    }
                    let slot = t.insert(key)?;
                    if let Some(lru) = lru {
                        lru.push_front(slot);
                    }
                    slot
                }
            },
            Store::Lpm(l) => l.update(key, flags)?,
            Store::Ring => return Err(MapError::NotSupported("ring buffers have no keys")),
        };
        self.values.write(slot * self.stride, value);
        Ok(())
    }

    /// The kernel's rules for updating program arrays, perf event arrays
    /// and devmaps.
    fn sparse_update_check(&self, i: usize, value: &[u8], flags: u64) -> Result<(), MapError> {
        let fd_array = matches!(self.def.kind, MapKind::ProgArray | MapKind::PerfEventArray);
        if fd_array && flags != BPF_ANY {
            return Err(MapError::Invalid(
                "program and perf event arrays take BPF_ANY only",
            ));
        }
        if i >= self.def.max_entries as usize {
            return Err(MapError::OutOfRange);
        }
        if flags == BPF_NOEXIST {
            return Err(MapError::Exists);
        }
        if self.def.kind == MapKind::DevMap && value.len() == 8 && le_u32(&value[4..]) != 0 {
            return Err(MapError::Invalid(
                "devmap entries cannot carry a program (bpf_prog.fd must be 0)",
            ));
        }
        if self.def.kind == MapKind::DevMapHash && value.len() == 8 && le_u32(&value[4..]) != 0 {
            return Err(MapError::Invalid(
                "devmap entries cannot carry a program (bpf_prog.fd must be 0)",
            ));
        }
        Ok(())
    }

    /// `BPF_MAP_DELETE_ELEM` from the host.
    pub fn delete(&self, key: &[u8]) -> Result<(), MapError> {
        let _g = self.lock()?;
        if self.extra.flags & BPF_F_RDONLY != 0 {
            return Err(MapError::Permission("the map is read-only (BPF_F_RDONLY)"));
        }
        if self.extra.frozen {
            return Err(MapError::Permission("the map is frozen (.rodata)"));
        }
        self.delete_locked(key)
    }

    fn prog_delete(&self, key: &[u8]) -> Result<(), MapError> {
        let _g = self.lock()?;
        if self.extra.flags & BPF_F_RDONLY_PROG != 0 {
            return Err(MapError::Permission(
                "the map is read-only for programs (BPF_F_RDONLY_PROG)",
            ));
        }
        self.delete_locked(key)
    }

    fn delete_locked(&self, key: &[u8]) -> Result<(), MapError> {
        self.check_key(key)?;
        let slot = match &self.store {
            Store::Array => return Err(MapError::Invalid("array elements cannot be deleted")),
            Store::Sparse(present) => {
                let i = le_u32(key) as usize;
                if i >= self.def.max_entries as usize {
                    return Err(if self.def.kind == MapKind::DevMap {
                        MapError::Invalid("index beyond max_entries")
                    } else {
                        MapError::OutOfRange
                    });
                }
                if !present[i].get() {
                    return Err(MapError::NoSuchKey);
                }
                present[i].set(false);
                i
            }
            Store::Hash(t, lru) => {
                let slot = t.find(key).ok_or(MapError::NoSuchKey)?;
                if let Some(lru) = lru {
                    lru.unlink(slot);
                }
                t.remove(key);
                slot
            }
            Store::Lpm(l) => l.remove(key)?,
            Store::Ring => return Err(MapError::NotSupported("ring buffers have no keys")),
        };
        // values read as zero when the slot is used again
        self.values
            .zero(slot * self.stride, self.def.value_size as usize);
        Ok(())
    }

    /// `BPF_MAP_GET_NEXT_KEY`: the key after `key`, or the first key when
    /// `key` is None or not in the map; [`MapError::NoSuchKey`] after the
    /// last.  Arrays go by index; hash maps by slot; `lpm_trie` in the
    /// kernel's order (a post-order walk of the trie: longer prefixes
    /// before their shorter ones, 0 bits before 1 bits).
    pub fn next_key(&self, key: Option<&[u8]>) -> Result<Vec<u8>, MapError> {
        let _g = self.lock()?;
        if self.extra.flags & BPF_F_WRONLY != 0 {
            return Err(MapError::Permission("the map is write-only (BPF_F_WRONLY)"));
        }
        if let Some(k) = key {
            self.check_key(k)?;
        }
        let max = self.def.max_entries;
        match &self.store {
            Store::Array | Store::Sparse(_) => {
                let next = match key.map(le_u32) {
                    Some(i) if i < max => i.checked_add(1).filter(|&n| n < max),
                    _ => Some(0),
                };
                next.map(|n| n.to_le_bytes().to_vec())
                    .ok_or(MapError::NoSuchKey)
            }
            Store::Hash(t, _) => {
                let from = key.and_then(|k| t.find(k)).map_or(0, |s| s + 1);
                t.used_from(from)
                    .map(|s| t.key(s).to_vec())
                    .ok_or(MapError::NoSuchKey)
            }
            Store::Lpm(l) => l.next_key(key).ok_or(MapError::NoSuchKey),
            Store::Ring => Err(MapError::NotSupported("ring buffers have no keys")),
        }
    }

    /// Every (key, value), in [`Map::next_key`] order (ring buffers: none).
    pub fn entries(&self) -> Vec<(Vec<u8>, Vec<u8>)> {
        let Ok(_g) = self.lock() else {
            return Vec::new();
        };
        let n = self.def.max_entries as usize;
        match &self.store {
            Store::Array => (0..n)
                .map(|i| ((i as u32).to_le_bytes().to_vec(), self.value(i).to_vec()))
                .collect(),
            Store::Sparse(present) => (0..n)
                .filter(|&i| present[i].get())
                .map(|i| ((i as u32).to_le_bytes().to_vec(), self.value(i).to_vec()))
                .collect(),
            Store::Hash(t, _) => (0..n)
                .filter(|&i| t.used[i].get())
                .map(|i| (t.key(i).to_vec(), self.value(i).to_vec()))
                .collect(),
            Store::Lpm(l) => l
                .slots_in_order()
                .into_iter()
                .map(|s| (l.raw_key(s).to_vec(), self.value(s).to_vec()))
                .collect(),
            Store::Ring => Vec::new(),
        }
    }

    /// The oldest record of a ring buffer or perf event array (what
    /// `bpf_ringbuf_output`/`_submit` or `bpf_perf_event_output` wrote),
    /// removed from the map; None when there is none (or the oldest is
    /// still reserved by a running program).
    pub fn pop_record(&self) -> Option<Vec<u8>> {
        let _g = self.lock().ok()?;
        self.queue.as_ref()?.pop()
    }

    /// Every waiting record, oldest first (see [`Map::pop_record`]).
    pub fn drain_records(&self) -> Vec<Vec<u8>> {
        std::iter::from_fn(|| self.pop_record()).collect()
    }

    /// Records a program could not write because the queue was full
    /// (perf event arrays; ring buffers report `-EAGAIN`/NULL instead).
    pub fn lost_records(&self) -> u64 {
        self.queue.as_ref().map_or(0, Queue::lost)
    }

    /// Walk the entries in get-next-key order ([`Map::next_key`]), from
    /// the entry of key `start` (from the first without), building no
    /// list: `f` gets each key and value and returns `false` to stop.
    /// Fails if `start` is not a key of the map.
    pub fn walk(
        &self,
        start: Option<&[u8]>,
        mut f: impl FnMut(&[u8], &[u8]) -> bool,
    ) -> Result<(), MapError> {
        let mut key = match start {
            Some(k) => {
                self.lookup(k)?;
                k.to_vec()
            }
            None => match self.next_key(None) {
                Ok(k) => k,
                Err(MapError::NoSuchKey) => return Ok(()),
                Err(e) => return Err(e),
            },
        };
        loop {
            // an entry deleted meanwhile is skipped
            if let Ok(value) = self.lookup(&key) {
                if !f(&key, &value) {
                    return Ok(());
                }
            }
            key = match self.next_key(Some(&key)) {
                Ok(k) => k,
                Err(MapError::NoSuchKey) => return Ok(()),
                Err(e) => return Err(e),
            };
        }
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

    /// Why a map declared as `def` with `extra` cannot share this one
    /// (libbpf's rule for reusing a pinned map: same type, key and value
    /// sizes, `max_entries` and flags), if it cannot.
    pub fn mismatch(&self, def: &MapDef, extra: &MapExtra) -> Option<String> {
        let d = &self.def;
        let differ = |what: &str, a: String, b: String| {
            Some(format!("{what} is {a} in the pinned map, {b} here"))
        };
        if d.kind != def.kind {
            return differ(
                "the type",
                d.kind.name().to_owned(),
                def.kind.name().to_owned(),
            );
        }
        for (what, a, b) in [
            ("key_size", d.key_size, def.key_size),
            ("value_size", d.value_size, def.value_size),
            ("max_entries", d.max_entries, def.max_entries),
        ] {
            if a != b {
                return differ(what, a.to_string(), b.to_string());
            }
        }
        if self.extra.flags != extra.flags {
            return differ(
                "map_flags",
                describe_flags(self.extra.flags),
                describe_flags(extra.flags),
            );
        }
        None
    }
}

/// Where a program redirected the packet (`bpf_redirect_map`), for the
/// caller to act on after an `XDP_REDIRECT` verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Redirect {
    /// Index of the devmap in the program's maps.
    pub map: usize,
    /// The key, or None for a broadcast (`BPF_F_BROADCAST`: every entry).
    pub key: Option<u32>,
    /// The target's ifindex (the value's first u32); 0 for a broadcast.
    pub ifindex: u32,
    /// The helper's flags (`BPF_F_BROADCAST`, `BPF_F_EXCLUDE_INGRESS`).
    pub flags: u64,
}

/// What a run leaves for the caller besides r0: set by the helpers.
#[derive(Debug, Default)]
pub(crate) struct RunState {
    pub(crate) redirect: Cell<Option<Redirect>>,
    /// The last redirect target (`bpf_redirect` or `bpf_redirect_map`).
    pub(crate) target: Cell<Option<crate::progtype::RedirectTarget>>,
    /// The packet as the packet helpers see and change it.
    pub(crate) pkt: Cell<crate::packet::PktView>,
    /// Lines of `bpf_trace_printk` output not yet taken.
    pub(crate) printk: std::cell::RefCell<std::collections::VecDeque<crate::packet::TraceLine>>,
    /// The program index a successful `bpf_tail_call` asked for.
    pub(crate) tail_call: Cell<Option<u32>>,
    /// Tail calls so far in this chain.
    pub(crate) tail_calls: Cell<u32>,
    /// Per program index of the object: whether the Vm can run it as a
    /// tail-call target.
    pub(crate) tail_targets: Box<[bool]>,
    /// Whether the program is an XDP program (helpers whose return value
    /// depends on the type).
    pub(crate) xdp: Cell<bool>,
    /// Whether the program runs with a proof: its reads of maps that
    /// programs may only write (`BPF_F_WRONLY_PROG`) were refused, so
    /// lookups in them give pointers, as in the kernel.
    pub(crate) verified: Cell<bool>,
}

impl RunState {
    pub(crate) fn reset(&self) {
        self.redirect.set(None);
        self.target.set(None);
        self.tail_call.set(None);
        self.tail_calls.set(0);
    }
}

/// Discard what a program reserved in its ring buffers and did not
/// submit (a verified program cannot; an unverified one may).
pub(crate) fn end_of_run(maps: &[Arc<Map>]) {
    for m in maps {
        if let Some(q) = &m.queue {
            if let Ok(_g) = m.lock() {
                q.discard_pending();
            }
        }
    }
}

// ---- helpers and what they need of the running program ----

/// What the map helpers of the current run may use: set by `Vm::run` for
/// the duration of a run (helpers are plain functions without context).
#[derive(Clone, Copy)]
pub(crate) struct Run {
    maps: *const Arc<Map>,
    nmaps: usize,
    packet: (u64, u64),
    /// The interpreter's stack.
    stack: (u64, u64),
    /// Runs of unverified programs on the interpreter: check the pointers
    /// programs pass to helpers.
    pub(crate) checked: bool,
    state: *const RunState,
}

std::thread_local! {
    static RUN: Cell<Option<Run>> = const { Cell::new(None) };
}

/// Sets the run context, restores the previous one when dropped.
pub(crate) struct RunContext(Option<Run>);

impl RunContext {
    pub(crate) fn enter(
        maps: &[Arc<Map>],
        packet: std::ops::Range<u64>,
        stack: (u64, u64),
        checked: bool,
        state: &RunState,
    ) -> Self {
        let run = Run {
            maps: maps.as_ptr(),
            nmaps: maps.len(),
            packet: (packet.start, packet.end),
            stack,
            checked,
            state,
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
    fn maps(&self) -> &[Arc<Map>] {
        // SAFETY: set from a slice that outlives the run (RunContext).
        unsafe { std::slice::from_raw_parts(self.maps, self.nmaps) }
    }

    pub(crate) fn state(&self) -> &RunState {
        // SAFETY: the Vm's run state outlives the run (RunContext).
        unsafe { &*self.state }
    }

    /// The map whose handle is `addr`, if the program has one, and its
    /// index.
    fn map(&self, addr: u64) -> Option<(usize, &Map)> {
        self.maps()
            .iter()
            .enumerate()
            .map(|(i, m)| (i, &**m))
            .find(|&(_, m)| std::ptr::from_ref(m) as u64 == addr)
    }

    /// The map `addr` refers to, if it is of kind `kind`.
    fn map_of(&self, addr: u64, kind: MapKind) -> Option<(usize, &Map)> {
        self.map(addr).filter(|(_, m)| m.def.kind == kind)
    }

    /// `len` bytes at `addr` for a helper to write, under the same
    /// rules as [`Run::bytes`].
    pub(crate) fn bytes_mut(&self, addr: u64, len: usize) -> Option<*mut u8> {
        self.bytes(addr, len)?;
        Some(addr as *mut u8)
    }

    /// `len` bytes at `addr`, if the program may read them: in checked
    /// runs, inside the packet, the program's stack or a map value; the
    /// others are of trusted or verified programs.
    pub(crate) fn bytes(&self, addr: u64, len: usize) -> Option<&[u8]> {
        let end = addr.checked_add(len as u64)?;
        if self.checked {
            let within = |(s, e): (u64, u64)| s <= addr && end <= e && s < e;
            let ok = within(self.packet)
                || within(self.stack)
                || self.maps().iter().any(|m| {
                    let r = m.value_region();
                    within((r.start, r.end))
                });
            if !ok || addr == 0 {
                return None;
            }
        }
        if len == 0 {
            return Some(&[]);
        }
        // SAFETY: checked above (interpreter), or guaranteed by the trust
        // the caller put in a JIT-run program.
        Some(unsafe { std::slice::from_raw_parts(addr as *const u8, len) })
    }
}

pub(crate) fn with_run(f: impl FnOnce(&Run) -> Option<u64>) -> Option<u64> {
    RUN.with(Cell::get).and_then(|run| f(&run))
}

const fn neg(errno: i32) -> u64 {
    (-(errno as i64)) as u64
}

const EFAULT: u64 = neg(libc::EFAULT);

fn status(r: Result<(), MapError>) -> u64 {
    match r {
        Ok(()) => 0,
        Err(e) => e.errno() as u64,
    }
}

/// `void *bpf_map_lookup_elem(map, const void *key)`
pub(crate) fn lookup_elem(map: u64, key: u64, _: u64, _: u64, _: u64) -> u64 {
    with_run(|run| {
        let (_, m) = run.map(map)?;
        // an unverified program could read through the pointer: for it,
        // write-only maps hold nothing
        let wronly = m.extra.flags & BPF_F_WRONLY_PROG != 0;
        if !m.info.program_lookup || (wronly && !run.state().verified.get()) {
            return None;
        }
        let key = run.bytes(key, m.def().key_size as usize)?;
        m.lookup_ptr(key).map(|p| p as u64)
    })
    .unwrap_or(0)
}

/// `void *bpf_map_lookup_percpu_elem(map, const void *key, u32 cpu)`
pub(crate) fn lookup_percpu_elem(map: u64, key: u64, cpu: u64, _: u64, _: u64) -> u64 {
    if cpu as u32 >= NR_CPUS {
        return 0;
    }
    with_run(|run| {
        let (_, m) = run.map(map)?;
        if !m.info.percpu {
            return None;
        }
        Some(lookup_elem(map, key, 0, 0, 0))
    })
    .unwrap_or(0)
}

/// `long bpf_map_update_elem(map, const void *key, const void *value, u64 flags)`
pub(crate) fn update_elem(map: u64, key: u64, value: u64, flags: u64, _: u64) -> u64 {
    with_run(|run| {
        let (_, m) = run.map(map)?;
        if !m.info.program_lookup || m.info.read_only_values {
            return Some(neg(libc::EINVAL));
        }
        let key = run.bytes(key, m.def().key_size as usize)?;
        let value = run.bytes(value, m.def().value_size as usize)?;
        Some(status(m.prog_update(key, value, flags)))
    })
    .unwrap_or(EFAULT)
}

/// `long bpf_map_delete_elem(map, const void *key)`
pub(crate) fn delete_elem(map: u64, key: u64, _: u64, _: u64, _: u64) -> u64 {
    with_run(|run| {
        let (_, m) = run.map(map)?;
        if !m.info.program_lookup || m.info.read_only_values {
            return Some(neg(libc::EINVAL));
        }
        let key = run.bytes(key, m.def().key_size as usize)?;
        Some(status(m.prog_delete(key)))
    })
    .unwrap_or(EFAULT)
}

/// `long bpf_tail_call(ctx, prog_array, u32 index)`.
///
/// rbpf cannot leave the program from a helper: on success this records
/// the target program and returns 0, and the instructions the load-time
/// rewrite put behind the call end the program (`crate::rewrite`); the
/// Vm's run loop then runs the target.  On failure (no such entry, a
/// program the Vm cannot run, or [`MAX_TAIL_CALLS`] reached) it returns a
/// negative errno and the program continues, as in the kernel.
pub(crate) fn tail_call(_ctx: u64, map: u64, index: u64, _: u64, _: u64) -> u64 {
    with_run(|run| {
        let (_, m) = run.map_of(map, MapKind::ProgArray)?;
        let st = run.state();
        if st.tail_calls.get() >= MAX_TAIL_CALLS || st.tail_call.get().is_some() {
            return Some(neg(libc::E2BIG));
        }
        let key = (index as u32).to_le_bytes();
        let _g = m.lock().ok()?;
        let slot = m.slot_of(&key).ok()??;
        let prog = le_u32(m.value(slot));
        if st.tail_targets.get(prog as usize) != Some(&true) {
            return Some(neg(libc::ENOENT));
        }
        st.tail_call.set(Some(prog));
        st.tail_calls.set(st.tail_calls.get() + 1);
        Some(0)
    })
    .unwrap_or(neg(libc::ENOENT))
}

/// `BPF_F_BROADCAST` of `bpf_redirect_map`.
pub const BPF_F_BROADCAST: u64 = 1 << 3;
/// `BPF_F_EXCLUDE_INGRESS` of `bpf_redirect_map`.
pub const BPF_F_EXCLUDE_INGRESS: u64 = 1 << 4;
const XDP_ABORTED: u64 = 0;
const XDP_REDIRECT: u64 = 4;

/// `long bpf_redirect_map(map, u64 key, u64 flags)`: `XDP_REDIRECT` when
/// the devmap has the key (the target is recorded for the caller), else
/// the action in the low two bits of `flags`.
pub(crate) fn redirect_map(map: u64, key: u64, flags: u64, _: u64, _: u64) -> u64 {
    if flags & !(3 | BPF_F_BROADCAST | BPF_F_EXCLUDE_INGRESS) != 0 {
        return XDP_ABORTED;
    }
    with_run(|run| {
        let (index, m) = run.map(map)?;
        if !matches!(m.def.kind, MapKind::DevMap | MapKind::DevMapHash) {
            return Some(XDP_ABORTED);
        }
        let target = if flags & BPF_F_BROADCAST != 0 {
            Redirect {
                map: index,
                key: None,
                ifindex: 0,
                flags,
            }
        } else {
            let k = u32::try_from(key).ok()?;
            let _g = m.lock().ok()?;
            let slot = m.slot_of(&k.to_le_bytes()).ok()??;
            Redirect {
                map: index,
                key: Some(k),
                ifindex: le_u32(m.value(slot)),
                flags,
            }
        };
        run.state().redirect.set(Some(target));
        run.state()
            .target
            .set(Some(crate::progtype::RedirectTarget::Map(target)));
        Some(XDP_REDIRECT)
    })
    .unwrap_or(flags & 3)
}

/// `BPF_F_CURRENT_CPU` of `bpf_perf_event_output`.
pub const BPF_F_CURRENT_CPU: u64 = 0xffff_ffff;
const BPF_F_CTXLEN_MASK: u64 = 0xf_ffff << 32;

/// `long bpf_perf_event_output(ctx, map, u64 flags, void *data, u64 size)`:
/// a record of `data` (followed by the first `flags >> 32` bytes of the
/// packet) for the host, at CPU 0's entry or the index in the flags'
/// low 32 bits, which the host must have set (as libbpf's perf buffer
/// does).
pub(crate) fn perf_event_output(_ctx: u64, map: u64, flags: u64, data: u64, size: u64) -> u64 {
    if flags & !(BPF_F_CURRENT_CPU | BPF_F_CTXLEN_MASK) != 0 {
        return neg(libc::EINVAL);
    }
    with_run(|run| {
        let (_, m) = run.map_of(map, MapKind::PerfEventArray)?;
        let index = match flags & BPF_F_CURRENT_CPU {
            BPF_F_CURRENT_CPU => 0,
            i => i as u32,
        };
        let data = run.bytes(data, usize::try_from(size).ok()?)?;
        let ctx_len = usize::try_from((flags & BPF_F_CTXLEN_MASK) >> 32).ok()?;
        // the packet as the program sees it now (not the buffer, whose
        // headroom comes first)
        let view = run.state().pkt.get();
        let (start, end) = (view.data, view.data_end);
        if ctx_len as u64 > end - start {
            return Some(EFAULT);
        }
        // SAFETY: the packet range of this run, checked above.
        let packet = unsafe { std::slice::from_raw_parts(start as *const u8, ctx_len) };
        let _g = m.lock().ok()?;
        let Store::Sparse(present) = &m.store else {
            return None;
        };
        if index >= m.def.max_entries {
            return Some(neg(libc::E2BIG));
        }
        if !present[index as usize].get() {
            return Some(neg(libc::ENOENT));
        }
        let q = m.queue.as_ref()?;
        Some(if q.push(&[data, packet]) {
            0
        } else {
            q.count_lost();
            neg(libc::ENOSPC)
        })
    })
    .unwrap_or(EFAULT)
}

/// `long bpf_ringbuf_output(ringbuf, void *data, u64 size, u64 flags)`
pub(crate) fn ringbuf_output(map: u64, data: u64, size: u64, flags: u64, _: u64) -> u64 {
    if flags & !3 != 0 {
        return neg(libc::EINVAL);
    }
    with_run(|run| {
        let (_, m) = run.map_of(map, MapKind::RingBuf)?;
        let data = run.bytes(data, usize::try_from(size).ok()?)?;
        let _g = m.lock().ok()?;
        Some(if m.queue.as_ref()?.push(&[data]) {
            0
        } else {
            neg(libc::EAGAIN)
        })
    })
    .unwrap_or(EFAULT)
}

/// `void *bpf_ringbuf_reserve(ringbuf, u64 size, u64 flags)`
pub(crate) fn ringbuf_reserve(map: u64, size: u64, flags: u64, _: u64, _: u64) -> u64 {
    if flags != 0 {
        return 0;
    }
    with_run(|run| {
        let (_, m) = run.map_of(map, MapKind::RingBuf)?;
        let _g = m.lock().ok()?;
        m.queue.as_ref()?.reserve(usize::try_from(size).ok()?)
    })
    .unwrap_or(0)
}

fn ringbuf_commit(data: u64, discard: bool) -> u64 {
    with_run(|run| {
        let m = run
            .maps()
            .iter()
            .find(|m| m.def.kind == MapKind::RingBuf && m.value_region().contains(&data))?;
        let _g = m.lock().ok()?;
        m.queue.as_ref()?.commit(data, discard);
        Some(0)
    })
    .unwrap_or(0)
}

/// `void bpf_ringbuf_submit(void *data, u64 flags)`
pub(crate) fn ringbuf_submit(data: u64, _flags: u64, _: u64, _: u64, _: u64) -> u64 {
    ringbuf_commit(data, false)
}

/// `void bpf_ringbuf_discard(void *data, u64 flags)`
pub(crate) fn ringbuf_discard(data: u64, _flags: u64, _: u64, _: u64, _: u64) -> u64 {
    ringbuf_commit(data, true)
}

/// `u64 bpf_ringbuf_query(ringbuf, u64 flags)`: `BPF_RB_AVAIL_DATA` (0),
/// `BPF_RB_RING_SIZE` (1), `BPF_RB_CONS_POS` (2), `BPF_RB_PROD_POS` (3).
pub(crate) fn ringbuf_query(map: u64, flags: u64, _: u64, _: u64, _: u64) -> u64 {
    with_run(|run| {
        let (_, m) = run.map_of(map, MapKind::RingBuf)?;
        let _g = m.lock().ok()?;
        m.queue.as_ref()?.query(flags)
    })
    .unwrap_or(0)
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
        check_defs(&[big.clone(), big.clone(), big.clone(), big.clone()], &[]).unwrap();
        let err = check_defs(
            &[big.clone(), big.clone(), big.clone(), big.clone(), big],
            &[],
        )
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
