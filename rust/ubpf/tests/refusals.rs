// SPDX-License-Identifier: GPL-2.0-or-later

//! Every refusal kind, with the location it names.

#![allow(clippy::shadow_unrelated)]

mod common;

use common::{compile, insn};
use object::{Object, ObjectSection};
use ubpf::{Engine, ErrorKind, Program, Vm, MAX_INSNS};

fn object_bytes(name: &str) -> (String, Vec<u8>) {
    let path = compile(name);
    (path.display().to_string(), std::fs::read(&path).unwrap())
}

/// Offset of the section header of `section` in an ELF64 LE object.
fn shdr_offset(elf: &[u8], section: &str) -> usize {
    let file = object::File::parse(elf).unwrap();
    let index = file.section_by_name(section).unwrap().index().0;
    let shoff = u64::from_le_bytes(elf[0x28..0x30].try_into().unwrap());
    let shentsize = u16::from_le_bytes(elf[0x3a..0x3c].try_into().unwrap());
    usize::try_from(shoff).unwrap() + index * usize::from(shentsize)
}

fn prog(insns: &[[u8; 8]]) -> Vec<u8> {
    insns.concat()
}

const EXIT: [u8; 8] = [0x95, 0, 0, 0, 0, 0, 0, 0];
const MOV0: [u8; 8] = [0xb7, 0, 0, 0, 0, 0, 0, 0];

fn bytecode_err(code: &[u8]) -> ubpf::Error {
    Program::from_bytecode(code).expect_err("must be refused")
}

#[test]
fn not_an_elf() {
    let err = Program::load_elf(b"this is not an object file", "junk.o", None).unwrap_err();
    assert!(matches!(err.kind(), ErrorKind::NotElf(_)), "{err:?}");
    assert_eq!(err.origin(), "junk.o");
    assert!(
        err.to_string().starts_with("junk.o: not an ELF object"),
        "{err}"
    );
    let err = Program::load_elf(&[], "empty.o", None).unwrap_err();
    assert!(matches!(err.kind(), ErrorKind::NotElf(_)), "{err:?}");
}

#[test]
fn missing_file() {
    let err = Program::load_file(std::path::Path::new("/nonexistent/prog.o"), None).unwrap_err();
    assert!(matches!(err.kind(), ErrorKind::Io(_)), "{err:?}");
    assert!(
        err.to_string()
            .starts_with("/nonexistent/prog.o: cannot read"),
        "{err}"
    );
}

#[test]
fn wrong_machine() {
    let (origin, mut elf) = object_bytes("arp_only");
    elf[18..20].copy_from_slice(&62u16.to_le_bytes()); // EM_X86_64
    let err = Program::load_elf(&elf, &origin, None).unwrap_err();
    assert_eq!(err.kind(), &ErrorKind::WrongMachine(62));
    assert!(err.to_string().contains("not BPF"), "{err}");
}

#[test]
fn wrong_endianness() {
    let (origin, mut elf) = object_bytes("arp_only");
    elf[5] = 2; // ELFDATA2MSB
    let err = Program::load_elf(&elf, &origin, None).unwrap_err();
    assert_eq!(err.kind(), &ErrorKind::WrongEndianness);
}

#[test]
fn elf32_is_not_accepted() {
    let (origin, mut elf) = object_bytes("arp_only");
    elf[4] = 1; // ELFCLASS32
    let err = Program::load_elf(&elf, &origin, None).unwrap_err();
    assert!(matches!(err.kind(), ErrorKind::NotElf(_)), "{err:?}");
}

#[test]
fn no_program_section() {
    let (origin, mut elf) = object_bytes("arp_only");
    let sh = shdr_offset(&elf, "ubpf");
    elf[sh + 8] &= !0x4; // clear SHF_EXECINSTR
    let err = Program::load_elf(&elf, &origin, None).unwrap_err();
    assert_eq!(err.kind(), &ErrorKind::NoProgram);
    assert!(err.to_string().contains("no program section"), "{err}");
}

#[test]
fn unknown_section_lists_available_ones() {
    let obj = compile("two_progs");
    let err = Program::load_file(&obj, Some("xdp")).unwrap_err();
    match err.kind() {
        ErrorKind::UnknownSection { wanted, available } => {
            assert_eq!(wanted, "xdp");
            assert!(available.contains(&"drop_all".to_owned()));
            assert!(available.contains(&"pass_all".to_owned()));
        }
        k => panic!("unexpected {k:?}"),
    }
    assert_eq!(err.section(), Some("xdp"));
    let msg = err.to_string();
    assert!(msg.contains("section \"xdp\""), "{msg}");
    assert!(
        msg.contains("\"drop_all\"") && msg.contains("\"pass_all\""),
        "{msg}"
    );
}

#[test]
fn section_choice() {
    let obj = compile("two_progs");
    let err = Program::load_file(&obj, None).unwrap_err();
    assert!(
        matches!(err.kind(), ErrorKind::AmbiguousSection { .. }),
        "{err:?}"
    );
    for (section, want) in [("drop_all", 1), ("pass_all", 0)] {
        let prog = Program::load_file(&obj, Some(section)).unwrap();
        assert_eq!(prog.section(), section);
        let mut vm = Vm::new(prog, Engine::Interpreter).unwrap();
        assert_eq!(vm.run(&mut [0u8; 4]), Ok(want));
    }
}

#[test]
fn unsupported_relocation_names_the_instruction() {
    // a map of a type the engine does not provide
    let obj = compile("maps_unsupported");
    let err = Program::load_file(&obj, None).unwrap_err();
    assert!(
        matches!(err.kind(), ErrorKind::UnsupportedRelocation { .. }),
        "{err:?}"
    );
    assert_eq!(err.section(), Some("ubpf"));
    let at = err.insn().expect("instruction index");
    let msg = err.to_string();
    assert!(
        msg.contains(&format!(
            "section \"ubpf\": instruction {at}: unsupported relocation"
        )),
        "{msg}"
    );
    assert!(msg.contains("events"), "{msg}");
}

#[test]
fn truncated_section() {
    let (origin, elf) = object_bytes("arp_only");
    let sh = shdr_offset(&elf, "ubpf");
    // section extends beyond the file
    let mut big = elf.clone();
    big[sh + 32..sh + 40].copy_from_slice(&0x7fff_0000u64.to_le_bytes());
    let err = Program::load_elf(&big, &origin, None).unwrap_err();
    assert!(matches!(err.kind(), ErrorKind::Truncated(_)), "{err:?}");
    assert_eq!(err.section(), Some("ubpf"));
    // size not a multiple of 8
    let mut odd = elf.clone();
    let size = u64::from_le_bytes(odd[sh + 32..sh + 40].try_into().unwrap());
    odd[sh + 32..sh + 40].copy_from_slice(&(size - 4).to_le_bytes());
    let err = Program::load_elf(&odd, &origin, None).unwrap_err();
    assert!(matches!(err.kind(), ErrorKind::Truncated(_)), "{err:?}");
    assert!(err.to_string().contains("section \"ubpf\""), "{err}");
    // the file cut short
    let err = Program::load_elf(&elf[..elf.len() / 2], &origin, None).unwrap_err();
    assert!(
        matches!(err.kind(), ErrorKind::Truncated(_) | ErrorKind::BadElf(_)),
        "{err:?}"
    );
}

#[test]
fn too_many_instructions() {
    let mut code = vec![MOV0; MAX_INSNS];
    code.push(EXIT);
    let err = bytecode_err(&prog(&code));
    assert_eq!(
        err.kind(),
        &ErrorKind::TooManyInstructions {
            count: MAX_INSNS + 1,
            max: MAX_INSNS
        }
    );
    // the limit itself is fine, and the JIT copes with it
    let mut code = vec![MOV0; MAX_INSNS - 1];
    code.push(EXIT);
    let p = Program::from_bytecode(&prog(&code)).unwrap();
    let mut vm = Vm::new(p, Engine::Jit(ubpf::Trust::Trusted)).unwrap();
    assert_eq!(vm.run(&mut []), Ok(0));
}

#[test]
fn empty_and_odd_bytecode() {
    assert!(matches!(bytecode_err(&[]).kind(), ErrorKind::Truncated(_)));
    assert!(matches!(
        bytecode_err(&[0x95, 0, 0, 0]).kind(),
        ErrorKind::Truncated(_)
    ));
}

#[test]
fn checks_name_the_instruction() {
    let cases: Vec<(Vec<u8>, usize, &str)> = vec![
        (
            prog(&[MOV0, insn(0xff, 0, 0, 0, 0), EXIT]),
            1,
            "invalid opcode",
        ),
        (
            prog(&[insn(0xb7, 11, 0, 0, 0), EXIT]),
            0,
            "destination register",
        ),
        (prog(&[insn(0xbf, 0, 12, 0, 0), EXIT]), 0, "source register"),
        (prog(&[insn(0xb7, 10, 0, 0, 0), EXIT]), 0, "r10"),
        (
            prog(&[MOV0, insn(0x05, 0, 0, 5, 0), EXIT]),
            1,
            "jump out of range (target 7, program has 3 instructions)",
        ),
        (
            prog(&[MOV0, insn(0x05, 0, 0, -3, 0), EXIT]),
            1,
            "jump out of range",
        ),
        (
            prog(&[
                insn(0x05, 0, 0, 1, 0),
                insn(0x18, 0, 0, 0, 1),
                insn(0, 0, 0, 0, 0),
                EXIT,
            ]),
            0,
            "middle of lddw",
        ),
        (prog(&[MOV0, insn(0x18, 0, 0, 0, 1)]), 1, "incomplete lddw"),
        (
            // a kernel helper the engine does not provide, named
            prog(&[MOV0, insn(0x85, 0, 0, 0, 49), EXIT]),
            1,
            "helper 49 (bpf_setsockopt), which the engine does not provide",
        ),
        (
            prog(&[MOV0, insn(0x85, 0, 0, 0, 999), EXIT]),
            1,
            "unknown helper 999",
        ),
        (prog(&[MOV0, MOV0]), 1, "past the end"),
        // ISA v3/v4 encodings with invalid fields
        (
            prog(&[MOV0, insn(0xdb, 10, 1, -8, 0x02), EXIT]),
            1,
            "atomic operation: unknown operation",
        ),
        (
            prog(&[MOV0, insn(0xd3, 10, 1, -8, 0), EXIT]),
            1,
            "atomic operation: size must be w or dw",
        ),
        (
            prog(&[MOV0, insn(0xdb, 10, 10, -8, 0x41), EXIT]),
            1,
            "read-only",
        ),
        (
            prog(&[MOV0, insn(0x3f, 0, 1, 2, 0), EXIT]),
            1,
            "offset must be 0 (unsigned) or 1 (signed)",
        ),
        (
            prog(&[MOV0, insn(0xbc, 0, 1, 32, 0), EXIT]),
            1,
            "mov32: offset",
        ),
        (
            prog(&[MOV0, insn(0xb7, 0, 0, 8, 0), EXIT]),
            1,
            "offset must be 0",
        ),
        (
            prog(&[MOV0, insn(0x99, 0, 1, 0, 0), EXIT]),
            1,
            "size must be b, h or w",
        ),
        (
            prog(&[MOV0, insn(0xdf, 0, 0, 0, 16), EXIT]),
            1,
            "bswap: invalid source bit",
        ),
        (
            prog(&[MOV0, insn(0xd7, 0, 0, 0, 8), EXIT]),
            1,
            "byte swap width",
        ),
        (
            prog(&[MOV0, insn(0x06, 0, 0, 0, 100), EXIT]),
            1,
            "jump out of range",
        ),
        (
            prog(&[MOV0, insn(0x06, 0, 0, 1, 0), EXIT]),
            1,
            "gotol: reserved fields",
        ),
        (prog(&[MOV0, insn(0x8d, 0, 1, 0, 0), EXIT]), 1, "callx"),
        (
            prog(&[MOV0, insn(0x18, 1, 1, 0, 3), insn(0, 0, 0, 0, 0), EXIT]),
            1,
            "maps are not supported",
        ),
        // recursion: main calls f at 2, f calls itself
        (
            prog(&[insn(0x85, 0, 1, 0, 1), EXIT, insn(0x85, 0, 1, 0, -1), EXIT]),
            2,
            "recursive",
        ),
    ];
    for (code, at, what) in cases {
        let err = bytecode_err(&code);
        assert_eq!(err.insn(), Some(at), "{err}");
        let msg = err.to_string();
        assert!(
            msg.starts_with(&format!("<bytecode>: instruction {at}: ")),
            "{msg}"
        );
        assert!(msg.contains(what), "{msg} (wanted {what:?})");
    }
}

#[test]
fn unverified_loops_never_run() {
    // A backward jump loads (the verifier may prove the loop bounded) but
    // runs only with a proof.
    let p = Program::from_bytecode(&prog(&[MOV0, insn(0x15, 0, 0, -2, 0), EXIT])).unwrap();
    assert!(p.has_back_edges());
    let err = Vm::new(p, Engine::Interpreter)
        .err()
        .expect("must be refused");
    assert_eq!(err.insn(), Some(1), "{err}");
    assert!(
        err.to_string()
            .starts_with("<bytecode>: instruction 1: backward jump to instruction 0"),
        "{err}"
    );
}

#[test]
fn call_depth_limit() {
    // a chain of 10 functions, each calling the next
    let mut code = Vec::new();
    for _ in 0..10 {
        code.push(insn(0x85, 0, 1, 0, 1));
        code.push(EXIT);
    }
    code.push(MOV0);
    code.push(EXIT);
    let err = bytecode_err(&prog(&code));
    assert!(matches!(err.kind(), ErrorKind::CallDepth { .. }), "{err:?}");
}

#[test]
fn refused_programs_never_run() {
    // A Vm can only be built from a Program, and a Program only exists
    // once checked: nothing to run here, the type system is the test.
    let err = Program::from_bytecode(&prog(&[MOV0, MOV0])).unwrap_err();
    assert!(matches!(err.kind(), ErrorKind::FallsOffEnd { insn: 1 }));
}
