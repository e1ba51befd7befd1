#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# README's main job: set up a bare Debian machine, build QEMU 10.0 with
# filter-ubpf (scripts/ubpf/build-qemu.sh), then show the filter at work on
# real packets (scripts/ubpf/demo.py).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=$(bash "$here/build-qemu.sh" | tail -n 1)
python3 "$here/demo.py" "$build"
