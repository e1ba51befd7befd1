#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# The standalone cargo build from a fresh clone (what README describes):
#
#   1. before scripts/ubpf/prepare-crates.py, README's cargo command fails
#      with an error that names that command;
#   2. after it, README's command works verbatim, from the top of the tree,
#      and so does "cargo test" in rust/ubpf (built, not run: step 3 of
#      run-tests.sh runs the tests).
#
# Usage: scripts/ubpf/test-fresh-clone.sh [REPO]   (default: this checkout;
# only what is committed is cloned)
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=${1:-$(cd "$here/../.." && pwd)}
export PATH="$HOME/.cargo/bin:$PATH"
tmp=$(mktemp -d /tmp/ubpf-fresh-clone.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
# one target directory across runs keeps the dependencies built
export CARGO_TARGET_DIR=${UBPF_FRESH_TARGET:-$HOME/.cache/filter-ubpf/fresh-clone-target}

git clone -q "$repo" "$tmp/src"
cd "$tmp/src"
# the crate archive, if this checkout has it: saves a download
if [ -d "$repo/subprojects/packagecache" ]; then
    cp -r "$repo/subprojects/packagecache" subprojects/
fi

readme_cmd() {
    cargo run -q --manifest-path rust/ubpf/Cargo.toml --bin ubpf-run -- --help
}

if readme_cmd >"$tmp/out" 2>&1; then
    echo "fresh clone: cargo run worked before prepare-crates.py (placeholder rbpf?)"
    exit 1
fi
grep -q 'run `python3 scripts/ubpf/prepare-crates.py`' "$tmp/out" || {
    tail -n 20 "$tmp/out"
    echo "fresh clone: the error does not name prepare-crates.py"
    exit 1
}
echo "fresh clone, unprepared: $(grep -m1 'prepare-crates' "$tmp/out" | sed 's/^ *//')"

python3 scripts/ubpf/prepare-crates.py
readme_cmd >"$tmp/out" 2>&1 && grep -q "^usage:" "$tmp/out" || {
    tail -n 20 "$tmp/out"
    echo "fresh clone: ubpf-run --help failed"
    exit 1
}
(cd rust/ubpf && cargo test -q --no-run 2>&1 | tail -n 3)
git diff --exit-code --stat || { echo "fresh clone: the build changed tracked files"; exit 1; }
echo "fresh clone: README's cargo command and cargo test work after prepare-crates.py"
