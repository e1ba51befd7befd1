#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""filter-ubpf under -daemonize: a relative ubpf-handler keeps working.

QEMU is started in a directory holding the program, with a relative
ubpf-handler and -daemonize, which changes QEMU's working directory to /.
Afterwards the filter must report the absolute path, and reconfiguring it
(jit, section, and reloading its own ubpf-handler value) must still work.
Before ubpf-handler was made absolute when set, each of these re-read
"prog.o" relative to / and failed.

Usage: scripts/ubpf/test-daemonize.py BUILD_DIR
"""

import os
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402  pylint: disable=wrong-import-position


def main():
    build = os.path.abspath(sys.argv[1])
    prog = os.path.join(build, "tests", "data", "ubpf", "qtest-progs.bpf.o")
    with tempfile.TemporaryDirectory(prefix="ubpf-daemonize.") as tmp:
        tmp = os.path.realpath(tmp)
        shutil.copy(prog, os.path.join(tmp, "prog.o"))
        qmp_path = os.path.join(tmp, "qmp.sock")
        pidfile = os.path.join(tmp, "qemu.pid")
        cmd = [os.path.join(build, "qemu-system-x86_64"), "-M", "none",
               "-display", "none", "-nodefaults", "-netdev", "user,id=n0",
               "-object", "filter-ubpf,id=f0,netdev=n0,ubpf-handler=prog.o,"
               "section=ubpf/drop_dst",
               "-qmp", f"unix:{qmp_path},server=on,wait=off",
               "-daemonize", "-pidfile", pidfile]
        subprocess.run(cmd, cwd=tmp, check=True)
        qmp = common.Qmp(build, qmp_path)
        ok = True
        try:
            path = qmp.ok("qom-get", path="/objects/f0", property="ubpf-handler")
            want = os.path.join(tmp, "prog.o")
            if path != want:
                print(f"daemonize: ubpf-handler is {path!r}, expected {want!r}")
                ok = False
            qmp.ok("qom-set", path="/objects/f0", property="jit", value=False)
            qmp.ok("qom-set", path="/objects/f0", property="section",
                   value="ubpf/drop_udp9")
            qmp.ok("qom-set", path="/objects/f0", property="ubpf-handler",
                   value=path)
            info = qmp.ok("x-query-filter-ubpf")
            if info[0]["section"] != "ubpf/drop_udp9" or info[0]["jit"]:
                print(f"daemonize: unexpected state {info}")
                ok = False
        finally:
            qmp.cmd("quit")
        print("daemonize: " + ("relative ubpf-handler resolved, reconfiguration "
                               "and reload work after the chdir to /"
                               if ok else "FAILED"))
        return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
