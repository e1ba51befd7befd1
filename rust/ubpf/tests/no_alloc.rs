// SPDX-License-Identifier: GPL-2.0-or-later

//! Runs do not allocate: a counting global allocator watches them.

mod common;

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use common::{ether, ipv4, load, ports, vms};

struct Counting;

thread_local! {
    static COUNT: Cell<usize> = const { Cell::new(0) };
}

// SAFETY: forwards to the system allocator; counting has no effect on the
// returned memory.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let _ = COUNT.try_with(|c| c.set(c.get() + 1));
        // SAFETY: same contract as the caller's.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: same contract as the caller's.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let _ = COUNT.try_with(|c| c.set(c.get() + 1));
        // SAFETY: same contract as the caller's.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn allocations() -> usize {
    COUNT.with(Cell::get)
}

#[test]
fn runs_do_not_allocate() {
    // the counter works
    let b = allocations();
    drop(std::hint::black_box(vec![0u8; 10]));
    assert!(allocations() > b);

    let mut frames = vec![
        ether(
            0x0800,
            &[],
            &ipv4(6, [1, 2, 3, 4], [5, 6, 7, 8], &ports(9, 80, 20)),
        ),
        ether(
            0x0800,
            &[0x8100],
            &ipv4(17, [1, 2, 3, 4], [5, 6, 7, 8], &ports(9, 99, 8)),
        ),
        ether(0x0806, &[], &[0; 28]),
        vec![0xff; 60],
        Vec::new(),
    ];
    for name in ["port_allow_eth", "arp_only", "call", "helpers"] {
        let prog = load(name);
        let (mut int, mut jit) = vms(&prog);
        for vm in [&mut int, &mut jit] {
            // warm up (lazy initialisation in helpers, if any)
            for f in &mut frames {
                vm.run(f).unwrap();
            }
            let before = allocations();
            let mut sum = 0u64;
            for _ in 0..100 {
                for f in &mut frames {
                    sum = sum.wrapping_add(vm.run(f).unwrap());
                }
            }
            let after = allocations();
            assert_eq!(
                after - before,
                0,
                "{name}: runs allocated (jit {})",
                vm.is_jit()
            );
            assert!(sum < 10_000);
        }
    }
}
