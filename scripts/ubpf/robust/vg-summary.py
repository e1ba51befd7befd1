#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Count valgrind memcheck reports in LOG_DIR/*.log: errors and leak records,
in total and attributable to filter-ubpf's code (a stack frame in
filter_ubpf::, ubpf::, rbpf::, net/filter-ubpf*, ebpf/ubpf*).  Prints the
attributable ones in full; exit status 1 if there is any.

Usage: vg-summary.py LOG_DIR
"""

import glob
import os
import re
import sys

OURS = re.compile(r"filter_ubpf::|\bubpf::|\brbpf::|\bfilter-ubpf[-\w]*\.[ch]\b|"
                  r"ebpf/ubpf|\bubpf[-\w]*\.[ch]:|_ZN\d+filter_ubpf|_ZN\d+ubpf|_ZN\d+rbpf")
BINARY = re.compile(r"\(in /[^)]*\)")


def records(path):
    """Blocks of one report each (lines between blank ==PID== lines)."""
    block = []
    with open(path, errors="replace") as f:
        for line in f:
            text = re.sub(r"^==\d+== ?", "", line.rstrip("\n"))
            if text == "":
                if block:
                    yield block
                block = []
            else:
                block.append(text)
    if block:
        yield block


def main():
    logs = sorted(glob.glob(os.path.join(sys.argv[1], "*.log")))
    total = ours = leaks = leaks_ours = 0
    kinds = {}
    shown = []
    for path in logs:
        for b in records(path):
            head = b[0]
            is_leak = " lost in loss record " in head
            is_error = not is_leak and any(l.lstrip().startswith("at 0x") for l in b[1:3])
            if not (is_leak or is_error):
                continue
            mine = any(OURS.search(BINARY.sub("", l)) for l in b)
            kind = re.sub(r"[\d,]+", "N", head.split(" in loss record")[0]) if is_leak else head
            kind = re.sub(r"^N \(N direct, N indirect\) bytes", "N bytes", kind)
            kinds[kind] = kinds.get(kind, 0) + 1
            if is_leak:
                leaks += 1
                leaks_ours += mine
            else:
                total += 1
                ours += mine
            if mine:
                shown.append((os.path.basename(path), b))
    print(f"valgrind: {len(logs)} QEMU processes; {total} error reports "
          f"({ours} attributable to filter-ubpf/ubpf/rbpf), {leaks} leak records "
          f"({leaks_ours} attributable)")
    for k, n in sorted(kinds.items(), key=lambda kv: -kv[1])[:12]:
        print(f"  {n:5d}  {k}")
    for name, b in shown:
        print(f"--- {name}")
        print("\n".join(b[:30]))
    return 1 if (ours or leaks_ours) else 0


if __name__ == "__main__":
    sys.exit(main())
