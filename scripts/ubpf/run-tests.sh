#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# filter-ubpf's test command: from a bare Debian machine, build QEMU 10.0
# with the overlay and run every test of the project.
#
#   1. build (scripts/ubpf/build-qemu.sh: packages, QEMU source, make)
#   2. the overlay tool: idempotence, missing anchors, no copied QEMU file
#   3. the engine crate with plain cargo: a fresh clone's build, tests,
#      clippy, rustfmt,
#      the eBPF conformance suite in interpreter and JIT mode
#   4. the filter crate: clippy and rustfmt under QEMU's rust/ lints
#   5. QEMU's tests: our qtest and C unit test, QEMU's own filter qtests,
#      the Rust qemu-api tests, -daemonize with a relative program path,
#      xdp-tools' xdp-filter object unchanged (scripts/ubpf/xdp-filter.py);
#      checkpatch on our C files
#   6. a real guest: Linux under QEMU (TCG) behind filter-ubpf, program
#      swapped and filter removed over QMP (scripts/ubpf/guest/run-guest.py)
#   7. robustness: the bad-input corpus over QMP, a soak of 1000 program
#      swaps under traffic (scripts/ubpf/robust; UBPF_ROBUST_EXTENDED=1
#      adds fuzzing and valgrind)
#   8. the docs: QEMU's Sphinx manual with our pages (scripts/ubpf/build-docs.sh)
#   9. the demo (README's main job) as a smoke test
#
# Environment: UBPF_CACHE, QEMU_SRC as for build-qemu.sh;
#   BPF_CONFORMANCE_DIR  the bpf_conformance suite's data
#                        (default: /work/shared/bpf_conformance)
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
CACHE=${UBPF_CACHE:-$HOME/.cache/filter-ubpf}
export PATH="$HOME/.cargo/bin:$PATH"
export BPF_CONFORMANCE_DIR=${BPF_CONFORMANCE_DIR:-/work/shared/bpf_conformance}
t0=$(date +%s)
step() { echo; echo "== [$(( $(date +%s) - t0 ))s] $*"; }

step "1. build QEMU with the overlay"
build=$(bash "$here/build-qemu.sh" | tail -n 1)
tree=$(dirname "$build")
echo "build directory: $build"

step "2. overlay tool"
if [ -z "${QEMU_SRC:-}" ]; then
    bash "$here/test-overlay.sh" "$CACHE/qemu-src"
else
    # a user's checkout is edited in place: there is no pristine copy
    echo "QEMU_SRC is set: overlay tests need a pristine tree, skipped"
fi

step "3. engine crate (cargo, without QEMU)"
python3 "$here/prepare-crates.py"
# a fresh clone: README's cargo command, or an error naming prepare-crates.py
bash "$here/test-fresh-clone.sh" "$repo"
manifest=$repo/rust/ubpf/Cargo.toml
cargo test --manifest-path "$manifest" --all-targets
cargo clippy --manifest-path "$manifest" --all-targets -- -D warnings
cargo clippy --manifest-path "$manifest" --all-targets --no-default-features -- -D warnings
cargo fmt --manifest-path "$manifest" --check
if [ -d "$BPF_CONFORMANCE_DIR/tests" ]; then
    cargo run -q --manifest-path "$manifest" --bin ubpf-run -- \
        --conformance "$BPF_CONFORMANCE_DIR" \
        --xfail "$repo/rust/ubpf/tests/conformance-xfail.txt"
else
    echo "conformance suite not found at $BPF_CONFORMANCE_DIR: skipped"
fi
# the kernel as the reference: real programs (xdp-tools, kernel selftests
# and samples, QEMU's rss.bpf.c) built at test time, run in the host
# kernel (BPF_PROG_TEST_RUN) and in the engine; skipped with a message
# where bpf() is unavailable
bash "$here/kernel-corpus.sh"
kdiff=$(mktemp)
if ! UBPF_KERNEL_CORPUS="$CACHE/kernel-corpus" cargo test -q --release \
        --manifest-path "$manifest" --test kernel_diff -- --nocapture >"$kdiff" 2>&1; then
    cat "$kdiff"; exit 1
fi
grep -E "^kernel differential|^  [a-z]|skipped" "$kdiff" || true
rm -f "$kdiff"
if [ -n "${UBPF_ROBUST_EXTENDED:-}" ]; then
    # the verifier fuzzer for 10 minutes (the default run has a 5 s smoke)
    bash "$here/robust/verifier-fuzz.sh" 600
fi

step "4. filter crate: clippy and rustfmt under QEMU's rust/ workspace lints"
# QEMU 10.0's own crates do not pass clippy 1.95 (pl011 doc lints), so only
# our crate is linted; the workspace lints and clippy.toml still apply.
(cd "$build" && ./pyvenv/bin/meson devenv --workdir ../rust \
    cargo clippy -q -p filter_ubpf --no-deps --tests -- -D warnings)
(cd "$build" && ./pyvenv/bin/meson devenv --workdir ../rust \
    cargo fmt -p filter_ubpf --check 2>&1 | grep -v "^Warning: can't set" || true)
(cd "$build" && ./pyvenv/bin/meson devenv --workdir ../rust \
    cargo fmt -p filter_ubpf --check >/dev/null 2>&1)

step "5. QEMU tests"
(cd "$build" && ./pyvenv/bin/meson test --no-rebuild --print-errorlogs \
    test-ubpf qtest-x86_64/test-filter-ubpf \
    qtest-x86_64/test-netfilter qtest-x86_64/test-filter-mirror \
    qtest-x86_64/test-filter-redirector rust-qemu-api-tests)
# -daemonize (chdir to /) with a relative ubpf-handler
python3 "$here/test-daemonize.py" "$build"
# xdp-tools' xdp-filter object, unchanged, its maps filled over QMP
# (skipped with a message if xdp-tools cannot be installed)
python3 "$here/xdp-filter.py" "$build"
c_files=$(cd "$repo" && git ls-files 'ebpf/*.[ch]' 'net/*.[ch]' 'tests/qtest/*.c' \
    'tests/unit/*.c' 2>/dev/null || true)
for f in $c_files; do
    # relative paths: checkpatch's rules depend on where a file lives
    (cd "$repo" && perl "$tree/scripts/checkpatch.pl" --no-tree -q -f "$f") ||
        { echo "checkpatch: $f"; exit 1; }
done
echo "checkpatch: $(echo "$c_files" | wc -w) C files clean"

# the configure switch: generated options file up to date, clear refusal
# of --enable-ubpf without Rust
cp "$tree/scripts/meson-buildoptions.sh" "$build/meson-buildoptions.sh.ours"
make -s -C "$build" update-buildoptions >/dev/null
if ! cmp -s "$tree/scripts/meson-buildoptions.sh" "$build/meson-buildoptions.sh.ours"; then
    diff -u "$build/meson-buildoptions.sh.ours" "$tree/scripts/meson-buildoptions.sh" || true
    echo "scripts/meson-buildoptions.sh differs from what QEMU generates"; exit 1
fi
cfg=$(mktemp -d /tmp/ubpf-configure.XXXXXX)
if (cd "$cfg" && "$tree/configure" --python="$CACHE/pyvenv/bin/python3" \
        --enable-ubpf --disable-rust --target-list=x86_64-softmmu \
        --without-default-features --disable-docs >"$cfg/log" 2>&1); then
    echo "configure --enable-ubpf --disable-rust succeeded"; exit 1
fi
grep -q "configure with --enable-rust to use --enable-ubpf" "$cfg/log" ||
    { tail -n 20 "$cfg/log"; echo "configure: unclear refusal"; exit 1; }
grep -m1 "ERROR: Feature ubpf" "$cfg/log"
rm -rf "$cfg"
"$build/qemu-system-x86_64" -object filter-ubpf,help

step "6. a real guest behind filter-ubpf (scripts/ubpf/guest)"
python3 "$here/guest/run-guest.py" "$build" --assert

step "7. robustness: bad-input corpus over QMP, soak under hot swap"
bash "$here/robust/run.sh" "$build" ${UBPF_ROBUST_EXTENDED:+--extended}

step "8. docs (Sphinx, warnings are errors)"
bash "$here/build-docs.sh" "$tree"

step "9. demo (README's main job)"
python3 "$here/demo.py" "$build"

step "all tests passed"
