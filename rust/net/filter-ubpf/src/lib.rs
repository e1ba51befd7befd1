// SPDX-License-Identifier: GPL-2.0-or-later

//! `filter-ubpf`: a QEMU network filter that runs an eBPF program on every
//! packet of a netdev and drops the packets for which it returns non-zero.
//!
//! The program is loaded, checked and run by the `ubpf` engine crate; this
//! crate is the QOM shell around it (properties, counters, the netfilter
//! hooks).  See `docs/system/filter-ubpf.rst` for the user's view and
//! `docs/devel/userspace-ebpf.rst` for the design.

pub mod filter;
pub mod info;
pub mod monitor;
pub mod netfilter;

pub use filter::{FilterUbpf, TYPE_FILTER_UBPF};
