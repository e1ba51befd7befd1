#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# A real Linux guest behind filter-ubpf: build QEMU with the overlay
# (scripts/ubpf/build-qemu.sh, incremental) and the guest
# (make-guest.sh, cached), then run the scenario (run-guest.py).
#
# Usage: scripts/ubpf/guest/run-guest.sh [--assert] [--queue rx|tx] [--interpreter] ...
#        (options of run-guest.py; --assert makes it the acceptance test)
# Environment: UBPF_CACHE as for build-qemu.sh; UBPF_QEMU_BUILD=DIR uses
#   that QEMU build directory instead of building.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=${UBPF_QEMU_BUILD:-$(bash "$here/../build-qemu.sh" | tail -n 1)}
exec python3 "$here/run-guest.py" "$build" "$@"
