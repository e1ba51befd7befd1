#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# filter-ubpf benchmarks, one command:
#   1. the engine benchmark (cargo bench, optimized): ns per packet of the
#      interpreter and the JIT against the same logic in native Rust (and
#      iovisor/ubpf's interpreter and JIT, when UBPF_IOVISOR_SRC is set),
#      load and JIT cost, heap allocations per packet, verification time of
#      the verifier's corpus;
#   2. the QEMU packet-path benchmark (packet-path.py): throughput and QEMU
#      CPU per packet without a filter, with filter-ubpf and with QEMU's own
#      filters; memory per instance; hot swap under traffic.
# Results: $UBPF_CACHE/bench/results-<timestamp>.json (and --out FILE);
# a table is printed at the end.
#
# Usage: scripts/ubpf/bench/run-bench.sh [--build-dir DIR] [--out FILE]
#            [--engine-only]
#            [other packet-path.py options, e.g. --rounds 7 --packets 20000]
#   --engine-only  the engine benchmark only (no QEMU)
# Environment:
#   UBPF_CACHE   cache directory (default: $HOME/.cache/filter-ubpf)
#   QEMU_BUILD   QEMU build directory to use (as --build-dir); without
#                either, scripts/ubpf/build-qemu.sh builds QEMU first
#   UBPF_BENCH_ROUNDS, UBPF_BENCH_SAMPLE_MS   engine benchmark settings
#   UBPF_IOVISOR_SRC  a checkout of iovisor/ubpf outside this repository:
#                built into $UBPF_CACHE/iovisor-ubpf (build-iovisor-ubpf.sh)
#                and measured side by side; or UBPF_BENCH_IOVISOR_LIB, an
#                already built library
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../../.." && pwd)
export PATH="$HOME/.cargo/bin:$PATH"

build=${QEMU_BUILD:-}
engine_only=
args=()
while [ $# -gt 0 ]; do
    case $1 in
    --engine-only) engine_only=1; shift ;;
    --build-dir) build=$2; shift 2 ;;
    --build-dir=*) build=${1#*=}; shift ;;
    *) args+=("$1"); shift ;;
    esac
done
if [ -z "$engine_only" ] && [ -z "$build" ]; then
    build=$(bash "$repo/scripts/ubpf/build-qemu.sh" | tail -n 1)
fi
if [ -z "$engine_only" ] && [ ! -x "$build/qemu-system-x86_64" ]; then
    echo "run-bench: no qemu-system-x86_64 in $build" >&2
    exit 1
fi

python3 "$repo/scripts/ubpf/prepare-crates.py" >&2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

if [ -n "${UBPF_IOVISOR_SRC:-}" ] && [ -z "${UBPF_BENCH_IOVISOR_LIB:-}" ]; then
    echo "== building iovisor/ubpf from $UBPF_IOVISOR_SRC" >&2
    cache=${UBPF_CACHE:-$HOME/.cache/filter-ubpf}
    UBPF_BENCH_IOVISOR_LIB=$(bash "$here/build-iovisor-ubpf.sh" \
        "$UBPF_IOVISOR_SRC" "$cache/iovisor-ubpf" | tail -n 1)
    export UBPF_BENCH_IOVISOR_LIB
fi

echo "== engine benchmark (cargo bench)" >&2
cargo bench --manifest-path "$repo/rust/ubpf/Cargo.toml" --bench engine \
    -- --json "$tmp/engine.json"

if [ -n "$engine_only" ]; then
    exit 0
fi

echo "== QEMU packet-path benchmark" >&2
python3 "$here/packet-path.py" "$build" --engine-json "$tmp/engine.json" ${args[@]+"${args[@]}"}
