#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Fuzz the ubpf engine with cargo fuzz (libFuzzer + ASan):
#   load_elf        the ELF loader on arbitrary bytes
#   check_bytecode  the checks and the verifier on arbitrary bytecode
#   run_accepted    accepted programs run in the interpreter on a packet;
#                   verified ones also on the JIT, same result required
#
#   fuzz.sh [SECONDS] [TARGET...]     (default: 60 s for each target)
#
# Needs cargo-fuzz (cargo install cargo-fuzz; FUZZ_INSTALL=1 installs it).  cargo fuzz builds with
# nightly-only flags (-Zsanitizer=address): on a stable toolchain this
# script sets RUSTC_BOOTSTRAP=1, which works with rustc 1.95; a nightly
# toolchain works too (FUZZ_TOOLCHAIN=nightly).
#
# Seeds are in rust/ubpf/fuzz/corpus/<target>/ (committed, read-only
# here); what a run discovers goes to rust/ubpf/fuzz/work/<target>/ and is
# kept between runs.  A crash leaves its input in
# rust/ubpf/fuzz/artifacts/<target>/; reproduce it with
#   RUSTC_BOOTSTRAP=1 cargo fuzz run --fuzz-dir rust/ubpf/fuzz TARGET FILE
#
# A long run (hours, in the background, one core):
#   nice bash scripts/ubpf/robust/fuzz.sh 14400
# or in parallel on several cores: FUZZ_JOBS=4 (libFuzzer -fork=4).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../../.." && pwd)
fuzz=$repo/rust/ubpf/fuzz
export PATH="$HOME/.cargo/bin:$PATH"
secs=${1:-60}
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(load_elf check_bytecode run_accepted)
toolchain=()
if [ -n "${FUZZ_TOOLCHAIN:-}" ]; then
    toolchain=("+$FUZZ_TOOLCHAIN")
else
    export RUSTC_BOOTSTRAP=1
fi
jobs=${FUZZ_JOBS:-1}

if ! cargo "${toolchain[@]}" fuzz --version >/dev/null 2>&1; then
    if [ -z "${FUZZ_INSTALL:-}" ]; then
        echo "fuzz.sh: cargo-fuzz is not installed (cargo install cargo-fuzz): skipped"
        exit 0
    fi
    echo "== installing cargo-fuzz from crates.io"
    cargo install -q --locked cargo-fuzz
fi
[ -d "$repo/subprojects/rbpf-0.4.1" ] || python3 "$repo/scripts/ubpf/prepare-crates.py"

cd "$fuzz"
echo "== building the fuzz targets (release, ASan)"
blog=$(mktemp /tmp/ubpf-fuzz-build.XXXXXX)
if ! nice cargo "${toolchain[@]}" fuzz build -O >"$blog" 2>&1; then
    grep -E '^error' -A 5 "$blog" | head -n 40
    echo "fuzz.sh: build failed (log $blog)"
    exit 1
fi
tail -n 1 "$blog"
rm -f "$blog"

status=0
for t in "${targets[@]}"; do
    mkdir -p "work/$t" "artifacts/$t"
    log=$(mktemp /tmp/ubpf-fuzz-$t.XXXXXX)
    echo "== $t: $secs s"
    extra=()
    [ "$jobs" -gt 1 ] && extra=("-fork=$jobs")
    if nice cargo "${toolchain[@]}" fuzz run -O "$t" "work/$t" "corpus/$t" -- \
        -max_total_time="$secs" -timeout=20 -rss_limit_mb=3072 -max_len=65536 \
        -print_final_stats=1 "${extra[@]}" >"$log" 2>&1; then
        runs=$(grep -m1 -oE 'stat::number_of_executed_units: *[0-9]+' "$log" |
            grep -oE '[0-9]+$' || echo "?")
        cov=$(grep -oE 'cov: [0-9]+' "$log" | tail -n 1 || true)
        echo "$t: ok, $runs executions in $secs s ($cov, corpus $(ls "work/$t" | wc -l) files)"
    else
        status=1
        grep -E 'ERROR|panicked|SUMMARY|Test unit written|assert' "$log" | head -n 20
        echo "$t: FAILED (log $log, reproducer in $fuzz/artifacts/$t/)"
        continue
    fi
    rm -f "$log"
done
exit $status
