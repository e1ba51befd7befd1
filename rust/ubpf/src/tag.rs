// SPDX-License-Identifier: GPL-2.0-or-later

//! Program tags as the kernel computes them, for [`Program::tag`]: what
//! `bpftool prog show` prints as `tag` for a program the kernel loaded.
//!
//! The kernel hashes the instructions it is given by the loader (libbpf:
//! the linked program with its map references relocated), before its
//! verifier rewrites anything (`bpf_prog_calc_tag()` in
//! `kernel/bpf/core.c`).  Map file descriptors change from load to load,
//! so an `lddw` whose `src_reg` is `BPF_PSEUDO_MAP_FD` (1) or
//! `BPF_PSEUDO_MAP_VALUE` (2) is hashed with the immediates of both its
//! halves zeroed; everything else as given.  The tag is the first 8
//! bytes of the digest: SHA-1 until Linux 6.17, SHA-256 since Linux 6.18
//! ([`TagHash`]).
//!
//! SHA-1 and SHA-256 are written out here after FIPS 180-4, for this use
//! only: the tag identifies a program, it is no security measure.
//!
//! [`Program::tag`]: crate::Program::tag

use std::sync::OnceLock;

use crate::check::{INSN_SIZE, LDDW};

/// The digest the kernel takes a program's tag from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TagHash {
    /// SHA-1, Linux 4.10 to 6.17.
    Sha1,
    /// SHA-256, Linux 6.18 and later.
    Sha256,
}

impl TagHash {
    /// The digest of the kernel of release `release` (`uname -r`, such
    /// as `6.18.2-arch1-1`): SHA-256 from 6.18 on, SHA-1 before; SHA-256
    /// (today's kernels) if the release does not start with a version.
    pub fn for_release(release: &str) -> Self {
        let mut parts = release.split('.').map(|p| {
            let digits = p.bytes().take_while(u8::is_ascii_digit).count();
            p[..digits].parse::<u32>().ok()
        });
        match (parts.next().flatten(), parts.next().flatten()) {
            (Some(major), Some(minor)) if (major, minor) < (6, 18) => Self::Sha1,
            _ => Self::Sha256,
        }
    }

    /// The digest of the host's kernel, by its release
    /// ([`TagHash::for_release`]): the tags then equal those `bpftool
    /// prog show` gives on this host.  SHA-256 on other systems.
    pub fn host() -> Self {
        static HOST: OnceLock<TagHash> = OnceLock::new();
        *HOST.get_or_init(|| host_release().map_or(Self::Sha256, |r| Self::for_release(&r)))
    }
}

/// The running kernel's release (`uname -r`).
#[cfg(target_os = "linux")]
fn host_release() -> Option<String> {
    // SAFETY: utsname is plain data (arrays of char); zeroed is valid.
    let mut name: libc::utsname = unsafe { std::mem::zeroed() };
    // SAFETY: `name` is a valid, writable utsname.
    if unsafe { libc::uname(std::ptr::from_mut(&mut name)) } != 0 {
        return None;
    }
    // SAFETY: uname() NUL-terminates the fields of a successful call.
    let release = unsafe { std::ffi::CStr::from_ptr(name.release.as_ptr()) };
    release.to_str().ok().map(str::to_owned)
}

#[cfg(not(target_os = "linux"))]
fn host_release() -> Option<String> {
    None
}

/// The tag of `insns` (linked eBPF instructions, map references with
/// their `src_reg` set as the loader sets them): the first 8 bytes of
/// `hash` over the instructions with the immediates of map `lddw`s
/// zeroed, as the kernel has it.
pub fn kernel_tag(insns: &[u8], hash: TagHash) -> [u8; 8] {
    let mut code = insns.to_vec();
    // the kernel clears the first half of a map lddw, then the second
    // half if the next instruction looks like one (all but imm zero)
    let mut in_lddw = false;
    for insn in code.chunks_exact_mut(INSN_SIZE) {
        let src = insn[1] >> 4;
        let second_half = insn[0] == 0 && insn[1] == 0 && insn[2] == 0 && insn[3] == 0;
        if !in_lddw && insn[0] == LDDW && (src == 1 || src == 2) {
            in_lddw = true;
            insn[4..8].fill(0);
        } else if in_lddw && second_half {
            in_lddw = false;
            insn[4..8].fill(0);
        } else {
            in_lddw = false;
        }
    }
    let mut tag = [0u8; 8];
    match hash {
        TagHash::Sha1 => tag.copy_from_slice(&sha1(&code)[..8]),
        TagHash::Sha256 => tag.copy_from_slice(&sha256(&code)[..8]),
    }
    tag
}

/// Feed `data` to `compress` in 64-byte blocks, padded as SHA-1 and
/// SHA-256 pad a message (FIPS 180-4, 5.1.1): a one bit, zeros, then the
/// length in bits as a big-endian 64-bit number.
fn blocks(data: &[u8], mut compress: impl FnMut(&[u8])) {
    let mut chunks = data.chunks_exact(64);
    for block in &mut chunks {
        compress(block);
    }
    let rest = chunks.remainder();
    let mut tail = [0u8; 128];
    tail[..rest.len()].copy_from_slice(rest);
    tail[rest.len()] = 0x80;
    let end = if rest.len() < 56 { 64 } else { 128 };
    let bits = (data.len() as u64).wrapping_mul(8);
    tail[end - 8..end].copy_from_slice(&bits.to_be_bytes());
    for block in tail[..end].chunks_exact(64) {
        compress(block);
    }
}

/// The 16 big-endian words of a 64-byte block.
fn words(block: &[u8]) -> [u32; 16] {
    let mut w = [0u32; 16];
    for (x, b) in w.iter_mut().zip(block.chunks_exact(4)) {
        *x = u32::from_be_bytes([b[0], b[1], b[2], b[3]]);
    }
    w
}

/// The digest bytes of hash state `h` (big-endian words).
fn digest<const N: usize, const B: usize>(h: [u32; N]) -> [u8; B] {
    let mut out = [0u8; B];
    for (chunk, x) in out.chunks_exact_mut(4).zip(h) {
        chunk.copy_from_slice(&x.to_be_bytes());
    }
    out
}

/// SHA-1 (FIPS 180-4, 6.1).
pub fn sha1(data: &[u8]) -> [u8; 20] {
    let mut h: [u32; 5] = [
        0x6745_2301,
        0xefcd_ab89,
        0x98ba_dcfe,
        0x1032_5476,
        0xc3d2_e1f0,
    ];
    blocks(data, |block| {
        let mut w = [0u32; 80];
        w[..16].copy_from_slice(&words(block));
        for i in 16..80 {
            w[i] = (w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16]).rotate_left(1);
        }
        let [mut a, mut b, mut c, mut d, mut e] = h;
        for (i, wi) in w.iter().enumerate() {
            let (f, k) = match i {
                0..=19 => ((b & c) | (!b & d), 0x5a82_7999),
                20..=39 => (b ^ c ^ d, 0x6ed9_eba1),
                40..=59 => ((b & c) | (b & d) | (c & d), 0x8f1b_bcdc),
                _ => (b ^ c ^ d, 0xca62_c1d6),
            };
            let t = a
                .rotate_left(5)
                .wrapping_add(f)
                .wrapping_add(e)
                .wrapping_add(k)
                .wrapping_add(*wi);
            e = d;
            d = c;
            c = b.rotate_left(30);
            b = a;
            a = t;
        }
        for (x, y) in h.iter_mut().zip([a, b, c, d, e]) {
            *x = x.wrapping_add(y);
        }
    });
    digest(h)
}

/// The SHA-256 round constants (FIPS 180-4, 4.2.2): the first 32 bits of
/// the fractional parts of the cube roots of the first 64 primes.
const SHA256_K: [u32; 64] = [
    0x428a_2f98,
    0x7137_4491,
    0xb5c0_fbcf,
    0xe9b5_dba5,
    0x3956_c25b,
    0x59f1_11f1,
    0x923f_82a4,
    0xab1c_5ed5,
    0xd807_aa98,
    0x1283_5b01,
    0x2431_85be,
    0x550c_7dc3,
    0x72be_5d74,
    0x80de_b1fe,
    0x9bdc_06a7,
    0xc19b_f174,
    0xe49b_69c1,
    0xefbe_4786,
    0x0fc1_9dc6,
    0x240c_a1cc,
    0x2de9_2c6f,
    0x4a74_84aa,
    0x5cb0_a9dc,
    0x76f9_88da,
    0x983e_5152,
    0xa831_c66d,
    0xb003_27c8,
    0xbf59_7fc7,
    0xc6e0_0bf3,
    0xd5a7_9147,
    0x06ca_6351,
    0x1429_2967,
    0x27b7_0a85,
    0x2e1b_2138,
    0x4d2c_6dfc,
    0x5338_0d13,
    0x650a_7354,
    0x766a_0abb,
    0x81c2_c92e,
    0x9272_2c85,
    0xa2bf_e8a1,
    0xa81a_664b,
    0xc24b_8b70,
    0xc76c_51a3,
    0xd192_e819,
    0xd699_0624,
    0xf40e_3585,
    0x106a_a070,
    0x19a4_c116,
    0x1e37_6c08,
    0x2748_774c,
    0x34b0_bcb5,
    0x391c_0cb3,
    0x4ed8_aa4a,
    0x5b9c_ca4f,
    0x682e_6ff3,
    0x748f_82ee,
    0x78a5_636f,
    0x84c8_7814,
    0x8cc7_0208,
    0x90be_fffa,
    0xa450_6ceb,
    0xbef9_a3f7,
    0xc671_78f2,
];

/// SHA-256 (FIPS 180-4, 6.2).
pub fn sha256(data: &[u8]) -> [u8; 32] {
    // the first 32 bits of the fractional parts of the square roots of
    // the first 8 primes (FIPS 180-4, 5.3.3)
    let mut h: [u32; 8] = [
        0x6a09_e667,
        0xbb67_ae85,
        0x3c6e_f372,
        0xa54f_f53a,
        0x510e_527f,
        0x9b05_688c,
        0x1f83_d9ab,
        0x5be0_cd19,
    ];
    blocks(data, |block| {
        let mut w = [0u32; 64];
        w[..16].copy_from_slice(&words(block));
        for i in 16..64 {
            let s0 = w[i - 15].rotate_right(7) ^ w[i - 15].rotate_right(18) ^ (w[i - 15] >> 3);
            let s1 = w[i - 2].rotate_right(17) ^ w[i - 2].rotate_right(19) ^ (w[i - 2] >> 10);
            w[i] = w[i - 16]
                .wrapping_add(s0)
                .wrapping_add(w[i - 7])
                .wrapping_add(s1);
        }
        let [mut a, mut b, mut c, mut d, mut e, mut f, mut g, mut hh] = h;
        for (wi, ki) in w.iter().zip(SHA256_K) {
            let s1 = e.rotate_right(6) ^ e.rotate_right(11) ^ e.rotate_right(25);
            let ch = (e & f) ^ (!e & g);
            let t1 = hh
                .wrapping_add(s1)
                .wrapping_add(ch)
                .wrapping_add(ki)
                .wrapping_add(*wi);
            let s0 = a.rotate_right(2) ^ a.rotate_right(13) ^ a.rotate_right(22);
            let maj = (a & b) ^ (a & c) ^ (b & c);
            let t2 = s0.wrapping_add(maj);
            hh = g;
            g = f;
            f = e;
            e = d.wrapping_add(t1);
            d = c;
            c = b;
            b = a;
            a = t1.wrapping_add(t2);
        }
        for (x, y) in h.iter_mut().zip([a, b, c, d, e, f, g, hh]) {
            *x = x.wrapping_add(y);
        }
    });
    digest(h)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(b: &[u8]) -> String {
        b.iter().map(|x| format!("{x:02x}")).collect()
    }

    /// Test data of `n` bytes, the same as the vectors below were made
    /// from (Python's hashlib).
    fn pattern(n: usize) -> Vec<u8> {
        (0..n).map(|i| (i * 7 + 3) as u8).collect()
    }

    #[test]
    fn sha1_vectors() {
        assert_eq!(hex(&sha1(b"")), "da39a3ee5e6b4b0d3255bfef95601890afd80709");
        assert_eq!(
            hex(&sha1(b"abc")),
            "a9993e364706816aba3e25717850c26c9cd0d89d"
        );
        let long = b"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
        assert_eq!(hex(&sha1(long)), "84983e441c3bd26ebaae4aa1f95129e5e54670f1");
        assert_eq!(
            hex(&sha1(&[b'a'; 1_000_000])),
            "34aa973cd4c4daa4f61eeb2bdbad27316534016f"
        );
    }

    #[test]
    fn sha256_vectors() {
        assert_eq!(
            hex(&sha256(b"")),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        assert_eq!(
            hex(&sha256(b"abc")),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        let long = b"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
        assert_eq!(
            hex(&sha256(long)),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"
        );
        assert_eq!(
            hex(&sha256(&[b'a'; 1_000_000])),
            "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0"
        );
    }

    /// Lengths around the padding's block boundaries (55/56: the length
    /// still fits the last block or not; 64, 119/120, 128).
    #[test]
    fn padding_boundaries() {
        let vectors: &[(usize, &str, &str)] = &[
            (
                1,
                "9842926af7ca0a8cca12604f945414f07b01e13d",
                "084fed08b978af4d7d196a7446a86b58009e636b611db16211b65a9aadff29c5",
            ),
            (
                55,
                "ddf57317ef34bfee3b6df83d359098930eb278bc",
                "e7313d333c272e639f790978283f9eb392e843d0f29b7016828bb1daa4aac70b",
            ),
            (
                56,
                "a0d492bb0fc889d0eca3bc137066ab6f4f74f369",
                "4324d65f3c103567f5589c710bc08f8523f929a9272e3af36fc968e52abc6c27",
            ),
            (
                63,
                "c55856749bef509bdfe6bfebfc7bf4e793e82132",
                "81c80242132f230c3bd41b3e63bbcff16107339549214a99614ff26664625055",
            ),
            (
                64,
                "bede92be29c3874e1b54ddc77988d606fc857a8e",
                "39e3d7b6b5d075d37d053ad89b24b41bef4f3c29760c84447cab3f3be1882241",
            ),
            (
                65,
                "b05a80522b053d6dc7e0a517d0e70212c7dad11f",
                "aacca6ff74fdbb296d165a45cecfa04e5127bc008770fbbdd48006f2d2fae95e",
            ),
            (
                119,
                "504e27376a6e0f0dba8295b85cb25dc4dfa17d23",
                "9ce7368e4daf32341631b492e80359dc9f594b48453cd0dd5bf0b19279cc177e",
            ),
            (
                120,
                "82134b02fb3f702491be9bed581eeab59334acb2",
                "7836b787757e95e58b3ca5aec90b1b004e8deba1e50e9675af9cabf1a13a04b5",
            ),
            (
                128,
                "a09133e6730ffe899efb70204cb5646cd5dc24ee",
                "d2742f1f4ac6bb7ca2b239ee18402ba8b3f9f8e652d2a72973c2b9ba11c08cf6",
            ),
            (
                1000,
                "4231a8a50a10fa9758db8ec71fdef855b751048a",
                "1e9bc38cbf860b9ec31918b065f9b52476c549a782e0e7990bed8ce3868d2371",
            ),
        ];
        for &(n, s1, s256) in vectors {
            let data = pattern(n);
            assert_eq!(hex(&sha1(&data)), s1, "SHA-1 of {n} bytes");
            assert_eq!(hex(&sha256(&data)), s256, "SHA-256 of {n} bytes");
        }
    }

    #[test]
    fn releases() {
        for (release, hash) in [
            ("6.18.44-fc-v595", TagHash::Sha256),
            ("6.18", TagHash::Sha256),
            ("6.18.0-rc1", TagHash::Sha256),
            ("7.0.1", TagHash::Sha256),
            ("6.17.13+deb13-amd64", TagHash::Sha1),
            ("6.1.0-31-amd64", TagHash::Sha1),
            ("5.15.0-91-generic", TagHash::Sha1),
            ("4.19.0", TagHash::Sha1),
            ("", TagHash::Sha256),
            ("weird", TagHash::Sha256),
        ] {
            assert_eq!(TagHash::for_release(release), hash, "{release}");
        }
    }

    /// The immediates of map lddws (`src_reg` 1 or 2) do not count, those
    /// of other instructions do; a second half that does not look like
    /// one keeps its immediate, as in the kernel.
    #[test]
    fn map_immediates_ignored() {
        let lddw = |src: u8, lo: u32, hi: u32| {
            let mut v = vec![LDDW, 1 | (src << 4), 0, 0];
            v.extend_from_slice(&lo.to_le_bytes());
            v.extend_from_slice(&[0, 0, 0, 0]);
            v.extend_from_slice(&hi.to_le_bytes());
            v
        };
        let exit = [0x95u8, 0, 0, 0, 0, 0, 0, 0];
        let prog = |l: Vec<u8>| [l, exit.to_vec()].concat();
        let digest8 = |hash: TagHash, data: &[u8]| {
            let d = match hash {
                TagHash::Sha1 => sha1(data).to_vec(),
                TagHash::Sha256 => sha256(data).to_vec(),
            };
            <[u8; 8]>::try_from(&d[..8]).unwrap()
        };
        for hash in [TagHash::Sha1, TagHash::Sha256] {
            for src in [1, 2] {
                // hashed with both immediates zeroed
                assert_eq!(
                    kernel_tag(&prog(lddw(src, 7, 40)), hash),
                    digest8(hash, &prog(lddw(src, 0, 0))),
                    "src_reg {src}"
                );
            }
            assert_eq!(
                kernel_tag(&prog(lddw(0, 7, 40)), hash),
                digest8(hash, &prog(lddw(0, 7, 40)))
            );
            // a plain 64-bit constant counts
            assert_ne!(
                kernel_tag(&prog(lddw(0, 3, 0)), hash),
                kernel_tag(&prog(lddw(0, 7, 0)), hash)
            );
            // so does the kind of reference: a map or a map value
            assert_ne!(
                kernel_tag(&prog(lddw(1, 3, 0)), hash),
                kernel_tag(&prog(lddw(2, 3, 0)), hash)
            );
            // a broken second half keeps its immediate
            let mut odd = lddw(1, 3, 5);
            odd[9] = 1;
            let mut odd2 = odd.clone();
            odd2[12] = 6;
            assert_ne!(kernel_tag(&prog(odd), hash), kernel_tag(&prog(odd2), hash));
        }
        assert_ne!(
            kernel_tag(&exit, TagHash::Sha1),
            kernel_tag(&exit, TagHash::Sha256)
        );
    }
}
