#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Build QEMU 10.0 with the filter-ubpf overlay, from a bare Debian machine.
#
#   1. scripts/ubpf/setup-host.sh: packages, meson, bindgen, QEMU source
#   2. a working copy of the source (cache), the overlay applied to it
#   3. configure (once) with --enable-rust --enable-ubpf, make (incremental)
#
# Usage: scripts/ubpf/build-qemu.sh
# Environment:
#   UBPF_CACHE  cache directory (default: $HOME/.cache/filter-ubpf)
#   QEMU_SRC    build this QEMU 10.0 checkout instead (the overlay is applied
#               to it in place; the build directory is QEMU_SRC/build)
#
# Prints the build directory on its last line.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
CACHE=${UBPF_CACHE:-$HOME/.cache/filter-ubpf}
export CCACHE_DIR=${CCACHE_DIR:-$CACHE/ccache}
log() { echo "build-qemu: $*" >&2; }

bash "$here/setup-host.sh" >&2
export PATH="$HOME/.cargo/bin:$PATH"

if [ -n "${QEMU_SRC:-}" ]; then
    tree=$(cd "$QEMU_SRC" && pwd)
else
    version=$(cat "$CACHE/qemu-src/VERSION")
    tree=$CACHE/qemu-$version
    if [ ! -f "$tree/VERSION" ]; then
        log "making working tree $tree"
        rm -rf "$tree.tmp"
        cp -a "$CACHE/qemu-src" "$tree.tmp"
        mv "$tree.tmp" "$tree"
    fi
fi

# Our cached copy is recomputed from the pristine source, so that changed
# insertions replace their old text; a user's checkout is edited in place.
base=()
[ -n "${QEMU_SRC:-}" ] || base=(--base "$CACHE/qemu-src")
python3 "$repo/scripts/ubpf/overlay.py" apply "${base[@]}" "$tree" >&2
# QEMU's wraps point at the crates.io API host; fetch the same files from
# static.crates.io when that host is not reachable.
python3 "$repo/scripts/ubpf/overlay.py" seed-crates "$tree" >&2

build=$tree/build

# meson unpacks a wrap (and applies its diff_files) only once: when one of
# our patches changes, drop the unpacked crate so that it is unpacked anew.
patch_stamp() {  # wrap file -> "dir sha256-of-its-patches", nothing if unpatched
    local wrap=$1 dir patches
    dir=$(sed -n 's/^directory *= *//p' "$wrap")
    patches=$(sed -n 's/^diff_files *= *//p' "$wrap" | tr ',' ' ')
    [ -n "$patches" ] || return 0
    echo "$dir $(cd "$tree/subprojects/packagefiles" && cat $patches | sha256sum | cut -d' ' -f1)"
}
reconfigure=0
for wrap in "$tree"/subprojects/*-rs.wrap; do
    read -r dir sum < <(patch_stamp "$wrap") || continue
    stamp=$tree/subprojects/$dir/.filter-ubpf-patches
    if [ -d "$tree/subprojects/$dir" ] && [ "$(cat "$stamp" 2>/dev/null)" != "$sum" ]; then
        log "patches of $dir changed: unpacking it again"
        rm -rf "${tree:?}/subprojects/$dir"
        reconfigure=1
    fi
done
if [ "$reconfigure" = 1 ] && [ -f "$build/build.ninja" ]; then
    "$build/pyvenv/bin/meson" setup --reconfigure "$build" "$tree" >"$build/reconfigure.log" 2>&1 || {
        tail -n 30 "$build/reconfigure.log" >&2
        exit 1
    }
fi

if [ ! -f "$build/build.ninja" ]; then
    log "configuring $build"
    mkdir -p "$build"
    # No --enable-kvm: qtests then always use TCG.  seabios first in the
    # firmware path: Debian's bios-microvm.bin in /usr/share/qemu is qboot.
    (cd "$build" && "$tree/configure" \
        --cc="ccache cc" --python="$CACHE/pyvenv/bin/python3" \
        --enable-rust --enable-ubpf \
        --target-list=x86_64-softmmu \
        --without-default-features --enable-slirp \
        --disable-docs --disable-install-blobs \
        --firmwarepath=/usr/share/seabios:/usr/lib/ipxe/qemu:/usr/share/qemu \
        >"$build/configure.log" 2>&1) || {
        tail -n 30 "$build/configure.log" >&2
        log "configure failed; full log in $build/configure.log"
        rm -f "$build/build.ninja"
        exit 1
    }
    grep -E 'Rust support|ubpf support' "$build/configure.log" >&2 || true
fi

log "make -j$(nproc) in $build"
make -C "$build" -j"$(nproc)" >"$build/make.log" 2>&1 || {
    grep -E 'error|Error|FAILED' "$build/make.log" | head -n 40 >&2
    log "make failed; full log in $build/make.log"
    exit 1
}
for wrap in "$tree"/subprojects/*-rs.wrap; do
    read -r dir sum < <(patch_stamp "$wrap") || continue
    [ -d "$tree/subprojects/$dir" ] && echo "$sum" > "$tree/subprojects/$dir/.filter-ubpf-patches"
done

# Debian strips firmware blobs from its source: make the packaged ones
# visible to binaries run from the build tree (qemu-bundle redirects the
# absolute firmware paths).
mkdir -p "$build/qemu-bundle/usr/share" "$build/qemu-bundle/usr/lib/ipxe"
ln -sfn /usr/share/qemu "$build/qemu-bundle/usr/share/qemu"
ln -sfn /usr/share/seabios "$build/qemu-bundle/usr/share/seabios"
ln -sfn /usr/lib/ipxe/qemu "$build/qemu-bundle/usr/lib/ipxe/qemu"

echo "$build"
