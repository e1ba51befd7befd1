// SPDX-License-Identifier: GPL-2.0-or-later

//! The bad-input corpus (`tests/data/ubpf/bad/`, manifest `EXPECT`, made by
//! `scripts/ubpf/robust/make-corpus.py`): every hostile file is refused
//! with the expected error kind and message, or loads and runs in the
//! interpreter with the expected result or run-time error.
//!
//! `UBPF_CORPUS_PRINT=1` prints the actual outcome of every file in the
//! manifest's format (to review a regenerated corpus).

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use ubpf::{Convention, Engine, Program, Trust, VerifyOptions, Vm};

/// The corpus directory.
fn corpus_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/data/ubpf/bad")
}

/// The packet run cases get: a 64-byte Ethernet/IPv4/UDP frame from
/// 10.0.0.1:40000 to 10.0.0.2:7 (`corpus-qmp.py` sends the same frame).
fn corpus_packet() -> Vec<u8> {
    let mut p = vec![
        0x52, 0x54, 0x00, 0x12, 0x34, 0x56, 0x52, 0x54, 0x00, 0x12, 0x34, 0x57, 0x08, 0x00,
    ];
    let ip = [
        0x45, 0, 0, 50, 0, 1, 0x40, 0, 64, 17, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2,
    ];
    p.extend_from_slice(&ip);
    p.extend_from_slice(&[0x9c, 0x40, 0, 7, 0, 30, 0, 0]);
    p.resize(64, b'x');
    p
}

/// One manifest line.
#[derive(Debug)]
struct Case {
    file: String,
    stage: String,
    result: String,
    message: String,
    bug: bool,
}

fn manifest() -> Vec<Case> {
    let text = std::fs::read_to_string(corpus_dir().join("EXPECT")).expect("read EXPECT");
    text.lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .map(|l| {
            let cols: Vec<&str> = l.split(" | ").map(str::trim).collect();
            assert!(
                cols.len() == 3 || (cols.len() == 4 && cols[3] == "bug"),
                "bad EXPECT line: {l}"
            );
            let (stage, result) = cols[1].split_once(' ').expect("stage and result");
            assert!(
                ["load", "vm", "run"].contains(&stage),
                "bad stage in EXPECT line: {l}"
            );
            Case {
                file: cols[0].to_owned(),
                stage: stage.to_owned(),
                result: result.to_owned(),
                message: cols[2].to_owned(),
                bug: cols.len() == 4,
            }
        })
        .collect()
}

/// The variant name of an error kind ("`InvalidOpcode`", ...).
fn variant(debug: &str) -> String {
    debug
        .chars()
        .take_while(char::is_ascii_alphanumeric)
        .collect()
}

/// What happens to `path`: (stage, result, message).
fn outcome(path: &Path) -> (String, String, String) {
    let prog = match Program::load_file(path, None) {
        Ok(p) => p,
        Err(e) => {
            return (
                "load".into(),
                variant(&format!("{:?}", e.kind())),
                e.to_string(),
            )
        }
    };
    let mut vm = match Vm::new(prog, Engine::Interpreter) {
        Ok(vm) => vm,
        Err(e) => {
            return (
                "vm".into(),
                variant(&format!("{:?}", e.kind())),
                e.to_string(),
            )
        }
    };
    let mut pkt = corpus_packet();
    match vm.run(&mut pkt) {
        Ok(v) => ("run".into(), v.to_string(), "-".into()),
        Err(e) => ("run".into(), variant(&format!("{e:?}")), e.to_string()),
    }
}

/// Where the file of `case` is; `None` when the case cannot be made here.
fn materialise(case: &Case, tmp: &Path) -> Option<PathBuf> {
    match case.file.as_str() {
        "@missing" => Some(tmp.join("does/not/exist.o")),
        "@directory" => Some(tmp.to_path_buf()),
        "@unreadable" => {
            let path = tmp.join("unreadable.o");
            let data = std::fs::read(corpus_dir().join("div64_reg_zero.o")).expect("read");
            std::fs::write(&path, data).expect("write");
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o000))
                .expect("chmod 000");
            if std::fs::read(&path).is_ok() {
                // root (CAP_DAC_OVERRIDE) reads it anyway
                eprintln!("@unreadable: skipped, this user can read a mode-000 file");
                return None;
            }
            Some(path)
        }
        f if f.starts_with('@') => panic!("unknown special case {f}"),
        f => Some(corpus_dir().join(f)),
    }
}

fn tmp_dir(tag: &str) -> PathBuf {
    let dir =
        Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("corpus-{tag}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("create temporary directory");
    dir
}

/// Whether the outcome matches the expectation; the reason if not.
fn check(case: &Case, got: &(String, String, String)) -> Result<(), String> {
    let (stage, result, message) = got;
    if *stage != case.stage || *result != case.result {
        return Err(format!(
            "{}: expected {} {}, got {stage} {result}: {message}",
            case.file, case.stage, case.result
        ));
    }
    if case.message != "-" && !message.contains(&case.message) {
        return Err(format!(
            "{}: message {message:?} lacks {:?}",
            case.file, case.message
        ));
    }
    Ok(())
}

#[test]
fn corpus() {
    let cases = manifest();
    let print = std::env::var_os("UBPF_CORPUS_PRINT").is_some();
    let tmp = tmp_dir("main");
    let mut failures = Vec::new();
    let (mut refused, mut ran, mut skipped, mut bugs) = (0, 0, 0, 0);
    for case in &cases {
        if case.bug {
            bugs += 1;
            known_bug(case);
            continue;
        }
        let Some(path) = materialise(case, &tmp) else {
            skipped += 1;
            continue;
        };
        let got = outcome(&path);
        if print {
            let msg = if got.2 == "-" { "-" } else { &got.2 };
            println!("{} | {} {} | {msg}", case.file, got.0, got.1);
        }
        if got.0 == "run" {
            ran += 1;
        } else {
            refused += 1;
        }
        if let Err(e) = check(case, &got) {
            failures.push(e);
        }
    }
    let _ = std::fs::set_permissions(
        tmp.join("unreadable.o"),
        std::fs::Permissions::from_mode(0o600),
    );
    let _ = std::fs::remove_dir_all(&tmp);
    println!(
        "corpus: {} files: {refused} refused, {ran} ran, {skipped} skipped, {bugs} known bugs",
        cases.len()
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Every file of the corpus directory has a manifest line.
#[test]
fn manifest_is_complete() {
    let listed: Vec<String> = manifest().into_iter().map(|c| c.file).collect();
    for entry in std::fs::read_dir(corpus_dir()).expect("read corpus") {
        let name = entry
            .expect("entry")
            .file_name()
            .into_string()
            .expect("name");
        if name != "EXPECT" && name != "README" {
            assert!(listed.contains(&name), "{name} has no line in EXPECT");
        }
    }
    for name in listed.iter().filter(|n| !n.starts_with('@')) {
        assert!(corpus_dir().join(name).is_file(), "{name} is missing");
    }
}

/// A known engine bug: run the case in a child process (it may crash).
fn known_bug(case: &Case) {
    if cfg!(miri) {
        // Miri cannot spawn processes
        eprintln!("known bug {}: skipped under Miri", case.file);
        return;
    }
    let exe = std::env::current_exe().expect("test binary");
    let out = Command::new(exe)
        .args(["--exact", "corpus_one", "--nocapture", "--test-threads=1"])
        .env("UBPF_CORPUS_ONE", &case.file)
        .output()
        .expect("run child");
    let stderr = String::from_utf8_lossy(&out.stderr);
    if out.status.success() {
        eprintln!(
            "known bug {}: fixed? the case now behaves as expected: remove its \"bug\" mark",
            case.file
        );
    } else {
        let why = ["overflowed", "expected", "lacks"]
            .iter()
            .find_map(|k| stderr.lines().find(|l| l.contains(k)))
            .unwrap_or("crashed");
        eprintln!(
            "known bug {}: still present ({}): {why}",
            case.file, out.status
        );
    }
}

/// The child of [`known_bug`]: one case, given in `UBPF_CORPUS_ONE`.
#[test]
fn corpus_one() {
    let Ok(file) = std::env::var("UBPF_CORPUS_ONE") else {
        return;
    };
    let case = manifest()
        .into_iter()
        .find(|c| c.file == file)
        .expect("case in EXPECT");
    let tmp = tmp_dir("one");
    if let Some(path) = materialise(&case, &tmp) {
        let got = outcome(&path);
        check(&case, &got).unwrap_or_else(|e| panic!("{e}"));
    }
}

/// The verifier refuses every program of the corpus that fails at run time
/// or loops, and a program it accepts gives the interpreter's result on
/// the JIT (unchecked, with the proof).
#[test]
fn verifier_on_corpus() {
    let opts = VerifyOptions {
        convention: Convention::Raw,
        min_len: 14,
    };
    let (mut refused, mut proven) = (0, 0);
    for case in manifest() {
        if case.bug || case.file.starts_with('@') || case.stage == "load" {
            continue;
        }
        let path = corpus_dir().join(&case.file);
        let prog = Program::load_file(&path, None).expect("loads");
        let value = case.result.parse::<u64>().ok();
        match ubpf::verify(&prog, &opts) {
            Err(e) => {
                refused += 1;
                eprintln!("{}: refused by the verifier: {e}", case.file);
            }
            Ok(proof) => {
                let Some(want) = value else {
                    panic!(
                        "{}: verified, but it {} {} without a proof",
                        case.file, case.stage, case.result
                    );
                };
                proven += 1;
                let mut vm = Vm::new(prog, Engine::Jit(Trust::Verified(proof))).expect("JIT");
                let mut pkt = corpus_packet();
                assert_eq!(vm.run(&mut pkt), Ok(want), "{} on the JIT", case.file);
            }
        }
    }
    println!("verifier on the corpus: {proven} proven (same result on the JIT), {refused} refused");
}
