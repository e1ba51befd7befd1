#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Verifier fuzzer, long mode (rust/ubpf/tests/verifier_fuzz.rs, `long`):
# generated and mutated programs; every accepted one runs with its proof
# in the checked interpreter (two placements) and on the JIT.
#
#   verifier-fuzz.sh [SECONDS] [SEED]      (default: 600 s, seed from the clock)
#
# Environment: UBPF_FUZZ_OUT (reproducers, default rust/ubpf/target/vfuzz),
# UBPF_FUZZ_KEEP (reproducers kept per class, default 8), VFUZZ_DEBUG=1
# (debug build: the verifier's arithmetic overflows panic, and count).
# Exit status 1 when there are findings.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../../.." && pwd)
export PATH="$HOME/.cargo/bin:$PATH"
export UBPF_FUZZ_SECONDS=${1:-600}
[ -z "${2:-}" ] || export UBPF_FUZZ_SEED=$2
[ -d "$repo/subprojects/rbpf-0.4.1" ] || python3 "$repo/scripts/ubpf/prepare-crates.py"
release=(--release)
[ -z "${VFUZZ_DEBUG:-}" ] || release=()
cd "$repo/rust/ubpf"
exec nice cargo test "${release[@]}" --test verifier_fuzz -- --ignored --exact long --nocapture
