// SPDX-License-Identifier: GPL-2.0-or-later

//! Maps: libbpf-style programs keep state across packets; the host reads
//! and steers it.  Interpreter and JIT must agree on verdicts and contents.

mod common;

use common::maps::{self, ipv4, u64_value};
use common::{compile, load, vms};
use ubpf::maps::{MapError, BPF_ANY};
use ubpf::{Engine, ErrorKind, Program, Trust, Vm};

#[test]
fn per_protocol_counter() {
    let prog = load("maps_counter");
    maps::per_protocol_counter(&prog, vms(&prog));
}

#[test]
fn blocklist_filled_by_the_host() {
    let prog = load("maps_blocklist");
    maps::blocklist_filled_by_the_host(&prog, vms(&prog));
}

#[test]
fn rate_limiter_with_timestamps_and_a_full_table() {
    let prog = load("maps_ratelimit");
    maps::rate_limiter_with_timestamps_and_a_full_table(&prog, vms(&prog));
}

#[test]
fn global_variables_are_single_entry_arrays() {
    let prog = load("maps_globals");
    maps::global_variables_are_single_entry_arrays(&prog, vms(&prog));
}

#[test]
fn legacy_map_definition() {
    let prog = load("maps_legacy");
    maps::legacy_map_definition(&prog, vms(&prog));
}

#[test]
fn keep_maps_across_a_replacement() {
    let prog = load("maps_counter");
    let mut old = Vm::new(prog.clone(), Engine::Interpreter).unwrap();
    for _ in 0..4 {
        old.run(&mut ipv4([10, 0, 0, 9], 6)).unwrap();
    }
    let fresh = Vm::new(prog.clone(), Engine::Interpreter).unwrap();
    assert_eq!(u64_value(&fresh, "proto_count", &6u32.to_le_bytes()), 0);
    let mut new = Vm::new_keeping_maps(prog, Engine::Jit(Trust::Trusted), &mut old).unwrap();
    assert_eq!(u64_value(&new, "proto_count", &6u32.to_le_bytes()), 4);
    new.run(&mut ipv4([10, 0, 0, 9], 6)).unwrap();
    assert_eq!(u64_value(&new, "proto_count", &6u32.to_le_bytes()), 5);
    // the old program is retired
    let err = old.run(&mut ipv4([10, 0, 0, 9], 6)).unwrap_err();
    assert!(err.to_string().contains("replaced"), "{err}");
    // a program with other maps starts fresh
    let other = load("maps_blocklist");
    let next = Vm::new_keeping_maps(other, Engine::Interpreter, &mut new).unwrap();
    assert!(next.map("blocked").unwrap().is_empty());
}

#[test]
fn host_update_errors_are_checked() {
    let prog = load("maps_blocklist");
    let vm = Vm::new(prog, Engine::Interpreter).unwrap();
    let m = vm.map("blocked").unwrap();
    let key_err = m.update(&[1, 2, 3], &[0; 8], BPF_ANY).unwrap_err();
    assert_eq!(
        key_err.to_string(),
        "key is 3 bytes, the map's keys are 4 bytes"
    );
    let value_err = m.update(&[1, 2, 3, 4], &[0; 4], BPF_ANY).unwrap_err();
    assert_eq!(
        value_err.to_string(),
        "value is 4 bytes, the map's values are 8 bytes"
    );
    assert_eq!(m.delete(&[9, 9, 9, 9]), Err(MapError::NoSuchKey));
}

#[test]
fn unsupported_map_type_is_refused() {
    let obj = compile("maps_unsupported");
    let err = Program::load_file(&obj, None).unwrap_err();
    let text = err.to_string();
    assert!(
        matches!(err.kind(), ErrorKind::UnsupportedRelocation { .. }),
        "{text}"
    );
    assert!(
        text.contains("map \"events\": map type queue (22) is not supported (supported: hash (1),"),
        "{text}"
    );
    assert!(text.contains("instruction"), "{text}");
}

#[test]
fn helpers_refuse_bad_pointers_in_the_interpreter() {
    let prog = load("maps_badptr");
    let mut int = Vm::new(prog, Engine::Interpreter).unwrap();
    let mut pkt = ipv4([1, 2, 3, 4], 6);
    // put a key whose first bytes are at the end of the packet in the map:
    // if the helper read past the end, it could match it
    let tail = [pkt[26], pkt[27], 0, 0];
    int.map("m")
        .unwrap()
        .update(&tail, &[1, 0, 0, 0], BPF_ANY)
        .unwrap();
    assert_eq!(int.run(&mut pkt).unwrap(), 1, "lookup must refuse the key");
    // a key fully inside the packet is fine
    let mut short = vec![0u8; 3];
    assert_eq!(int.run(&mut short).unwrap(), 2);
}
