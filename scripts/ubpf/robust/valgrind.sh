#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# QEMU under valgrind memcheck: filter-ubpf's qtest, a short soak and the
# corpus over QMP, then a count of valgrind's reports: all of them, and
# those attributable to our code (a frame in filter_ubpf::, ubpf::, rbpf::,
# net/filter-ubpf*, ebpf/ubpf*).
#
#   valgrind.sh BUILD_DIR [--swaps N]        (default: 200 swaps)
#
# The qtest runs QEMU through QTEST_QEMU_BINARY, which libqtest passes to
# "sh -c exec ..." and which must end in -system-<arch>: a wrapper script
# of that name runs the real binary under valgrind.  Logs are kept in
# $VG_OUT (default /tmp/ubpf-valgrind).  Exit status 1 if a report is
# attributable to our code or a run failed.
#
# Sanitizer builds (ASan/UBSan) of QEMU need a separate full build, not
# done here; see scripts/ubpf/robust/README.
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
build=$(cd "${1:?usage: valgrind.sh BUILD_DIR [--swaps N]}" && pwd)
shift
swaps=200
[ "${1:-}" = "--swaps" ] && swaps=${2:?}
command -v valgrind >/dev/null || { echo "valgrind.sh: valgrind not installed: skipped"; exit 0; }

out=${VG_OUT:-/tmp/ubpf-valgrind}
rm -rf "$out"
mkdir -p "$out/bin" "$out/logs"
vg=(valgrind --tool=memcheck --leak-check=full --show-leak-kinds=definite,indirect,possible
    --errors-for-leak-kinds=definite --num-callers=40 --track-origins=no
    --trace-children=no)
cat > "$out/bin/qemu-system-x86_64" <<WRAP
#!/bin/sh
exec ${vg[*]} --log-file=$out/logs/qtest.%p.log "$build/qemu-system-x86_64" "\$@"
WRAP
chmod +x "$out/bin/qemu-system-x86_64"

status=0
t0=$(date +%s)
echo "== qtest test-filter-ubpf with QEMU under valgrind"
if (cd "$build" && QTEST_QEMU_BINARY="$out/bin/qemu-system-x86_64" \
        timeout 3600 tests/qtest/test-filter-ubpf --tap -k) >"$out/qtest.tap" 2>&1; then
    echo "qtest: $(grep -c '^ok' "$out/qtest.tap") passed"
else
    status=1
    grep -E '^not ok|Bail|ERROR' "$out/qtest.tap" | head
    echo "qtest: FAILED under valgrind (log $out/qtest.tap)"
fi

echo "== soak ($swaps swaps) with QEMU under valgrind"
python3 "$here/soak.py" "$build" --swaps "$swaps" \
    --wrapper "${vg[*]} --log-file=$out/logs/soak.%p.log" >"$out/soak.log" 2>&1 || status=1
grep '^soak:' "$out/soak.log"

echo "== corpus over QMP (verify=off and on) with QEMU under valgrind"
python3 "$here/corpus-qmp.py" "$build" \
    --wrapper "${vg[*]} --log-file=$out/logs/corpus.%p.log" >"$out/corpus.log" 2>&1 || status=1
grep '^corpus-qmp' "$out/corpus.log"

echo "== valgrind reports ($(( $(date +%s) - t0 )) s)"
python3 "$here/vg-summary.py" "$out/logs" || status=1
exit $status
