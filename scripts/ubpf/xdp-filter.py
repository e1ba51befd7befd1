#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""An unchanged xdp-tools program under filter-ubpf: xdp-filter's
compiled XDP object, as Debian's xdp-tools package installs it, filled over
QMP the way `xdp-filter port 53 --mode dst --proto udp` fills it in the
kernel.

The rig is the demo's (scripts/ubpf/demo.py): two dgram netdevs joined by
a hub; what this script sends to netdev "in" goes through filter-ubpf and
the hub to netdev "out", which sends it back to this script.

xdp-filter's default policy is "allow" (packets matching no rule pass),
so `xdp-filter load --features udp` loads xdpfilt_alw_udp.o.  Its
filter_ports map (a per-CPU array of 65536 u64, pinned by name) is indexed
by the port in network byte order zero-extended to a u32; each value holds
the rule's mode flags (MAP_FLAG_SRC 1, MAP_FLAG_DST 2, MAP_FLAG_TCP 4,
MAP_FLAG_UDP 8) in its low bits and a hit counter from bit 6 up.  The
program counts every verdict in xdp_stats_map (a per-CPU array indexed by
the XDP action, values { u64 rx_packets; u64 rx_bytes; }).  The engine
runs per-CPU maps with one CPU, so each value is one u64 (or one record).

Exits 0 with a SKIP message when xdp-tools' objects are not installed and
cannot be installed.  XDP_FILTER_OBJ names another object to load.

Usage: xdp-filter.py QEMU_BUILD_DIR [--quiet]
  --quiet: print the traffic, the counters and the summary only (the demo)
"""

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

IN_PORT, QEMU_IN_REMOTE, QEMU_OUT_LOCAL, OUT_PORT = 47211, 47212, 47213, 47214
OBJ_NAME = "xdpfilt_alw_udp.o"
MAP_FLAG_DST, MAP_FLAG_UDP = 1 << 1, 1 << 3
COUNTER_SHIFT = 6
XDP_DROP, XDP_PASS = 1, 2


def obj_dirs():
    multiarch = subprocess.run(["gcc", "-print-multiarch"], capture_output=True,
                               text=True, check=False).stdout.strip() or "x86_64-linux-gnu"
    return [f"/usr/lib/{multiarch}/bpf", "/usr/lib/bpf", "/usr/local/lib/bpf"]


def find_object():
    """xdp-filter's object: XDP_FILTER_OBJ, else where xdp-tools installs
    it, installing the package first if it is missing and we can."""
    if os.environ.get("XDP_FILTER_OBJ"):
        path = os.environ["XDP_FILTER_OBJ"]
        return path if os.path.isfile(path) else None

    def look():
        for d in obj_dirs():
            if os.path.isfile(os.path.join(d, OBJ_NAME)):
                return os.path.join(d, OBJ_NAME)
        return None

    path = look()
    if path is None and os.geteuid() == 0 and shutil.which("apt-get"):
        print("xdp-tools is not installed: apt-get install xdp-tools", flush=True)
        subprocess.run(["apt-get", "-o", "DPkg::Lock::Timeout=600", "install", "-y",
                        "-q", "xdp-tools"], check=False,
                       stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
        path = look()
    return path


def udp_frame(dport, tag, sport=40000):
    """An Ethernet frame with an IPv4 UDP datagram to 10.0.2.2:dport."""
    macs = bytes.fromhex("525400123456" "525400123457")
    l4 = struct.pack("!HHHH", sport, dport, 8 + len(tag), 0) + tag
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(l4), 0, 0, 64, 17, 0,
                     bytes([10, 0, 2, 15]), bytes([10, 0, 2, 2]))
    return macs + b"\x08\x00" + ip + l4


def tcp_frame(dport, tag):
    macs = bytes.fromhex("525400123456" "525400123457")
    l4 = struct.pack("!HHIIBBHHH", 40000, dport, 1, 0, 5 << 4, 0x02, 8192, 0, 0) + tag
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(l4), 0, 0, 64, 6, 0,
                     bytes([10, 0, 2, 15]), bytes([10, 0, 2, 2]))
    return macs + b"\x08\x00" + ip + l4


# (label, frame, expected to be dropped)
TRAFFIC = [
    ("UDP to port 53 (DNS) #1", udp_frame(53, b"dns-1"), True),
    ("UDP to port 53 (DNS) #2", udp_frame(53, b"dns-2"), True),
    ("UDP to port 53 (DNS) #3", udp_frame(53, b"dns-3"), True),
    ("UDP to port 5353 (mDNS)", udp_frame(5353, b"mdns"), False),
    ("UDP to port 123 (NTP)", udp_frame(123, b"ntp!"), False),
    ("UDP from port 53 to 40000", udp_frame(40000, b"reply", sport=53), False),
    ("TCP to port 53", tcp_frame(53, b"tcp53"), False),
]


def u32_key(n):
    return struct.pack("<I", n).hex()


def dump_one(qmp, mapname, key):
    page = qmp.ok("x-filter-ubpf-dump-map", id="f0", map=mapname, start=key, count=1)
    entries = page["entries"] if isinstance(page, dict) else page
    return bytes.fromhex(entries[0]["value"])


def write_pcap(path, frames):
    """A pcap file (Ethernet link type) holding `frames`, as tcpdump -w
    writes one."""
    with open(path, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xa1b2c3d4, 2, 4, 0, 0, 65535, 1))
        for i, data in enumerate(frames):
            f.write(struct.pack("<IIII", 1700000000 + i, 0, len(data), len(data)))
            f.write(data)


def offline(obj, pcap, updates):
    """ubpf-run on `pcap` with the maps set as `updates` (map, key, value)
    says: (per-packet verdict lines, counters by name)."""
    repo = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    cargo = shutil.which("cargo") or os.path.expanduser("~/.cargo/bin/cargo")
    args = [cargo, "run", "-q", "--manifest-path",
            os.path.join(repo, "rust", "ubpf", "Cargo.toml"), "--bin", "ubpf-run", "--",
            obj, "--pcap", pcap]
    for m, k, v in updates:
        args += ["--map-update", m, k, v]
    out = subprocess.run(args, capture_output=True, text=True, check=False)
    if out.returncode != 0:
        raise RuntimeError(f"ubpf-run failed ({out.returncode}): {out.stdout}{out.stderr}")
    verdicts = [l.split(": ", 2)[2] for l in out.stdout.splitlines()
                if l.startswith("packet ")]
    counters = {}
    for line in out.stdout.splitlines():
        if line.startswith("filter counters: "):
            for item in line[len("filter counters: "):].split(", "):
                name, value = item.rsplit(" ", 1)
                counters[name] = int(value)
    return verdicts, counters


def main():
    argv = [a for a in sys.argv[1:] if a != "--quiet"]
    quiet = "--quiet" in sys.argv[1:]
    if len(argv) != 1:
        print("Usage: xdp-filter.py QEMU_BUILD_DIR [--quiet]", file=sys.stderr)
        return 2
    build = os.path.abspath(argv[0])

    def say(*a, **k):
        if not quiet:
            print(*a, **k)

    qemu = os.path.join(build, "qemu-system-x86_64")
    obj = find_object()
    if obj is None:
        print(f"SKIP: xdp-tools' {OBJ_NAME} is not installed (looked in "
              f"{', '.join(obj_dirs())}) and could not be installed "
              f"(apt-get install xdp-tools); set XDP_FILTER_OBJ to use another copy")
        return 0
    print(f"xdp-filter's object, unchanged: {obj}")
    print("rule: xdp-filter port 53 --mode dst --proto udp, as QMP map updates")

    tmp = tempfile.mkdtemp(prefix="filter-ubpf-xdpfilter-")
    qmp_path = os.path.join(tmp, "qmp.sock")
    args = common.hub_rig(
        qemu, qmp_path, (IN_PORT, QEMU_IN_REMOTE, QEMU_OUT_LOCAL, OUT_PORT),
        f"id=f0,netdev=in,queue=tx,ubpf-handler={obj}")
    say("$ " + " ".join(args).replace(tmp + "/", ""), flush=True)
    proc = subprocess.Popen(args)
    failures = []

    def check(cond, what):
        if not quiet or not cond:
            print(f"  {'ok  ' if cond else 'FAIL'} {what}")
        if not cond:
            failures.append(what)

    try:
        qmp = common.Qmp(build, qmp_path, proc)
        ptype = qmp.ok("qom-get", path="/objects/f0", property="prog-type")
        say(f"  program type: {ptype}")
        maps = qmp.ok("x-filter-ubpf-list-maps", id="f0")
        for m in maps:
            say(f"  map {m['name']}: {m['type']}, key {m['key-size']} bytes, "
                  f"value {m['value-size']} bytes, {m['max-entries']} entries")
        names = {m["name"] for m in maps}
        check({"filter_ports", "xdp_stats_map"} <= names,
              "the program has filter_ports and xdp_stats_map")

        # xdp-filter port 53 --mode dst --proto udp: key htons(53) as a
        # u32, value the flags with a zero hit counter
        key53 = u32_key(socket.htons(53))
        value = struct.pack("<Q", MAP_FLAG_DST | MAP_FLAG_UDP).hex()
        say(f"\n$ x-filter-ubpf-update-map f0 filter_ports key {key53} value {value}"
              "   (= xdp-filter port 53 --mode dst --proto udp)")
        qmp.ok("x-filter-ubpf-update-map", id="f0", map="filter_ports",
               key=key53, value=value)

        tx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        tx.bind(("127.0.0.1", QEMU_IN_REMOTE))
        rx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        rx.bind(("127.0.0.1", OUT_PORT))
        before = qmp.counters()
        stats_before = {a: dump_one(qmp, "xdp_stats_map", u32_key(a))
                        for a in (XDP_DROP, XDP_PASS)}
        for _, data, _ in TRAFFIC:
            tx.sendto(data, ("127.0.0.1", IN_PORT))
            time.sleep(0.01)
        arrived = set()
        want = sum(1 for t in TRAFFIC if not t[2])
        deadline = time.time() + 2
        rx.settimeout(0.2)
        while time.time() < deadline and len(arrived) < want:
            try:
                data, _ = rx.recvfrom(2048)
            except socket.timeout:
                continue
            arrived.add(data)
        # let anything that should not have arrived show up
        rx.settimeout(0.3)
        try:
            while True:
                arrived.add(rx.recvfrom(2048)[0])
        except socket.timeout:
            pass

        print("\n== traffic through the filter")
        for label, data, drop in TRAFFIC:
            got = data in arrived
            print(f"  {label:28s} {'arrived' if got else 'DROPPED'}"
                  f"{'' if got != drop else '   <-- expected the opposite'}")
            if got == drop:
                failures.append(label)
        dropped = [t for t in TRAFFIC if t[2]]
        passed = [t for t in TRAFFIC if not t[2]]

        after = qmp.counters()
        delta = {k: after[k] - before[k] for k in after}
        print(f"\n== filter counters: packets={delta['packets']} passed={delta['passed']} "
              f"dropped={delta['dropped']} errors={delta['errors']}")
        check(delta["packets"] == len(TRAFFIC), f"packets == {len(TRAFFIC)} sent")
        check(delta["dropped"] == len(dropped), f"dropped == {len(dropped)}")
        check(delta["passed"] == len(passed), f"passed == {len(passed)}")
        check(delta["errors"] == 0, "errors == 0")

        v = struct.unpack("<Q", dump_one(qmp, "filter_ports", key53))[0]
        hits, flags = v >> COUNTER_SHIFT, v & ((1 << COUNTER_SHIFT) - 1)
        say(f"\n== filter_ports[htons(53)]: flags 0x{flags:x} (dst,udp), "
              f"hit counter {hits}   (xdp-filter status would show it)")
        check(flags == MAP_FLAG_DST | MAP_FLAG_UDP, "rule flags unchanged")
        check(hits == len(dropped), f"hit counter == {len(dropped)}")

        say("\n== xdp_stats_map (xdp-filter's per-action statistics)")
        for action, name, frames in ((XDP_DROP, "XDP_DROP", dropped),
                                     (XDP_PASS, "XDP_PASS", passed)):
            p0, b0 = struct.unpack("<QQ", stats_before[action])
            p1, b1 = struct.unpack("<QQ", dump_one(qmp, "xdp_stats_map", u32_key(action)))
            nbytes = sum(len(t[1]) for t in frames)
            say(f"  {name}: {p1 - p0} packets, {b1 - b0} bytes")
            check(p1 - p0 == len(frames), f"{name} packets == {len(frames)}")
            check(b1 - b0 == nbytes, f"{name} bytes == {nbytes}")
        stats_drop = (struct.unpack("<Q", dump_one(qmp, "xdp_stats_map",
                                                   u32_key(XDP_DROP))[:8])[0]
                      - struct.unpack("<Q", stats_before[XDP_DROP][:8])[0])
        check(delta["dropped"] == stats_drop,
              "xdp_stats_map's XDP_DROP count == the filter's dropped counter")

        print(f"  filter_ports[53] hit counter {hits}, xdp_stats_map XDP_DROP {stats_drop}")

        # the same frames offline: a capture of them through ubpf-run, with
        # the same rule, gives the filter's verdicts and counters
        pcap = os.path.join(tmp, "traffic.pcap")
        write_pcap(pcap, [t[1] for t in TRAFFIC])
        verdicts, offline_counters = offline(obj, pcap, [("filter_ports", key53, value)])
        say("\n== offline: ubpf-run on a pcap of the same frames, same rule")
        for (label, data, _), verdict in zip(TRAFFIC, verdicts):
            say(f"  {label:28s} {verdict}")
            check(verdict.startswith("XDP_DROP") == (data not in arrived),
                  f"ubpf-run: {label}: {verdict.split(' ')[0]}, as the filter")
        check(len(verdicts) == len(TRAFFIC), f"ubpf-run ran {len(TRAFFIC)} packets")
        # the filter started with no traffic: its other counters are this run's
        for k in ("aborted", "tx", "redirected", "truncated", "unfiltered"):
            delta[k] = qmp.ok("qom-get", path="/objects/f0", property=k)
        for k in delta:
            check(offline_counters.get(k) == delta[k],
                  f"ubpf-run's {k} ({offline_counters.get(k)}) == the filter's ({delta[k]})")
        print(f"\nxdp-filter.py: sent {len(TRAFFIC)}, dropped {delta['dropped']} "
              f"(UDP to port 53), passed {delta['passed']}: "
              f"{'OK' if not failures else 'FAILED: ' + '; '.join(failures)}")
        qmp.cmd("quit")
    finally:
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        shutil.rmtree(tmp, ignore_errors=True)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
