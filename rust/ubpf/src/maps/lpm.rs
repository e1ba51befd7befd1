// SPDX-License-Identifier: GPL-2.0-or-later

//! `lpm_trie` storage: longest-prefix match over
//! `struct bpf_lpm_trie_key { u32 prefixlen; u8 data[]; }` keys.
//!
//! Entries live in a preallocated hash table keyed by the prefix (the key
//! with the bits beyond `prefixlen` cleared); a lookup tries the prefix
//! lengths in use, longest first.  The key as given is kept too: the
//! kernel reports it unmasked when iterating.  Iteration follows the
//! kernel's trie order, which depends only on the prefixes: a post-order
//! walk of the binary trie (bit 0 before bit 1, a prefix after the
//! longer prefixes it contains).

use std::cell::Cell;
use std::cmp::Ordering;

use super::{le_u32, Bytes, MapError, Table, BPF_EXIST, BPF_NOEXIST};

/// Largest key: `prefixlen` and 256 data bytes (the kernel's limit).
const MAX_KEY: usize = 4 + 256;

pub(super) struct Lpm {
    table: Table,
    /// The key of each slot as given (not masked).
    raw: Bytes,
    /// Entries per prefix length.
    counts: Box<[Cell<u32>]>,
    ks: usize,
}

/// Bit `i` of `data`, most significant bit of byte 0 first.
fn bit(data: &[u8], i: u32) -> u8 {
    (data[(i / 8) as usize] >> (7 - i % 8)) & 1
}

/// The kernel's iteration order of two keys (see the module doc).
fn trie_order(a: &[u8], b: &[u8]) -> Ordering {
    let (pa, pb) = (le_u32(a), le_u32(b));
    let (da, db) = (&a[4..], &b[4..]);
    for i in 0..pa.min(pb) {
        let (x, y) = (bit(da, i), bit(db, i));
        if x != y {
            return x.cmp(&y);
        }
    }
    // one contains the other: the longer comes first
    pb.cmp(&pa)
}

impl Lpm {
    pub(super) fn new(ks: usize, n: usize) -> Self {
        let max_prefixlen = 8 * (ks - 4);
        Self {
            table: Table::new(ks, n),
            raw: Bytes::new(n * ks),
            counts: (0..=max_prefixlen).map(|_| Cell::new(0)).collect(),
            ks,
        }
    }

    fn max_prefixlen(&self) -> u32 {
        (8 * (self.ks - 4)) as u32
    }

    pub(super) fn len(&self) -> usize {
        self.table.entries.get()
    }

    pub(super) fn raw_key(&self, slot: usize) -> &[u8] {
        self.raw.read(slot * self.ks, self.ks)
    }

    /// `key`'s data cut to `plen` bits, with `plen` as its prefix length.
    fn masked(&self, key: &[u8], plen: u32) -> [u8; MAX_KEY] {
        let mut out = [0u8; MAX_KEY];
        out[..4].copy_from_slice(&plen.to_le_bytes());
        for (i, &b) in key[4..self.ks].iter().enumerate() {
            let bits = plen.saturating_sub(8 * i as u32).min(8);
            out[4 + i] = if bits == 0 {
                0
            } else {
                b & (0xff << (8 - bits))
            };
        }
        out
    }

    fn prefixlen(&self, key: &[u8]) -> Result<u32, MapError> {
        let plen = le_u32(key);
        if plen > self.max_prefixlen() {
            Err(MapError::Invalid(
                "the prefix length exceeds the key's bits",
            ))
        } else {
            Ok(plen)
        }
    }

    /// The slot of the longest prefix that matches `key` (up to its
    /// `prefixlen`).
    pub(super) fn lookup(&self, key: &[u8]) -> Option<usize> {
        let plen = self.prefixlen(key).ok()?;
        (0..=plen)
            .rev()
            .filter(|&l| self.counts[l as usize].get() > 0)
            .find_map(|l| self.table.find(&self.masked(key, l)[..self.ks]))
    }

    /// Slot for `key` (new or existing), following the update flags.
    pub(super) fn update(&self, key: &[u8], flags: u64) -> Result<usize, MapError> {
        let plen = self.prefixlen(key)?;
        let masked = self.masked(key, plen);
        let slot = match (self.table.find(&masked[..self.ks]), flags) {
            (Some(_), BPF_NOEXIST) => return Err(MapError::Exists),
            (None, BPF_EXIST) => return Err(MapError::NoSuchKey),
            (Some(slot), _) => slot,
            (None, _) => {
                let slot = self
                    .table
                    .insert(&masked[..self.ks])
                    .map_err(|_| MapError::NoSpace)?;
                let c = &self.counts[plen as usize];
                c.set(c.get() + 1);
                slot
            }
        };
        self.raw.write(slot * self.ks, key);
        Ok(slot)
    }

    /// Remove the entry with exactly `key`'s prefix.
    pub(super) fn remove(&self, key: &[u8]) -> Result<usize, MapError> {
        let plen = self.prefixlen(key)?;
        let slot = self
            .table
            .remove(&self.masked(key, plen)[..self.ks])
            .ok_or(MapError::NoSuchKey)?;
        let c = &self.counts[plen as usize];
        c.set(c.get() - 1);
        Ok(slot)
    }

    fn used(&self) -> impl Iterator<Item = usize> + '_ {
        (0..self.table.used.len()).filter(|&i| self.table.used[i].get())
    }

    /// The key after `key` in the kernel's order; the first if `key` is
    /// None or not exactly in the trie.
    pub(super) fn next_key(&self, key: Option<&[u8]>) -> Option<Vec<u8>> {
        let current = key.and_then(|k| {
            let plen = self.prefixlen(k).ok()?;
            self.table.find(&self.masked(k, plen)[..self.ks])
        });
        let after = |s: usize| match current {
            Some(c) => trie_order(self.raw_key(c), self.raw_key(s)) == Ordering::Less,
            None => true,
        };
        self.used()
            .filter(|&s| after(s))
            .min_by(|&a, &b| trie_order(self.raw_key(a), self.raw_key(b)))
            .map(|s| self.raw_key(s).to_vec())
    }

    /// The used slots in the kernel's order.
    pub(super) fn slots_in_order(&self) -> Vec<usize> {
        let mut slots: Vec<usize> = self.used().collect();
        slots.sort_by(|&a, &b| trie_order(self.raw_key(a), self.raw_key(b)));
        slots
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(plen: u32, data: [u8; 4]) -> Vec<u8> {
        let mut k = plen.to_le_bytes().to_vec();
        k.extend_from_slice(&data);
        k
    }

    #[test]
    fn order_is_the_kernels_post_order() {
        let mut keys = [
            key(8, [10, 0, 0, 0]),
            key(16, [10, 1, 0, 0]),
            key(24, [10, 1, 2, 0]),
            key(16, [10, 128, 0, 0]),
            key(0, [0; 4]),
            key(8, [192, 0, 0, 0]),
        ];
        keys.sort_by(|a, b| trie_order(a, b));
        let plens: Vec<(u32, u8, u8)> = keys.iter().map(|k| (le_u32(k), k[4], k[5])).collect();
        assert_eq!(
            plens,
            [
                (24, 10, 1),
                (16, 10, 1),
                (16, 10, 128),
                (8, 10, 0),
                (8, 192, 0),
                (0, 0, 0)
            ]
        );
    }
}
