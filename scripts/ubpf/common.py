# SPDX-License-Identifier: GPL-2.0-or-later
"""What filter-ubpf's scripts share: QMP through QEMU's own python library
(python/qemu/qmp of the source tree), the filter's counters, and compiling
eBPF programs with clang.

Scripts in scripts/ubpf/ and its subdirectories import it with:

    sys.path.insert(0, <path of scripts/ubpf>)
    import common
"""

import os
import subprocess
import sys
import time

COUNTERS = ("packets", "passed", "dropped", "errors")


def source_dir(build_dir):
    """The QEMU source tree of a build directory (SRC_PATH of its
    config-host.mak)."""
    with open(os.path.join(build_dir, "config-host.mak"), encoding="utf-8") as f:
        for line in f:
            if line.startswith("SRC_PATH="):
                return line.split("=", 1)[1].strip()
    raise RuntimeError(f"{build_dir}: no SRC_PATH in config-host.mak")


def _qmp_legacy(build_dir):
    path = os.path.join(source_dir(build_dir), "python")
    if path not in sys.path:
        sys.path.insert(0, path)
    # pylint: disable=import-outside-toplevel
    from qemu.qmp import legacy
    return legacy


class QmpError(RuntimeError):
    """A QMP command that had to succeed returned an error."""


class Qmp:
    """A QMP connection to a QEMU started with
    `-qmp unix:PATH,server=on,wait=off`, through QEMU's python library."""

    def __init__(self, build_dir, path, proc=None, timeout=30.0):
        legacy = _qmp_legacy(build_dir)
        deadline = time.monotonic() + timeout
        while True:
            if proc is not None and proc.poll() is not None:
                raise QmpError(f"QEMU exited with status {proc.returncode} "
                               f"before QMP was up")
            try:
                self.qmp = legacy.QEMUMonitorProtocol(path)
                self.qmp.connect(negotiate=True)
                break
            except (OSError, legacy.QMPError):
                if time.monotonic() > deadline:
                    raise QmpError(f"cannot connect to QMP at {path}") from None
                time.sleep(0.05)
        self.qmp.settimeout(timeout)

    def cmd(self, name, **args):
        """Run a command; return the response (with "return" or "error")."""
        try:
            rsp = self.qmp.cmd_raw(name, args or None)
        except EOFError:
            raise QmpError(f"QMP connection closed during {name}") from None
        if name == "quit":
            self.close()
        return rsp

    def cmd_obj(self, obj):
        """Send a whole command object (e.g. with an "id"); return the
        response."""
        return self.qmp.cmd_obj(obj)

    def ok(self, name, **args):
        """Run a command that must succeed; return its result."""
        rsp = self.cmd(name, **args)
        if "error" in rsp:
            raise QmpError(f"{name} {args}: {rsp['error'].get('desc')}")
        return rsp.get("return")

    def counters(self, filter_id="f0"):
        """The packets/passed/dropped/errors counters of a filter."""
        return {k: self.ok("qom-get", path=f"/objects/{filter_id}", property=k)
                for k in COUNTERS}

    def close(self):
        """Close the connection; QEMU may have closed it already."""
        try:
            self.qmp.close()
        except (OSError, EOFError, RuntimeError):
            pass


def compile_bpf(src, out, defines=()):
    """Compile the eBPF C source `src` into the object `out` with clang,
    as the tests and docs do; return `out`."""
    multiarch = subprocess.run(["clang", "-print-multiarch"], capture_output=True,
                               text=True, check=False).stdout.strip()
    cmd = ["clang", "-O2", "-g", "-target", "bpf", "-Wall", "-Werror"]
    if multiarch:
        cmd.append(f"-I/usr/include/{multiarch}")
    cmd += [f"-D{d}" for d in defines]
    subprocess.run(cmd + ["-c", src, "-o", out], check=True)
    return out


def hub_rig(qemu, qmp_path, ports, filter_opts):
    """QEMU's command line for the packet rig of the demo and the
    xdp-filter step: two dgram netdevs on 127.0.0.1 joined by a hub, and
    filter-ubpf on the first (`filter_opts`: its -object options).
    `ports`: (in_local, in_remote, out_local, out_remote)."""
    in_local, in_remote, out_local, out_remote = ports
    dgram = ("dgram,id={id},local.type=inet,local.host=127.0.0.1,local.port={l},"
             "remote.type=inet,remote.host=127.0.0.1,remote.port={r}")
    return [qemu, "-M", "none", "-display", "none", "-nodefaults",
            "-qmp", f"unix:{qmp_path},server=on,wait=off",
            "-netdev", dgram.format(id="in", l=in_local, r=in_remote),
            "-netdev", dgram.format(id="out", l=out_local, r=out_remote),
            "-netdev", "hubport,id=h0,hubid=0,netdev=in",
            "-netdev", "hubport,id=h1,hubid=0,netdev=out",
            "-object", "filter-ubpf," + filter_opts]
