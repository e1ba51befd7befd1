#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Prepare patched crate sources for the standalone cargo build.
#
# For every subprojects/*.wrap that lists diff_files, make sure that
# subprojects/<directory> holds the crate source with those patches applied,
# i.e. the same tree that meson's wrap handling produces:
#
#   1. download source_url into subprojects/packagecache/<source_filename>
#      unless it is already there;
#   2. check its sha256 against source_hash;
#   3. extract it to subprojects/<directory> and copy the wrap's
#      patch_directory (subprojects/packagefiles/<patch_directory>) over it;
#   4. apply each file of diff_files (from subprojects/packagefiles/) with
#      "patch -p1" (or "git apply -p1" when patch is missing).
#
# 5. write .cargo/config.toml at the top of the tree, whose [patch] makes
#    cargo use subprojects/rbpf-0.4.1 instead of the placeholder that
#    rust/ubpf/Cargo.toml names (rust/ubpf/unprepared/rbpf).
#
# The script is idempotent: a directory that was prepared from the same
# archive and the same patches (recorded in a stamp file) is left alone; a
# stale one is removed and prepared again.
#
# Usage: scripts/ubpf/prepare-crates.py [--source-root DIR] [--force]

import argparse
import configparser
import hashlib
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import urllib.request

STAMP = ".ubpf-prepared"


def log(msg):
    print("prepare-crates: " + msg, file=sys.stderr)


def sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 16), b""):
            h.update(chunk)
    return h.hexdigest()


def read_wrap(path):
    cp = configparser.ConfigParser(interpolation=None)
    cp.read(path)
    if not cp.has_section("wrap-file"):
        return None
    return dict(cp.items("wrap-file"))


def download(url, dest, expected):
    os.makedirs(os.path.dirname(dest), exist_ok=True)
    log("downloading " + url)
    req = urllib.request.Request(url, headers={"User-Agent": "qemu-prepare-crates"})
    with urllib.request.urlopen(req, timeout=60) as resp:
        data = resp.read()
    got = hashlib.sha256(data).hexdigest()
    if got != expected:
        raise SystemExit(f"prepare-crates: {url}: sha256 {got}, expected {expected}")
    fd, tmp = tempfile.mkstemp(dir=os.path.dirname(dest))
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    os.replace(tmp, dest)


def safe_extract(archive, destdir):
    with tarfile.open(archive, "r:*") as tar:
        root = os.path.realpath(destdir)
        for member in tar.getmembers():
            target = os.path.realpath(os.path.join(destdir, member.name))
            if not (target == root or target.startswith(root + os.sep)):
                raise SystemExit(f"prepare-crates: {archive}: unsafe path {member.name}")
            if member.issym() or member.islnk():
                raise SystemExit(f"prepare-crates: {archive}: link {member.name} refused")
        if hasattr(tarfile, "data_filter"):
            tar.extractall(destdir, filter="data")
        else:
            tar.extractall(destdir)


def apply_patch(srcdir, patch):
    if shutil.which("patch"):
        cmd = ["patch", "-p1", "--forward", "--batch", "--quiet", "-i", patch]
    else:
        cmd = ["git", "apply", "-p1", patch]
    res = subprocess.run(cmd, cwd=srcdir, capture_output=True, text=True)
    if res.returncode != 0:
        raise SystemExit(
            f"prepare-crates: applying {patch} in {srcdir} failed:\n{res.stdout}{res.stderr}"
        )


def overlay_files(overlay):
    if not overlay or not os.path.isdir(overlay):
        return []
    out = []
    for dirpath, dirnames, filenames in os.walk(overlay):
        dirnames.sort()
        for name in sorted(filenames):
            out.append(os.path.join(dirpath, name))
    return out


def stamp_text(wrap, overlay, patches):
    h = hashlib.sha256()
    h.update(wrap["source_hash"].encode())
    for p in overlay_files(overlay):
        h.update(os.path.relpath(p, overlay).encode())
        h.update(sha256_file(p).encode())
    for p in patches:
        h.update(os.path.basename(p).encode())
        h.update(sha256_file(p).encode())
    return h.hexdigest() + "\n"


def prepare(subprojects, wrapfile, force):
    wrap = read_wrap(wrapfile)
    if not wrap or not wrap.get("diff_files"):
        return
    for key in ("directory", "source_url", "source_filename", "source_hash"):
        if key not in wrap:
            raise SystemExit(f"prepare-crates: {wrapfile}: missing {key}")
    patches = [
        os.path.join(subprojects, "packagefiles", p.strip())
        for p in wrap["diff_files"].split(",")
        if p.strip()
    ]
    for p in patches:
        if not os.path.isfile(p):
            raise SystemExit(f"prepare-crates: {wrapfile}: no such diff file {p}")

    destdir = os.path.join(subprojects, wrap["directory"])
    stamp = os.path.join(destdir, STAMP)
    overlay = None
    if wrap.get("patch_directory"):
        overlay = os.path.join(subprojects, "packagefiles", wrap["patch_directory"])
    want = stamp_text(wrap, overlay, patches)
    if not force and os.path.isfile(stamp):
        with open(stamp) as f:
            if f.read() == want:
                return
    if os.path.isdir(destdir) and not os.path.isfile(stamp) and not force:
        # Probably extracted by meson itself: it applied the same patches.
        log(f"{destdir} exists (not prepared by this script), leaving it alone")
        return

    archive = os.path.join(subprojects, "packagecache", wrap["source_filename"])
    if not os.path.isfile(archive) or sha256_file(archive) != wrap["source_hash"]:
        download(wrap["source_url"], archive, wrap["source_hash"])

    if os.path.isdir(destdir):
        shutil.rmtree(destdir)
    with tempfile.TemporaryDirectory(dir=subprojects) as tmp:
        safe_extract(archive, tmp)
        extracted = os.path.join(tmp, wrap["directory"])
        if not os.path.isdir(extracted):
            raise SystemExit(
                f"prepare-crates: {archive} has no top directory {wrap['directory']}"
            )
        for p in overlay_files(overlay):
            dest = os.path.join(extracted, os.path.relpath(p, overlay))
            os.makedirs(os.path.dirname(dest), exist_ok=True)
            shutil.copy2(p, dest)
        for p in patches:
            apply_patch(extracted, p)
        with open(os.path.join(extracted, STAMP), "w") as f:
            f.write(want)
        os.replace(extracted, destdir)
    log(f"prepared {destdir}")


CARGO_CONFIG = """\
# Written by scripts/ubpf/prepare-crates.py (not tracked by git): cargo,
# run anywhere inside this tree, builds rust/ubpf with the patched rbpf
# prepared in subprojects/.  A [patch] in a configuration file takes
# precedence over the one of rust/ubpf/Cargo.toml, which points to a
# placeholder whose build fails with an error naming this script.
[patch.crates-io]
rbpf = { path = "subprojects/rbpf-0.4.1" }
"""


def write_cargo_config(root):
    """Point cargo at the prepared rbpf (see CARGO_CONFIG)."""
    if not os.path.isfile(os.path.join(root, "rust", "ubpf", "Cargo.toml")):
        return
    path = os.path.join(root, ".cargo", "config.toml")
    if os.path.isfile(path):
        with open(path) as f:
            if f.read() == CARGO_CONFIG:
                return
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(CARGO_CONFIG)
    log(f"wrote {path}")


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--source-root",
        default=os.path.normpath(os.path.join(here, "..", "..")),
        help="QEMU source tree (default: this script's tree)",
    )
    parser.add_argument("--force", action="store_true", help="re-extract and re-patch")
    args = parser.parse_args()
    subprojects = os.path.join(args.source_root, "subprojects")
    for name in sorted(os.listdir(subprojects)):
        if name.endswith(".wrap"):
            prepare(subprojects, os.path.join(subprojects, name), args.force)
    write_cargo_config(args.source_root)


if __name__ == "__main__":
    main()
