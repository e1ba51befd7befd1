#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Write the fuzz seeds rust/ubpf/fuzz/corpus/<target>/ from the clang
objects of tests/data/ubpf (committed; rerun after changing a program).

load_elf gets whole objects; check_bytecode an options byte + the program
section's bytecode; run_accepted an options byte, a packet length, a packet
and the bytecode (see the targets' documentation).
"""

import os
import struct
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import rig  # noqa: E402

OUT = os.path.join(rig.REPO, "rust", "ubpf", "fuzz", "corpus")
# (source, debug info): small programs without bpf-to-bpf calls first
PROGRAMS = [("arp_only", False), ("ip_dst", False), ("port_allow", False),
            ("robust_marker", False), ("robust_tag", False), ("call", False),
            ("maps_legacy", False), ("maps_blocklist", True), ("two_progs", False)]


def section(data, name):
    shoff, = struct.unpack_from("<Q", data, 0x28)
    shentsize, shnum, shstrndx = struct.unpack_from("<HHH", data, 0x3a)
    sh = [struct.unpack_from("<IIQQQQIIQQ", data, shoff + i * shentsize)
          for i in range(shnum)]
    strs = sh[shstrndx][4]
    for s in sh:
        end = data.index(b"\0", strs + s[0])
        if data[strs + s[0]:end].decode() == name:
            return data[s[4]:s[4] + s[5]]
    return None


def write(target, name, data):
    d = os.path.join(OUT, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def main():
    frame = rig.udp_frame(9, b"Dseed")
    with tempfile.TemporaryDirectory() as tmp:
        multiarch = subprocess.run(["clang", "-print-multiarch"], capture_output=True,
                                   text=True).stdout.strip()
        for prog, debug in PROGRAMS:
            out = os.path.join(tmp, prog + ".o")
            subprocess.run(["clang", "-O2"] + (["-g"] if debug else []) +
                           ["-target", "bpf", f"-I/usr/include/{multiarch}", "-I", rig.PROGS,
                            "-c", os.path.join(rig.PROGS, prog + ".bpf.c"), "-o", out],
                           check=True)
            data = open(out, "rb").read()
            write("load_elf", prog + ".o", data)
            code = section(data, "ubpf")
            if code is None or prog in ("call", "maps_legacy", "maps_blocklist"):
                continue                # relocations needed: ELF seeds only
            write("check_bytecode", prog, bytes([14 << 1]) + code)
            write("run_accepted", prog,
                  bytes([0]) + struct.pack("<H", len(frame)) + frame + code)
    # a bounded loop, for the verifier: r0 = 0; r0 += 1; if r0 < 10 goto -2
    loop = (struct.pack("<BBhi", 0xb7, 0, 0, 0) + struct.pack("<BBhi", 0x07, 0, 0, 1)
            + struct.pack("<BBhi", 0xa5, 0, -2, 10) + struct.pack("<BBhi", 0x95, 0, 0, 0))
    write("check_bytecode", "bounded_loop", bytes([28]) + loop)
    write("run_accepted", "bounded_loop", bytes([0, 14, 0]) + frame[:14] + loop)
    print(f"seeds written to {OUT}")


if __name__ == "__main__":
    main()
