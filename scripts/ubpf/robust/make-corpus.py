#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Generate the bad-input corpus tests/data/ubpf/bad/ and its manifest EXPECT.

Usage: make-corpus.py [OUT_DIR]      (default: tests/data/ubpf/bad)

The corpus is committed; this script documents how each file was made and
regenerates it (clang is needed for the files derived from real objects).
Every case is declared below with its expectation, which is written to
EXPECT, one line per file:

    file | stage result | message substring

stage "load": Program::load_file refuses the file with ErrorKind `result`;
stage "vm": the program loads but Vm::new (interpreter) refuses it;
stage "run": it loads and runs in the interpreter on the corpus packet
(RUN_PACKET below, also built by the consumers), and `result` is either the
return value (decimal) or the RunError kind.  The message substring must
occur in the error's text (for run values it is "-").  A trailing
"| bug" marks a known engine bug (the engine test runs the case in a
child process; the QMP script skips it unless asked): the expectation is
what the engine should do once fixed.

Files whose name starts with "@" are made at test time: @missing (a path
that does not exist), @directory (a directory), @unreadable (mode 000;
root reads it anyway, so that case is skipped when run as root).
"""

import os
import random
import struct
import subprocess
import sys
import tempfile

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))))
PROGS = os.path.join(REPO, "tests", "data", "ubpf")

EM_BPF = 247

# ---- eBPF bytecode -------------------------------------------------------


def insn(code, dst=0, src=0, off=0, imm=0):
    return struct.pack("<BBhi", code, (src << 4) | dst, off, imm)


def mov(dst, imm):
    return insn(0xb7, dst, 0, 0, imm)


def movr(dst, src):
    return insn(0xbf, dst, src)


def lddw(dst, value, src=0):
    lo, hi = value & 0xffffffff, value >> 32
    return (insn(0x18, dst, src, 0, struct.unpack("<i", struct.pack("<I", lo))[0])
            + insn(0, 0, 0, 0, struct.unpack("<i", struct.pack("<I", hi))[0]))


EXIT = insn(0x95)
RET0 = mov(0, 0) + EXIT


def call(helper):
    return insn(0x85, 0, 0, 0, helper)


# ---- minimal ELF writer --------------------------------------------------


def elf(sections, machine=EM_BPF):
    """A relocatable ELF64 LE object with `sections` [(name, type, flags,
    data)] after the null section, and .shstrtab last."""
    names = b"\0"
    offs = []
    for name, *_ in sections:
        offs.append(len(names))
        names += name.encode() + b"\0"
    shstr_name = len(names)
    names += b".shstrtab\0"
    body = b""
    layout = []
    pos = 64
    for (name, typ, flags, data), noff in zip(sections, offs):
        pos_aligned = (pos + 7) & ~7
        body += b"\0" * (pos_aligned - pos)
        pos = pos_aligned
        layout.append((noff, typ, flags, pos, len(data)))
        body += data
        pos += len(data)
    layout.append((shstr_name, 3, 0, pos, len(names)))
    body += names
    pos += len(names)
    shoff = (pos + 7) & ~7
    body += b"\0" * (shoff - pos)
    shnum = len(layout) + 1
    hdr = (b"\x7fELF" + bytes([2, 1, 1, 0]) + b"\0" * 8
           + struct.pack("<HHIQQQIHHHHHH", 1, machine, 1, 0, 0, shoff, 0, 64, 0, 0,
                         64, shnum, shnum - 1))
    shdrs = b"\0" * 64
    for noff, typ, flags, off, size in layout:
        shdrs += struct.pack("<IIQQQQIIQQ", noff, typ, flags, 0, off, size, 0, 0, 8, 0)
    return hdr + body + shdrs


SHT_PROGBITS = 1
AX = 0x6                                    # SHF_ALLOC | SHF_EXECINSTR


def prog_elf(code, section="ubpf"):
    return elf([(section, SHT_PROGBITS, AX, code),
                ("license", SHT_PROGBITS, 0x3, b"GPL\0")])


# ---- ELF inspection of clang objects --------------------------------------


class Obj:
    def __init__(self, data):
        self.data = bytearray(data)
        (self.shoff,) = struct.unpack_from("<Q", data, 0x28)
        self.shentsize, self.shnum, self.shstrndx = struct.unpack_from("<HHH", data, 0x3a)
        strtab = self.shdr(self.shstrndx)
        self.names = {}
        for i in range(self.shnum):
            sh = self.shdr(i)
            start = strtab["offset"] + sh["name"]
            end = self.data.index(b"\0", start)
            self.names[self.data[start:end].decode()] = i

    def shdr_off(self, i):
        return self.shoff + i * self.shentsize

    def shdr(self, i):
        f = struct.unpack_from("<IIQQQQIIQQ", self.data, self.shdr_off(i))
        return dict(zip(("name", "type", "flags", "addr", "offset", "size", "link",
                         "info", "align", "entsize"), f))

    def section(self, name):
        return self.shdr(self.names[name])

    def set_field(self, name, field, value):
        fields = ("name", "type", "flags", "addr", "offset", "size", "link", "info",
                  "align", "entsize")
        fmt = "IIQQQQIIQQ"
        k = fields.index(field)
        at = self.shdr_off(self.names[name]) + struct.calcsize("<" + fmt[:k])
        struct.pack_into("<" + fmt[k], self.data, at, value)
        return self

    def btf_types(self):
        """(offset in file, kind, vlen, name) of every BTF type."""
        sec = self.section(".BTF")
        base = sec["offset"]
        hdr_len, type_off, type_len = struct.unpack_from("<III", self.data, base + 4)
        start = base + hdr_len + type_off
        pos, out = start, []
        while pos < start + type_len:
            name, info, _ = struct.unpack_from("<III", self.data, pos)
            kind, vlen = (info >> 24) & 0x1f, info & 0xffff
            words = {1: 1, 14: 1, 17: 1, 3: 3, 4: 3 * vlen, 5: 3 * vlen, 15: 3 * vlen,
                     19: 3 * vlen, 6: 2 * vlen, 13: 2 * vlen}.get(kind, 0)
            out.append((pos, kind, vlen, name))
            pos += 12 + 4 * words
        return out


def compile_c(src, out, target="bpf", text=None, debug=True):
    multiarch = subprocess.run(["clang", "-print-multiarch"], capture_output=True,
                               text=True).stdout.strip()
    if target == "bpf":
        cmd = ["clang", "-O2"] + (["-g"] if debug else []) + [
            "-target", "bpf", f"-I/usr/include/{multiarch}", "-I", PROGS, "-c"]
    else:
        cmd = ["cc", "-O2", "-c"]
    if text is not None:
        cmd += ["-x", "c", "-", "-o", out]
    else:
        cmd += [src, "-o", out]
    subprocess.run(cmd, check=True, input=text, text=True)
    with open(out, "rb") as f:
        return f.read()


# ---- the cases -------------------------------------------------------------

CASES = []        # (file name, bytes or None, expectation)


def case(name, data, expect):
    CASES.append((name, data, expect))


def bytecode_cases():
    # structural refusals (checks at load time)
    case("op_invalid_ff.o", prog_elf(mov(0, 0) + insn(0xff) + EXIT),
         "load InvalidOpcode | instruction 1: invalid opcode 0xff")
    case("op_invalid_class_jmp32_call.o", prog_elf(mov(0, 0) + insn(0x86) + EXIT),
         "load InvalidOpcode | invalid opcode 0x86")
    # atomics and ISA v4 run; their encodings with invalid fields do not
    case("op_atomic_unknown.o", prog_elf(mov(0, 0) + insn(0xdb, 10, 0, -8, 0x02) + EXIT),
         "load InvalidField | atomic operation: unknown operation")
    case("op_bswap_src_bit.o", prog_elf(mov(0, 0) + insn(0xdf, 0, 0, 0, 64) + EXIT),
         "load InvalidField | bswap: invalid source bit")
    case("op_kfunc_call.o", prog_elf(mov(0, 0) + insn(0x85, 0, 2, 0, 7) + EXIT),
         "load UnsupportedInstruction | kfunc")
    case("op_exit_reserved.o", prog_elf(mov(0, 0) + insn(0x95, 0, 0, 0, 1)),
         "load InvalidField | exit: reserved fields")
    case("reg_r11.o", prog_elf(mov(11, 0) + EXIT),
         "load InvalidRegister | invalid destination register r11")
    case("reg_write_r10.o", prog_elf(mov(10, 0) + EXIT),
         "load InvalidRegister | r10 (frame pointer) is read-only")
    case("jump_out_forward.o", prog_elf(mov(0, 0) + insn(0x05, 0, 0, 100) + EXIT),
         "load JumpOutOfRange | jump out of range (target 102")
    case("jump_out_backward.o", prog_elf(mov(0, 0) + insn(0x05, 0, 0, -100) + EXIT),
         "load JumpOutOfRange | jump out of range (target -98")
    case("jump_out_cond.o", prog_elf(mov(0, 0) + insn(0x15, 1, 0, 0x7fff) + EXIT),
         "load JumpOutOfRange | jump out of range")
    case("jump_into_lddw.o",
         prog_elf(insn(0x05, 0, 0, 1) + lddw(0, 1) + EXIT),
         "load JumpIntoLddw | jump into the middle of lddw at instruction 1")
    case("jump_cond_into_lddw.o",
         prog_elf(mov(0, 0) + insn(0x15, 1, 0, 1) + lddw(0, 1) + EXIT),
         "load JumpIntoLddw | middle of lddw")
    case("lddw_incomplete.o", prog_elf(mov(0, 0) + EXIT + insn(0x18)),
         "load IncompleteLddw | incomplete lddw")
    case("lddw_bad_second_half.o",
         prog_elf(insn(0x18, 0, 0, 0, 1) + insn(0x07, 0, 0, 0, 1) + EXIT),
         "load InvalidField | second half of lddw")
    case("call_out_of_range.o", prog_elf(insn(0x85, 0, 1, 0, 1000) + EXIT),
         "load JumpOutOfRange | jump out of range")
    case("call_recursion.o",
         prog_elf(insn(0x85, 0, 1, 0, 1) + EXIT + insn(0x85, 0, 1, 0, -1) + EXIT),
         "load Recursion | recursive bpf-to-bpf call")
    deep = b""
    for _ in range(10):
        deep += insn(0x85, 0, 1, 0, 1) + EXIT
    case("call_too_deep.o", prog_elf(deep + RET0),
         "load CallDepth | nest deeper than 8")
    case("helper_unknown_999.o", prog_elf(mov(0, 0) + call(999) + EXIT),
         "load UnknownHelper | call to unknown helper 999")
    # bpf_tail_call without a program array fails (-ENOENT) and the
    # program goes on, as in the kernel
    case("helper_tail_call.o", prog_elf(mov(0, 0) + call(12) + EXIT),
         "run 18446744073709551614 | -")
    case("helper_negative.o", prog_elf(mov(0, 0) + call(-1) + EXIT),
         "load UnknownHelper | call to unknown helper -1")
    case("falls_off_end.o", prog_elf(mov(0, 0) + mov(1, 1)),
         "load FallsOffEnd | run past the end")
    case("too_many_insns.o", prog_elf(mov(0, 0) * 32768 + EXIT),
         "load TooManyInstructions | too many instructions (32769, at most 32768)")
    case("div_imm_zero.o", prog_elf(mov(0, 7) + insn(0x37, 0, 0, 0, 0) + EXIT),
         "run 0 | -")
    case("mod_imm_zero.o", prog_elf(mov(0, 7) + insn(0x97, 0, 0, 0, 0) + EXIT),
         "run 7 | -")
    case("section_odd_size.o", prog_elf(RET0 + b"\0\0\0\0"),
         "load Truncated | not a multiple of 8")
    case("section_empty.o", prog_elf(b""), "load NoProgram | no program section")

    # loops: they load (the verifier may prove them bounded) but never
    # run without a proof
    case("loop_self.o", prog_elf(mov(0, 0) + insn(0x05, 0, 0, -1) + EXIT),
         "load Rejected | infinite loop")
    case("loop_counter_wraps.o",
         prog_elf(mov(0, 0) + insn(0x07, 0, 0, 0, 1) + insn(0x55, 0, 0, -2, 0) + EXIT),
         "vm BackwardJump | backward jump to instruction 1")
    case("loop_packet_len.o",
         prog_elf(mov(0, 0) + insn(0x07, 0, 0, 0, 1) + insn(0x2d, 2, 0, -2, 0) + EXIT),
         "vm BackwardJump | loops only run in verified programs")

    # division by zero is defined in eBPF: x / 0 = 0, x % 0 = x (32-bit
    # forms truncate the destination to 32 bits)
    r1zero = mov(1, 0)
    case("div64_reg_zero.o", prog_elf(mov(0, 7) + r1zero + insn(0x3f, 0, 1) + EXIT),
         "run 0 | -")
    case("mod64_reg_zero.o", prog_elf(mov(0, 7) + r1zero + insn(0x9f, 0, 1) + EXIT),
         "run 7 | -")
    big = lddw(0, 0x1_0000_0007)
    case("div32_reg_zero.o", prog_elf(big + r1zero + insn(0x3c, 0, 1) + EXIT), "run 0 | -")
    # rbpf (interpreter and JIT) leaves the upper half: 0x100000007
    case("mod32_reg_zero.o", prog_elf(big + r1zero + insn(0x9c, 0, 1) + EXIT),
         "run 7 | -")
    # shifts by more than the width: masked (x86 semantics), never a panic
    case("shift_imm_200.o", prog_elf(mov(0, 1) + insn(0x67, 0, 0, 0, 200) + EXIT),
         "run 256 | -")
    case("shift_reg_200.o",
         prog_elf(mov(0, 1) + mov(1, 200) + insn(0x6f, 0, 1) + EXIT), "run 256 | -")

    # memory: loads fine, refused at run time by the interpreter
    case("oob_load_far.o", prog_elf(insn(0x71, 0, 1, 4000) + EXIT),
         "run OutOfBounds | out-of-bounds")
    case("oob_load_before.o", prog_elf(insn(0x71, 0, 1, -1) + EXIT),
         "run OutOfBounds | out-of-bounds")
    case("oob_load_len.o", prog_elf(movr(3, 1) + insn(0x0f, 3, 2)
                                    + insn(0x71, 0, 3, 0) + EXIT),
         "run OutOfBounds | out-of-bounds")
    case("oob_store_far.o", prog_elf(insn(0x72, 1, 0, 4000, 1) + RET0),
         "run OutOfBounds | out-of-bounds")
    case("oob_store_dw_end.o", prog_elf(movr(3, 1) + insn(0x0f, 3, 2)
                                        + insn(0x7b, 3, 1, -4) + RET0),
         "run OutOfBounds | out-of-bounds")
    case("oob_null_deref.o", prog_elf(mov(1, 0) + insn(0x79, 0, 1, 0) + EXIT),
         "run OutOfBounds | out-of-bounds")
    case("oob_wild_pointer.o", prog_elf(lddw(1, 0x7fff_dead_0000) + insn(0x79, 0, 1, 0)
                                        + EXIT),
         "run OutOfBounds | out-of-bounds")
    case("oob_wild_store.o", prog_elf(lddw(1, 0x4000_0000) + insn(0x7a, 1, 0, 0, 0x41)
                                      + RET0),
         "run OutOfBounds | out-of-bounds")
    # legacy packet loads out of the packet end the program with 0, as in
    # the kernel (they read through a checked helper, never out of bounds)
    case("oob_ld_abs_far.o", prog_elf(insn(0x20, 0, 0, 0, 100000) + RET0),
         "run 0 | -")
    case("oob_ld_ind_far.o", prog_elf(lddw(3, 0x7fff_0000) + insn(0x40, 0, 3, 0, 0)
                                      + RET0),
         "run 0 | -")
    # the stack is 512 bytes below r10
    case("stack_below_512.o", prog_elf(insn(0x7b, 10, 1, -520) + RET0),
         "run OutOfBounds | out-of-bounds")
    case("stack_far_below.o", prog_elf(insn(0x79, 0, 10, -4096) + EXIT),
         "run OutOfBounds | out-of-bounds")
    case("stack_above_r10.o", prog_elf(insn(0x79, 0, 10, 0) + EXIT),
         "run OutOfBounds | out-of-bounds")
    case("stack_r10_arith.o", prog_elf(movr(3, 10) + insn(0x17, 3, 0, 0, 8192)
                                       + insn(0x7a, 3, 0, 0, 1) + RET0),
         "run OutOfBounds | out-of-bounds")
    # helpers given garbage: refused inside the helper, never a crash
    case("helper_lookup_bad_map.o",
         prog_elf(lddw(1, 0x1234_5678) + movr(2, 10) + insn(0x07, 2, 0, 0, -8)
                  + insn(0x7a, 10, 0, -8, 0) + call(1) + EXIT),
         "run 0 | -")
    case("helper_lookup_null_key.o",
         prog_elf(mov(1, 0) + mov(2, 0) + call(1) + EXIT), "run 0 | -")
    case("helper_printk_wild.o",
         prog_elf(lddw(1, 0x7fff_dead_0000) + mov(2, 4096) + call(6) + EXIT),
         "run 18446744073709551602 | -")  # -EFAULT: the format is unreadable


def derived_cases(tmp):
    # without -g (small files) where BTF does not matter
    arp = compile_c(os.path.join(PROGS, "arp_only.bpf.c"), os.path.join(tmp, "arp.o"),
                    debug=False)
    calls = compile_c(os.path.join(PROGS, "call.bpf.c"), os.path.join(tmp, "call.o"),
                      debug=False)
    maps = compile_c(os.path.join(PROGS, "maps_blocklist.bpf.c"),
                     os.path.join(tmp, "maps.o"))
    legacy = compile_c(os.path.join(PROGS, "maps_legacy.bpf.c"),
                       os.path.join(tmp, "legacy.o"), debug=False)

    # truncations: every refusal is clean, whatever the cut
    o = Obj(arp)
    cuts = sorted({0, 1, 4, 16, 52, 63, 64, 65, 200, len(arp) // 4, len(arp) // 2,
                   o.shoff - 1, o.shoff, o.shoff + 64, len(arp) - 64, len(arp) - 1})
    for cut in cuts:
        if cut < 64:
            exp = "load NotElf | not an ELF object"
        else:
            exp = "load BadElf | malformed ELF object"
        case(f"trunc_arp_{cut:05d}.o", arp[:cut], exp)
    o = Obj(calls)
    for cut in sorted({o.section("ubpf")["offset"] + 40, o.section(".text")["offset"] + 8}):
        case(f"trunc_call_{cut:05d}.o", calls[:cut], "load BadElf | malformed ELF object")

    def patched(base, at, data):
        b = bytearray(base)
        b[at:at + len(data)] = data
        return bytes(b)

    # ELF header
    case("hdr_magic.o", patched(arp, 1, b"X"), "load NotElf | not an ELF object")
    case("hdr_class32.o", patched(arp, 4, b"\x01"), "load NotElf | not an ELF object")
    case("hdr_class_bad.o", patched(arp, 4, b"\x07"), "load NotElf | not an ELF object")
    case("hdr_big_endian.o", patched(arp, 5, b"\x02"), "load WrongEndianness | big-endian")
    case("hdr_data_bad.o", patched(arp, 5, b"\x09"), "load NotElf | not an ELF object")
    case("hdr_machine_x86_64.o", patched(arp, 18, struct.pack("<H", 62)),
         "load WrongMachine | ELF machine is 62, not BPF (247)")
    case("hdr_machine_none.o", patched(arp, 18, struct.pack("<H", 0)),
         "load WrongMachine | ELF machine is 0")
    case("hdr_shoff_beyond.o", patched(arp, 0x28, struct.pack("<Q", 1 << 40)),
         "load BadElf | malformed ELF object")
    case("hdr_shoff_odd.o", patched(arp, 0x28, struct.pack("<Q", Obj(arp).shoff + 3)),
         "load BadElf | malformed ELF object")
    case("hdr_shentsize.o", patched(arp, 0x3a, struct.pack("<H", 32)),
         "load BadElf | malformed ELF object")
    case("hdr_shnum_huge.o", patched(arp, 0x3c, struct.pack("<H", 0xfeff)),
         "load BadElf | malformed ELF object")
    case("hdr_shstrndx_bad.o", patched(arp, 0x3e, struct.pack("<H", 0xfeff)),
         "load BadElf | malformed ELF object")

    # section table
    def sect(base, name, field, value, exp, fname):
        case(fname, bytes(Obj(base).set_field(name, field, value).data), exp)

    sect(arp, "ubpf", "offset", 1 << 40, "load Truncated | section \"ubpf\"",
         "sect_prog_offset_beyond.o")
    sect(arp, "ubpf", "size", 0xffff_ffff_fff8, "load Truncated | section \"ubpf\"",
         "sect_prog_size_huge.o")
    sect(arp, "ubpf", "size", Obj(arp).section("ubpf")["size"] - 4,
         "load Truncated | not a multiple of 8", "sect_prog_size_odd.o")
    sect(arp, "ubpf", "type", 8, "load NoProgram | no program section",
         "sect_prog_nobits.o")
    sect(arp, "ubpf", "flags", 0x2, "load NoProgram | no program section",
         "sect_prog_not_exec.o")
    sect(arp, "ubpf", "name", 0xffff_fff0, "load NoProgram | no program section",
         "sect_prog_name_bad.o")
    sect(arp, ".symtab", "link", 0xfff0, "load BadElf | malformed ELF object",
         "sect_symtab_link_bad.o")
    # ignored by the object crate (it uses the size of Elf64_Sym): harmless
    sect(arp, ".symtab", "entsize", 5, "run 1 | -", "sect_symtab_entsize_bad.o")
    sect(arp, ".symtab", "size", 1 << 40, "load BadElf | malformed ELF object",
         "sect_symtab_size_huge.o")
    # section names unreadable: no section is recognised as a program
    sect(arp, ".strtab", "offset", 1 << 40, "load NoProgram | no program section",
         "sect_shstrtab_beyond.o")

    # relocations (call.o: bpf-to-bpf calls from "ubpf" into .text)
    o = Obj(calls)
    rel = o.section(".relubpf")
    first = rel["offset"]
    r_off, r_info = struct.unpack_from("<QQ", calls, first)

    def reloc(off, info, exp, fname):
        case(fname, patched(calls, first, struct.pack("<QQ", off, info)), exp)

    reloc(r_off, (0xffffff << 32) | (r_info & 0xffffffff),
          "load UnsupportedRelocation | without a valid symbol", "reloc_symbol_huge.o")
    reloc(r_off, (r_info & ~0xffffffff) | 99,
          "load UnsupportedRelocation | relocation type 99", "reloc_type_bad.o")
    reloc(1 << 20, r_info, "load BadElf | outside its code", "reloc_offset_beyond.o")
    reloc(r_off + 3, r_info, "load BadElf | outside its code", "reloc_offset_odd.o")
    reloc(0, r_info, "load UnsupportedRelocation | on opcode", "reloc_not_a_call.o")
    # a relocation section that cannot be read (the object crate would skip
    # it) is refused by the loader...
    sect(calls, ".relubpf", "link", 0xfff0, "load BadElf | relocation",
         "reloc_section_link_bad.o")
    sect(calls, ".relubpf", "size", 1 << 40, "load BadElf | relocation",
         "reloc_section_size_huge.o")
    sect(calls, ".relubpf", "info", 0xfff0, "load BadElf | Invalid ELF sh_info",
         "reloc_section_info_bad.o")
    # ignored (the object crate uses the size of Elf64_Rel): harmless
    sect(calls, ".relubpf", "entsize", 7, "run 1 | -", "reloc_section_entsize_bad.o")
    # ...also with a map reference (it would load without its map)
    # (lddw r1, 0) and silently passes everything: should be refused
    sect(maps, ".relubpf", "link", 0xfff0, "load BadElf | relocation",
         "reloc_map_link_bad.o")
    sect(maps, ".relubpf", "size", 1 << 40, "load BadElf | relocation",
         "reloc_map_size_huge.o")

    # BTF map definitions (maps_blocklist.o: a hash map in .maps)
    o = Obj(maps)
    btf = o.section(".BTF")["offset"]
    case("btf_magic.o", patched(maps, btf, b"\x00\x00"),
         "load UnsupportedRelocation | bad BTF magic")
    case("btf_types_outside.o", patched(maps, btf + 12, struct.pack("<I", 0x7fff_ffff)),
         "load UnsupportedRelocation | BTF types outside the section")
    case("btf_strings_outside.o", patched(maps, btf + 16, struct.pack("<I", 0xffff_fff0)),
         "load UnsupportedRelocation | BTF strings outside the section")
    case("btf_hdr_len_huge.o", patched(maps, btf + 4, struct.pack("<I", 0xffff_ffff)),
         "load UnsupportedRelocation | outside the section")
    rng = random.Random(8)
    size = o.section(".BTF")["size"]
    hdr_len = struct.unpack_from("<I", maps, btf + 4)[0]
    garbage = bytes(rng.randrange(256) for _ in range(size - hdr_len))
    case("btf_garbage_types.o", patched(maps, btf + hdr_len, garbage),
         "load UnsupportedRelocation | BTF")
    types = o.btf_types()
    first_type = types[0][0]
    case("btf_kind_unknown.o",
         patched(maps, first_type + 4, struct.pack("<I", (31 << 24))),
         "load UnsupportedRelocation | unknown BTF kind 31")
    # the map struct's members point to types that do not exist
    struct_t = next(t for t in types if t[1] == 4)
    pos, _, vlen, _ = struct_t
    b = bytearray(maps)
    for i in range(vlen):
        struct.pack_into("<I", b, pos + 12 + 12 * i + 4, 0x00ff_ffff)
    case("btf_member_type_missing.o", bytes(b),
         "load UnsupportedRelocation | BTF type id 16777215 does not exist")
    # typedef/const chains that loop
    b = bytearray(maps)
    typedefs = [i for i, t in enumerate(types) if t[1] in (8, 9, 10)]
    for i in typedefs:
        struct.pack_into("<I", b, types[i][0] + 8, i + 1)     # points to itself
    case("btf_typedef_loop.o", bytes(b),
         "load UnsupportedRelocation | BTF type chain too long")
    # an array of itself: its size is infinite (the key's type becomes the
    # array that __uint(type, ...) points to)
    b = bytearray(maps)
    arrays = [i for i, t in enumerate(types) if t[1] == 3]
    ptrs = [i for i, t in enumerate(types) if t[1] == 2]
    arr = arrays[0]
    struct.pack_into("<I", b, types[arr][0] + 12, arr + 1)    # elem type = itself
    for p in ptrs:
        struct.pack_into("<I", b, types[p][0] + 8, arr + 1)   # every pointer -> array
    case("btf_array_of_itself.o", bytes(b),
         "load UnsupportedRelocation | BTF")
    # legacy map definitions with garbage sizes
    o = Obj(legacy)
    m = o.section("maps")["offset"]
    for fname, words, exp in [
        ("legacy_map_type_bad.o", (99, 4, 8, 2), "map type 99 is not supported"),
        ("legacy_map_huge.o", (1, 4, 65536, 0xffff_ffff), "exceed"),
        ("legacy_map_value_huge.o", (2, 4, 0xffff_ffff, 2), "value size 4294967295"),
        ("legacy_map_zero_entries.o", (2, 4, 8, 0), "max_entries is 0"),
        ("legacy_map_key_bad.o", (2, 3, 8, 2), "key size 3"),
    ]:
        stage = "load UnsupportedRelocation" if "type 99" in exp else "vm Map"
        case(fname, patched(legacy, m, struct.pack("<IIII", *words)), f"{stage} | {exp}")
    sect(legacy, "maps", "size", 4, "load UnsupportedRelocation | truncated definition",
         "legacy_map_truncated.o")

    # objects for another machine, objects without programs
    x86 = compile_c(None, os.path.join(tmp, "x86.o"), target="cc",
                    text="int prog(void *p, unsigned long n) { return n > 14; }\n")
    case("x86_64_object.o", x86, "load WrongMachine | ELF machine is 62")
    noprog = compile_c(None, os.path.join(tmp, "noprog.o"),
                       text="int counter = 1;\nchar _license[] "
                            "__attribute__((section(\"license\"))) = \"GPL\";\n")
    case("no_program_data_only.o", noprog, "load NoProgram | no program section")
    case("text_file.o", b"SEC(\"ubpf\") int prog(void) { return 0; }\n",
         "load NotElf | not an ELF object")
    case("empty_file.o", b"", "load NotElf | not an ELF object")


def special_cases():
    case("@missing", None, "load Io | cannot read: no such file")
    case("@directory", None, "load Io | cannot read: it is a directory")
    case("@unreadable", None, "load Io | cannot read: permission denied")


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(PROGS, "bad")
    os.makedirs(out, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        bytecode_cases()
        derived_cases(tmp)
    special_cases()
    lines = [
        "# filter-ubpf bad-input corpus: generated by scripts/ubpf/robust/make-corpus.py",
        "# (the expectations are declared there).  file | stage result | message",
        "# stage load: refused by Program::load_file; vm: refused by Vm::new;",
        "# run: loads and runs in the interpreter on the corpus packet",
        "# (64 bytes: an Ethernet/IPv4/UDP frame), result = value or RunError kind.",
        "# A trailing \"| bug\" marks a known engine bug (expectation once fixed).",
    ]
    names = set()
    for name, data, expect in CASES:
        assert name not in names, name
        names.add(name)
        if data is not None:
            with open(os.path.join(out, name), "wb") as f:
                f.write(data)
        lines.append(f"{name} | {expect}")
    for stale in set(os.listdir(out)) - names - {"EXPECT", "README"}:
        os.unlink(os.path.join(out, stale))
    with open(os.path.join(out, "EXPECT"), "w") as f:
        f.write("\n".join(lines) + "\n")
    print(f"{len(CASES)} cases written to {out}")


if __name__ == "__main__":
    main()
