# SPDX-License-Identifier: GPL-2.0-or-later
"""Shared pieces of the robustness scripts: a guest-less QEMU with two dgram
netdevs joined by a hub, a QMP client, frames, and clang.

What the test sends to netdev "in" goes through the filters on "in" (queue
tx) and the hub to netdev "out", which sends it to the test's receive
socket.  Every port is picked free at start-up, so several rigs (and the
demo) can run at once.
"""

import os
import socket
import struct
import subprocess
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))))
PROGS = os.path.join(REPO, "tests", "data", "ubpf")
CORPUS = os.path.join(PROGS, "bad")
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import common  # noqa: E402  pylint: disable=wrong-import-position


QmpError = common.QmpError


class Qmp(common.Qmp):
    """QEMU's QMP client (scripts/ubpf/common.py) that also times every
    command: the soak reports the slowest round trip."""

    def __init__(self, build, path, proc, timeout=60):
        self.max_rtt = 0.0
        self.commands = 0
        super().__init__(build, path, proc, timeout)

    def cmd(self, name, **args):
        t0 = time.perf_counter()
        rsp = super().cmd(name, **args)
        self.max_rtt = max(self.max_rtt, time.perf_counter() - t0)
        self.commands += 1
        return rsp

    def get(self, obj, prop):
        return self.ok("qom-get", path=f"/objects/{obj}", property=prop)


def free_port():
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class Rig:
    """QEMU with netdevs in/out joined by a hub; `filters` are -object
    option strings for filters on "in"."""

    def __init__(self, build, filters=(), wrapper=(), qmp_timeout=60):
        self.tmp = tempfile.mkdtemp(prefix="filter-ubpf-robust-")
        self.tx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.tx.bind(("127.0.0.1", 0))
        self.rx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.rx.bind(("127.0.0.1", 0))
        self.rx.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
        self.in_port = free_port()
        qmp_path = os.path.join(self.tmp, "qmp.sock")
        dgram = ("dgram,id={id},local.type=inet,local.host=127.0.0.1,local.port={l},"
                 "remote.type=inet,remote.host=127.0.0.1,remote.port={r}")
        args = list(wrapper) + [
            os.path.join(build, "qemu-system-x86_64"), "-M", "none", "-display", "none",
            "-nodefaults", "-qmp", f"unix:{qmp_path},server=on,wait=off",
            "-netdev", dgram.format(id="in", l=self.in_port, r=self.tx.getsockname()[1]),
            "-netdev", dgram.format(id="out", l=free_port(), r=self.rx.getsockname()[1]),
            "-netdev", "hubport,id=h0,hubid=0,netdev=in",
            "-netdev", "hubport,id=h1,hubid=0,netdev=out"]
        for f in filters:
            args += ["-object", f]
        self.log = open(os.path.join(self.tmp, "qemu.log"), "w+")
        self.proc = subprocess.Popen(args, stdout=self.log, stderr=subprocess.STDOUT)
        try:
            self.qmp = Qmp(build, qmp_path, self.proc, timeout=qmp_timeout)
        except Exception:
            self.close()
            raise

    def alive(self):
        return self.proc.poll() is None

    def output(self):
        self.log.flush()
        self.log.seek(0)
        return self.log.read()

    def send(self, frame):
        self.tx.sendto(frame, ("127.0.0.1", self.in_port))

    def recv_until(self, wanted, timeout=3.0):
        """Receive frames until `wanted` arrived; return the set of frames
        received (including `wanted` if it came)."""
        got = []
        deadline = time.time() + timeout
        while time.time() < deadline:
            self.rx.settimeout(max(0.01, deadline - time.time()))
            try:
                data, _ = self.rx.recvfrom(65536)
            except socket.timeout:
                break
            got.append(data)
            if data == wanted:
                break
        return got

    def close(self):
        try:
            if self.alive():
                try:
                    self.qmp.cmd("quit")
                except Exception:
                    pass
                try:
                    self.proc.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    self.proc.kill()
                    self.proc.wait()
        finally:
            self.tx.close()
            self.rx.close()


def udp_frame(dport, payload, src_port=40000):
    """An Ethernet/IPv4/UDP frame from 10.0.0.1 to 10.0.0.2:dport."""
    macs = bytes.fromhex("525400123456" "525400123457")
    l4 = struct.pack("!HHHH", src_port, dport, 8 + len(payload), 0) + payload
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(l4), 1, 0x4000, 64, 17, 0,
                     bytes([10, 0, 0, 1]), bytes([10, 0, 0, 2]))
    return macs + b"\x08\x00" + ip + l4


def corpus_packet():
    """The frame run cases of the corpus get (as in rust/ubpf/tests/corpus.rs)."""
    f = udp_frame(7, b"")
    f = f[:16] + struct.pack("!H", 50) + f[18:]          # IPv4 total length 50
    f = f[:38] + struct.pack("!H", 30) + f[40:]          # UDP length 30
    return f + b"x" * (64 - len(f))


def compile_prog(name, outdir):
    """Compile tests/data/ubpf/NAME.bpf.c into OUTDIR/NAME.o."""
    return common.compile_bpf(os.path.join(PROGS, name + ".bpf.c"),
                              os.path.join(outdir, name + ".o"))


def read_manifest(path=os.path.join(CORPUS, "EXPECT")):
    """[(file, stage, result, message, bug)] from the corpus manifest."""
    cases = []
    with open(path) as f:
        for line in f:
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            cols = [c.strip() for c in line.split(" | ")]
            stage, result = cols[1].split(" ", 1)
            cases.append((cols[0], stage, result, cols[2], len(cols) > 3 and cols[3] == "bug"))
    return cases
