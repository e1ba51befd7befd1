#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Build the tiny Linux guest of the filter-ubpf scenario from Debian
# packages, without installing them on the host:
#
#   - the kernel that linux-image-amd64 points to (apt-get download,
#     dpkg-deb -x): its vmlinuz, and the modules virtio-net needs on it
#     (virtio_pci and virtio_net with their dependencies, read from the
#     modules' .modinfo: the package has no modules.dep);
#   - busybox-static (apt-get download, dpkg-deb -x);
#   - an initramfs (cpio newc, gzip) with busybox, the modules, and this
#     directory's init and udhcpc.script.
#
# The result is cached in ${UBPF_CACHE:-$HOME/.cache/filter-ubpf}/guest/,
# one directory per kernel package version (vmlinuz, initrd.gz); the
# initramfs is rebuilt when its inputs change, everything when absent.
#
# Usage: scripts/ubpf/guest/make-guest.sh
# Prints the guest directory on its last line.  Exits with 77 after a line
# "SKIP: ..." when no kernel package can be had (no apt source, offline).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
CACHE=${UBPF_CACHE:-$HOME/.cache/filter-ubpf}
GUEST=$CACHE/guest
# modules whose dependencies make a working virtio-net NIC on q35
WANT_MODULES="virtio_pci virtio_net"
log() { echo "make-guest: $*" >&2; }
skip() { echo "SKIP: $*"; exit 77; }

mkdir -p "$GUEST"
exec 9>"$GUEST/.lock"
flock 9                         # one builder at a time

if ! command -v cpio >/dev/null; then
    log "installing cpio"
    apt-get install -y -q cpio >&2 ||
        { apt-get update -q >&2 && apt-get install -y -q cpio >&2; }
fi

# "NAME VERSION" of the package a metapackage depends on, or nothing
candidate() {
    apt-cache show --no-all-versions "$1" 2>/dev/null |
        sed -n 's/^Depends: \([^ ,]*\) (= \([^)]*\)).*/\1 \2/p' | head -n 1
}
pkg_version() {
    apt-cache show --no-all-versions "$1" 2>/dev/null | sed -n 's/^Version: //p' | head -n 1
}
# apt-get download NAME=VERSION into DIR, refreshing stale lists once
download() {  # dir name version
    (cd "$1" && apt-get download -q "$2=$3" >&2 2>/dev/null) && return 0
    apt-get update -q >&2 || true
    (cd "$1" && apt-get download -q "$2=$3" >&2)
}

# without apt (offline, no sources) a guest built earlier will do
use_cached() {  # why
    local prev
    prev=$(ls -d "$GUEST"/linux-image-*/initrd.gz 2>/dev/null | tail -n 1 || true)
    [ -n "$prev" ] || skip "$1, and no guest built earlier in $GUEST"
    log "$1: using the guest built earlier"
    dirname "$prev"
    exit 0
}

read -r kpkg kver < <(candidate linux-image-amd64; echo) || true
if [ -z "${kpkg:-}" ]; then
    apt-get update -q >&2 || true
    read -r kpkg kver < <(candidate linux-image-amd64; echo) || true
fi
[ -n "${kpkg:-}" ] || use_cached "no linux-image-amd64 package in the apt sources"
dir=$GUEST/${kpkg}_${kver}

# 1. kernel and modules, once per kernel package version
if [ ! -f "$dir/kernel.done" ]; then
    log "kernel: $kpkg $kver"
    rm -rf "$dir"
    tmp=$(mktemp -d "$GUEST/tmp.XXXXXX")
    trap 'rm -rf "$tmp"' EXIT
    download "$tmp" "$kpkg" "$kver" || { rm -rf "$tmp"; use_cached "cannot download $kpkg $kver"; }
    dpkg-deb -x "$tmp"/"$kpkg"_*.deb "$tmp/x"
    mkdir -p "$tmp/out/modules"
    cp "$tmp"/x/boot/vmlinuz-* "$tmp/out/vmlinuz"
    cp "$tmp"/x/boot/config-* "$tmp/out/config"
    moddir=$(echo "$tmp"/x/lib/modules/*)
    # the modules to load, dependencies first; built-in ones are skipped
    python3 - "$moddir" $WANT_MODULES >"$tmp/out/modules/load-order" <<'EOF'
import os, struct, sys

moddir, wanted = sys.argv[1], sys.argv[2:]

def norm(name):
    return name.replace("-", "_")

files = {}
for root, _, names in os.walk(os.path.join(moddir, "kernel")):
    for n in names:
        if n.endswith(".ko"):
            files[norm(n[:-3])] = os.path.join(root, n)
builtin = set()
with open(os.path.join(moddir, "modules.builtin")) as f:
    for line in f:
        builtin.add(norm(os.path.basename(line.strip())[:-3]))

def modinfo(path):
    """key=value strings of a module's .modinfo section (ELF64 LE)."""
    data = open(path, "rb").read()
    shoff, = struct.unpack_from("<Q", data, 0x28)
    shentsize, shnum, shstrndx = struct.unpack_from("<HHH", data, 0x3a)
    def section(i):
        _, _, _, _, off, size = struct.unpack_from("<IIQQQQ", data, shoff + i * shentsize)
        return off, size
    stroff, _ = section(shstrndx)
    for i in range(shnum):
        name_off, = struct.unpack_from("<I", data, shoff + i * shentsize)
        end = data.index(b"\0", stroff + name_off)
        if data[stroff + name_off:end] == b".modinfo":
            off, size = section(i)
            return [s.decode() for s in data[off:off + size].split(b"\0") if s]
    return []

order = []
def visit(name, chain=()):
    if name in order or name in builtin:
        return
    if name in chain:
        sys.exit(f"make-guest: module dependency cycle at {name}")
    if name not in files:
        sys.exit(f"make-guest: module {name} is neither built in nor in the package")
    deps = [v for k, _, v in (s.partition("=") for s in modinfo(files[name])) if k == "depends"]
    for dep in ",".join(deps).split(","):
        if dep:
            visit(norm(dep), chain + (name,))
    order.append(name)

for w in wanted:
    visit(norm(w))
print("\n".join(order))
EOF
    while read -r m; do
        cp "$(find "$moddir/kernel" -name "$m.ko" | head -n 1)" "$tmp/out/modules/"
    done <"$tmp/out/modules/load-order"
    echo "$kpkg $kver" >"$tmp/out/kernel.done"
    mv "$tmp/out" "$dir"
    rm -rf "$tmp"
    trap - EXIT
fi

# 2. busybox-static, once per version
bver=$(pkg_version busybox-static)
[ -n "$bver" ] || use_cached "no busybox-static package in the apt sources"
bdir=$GUEST/busybox-static_${bver//:/%3a}
if [ ! -x "$bdir/busybox" ]; then
    log "busybox-static $bver"
    tmp=$(mktemp -d "$GUEST/tmp.XXXXXX")
    trap 'rm -rf "$tmp"' EXIT
    download "$tmp" busybox-static "$bver" ||
        { rm -rf "$tmp"; use_cached "cannot download busybox-static $bver"; }
    dpkg-deb -x "$tmp"/busybox-static_*.deb "$tmp/x"
    mkdir -p "$tmp/out"
    cp "$tmp/x/bin/busybox" "$tmp/out/busybox"
    rm -rf "$bdir"
    mv "$tmp/out" "$bdir"
    rm -rf "$tmp"
    trap - EXIT
fi

# 3. the initramfs, whenever one of its inputs changed
stamp=$( (echo "busybox $bver"; cat "$dir/modules/load-order" "$here/make-guest.sh" "$here/init" \
    "$here/udhcpc.script") | sha256sum | cut -d' ' -f1)
if [ ! -f "$dir/initrd.gz" ] || [ "$(cat "$dir/initrd.stamp" 2>/dev/null)" != "$stamp" ]; then
    log "initramfs: busybox-static $bver, modules $(tr '\n' ' ' <"$dir/modules/load-order")"
    tmp=$(mktemp -d "$GUEST/tmp.XXXXXX")
    trap 'rm -rf "$tmp"' EXIT
    root=$tmp/root
    mkdir -p "$root/bin" "$root/dev" "$root/etc" "$root/lib/modules" "$root/proc" \
        "$root/sys" "$root/tmp"
    cp "$bdir/busybox" "$root/bin/busybox"
    ln -s busybox "$root/bin/sh"
    install -m 755 "$here/init" "$root/init"
    install -m 755 "$here/udhcpc.script" "$root/etc/udhcpc.script"
    cp "$dir"/modules/*.ko "$dir/modules/load-order" "$root/lib/modules/"
    find "$root" -exec touch -h -d @0 {} +      # same input, same archive
    (cd "$root" && find . -mindepth 1 | LC_ALL=C sort |
        cpio -o -H newc -R 0:0 --reproducible --quiet) | gzip -9 -n >"$tmp/initrd.gz"
    mv "$tmp/initrd.gz" "$dir/initrd.gz"
    echo "$stamp" >"$dir/initrd.stamp"
    echo "busybox-static $bver" >"$dir/busybox.version"
    rm -rf "$tmp"
    trap - EXIT
fi

log "guest: $kpkg $kver, busybox-static $bver;" \
    "vmlinuz $(du -k "$dir/vmlinuz" | cut -f1) KiB, initrd.gz $(du -k "$dir/initrd.gz" | cut -f1) KiB"
echo "$dir"
