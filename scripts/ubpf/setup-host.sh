#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Install what building QEMU 10.0 with --enable-rust --enable-ubpf needs on a
# Debian machine (run as root), and fetch the QEMU 10.0.x source from Debian's
# trixie source package into a cache outside the clone.
#
# Usage: scripts/ubpf/setup-host.sh
# Environment:
#   UBPF_CACHE   cache directory (default: $HOME/.cache/filter-ubpf)
#   QEMU_SRC     use this QEMU 10.0 checkout instead of Debian's source package
#
# Prints nothing but progress; idempotent: a second run only checks.
set -euo pipefail

CACHE=${UBPF_CACHE:-$HOME/.cache/filter-ubpf}
MESON_VERSION=1.5.0
mkdir -p "$CACHE"
log() { echo "setup-host: $*"; }

# clang-19: -mcpu=v4 (ISA v4 test programs) needs LLVM 18 or later;
# xdp-tools: xdp-filter's compiled objects, which the engine's tests load
apt_packages=(
    dpkg-dev ninja-build pkg-config libglib2.0-dev libslirp-dev libfdt-dev
    zlib1g-dev flex bison python3-venv libclang-dev clang llvm libbpf-dev ccache patch
    clang-19 xdp-tools
    seabios ipxe-qemu qemu-system-data
)

need_apt=0
for p in "${apt_packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || need_apt=1
done

add_trixie_src() {
    local f=/etc/apt/sources.list.d/filter-ubpf-trixie-src.sources
    [ -f "$f" ] && return 0
    log "adding deb-src entry for Debian trixie ($f)"
    cat > "$f" <<'SRC'
Types: deb-src
URIs: http://deb.debian.org/debian
Suites: trixie
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
    need_update=1
}

need_update=0
if [ -z "${QEMU_SRC:-}" ] && [ ! -f "$CACHE/qemu-src/VERSION" ]; then
    add_trixie_src
fi
if [ "$need_apt" = 1 ] || [ "$need_update" = 1 ]; then
    log "apt-get update"
    apt-get update -qq
fi
if [ "$need_apt" = 1 ]; then
    log "installing ${apt_packages[*]}"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
        "${apt_packages[@]}" >/dev/null
fi

# meson >= 1.5 and pycotap from PyPI, in a venv made with Debian's python
if [ ! -x "$CACHE/pyvenv/bin/meson" ]; then
    log "creating meson $MESON_VERSION venv in $CACHE/pyvenv"
    rm -rf "$CACHE/pyvenv"
    /usr/bin/python3 -m venv "$CACHE/pyvenv"
    "$CACHE/pyvenv/bin/pip" install -q "meson==$MESON_VERSION" pycotap==1.3.1
fi

# bindgen-cli from crates.io
export PATH="$HOME/.cargo/bin:$PATH"
if ! command -v bindgen >/dev/null; then
    log "cargo install bindgen-cli (about a minute)"
    cargo install -q --locked bindgen-cli
fi

# QEMU source: Debian trixie's package, unpacked with Debian's patches applied.
# The directory name must not contain '+': QEMU passes the source path
# unescaped as a regex to bindgen's --allowlist-file.
if [ -z "${QEMU_SRC:-}" ] && [ ! -f "$CACHE/qemu-src/VERSION" ]; then
    log "fetching QEMU source package from Debian trixie"
    rm -rf "$CACHE/dl" && mkdir -p "$CACHE/dl"
    ver=$(apt-cache showsrc qemu | awk '/^Version: 1:10\.0\./ {print $2}' | sort -V | tail -n1)
    [ -n "$ver" ] || { echo "setup-host: no qemu 10.0.x source package in trixie" >&2; exit 1; }
    (cd "$CACHE/dl" && apt-get source -qq "qemu=$ver" >/dev/null)
    src=$(find "$CACHE/dl" -maxdepth 1 -type d -name 'qemu-10.0.*' | head -n1)
    [ -f "$src/VERSION" ] || { echo "setup-host: apt-get source gave no tree" >&2; exit 1; }
    mv "$src" "$CACHE/qemu-src.tmp"
    rm -rf "$CACHE/dl"
    mv "$CACHE/qemu-src.tmp" "$CACHE/qemu-src"
fi
src=${QEMU_SRC:-$CACHE/qemu-src}
case "$(cat "$src/VERSION")" in
    10.0.*) log "QEMU source $(cat "$src/VERSION") at $src" ;;
    *) echo "setup-host: $src is QEMU $(cat "$src/VERSION"), need 10.0.x" >&2; exit 1 ;;
esac
