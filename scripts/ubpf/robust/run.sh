#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# filter-ubpf robustness suite (hostile files, hot swap under load, fuzzing,
# valgrind).
#
#   run.sh BUILD_DIR [--extended]
#
# Default (about two minutes): the bad-input corpus over QMP (verify off
# and on, then on with the JIT), a soak of 1000 program swaps under
# traffic, and a fuzz smoke run of 10 s per target (cargo-fuzz is
# installed when missing).
# The engine's side of the corpus (rust/ubpf/tests/corpus.rs) runs with the
# engine's cargo tests.
# --extended: cargo fuzz for 60 s per target instead of 10 (fuzz.sh), and QEMU under
# valgrind memcheck (valgrind.sh: the qtest, a short soak, the corpus).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
build=$(cd "${1:?usage: run.sh BUILD_DIR [--extended]}" && pwd)
extended=false
[ "${2:-}" = "--extended" ] && extended=true
t0=$(date +%s)
step() { echo; echo "== [robust $(( $(date +%s) - t0 ))s] $*"; }

step "bad-input corpus over QMP"
python3 "$here/corpus-qmp.py" "$build"
python3 "$here/corpus-qmp.py" "$build" --verify on --jit | grep -E "^(corpus-qmp \(|FAIL|  failure)"

step "soak: 1000 program swaps under traffic"
python3 "$here/soak.py" "$build" --swaps 1000

if ! $extended; then
    step "fuzz smoke run (10 s per target)"
    FUZZ_INSTALL=1 bash "$here/fuzz.sh" 10
fi
if $extended; then
    step "fuzzing (60 s per target)"
    FUZZ_INSTALL=1 bash "$here/fuzz.sh" 60
    step "valgrind"
    bash "$here/valgrind.sh" "$build"
fi
step "robustness suite passed"
