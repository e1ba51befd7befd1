#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Build QEMU's Sphinx documentation (HTML manual and man pages) for a QEMU
# 10.0 tree that has the filter-ubpf overlay applied, in a build directory
# of its own: the tree's normal build directory is not touched.
#
#   1. Sphinx and the Read the Docs theme, at the versions QEMU installs
#      (the "installed" keys of the tree's pythondeps.toml), go into the
#      Python venv that the other scripts use ($UBPF_CACHE/pyvenv);
#   2. configure once, with only what the docs need (no emulator, no tools,
#      no Rust) and --enable-werror, so that Sphinx runs with -W as in a
#      QEMU git checkout: any Sphinx warning fails the build;
#   3. build the "html" and "man" targets only (DOCS_TARGETS).
#
# Usage: scripts/ubpf/build-docs.sh QEMU_TREE
#   e.g. cp -a ~/.cache/filter-ubpf/qemu-src /tmp/docs-tree
#        scripts/ubpf/overlay.py apply /tmp/docs-tree
#        scripts/ubpf/build-docs.sh /tmp/docs-tree
# Environment:
#   UBPF_CACHE  cache directory (default: $HOME/.cache/filter-ubpf)
#   DOCS_BUILD  build directory (default: $UBPF_CACHE/docs-build); it is
#               configured anew when it was set up for another tree
#   DOCS_TARGETS  ninja targets (default: "html man"; "html" alone saves
#               the man pages' Sphinx run when iterating on a page)
#
# Exits non-zero when configure or Sphinx fails (warnings included); prints
# the path of the HTML manual's index on its last line.
set -euo pipefail

log() { echo "build-docs: $*" >&2; }
die() { log "$*"; exit 1; }

[ $# -eq 1 ] || die "usage: $0 QEMU_TREE"
[ -f "$1/VERSION" ] || die "$1: not a QEMU source tree (no VERSION file)"
tree=$(cd "$1" && pwd)
[ -f "$tree/.filter-ubpf-overlay" ] ||
    die "$tree: overlay not applied (scripts/ubpf/overlay.py apply $tree)"

CACHE=${UBPF_CACHE:-$HOME/.cache/filter-ubpf}
build=${DOCS_BUILD:-$CACHE/docs-build}
venv=$CACHE/pyvenv
python=$venv/bin/python3
[ -x "$python" ] || die "$python: no venv; run scripts/ubpf/setup-host.sh first"

# 1. Sphinx, as pinned by the tree's pythondeps.toml ([docs] installed=)
mapfile -t reqs < <("$python" - "$tree/pythondeps.toml" <<'PY'
import sys, tomllib
with open(sys.argv[1], "rb") as f:
    docs = tomllib.load(f)["docs"]
for name, spec in docs.items():
    print(f"{name}=={spec['installed']}")
PY
)
if ! "$python" - "${reqs[@]}" <<'PY'
import sys
from importlib.metadata import version, PackageNotFoundError
for req in sys.argv[1:]:
    name, want = req.split("==")
    try:
        if version(name) != want:
            sys.exit(1)
    except PackageNotFoundError:
        sys.exit(1)
PY
then
    log "installing ${reqs[*]} into $venv"
    "$python" -m pip install -q --disable-pip-version-check "${reqs[@]}" >&2
fi

# 2. configure (once per tree; meson regenerates by itself afterwards)
stamp=$build/.filter-ubpf-docs-tree
if [ -f "$build/build.ninja" ]; then
    # never wipe a build directory that this script did not make
    [ -f "$stamp" ] ||
        die "$build: not a build directory of build-docs.sh; set DOCS_BUILD"
    if [ "$(cat "$stamp")" != "$tree" ]; then
        log "$build was configured for another tree: configuring anew"
        rm -rf "$build"
    fi
fi
if [ ! -f "$build/build.ninja" ]; then
    log "configuring $build for $tree"
    mkdir -p "$build"
    # --disable-download: Sphinx comes from the venv above, and no
    # subproject is fetched (the docs need none besides what the tree has).
    # --disable-install-blobs: Debian's source has no firmware blobs.
    (cd "$build" && "$tree/configure" \
        --python="$python" \
        --without-default-features \
        --disable-system --disable-user --disable-tools \
        --disable-download --disable-install-blobs \
        --enable-docs --enable-werror \
        >"$build/configure.log" 2>&1) || {
        tail -n 30 "$build/configure.log" >&2
        rm -f "$build/build.ninja"
        die "configure failed; full log in $build/configure.log"
    }
    echo "$tree" > "$stamp"
fi

# 3. the docs only
read -r -a targets <<< "${DOCS_TARGETS:-html man}"
log "building ${targets[*]} in $build"
ninja -C "$build" "${targets[@]}" >&2 ||
    die "the docs build failed (see the Sphinx output above)"

echo "$build/docs/manual/index.html"
