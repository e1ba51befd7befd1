// SPDX-License-Identifier: GPL-2.0-or-later

//! Map keys and values typed by the object's BTF (`Program::map_format`),
//! as `bpftool --json map dump` shows them: numbers, structs, arrays,
//! enums, strings, bitfields, global data; hexadecimal (None) without
//! BTF types.

mod common;

use ubpf::{Engine, Program, Vm};

fn program() -> Program {
    common::load("btf_types")
}

/// `struct flow_key { __u32 addr; __u16 port; __u8 proto; char ifname[8]; }`
fn flow_key(ifname: &[u8]) -> Vec<u8> {
    let mut k = Vec::new();
    k.extend_from_slice(&0x0100_000a_u32.to_le_bytes());
    k.extend_from_slice(&53u16.to_le_bytes());
    k.push(17);
    let mut name = [0u8; 8];
    name[..ifname.len()].copy_from_slice(ifname);
    k.extend_from_slice(&name);
    k.push(0); // padding to 16 bytes
    k
}

/// `struct stats`, with flags = 5, level = 17, raw = 0x01020304
fn stats(color: u32) -> Vec<u8> {
    let mut v = Vec::new();
    v.extend_from_slice(&10u64.to_le_bytes());
    v.extend_from_slice(&(-3i32).to_le_bytes());
    v.extend_from_slice(&color.to_le_bytes());
    for h in [1u16, 2, 3] {
        v.extend_from_slice(&h.to_le_bytes());
    }
    v.push(1); // seen
    v.push(b'A'); // tag
    v.extend_from_slice(&(5u32 | (17 << 3)).to_le_bytes());
    v.extend_from_slice(&0x0102_0304_u32.to_le_bytes());
    assert_eq!(v.len(), 32);
    v
}

#[test]
fn struct_key_and_value() {
    let prog = program();
    let f = prog.map_format("flows").expect("flows has BTF types");
    assert_eq!(
        f.key(&flow_key(b"eth0")).as_deref(),
        Some(r#"{"addr": 16777226, "port": 53, "proto": 17, "ifname": "eth0"}"#)
    );
    // members of the anonymous union are the struct's own
    assert_eq!(
        f.value(&stats(5)).as_deref(),
        Some(
            r#"{"packets": 10, "delta": -3, "color": "GREEN", "hist": [1, 2, 3], "seen": true, "tag": 65, "flags": "0x5", "level": "0x11", "raw": 16909060, "bytes": [4, 3, 2, 1]}"#
        )
    );
    // an enum value without a name is a number; -1 is BLUE
    let unnamed = f.value(&stats(7)).unwrap();
    assert!(unnamed.contains(r#""color": 7,"#), "{unnamed}");
    let blue = f.value(&stats(u32::MAX)).unwrap();
    assert!(blue.contains(r#""color": "BLUE","#), "{blue}");
    // a char array that is no printable, NUL-terminated string: numbers
    let k = f.key(&flow_key(b"eth\x01abcd")).unwrap();
    assert!(
        k.ends_with(r#""ifname": [101, 116, 104, 1, 97, 98, 99, 100]}"#),
        "{k}"
    );
    let mut quote = flow_key(b"a\"b\\");
    quote[7..11].copy_from_slice(b"a\"b\\");
    let escaped = f.key(&quote).unwrap();
    assert!(escaped.ends_with(r#""ifname": "a\"b\\"}"#), "{escaped}");
    // the wrong size: no typed form
    assert_eq!(f.key(&[0; 15]), None);
    assert_eq!(f.value(&[0; 33]), None);
}

#[test]
fn enum_key_string_value() {
    let prog = program();
    let f = prog.map_format("names").unwrap();
    assert_eq!(f.key(&5u32.to_le_bytes()).as_deref(), Some(r#""GREEN""#));
    assert_eq!(f.key(&0u32.to_le_bytes()).as_deref(), Some(r#""RED""#));
    assert_eq!(f.key(&9u32.to_le_bytes()).as_deref(), Some("9"));
    let mut v = [0u8; 16];
    v[..5].copy_from_slice(b"uplnk");
    assert_eq!(f.value(&v).as_deref(), Some(r#""uplnk""#));
    // no NUL: not a string; plain char is signed
    assert_eq!(
        f.value(&[0xffu8; 16]).as_deref(),
        Some("[-1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1]")
    );
}

#[test]
fn per_cpu_array_of_arrays() {
    let prog = program();
    let vm = Vm::new(prog.clone(), Engine::Interpreter).unwrap_or_else(|e| panic!("{e}"));
    let m = vm.map("quads").unwrap();
    let value: Vec<u8> = [1u32, 2, 3, 0xffff_ffff]
        .iter()
        .flat_map(|x| x.to_le_bytes())
        .collect();
    m.update(&2u32.to_le_bytes(), &value, 0).unwrap();
    let f = prog.map_format("quads").unwrap();
    let mut shown = Vec::new();
    m.walk(None, |k, v| {
        shown.push((f.key(k).unwrap(), f.value(v).unwrap()));
        true
    })
    .unwrap();
    assert_eq!(shown.len(), 4);
    assert_eq!(
        shown[2],
        ("2".to_owned(), "[1, 2, 3, 4294967295]".to_owned())
    );
    assert_eq!(shown[0], ("0".to_owned(), "[0, 0, 0, 0]".to_owned()));
}

#[test]
fn global_data_sections() {
    let prog = program();
    let vm = Vm::new(prog.clone(), Engine::Interpreter).unwrap_or_else(|e| panic!("{e}"));
    let data = vm
        .map(".data")
        .unwrap()
        .lookup(&0u32.to_le_bytes())
        .unwrap();
    let f = prog.map_format(".data").unwrap();
    // no key type (as libbpf: btf_key_type_id 0), the DATASEC as value
    assert_eq!(f.key(&0u32.to_le_bytes()), None);
    assert_eq!(
        f.value(&data).as_deref(),
        Some(r#"{".data": [{"counter": 7}]}"#)
    );
    let rodata = vm
        .map(".rodata")
        .unwrap()
        .lookup(&0u32.to_le_bytes())
        .unwrap();
    assert_eq!(
        prog.map_format(".rodata")
            .unwrap()
            .value(&rodata)
            .as_deref(),
        Some(r#"{".rodata": [{"greeting": "hello"}]}"#)
    );
}

#[test]
fn no_types_no_format() {
    let prog = program();
    // __uint(key_size, 4), __uint(value_size, 8): sizes only
    assert!(prog.map_format("sized").is_none());
    assert!(prog.map_format("nosuch").is_none());
    // legacy definitions carry no types
    let legacy = common::load("maps_legacy");
    for m in legacy.maps() {
        assert!(legacy.map_format(&m.name).is_none(), "{}", m.name);
    }
}
