#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# filter-ubpf benchmarks, one command:
#   1. the engine benchmark (cargo bench, optimized): ns per packet of the
#      interpreter and the JIT against the same logic in native Rust, load
#      and JIT cost, heap allocations per packet;
#   2. the QEMU packet-path benchmark (packet-path.py): throughput and QEMU
#      CPU per packet without a filter, with filter-ubpf and with QEMU's own
#      filters; memory per instance; hot swap under traffic.
# Results: $UBPF_CACHE/bench/results-<timestamp>.json (and --out FILE);
# a table is printed at the end.
#
# Usage: scripts/ubpf/bench/run-bench.sh [--build-dir DIR] [--out FILE]
#            [other packet-path.py options, e.g. --rounds 7 --packets 20000]
# Environment:
#   UBPF_CACHE   cache directory (default: $HOME/.cache/filter-ubpf)
#   QEMU_BUILD   QEMU build directory to use (as --build-dir); without
#                either, scripts/ubpf/build-qemu.sh builds QEMU first
#   UBPF_BENCH_ROUNDS, UBPF_BENCH_SAMPLE_MS   engine benchmark settings
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../../.." && pwd)
export PATH="$HOME/.cargo/bin:$PATH"

build=${QEMU_BUILD:-}
args=()
while [ $# -gt 0 ]; do
    case $1 in
    --build-dir) build=$2; shift 2 ;;
    --build-dir=*) build=${1#*=}; shift ;;
    *) args+=("$1"); shift ;;
    esac
done
if [ -z "$build" ]; then
    build=$(bash "$repo/scripts/ubpf/build-qemu.sh" | tail -n 1)
fi
if [ ! -x "$build/qemu-system-x86_64" ]; then
    echo "run-bench: no qemu-system-x86_64 in $build" >&2
    exit 1
fi

python3 "$repo/scripts/ubpf/prepare-crates.py" >&2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

echo "== engine benchmark (cargo bench)" >&2
cargo bench --manifest-path "$repo/rust/ubpf/Cargo.toml" --bench engine \
    -- --json "$tmp/engine.json"

echo "== QEMU packet-path benchmark" >&2
python3 "$here/packet-path.py" "$build" --engine-json "$tmp/engine.json" ${args[@]+"${args[@]}"}
