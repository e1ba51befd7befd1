#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Apply the filter-ubpf overlay to a QEMU 10.0.x source tree.

The repository holding this script mirrors QEMU's tree: every file in it
(except the project's own meta files) is a *new* file that is copied to the
same path in QEMU.  Changes to files that QEMU already has are described in
``scripts/ubpf/insertions*.toml`` as small edits: an anchor line that must
exist exactly once, and our own text to put after or before it.

Commands:

  apply [--base PRISTINE] QEMU_DIR
                         copy the overlay and apply every insertion
                         (idempotent: a second run changes nothing; with
                         --base, edited files are computed from the pristine
                         tree, so changed insertions replace their old text)
  check-copies BASE_DIR  fail if any overlay file is identical to a file of
                         the pristine QEMU tree BASE_DIR
  seed-crates QEMU_DIR   put the crates named by QEMU's subprojects/*.wrap
                         into subprojects/packagecache, downloading them from
                         static.crates.io (for machines where the crates.io
                         API host used by QEMU's wraps does not resolve)
"""

import argparse
import hashlib
import os
import re
import shutil
import subprocess
import sys
import tomllib
import urllib.request
from pathlib import Path

OVERLAY = Path(__file__).resolve().parents[2]
SPEC_DIR = OVERLAY / "scripts" / "ubpf"
SPEC = SPEC_DIR / "insertions*.toml"
MANIFEST = ".filter-ubpf-overlay"

# Paths of the repository that are not part of the overlay.
META = {".git", ".ci", ".gitignore", "README.md", "target"}


class OverlayError(Exception):
    pass


def overlay_files():
    """Yield the overlay's files as paths relative to the repository: in a
    git checkout, the files git tracks or would track (not the ignored
    ones: build output, fuzzing corpora, prepared crates)."""
    if (OVERLAY / ".git").exists():
        out = subprocess.run(
            ["git", "-C", str(OVERLAY), "ls-files", "-z", "--cached", "--others",
             "--exclude-standard"], capture_output=True, check=True).stdout
        names = sorted({n for n in out.decode().split("\0") if n})
        for name in names:
            rel = Path(name)
            if (OVERLAY / rel).is_file() and keep(rel):
                yield rel
        return
    yield from walk_files()


def keep(rel):
    """Whether a repository file belongs to the overlay."""
    if rel.parts[0] in META or str(rel) in META:
        return False
    if any(p.startswith(".") for p in rel.parts):
        return False
    # crate sources unpacked by meson or prepare-crates, and caches
    if rel.parts[0] == "subprojects" and len(rel.parts) > 2 and rel.parts[1] != "packagefiles":
        return False
    return not rel.name.endswith(".pyc")


def walk_files():
    """The overlay's files of a copy that is not a git checkout."""
    for root, dirs, files in os.walk(OVERLAY):
        rel_root = Path(root).relative_to(OVERLAY)
        keep = []
        for d in sorted(dirs):
            rel = rel_root / d
            if d in META or d.startswith("."):
                continue
            # crate sources unpacked by meson or prepare-crates, and caches
            if rel_root == Path("subprojects") and d != "packagefiles":
                continue
            keep.append(d)
        dirs[:] = keep
        for f in sorted(files):
            rel = rel_root / f
            if str(rel) in META or f.startswith(".") or f.endswith(".pyc"):
                continue
            yield rel


def sha256(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


def qemu_version(qemu_dir):
    version_file = qemu_dir / "VERSION"
    if not version_file.is_file():
        raise OverlayError(f"{qemu_dir}: not a QEMU source tree (no VERSION file)")
    version = version_file.read_text().strip()
    return version


def check_version(qemu_dir, spec):
    version = qemu_version(qemu_dir)
    want = spec["qemu"]["version"]
    if not re.fullmatch(want, version):
        raise OverlayError(
            f"{qemu_dir}: QEMU {version} is not supported, "
            f"the overlay needs QEMU 10.0.x")
    return version


def load_spec():
    """Merge scripts/ubpf/insertions*.toml (edits in file name order)."""
    spec = {"edit": []}
    for path in sorted(SPEC_DIR.glob("insertions*.toml")):
        with open(path, "rb") as f:
            part = tomllib.load(f)
        spec.setdefault("qemu", part.get("qemu"))
        if part.get("qemu"):
            spec["qemu"] = part["qemu"]
        spec["edit"] += part.get("edit", [])
    return spec


def read_manifest(qemu_dir):
    path = qemu_dir / MANIFEST
    if not path.exists():
        return set()
    return {line.strip() for line in path.read_text().splitlines()
            if line.strip() and not line.startswith("#")}


def copy_overlay(qemu_dir, changed):
    """Copy new files; never overwrite a file that QEMU itself has."""
    ours = read_manifest(qemu_dir)
    installed = []
    for rel in overlay_files():
        src = OVERLAY / rel
        dst = qemu_dir / rel
        if dst.exists() and str(rel) not in ours:
            if dst.read_bytes() == src.read_bytes():
                installed.append(str(rel))
                continue
            if rel.parts[:2] == ("subprojects", "packagefiles"):
                # QEMU's own packagefiles (a git checkout) win over ours,
                # which only stand in for them in Debian's tarball.
                continue
            raise OverlayError(
                f"{dst}: exists in the QEMU tree and differs from the overlay's "
                f"{rel}; refusing to overwrite a QEMU file")
        installed.append(str(rel))
        if dst.exists() and dst.read_bytes() == src.read_bytes():
            continue
        dst.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(src, dst)
        shutil.copymode(src, dst)
        changed.append(str(rel))
    # files an earlier version of the overlay installed and this one has no
    # more: remove them, or a stale file could still be built
    for rel in sorted(ours - set(installed)):
        stale = qemu_dir / rel
        if stale.is_file():
            stale.unlink()
            changed.append(f"{rel} (removed: no longer in the overlay)")
    text = "# files installed by the filter-ubpf overlay\n" + \
        "".join(f"{p}\n" for p in sorted(installed))
    manifest = qemu_dir / MANIFEST
    if not manifest.exists() or manifest.read_text() != text:
        manifest.write_text(text)


def edit_block(edit):
    text = edit["text"]
    return text if text.endswith("\n") else text + "\n"


def apply_edit(content, edit):
    """Return `content` with one edit applied (unchanged if already there)."""
    block = edit_block(edit)
    if block in content:
        return content
    anchor = edit.get("after", edit.get("before", edit.get("replace")))
    if anchor is None:
        raise OverlayError(f"{SPEC}: edit of {edit['file']} has no after/before/replace")
    lines = content.splitlines(keepends=True)
    hits = [i for i, l in enumerate(lines) if l.rstrip("\n") == anchor]
    if len(hits) != 1:
        raise OverlayError(anchor_error(edit["file"], anchor, len(hits)))
    if "replace" in edit:
        lines[hits[0]] = block
    else:
        lines.insert(hits[0] + (1 if "after" in edit else 0), block)
    return "".join(lines)


def anchor_error(where, anchor, count):
    if count == 0:
        return (f"{where}: anchor line not found: {anchor!r} "
                f"(is this an unmodified QEMU 10.0.x tree?)")
    return f"{where}: anchor line found {count} times, need exactly one: {anchor!r}"


def cmd_apply(args):
    qemu_dir = Path(args.qemu_dir).resolve()
    spec = load_spec()
    version = check_version(qemu_dir, spec)
    if "+" in str(qemu_dir):
        raise OverlayError(
            f"{qemu_dir}: the path contains '+'; QEMU passes the source path "
            f"unescaped as a regex to bindgen, rename the directory first")
    base = Path(args.base).resolve() if args.base else None
    if base:
        check_version(base, spec)
    # compute every edited file first: nothing changes unless all anchors hold
    edited = {}
    for edit in spec["edit"]:
        name = edit["file"]
        if name not in edited:
            src = (base or qemu_dir) / name
            if not src.is_file():
                raise OverlayError(f"{src}: file not found (needed by an insertion)")
            edited[name] = (src.read_text(), [])
        if "unless_exists" in edit and (qemu_dir / edit["unless_exists"]).exists():
            continue
        content, whats = edited[name]
        new = apply_edit(content, edit)
        edited[name] = (new, whats + ([edit["what"]] if new != content else []))
    changed = []
    copy_overlay(qemu_dir, changed)
    for name, (content, whats) in edited.items():
        path = qemu_dir / name
        if path.read_text() != content:
            path.write_text(content)
            changed.append(f"{name} (insertions: {', '.join(whats) or 'updated'})")
    if changed:
        print(f"overlay: QEMU {version} at {qemu_dir}: {len(changed)} change(s)")
        for c in changed:
            print(f"  {c}")
    else:
        print(f"overlay: QEMU {version} at {qemu_dir}: already up to date")
    return 0


def cmd_check_copies(args):
    base = Path(args.base_dir).resolve()
    qemu_version(base)
    by_hash = {}
    for root, dirs, files in os.walk(base):
        dirs[:] = [d for d in dirs if d not in (".git", "build")]
        for f in files:
            p = Path(root) / f
            if p.is_file() and not p.is_symlink():
                by_hash.setdefault(sha256(p), p.relative_to(base))
    copies = []
    count = 0
    for rel in overlay_files():
        count += 1
        h = sha256(OVERLAY / rel)
        if h in by_hash and (OVERLAY / rel).stat().st_size > 0:
            copies.append(f"{rel} is identical to QEMU's {by_hash[h]}")
    if copies:
        for c in copies:
            print(f"check-copies: {c}", file=sys.stderr)
        raise OverlayError(f"{len(copies)} overlay file(s) copied from QEMU")
    print(f"check-copies: {count} overlay files, none identical to a file of "
          f"QEMU {qemu_version(base)} ({len(by_hash)} files)")
    return 0


def parse_wrap(path):
    values = {}
    for line in path.read_text().splitlines():
        m = re.match(r"^\s*([a-z_]+)\s*=\s*(.*?)\s*$", line)
        if m:
            values[m.group(1)] = m.group(2)
    return values


def crate_url(wrap):
    url = wrap.get("source_url", "")
    m = re.match(r"https://crates\.io/api/v1/crates/([^/]+)/([^/]+)/download$", url)
    if m:
        return f"https://static.crates.io/crates/{m[1]}/{m[1]}-{m[2]}.crate"
    return url


def fetch_wrap_source(subprojects, wrap):
    """Make sure packagecache holds the wrap's source archive; return it."""
    cache = subprojects / "packagecache"
    dest = cache / wrap["source_filename"]
    if dest.exists() and sha256(dest) == wrap["source_hash"]:
        return dest
    url = crate_url(wrap)
    cache.mkdir(exist_ok=True)
    with urllib.request.urlopen(url, timeout=60) as resp:
        data = resp.read()
    digest = hashlib.sha256(data).hexdigest()
    if digest != wrap["source_hash"]:
        raise OverlayError(f"{url}: sha256 {digest} does not match the wrap's "
                           f"source_hash {wrap['source_hash']}")
    tmp = dest.with_suffix(".part")
    tmp.write_bytes(data)
    tmp.rename(dest)
    return dest


def cmd_seed_crates(args):
    subprojects = Path(args.qemu_dir).resolve() / "subprojects"
    fetched = 0
    for wrap_path in sorted(subprojects.glob("*-rs.wrap")):
        wrap = parse_wrap(wrap_path)
        if "source_url" not in wrap:
            continue
        dest = subprojects / "packagecache" / wrap["source_filename"]
        if dest.exists() and sha256(dest) == wrap["source_hash"]:
            continue
        fetch_wrap_source(subprojects, wrap)
        fetched += 1
    print(f"seed-crates: {fetched} crate(s) downloaded into {subprojects / 'packagecache'}")
    return 0


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("apply", help="copy the overlay into QEMU_DIR and apply insertions")
    p.add_argument("qemu_dir")
    p.add_argument("--base", metavar="PRISTINE_DIR",
                   help="unmodified QEMU tree to compute edited files from "
                        "(lets a changed insertion replace its old text)")
    p.set_defaults(func=cmd_apply)
    p = sub.add_parser("check-copies", help="fail if an overlay file is a copy of a QEMU file")
    p.add_argument("base_dir")
    p.set_defaults(func=cmd_check_copies)
    p = sub.add_parser("seed-crates", help="fill subprojects/packagecache from static.crates.io")
    p.add_argument("qemu_dir")
    p.set_defaults(func=cmd_seed_crates)
    args = parser.parse_args()
    try:
        return args.func(args)
    except OverlayError as e:
        print(f"overlay: error: {e}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
