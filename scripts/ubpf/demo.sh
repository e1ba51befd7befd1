#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# README's main job: set up a bare Debian machine, build QEMU 10.0 with
# filter-ubpf (scripts/ubpf/build-qemu.sh), then show the filter at work on
# real packets (scripts/ubpf/demo.py) and in front of a real Linux guest
# whose program is replaced while it runs (scripts/ubpf/guest/run-guest.py).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=$(bash "$here/build-qemu.sh" | tail -n 1)
python3 "$here/demo.py" "$build"
echo
echo "== a real Linux guest behind filter-ubpf (scripts/ubpf/guest/run-guest.py)"
python3 "$here/guest/run-guest.py" "$build"
