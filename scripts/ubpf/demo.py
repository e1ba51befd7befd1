#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""filter-ubpf demo: real packets through QEMU, no guest needed.

QEMU gets two dgram netdevs joined by a hub: what arrives on netdev "in"
(UDP port IN_PORT on loopback) goes through filter-ubpf and the hub to
netdev "out", which sends it to OUT_PORT where this script listens.  The
script sends a mix of Ethernet frames, prints what arrived and the filter's
counters, replaces the program over QMP, and does it again.  Last, an
unchanged xdp-tools program (xdp-filter's object, scripts/ubpf/xdp-filter.py)
drops UDP to port 53 by a rule set over QMP.

Usage: demo.py QEMU_BUILD_DIR
"""

import json
import os
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402  pylint: disable=wrong-import-position

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PROGS = os.path.join(REPO, "tests", "data", "ubpf")
IN_PORT, QEMU_IN_REMOTE, QEMU_OUT_LOCAL, OUT_PORT = 47201, 47202, 47203, 47204


def frame(dst_ip, proto, dport, tag):
    """An Ethernet frame with an IPv4 packet to dst_ip (TCP or UDP)."""
    macs = bytes.fromhex("525400123456" "525400123457")
    src = bytes([10, 0, 2, 15])
    dst = bytes(int(x) for x in dst_ip.split("."))
    if proto == "udp":
        l4 = struct.pack("!HHHH", 40000, dport, 8 + 4, 0) + tag
        pnum = 17
    else:
        l4 = struct.pack("!HHIIBBHHH", 40000, dport, 1, 0, 5 << 4, 0x02, 8192, 0, 0) + tag
        pnum = 6
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(l4), 0, 0, 64, pnum, 0, src, dst)
    return macs + b"\x08\x00" + ip + l4


def arp_frame(tag):
    body = struct.pack("!HHBBH", 1, 0x0800, 6, 4, 1) + bytes(20) + tag
    return bytes.fromhex("ffffffffffff" "525400123456") + b"\x08\x06" + body


TRAFFIC = [
    ("UDP to 1.1.1.1:53 (DNS)", frame("1.1.1.1", "udp", 53, b"dns1")),
    ("UDP to 8.8.8.8:53 (DNS)", frame("8.8.8.8", "udp", 53, b"dns8")),
    ("TCP to 1.1.1.1:443 (HTTPS)", frame("1.1.1.1", "tcp", 443, b"web1")),
    ("TCP to 93.184.216.34:80 (HTTP)", frame("93.184.216.34", "tcp", 80, b"http")),
    ("UDP to 10.0.0.5:9999", frame("10.0.0.5", "udp", 9999, b"9999")),
    ("TCP to 10.0.0.5:6667 (IRC)", frame("10.0.0.5", "tcp", 6667, b"irc!")),
    ("ARP who-has", arp_frame(b"arp!")),
]


def compile_prog(name, outdir):
    return common.compile_bpf(os.path.join(PROGS, name),
                              os.path.join(outdir, name.replace(".bpf.c", ".o")))


def run_round(qmp, tx, rx, title):
    print(f"\n== {title}")
    before = qmp.counters()
    arrived = set()
    for label, data in TRAFFIC:
        tx.sendto(data, ("127.0.0.1", IN_PORT))
        time.sleep(0.01)                # pace: socket buffers are small
    deadline = time.time() + 2
    rx.settimeout(0.2)
    while time.time() < deadline and len(arrived) < len(TRAFFIC):
        try:
            data, _ = rx.recvfrom(2048)
        except socket.timeout:
            continue
        arrived.add(data)
    for label, data in TRAFFIC:
        print(f"  {label:32s} {'arrived' if data in arrived else 'DROPPED'}")
    after = qmp.counters()
    delta = {k: after[k] - before[k] for k in after}
    print(f"  filter counters (this round): packets={delta['packets']} passed={delta['passed']} "
          f"dropped={delta['dropped']} errors={delta['errors']}")
    print(f"  sent {len(TRAFFIC)}, arrived {len(arrived)}, dropped by the filter {delta['dropped']}"
          f" -> {'accounted for' if len(arrived) + delta['dropped'] == len(TRAFFIC) else 'MISMATCH'}")
    return len(arrived) + delta["dropped"] == len(TRAFFIC)


def main():
    build = os.path.abspath(sys.argv[1])
    qemu = os.path.join(build, "qemu-system-x86_64")
    tmp = tempfile.mkdtemp(prefix="filter-ubpf-demo-")
    try:
        ip_dst = compile_prog("ip_dst.bpf.c", tmp)
        port_allow = compile_prog("port_allow.bpf.c", tmp)
        qmp_path = os.path.join(tmp, "qmp.sock")
        args = common.hub_rig(
            qemu, qmp_path, (IN_PORT, QEMU_IN_REMOTE, QEMU_OUT_LOCAL, OUT_PORT),
            f"id=f0,netdev=in,queue=tx,ip-mode=on,ubpf-handler={ip_dst}")
        print("$ " + " ".join(args).replace(tmp + "/", ""))
        qemu_proc = subprocess.Popen(args)
        ok = True
        try:
            qmp = common.Qmp(build, qmp_path, qemu_proc)
            props = qmp.cmd("qom-list", path="/objects/f0")["return"]
            print("\n$ qom-list /objects/f0")
            print("  " + ", ".join(f"{p['name']} ({p['type']})" for p in props
                                   if not p["type"].startswith("child<")))
            tx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            tx.bind(("127.0.0.1", QEMU_IN_REMOTE))
            rx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            rx.bind(("127.0.0.1", OUT_PORT))
            ok &= run_round(qmp, tx, rx,
                            "program 1: ip_dst.bpf.c, the original series' example: "
                            "drop IPv4 packets to 1.1.1.1")
            print("\n$ qom-set /objects/f0 ubpf-handler port_allow.o  "
                  "(loaded and checked first, then swapped in)")
            rsp = qmp.cmd("qom-set", path="/objects/f0", property="ubpf-handler",
                          value=port_allow)
            print(f"  -> {json.dumps(rsp)}")
            ok &= run_round(qmp, tx, rx,
                            "program 2: port_allow.bpf.c: TCP/UDP only to ports "
                            "22, 53, 80, 443")
            print("\n$ qom-set /objects/f0 ubpf-handler /etc/hostname  (not an ELF object)")
            rsp = qmp.cmd("qom-set", path="/objects/f0", property="ubpf-handler",
                          value="/etc/hostname")
            print(f"  -> {rsp.get('error', {}).get('desc', rsp)}")
            ok &= run_round(qmp, tx, rx, "after the failed replacement: program 2 still runs")
            total = qmp.counters()
            print(f"\nfilter totals: {json.dumps(total)}")
            qmp.cmd("quit")
        finally:
            try:
                qemu_proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                qemu_proc.kill()
        print("\n== an unchanged xdp-tools program: xdp-filter's xdpfilt_alw_udp.o, "
              "its filter_ports map filled over QMP (scripts/ubpf/xdp-filter.py)",
              flush=True)
        ok &= subprocess.run([sys.executable,
                              os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                           "xdp-filter.py"), build, "--quiet"],
                             check=False).returncode == 0
        return 0 if ok else 1
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
