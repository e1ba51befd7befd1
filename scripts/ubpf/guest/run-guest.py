#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""filter-ubpf with a real guest: Linux boots under QEMU (TCG), its traffic
goes through filter-ubpf, and the program is replaced, then the filter
removed, over QMP while the guest runs.

The guest (make-guest.sh: Debian's kernel, busybox-static, ./init) gets an
address from slirp's DHCP and, at each step, tries four things at once
towards the slirp gateway 10.0.2.2 (the host's loopback for UDP and TCP):

    ping 10.0.2.2                          ICMP echo, answered by slirp
    tftp 10.0.2.2 PORT_A / PORT_B          a UDP exchange with each of two
                                           TFTP responders of this script
    nc 10.0.2.2 PORT_T                     a TCP connection to this script

and prints "UBPF-MARK step=N icmp=ok|fail udp_a=... udp_b=... tcp=...".

    step 1  guest_drop_icmp.bpf.c          ping fails, UDP and TCP work
    (qom-set ubpf-handler)
    step 2  guest_drop_udp_port.bpf.c      ping works, UDP to PORT_B fails,
            (built with PORT_B)            UDP to PORT_A and TCP work
    (object-del)
    step 3  no filter                      everything works

The filter sits on the slirp netdev with queue=rx: the packets sent *to*
the netdev, i.e. what the guest's NIC transmits.  Two filter-dump objects
record the same queue before and after filter-ubpf, so the script knows
what the filter decided for every packet; it checks that against the
program's rule, the guest's markers, what the host servers received and
the filter's counters (packets, passed, dropped, errors).  The VM is
paused while a step's figures are read, so they are one snapshot.

Usage: run-guest.py QEMU_BUILD_DIR [--assert] [--queue rx|tx] [--interpreter]
                    [--console-log FILE] [--keep]

Without --assert the transcript is printed and only a scenario that
cannot run (guest does not boot, QEMU dies) exits non-zero; with --assert
(the acceptance test) any marker, counter or decision that is not as
expected makes it exit 1.  Exit 0 after "SKIP: ..." when the Debian kernel
package cannot be had.
"""

import argparse
import json
import os
import queue
import re
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(os.path.dirname(HERE)))
sys.path.insert(0, os.path.dirname(HERE))
import common  # noqa: E402  pylint: disable=wrong-import-position
from common import COUNTERS  # noqa: E402  pylint: disable=wrong-import-position
PROGS = os.path.join(REPO, "tests", "data", "ubpf")
GW = "10.0.2.2"
BOOT_TIMEOUT = 150          # s, QEMU start to UBPF-READY (TCG)
STEP_TIMEOUT = 60           # s, command to UBPF-MARK


class ScenarioError(Exception):
    """The scenario cannot go on (as opposed to a failed check)."""


# ---------------------------------------------------------------- QEMU

def connect_unix(path, what, proc, timeout=20):
    """Connect to QEMU's socket `path` while QEMU (`proc`) starts."""
    deadline = time.monotonic() + timeout
    while True:
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            s.connect(path)
            return s
        except OSError:
            s.close()
            if proc.poll() is not None:
                raise ScenarioError(f"QEMU exited (status {proc.returncode}) before"
                                    f" {what} was up")
            if time.monotonic() > deadline:
                raise ScenarioError(f"cannot connect to {what} at {path}")
            time.sleep(0.02)


# ---------------------------------------------------------------- the guest's serial ports

class Console(threading.Thread):
    """ttyS0: kernel messages and the guest's UBPF-* lines, kept in a log."""

    def __init__(self, path, log, proc):
        super().__init__(daemon=True)
        self.sock = connect_unix(path, "the serial console", proc)
        self.log = log
        self.lines = queue.Queue()

    def run(self):
        buf = b""
        while True:
            try:
                data = self.sock.recv(4096)
            except OSError:
                data = b""
            if not data:
                self.lines.put(None)
                return
            self.log.write(data)
            self.log.flush()
            buf += data
            while b"\n" in buf:
                line, buf = buf.split(b"\n", 1)
                self.lines.put(line.decode(errors="replace").strip("\r\x00 "))

    def wait_for(self, tag, timeout):
        """The first line holding `tag` (e.g. "UBPF-MARK"), from the tag on."""
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise ScenarioError(f"no {tag} line from the guest within {timeout} s")
            try:
                line = self.lines.get(timeout=left)
            except queue.Empty:
                continue
            if line is None:
                raise ScenarioError(f"the guest's console closed while waiting for {tag}")
            for bad in ("UBPF-ERROR", "Kernel panic"):
                if bad in line:
                    raise ScenarioError(f"guest: {line[line.index(bad):]}")
            if tag in line:
                return line[line.index(tag):]


# ---------------------------------------------------------------- host servers

class TftpResponder(threading.Thread):
    """Answers every TFTP read request for FILE with one DATA block
    "udp-ok FILE\\n" (the guest's UDP exchange) and counts the requests."""

    def __init__(self):
        super().__init__(daemon=True)
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.requests = 0

    def run(self):
        while True:
            try:
                data, peer = self.sock.recvfrom(2048)
            except OSError:
                return
            if data[:2] == b"\0\1":                     # RRQ: name\0mode\0[options]
                self.requests += 1
                name = data[2:].split(b"\0", 1)[0]
                self.sock.sendto(b"\0\3\0\1udp-ok " + name + b"\n", peer)


class TcpResponder(threading.Thread):
    """Answers the first line of each connection with "tcp-ok LINE"."""

    def __init__(self):
        super().__init__(daemon=True)
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.port = self.sock.getsockname()[1]
        self.connections = 0

    def run(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.connections += 1
            threading.Thread(target=self.serve, args=(conn,), daemon=True).start()

    @staticmethod
    def serve(conn):
        with conn:
            conn.settimeout(15)
            try:
                line = conn.makefile("rb").readline()
                conn.sendall(b"tcp-ok " + line.strip() + b"\n")
            except OSError:
                pass


class TraceLog:
    """QEMU's trace file (-trace enable=filter_ubpf_*,file=...), read as it grows."""

    def __init__(self, path):
        self.path = path
        self.offset = 0

    def lines(self, wait=2.0):
        """The complete lines added since the last call (waits a little for one)."""
        deadline = time.monotonic() + wait
        while True:
            try:
                with open(self.path, "rb") as f:
                    f.seek(self.offset)
                    data = f.read()
            except FileNotFoundError:
                data = b""
            data = data[:data.rfind(b"\n") + 1]
            if data or time.monotonic() > deadline:
                self.offset += len(data)
                return data.decode(errors="replace").splitlines()
            time.sleep(0.05)


# ---------------------------------------------------------------- packets

def pcap_records(path, start=0):
    """Frames recorded by filter-dump in `path`, from record `start` on."""
    try:
        with open(path, "rb") as f:
            data = f.read()
    except FileNotFoundError:
        return []
    out, off = [], 24
    while off + 16 <= len(data):
        incl, = struct.unpack_from("<I", data, off + 8)
        if off + 16 + incl > len(data):
            break                                       # record being written
        out.append(data[off + 16:off + 16 + incl])
        off += 16 + incl
    return out[start:]


def ipv4(frame):
    """(ip header offset, protocol, l4 offset) of an Ethernet frame, or None."""
    if len(frame) < 34 or frame[12:14] != b"\x08\x00" or frame[14] >> 4 != 4:
        return None
    ihl = (frame[14] & 15) * 4
    return 14, frame[23], 14 + ihl


def describe(frame, names):
    ip = ipv4(frame)
    if ip is None:
        if frame[12:14] == b"\x08\x06":
            return "ARP " + ("request" if frame[21] == 1 else "reply")
        return f"ethertype 0x{frame[12:14].hex()}"
    _, proto, l4 = ip
    src = ".".join(str(b) for b in frame[26:30])
    dst = ".".join(str(b) for b in frame[30:34])
    if proto == 1:
        kind = {8: "echo request", 0: "echo reply"}.get(frame[l4], f"type {frame[l4]}")
        return f"ICMP {kind} {src} > {dst}"
    if proto in (6, 17) and len(frame) >= l4 + 4:
        sport, dport = struct.unpack_from("!HH", frame, l4)
        what = "UDP" if proto == 17 else "TCP"
        return f"{what} {src}:{names.get(sport, sport)} > {dst}:{names.get(dport, dport)}"
    return f"IPv4 protocol {proto} {src} > {dst}"


def summary(frames, names):
    """'3 x ARP request, 1 x ICMP echo request ...' in first-seen order."""
    counts = {}
    for f in frames:
        d = describe(f, names)
        counts[d] = counts.get(d, 0) + 1
    return [f"{n} x {d}" for d, n in counts.items()]


def multiset_minus(a, b):
    left = list(b)
    out = []
    for x in a:
        if x in left:
            left.remove(x)
        else:
            out.append(x)
    return out


def rule_drop_icmp(frame):
    ip = ipv4(frame)
    return ip is not None and ip[1] == 1


def rule_drop_udp_port(port):
    def rule(frame):
        ip = ipv4(frame)
        if ip is None or ip[1] != 17 or len(frame) < ip[2] + 4:
            return False
        if struct.unpack_from("!H", frame, 20)[0] & 0x1fff:
            return False
        return port in struct.unpack_from("!HH", frame, ip[2])
    return rule


# ---------------------------------------------------------------- the scenario

class Checks:
    def __init__(self):
        self.failed = []
        self.count = 0

    def __call__(self, ok, what):
        self.count += 1
        if not ok:
            self.failed.append(what)
            print(f"  UNEXPECTED: {what}")
        return ok


def compile_prog(src, out, defines=()):
    return common.compile_bpf(os.path.join(PROGS, src), out, defines)


def make_guest():
    proc = subprocess.run(["bash", os.path.join(HERE, "make-guest.sh")],
                          stdout=subprocess.PIPE, text=True)
    lines = proc.stdout.strip().splitlines()
    if proc.returncode == 77:
        print(lines[-1] if lines else "SKIP: no guest kernel")
        sys.exit(0)
    if proc.returncode != 0 or not lines:
        raise ScenarioError(f"make-guest.sh failed (exit {proc.returncode})")
    return lines[-1]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("build", help="QEMU build directory (build-qemu.sh prints it)")
    ap.add_argument("--assert", dest="check", action="store_true",
                    help="acceptance test: exit 1 unless everything is as expected")
    ap.add_argument("--queue", choices=("rx", "tx"), default="rx",
                    help="the filter's queue (default rx: what the guest sends)")
    ap.add_argument("--interpreter", dest="jit", action="store_false",
                    help="run the programs with jit=off (default: the JIT, "
                         "as for every verified program)")
    ap.add_argument("--console-log", help="keep the guest's serial console in this file")
    ap.add_argument("--keep", action="store_true", help="keep the work directory")
    args = ap.parse_args()
    sys.stdout.reconfigure(line_buffering=True)     # in order with QEMU's stderr

    t_start = time.monotonic()
    qemu = os.path.join(os.path.abspath(args.build), "qemu-system-x86_64")
    for _ in range(30):                   # the binary may be being relinked
        if os.access(qemu, os.X_OK):
            break
        time.sleep(2)
    else:
        raise ScenarioError(f"no QEMU at {qemu}")

    guest = make_guest()
    kernel_pkg = open(os.path.join(guest, "kernel.done")).read().strip()
    busybox = open(os.path.join(guest, "busybox.version")).read().strip()

    tmp = tempfile.mkdtemp(prefix="filter-ubpf-guest-")
    procs = []
    try:
        return scenario(args, qemu, guest, kernel_pkg, busybox, tmp, t_start, procs)
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()
        if args.keep:
            print(f"work directory kept: {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)


def scenario(args, qemu, guest, kernel_pkg, busybox, tmp, t_start, procs):
    check = Checks()
    tftp_a, tftp_b, tcp = TftpResponder(), TftpResponder(), TcpResponder()
    for s in (tftp_a, tftp_b, tcp):
        s.start()
    names = {tftp_a.port: f"{tftp_a.port}(udp_a)", tftp_b.port: f"{tftp_b.port}(udp_b)",
             tcp.port: f"{tcp.port}(tcp)", 67: "67(dhcp)", 68: "68(dhcp)"}

    prog1 = compile_prog("guest_drop_icmp.bpf.c", os.path.join(tmp, "guest_drop_icmp.o"))
    prog2 = compile_prog("guest_drop_udp_port.bpf.c",
                         os.path.join(tmp, "guest_drop_udp_port.o"),
                         [f"GUEST_UDP_PORT={tftp_b.port}"])

    q = args.queue
    traffic = "frames the guest sent" if q == "rx" else "frames sent to the guest"
    jit = ",jit=on" if args.jit else ",jit=off"
    dump_in, dump_out = os.path.join(tmp, "in.pcap"), os.path.join(tmp, "out.pcap")
    # A queue's filters run in list order for tx, in reverse order for rx:
    # list them so that "din" sees the packets before filter-ubpf, "dout" after.
    dumps = {n: f"filter-dump,id={n},netdev=n0,queue={q},file={p},maxlen=256"
             for n, p in (("din", dump_in), ("dout", dump_out))}
    order = ["din", "f0", "dout"] if q == "tx" else ["dout", "f0", "din"]
    objects = {**dumps, "f0": f"filter-ubpf,id=f0,netdev=n0,queue={q},ip-mode=on{jit},"
                              f"ubpf-handler={prog1}"}
    con_sock, ctl_sock, qmp_sock = (os.path.join(tmp, n) for n in ("con", "ctl", "qmp"))
    trace = TraceLog(os.path.join(tmp, "trace.log"))
    append = "console=ttyS0 ipv6.disable=1 panic=-1"
    cmd = [qemu, "-M", "q35", "-m", "256", "-nodefaults", "-display", "none", "-no-reboot",
           "-chardev", f"socket,id=con,path={con_sock},server=on,wait=off",
           "-chardev", f"socket,id=ctl,path={ctl_sock},server=on,wait=off",
           "-serial", "chardev:con", "-serial", "chardev:ctl",
           "-qmp", f"unix:{qmp_sock},server=on,wait=off",
           "-trace", f"enable=filter_ubpf_*,file={trace.path}",
           "-kernel", os.path.join(guest, "vmlinuz"),
           "-initrd", os.path.join(guest, "initrd.gz"),
           "-append", append,
           "-netdev", "user,id=n0",
           "-device", "virtio-net-pci,netdev=n0,romfile="]
    for name in order:
        cmd += ["-object", objects[name]]

    print(f"guest: {kernel_pkg} (vmlinuz {os.path.getsize(os.path.join(guest, 'vmlinuz')) >> 10}"
          f" KiB), {busybox} (initrd.gz {os.path.getsize(os.path.join(guest, 'initrd.gz')) >> 10}"
          " KiB)")
    print(f"host: TFTP responders on 127.0.0.1:{tftp_a.port} (udp_a) and :{tftp_b.port}"
          f" (udp_b), TCP server on :{tcp.port}; the guest reaches them at {GW}")
    shown = " ".join(a if " " not in a else repr(a) for a in cmd).replace(tmp + "/", "")
    print(f"$ {shown}")

    log = open(args.console_log or os.path.join(tmp, "console.log"), "wb")
    t_launch = time.monotonic()
    proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL)
    procs.append(proc)
    try:
        console = Console(con_sock, log, proc)
        console.start()
        ctl = connect_unix(ctl_sock, "the command port", proc)
        qmp = common.Qmp(args.build, qmp_sock, proc)

        ready = console.wait_for("UBPF-READY", BOOT_TIMEOUT)
        t_boot = time.monotonic() - t_launch
        uptime = re.search(r"uptime=([0-9.]+)", ready)
        print(f"\nguest booted: {ready}")
        print(f"  boot time (QEMU start to first marker): {t_boot:.1f} s"
              f" (guest uptime {uptime.group(1) if uptime else '?'} s)")
        qmp.cmd("stop")
        c = qmp.counters()
        n_in, n_out = len(pcap_records(dump_in)), len(pcap_records(dump_out))
        qmp.cmd("cont")
        loaded = trace.lines()
        for line in loaded:
            print(f"  trace: {line.replace(tmp + '/', '')}")
        check(any(f"jit {int(args.jit)}" in x for x in loaded if "filter_ubpf_loaded" in x),
              f"trace of the first load (want jit {int(args.jit)}): {loaded}")
        print(f"  filter f0 during boot (queue={q}): {fmt(c)}; "
              f"{n_in} frames before the filter, {n_out} after")
        check(c["dropped"] == 0 and c["errors"] == 0 and c["packets"] == n_in,
              f"boot: counters {c} with {n_in} frames seen (want dropped=0 errors=0"
              f" packets={n_in})")
        seen = (n_in, n_out)
        ports = (tcp.port, tftp_a.port, tftp_b.port)

        def step(n, title, expect, rule, filtered=True):
            nonlocal seen, c
            print(f"\n== step {n}: {title}")
            before_srv = (tftp_a.requests, tftp_b.requests, tcp.connections)
            t0 = time.monotonic()
            ctl.sendall(f"step {n} {GW} {ports[0]} {ports[1]} {ports[2]}\n".encode())
            mark = console.wait_for("UBPF-MARK", STEP_TIMEOUT)
            took = time.monotonic() - t0
            qmp.cmd("stop")
            got = dict(kv.split("=", 1) for kv in mark.split()[1:])
            after = qmp.counters() if filtered else None
            frames_in = pcap_records(dump_in, seen[0])
            frames_out = pcap_records(dump_out, seen[1])
            qmp.cmd("cont")
            seen = (seen[0] + len(frames_in), seen[1] + len(frames_out))
            srv = (tftp_a.requests - before_srv[0], tftp_b.requests - before_srv[1],
                   tcp.connections - before_srv[2])

            print(f"  guest: {mark}  ({took:.2f} s)")
            tried = {"icmp": f"ping {GW} (ICMP echo)",
                     "udp_a": f"UDP {GW}:{tftp_a.port} (TFTP read)",
                     "udp_b": f"UDP {GW}:{tftp_b.port} (TFTP read)",
                     "tcp": f"TCP {GW}:{tcp.port} (nc)"}
            for k, what in tried.items():
                res = got.get(k, "?")
                if res != expect[k]:
                    note = f"   <- UNEXPECTED: should {'work' if expect[k] == 'ok' else 'fail'}"
                else:
                    note = "   (as expected)" if res == "fail" else ""
                print(f"    {what:34s} {'works' if res == 'ok' else 'FAILS'}{note}")
                check(res == expect[k], f"step {n}: {k}={res}, expected {expect[k]}")
            print(f"  host servers got: {srv[0]} TFTP request(s) on udp_a, {srv[1]} on udp_b,"
                  f" {srv[2]} TCP connection(s)")
            dropped = multiset_minus(frames_in, frames_out)
            if filtered:
                print(f"  filter decisions on the {q} queue ({traffic}): {len(frames_in)} frames,"
                      f" {len(frames_out)} passed, {len(dropped)} dropped")
            else:
                print(f"  no filter on the {q} queue ({traffic}): {len(frames_in)} frames,"
                      f" {len(frames_out)} delivered")
            for line in summary(dropped, names):
                print(f"    dropped: {line}")
            for line in summary(frames_out, names):
                print(f"    passed:  {line}")
            want = [f for f in frames_in if rule(f)]
            check(sorted(dropped) == sorted(want),
                  f"step {n}: the filter dropped {summary(dropped, names)}, the rule says"
                  f" {summary(want, names)}")
            if filtered:
                delta = {k: after[k] - c[k] for k in COUNTERS}
                c = after
                print(f"  counters: {fmt(after)} (this step: {fmt(delta, '+')})")
                check(delta["packets"] == len(frames_in) and delta["dropped"] == len(dropped)
                      and delta["passed"] == len(frames_out) and delta["errors"] == 0,
                      f"step {n}: counter deltas {delta} vs {len(frames_in)} frames in,"
                      f" {len(frames_out)} passed")
                check((delta["dropped"] > 0) == bool(want),
                      f"step {n}: dropped +{delta['dropped']}, expected"
                      f" {'> 0' if want else '0'}")
            return srv

        t_steps = time.monotonic()
        # 1. drop ICMP
        step(1, f"guest_drop_icmp.o on queue={q}: drop ICMP, pass the rest",
             dict(icmp="fail", udp_a="ok", udp_b="ok", tcp="ok"), rule_drop_icmp)

        # 2. swap in "drop UDP port B" while the guest runs
        print(f"\n$ qom-set /objects/f0 ubpf-handler guest_drop_udp_port.o"
              f"   (built with -DGUEST_UDP_PORT={tftp_b.port})")
        rsp = qmp.cmd("qom-set", path="/objects/f0", property="ubpf-handler", value=prog2)
        print(f"  -> {json.dumps(rsp)}")
        swapped = trace.lines()
        for line in swapped:
            print(f"  trace: {line.replace(tmp + '/', '')}")
        check(rsp.get("return") == {}, f"qom-set ubpf-handler: {rsp}")
        check(any("replaced" in x for x in swapped), f"trace of the swap: {swapped}")
        now = qmp.cmd("qom-get", path="/objects/f0", property="ubpf-handler").get("return")
        check(now == prog2, f"qom-get ubpf-handler after the swap: {now}")
        srv = step(2, f"guest_drop_udp_port.o on queue={q}: drop UDP to/from port"
                      f" {tftp_b.port}", dict(icmp="ok", udp_a="ok", udp_b="fail", tcp="ok"),
                   rule_drop_udp_port(tftp_b.port))
        if q == "rx":
            check(srv[1] == 0, f"step 2: udp_b's server got {srv[1]} requests: the filter on"
                               " rx should have stopped them on their way out of the guest")
            print("  -> udp_b's requests never left QEMU: queue=rx filters what the guest sends")
        else:
            check(srv[1] > 0, "step 2: udp_b's server got no request: on tx only the"
                              " replies should be dropped")
            print("  -> udp_b's server got the requests, the guest never saw the replies:"
                  " queue=tx filters what the netdev sends to the guest")

        # 3. remove the filter
        print("\n$ object-del f0")
        rsp = qmp.cmd("object-del", id="f0")
        print(f"  -> {json.dumps(rsp)}")
        check(rsp.get("return") == {}, f"object-del f0: {rsp}")
        rsp = qmp.cmd("qom-get", path="/objects/f0", property="packets")
        check("error" in rsp, f"qom-get after object-del: {rsp}")
        print(f"  qom-get /objects/f0 packets -> {rsp.get('error', {}).get('desc', rsp)}")
        step(3, "no filter: everything passes",
             dict(icmp="ok", udp_a="ok", udp_b="ok", tcp="ok"), lambda f: False,
             filtered=False)
        t_scenario = time.monotonic() - t_steps

        ctl.sendall(b"poweroff\n")
        try:
            console.wait_for("UBPF-BYE", 20)
            proc.wait(timeout=30)
        except (ScenarioError, subprocess.TimeoutExpired):
            qmp.cmd("quit")
            proc.wait(timeout=30)
    except ScenarioError as e:
        print(f"\nERROR: {e}")
        if proc.poll() is not None:
            print(f"QEMU exited with status {proc.returncode}")
        log.flush()
        tail = open(log.name, "rb").read().decode(errors="replace").splitlines()[-25:]
        print("last lines of the guest console:\n  " + "\n  ".join(tail))
        return 1
    finally:
        log.close()

    wall = time.monotonic() - t_start
    print(f"\nboot to first marker {t_boot:.1f} s, the three steps {t_scenario:.1f} s,"
          f" QEMU ran {time.monotonic() - t_launch:.1f} s, total wall time {wall:.1f} s"
          f" (QEMU exit status {proc.returncode})")
    if check.failed:
        print(f"RESULT: {len(check.failed)} of {check.count} checks FAILED")
        return 1 if args.check else 0
    print(f"RESULT: all {check.count} checks passed")
    return 0


def fmt(c, sign=""):
    return " ".join(f"{k}={sign}{c[k]}" for k in COUNTERS)


if __name__ == "__main__":
    try:
        sys.exit(main())
    except ScenarioError as e:
        print(f"ERROR: {e}")
        sys.exit(1)
