// SPDX-License-Identifier: GPL-2.0-or-later

//! A bounded queue of records in preallocated memory, which programs fill
//! (`bpf_ringbuf_output`/`_reserve`/`_submit`/`_discard`,
//! `bpf_perf_event_output`) and the host drains.
//!
//! Each record is an 8-byte header (length and flags) and its data,
//! padded to 8 bytes, at a position counted as in the kernel's ring
//! buffer: the producer stays less than the ring's size ahead of the
//! consumer, and a record may run past the end of the ring.  The kernel
//! maps its ring twice in a row for that; here the memory is twice the
//! ring's size, a record is written and read in one piece from its start
//! (at its position modulo the size), and only headers live in the first
//! half, so the positions, the room left and `bpf_ringbuf_query` are the
//! kernel's.

use std::cell::Cell;

use super::Bytes;

const HDR: usize = 8;
/// Reserved, not yet submitted or discarded.
const BUSY: u32 = 1 << 31;
/// Discarded: the consumer skips it.
const DISCARD: u32 = 1 << 30;
const LEN: u32 = DISCARD - 1;

pub(super) struct Queue {
    /// `2 * cap` bytes: a record starting near the end goes on past it.
    data: Bytes,
    cap: usize,
    /// Consumer and producer positions (bytes ever consumed/produced).
    cons: Cell<u64>,
    prod: Cell<u64>,
    lost: Cell<u64>,
    /// Reserved records not yet submitted or discarded.
    pending: Cell<u32>,
    /// Submitted records waiting for the host.
    records: Cell<usize>,
}

impl Queue {
    pub(super) fn new(cap: usize) -> Self {
        Self {
            data: Bytes::new(2 * cap),
            cap,
            cons: Cell::new(0),
            prod: Cell::new(0),
            lost: Cell::new(0),
            pending: Cell::new(0),
            records: Cell::new(0),
        }
    }

    pub(super) fn region(&self) -> std::ops::Range<u64> {
        self.data.range()
    }

    fn header(&self, off: usize) -> u32 {
        let b = self.data.read(off, 4);
        u32::from_le_bytes([b[0], b[1], b[2], b[3]])
    }

    fn set_header(&self, off: usize, h: u32) {
        self.data.write(off, &h.to_le_bytes());
    }

    fn offset(&self, pos: u64) -> usize {
        (pos % self.cap as u64) as usize
    }

    /// Room for a record of `len` bytes; its header's offset (marked busy).
    fn reserve_at(&self, len: usize) -> Option<usize> {
        let total = HDR + len.next_multiple_of(8);
        let used = (self.prod.get() - self.cons.get()) as usize;
        // as in the kernel: at most cap - 1 bytes ahead of the consumer
        if len > LEN as usize || used + total > self.cap - 1 {
            return None;
        }
        let off = self.offset(self.prod.get());
        self.set_header(off, BUSY | len as u32);
        self.prod.set(self.prod.get() + total as u64);
        Some(off)
    }

    /// Write a record made of `parts`; false if it does not fit.
    pub(super) fn push(&self, parts: &[&[u8]]) -> bool {
        let len = parts.iter().map(|p| p.len()).sum();
        let Some(off) = self.reserve_at(len) else {
            return false;
        };
        let mut at = off + HDR;
        for p in parts {
            self.data.write(at, p);
            at += p.len();
        }
        self.set_header(off, len as u32);
        self.records.set(self.records.get() + 1);
        true
    }

    /// `bpf_ringbuf_reserve`: the address of `len` writable bytes.
    pub(super) fn reserve(&self, len: usize) -> Option<u64> {
        let off = self.reserve_at(len)?;
        self.pending.set(self.pending.get() + 1);
        Some(self.data.ptr(off + HDR) as u64)
    }

    /// `bpf_ringbuf_submit`/`_discard` of the record at `addr`.
    pub(super) fn commit(&self, addr: u64, discard: bool) {
        let base = self.data.ptr(0) as u64;
        let Some(off) = addr
            .checked_sub(base + HDR as u64)
            .and_then(|o| usize::try_from(o).ok())
            .filter(|&o| o % 8 == 0 && o + HDR <= self.cap)
        else {
            return;
        };
        let h = self.header(off);
        if h & BUSY == 0 {
            return;
        }
        let len = h & LEN;
        if discard {
            self.set_header(off, DISCARD | len);
        } else {
            self.set_header(off, len);
            self.records.set(self.records.get() + 1);
        }
        self.pending.set(self.pending.get().saturating_sub(1));
    }

    /// Discard the records still reserved.
    pub(super) fn discard_pending(&self) {
        if self.pending.get() == 0 {
            return;
        }
        let mut pos = self.cons.get();
        while pos < self.prod.get() {
            let off = self.offset(pos);
            let h = self.header(off);
            let len = (h & LEN) as usize;
            if h & BUSY != 0 {
                self.set_header(off, DISCARD | len as u32);
            }
            pos += (HDR + len.next_multiple_of(8)) as u64;
        }
        self.pending.set(0);
    }

    /// The oldest submitted record, removed.
    pub(super) fn pop(&self) -> Option<Vec<u8>> {
        while self.cons.get() < self.prod.get() {
            let off = self.offset(self.cons.get());
            let h = self.header(off);
            if h & BUSY != 0 {
                return None;
            }
            let len = (h & LEN) as usize;
            self.cons
                .set(self.cons.get() + (HDR + len.next_multiple_of(8)) as u64);
            if h & DISCARD == 0 {
                self.records.set(self.records.get() - 1);
                return Some(self.data.read(off + HDR, len).to_vec());
            }
        }
        None
    }

    pub(super) fn records(&self) -> usize {
        self.records.get()
    }

    pub(super) fn lost(&self) -> u64 {
        self.lost.get()
    }

    pub(super) fn count_lost(&self) {
        self.lost.set(self.lost.get() + 1);
    }

    /// `bpf_ringbuf_query`.
    pub(super) fn query(&self, what: u64) -> Option<u64> {
        Some(match what {
            0 => self.prod.get() - self.cons.get(),
            1 => self.cap as u64,
            2 => self.cons.get(),
            3 => self.prod.get(),
            _ => 0,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wraps_past_the_end() {
        let q = Queue::new(64);
        assert!(q.push(&[&[1; 20]])); // 32 bytes
        assert!(q.push(&[&[2; 8]])); // 16 bytes: 48 used
        assert!(!q.push(&[&[3; 20]]), "15 bytes left, 32 needed");
        assert!(!q.push(&[&[3; 8]]), "at most 63 bytes ahead, as the kernel");
        assert_eq!(q.pop().unwrap(), vec![1; 20]);
        // from offset 48 on past the end of the ring
        assert!(q.push(&[&[3; 20]]));
        assert_eq!(q.query(3), Some(80));
        assert_eq!(q.pop().unwrap(), vec![2; 8]);
        assert!(q.push(&[&[4; 4], &[5; 4]])); // at offset 16
        assert_eq!(q.pop().unwrap(), vec![3; 20]);
        assert_eq!(q.pop().unwrap(), [4, 4, 4, 4, 5, 5, 5, 5]);
        assert_eq!(q.pop(), None);
        assert_eq!(q.query(0), Some(0));
    }

    #[test]
    fn reserved_records_block_until_committed() {
        let q = Queue::new(4096);
        let a = q.reserve(4).unwrap();
        assert!(q.push(&[b"next"]));
        assert_eq!(q.pop(), None, "the reserved record comes first");
        q.commit(a, true);
        assert_eq!(q.pop().unwrap(), b"next");
        let b = q.reserve(4).unwrap();
        q.discard_pending();
        q.commit(b, false); // too late: already discarded
        assert_eq!(q.pop(), None);
        assert_eq!(q.records(), 0);
    }
}
