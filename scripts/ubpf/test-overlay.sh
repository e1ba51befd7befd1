#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Tests of scripts/ubpf/overlay.py on scratch copies of a pristine QEMU tree:
#   - apply twice: the second run changes nothing (byte-identical trees)
#   - a missing anchor: a clear error naming file and anchor, tree untouched
#   - a tree that is not QEMU 10.0.x is refused
#   - a git-checkout-like tree (own packagefiles, bilge-impl patch present)
#     keeps QEMU's files and skips the Debian-only edit
#   - no overlay file is a copy of a QEMU file
#
# Usage: test-overlay.sh PRISTINE_QEMU_DIR
set -euo pipefail
base=$(cd "$1" && pwd)
repo=$(cd "$(dirname "$0")/../.." && pwd)
tool=$repo/scripts/ubpf/overlay.py
scratch=$(mktemp -d /tmp/ubpf-overlay-test.XXXXXX)
trap 'rm -rf "$scratch"' EXIT
fail() { echo "test-overlay: FAIL: $*" >&2; exit 1; }
pass() { echo "test-overlay: ok: $*"; }

# a tree with every file the insertions touch, plus what apply reads
mini_tree() {
    local dst=$1
    mkdir -p "$dst"
    cp "$base/VERSION" "$dst/"
    python3 - "$repo"/scripts/ubpf/insertions*.toml <<'PY' | while read -r f; do
import sys, tomllib
for p in sys.argv[1:]:
  for e in tomllib.load(open(p, "rb")).get("edit", []):
    print(e["file"])
PY
        mkdir -p "$dst/$(dirname "$f")"
        cp "$base/$f" "$dst/$f"
    done
}

# 1. idempotent
t=$scratch/idem
mini_tree "$t"
python3 "$tool" apply "$t" >/dev/null
cp -a "$t" "$scratch/idem-first"
out=$(python3 "$tool" apply "$t")
[[ $out == *"already up to date"* ]] || fail "second apply reported changes: $out"
diff -r "$t" "$scratch/idem-first" >/dev/null || fail "second apply changed the tree"
# the edits really are in: spot-check three of them
grep -q "option('ubpf'" "$t/meson_options.txt" || fail "meson_options.txt not edited"
grep -q "'filter-ubpf':" "$t/qapi/qom.json" || fail "qom.json not edited"
grep -q '"filter-ubpf"' "$t/system/vl.c" || fail "vl.c not edited"
pass "apply twice gives an identical tree"

# 2. --base: a changed insertion replaces its old text
t=$scratch/rebase
mini_tree "$t"
python3 "$tool" apply --base "$base" "$t" >/dev/null
echo "# stale text from an older overlay" >> "$t/rust/meson.build"
python3 "$tool" apply --base "$base" "$t" >/dev/null
grep -q "stale text" "$t/rust/meson.build" && fail "--base kept stale text"
pass "apply --base recomputes edited files from the pristine tree"

# 2b. a file the overlay no longer has is removed from the tree
t=$scratch/stale
mini_tree "$t"
python3 "$tool" apply "$t" >/dev/null
echo "stale" > "$t/rust/net/filter-ubpf/src/gone.rs"
echo "rust/net/filter-ubpf/src/gone.rs" >> "$t/.filter-ubpf-overlay"
python3 "$tool" apply "$t" | grep -q "gone.rs (removed" || fail "stale file not reported"
[ ! -e "$t/rust/net/filter-ubpf/src/gone.rs" ] || fail "stale file kept"
pass "files dropped from the overlay are removed from the tree"

# 3. missing anchor
t=$scratch/anchor
mini_tree "$t"
sed -i "/^subdir('hw')$/d" "$t/rust/meson.build"
cp -a "$t" "$scratch/anchor-before"
if err=$(python3 "$tool" apply "$t" 2>&1); then
    fail "apply succeeded without the anchor"
fi
[[ $err == *"rust/meson.build"* && $err == *"subdir('hw')"* ]] || fail "unclear error: $err"
diff -r "$t" "$scratch/anchor-before" >/dev/null || fail "failed apply changed the tree"
pass "missing anchor: '$err'"

# 4. wrong version
t=$scratch/version
mini_tree "$t"
echo 9.2.0 > "$t/VERSION"
if err=$(python3 "$tool" apply "$t" 2>&1); then
    fail "apply accepted QEMU 9.2.0"
fi
[[ $err == *"9.2.0"* && $err == *"10.0"* ]] || fail "unclear error: $err"
pass "wrong version: '$err'"

# 5. a git checkout has packagefiles of its own and the bilge-impl patch
t=$scratch/git
mini_tree "$t"
mkdir -p "$t/subprojects/packagefiles/syn-2-rs"
echo "# QEMU's own" > "$t/subprojects/packagefiles/syn-2-rs/meson.build"
echo "# QEMU's own patch" > "$t/subprojects/packagefiles/bilge-impl-1.63.0.patch"
python3 "$tool" apply "$t" >/dev/null
[ "$(cat "$t/subprojects/packagefiles/syn-2-rs/meson.build")" = "# QEMU's own" ] ||
    fail "overwrote QEMU's own packagefile"
grep -q '^diff_files = bilge-impl-1.63.0.patch$' "$t/subprojects/bilge-impl-0.2-rs.wrap" ||
    fail "disabled the bilge-impl patch although it exists"
pass "git-checkout-like tree keeps QEMU's packagefiles and patch"

# 6. no copies of QEMU files
python3 "$tool" check-copies "$base"
