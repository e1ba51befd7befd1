// SPDX-License-Identifier: GPL-2.0-or-later

//! `Map::walk`: the entries of `Map::entries`, in pages, without a list.

use ubpf::maps::MapKind;
use ubpf::{Map, MapDef};

fn map(kind: MapKind, key_size: u32, max_entries: u32) -> Map {
    Map::new(MapDef {
        name: "m".to_owned(),
        kind,
        key_size,
        value_size: 8,
        max_entries,
        initial: None,
    })
    .unwrap()
}

/// Pages of `n` entries, each from the key the previous one stopped at.
fn pages(m: &Map, n: usize) -> Vec<Vec<(Vec<u8>, Vec<u8>)>> {
    let mut out = Vec::new();
    let mut start: Option<Vec<u8>> = None;
    loop {
        let mut page = Vec::new();
        let mut next = None;
        m.walk(start.as_deref(), |k, v| {
            if page.len() == n {
                next = Some(k.to_vec());
                return false;
            }
            page.push((k.to_vec(), v.to_vec()));
            true
        })
        .unwrap();
        out.push(page);
        match next {
            Some(k) => start = Some(k),
            None => return out,
        }
    }
}

#[test]
fn hash_pages_cover_the_entries() {
    let m = map(MapKind::Hash, 2, 64);
    for k in 0u16..23 {
        m.update(&k.to_be_bytes(), &u64::from(k).to_le_bytes(), 0)
            .unwrap();
    }
    m.delete(&7u16.to_be_bytes()).unwrap();
    let p = pages(&m, 5);
    assert_eq!(p.iter().map(Vec::len).collect::<Vec<_>>(), [5, 5, 5, 5, 2]);
    assert_eq!(p.concat(), m.entries());
    // a key that is not there
    assert_eq!(
        m.walk(Some(&7u16.to_be_bytes()), |_, _| true),
        Err(ubpf::maps::MapError::NoSuchKey)
    );
}

#[test]
fn array_pages_and_stop() {
    let m = map(MapKind::Array, 4, 10);
    m.update(&3u32.to_le_bytes(), &9u64.to_le_bytes(), 0)
        .unwrap();
    let p = pages(&m, 4);
    assert_eq!(p.iter().map(Vec::len).collect::<Vec<_>>(), [4, 4, 2]);
    assert_eq!(p.concat(), m.entries());
    assert_eq!(p[0][3].1, 9u64.to_le_bytes());
    let mut seen = 0;
    m.walk(Some(&8u32.to_le_bytes()), |_, _| {
        seen += 1;
        true
    })
    .unwrap();
    assert_eq!(seen, 2);
    assert!(m.walk(Some(&10u32.to_le_bytes()), |_, _| true).is_err());
}
