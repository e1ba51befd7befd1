#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Build the real-program corpus for the kernel differential test
# (rust/ubpf/tests/kernel_diff.rs): packet programs from other projects,
# compiled unchanged, plus a manifest.  Nothing lands in the repository:
# everything goes to ${UBPF_CACHE:-~/.cache/filter-ubpf}/kernel-corpus.
#
#   scripts/ubpf/kernel-corpus.sh            # install what is missing, build
#   UBPF_KERNEL_CORPUS=~/.cache/filter-ubpf/kernel-corpus \
#     cargo test --manifest-path rust/ubpf/Cargo.toml --test kernel_diff -- --nocapture
#
# Sources:
#   - xdp-tools' compiled objects (Debian xdp-tools: /usr/lib/<triplet>/bpf);
#   - linux-source-<newest>: samples/bpf and tools/testing/selftests/bpf/progs
#     packet programs (XDP, tc, socket) that build standalone with clang and
#     the kernel tree's libbpf headers plus a vmlinux.h from the running
#     kernel's BTF (bpftool);
#   - QEMU's tools/ebpf/rss.bpf.c, from $QEMU_SRC or the QEMU checkout the
#     project's build fetches (~/.cache/filter-ubpf/qemu-src).
#
# Manifest (manifest.txt): "object section type function" per program,
# object relative to the corpus directory; type is xdp, sched_cls or
# socket_filter.  Every global function of a program section is a program,
# as libbpf has it: a section holding one is listed by its name, the
# programs of a section holding several (sockex3's five SEC("socket"))
# as "section/function", which the engine's loader takes too.  Programs
# of the object that a tail call may run are loaded with it on both sides
# (see rust/ubpf/tests/common/kernel.rs).  The selftests' verifier_*.c,
# the kernel verifier's own unit tests, hold hundreds of small programs
# per section, many invalid on purpose: manifest.txt lists only those
# alone in their section (and all of verifier_ld_ind.c's, LD_ABS/LD_IND),
# manifest-all.txt all of them.
#
# Environment: UBPF_CACHE (cache root), QEMU_SRC, JOBS (default 2), CLANG.

set -euo pipefail

CACHE_ROOT=${UBPF_CACHE:-$HOME/.cache/filter-ubpf}
OUT=$CACHE_ROOT/kernel-corpus
JOBS=${JOBS:-2}
CLANG=${CLANG:-clang}

log() { echo "kernel-corpus: $*" >&2; }

# ------------------------------------------------------------ packages
apt_install() {
    [ "$(id -u)" = 0 ] || { log "not root: cannot install $*"; return 0; }
    DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=900 \
        install -y --no-install-recommends "$@" >&2
}

need=()
command -v "$CLANG" >/dev/null || need+=(clang)
[ -f /usr/include/bpf/bpf_helpers.h ] || need+=(libbpf-dev)
command -v bpftool >/dev/null || need+=(bpftool)
dpkg -s xdp-tools >/dev/null 2>&1 || need+=(xdp-tools)
dpkg -s python3 >/dev/null 2>&1 || need+=(python3)
# the newest linux-source-X.Y the archive offers
src_pkg=$(apt-cache pkgnames linux-source- 2>/dev/null |
          grep -E '^linux-source-[0-9]+\.[0-9]+$' | sort -V | tail -n 1 || true)
if [ -z "$src_pkg" ]; then
    log "apt-get update (no linux-source-X.Y known)"
    [ "$(id -u)" = 0 ] && apt-get -o DPkg::Lock::Timeout=900 update >&2 || true
    src_pkg=$(apt-cache pkgnames linux-source- 2>/dev/null |
              grep -E '^linux-source-[0-9]+\.[0-9]+$' | sort -V | tail -n 1 || true)
fi
if [ -n "$src_pkg" ]; then
    dpkg -s "$src_pkg" >/dev/null 2>&1 || need+=("$src_pkg")
else
    log "no linux-source package available: kernel samples and selftests skipped"
fi
if [ ${#need[@]} -gt 0 ]; then
    log "installing ${need[*]}"
    apt_install "${need[@]}" || log "some packages could not be installed"
fi

mkdir -p "$OUT"/obj "$OUT"/src "$OUT"/log
: > "$OUT"/log/compile.txt
triplet=$("$CLANG" -print-multiarch 2>/dev/null || true)
triplet=${triplet:-x86_64-linux-gnu}

# ------------------------------------------------------------ xdp-tools
n=0
for o in /usr/lib/"$triplet"/bpf/*.o; do
    [ -f "$o" ] || continue
    mkdir -p "$OUT"/obj/xdp-tools
    cp -f "$o" "$OUT"/obj/xdp-tools/
    n=$((n + 1))
done
log "xdp-tools: $n objects"

# ------------------------------------------------------------ kernel tree
ver=${src_pkg#linux-source-}
tarball=/usr/src/linux-source-$ver.tar.xz
tree=$OUT/src/linux-source-$ver
if [ -n "$src_pkg" ] && [ -f "$tarball" ]; then
    if [ ! -f "$tree/.extracted" ]; then
        log "extracting the BPF parts of $tarball"
        rm -rf "$tree"
        tar -xJf "$tarball" -C "$OUT/src" --wildcards \
            "linux-source-$ver/samples/bpf/*" \
            "linux-source-$ver/tools/testing/selftests/bpf/*.h" \
            "linux-source-$ver/tools/testing/selftests/bpf/progs/*" \
            "linux-source-$ver/tools/lib/bpf/*" \
            "linux-source-$ver/tools/include/*" \
            "linux-source-$ver/include/uapi/linux/bpf.h" \
            "linux-source-$ver/scripts/bpf_doc.py"
        touch "$tree/.extracted"
    fi
    # the tree's libbpf headers, with the generated helper definitions
    inc=$OUT/src/include-$ver
    if [ ! -f "$inc/bpf/bpf_helper_defs.h" ]; then
        mkdir -p "$inc/bpf"
        cp "$tree"/tools/lib/bpf/*.h "$inc/bpf/"
        python3 "$tree/scripts/bpf_doc.py" --header \
            --file "$tree/include/uapi/linux/bpf.h" > "$inc/bpf/bpf_helper_defs.h.tmp"
        mv "$inc/bpf/bpf_helper_defs.h.tmp" "$inc/bpf/bpf_helper_defs.h"
    fi
    # vmlinux.h of the running kernel
    vmdir=$OUT/src/vmlinux
    if [ ! -s "$vmdir/vmlinux.h" ] && [ -r /sys/kernel/btf/vmlinux ] &&
       command -v bpftool >/dev/null; then
        mkdir -p "$vmdir"
        bpftool btf dump file /sys/kernel/btf/vmlinux format c > "$vmdir/vmlinux.h.tmp"
        mv "$vmdir/vmlinux.h.tmp" "$vmdir/vmlinux.h"
    fi
    st=$tree/tools/testing/selftests/bpf
    # old samples include <uapi/linux/...>: the system's UAPI headers
    shim=$OUT/src/uapi-shim
    mkdir -p "$shim"
    ln -sfn /usr/include "$shim/uapi"
    # ... and what the kernel build gives them through its internal
    # headers: the short type names (u32, bool) of <linux/types.h>,
    # likely/unlikely of <linux/compiler.h>, htons and friends of
    # <linux/byteorder/generic.h>, memcpy/memset of <linux/string.h>
    # (clang's built-ins, as in the kernel's BPF build), the TCP/UDP
    # headers <linux/if_vlan.h> pulls in, the address families of
    # <linux/socket.h>.  A header of definitions over the UAPI ones,
    # written here and included first (-include) in the old *_kern.c
    # samples.
    cat > "$shim/kernel-types.h.tmp" <<'SHIM'
/* generated by scripts/ubpf/kernel-corpus.sh: kernel-internal type names */
#ifndef UBPF_CORPUS_KERNEL_TYPES_H
#define UBPF_CORPUS_KERNEL_TYPES_H
#include <linux/types.h>
#include <asm/byteorder.h>
#include <linux/tcp.h>
#include <linux/udp.h>
typedef __u8 u8;
typedef __s8 s8;
typedef __u16 u16;
typedef __s16 s16;
typedef __u32 u32;
typedef __s32 s32;
typedef __u64 u64;
typedef __s64 s64;
typedef _Bool bool;
#define true 1
#define false 0
#define likely(x) __builtin_expect(!!(x), 1)
#define unlikely(x) __builtin_expect(!!(x), 0)
#define htons(x) __cpu_to_be16(x)
#define ntohs(x) __be16_to_cpu(x)
#define htonl(x) __cpu_to_be32(x)
#define ntohl(x) __be32_to_cpu(x)
#define memcpy __builtin_memcpy
#define memset __builtin_memset
#ifndef AF_INET
#define AF_INET 2
#define AF_INET6 10
#endif
#endif
SHIM
    mv "$shim/kernel-types.h.tmp" "$shim/kernel-types.h"
    export CLANG OUT triplet inc vmdir st tree shim
    compile_one() {
        # $1 = kind (selftests|samples), $2 = source
        local kind=$1 src=$2 base obj flags
        base=$(basename "$src" .c)
        obj=$OUT/obj/$kind/$base.o
        [ -s "$obj" ] && return 0
        mkdir -p "$OUT/obj/$kind"
        flags=(-O2 -g -target bpf -D__TARGET_ARCH_x86 -std=gnu11
               -fno-strict-aliasing -Wno-compare-distinct-pointer-types
               -Werror=implicit-function-declaration
               -I"$vmdir" -I"$inc" -I"$st" -I"$tree/tools/include/uapi"
               -idirafter "/usr/include/$triplet" -idirafter /usr/include)
        case $kind in
            selftests) flags+=(-mcpu=v3 -I"$st/progs") ;;
            samples) flags+=(-I"$tree/samples/bpf" -I"$tree/tools/lib"
                            -idirafter "$tree/tools/include" -idirafter "$shim") ;;
        esac
        case $kind/$src in
            samples/*_kern.c) flags+=(-include "$shim/kernel-types.h") ;;
        esac
        if timeout 120 "$CLANG" "${flags[@]}" -c "$src" -o "$obj.tmp" \
               > "$obj.err" 2>&1; then
            mv "$obj.tmp" "$obj"
            rm -f "$obj.err"
            echo "ok   $kind $base"
        else
            rm -f "$obj.tmp"
            echo "FAIL $kind $base ($(grep -m1 'error:' "$obj.err" | cut -c1-150))"
            rm -f "$obj.err"
        fi
    }
    export -f compile_one
    packet_sec='SEC\("(xdp|tc|tcx|classifier|socket)[0-9/."]'
    { grep -lE "$packet_sec" "$st"/progs/*.c 2>/dev/null || true; } |
        sed 's/^/selftests /' > "$OUT/log/candidates.txt"
    { grep -lE "$packet_sec" "$tree"/samples/bpf/*.bpf.c "$tree"/samples/bpf/*_kern.c \
          2>/dev/null || true; } | sed 's/^/samples /' >> "$OUT/log/candidates.txt"
    log "compiling $(wc -l < "$OUT/log/candidates.txt") candidate sources ($JOBS jobs)"
    xargs -P "$JOBS" -L 1 bash -c 'compile_one "$0" "$1"' \
        < "$OUT/log/candidates.txt" >> "$OUT/log/compile.txt" || true
    log "objects: $(find "$OUT/obj/selftests" "$OUT/obj/samples" -name '*.o' 2>/dev/null | wc -l)," \
        "failed to compile: $(grep -c '^FAIL' "$OUT/log/compile.txt" || true) (log/compile.txt)"
fi

# ------------------------------------------------------------ QEMU rss
rss=""
for d in "${QEMU_SRC:-}" "$CACHE_ROOT/qemu-src"; do
    if [ -n "$d" ] && [ -f "$d/tools/ebpf/rss.bpf.c" ]; then
        rss=$d/tools/ebpf/rss.bpf.c
        break
    fi
done
if [ -n "$rss" ]; then
    mkdir -p "$OUT/obj/qemu"
    if "$CLANG" -O2 -g -target bpf -idirafter "/usr/include/$triplet" \
           -c "$rss" -o "$OUT/obj/qemu/rss.bpf.o" 2>> "$OUT/log/compile.txt"; then
        echo "ok   qemu rss.bpf" >> "$OUT/log/compile.txt"
    else
        log "rss.bpf.c did not compile"
    fi
else
    log "QEMU's tools/ebpf/rss.bpf.c not found (set QEMU_SRC): skipped"
fi

# ------------------------------------------------------------ manifest
python3 - "$OUT" "$OUT/manifest.txt.tmp" "$OUT/manifest-all.txt.tmp" <<'EOF'
# List the packet programs of the corpus's objects: the global functions
# of sections that hold code, typed from the section name as libbpf does.
import os
import struct
import sys

out, manifest, manifest_all = sys.argv[1:4]


def prog_type(section, path):
    head = section.split("/")[0]
    if head in ("xdp", "xdp.frags"):
        return "xdp"
    if head in ("tc", "tcx", "classifier") or head.startswith("tc."):
        return "sched_cls"
    if head.rstrip("0123456789") == "socket" or (path.endswith("rss.bpf.o") and section != ".text"):
        return "socket_filter"
    return None


def programs(path):
    data = open(path, "rb").read()
    if data[:4] != b"\x7fELF" or data[4] != 2 or data[5] != 1:
        return []
    shoff, = struct.unpack_from("<Q", data, 0x28)
    shentsize, shnum, shstrndx = struct.unpack_from("<HHH", data, 0x3A)
    secs = []
    for i in range(shnum):
        name, typ, flags, _, off, size, link, _, _, entsize = struct.unpack_from(
            "<IIQQQQIIQQ", data, shoff + i * shentsize)
        secs.append((name, typ, flags, off, size, link, entsize))
    stroff = secs[shstrndx][3]

    def cstr(base, at):
        end = data.index(b"\0", base + at)
        return data[base + at:end].decode("latin-1")

    names = [cstr(stroff, s[0]) for s in secs]
    funcs = {}
    for s in secs:
        if s[1] != 2:  # SHT_SYMTAB
            continue
        strtab = secs[s[5]][3]
        for k in range(s[4] // 24):
            st_name, info, _, shndx, _, _ = struct.unpack_from(
                "<IBBHQQ", data, s[3] + k * 24)
            if info & 0xF == 2 and info >> 4 == 1:  # STT_FUNC, STB_GLOBAL
                funcs.setdefault(shndx, []).append(cstr(strtab, st_name))
    for i, s in enumerate(secs):
        if not (s[2] & 0x4) or s[4] == 0 or names[i] == ".text":
            continue
        t = prog_type(names[i], path)
        fs = funcs.get(i, [])
        if t and len(fs) == 1:
            yield names[i], t, fs[0]
        elif t:
            # several programs in one section: libbpf's "section/function"
            for fn in fs:
                yield f"{names[i]}/{fn}", t, fn


header = "# object section type function (built by scripts/ubpf/kernel-corpus.sh)\n"
with open(manifest, "w") as some, open(manifest_all, "w") as every:
    some.write(header)
    every.write(header)
    for root, _, files in sorted(os.walk(os.path.join(out, "obj"))):
        for f in sorted(files):
            if not f.endswith(".o"):
                continue
            path = os.path.join(root, f)
            rel = os.path.relpath(path, out)
            # the verifier's unit tests, but for those of LD_ABS/LD_IND,
            # which few other programs use
            unit_tests = (rel.startswith("obj/selftests/verifier_")
                          and rel != "obj/selftests/verifier_ld_ind.o")
            try:
                for sec, t, fn in programs(path):
                    line = f"{rel} {sec} {t} {fn}\n"
                    every.write(line)
                    if not (unit_tests and sec.endswith("/" + fn)):
                        some.write(line)
            except (ValueError, struct.error, IndexError) as e:
                every.write(f"# {path}: {e}\n")
                some.write(f"# {path}: {e}\n")
EOF
mv "$OUT/manifest.txt.tmp" "$OUT/manifest.txt"
mv "$OUT/manifest-all.txt.tmp" "$OUT/manifest-all.txt"
log "manifest: $(grep -vc '^#' "$OUT/manifest.txt") programs in $OUT/manifest.txt," \
    "$(grep -vc '^#' "$OUT/manifest-all.txt") in manifest-all.txt"
echo "$OUT"
