// SPDX-License-Identifier: GPL-2.0-or-later

//! Ring buffer and perf event records against the kernel's: one program
//! (`tests/data/ubpf/kernel_ringbuf.bpf.c`) runs on the same frames in the
//! kernel (`BPF_PROG_TEST_RUN`) and in the engine; the helpers' return
//! values (`bpf_ringbuf_output`, `_reserve`, `_submit`, `_discard`,
//! `_query`) and the records the host reads must be the same.  The
//! kernel's records are read the way libbpf's consumer does: the map's
//! consumer page, producer page and data pages mapped with `mmap()`, the
//! record headers walked from the consumer position, and the consumer
//! position written back.  The engine's records come from
//! [`ubpf::Map::pop_record`], what filter-ubpf reports to QMP.
//!
//! `bpf_perf_event_output` (`tests/data/ubpf/kernel_perf.bpf.c`) the
//! same way: the kernel's records come from a `PERF_COUNT_SW_BPF_OUTPUT`
//! event opened for the CPU the test runs are pinned to, its buffer
//! mapped and its samples' raw data read (which the kernel pads to 8
//! bytes with the size before it); the engine has one CPU, so this
//! needs the runs on CPU 0.
//!
//! Skipped, with a message, where `bpf()` does not work (not root, or no
//! BPF in the kernel).

mod common;

use common::kernel::{self, KernelMap, KernelProg, ProgType};
use ubpf::{Engine, Packet, PacketMeta, Program, Trust, VerifyOptions, Vm, VmOptions};

const BUSY: u32 = 1 << 31;
const DISCARD: u32 = 1 << 30;
const HDR: u64 = 8;

/// A kernel ring buffer's memory, as a consumer maps it.
struct KernelRing {
    /// The consumer page (read-write).
    cons: *mut u8,
    /// The producer page, then the data pages mapped twice (read-only).
    prod: *mut u8,
    page: usize,
    size: usize,
}

impl KernelRing {
    fn new(map: &KernelMap) -> Self {
        use std::os::fd::AsRawFd;
        // SAFETY: sysconf has no preconditions.
        let page = usize::try_from(unsafe { libc::sysconf(libc::_SC_PAGESIZE) }).unwrap();
        let size = map.def.max_entries as usize;
        let fd = map.fd().as_raw_fd();
        // SAFETY: FFI edge: a new shared mapping of the map's consumer
        // page, which the kernel allows read-write.
        let cons = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                page,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_SHARED,
                fd,
                0,
            )
        };
        assert_ne!(cons, libc::MAP_FAILED, "mmap of the consumer page");
        // SAFETY: FFI edge: the producer page and the data pages (twice),
        // read-only, from the map's second page on.
        let prod = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                page + 2 * size,
                libc::PROT_READ,
                libc::MAP_SHARED,
                fd,
                libc::off_t::try_from(page).unwrap(),
            )
        };
        assert_ne!(
            prod,
            libc::MAP_FAILED,
            "mmap of the producer and data pages"
        );
        Self {
            cons: cons.cast(),
            prod: prod.cast(),
            page,
            size,
        }
    }

    fn consumer_pos(&self) -> u64 {
        // SAFETY: the consumer position is the first u64 of its page.
        unsafe { std::ptr::read_volatile(self.cons.cast::<u64>()) }
    }

    fn producer_pos(&self) -> u64 {
        // SAFETY: the producer position is the first u64 of its page.
        unsafe { std::ptr::read_volatile(self.prod.cast::<u64>()) }
    }

    /// `len` bytes at ring position `pos` (contiguous: the data pages are
    /// mapped twice).
    fn bytes(&self, pos: u64, len: usize) -> Vec<u8> {
        let off = usize::try_from(pos).unwrap() & (self.size - 1);
        assert!(off + len <= 2 * self.size);
        // SAFETY: within the two mappings of the data pages, checked above.
        unsafe { std::slice::from_raw_parts(self.prod.add(self.page + off), len) }.to_vec()
    }

    /// Every submitted record, oldest first; the consumer position is
    /// moved past them (and past discarded records), as libbpf does.
    fn drain(&self) -> Vec<Vec<u8>> {
        let mut out = Vec::new();
        let mut pos = self.consumer_pos();
        let prod = self.producer_pos();
        while pos < prod {
            let hdr = self.bytes(pos, 4);
            let h = u32::from_le_bytes([hdr[0], hdr[1], hdr[2], hdr[3]]);
            if h & BUSY != 0 {
                break;
            }
            let len = h & !(BUSY | DISCARD);
            if h & DISCARD == 0 {
                out.push(self.bytes(pos + HDR, len as usize));
            }
            pos += (HDR + u64::from(len)).next_multiple_of(8);
        }
        // SAFETY: the consumer position is the first u64 of its page,
        // which is mapped writable.
        unsafe {
            std::ptr::write_volatile(self.cons.cast::<u64>(), pos);
        }
        out
    }
}

impl Drop for KernelRing {
    fn drop(&mut self) {
        // SAFETY: the mappings made in new(), with their sizes.
        unsafe {
            libc::munmap(self.cons.cast(), self.page);
            libc::munmap(self.prod.cast(), self.page + 2 * self.size);
        }
    }
}

/// The program in the kernel and in one of the engine's VMs.
struct Both {
    ours: Vm,
    kern: KernelProg,
    ring: KernelRing,
    steps: usize,
}

/// A frame for the program: Ethernet header, `op`, `arg`, 32 bytes of
/// data (`seed`, `seed + 1`, ...).
fn frame(op: u8, arg: u8, seed: u8) -> Vec<u8> {
    let mut f = vec![
        0x52, 0x54, 0, 0x12, 0x34, 0x56, 0x52, 0x54, 0, 0xab, 0xcd, 0xef, 0x08, 0x00,
    ];
    f.push(op);
    f.push(arg);
    f.extend((0..32).map(|i| seed.wrapping_add(i)));
    f
}

/// `name`.bpf.c loaded into the kernel and into one of the engine's VMs
/// as an XDP program; `None` when `bpf()` is not available.
fn load_both(name: &str, engine: &str) -> Option<(Vm, KernelProg)> {
    let obj = common::compile(name);
    let mut prog = Program::load_file(&obj, None).unwrap_or_else(|e| panic!("{e}"));
    prog.set_prog_type(ubpf::ProgType::Xdp);
    let kern = match kernel::load(&prog, ProgType::Xdp)? {
        Ok(k) => k,
        Err(r) => panic!("the kernel refuses the program: {}\n{}", r.reason(), r.log),
    };
    let convention = prog.prog_type().convention();
    let proof = ubpf::verify(
        &prog,
        &VerifyOptions {
            convention,
            min_len: 0,
        },
    )
    .unwrap_or_else(|e| panic!("our verifier refuses the program: {e}"));
    let run = if engine == "jit" {
        Engine::Jit(Trust::Verified(proof.clone()))
    } else {
        Engine::Interpreter
    };
    let opts = VmOptions {
        convention,
        proof: Some(proof),
    };
    let ours = Vm::with_options(prog, run, opts).unwrap_or_else(|e| panic!("{e}"));
    Some((ours, kern))
}

/// Run `f` in both; the return values must be the same.
fn run_both(ours: &mut Vm, kern: &KernelProg, f: &[u8], what: &str) -> u32 {
    let k = kern
        .test_run(f)
        .unwrap_or_else(|e| panic!("BPF_PROG_TEST_RUN: {e}"));
    let mut pkt = Packet::new(f);
    let meta = PacketMeta {
        ingress_ifindex: 1,
        ..PacketMeta::default()
    };
    let r = ours
        .run_packet(&mut pkt, &meta)
        .unwrap_or_else(|e| panic!("engine: {e}"))
        .r0;
    assert_eq!(
        r as u32, k.retval,
        "{what}: engine {:#x}, kernel {:#x}",
        r as u32, k.retval
    );
    k.retval
}

impl Both {
    fn new(engine: &str) -> Option<Self> {
        let (ours, kern) = load_both("kernel_ringbuf", engine)?;
        let ring = KernelRing::new(&kern.maps[0]);
        Some(Self {
            ours,
            kern,
            ring,
            steps: 0,
        })
    }

    /// Run one frame in both; the return values must be the same.
    fn step(&mut self, op: u8, arg: u8, seed: u8) -> u32 {
        self.steps += 1;
        let what = format!("step {} (op {op}, arg {arg})", self.steps);
        run_both(&mut self.ours, &self.kern, &frame(op, arg, seed), &what)
    }

    /// `bpf_ringbuf_query` of every kind: the same in both.
    fn same_query(&mut self, what: &str) -> [u32; 4] {
        let mut q = [0; 4];
        for (i, v) in q.iter_mut().enumerate() {
            *v = self.step(7, u8::try_from(i).unwrap(), 0);
        }
        let prod = self.ring.producer_pos() as u32;
        assert_eq!(
            q[3], prod,
            "{what}: BPF_RB_PROD_POS against the mapped page"
        );
        q
    }

    /// Read the records of both: the same, in the same order.
    fn same_records(&self, what: &str) -> usize {
        let k = self.ring.drain();
        let map = self.ours.map("rb").expect("the ring buffer map");
        let e = map.drain_records();
        assert_eq!(e, k, "{what}: records");
        k.len()
    }
}

fn both(engine: &str) -> Option<Both> {
    let b = Both::new(engine);
    if b.is_none() {
        eprintln!("skipped: bpf() is not available (not root, or no BPF)");
    }
    b
}

const ENGINES: [&str; 2] = ["interpreter", "jit"];

#[test]
fn ringbuf_helpers_like_the_kernel() {
    for engine in ENGINES {
        let Some(mut b) = both(engine) else {
            return;
        };
        assert_eq!(b.same_query("empty"), [0, 4096, 0, 0]);
        // bpf_ringbuf_output of 0..31 bytes
        for n in 0..32 {
            assert_eq!(b.step(0, n, n), 0);
        }
        // flags: BPF_RB_NO_WAKEUP, BPF_RB_FORCE_WAKEUP, both, unknown
        for flags in [1, 2, 3, 4, 0x80] {
            b.step(1, flags, 0x40 + flags);
        }
        // reserve, submit; reserve, discard; two reserved at once
        assert_eq!(b.step(2, 0, 0x60), 0);
        assert_eq!(b.step(3, 0, 0x70), 0);
        assert_eq!(b.step(4, 0, 0x80), 0);
        assert_eq!(b.step(4, 1, 0x90), 0);
        // reserve with flags: NULL; a record larger than the ring: NULL
        assert_eq!(b.step(5, 1, 0), (-2i32) as u32);
        assert_eq!(b.step(6, 0, 0), (-2i32) as u32);
        let q = b.same_query("after the writes");
        assert_eq!(q[0], q[3], "nothing consumed yet");
        let n = b.same_records("after the writes");
        assert_eq!(n, 32 + 3 + 1 + 2 + 1, "outputs, valid flags, reserves");
        let after = b.same_query("consumed");
        assert_eq!(
            (after[0], after[2]),
            (0, after[3]),
            "consumed up to the producer"
        );
    }
}

#[test]
fn ringbuf_full_and_wrapping_like_the_kernel() {
    for engine in ENGINES {
        let Some(mut b) = both(engine) else {
            return;
        };
        // records of each size until the ring is full, then drained;
        // the positions go on past the end of the ring
        for n in [8u8, 16, 31, 0, 5] {
            let mut written = 0;
            loop {
                let r = b.step(0, n, written as u8);
                if r != 0 {
                    assert_eq!(r, (-11i32) as u32, "full: -EAGAIN");
                    break;
                }
                written += 1;
                assert!(written < 1000, "the ring never fills");
            }
            assert_eq!(b.step(2, 0, 1), (-2i32) as u32, "full: reserve fails");
            let what = format!("{n}-byte records");
            b.same_query(&what);
            assert_eq!(b.same_records(&what), written);
            b.same_query(&what);
        }
        // a mix, drained now and then: records wrap around the ring's end
        let mut rng = common::Rng::new(3);
        for i in 0..600u32 {
            let op = rng.pick(&[0, 0, 0, 2, 3, 4]);
            b.step(op, rng.pick(&[0, 1, 7, 8, 9, 24, 31]), i as u8);
            if rng.below(40) == 0 {
                b.same_records(&format!("mix, step {i}"));
                b.same_query(&format!("mix, step {i}"));
            }
        }
        b.same_records("mix, end");
        b.same_query("mix, end");
    }
}

// ---------------------------------------------------------- perf events

const PERF_TYPE_SOFTWARE: u32 = 1;
const PERF_COUNT_SW_BPF_OUTPUT: u64 = 10;
const PERF_SAMPLE_RAW: u64 = 1 << 10;
const PERF_RECORD_SAMPLE: u32 = 9;
const PERF_FLAG_FD_CLOEXEC: libc::c_ulong = 8;
/// Data pages of the perf buffer (a power of two).
const PERF_PAGES: usize = 8;

/// A `PERF_COUNT_SW_BPF_OUTPUT` event of one CPU and its buffer, mapped
/// as libbpf's perf buffer does.
struct KernelPerf {
    fd: std::os::fd::OwnedFd,
    base: *mut u8,
    page: usize,
}

impl KernelPerf {
    fn open(cpu: usize) -> Result<Self, String> {
        use std::os::fd::FromRawFd;
        // struct perf_event_attr: type, size, config, sample_period,
        // sample_type, read_format, flags, wakeup_events (the rest zero)
        let mut attr = [0u8; 128];
        attr[0..4].copy_from_slice(&PERF_TYPE_SOFTWARE.to_ne_bytes());
        attr[4..8].copy_from_slice(&128u32.to_ne_bytes());
        attr[8..16].copy_from_slice(&PERF_COUNT_SW_BPF_OUTPUT.to_ne_bytes());
        attr[16..24].copy_from_slice(&1u64.to_ne_bytes());
        attr[24..32].copy_from_slice(&PERF_SAMPLE_RAW.to_ne_bytes());
        attr[48..52].copy_from_slice(&1u32.to_ne_bytes());
        // SAFETY: FFI edge: `attr` is a perf_event_attr of the size it
        // gives; pid -1 with a cpu: every task on that CPU.
        let fd = unsafe {
            libc::syscall(
                libc::SYS_perf_event_open,
                attr.as_ptr(),
                -1,
                i32::try_from(cpu).unwrap_or(0),
                -1,
                PERF_FLAG_FD_CLOEXEC,
            )
        };
        if fd < 0 {
            return Err(format!(
                "perf_event_open: {}",
                std::io::Error::last_os_error()
            ));
        }
        // SAFETY: sysconf has no preconditions.
        let page = usize::try_from(unsafe { libc::sysconf(libc::_SC_PAGESIZE) }).unwrap();
        // SAFETY: the new fd is ours alone.
        let fd = unsafe { std::os::fd::OwnedFd::from_raw_fd(i32::try_from(fd).unwrap()) };
        // SAFETY: FFI edge: the control page and the data pages, shared.
        let base = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                page * (1 + PERF_PAGES),
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_SHARED,
                std::os::fd::AsRawFd::as_raw_fd(&fd),
                0,
            )
        };
        if base == libc::MAP_FAILED {
            return Err(format!("mmap: {}", std::io::Error::last_os_error()));
        }
        Ok(Self {
            fd,
            base: base.cast(),
            page,
        })
    }

    /// A u64 of the control page (`struct perf_event_mmap_page`).
    fn control(&self, off: usize) -> *mut u64 {
        // SAFETY: within the control page.
        unsafe { self.base.add(off) }.cast()
    }

    /// Byte `pos` of the data pages (a ring).
    fn byte(&self, pos: u64) -> u8 {
        let size = self.page * PERF_PAGES;
        let off = usize::try_from(pos).unwrap() % size;
        // SAFETY: within the data pages, which follow the control page.
        unsafe { *self.base.add(self.page + off) }
    }

    fn bytes(&self, pos: u64, len: usize) -> Vec<u8> {
        (0..len as u64).map(|i| self.byte(pos + i)).collect()
    }

    /// The raw data of every sample since the last call (`data_head` at
    /// 1024, `data_tail` at 1032 of the control page).
    fn drain(&self) -> Vec<Vec<u8>> {
        // SAFETY: data_head and data_tail of the control page.
        let head = unsafe { std::ptr::read_volatile(self.control(1024)) };
        // SAFETY: as above.
        let mut tail = unsafe { std::ptr::read_volatile(self.control(1032)) };
        let mut out = Vec::new();
        while tail < head {
            let h = self.bytes(tail, 8);
            let kind = u32::from_ne_bytes([h[0], h[1], h[2], h[3]]);
            let size = u16::from_ne_bytes([h[6], h[7]]);
            assert_eq!(kind, PERF_RECORD_SAMPLE, "only samples (no lost records)");
            let raw = self.bytes(tail + 8, 4);
            let raw = u32::from_ne_bytes([raw[0], raw[1], raw[2], raw[3]]);
            out.push(self.bytes(tail + 12, raw as usize));
            tail += u64::from(size);
        }
        // SAFETY: data_tail, which the consumer writes.
        unsafe {
            std::ptr::write_volatile(self.control(1032), tail);
        }
        out
    }
}

impl Drop for KernelPerf {
    fn drop(&mut self) {
        // SAFETY: the mapping made in open(), with its size.
        unsafe {
            libc::munmap(self.base.cast(), self.page * (1 + PERF_PAGES));
        }
    }
}

#[test]
fn perf_event_output_like_the_kernel() {
    for engine in ENGINES {
        let Some((mut ours, kern)) = load_both("kernel_perf", engine) else {
            eprintln!("skipped: bpf() is not available (not root, or no BPF)");
            return;
        };
        if kern.cpu() != 0 {
            // the engine has one CPU, 0: the kernel's current CPU must be it
            eprintln!("skipped: the test runs are not on CPU 0");
            return;
        }
        let map = ours.map_handle("perf").expect("the perf event array");
        let mut run = |op: u8, arg: u8, seed: u8| {
            run_both(
                &mut ours,
                &kern,
                &frame(op, arg, seed),
                &format!("op {op} arg {arg}"),
            )
        };
        // no perf event in the map yet: -ENOENT
        assert_eq!(run(0, 8, 0), (-2i32) as u32);
        let perf = match KernelPerf::open(0) {
            Ok(p) => p,
            Err(e) => {
                eprintln!("skipped: {e}");
                return;
            }
        };
        use std::os::fd::AsFd;
        kern.set_fd(0, 0, perf.fd.as_fd())
            .unwrap_or_else(|e| panic!("{e}"));
        map.update(&0u32.to_ne_bytes(), &0u32.to_ne_bytes(), 0)
            .unwrap_or_else(|e| panic!("{e}"));
        let mut want_sizes = Vec::new();
        for n in 0..32 {
            assert_eq!(run(0, n, n), 0);
            want_sizes.push(usize::from(n));
        }
        for n in [0, 1, 6, 14, 31] {
            assert_eq!(run(1, n, 0x40 + n), 0);
            want_sizes.push(8 + usize::from(n));
        }
        assert_eq!(run(2, 0, 0x70), 0, "index 0");
        want_sizes.push(8);
        assert_eq!(run(2, 1, 0x71), (-7i32) as u32, "index 1: -E2BIG");
        assert_eq!(run(3, 0, 0), (-14i32) as u32, "ctx longer than the packet");
        assert_eq!(run(4, 0, 0), (-22i32) as u32, "unknown flags");
        let kernel = perf.drain();
        let engine_records = map.drain_records();
        assert_eq!(engine_records.len(), want_sizes.len(), "engine records");
        assert_eq!(kernel.len(), want_sizes.len(), "kernel records");
        for (i, ((e, k), n)) in engine_records
            .iter()
            .zip(&kernel)
            .zip(&want_sizes)
            .enumerate()
        {
            // the kernel pads raw data so that its u32 size and the data
            // end on 8 bytes
            assert_eq!(e.len(), *n, "record {i}: engine size");
            assert_eq!(
                k.len(),
                (n + 4).next_multiple_of(8) - 4,
                "record {i}: kernel size"
            );
            assert_eq!(e[..], k[..*n], "record {i}");
        }
    }
}
