// SPDX-License-Identifier: GPL-2.0-or-later

//! Reading program files: regular files only, a size cap, and nothing
//! that blocks (FIFOs without a writer, endless devices).

#![allow(clippy::shadow_unrelated)]

mod common;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use ubpf::{read_object_file, Program, MAX_OBJECT_SIZE};

fn tmp(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("ubpf-files-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

fn load_error(path: &Path) -> String {
    let start = Instant::now();
    let err = Program::load_file(path, None).unwrap_err().to_string();
    assert!(
        start.elapsed() < Duration::from_secs(5),
        "{}: took {:?}",
        path.display(),
        start.elapsed()
    );
    err
}

#[test]
fn fifo_is_refused_without_blocking() {
    let fifo = tmp("prog.fifo");
    let _ = std::fs::remove_file(&fifo);
    let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
    // SAFETY: c is a valid NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
    let err = load_error(&fifo);
    assert_eq!(
        err,
        format!(
            "{}: cannot read: it is a FIFO; the program must be a regular file",
            fifo.display()
        )
    );
    std::fs::remove_file(&fifo).unwrap();
}

#[test]
fn devices_and_directories_are_refused() {
    let err = load_error(Path::new("/dev/zero"));
    assert_eq!(
        err,
        "/dev/zero: cannot read: it is a character device; the program must be a regular file"
    );
    let err = load_error(Path::new("/"));
    assert_eq!(
        err,
        "/: cannot read: it is a directory; the program must be a regular file"
    );
}

#[test]
fn size_cap() {
    let big = tmp("big.o");
    let f = std::fs::File::create(&big).unwrap();
    // sparse: costs no disk space
    f.set_len(MAX_OBJECT_SIZE + 1).unwrap();
    let err = load_error(&big);
    assert_eq!(
        err,
        format!(
            "{}: cannot read: 67108865 bytes, more than the 64 MiB an eBPF object may have",
            big.display()
        )
    );
    // exactly at the cap: read (and then refused as not ELF)
    f.set_len(MAX_OBJECT_SIZE).unwrap();
    assert_eq!(
        read_object_file(&big).unwrap().len() as u64,
        MAX_OBJECT_SIZE
    );
    std::fs::remove_file(&big).unwrap();
}

#[test]
fn regular_file_loads() {
    let obj = common::compile("ip_dst");
    let bytes = read_object_file(&obj).unwrap();
    assert_eq!(bytes, std::fs::read(&obj).unwrap());
    Program::load_file(&obj, None).unwrap();
}
