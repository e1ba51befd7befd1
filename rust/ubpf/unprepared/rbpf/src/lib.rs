// SPDX-License-Identifier: GPL-2.0-or-later

//! Placeholder for the patched rbpf: see Cargo.toml.

compile_error!(
    "the patched rbpf crate is not prepared: run `python3 scripts/ubpf/prepare-crates.py` \
     from the top of the source tree, then run cargo again from inside the tree"
);
