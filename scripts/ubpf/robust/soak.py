#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Soak filter-ubpf: stream packets through it while replacing its program.

Usage: soak.py BUILD_DIR [--swaps N] [--min-seconds T] [--seed S]
               [--wrapper "CMD ..."]

QEMU runs guest-less (rig.py) with filter-ubpf f0 (raw mode, keep-maps=on)
on netdev "in".  A traffic thread streams UDP frames into "in" in batches
of BATCH, each ending with a passing frame it waits for (a dgram netdev
loses frames in long bursts).  Frames to UDP port 9 carry the tag 'D' and
are to be dropped, the others ('P', port 7) to pass.  The three programs
used (tests/data/ubpf/robust_marker, robust_tag, robust_count, compiled
with clang at start) decide differently but agree on this traffic, so the
fate of every frame is known whatever program runs when it passes.

Meanwhile the main thread, over QMP: replaces f0's program (cycling the
programs; f0 has verify=on, and every 13 swaps its verify property is
toggled: the programs the verifier cannot prove run while it is off),
toggles f0's jit now and then (a reload too, JIT for verified programs), tries a
refused replacement every 10 swaps (a file of the bad corpus: the error
must come back and the program stay), and every 50 swaps adds a second
filter-ubpf f1 (verify=off, keep-maps=on) behind f0, turns f0 off (f1 filters alone), replaces f1's
program, toggles f1's status while f0 is back on, then deletes f1.  f0 is
only ever off while f1 is on, so every 'D' frame is dropped by exactly one
of them: dropped(f0) + dropped(f1, read before each deletion) must equal
the 'D' frames sent, and the 'P' frames received the 'P' frames sent.

Figures: swaps, packets, duration, QMP round-trips (max, and of the
query-status probes sent between operations), accounting.
"""

import argparse
import os
import random
import shutil
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import rig  # noqa: E402

BATCH = 16
PROGRAMS = ("robust_marker", "robust_tag", "robust_count")
BAD = ("hdr_machine_x86_64.o", "loop_counter_wraps.o", "btf_magic.o", "trunc_arp_00200.o",
       "helper_unknown_999.o", "legacy_map_huge.o", "@missing")


class Traffic(threading.Thread):
    def __init__(self, r, seed, patience):
        super().__init__(daemon=True)
        self.r = r
        self.rng = random.Random(seed)
        self.patience = patience
        self.stop = threading.Event()
        self.sent_d = self.sent_p = self.recv_p = 0
        self.recv_d = 0
        self.pending = set()        # 'P' frames sent and not received yet
        self.batches = 0
        self.late = 0               # batches whose last frame took > patience
        self.error = None

    def receive(self, last, timeout):
        for g in self.r.recv_until(last, timeout=timeout):
            if g in self.pending:
                self.pending.discard(g)
                self.recv_p += 1
            elif g[42:43] == b"D":
                self.recv_d += 1

    def run(self):
        seq = 0
        try:
            while not self.stop.is_set():
                frames = []
                for k in range(BATCH):
                    seq += 1
                    drop = k < BATCH - 1 and self.rng.random() < 0.4
                    tag = (b"D" if drop else b"P") + seq.to_bytes(8, "big")
                    frames.append(rig.udp_frame(9 if drop else 7, tag))
                    if drop:
                        self.sent_d += 1
                    else:
                        self.sent_p += 1
                        self.pending.add(frames[-1])
                for f in frames:
                    self.r.send(f)
                # wait for the batch's last frame (QEMU may be busy in a
                # QMP command for a while: patience)
                last = frames[-1]
                deadline = time.time() + self.patience
                while last in self.pending and time.time() < deadline:
                    self.receive(last, max(0.01, deadline - time.time()))
                if last in self.pending:
                    self.late += 1
                self.batches += 1
        except Exception as e:          # reported by the main thread
            self.error = e

    def drain(self, timeout):
        deadline = time.time() + timeout
        while self.pending and time.time() < deadline:
            self.receive(None, min(1.0, max(0.01, deadline - time.time())))


def rss_kib(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("build")
    ap.add_argument("--swaps", type=int, default=1000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--min-seconds", type=float, default=0,
                    help="keep going until this much time has passed too")
    ap.add_argument("--wrapper", default="",
                    help="command prefix for QEMU (e.g. valgrind ...), space-separated")
    args = ap.parse_args()
    rng = random.Random(args.seed)
    tmp = tempfile.mkdtemp(prefix="filter-ubpf-soak-")
    r = None
    ok = True
    try:
        progs = [rig.compile_prog(p, tmp) for p in PROGRAMS]
        bad = [os.path.join(rig.CORPUS, b) if not b.startswith("@")
               else os.path.join(tmp, "no", "such.o") for b in BAD]
        slow = bool(args.wrapper)
        r = rig.Rig(args.build, wrapper=args.wrapper.split(), qmp_timeout=300 if slow else 60,
                    filters=["filter-ubpf,id=f0,netdev=in,queue=tx,ip-mode=off,jit=off,"
                             f"verify=on,keep-maps=on,ubpf-handler={progs[0]}"])
        q = r.qmp
        # the programs the verifier proves (f0 runs verified programs, and
        # the others while its verify property is off)
        verifiable = []
        for p in progs:
            rsp = q.cmd("object-add", **{"qom-type": "filter-ubpf", "id": "probe",
                                         "netdev": "in", "queue": "tx", "status": "off",
                                         "ip-mode": False, "ubpf-handler": p})
            if "error" not in rsp:
                verifiable.append(p)
                q.ok("object-del", id="probe")
            else:
                print(f"soak: {os.path.basename(p)} is not verified "
                      f"({rsp['error']['desc'].split(': ')[-1]}): run with verify=off only")
        verify = True
        verify_toggles = 0
        traffic = Traffic(r, args.seed, patience=120 if slow else 10)
        t0 = time.time()
        traffic.start()
        swaps = refused = jit_toggles = f1_cycles = status_toggles = 0
        f1_dropped = 0
        probe_max = 0.0
        jit = False
        current = progs[0]
        i = 0
        rss_start = None
        while swaps < args.swaps or time.time() - t0 < args.min_seconds:
            i += 1
            if traffic.error:
                raise traffic.error
            rotation = verifiable if verify else progs
            nxt = rotation[i % len(rotation)]
            q.ok("qom-set", path="/objects/f0", property="ubpf-handler", value=nxt)
            current = nxt
            swaps += 1
            if i % 13 == 0:
                if not verify and current not in verifiable:
                    current = verifiable[0]
                    q.ok("qom-set", path="/objects/f0", property="ubpf-handler", value=current)
                    swaps += 1
                verify = not verify
                q.ok("qom-set", path="/objects/f0", property="verify", value=verify)
                verify_toggles += 1
                swaps += 1
            if i % 7 == 0:
                jit = not jit
                q.ok("qom-set", path="/objects/f0", property="jit", value=jit)
                jit_toggles += 1
                swaps += 1
            if i % 10 == 0:
                b = bad[(i // 10) % len(bad)]
                rsp = q.cmd("qom-set", path="/objects/f0", property="ubpf-handler", value=b)
                if "error" not in rsp or "filter-ubpf" not in rsp["error"].get("desc", ""):
                    print(f"soak: replacement by {b} not refused: {rsp}")
                    ok = False
                if q.get("f0", "ubpf-handler") != current:
                    print("soak: f0's program changed after a refused replacement")
                    ok = False
                refused += 1
            if i % 50 == 25:
                f1_jit = rng.random() < 0.5
                q.ok("object-add", **{"qom-type": "filter-ubpf", "id": "f1", "netdev": "in",
                                      "queue": "tx", "ip-mode": False, "jit": f1_jit,
                                      "verify": False, "keep-maps": True,
                                      "ubpf-handler": progs[1]})
                q.ok("qom-set", path="/objects/f0", property="status", value="off")
                time.sleep(0.002)
                for k in range(3):
                    q.ok("qom-set", path="/objects/f1", property="ubpf-handler",
                         value=progs[(i + k) % len(progs)])
                    swaps += 1
                    time.sleep(0.001)
                q.ok("qom-set", path="/objects/f0", property="status", value="on")
                # f0 drops every 'D' frame from here on: f1 cannot drop any
                q.ok("qom-set", path="/objects/f1", property="status", value="off")
                q.ok("qom-set", path="/objects/f1", property="status", value="on")
                status_toggles += 4
                f1_dropped += q.get("f1", "dropped")
                if q.get("f1", "errors"):
                    print("soak: f1 counted run-time errors")
                    ok = False
                q.ok("object-del", id="f1")
                f1_cycles += 1
            if i == 100:
                rss_start = rss_kib(r.proc.pid)      # after warm-up
            if i % 5 == 0:
                t = time.perf_counter()
                q.ok("query-status")
                probe_max = max(probe_max, time.perf_counter() - t)
            if not r.alive():
                raise rig.QmpError("QEMU exited")
        # let the traffic drain, then stop it
        time.sleep(0.2)
        traffic.stop.set()
        traffic.join(timeout=300)
        if traffic.error:
            raise traffic.error
        traffic.drain(120 if slow else 10)
        duration = time.time() - t0
        rss_end = rss_kib(r.proc.pid)
        c = q.counters("f0")
        dropped = c["dropped"] + f1_dropped
        sent = traffic.sent_d + traffic.sent_p
        print(f"soak: {swaps} program swaps ({jit_toggles} by jit toggles, "
              f"{verify_toggles} by verify toggles, "
              f"{f1_cycles * 3} on the second filter), {refused} refused replacements, "
              f"{f1_cycles} add/delete cycles of a second filter, "
              f"{status_toggles} status toggles in {duration:.1f} s")
        print(f"soak: {sent} frames streamed in {traffic.batches} batches "
              f"({sent / duration:.0f}/s): {traffic.sent_p} to pass, {traffic.sent_d} to drop; "
              f"received {traffic.recv_p}, dropped {dropped} (f0 {c['dropped']}, "
              f"f1 {f1_dropped}), f0 errors {c['errors']}")
        balanced = (sent == traffic.recv_p + dropped and traffic.recv_p == traffic.sent_p
                    and dropped == traffic.sent_d and traffic.recv_d == 0
                    and c["errors"] == 0)
        print(f"soak: accounting sent = received + dropped: {sent} = {traffic.recv_p} + "
              f"{dropped}: {'exact' if balanced else 'MISMATCH'}"
              + (f"; lost {len(traffic.pending)} frames" if traffic.pending else "")
              + (f"; {traffic.late} batches waited > {traffic.patience} s" if traffic.late
                 else "")
              + (f"; {traffic.recv_d} 'D' frames arrived" if traffic.recv_d else ""))
        print(f"soak: QMP: {q.commands} commands, max round-trip {q.max_rtt * 1000:.1f} ms "
              f"(query-status probes: max {probe_max * 1000:.1f} ms)")
        if rss_start:
            print(f"soak: QEMU RSS {rss_start} KiB after 100 iterations, {rss_end} KiB at the end "
                  f"({rss_end - rss_start:+d} KiB over {swaps} swaps)")
        ok &= balanced
        if not r.alive():
            ok = False
    except (rig.QmpError, OSError) as e:
        print(f"soak: FAILED: {e}")
        ok = False
    finally:
        if r is not None:
            died = not r.alive()
            r.close()
            if died or r.proc.returncode != 0:
                print(f"soak: QEMU exited with status {r.proc.returncode}")
                print(r.output()[-3000:])
                ok = False
        shutil.rmtree(tmp, ignore_errors=True)
    print(f"soak: {'passed' if ok else 'FAILED'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
