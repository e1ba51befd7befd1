#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Build iovisor/ubpf (the C library) from a checkout OUTSIDE this
# repository, as a shared library the engine benchmark loads to measure it
# side by side with filter-ubpf (UBPF_BENCH_IOVISOR_LIB).  Nothing of ubpf
# enters this repository.
#
# Usage: build-iovisor-ubpf.sh SRC_DIR BUILD_DIR
#   SRC_DIR    a checkout of https://github.com/iovisor/ubpf (its external/
#              submodules are not needed)
#   BUILD_DIR  where to build (cmake, Release)
# Prints the path of the shared library on its last line.
# Needs cmake, a C compiler and ninja or make.
set -euo pipefail

src=${1:?usage: build-iovisor-ubpf.sh SRC_DIR BUILD_DIR}
build=${2:?usage: build-iovisor-ubpf.sh SRC_DIR BUILD_DIR}
src=$(cd "$src" && pwd)
mkdir -p "$build"
build=$(cd "$build" && pwd)

gen=()
if command -v ninja >/dev/null; then
    gen=(-G Ninja)
fi
cmake -S "$src" -B "$build" "${gen[@]}" -DCMAKE_BUILD_TYPE=Release \
    -DCMAKE_POSITION_INDEPENDENT_CODE=ON -DUBPF_ENABLE_TESTS=OFF \
    -DUBPF_SKIP_EXTERNAL=ON >&2
cmake --build "$build" --target ubpf >&2
lib=$(find "$build" -name libubpf.a | head -n 1)
[ -n "$lib" ] || { echo "build-iovisor-ubpf: no libubpf.a in $build" >&2; exit 1; }
${CC:-cc} -shared -o "$build/libubpf-bench.so" \
    -Wl,--whole-archive "$lib" -Wl,--no-whole-archive -lm
echo "$build/libubpf-bench.so"
