#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Feed the bad-input corpus (tests/data/ubpf/bad/EXPECT) to a running QEMU.

Usage: corpus-qmp.py BUILD_DIR [--verify off|on|both] [--jit]
                     [--include-known-bugs] [--wrapper "CMD ..."]

QEMU runs guest-less (rig.py) with filter-ubpf f0 on netdev "in" running
robust_marker.bpf.c in raw mode: it drops UDP frames to port 9 and passes
the others.  For every corpus file:

  1. object-add a second filter-ubpf with the file (ip-mode off).  Files the
     engine refuses must fail with a QMP error that names filter-ubpf and
     holds the expected substring; files that load must be accepted, and the
     corpus frame sent through must meet the expected fate (value 0: passes;
     non-zero: dropped; run-time error: passes and counts an error); the
     filter is then deleted.
  2. qom-set f0's ubpf-handler to the file: refused files must fail the same
     way, and then f0 must still filter with the marker program (a frame to
     port 9 is dropped, one to port 7 arrives); accepted files must behave as
     above, then f0 gets the marker program back.
  3. QEMU must still be running and answer QMP.

Two passes, each with its own QEMU: verify=off, where the expectations are
EXPECT's (the engine's loader, checks and interpreter); and verify=on (the
filter's default), where in addition every file that fails at run time or
loops must be refused, and a correct one may be refused if the verifier
cannot prove it.  --jit sets jit=on (used for verified programs only).
Known engine bugs ("| bug" in EXPECT) are skipped unless
--include-known-bugs is given: they may crash QEMU.
"""

import argparse
import os
import shutil
import stat
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import rig  # noqa: E402


class Failed(Exception):
    pass


def materialise(name, tmp):
    if name == "@missing":
        return os.path.join(tmp, "does", "not", "exist.o")
    if name == "@directory":
        d = os.path.join(tmp, "a-directory")
        os.makedirs(d, exist_ok=True)
        return d
    if name == "@unreadable":
        path = os.path.join(tmp, "unreadable.o")
        shutil.copy(os.path.join(rig.CORPUS, "div64_reg_zero.o"), path)
        os.chmod(path, 0)
        try:
            with open(path, "rb"):
                pass
        except PermissionError:
            return path
        return None         # root reads a mode-000 file: nothing to test
    return os.path.join(rig.CORPUS, name)


class Checker:
    def __init__(self, r, marker, jit, verify):
        self.r = r
        self.marker = marker
        self.jit = jit
        self.verify = verify
        self.serial = 0
        self.cases = 0
        self.drop = rig.udp_frame(9, b"D-marker")
        self.corpus_pkt = rig.corpus_packet()

    def tag(self):
        self.serial += 1
        return f"P{self.serial:08d}".encode()

    def expect_refused(self, rsp, what, substring):
        if "error" not in rsp:
            raise Failed(f"{what}: accepted, expected a refusal")
        desc = rsp["error"].get("desc", "")
        if not desc.startswith("filter-ubpf: ") and "filter-ubpf" not in desc:
            raise Failed(f"{what}: error does not name filter-ubpf: {desc}")
        if substring != "-" and substring not in desc:
            raise Failed(f"{what}: error {desc!r} lacks {substring!r}")
        return desc

    def marker_still_filters(self, what):
        """f0 runs the marker program: the port-9 frame is dropped, a
        port-7 frame passes."""
        before = self.r.qmp.counters("f0")
        passing = rig.udp_frame(7, self.tag())
        self.r.send(self.drop)
        self.r.send(passing)
        got = self.r.recv_until(passing)
        if passing not in got:
            raise Failed(f"{what}: the passing frame did not arrive")
        if self.drop in got:
            raise Failed(f"{what}: the marker frame was not dropped")
        after = self.r.qmp.counters("f0")
        if after["dropped"] != before["dropped"] + 1:
            raise Failed(f"{what}: f0 dropped {after['dropped'] - before['dropped']}, not 1")

    def run_fate(self, fid, result, what):
        """Send the corpus frame through filter `fid` running a corpus
        program; check its fate against `result`."""
        before = self.r.qmp.counters(fid)
        self.r.send(self.corpus_pkt)
        # the filter ran once its counter moved; a passing frame has then
        # been handed to netdev "out" already
        deadline = time.time() + 5
        while True:
            after = self.r.qmp.counters(fid)
            if after["packets"] > before["packets"] or time.time() > deadline:
                break
            time.sleep(0.002)
        d = {k: after[k] - before[k] for k in after}
        passes = not result.isdigit() or int(result) == 0
        got = self.r.recv_until(self.corpus_pkt, timeout=3.0 if passes else 0.05)
        arrived = self.corpus_pkt in got
        if d["packets"] != 1:
            raise Failed(f"{what}: the filter saw {d['packets']} frames, not 1")
        if result.isdigit():
            if arrived != passes or d["dropped"] != int(not passes) or d["errors"]:
                raise Failed(f"{what}: expected {'pass' if passes else 'drop'}, "
                             f"arrived={arrived} counters={d}")
        elif not arrived or d["errors"] != 1 or d["passed"] != 1:
            raise Failed(f"{what}: expected a run-time error (pass, errors+1), "
                         f"arrived={arrived} counters={d}")

    def alive(self, what):
        if not self.r.alive():
            raise Failed(f"{what}: QEMU exited ({self.r.proc.returncode})")
        st = self.r.qmp.ok("query-status")
        if "status" not in st:
            raise Failed(f"{what}: no answer to query-status")

    def one(self, name, stage, result, substring, path):
        """Returns "refused", "ran" or "refused by the verifier"."""
        if stage == "load":
            mode = "refuse"
        elif self.verify:
            # the verifier must refuse whatever fails at run time or loops;
            # it may refuse a correct program it cannot prove
            mode = "either" if result.isdigit() else "refuse"
            substring = "-" if stage != "load" else substring
        else:
            mode = "refuse" if stage == "vm" else "accept"
        # 1. object-add
        self.cases += 1
        fid = f"c{self.cases}"
        rsp = self.r.qmp.cmd("object-add", **{
            "qom-type": "filter-ubpf", "id": fid, "netdev": "in", "queue": "tx",
            "ip-mode": False, "verify": self.verify, "jit": self.jit,
            "ubpf-handler": path})
        refused = "error" in rsp
        if mode == "refuse" or (mode == "either" and refused):
            if not refused:
                self.r.qmp.cmd("object-del", id=fid)
            self.expect_refused(rsp, f"{name}: object-add", substring)
        else:
            if refused:
                raise Failed(f"{name}: object-add refused: {rsp['error']['desc']}")
            self.run_fate(fid, result, f"{name}: object-add")
            self.r.qmp.ok("object-del", id=fid)
        self.alive(f"{name}: after object-add")
        # 2. qom-set on the running filter
        rsp = self.r.qmp.cmd("qom-set", path="/objects/f0", property="ubpf-handler",
                             value=path)
        if mode == "refuse" or (mode == "either" and refused):
            if "error" not in rsp:
                self.r.qmp.cmd("qom-set", path="/objects/f0", property="ubpf-handler",
                               value=self.marker)
            self.expect_refused(rsp, f"{name}: qom-set", substring)
            if self.r.qmp.get("f0", "ubpf-handler") != self.marker:
                raise Failed(f"{name}: f0's ubpf-handler changed after a failed qom-set")
        else:
            if "error" in rsp:
                raise Failed(f"{name}: qom-set refused: {rsp['error']['desc']}")
            self.run_fate("f0", result, f"{name}: qom-set")
            self.r.qmp.ok("qom-set", path="/objects/f0", property="ubpf-handler",
                          value=self.marker)
        self.marker_still_filters(f"{name}: after qom-set")
        self.alive(f"{name}: after qom-set")
        if not refused:
            return "ran"
        return "refused by the verifier" if mode == "either" else "refused"


def run_pass(args, cases, workdir, marker, verify):
    """One QEMU, every case; returns (summary line, ok)."""
    t0 = time.time()
    counts = {"refused": 0, "ran": 0, "refused by the verifier": 0}
    skipped, failures = [], []
    tried = 0
    crashed, rc = False, None
    qmp_max, qmp_cmds = 0.0, 0
    r = rig.Rig(args.build, wrapper=args.wrapper.split(),
                qmp_timeout=300 if args.wrapper else 60,
                filters=["filter-ubpf,id=f0,netdev=in,queue=tx,ip-mode=off,"
                         f"verify={'on' if verify else 'off'},jit={'on' if args.jit else 'off'},"
                         f"ubpf-handler={marker}"])
    try:
        c = Checker(r, marker, args.jit, verify)
        c.marker_still_filters("start")
        for name, stage, result, substring, bug in cases:
            if bug and not args.include_known_bugs:
                skipped.append(f"{name} (known bug)")
                continue
            path = materialise(name, workdir)
            if path is None:
                skipped.append(f"{name} (mode 000 is readable by this user)")
                continue
            tried += 1
            try:
                counts[c.one(name, stage, result, substring, path)] += 1
            except (Failed, rig.QmpError, OSError) as e:
                failures.append(f"{name}: {e}" if not isinstance(e, Failed) else str(e))
                print(f"FAIL {failures[-1]}", flush=True)
                try:
                    r.proc.wait(timeout=0.5)
                except Exception:
                    pass
                if not r.alive():
                    print("QEMU is gone: stopping", flush=True)
                    break
        try:
            c.alive("end")
        except (Failed, rig.QmpError, OSError) as e:
            failures.append(str(e))
        qmp_max, qmp_cmds = r.qmp.max_rtt, r.qmp.commands
    finally:
        crashed = not r.alive()
        r.close()
        rc = r.proc.returncode
        if crashed:
            print(f"QEMU died (exit status {rc}); its output:")
            print(r.output()[-3000:])
    crashes = 1 if crashed or rc not in (0, None) else 0
    for f in failures:
        print(f"  failure: {f}")
    line = (f"corpus-qmp (verify={'on' if verify else 'off'}): {tried} files tried, "
            f"{counts['refused']} refused cleanly by object-add and qom-set"
            + (f", {counts['refused by the verifier']} correct ones refused by the verifier"
               if verify else "")
            + f", {counts['ran']} loaded and ran as expected, {len(failures)} failures, "
            f"{crashes} crashes; {qmp_cmds} QMP commands, max round-trip "
            f"{qmp_max * 1000:.1f} ms, {time.time() - t0:.1f} s")
    print(line, flush=True)
    return skipped, not failures and not crashes


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("build")
    ap.add_argument("--include-known-bugs", action="store_true")
    ap.add_argument("--jit", action="store_true")
    ap.add_argument("--verify", choices=("off", "on", "both"), default="both")
    ap.add_argument("--wrapper", default="",
                    help="command prefix for QEMU (e.g. valgrind ...), space-separated")
    args = ap.parse_args()
    cases = rig.read_manifest()
    workdir = tempfile.mkdtemp(prefix="filter-ubpf-corpus-")
    ok = True
    try:
        marker = rig.compile_prog("robust_marker", workdir)
        modes = {"off": [False], "on": [True], "both": [False, True]}[args.verify]
        for verify in modes:
            skipped, passed = run_pass(args, cases, workdir, marker, verify)
            ok &= passed
    finally:
        for root, _, files in os.walk(workdir):
            for f in files:
                os.chmod(os.path.join(root, f), stat.S_IRUSR | stat.S_IWUSR)
        shutil.rmtree(workdir, ignore_errors=True)
    print(f"corpus-qmp: {len(cases)} cases in EXPECT, skipped: " + ", ".join(skipped))
    print(f"corpus-qmp: {'passed' if ok else 'FAILED'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
