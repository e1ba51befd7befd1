// SPDX-License-Identifier: GPL-2.0-or-later

//! The kernel's maps through raw `bpf()` system calls (`BPF_MAP_CREATE`,
//! `_UPDATE_ELEM`, `_LOOKUP_ELEM`, `_DELETE_ELEM`, `_GET_NEXT_KEY`): the
//! reference the engine's maps are compared with.

use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

const BPF_MAP_CREATE: i64 = 0;
const BPF_MAP_LOOKUP_ELEM: i64 = 1;
const BPF_MAP_UPDATE_ELEM: i64 = 2;
const BPF_MAP_DELETE_ELEM: i64 = 3;
const BPF_MAP_GET_NEXT_KEY: i64 = 4;

/// `union bpf_attr`, as bytes: big enough for the commands used here.
#[repr(C, align(8))]
struct Attr([u8; 128]);

impl Attr {
    fn new() -> Self {
        Self([0; 128])
    }

    fn u32(mut self, off: usize, v: u32) -> Self {
        self.0[off..off + 4].copy_from_slice(&v.to_ne_bytes());
        self
    }

    fn u64(mut self, off: usize, v: u64) -> Self {
        self.0[off..off + 8].copy_from_slice(&v.to_ne_bytes());
        self
    }
}

fn bpf(cmd: i64, attr: &mut Attr) -> Result<i64, i64> {
    // SAFETY: FFI edge: `attr` is a valid, writable bpf_attr-sized buffer
    // for the duration of the call, and the pointers inside it point to
    // live buffers of the sizes the map was created with.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_bpf,
            cmd,
            std::ptr::from_mut(attr),
            std::mem::size_of::<Attr>(),
        )
    };
    if ret < 0 {
        Err(-i64::from(
            std::io::Error::last_os_error().raw_os_error().unwrap_or(0),
        ))
    } else {
        Ok(ret)
    }
}

/// A kernel map.
pub struct KernelMap {
    fd: OwnedFd,
    key_size: usize,
    /// Bytes of a value as the syscalls see it (per-CPU: all CPUs).
    value_len: usize,
}

/// Possible CPUs (the number of values a per-CPU lookup returns).
pub fn possible_cpus() -> usize {
    let text = std::fs::read_to_string("/sys/devices/system/cpu/possible").unwrap_or_default();
    text.trim()
        .split(',')
        .map(|r| match r.split_once('-') {
            Some((a, b)) => b.parse::<usize>().unwrap_or(0) - a.parse::<usize>().unwrap_or(0) + 1,
            None => usize::from(!r.is_empty()),
        })
        .sum::<usize>()
        .max(1)
}

impl KernelMap {
    /// `BPF_MAP_CREATE`; Err(-errno).
    pub fn create(
        map_type: u32,
        key_size: u32,
        value_size: u32,
        max_entries: u32,
        flags: u32,
        percpu: bool,
    ) -> Result<Self, i64> {
        let mut attr = Attr::new()
            .u32(0, map_type)
            .u32(4, key_size)
            .u32(8, value_size)
            .u32(12, max_entries)
            .u32(16, flags);
        let fd = bpf(BPF_MAP_CREATE, &mut attr)?;
        let fd = i32::try_from(fd).map_err(|_| -1i64)?;
        let stride = (value_size as usize).next_multiple_of(8);
        Ok(Self {
            // SAFETY: FFI edge: the kernel returned a new file descriptor
            // that nothing else owns.
            fd: unsafe { OwnedFd::from_raw_fd(fd) },
            key_size: key_size as usize,
            value_len: if percpu {
                stride * possible_cpus()
            } else {
                value_size as usize
            },
        })
    }

    fn elem(&self, cmd: i64, key: Option<&[u8]>, value: u64, flags: u64) -> Result<i64, i64> {
        let key_ptr = key.map_or(0, |k| {
            assert_eq!(k.len(), self.key_size, "key size");
            k.as_ptr() as u64
        });
        let fd = u32::try_from(self.fd.as_raw_fd()).unwrap_or(0);
        let mut attr = Attr::new()
            .u32(0, fd)
            .u64(8, key_ptr)
            .u64(16, value)
            .u64(24, flags);
        bpf(cmd, &mut attr)
    }

    /// `BPF_MAP_UPDATE_ELEM` (per-CPU maps: `value` is the kernel's
    /// per-CPU layout); Err(-errno).
    pub fn update(&self, key: &[u8], value: &[u8], flags: u64) -> Result<(), i64> {
        assert_eq!(value.len(), self.value_len, "value size");
        self.elem(BPF_MAP_UPDATE_ELEM, Some(key), value.as_ptr() as u64, flags)
            .map(drop)
    }

    /// `BPF_MAP_LOOKUP_ELEM`.
    pub fn lookup(&self, key: &[u8]) -> Result<Vec<u8>, i64> {
        let mut out = vec![0u8; self.value_len];
        self.elem(BPF_MAP_LOOKUP_ELEM, Some(key), out.as_mut_ptr() as u64, 0)?;
        Ok(out)
    }

    /// `BPF_MAP_DELETE_ELEM`.
    pub fn delete(&self, key: &[u8]) -> Result<(), i64> {
        self.elem(BPF_MAP_DELETE_ELEM, Some(key), 0, 0).map(drop)
    }

    /// `BPF_MAP_GET_NEXT_KEY`.
    pub fn next_key(&self, key: Option<&[u8]>) -> Result<Vec<u8>, i64> {
        let mut out = vec![0u8; self.key_size];
        self.elem(BPF_MAP_GET_NEXT_KEY, key, out.as_mut_ptr() as u64, 0)?;
        Ok(out)
    }

    /// Bytes of a value for update/lookup.
    pub const fn value_len(&self) -> usize {
        self.value_len
    }
}

/// Whether `bpf()` works here; the reason if not.
pub fn available() -> Result<(), String> {
    match KernelMap::create(2, 4, 8, 1, 0, false) {
        Ok(_) => Ok(()),
        Err(e) => Err(format!("bpf(BPF_MAP_CREATE) fails with errno {}", -e)),
    }
}
