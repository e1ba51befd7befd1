#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""filter-ubpf packet-path benchmark: real packets through QEMU, no guest.

QEMU (-M none) gets two dgram netdevs joined by a hub, as in
scripts/ubpf/demo.py: frames sent to netdev "in" go through the filter
under test (queue=tx of "in") and the hub to netdev "out", which sends them
to a port this script reads.  The sender is closed-loop: at most WINDOW
frames are in flight, so no socket buffer overflows and every frame is
accounted for (sent = received + dropped by the filter; the difference is
reported as loss and must be 0).

Parts:
  1. throughput and QEMU CPU per packet for: no filter, filter-ubpf with a
     pass-all program and with the reference program (port_allow_eth,
     ip-mode=off, traffic it passes), interpreter and JIT, and QEMU's own
     filter-buffer and filter-mirror as reference points.  Filters are
     added and removed over QMP in one QEMU process; the configurations run
     interleaved (order rotated every round) and figures are medians over
     the rounds, with ratios to "no filter" taken within each round;
  2. resident memory of QEMU with 0, 1 and 50 filter-ubpf instances;
  3. hot swap: the program is replaced over QMP (qom-set ubpf-handler)
     SWAPS times, alternating two programs that pass the traffic, while
     frames flow; swap latency distribution and lost frames.

QEMU CPU time is the sum over its threads of /proc/PID/task/*/schedstat
(nanoseconds); /proc/PID/stat utime+stime (clock ticks) is recorded too.
"capacity" = packets / QEMU CPU seconds: the rate QEMU's packet path could
sustain on one core, independent of how fast this Python sender is.

Usage: packet-path.py BUILD_DIR [--out FILE] [--engine-json FILE] [options]
"""

import argparse
import datetime
import json
import multiprocessing
import os
import shutil
import socket
import statistics
import struct
import subprocess
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))))
PROGS = os.path.join(REPO, "tests", "data", "ubpf")
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import common  # noqa: E402  pylint: disable=wrong-import-position
HOST = "127.0.0.1"
CLK_TCK = os.sysconf("SC_CLK_TCK")
PAGE = os.sysconf("SC_PAGE_SIZE")


def log(msg):
    print(f"packet-path: {msg}", file=sys.stderr, flush=True)


# ---- QMP ----

class Qemu:
    """QEMU with netdevs in -> hub -> out; ports are chosen free."""

    def __init__(self, build, tmp, name, mirrors=1):
        self.tx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.rx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        for s in (self.tx, self.rx):
            s.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4 << 20)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
            s.bind((HOST, 0))
        in_port, out_local = free_ports(2)
        self.in_port = in_port
        qmp_path = os.path.join(tmp, f"qmp-{name}.sock")
        dgram = ("dgram,id={id},local.type=inet,local.host=127.0.0.1,local.port={l},"
                 "remote.type=inet,remote.host=127.0.0.1,remote.port={r}")
        args = [os.path.join(build, "qemu-system-x86_64"),
                "-M", "none", "-display", "none", "-nodefaults", "-nographic",
                "-qmp", f"unix:{qmp_path},server=on,wait=off",
                *[a for i in range(max(1, mirrors))
                  for a in ("-chardev", f"null,id=mirror{i}")],
                "-netdev", dgram.format(id="in", l=in_port, r=self.tx.getsockname()[1]),
                "-netdev", dgram.format(id="out", l=out_local, r=self.rx.getsockname()[1]),
                "-netdev", "hubport,id=h0,hubid=0,netdev=in",
                "-netdev", "hubport,id=h1,hubid=0,netdev=out"]
        self.proc = subprocess.Popen(args, stdin=subprocess.DEVNULL)
        self.pid = self.proc.pid
        self.qmp = common.Qmp(build, qmp_path, self.proc)
        self.tx.connect((HOST, in_port))

    def cpu(self):
        """(schedstat ns summed over threads, utime+stime in ns)."""
        total = 0
        tdir = f"/proc/{self.pid}/task"
        for t in os.listdir(tdir):
            try:
                with open(f"{tdir}/{t}/schedstat") as f:
                    total += int(f.read().split()[0])
            except OSError:
                pass
        with open(f"/proc/{self.pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        ticks = int(fields[11]) + int(fields[12])
        return total, ticks * 1_000_000_000 // CLK_TCK

    def rss(self):
        """{"VmRSS": bytes, "RssAnon": ..., "RssFile": ...}"""
        out = {}
        with open(f"/proc/{self.pid}/status") as f:
            for line in f:
                key, _, rest = line.partition(":")
                if key in ("VmRSS", "RssAnon", "RssFile"):
                    out[key] = int(rest.split()[0]) * 1024
        return out

    def close(self):
        try:
            self.qmp.cmd("quit")
        except OSError:
            pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.tx.close()
        self.rx.close()


def free_ports(n):
    socks = []
    for _ in range(n):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind((HOST, 0))
        socks.append(s)
    ports = [s.getsockname()[1] for s in socks]
    for s in socks:
        s.close()
    return ports


# ---- traffic ----

def udp_frame(size, dport=53):
    """Ethernet + IPv4 + UDP frame of `size` bytes to port `dport`
    (53: passed by port_allow_eth)."""
    macs = bytes.fromhex("525400123456" "525400123457")
    payload = max(0, size - 14 - 20 - 8)
    udp = struct.pack("!HHHH", 40000, dport, 8 + payload, 0) + bytes(payload)
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 0, 0, 64, 17, 0,
                     bytes([10, 0, 2, 15]), bytes([10, 0, 2, 2]))
    return macs + b"\x08\x00" + ip + udp


def set_rcvtimeo(sock, seconds):
    """Blocking receives that give up after `seconds` (one syscall per
    receive, unlike settimeout(), which polls first)."""
    sock.settimeout(None)
    sec = int(seconds)
    usec = int((seconds - sec) * 1e6)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, struct.pack("ll", sec, usec))


def closed_loop(tx, rx, frame, count, window, stop=None):
    """Send `count` copies of `frame` (or until `stop` is set) with at most
    `window` frames in flight.  A receive timeout (frames dropped by the
    filter, or lost) writes off what is in flight.  Returns (sent,
    received, written_off, seconds)."""
    buf = bytearray(65536)
    send = tx.send
    recv = rx.recv_into
    sent = received = written_off = 0
    t0 = time.perf_counter()
    while True:
        if stop is not None and stop.is_set():
            count = sent
        while sent < count and sent - received - written_off < window:
            send(frame)
            sent += 1
        if received + written_off >= sent and sent >= count:
            break
        try:
            recv(buf)
            received += 1
        except BlockingIOError:
            written_off = sent - received
    return sent, received, written_off, time.perf_counter() - t0


def drain(rx):
    """Read what is left (until a receive times out); return the count."""
    n = 0
    buf = bytearray(65536)
    while True:
        try:
            rx.recv_into(buf)
            n += 1
        except BlockingIOError:
            return n


# ---- configurations ----

def ubpf_filter(obj, jit, fid="bf", ip_mode=False, verify=True):
    """A filter-ubpf; with verify=False it runs in the interpreter (the
    filter JITs verified programs only)."""
    return {"qom-type": "filter-ubpf", "id": fid, "netdev": "in", "queue": "tx",
            "ubpf-handler": obj, "ip-mode": ip_mode, "jit": jit, "verify": verify}


def configurations(objs, buffer_interval, chain):
    """(label, object-add arguments or None, number of instances)."""
    mirror = {"qom-type": "filter-mirror", "id": "bf", "netdev": "in", "queue": "tx",
              "outdev": "mirror0"}
    configs = [
        ("no filter", None, 0),
        ("ubpf pass, interpreter", ubpf_filter(objs["bench_pass"], False), 1),
        ("ubpf pass, JIT", ubpf_filter(objs["bench_pass"], True), 1),
        ("ubpf port_allow_eth, interpreter", ubpf_filter(objs["port_allow_eth"], False), 1),
        ("ubpf port_allow_eth, JIT", ubpf_filter(objs["port_allow_eth"], True), 1),
        # the verifier cannot prove bench_parser's variable-offset reads:
        # it runs unverified, hence in the interpreter
        ("ubpf bench_parser, interpreter (unverified)",
         ubpf_filter(objs["bench_parser"], False, verify=False), 1),
        (f"filter-buffer interval={buffer_interval}us",
         {"qom-type": "filter-buffer", "id": "bf", "netdev": "in", "queue": "tx",
          "interval": buffer_interval}, 1),
        ("filter-mirror to null chardev", mirror, 1),
    ]
    if chain > 1:
        configs += [
            (f"{chain} x ubpf pass, JIT", ubpf_filter(objs["bench_pass"], True), chain),
            (f"{chain} x ubpf port_allow_eth, interp",
             ubpf_filter(objs["port_allow_eth"], False), chain),
            (f"{chain} x ubpf port_allow_eth, JIT",
             ubpf_filter(objs["port_allow_eth"], True), chain),
            (f"{chain} x filter-mirror to null", mirror, chain),
        ]
    return configs


def trial(q, frame, count, window, filt, n, warmup):
    ids = [f"bf{i}" for i in range(n)]
    added = []
    ubpf = bool(filt) and filt["qom-type"] == "filter-ubpf"
    try:
        for fid in ids:
            props = dict(filt, id=fid)
            if filt["qom-type"] == "filter-mirror":
                props["outdev"] = f"mirror{len(added)}"     # one chardev each
            q.qmp.ok("object-add", **props)
            added.append(fid)
        closed_loop(q.tx, q.rx, frame, warmup, window)
        drain(q.rx)
        d0 = sum(q.qmp.counters(f)["dropped"] for f in ids) if ubpf else 0
        c0 = q.qmp.counters(ids[-1]) if ubpf else None
        cpu0 = q.cpu()
        sent, received, written_off, secs = closed_loop(q.tx, q.rx, frame, count, window)
        cpu1 = q.cpu()
        late = drain(q.rx) if written_off else 0
        c1 = q.qmp.counters(ids[-1]) if ubpf else None
        d1 = sum(q.qmp.counters(f)["dropped"] for f in ids) if ubpf else 0
    finally:
        for fid in added:
            q.qmp.ok("object-del", id=fid)
    received += late
    delta = {k: c1[k] - c0[k] for k in c1} if ubpf else None
    dropped = d1 - d0
    return {
        "sent": sent, "received": received, "dropped": dropped,
        "loss": sent - received - dropped,
        "last_filter_counters": delta,
        "seconds": secs,
        "pps": received / secs,
        "cpu_ns_per_packet": (cpu1[0] - cpu0[0]) / sent,
        "cpu_stat_ns_per_packet": (cpu1[1] - cpu0[1]) / sent,
    }


def bench_throughput(q, objs, args):
    configs = configurations(objs, args.buffer_interval, args.chain)
    instances = {label: n for label, _, n in configs}
    results = {}
    for size in args.sizes:
        frame = udp_frame(size)
        trials = {label: [] for label, _, _ in configs}
        for r in range(args.rounds):
            order = configs[r % len(configs):] + configs[:r % len(configs)]
            for label, filt, n in order:
                trials[label].append(trial(q, frame, args.packets, args.window, filt, n,
                                           args.warmup))
            base = trials["no filter"][-1]
            log(f"{size} B, round {r + 1}/{args.rounds}: no filter "
                f"{base['pps']:.0f} pps, {base['cpu_ns_per_packet']:.0f} ns CPU/packet")
        results[str(size)] = summarize(trials, instances)
    return results


def med(xs):
    return statistics.median(xs) if xs else float("nan")


def quantile(xs, q):
    s = sorted(xs)
    if not s:
        return float("nan")
    pos = q * (len(s) - 1)
    lo = int(pos)
    hi = min(lo + 1, len(s) - 1)
    return s[lo] + (s[hi] - s[lo]) * (pos - lo)


def iqr(xs):
    """Interquartile range [p25, p75]."""
    return [quantile(xs, 0.25), quantile(xs, 0.75)]


def summarize(trials, instances):
    base = trials["no filter"]
    out = {}
    for label, ts in trials.items():
        n = max(1, instances[label])
        out[label] = {
            "instances": instances[label],
            "rounds": len(ts),
            "pps": med([t["pps"] for t in ts]),
            "cpu_ns_per_packet": med([t["cpu_ns_per_packet"] for t in ts]),
            "cpu_stat_ns_per_packet": med([t["cpu_stat_ns_per_packet"] for t in ts]),
            "capacity_pps": med([1e9 / t["cpu_ns_per_packet"] for t in ts]),
            "pps_ratio_to_no_filter": med([t["pps"] / b["pps"] for t, b in zip(ts, base)]),
            "cpu_ratio_to_no_filter": med([t["cpu_ns_per_packet"] / b["cpu_ns_per_packet"]
                                           for t, b in zip(ts, base)]),
            "capacity_ratio_to_no_filter": med([b["cpu_ns_per_packet"] / t["cpu_ns_per_packet"]
                                                for t, b in zip(ts, base)]),
            "pps_ratio_iqr": iqr([t["pps"] / b["pps"] for t, b in zip(ts, base)]),
            "capacity_ratio_iqr": iqr([b["cpu_ns_per_packet"] / t["cpu_ns_per_packet"]
                                       for t, b in zip(ts, base)]),
            "cpu_ns_added_per_packet": med([t["cpu_ns_per_packet"] - b["cpu_ns_per_packet"]
                                            for t, b in zip(ts, base)]),
            "cpu_ns_added_per_packet_per_instance": med(
                [(t["cpu_ns_per_packet"] - b["cpu_ns_per_packet"]) / n
                 for t, b in zip(ts, base)]),
            "cpu_ns_added_per_instance_iqr": iqr(
                [(t["cpu_ns_per_packet"] - b["cpu_ns_per_packet"]) / n
                 for t, b in zip(ts, base)]),
            "sent": sum(t["sent"] for t in ts),
            "received": sum(t["received"] for t in ts),
            "dropped": sum(t["dropped"] for t in ts),
            "loss": sum(t["loss"] for t in ts),
        }
    return out


# ---- memory per instance ----

def bench_rss(build, tmp, objs, instances):
    out = {}
    for jit in (False, True):
        name = "jit" if jit else "interpreter"
        q = Qemu(build, tmp, f"rss-{name}")
        try:
            time.sleep(0.3)
            rss0 = q.rss()
            q.qmp.ok("object-add", **ubpf_filter(objs["port_allow_eth"], jit, fid="m1"))
            time.sleep(0.1)
            rss1 = q.rss()
            for i in range(2, instances + 1):
                q.qmp.ok("object-add", **ubpf_filter(objs["port_allow_eth"], jit, fid=f"m{i}"))
            time.sleep(0.1)
            rssn = q.rss()
            # the chain works: a few frames through all instances
            frame = udp_frame(64)
            sent, received, _, _ = closed_loop(q.tx, q.rx, frame, 100, 8)
            counted = q.qmp.counters(f"m{instances}")["packets"]
        finally:
            q.close()
        out[name] = {
            "program": "port_allow_eth",
            "rss_0": rss0, "rss_1": rss1, f"rss_{instances}": rssn,
            "instances": instances,
            "first_instance_bytes": {k: rss1[k] - rss0[k] for k in rss0},
            "per_additional_instance_bytes": {k: (rssn[k] - rss1[k]) / (instances - 1)
                                              for k in rss0},
            "per_instance_bytes_incl_first": {k: (rssn[k] - rss0[k]) / instances
                                              for k in rss0},
            "check_frames_sent": sent, "check_frames_received": received,
            "check_last_instance_packets": counted,
        }
    return out


# ---- hot swap ----

def swap_traffic(build_args, stop, result):
    """Child process: closed-loop traffic until `stop` is set."""
    tx_fd, rx_fd, frame, window = build_args
    tx = socket.socket(fileno=tx_fd)
    rx = socket.socket(fileno=rx_fd)
    sent, received, written_off, secs = closed_loop(tx, rx, frame, 1 << 62, window, stop)
    received += drain(rx) if written_off else 0
    result.put((sent, received, written_off, secs))


def timed_swaps(q, paths, n):
    """n qom-set of ubpf-handler (alternating `paths`), each followed by a
    baseline: qom-set of the filter's "status" to its current value, padded
    with an "id" to the same length (QEMU's monitor reads commands one byte
    at a time, so the round trip grows with the command's length).
    Latencies in microseconds."""
    texts = []
    for path in paths:
        swap = {"execute": "qom-set", "arguments": {
            "path": "/objects/sw", "property": "ubpf-handler", "value": path}}
        base = {"execute": "qom-set", "arguments": {
            "path": "/objects/sw", "property": "status", "value": "on"}, "id": ""}
        base["id"] = "x" * max(0, len(json.dumps(swap)) - len(json.dumps(base)))
        texts.append((swap, base))
    sets, bases = [], []
    for i in range(n):
        swap, base = texts[i % 2]
        s0 = time.perf_counter_ns()
        rsp = q.qmp.cmd_obj(swap)
        s1 = time.perf_counter_ns()
        rsp2 = q.qmp.cmd_obj(base)
        s2 = time.perf_counter_ns()
        if "error" in rsp or "error" in rsp2:
            raise SystemExit(f"packet-path: qom-set failed: {rsp} {rsp2}")
        sets.append((s1 - s0) / 1000)
        bases.append((s2 - s1) / 1000)
    return sets, bases


def dist(xs):
    return {"min": min(xs), "median": quantile(xs, 0.5), "p90": quantile(xs, 0.9),
            "p99": quantile(xs, 0.99), "max": max(xs)}


def bench_swap(q, objs, args):
    a, b = objs["port_allow_eth"], objs["bench_pass"]
    q.qmp.ok("object-add", **ubpf_filter(a, True, fid="sw"))
    idle_sets, idle_gets = timed_swaps(q, [b, a], max(10, args.swaps // 5))
    c0 = q.qmp.counters("sw")
    ctx = multiprocessing.get_context("fork")
    stop = ctx.Event()
    result = ctx.Queue()
    frame = udp_frame(64)
    child = ctx.Process(target=swap_traffic,
                        args=((q.tx.fileno(), q.rx.fileno(), frame, args.window), stop, result))
    child.start()
    time.sleep(0.2)
    t0 = time.perf_counter()
    sets, gets = timed_swaps(q, [b, a], args.swaps)
    swap_secs = time.perf_counter() - t0
    time.sleep(0.2)
    stop.set()
    sent, received, written_off, secs = result.get(timeout=60)
    child.join(timeout=10)
    c1 = q.qmp.counters("sw")
    q.qmp.ok("object-del", id="sw")
    delta = {k: c1[k] - c0[k] for k in c1}
    return {
        "swaps": args.swaps,
        "programs": ["port_allow_eth (JIT)", "bench_pass (JIT)"],
        "latency_us": dist(sets),
        "baseline_latency_us": dist(gets),
        "swap_minus_baseline_us": med([x - y for x, y in zip(sets, gets)]),
        "idle": {"swaps": len(idle_sets), "latency_us": dist(idle_sets),
                 "baseline_latency_us": dist(idle_gets),
                 "swap_minus_baseline_us": med([x - y for x, y in zip(idle_sets, idle_gets)])},
        "swap_seconds": swap_secs,
        "frames_sent": sent, "frames_received": received,
        "filter_counters": delta,
        "loss": sent - received - delta["dropped"],
        "traffic_pps": received / secs if secs else 0.0,
        "frames_during_swaps_est": int(received / secs * swap_secs) if secs else 0,
    }


# ---- output ----

def fmt_bytes(n):
    return f"{n / 1024:.1f} KiB"


def num(x):
    """A figure of the engine's results, "-" for null."""
    return "-" if x is None else f"{x:.1f}"


def table(res):
    lines = []
    eng = res.get("engine")
    if eng:
        lines.append("== engine (ns per program run, median of "
                     f"{eng['rounds']} interleaved rounds, {eng['frames']}-frame mix)")
        lines.append(f"{'program':<16} {'insns':>5} {'interp':>8} {'jit':>7} {'native':>7} "
                     f"{'jit/native':>10} {'interp/native':>13}")
        for r in eng["runs"]:
            ns, ratio = r["ns_per_run_median"], r["over_native"]
            lines.append(f"{r['program']:<16} {r['insns']:>5} {ns['interpreter']:>8.1f} "
                         f"{ns['jit']:>7.1f} {ns['native']:>7.1f} "
                         f"{ratio['jit']:>9.2f}x {ratio['interpreter']:>12.2f}x")
        maps = eng["map_lookup"]
        lines.append(f"{'map lookup (ns)':<28} {'run interp':>10} {'run jit':>8} "
                     f"{'lookup interp':>13} {'lookup jit':>10}")
        for r in maps["programs"]:
            ns, lk = r["ns_per_run_median"], r["ns_per_lookup_median"]
            lines.append(f"{r['map']:<28} {num(ns['interpreter']):>10} {num(ns['jit']):>8} "
                         f"{num(lk['interpreter']):>13} {num(lk['jit']):>10}")
        lines.append(f"map lookup: {maps['method']}")
        lines.append(maps["iovisor_ubpf"])
        allocs = max(max(r["allocations_per_run"]["interpreter"],
                         r["allocations_per_run"]["jit"])
                     for r in eng["runs"] + maps["programs"])
        lines.append(f"heap allocations per run (max over programs/engines): {allocs:g}")
        lines.append(f"{'load (us)':<16} {'insns':>5} {'load_elf':>8} {'verify':>8} "
                     f"{'vm+jit':>7} {'jit':>7} {'load+verify+jit':>15}")
        for r in eng["load"]:
            verify = (f"{r['verify_us']:.1f}" if r["verify_us"] is not None else "refused")
            lines.append(f"{r['program']:<16} {r['insns']:>5} {r['load_elf_us']:>8.1f} "
                         f"{verify:>8} {r['vm_new_jit_us']:>7.1f} {r['jit_compile_us']:>7.1f} "
                         f"{r['load_verify_jit_us']:>15.1f}")
        lines.append(f"verify: {eng['verify']}")
        lines.append("")
    pp = res["packet_path"]
    meta = res["meta"]
    lines.append(f"== QEMU packet path ({meta['packets']} frames per trial, window "
                 f"{meta['window']}, median of {meta['rounds']} interleaved rounds)")
    for size, rows in pp.items():
        lines.append(f"-- {size}-byte frames")
        lines.append(f"{'configuration':<34} {'pps':>6} {'ratio [IQR]':>18} {'CPU ns':>6} "
                     f"{'+ns':>5} {'capacity ratio [IQR]':>20} {'+ns/filter [IQR]':>17} "
                     f"{'loss':>4}")
        for label, r in rows.items():
            pi, ci = r["pps_ratio_iqr"], r["capacity_ratio_iqr"]
            fi = r["cpu_ns_added_per_instance_iqr"]
            per = (f"{r['cpu_ns_added_per_packet_per_instance']:>5.0f} [{fi[0]:.0f},{fi[1]:.0f}]"
                   if r["instances"] else "-")
            lines.append(f"{label:<34} {r['pps']:>6.0f} {r['pps_ratio_to_no_filter']:>5.2f} "
                         f"[{pi[0]:.2f},{pi[1]:.2f}] {r['cpu_ns_per_packet']:>6.0f} "
                         f"{r['cpu_ns_added_per_packet']:>5.0f} "
                         f"{r['capacity_ratio_to_no_filter']:>6.3f} [{ci[0]:.2f},{ci[1]:.2f}] "
                         f"{per:>17} {r['loss']:>4}")
    lines.append("pps: received frames/s (closed loop: bound by this Python sender); CPU ns: "
                 "QEMU CPU per frame; +ns: added to 'no filter'; capacity = 1e9 / CPU ns "
                 "(rate one core of QEMU sustains);\nratios: to 'no filter' in the same "
                 "round, median [p25,p75] over rounds; +ns/filter: +ns divided by the "
                 "number of filters (chains amplify the cost above the noise)")
    rss = res.get("rss")
    if rss:
        lines.append("")
        lines.append("== resident memory per filter-ubpf instance (port_allow_eth)")
        for name, r in rss.items():
            n = r["instances"]
            first = r["first_instance_bytes"]
            more = r["per_additional_instance_bytes"]
            lines.append(f"{name:<12} VmRSS with 0 / 1 / {n} instances: "
                         f"{fmt_bytes(r['rss_0']['VmRSS'])} / {fmt_bytes(r['rss_1']['VmRSS'])}"
                         f" / {fmt_bytes(r[f'rss_{n}']['VmRSS'])}")
            lines.append(f"{'':<12} first instance +{fmt_bytes(first['VmRSS'])} (anon "
                         f"{fmt_bytes(first['RssAnon'])}, file {fmt_bytes(first['RssFile'])}); "
                         f"each further instance +{fmt_bytes(more['VmRSS'])} (anon "
                         f"{fmt_bytes(more['RssAnon'])})")
    sw = res.get("hot_swap")
    if sw:
        lines.append("")
        lines.append(f"== hot swap: {sw['swaps']} x qom-set ubpf-handler while frames flow "
                     f"(~{sw['traffic_pps']:.0f} frames/s); QMP round trips in us")
        lines.append(f"{'':<26} {'min':>6} {'median':>7} {'p90':>6} {'p99':>6} {'max':>7}")
        for label, d in (("swap, traffic", sw["latency_us"]),
                         ("baseline, traffic", sw["baseline_latency_us"]),
                         ("swap, idle", sw["idle"]["latency_us"]),
                         ("baseline, idle", sw["idle"]["baseline_latency_us"])):
            lines.append(f"{label:<26} {d['min']:>6.0f} {d['median']:>7.0f} {d['p90']:>6.0f} "
                         f"{d['p99']:>6.0f} {d['max']:>7.0f}")
        lines.append("baseline: qom-set status=on padded to the same command length "
                     f"(QMP is read byte by byte); swap - baseline, median of pairs: traffic "
                     f"{sw['swap_minus_baseline_us']:.0f} us, idle "
                     f"{sw['idle']['swap_minus_baseline_us']:.0f} us")
        lines.append(f"frames sent {sw['frames_sent']}, received {sw['frames_received']}, "
                     f"dropped {sw['filter_counters']['dropped']}, errors "
                     f"{sw['filter_counters']['errors']}, lost {sw['loss']}")
    return "\n".join(lines)


def compile_prog(name, outdir):
    return common.compile_bpf(os.path.join(PROGS, f"{name}.bpf.c"),
                              os.path.join(outdir, f"{name}.o"))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("build", help="QEMU build directory (with qemu-system-x86_64)")
    ap.add_argument("--packets", type=int, default=20000, help="frames per trial")
    ap.add_argument("--sizes", type=lambda v: [int(x) for x in v.split(",")],
                    default=[64, 1500], help="frame sizes (comma separated)")
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--window", type=int, default=32, help="frames in flight at most")
    ap.add_argument("--warmup", type=int, default=500, help="frames before each trial")
    ap.add_argument("--buffer-interval", type=int, default=1000,
                    help="filter-buffer interval (microseconds)")
    ap.add_argument("--instances", type=int, default=50,
                    help="filter-ubpf instances for the memory measurement")
    ap.add_argument("--chain", type=int, default=20,
                    help="also time chains of this many filters on the netdev "
                         "(cost per instance, amplified above the noise); 0: no")
    ap.add_argument("--swaps", type=int, default=1000)
    ap.add_argument("--engine-json", help="engine bench results to include")
    ap.add_argument("--out", help="also write the results here")
    ap.add_argument("--skip", default="", help="comma list of parts to skip: "
                    "throughput,rss,swap")
    args = ap.parse_args()
    skip = set(filter(None, args.skip.split(",")))

    build = os.path.abspath(args.build)
    tmp = tempfile.mkdtemp(prefix="filter-ubpf-bench-")
    res = {"meta": {
        "date": datetime.datetime.now().isoformat(timespec="seconds"),
        "host": os.uname().nodename, "kernel": os.uname().release,
        "cpus": os.cpu_count(), "loadavg_start": os.getloadavg(),
        "qemu": os.path.join(build, "qemu-system-x86_64"),
        "packets": args.packets, "sizes": args.sizes, "rounds": args.rounds,
        "window": args.window, "warmup": args.warmup,
        "filter_buffer_interval_us": args.buffer_interval,
        "cpu_source": "sum of /proc/PID/task/*/schedstat (ns); "
                      "cpu_stat_*: /proc/PID/stat utime+stime",
    }}
    try:
        objs = {n: compile_prog(n, tmp) for n in ("bench_pass", "port_allow_eth",
                                                   "bench_parser")}
        if "throughput" not in skip or "swap" not in skip:
            q = Qemu(build, tmp, "main", mirrors=args.chain)
            set_rcvtimeo(q.rx, 0.5)
            try:
                if "throughput" not in skip:
                    res["packet_path"] = bench_throughput(q, objs, args)
                if "swap" not in skip:
                    log(f"hot swap: {args.swaps} replacements")
                    res["hot_swap"] = bench_swap(q, objs, args)
            finally:
                q.close()
        if "rss" not in skip:
            log(f"memory: 0, 1, {args.instances} instances")
            res["rss"] = bench_rss(build, tmp, objs, args.instances)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    res["meta"]["loadavg_end"] = os.getloadavg()
    if args.engine_json:
        with open(args.engine_json) as f:
            res["engine"] = json.load(f)
    res.setdefault("packet_path", {})

    cache = os.environ.get("UBPF_CACHE", os.path.expanduser("~/.cache/filter-ubpf"))
    outdir = os.path.join(cache, "bench")
    os.makedirs(outdir, exist_ok=True)
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    path = os.path.join(outdir, f"results-{stamp}.json")
    text = json.dumps(res, indent=2) + "\n"
    with open(path, "w") as f:
        f.write(text)
    if args.out:
        with open(args.out, "w") as f:
            f.write(text)
    print(table(res))
    print(f"\nresults: {path}" + (f" (copy: {args.out})" if args.out else ""))
    loss = sum(r["loss"] for rows in res["packet_path"].values() for r in rows.values())
    loss += res.get("hot_swap", {}).get("loss", 0)
    return 0 if loss == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
