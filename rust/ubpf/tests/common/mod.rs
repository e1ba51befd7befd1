// SPDX-License-Identifier: GPL-2.0-or-later

//! Shared test helpers: compiling the BPF C sources of tests/data/ubpf
//! with clang, crafting packets, a tiny PRNG.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;

use ubpf::{Engine, Program, Trust, VerifyOptions, Vm, VmOptions};

pub mod kernel;
pub mod kernel_map;
pub mod maps;

/// Directory of the BPF C test sources (shared with QEMU's tests).
pub fn data_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/data/ubpf")
}

static COMPILE_LOCK: Mutex<()> = Mutex::new(());

/// Compile `tests/data/ubpf/<name>.bpf.c` with
/// `clang -O2 -g -target bpf -c` (once per test binary) and return the
/// object's path.
pub fn compile(name: &str) -> PathBuf {
    let clang = std::env::var("CLANG").unwrap_or_else(|_| "clang".to_owned());
    compile_with(name, &clang, &[])
}

/// A clang that knows `-mcpu=v4` (LLVM 18 or later): `$CLANG_V4`, else
/// `clang-19`, else `$CLANG` or `clang` if it knows v4.
pub fn clang_v4() -> String {
    let mut candidates: Vec<String> = std::env::var("CLANG_V4").into_iter().collect();
    candidates.push("clang-19".to_owned());
    candidates.push(std::env::var("CLANG").unwrap_or_else(|_| "clang".to_owned()));
    for clang in candidates {
        let ok = Command::new(&clang)
            .args([
                "-target",
                "bpf",
                "-mcpu=v4",
                "-x",
                "c",
                "-c",
                "-o",
                "/dev/null",
                "/dev/null",
            ])
            .stderr(std::process::Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if ok {
            return clang;
        }
    }
    panic!("no clang with -mcpu=v4 (LLVM 18+): install clang-19 (scripts/ubpf/setup-host.sh) or set CLANG_V4");
}

/// [`compile`] with `clang` and extra flags.
pub fn compile_with(name: &str, clang: &str, flags: &[&str]) -> PathBuf {
    let _guard = COMPILE_LOCK
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let out_dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("ubpf-progs");
    std::fs::create_dir_all(&out_dir).expect("create output directory");
    let src = data_dir().join(format!("{name}.bpf.c"));
    // sources in subdirectories (`verifier/xdp_meta`) compile into the
    // output directory itself
    let stem = name.replace('/', "-");
    let obj = out_dir.join(format!("{stem}.{}.bpf.o", std::process::id()));
    if obj.exists() {
        return obj;
    }
    // <asm/types.h> lives in the multiarch include directory
    let multiarch = multiarch(clang);
    let tmp = obj.with_extension("tmp");
    let status = Command::new(clang)
        .args(["-O2", "-g", "-target", "bpf", "-c"])
        .args(flags)
        .arg(format!("-I/usr/include/{multiarch}"))
        .arg("-I")
        .arg(data_dir())
        .arg(&src)
        .arg("-o")
        .arg(&tmp)
        .status()
        .unwrap_or_else(|e| panic!("cannot run {clang}: {e}"));
    assert!(status.success(), "{clang} failed on {}", src.display());
    std::fs::rename(&tmp, &obj).expect("rename object");
    obj
}

/// The multiarch triplet of `clang` (where `<asm/types.h>` lives under
/// /usr/include).
pub fn multiarch(clang: &str) -> String {
    Command::new(clang)
        .arg("-print-multiarch")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "x86_64-linux-gnu".to_owned())
}

/// Load the only program of the compiled `name`.
pub fn load(name: &str) -> Program {
    let obj = compile(name);
    Program::load_file(&obj, None).unwrap_or_else(|e| panic!("{e}"))
}

/// Both engines for `prog`: interpreter and JIT (trusted test programs).
pub fn vms(prog: &Program) -> (Vm, Vm) {
    let int = Vm::new(prog.clone(), Engine::Interpreter).unwrap_or_else(|e| panic!("{e}"));
    let jit = Vm::new(prog.clone(), Engine::Jit(Trust::Trusted)).unwrap_or_else(|e| panic!("{e}"));
    (int, jit)
}

/// The four ways a program runs: interpreter and JIT, with and without
/// a proof.
pub fn engines(prog: &Program) -> Vec<(&'static str, Vm)> {
    let convention = prog.prog_type().convention();
    let opts = VerifyOptions {
        convention,
        min_len: 0,
    };
    let proof = ubpf::verify(prog, &opts).unwrap_or_else(|e| panic!("verify: {e}"));
    let vm = |engine, given| {
        Vm::with_options(
            prog.clone(),
            engine,
            VmOptions {
                convention,
                proof: given,
            },
        )
        .unwrap_or_else(|e| panic!("{e}"))
    };
    vec![
        ("interpreter", vm(Engine::Interpreter, None)),
        (
            "verified interpreter",
            vm(Engine::Interpreter, Some(proof.clone())),
        ),
        ("trusted jit", vm(Engine::Jit(Trust::Trusted), None)),
        (
            "verified jit",
            vm(Engine::Jit(Trust::Verified(proof)), None),
        ),
    ]
}

/// Run `pkt` on both VMs; they must agree; return the verdict.
pub fn verdict(int: &mut Vm, jit: &mut Vm, pkt: &[u8]) -> u64 {
    let mut a = pkt.to_vec();
    let mut b = pkt.to_vec();
    let ri = int
        .run(&mut a)
        .unwrap_or_else(|e| panic!("interpreter: {e}"));
    let rj = jit.run(&mut b).unwrap_or_else(|e| panic!("jit: {e}"));
    assert_eq!(ri, rj, "interpreter and JIT disagree on {pkt:02x?}");
    assert_eq!(a, b, "interpreter and JIT left different packets");
    ri
}

/// Deterministic xorshift64* generator.
/// One instruction's bytes (opcode, registers, offset, immediate).
pub fn insn(code: u8, dst: u8, src: u8, off: i16, imm: i32) -> [u8; 8] {
    let mut b = [0u8; 8];
    b[0] = code;
    b[1] = (src << 4) | (dst & 0x0f);
    b[2..4].copy_from_slice(&off.to_le_bytes());
    b[4..8].copy_from_slice(&imm.to_le_bytes());
    b
}

pub struct Rng(u64);

impl Rng {
    pub const fn new(seed: u64) -> Self {
        Self(seed | 1)
    }

    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n.max(1)
    }

    /// One of `items`, chosen at random.
    pub fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        let n = u64::try_from(items.len()).unwrap_or(1);
        items[usize::try_from(self.below(n)).unwrap_or(0)]
    }

    pub fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.next_u64() as u8).collect()
    }
}

/// IPv4 header (20 bytes, no options) + `l4` payload.
pub fn ipv4(proto: u8, src: [u8; 4], dst: [u8; 4], l4: &[u8]) -> Vec<u8> {
    let total = u16::try_from(20 + l4.len()).unwrap();
    let mut p = vec![0x45, 0, 0, 0, 0, 1, 0x40, 0, 64, proto, 0, 0];
    p[2..4].copy_from_slice(&total.to_be_bytes());
    p.extend_from_slice(&src);
    p.extend_from_slice(&dst);
    p.extend_from_slice(l4);
    p
}

/// IPv6 header (40 bytes, no extension headers) from `src` to `dst`, next
/// header `next`, + `payload`.
pub fn ipv6(next: u8, src: [u8; 16], dst: [u8; 16], payload: &[u8]) -> Vec<u8> {
    let mut p = vec![0x60, 0, 0, 0];
    p.extend_from_slice(&u16::try_from(payload.len()).unwrap().to_be_bytes());
    p.extend_from_slice(&[next, 64]);
    p.extend_from_slice(&src);
    p.extend_from_slice(&dst);
    p.extend_from_slice(payload);
    p
}

/// TCP or UDP header start: source and destination port, zero padded to
/// `len` bytes.
pub fn ports(sport: u16, dport: u16, len: usize) -> Vec<u8> {
    let mut l4 = vec![0u8; len.max(4)];
    l4[0..2].copy_from_slice(&sport.to_be_bytes());
    l4[2..4].copy_from_slice(&dport.to_be_bytes());
    l4
}

/// Ethernet frame with optional VLAN tags (TPIDs) around `payload`.
pub fn ether(ethertype: u16, vlans: &[u16], payload: &[u8]) -> Vec<u8> {
    let mut f = vec![
        0x52, 0x54, 0, 0x12, 0x34, 0x56, 0x52, 0x54, 0, 0xab, 0xcd, 0xef,
    ];
    for tpid in vlans {
        f.extend_from_slice(&tpid.to_be_bytes());
        f.extend_from_slice(&[0x00, 0x05]);
    }
    f.extend_from_slice(&ethertype.to_be_bytes());
    f.extend_from_slice(payload);
    f
}

/// Assemble an `.asm` file: rbpf assembler syntax, one instruction a line
/// (`#` comments), or `raw` and the instruction's 8 bytes in hex for what
/// that assembler does not know (atomics, callx).
pub fn assemble_file(path: &Path) -> Vec<u8> {
    let text = std::fs::read_to_string(path).expect("read asm");
    let mut bytes = Vec::new();
    for line in text
        .lines()
        .map(|l| l.split('#').next().unwrap_or("").trim())
        .filter(|l| !l.is_empty())
    {
        if let Some(hex) = line.strip_prefix("raw ") {
            let hex: String = hex.split_whitespace().collect();
            assert_eq!(hex.len(), 16, "{}: {line}", path.display());
            for k in 0..8 {
                bytes.push(u8::from_str_radix(&hex[2 * k..2 * k + 2], 16).expect("hex"));
            }
            continue;
        }
        let code = rbpf::assembler::assemble(line)
            .unwrap_or_else(|e| panic!("{}: {line}: {e}", path.display()));
        bytes.extend(code.iter().flat_map(|w| w.to_le_bytes()));
    }
    bytes
}
