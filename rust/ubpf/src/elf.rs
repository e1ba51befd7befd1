// SPDX-License-Identifier: GPL-2.0-or-later

//! Loading eBPF programs from ELF objects built by
//! `clang -O2 [-g] -target bpf -c`.
//!
//! The ELF structure is read with the `object` crate.  A program is one
//! executable section (or one function of it); bpf-to-bpf calls into
//! `.text` are linked as libbpf links them: the functions of `.text` the
//! program calls are appended behind it, each at its first call, and the
//! calls' immediates point to where their callees went.

use object::elf;
use object::read::elf::{ElfFile64, FileHeader, SectionHeader};
use object::{
    Endianness, FileKind, Object, ObjectSection, ObjectSymbol, RelocationFlags, RelocationTarget,
    SectionIndex,
};

use crate::btf::Btf;
use crate::check::{Insn, CALL, INSN_SIZE, LDDW};
use crate::error::ErrorKind;
use crate::maps::{
    describe_map_type, supported_map_types, MapDef, MapExtra, MapKind, MapRef, Pinning,
    BPF_F_RDONLY_PROG,
};

/// A global variable of the object (`.data`, `.bss`, `.rodata*`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Global {
    /// Symbol name.
    pub name: String,
    /// Its section (the name of the global data map).
    pub section: String,
    /// Offset in the section.
    pub offset: u32,
    /// Size in bytes.
    pub size: u32,
}

/// A program extracted from an ELF object, before checking.
pub struct Extracted {
    pub section: String,
    /// The function chosen, when its section holds several (or when asked
    /// for by name).
    pub function: Option<String>,
    pub code: Vec<u8>,
    /// Maps the program refers to, and where.
    pub maps: Vec<MapDef>,
    pub extras: Vec<MapExtra>,
    pub map_refs: Vec<MapRef>,
    /// The object's programs ("section/function"), in the order
    /// `prog_array` values refer to them.
    pub programs: Vec<String>,
    pub globals: Vec<Global>,
    /// The object's BTF, if it has a readable one: the types of the
    /// maps' keys and values ([`MapExtra::btf_key_type`]).
    pub btf: Option<Btf>,
}

/// Failure with the section it concerns, if known.
pub type Failure = (Option<String>, ErrorKind);

fn fail<T>(section: Option<&str>, kind: ErrorKind) -> Result<T, Failure> {
    Err((section.map(str::to_owned), kind))
}

/// Check the ELF header: magic, class, endianness and machine.
fn check_header(data: &[u8]) -> Result<(), ErrorKind> {
    match FileKind::parse(data) {
        Ok(FileKind::Elf64) => {}
        Ok(FileKind::Elf32) => return Err(ErrorKind::NotElf("32-bit ELF".to_owned())),
        Ok(_) => return Err(ErrorKind::NotElf("not ELF, unknown format".to_owned())),
        Err(_) => return Err(ErrorKind::NotElf("no ELF header".to_owned())),
    }
    let header = elf::FileHeader64::<Endianness>::parse(data)
        .map_err(|e| ErrorKind::NotElf(e.to_string()))?;
    if header.e_ident().data != elf::ELFDATA2LSB {
        return Err(ErrorKind::WrongEndianness);
    }
    let machine = header.e_machine(Endianness::Little);
    if machine != elf::EM_BPF {
        return Err(ErrorKind::WrongMachine(machine));
    }
    Ok(())
}

/// Sections that hold code: executable and not empty.
fn program_sections(file: &ElfFile64<'_, Endianness>) -> Vec<(SectionIndex, String)> {
    file.sections()
        .filter(|s| s.kind() == object::SectionKind::Text && s.size() > 0)
        .filter_map(|s| Some((s.index(), s.name().ok()?.to_owned())))
        .collect()
}

/// A program of the object, as libbpf sees it: a global function in a
/// program section.
#[derive(Clone)]
struct Func {
    section: SectionIndex,
    section_name: String,
    name: String,
    addr: u64,
    size: u64,
}

impl Func {
    fn full_name(&self) -> String {
        format!("{}/{}", self.section_name, self.name)
    }
}

/// The functions of the program sections other than `.text`, by section
/// and address.
fn functions(file: &ElfFile64<'_, Endianness>, programs: &[(SectionIndex, String)]) -> Vec<Func> {
    let mut funcs: Vec<Func> = file
        .symbols()
        .filter(|s| s.kind() == object::SymbolKind::Text && s.is_global())
        .filter_map(|s| {
            let index = s.section_index()?;
            let (_, section_name) = programs.iter().find(|(i, n)| *i == index && n != ".text")?;
            Some(Func {
                section: index,
                section_name: section_name.clone(),
                name: s.name().ok()?.to_owned(),
                addr: s.address(),
                size: s.size(),
            })
        })
        .collect();
    funcs.sort_by_key(|f| (f.section.0, f.addr));
    funcs
}

/// The functions of section `text` (start and size in bytes), by start:
/// the subprograms libbpf may append to a program.
fn text_functions(file: &ElfFile64<'_, Endianness>, text: SectionIndex) -> Vec<(u64, u64)> {
    let mut funcs: Vec<(u64, u64)> = file
        .symbols()
        .filter(|s| s.kind() == object::SymbolKind::Text && s.section_index() == Some(text))
        .filter(|s| s.size() > 0)
        .map(|s| (s.address(), s.size()))
        .collect();
    funcs.sort_unstable();
    funcs.dedup_by_key(|f| f.0);
    funcs
}

/// A piece of a section placed in the linked program: a whole section,
/// or one function of it (a program of a section holding several, a
/// `.text` subprogram).
struct Placed {
    index: SectionIndex,
    name: String,
    /// Where the piece starts in its section, in bytes.
    start: u64,
    /// Whether it is the whole section.
    whole: bool,
    /// Position in the linked program, in instructions.
    base: usize,
    len: usize,
}

impl Placed {
    /// Position in the linked program of instruction `insn` of the
    /// section, if the piece holds it.
    fn position(&self, insn: i64) -> Option<usize> {
        let first = i64::try_from(self.start / INSN_SIZE as u64).ok()?;
        let k = usize::try_from(insn.checked_sub(first)?).ok()?;
        (k < self.len).then_some(self.base + k)
    }
}

/// A `call` of a function of the object (`src_reg` 1) in a placed piece:
/// its slot in the piece, and the section and instruction it calls, as
/// libbpf reads them (the symbol of its relocation plus the immediate,
/// or without a relocation the immediate from the call itself).
struct PseudoCall {
    slot: usize,
    section: SectionIndex,
    target: i64,
}

struct Linker<'a, 'data> {
    file: &'a ElfFile64<'data, Endianness>,
    main: String,
    /// The `.text` section, where libbpf takes the subprograms from.
    text: Option<SectionIndex>,
    /// The functions of `.text` (start and size, in bytes), by start.
    text_funcs: Vec<(u64, u64)>,
    code: Vec<u8>,
    placed: Vec<Placed>,
    btf: Option<Btf>,
    maps: Vec<MapDef>,
    extras: Vec<MapExtra>,
    map_refs: Vec<MapRef>,
    funcs: Vec<Func>,
}

impl Linker<'_, '_> {
    fn err<T>(&self, kind: ErrorKind) -> Result<T, Failure> {
        fail(Some(&self.main), kind)
    }

    /// Append `size` bytes at `start` of section `index` (the whole
    /// section when `range` is None) to the program, and return its
    /// position.
    fn place(&mut self, index: SectionIndex, range: Option<(u64, u64)>) -> Result<usize, Failure> {
        let start = range.map_or(0, |r| r.0);
        if let Some(p) = self
            .placed
            .iter()
            .find(|p| p.index == index && p.start == start && p.whole == range.is_none())
        {
            return Ok(p.base);
        }
        let section = self
            .file
            .section_by_index(index)
            .or_else(|e| self.err(ErrorKind::BadElf(e.to_string())))?;
        let name = section.name().unwrap_or("?").to_owned();
        let mut data = section
            .data()
            .or_else(|e| fail(Some(&name), ErrorKind::Truncated(e.to_string())))?;
        if let Some((from, len)) = range {
            data = usize::try_from(from)
                .ok()
                .zip(usize::try_from(from + len).ok())
                .and_then(|(s, e)| data.get(s..e))
                .ok_or_else(|| {
                    (
                        Some(name.clone()),
                        ErrorKind::Truncated("function outside its section".to_owned()),
                    )
                })?;
        }
        if data.len() % INSN_SIZE != 0 {
            return fail(
                Some(&name),
                ErrorKind::Truncated(format!(
                    "section size {} is not a multiple of {INSN_SIZE}",
                    data.len()
                )),
            );
        }
        let base = self.code.len() / INSN_SIZE;
        self.code.extend_from_slice(data);
        self.placed.push(Placed {
            index,
            name,
            start,
            whole: range.is_none(),
            base,
            len: data.len() / INSN_SIZE,
        });
        Ok(base)
    }

    /// The position in the linked program of instruction `insn` of
    /// `.text`, placing the subprogram that holds it first if need be, as
    /// libbpf appends a subprogram behind the program at its first call:
    /// the function whose symbol covers it, or the whole section for an
    /// object without function symbols.  None if `insn` is outside
    /// `.text`.
    fn text_position(&mut self, insn: i64) -> Result<Option<usize>, Failure> {
        let Some(text) = self.text else {
            return Ok(None);
        };
        if let Some(pos) = self
            .placed
            .iter()
            .filter(|p| p.index == text)
            .find_map(|p| p.position(insn))
        {
            return Ok(Some(pos));
        }
        let Ok(at) = u64::try_from(insn) else {
            return Ok(None);
        };
        let at = at.saturating_mul(INSN_SIZE as u64);
        let func = self
            .text_funcs
            .iter()
            .find(|&&(start, size)| (start..start + size).contains(&at))
            .copied();
        let size = self.file.section_by_index(text).map_or(0, |s| s.size());
        if func.is_none() && at >= size {
            return Ok(None);
        }
        self.place(text, func)?;
        Ok(self.placed.last().and_then(|p| p.position(insn)))
    }

    /// The relocations of the `k`-th placed piece, by slot in it: (offset
    /// in the section, relocation); errors for those outside its code.
    fn piece_relocations(&self, k: usize) -> Result<Vec<(usize, object::Relocation)>, Failure> {
        let p = &self.placed[k];
        let section = self
            .file
            .section_by_index(p.index)
            .or_else(|e| self.err(ErrorKind::BadElf(e.to_string())))?;
        let (start, end) = if p.whole {
            (0, u64::MAX)
        } else {
            (p.start, p.start + (p.len * INSN_SIZE) as u64)
        };
        let mut out = Vec::new();
        for (offset, reloc) in section.relocations() {
            if offset < start || offset >= end {
                // another function of the section
                continue;
            }
            let offset = offset - start;
            let slot = usize::try_from(offset / INSN_SIZE as u64).unwrap_or(usize::MAX);
            if offset % INSN_SIZE as u64 != 0 || slot >= p.len {
                return self.err(ErrorKind::BadElf(format!(
                    "relocation at offset {offset} of section \"{}\" is outside its code",
                    p.name
                )));
            }
            out.push((slot, reloc));
        }
        Ok(out)
    }

    /// The calls of functions in the `k`-th placed piece, in the order of
    /// its instructions (those whose relocation is broken are left to
    /// [`Linker::relocate`], which reports them).
    fn pseudo_calls(&self, k: usize) -> Vec<PseudoCall> {
        let p = &self.placed[k];
        let mut relocs = self.piece_relocations(k).unwrap_or_default();
        let none = RelocationFlags::Elf {
            r_type: elf::R_BPF_NONE,
        };
        relocs.retain(|(_, r)| r.flags() != none);
        let first = i64::try_from(p.start / INSN_SIZE as u64).unwrap_or(i64::MAX);
        let mut out = Vec::new();
        for slot in 0..p.len {
            let x = Insn::at(&self.code, p.base + slot);
            if x.code != CALL || x.src != 1 {
                continue;
            }
            let imm = i64::from(x.imm);
            let call = match relocs.iter().find(|(s, _)| *s == slot) {
                Some((_, reloc)) => {
                    let sym = match reloc.target() {
                        RelocationTarget::Symbol(s) => self.file.symbol_by_index(s).ok(),
                        _ => None,
                    };
                    let Some((sym, section)) = sym.and_then(|s| s.section_index().map(|i| (s, i)))
                    else {
                        continue;
                    };
                    let base = i64::try_from(sym.address() / INSN_SIZE as u64).unwrap_or(0);
                    PseudoCall {
                        slot,
                        section,
                        target: base.saturating_add(imm).saturating_add(1),
                    }
                }
                None => PseudoCall {
                    slot,
                    section: p.index,
                    target: first
                        .saturating_add(i64::try_from(slot).unwrap_or(0))
                        .saturating_add(imm)
                        .saturating_add(1),
                },
            };
            out.push(call);
        }
        out
    }

    /// Place the `.text` subprograms the program calls, in libbpf's order
    /// (`bpf_object__reloc_code()`): the calls of the program in the
    /// order of its instructions, each subprogram not placed yet appended
    /// at its first call and its own calls followed at once, depth
    /// first.  libbpf's program is then the same instructions as ours,
    /// to which the kernel gives the same tag.
    fn lay_out(&mut self) -> Result<(), Failure> {
        let Some(text) = self.text else {
            return Ok(());
        };
        // (calls of a placed piece, the next one to follow)
        let mut stack = vec![(self.pseudo_calls(0), 0usize)];
        while let Some((calls, next)) = stack.last_mut() {
            let Some(call) = calls.get(*next) else {
                stack.pop();
                continue;
            };
            *next += 1;
            let (section, target) = (call.section, call.target);
            if section != text {
                continue;
            }
            let before = self.placed.len();
            self.text_position(target)?;
            if self.placed.len() > before {
                stack.push((self.pseudo_calls(before), 0));
            }
        }
        Ok(())
    }

    fn set_imm(&mut self, insn: usize, imm: i32) {
        let at = insn * INSN_SIZE + 4;
        self.code[at..at + 4].copy_from_slice(&imm.to_le_bytes());
    }

    /// Point the call at position `at` to position `target`.
    fn set_call(&mut self, at: usize, target: i64, sym_name: &str) -> Result<(), Failure> {
        let imm = target - i64::try_from(at).unwrap_or(i64::MAX) - 1;
        let Ok(imm) = i32::try_from(imm) else {
            return self.err(ErrorKind::UnsupportedRelocation {
                insn: at,
                detail: format!("call target out of range for \"{sym_name}\""),
            });
        };
        self.set_imm(at, imm);
        Ok(())
    }

    /// Apply the relocations of the `k`-th placed piece, and point the
    /// calls of a `.text` subprogram that have none (calls between static
    /// functions) to where their callee is placed.
    fn relocate(&mut self, k: usize) -> Result<(), Failure> {
        let (index, base, len, whole, start) = {
            let p = &self.placed[k];
            (p.index, p.base, p.len, p.whole, p.start)
        };
        let mut relocated = vec![false; len];
        for (slot, reloc) in self.piece_relocations(k)? {
            let at = base + slot;
            let r_type = match reloc.flags() {
                RelocationFlags::Elf { r_type } => r_type,
                _ => u32::MAX,
            };
            if r_type == elf::R_BPF_NONE {
                continue;
            }
            relocated[slot] = true;
            let sym = match reloc.target() {
                RelocationTarget::Symbol(s) => self.file.symbol_by_index(s).ok(),
                _ => None,
            };
            let Some(sym) = sym else {
                return self.err(ErrorKind::UnsupportedRelocation {
                    insn: at,
                    detail: "relocation without a valid symbol".to_owned(),
                });
            };
            let sym_name = sym.name().unwrap_or("?").to_owned();
            let target_section = sym.section_index();
            let target_name = target_section
                .and_then(|i| self.file.section_by_index(i).ok())
                .and_then(|s| s.name().ok().map(str::to_owned))
                .unwrap_or_else(|| "(undefined)".to_owned());
            let x = Insn::at(&self.code, at);

            if r_type == elf::R_BPF_64_64 && x.code == LDDW {
                let reference =
                    self.map_ref(&sym, &sym_name, &target_name, x.imm)
                        .map_err(|detail| {
                            (
                                Some(self.main.clone()),
                                ErrorKind::UnsupportedRelocation { insn: at, detail },
                            )
                        })?;
                self.map_refs.push(MapRef {
                    insn: at,
                    ..reference
                });
                continue;
            }
            if r_type != elf::R_BPF_64_32 || x.code != CALL || x.src != 1 {
                return self.err(ErrorKind::UnsupportedRelocation {
                    insn: at,
                    detail: format!(
                        "relocation type {r_type} against \"{sym_name}\" on opcode {:#04x}",
                        x.code
                    ),
                });
            }
            // bpf-to-bpf call
            let Some(tsec) = target_section else {
                return self.err(ErrorKind::UnsupportedRelocation {
                    insn: at,
                    detail: format!("call to undefined function \"{sym_name}\""),
                });
            };
            // The callee is at symbol value / 8 + imm + 1 within its section.
            let callee = i64::try_from(sym.address() / INSN_SIZE as u64).unwrap_or(i64::MAX)
                + i64::from(x.imm)
                + 1;
            let target = if self.text == Some(tsec) {
                // a subprogram, placed where libbpf places it
                let Some(pos) = self.text_position(callee)? else {
                    return self.err(ErrorKind::UnsupportedRelocation {
                        insn: at,
                        detail: format!("call to \"{sym_name}\" outside .text"),
                    });
                };
                i64::try_from(pos).unwrap_or(i64::MAX)
            } else if tsec == index {
                // within the program's own section: relative to the piece
                let rel = callee - i64::try_from(start / INSN_SIZE as u64).unwrap_or(0);
                if !whole && !(0..len as i64).contains(&rel) {
                    return self.err(ErrorKind::UnsupportedRelocation {
                        insn: at,
                        detail: format!("call to \"{sym_name}\", another program of the section"),
                    });
                }
                i64::try_from(base).unwrap_or(i64::MAX).saturating_add(rel)
            } else {
                return self.err(ErrorKind::UnsupportedRelocation {
                    insn: at,
                    detail: format!("call into section \"{target_name}\""),
                });
            };
            self.set_call(at, target, &sym_name)?;
        }
        // a subprogram's calls of other static functions of .text have no
        // relocation: their immediate is relative to the section
        if whole || self.text != Some(index) {
            return Ok(());
        }
        for call in self.pseudo_calls(k) {
            if relocated[call.slot] || self.placed[k].position(call.target).is_some() {
                continue;
            }
            if let Some(pos) = self.text_position(call.target)? {
                let target = i64::try_from(pos).unwrap_or(i64::MAX);
                self.set_call(base + call.slot, target, ".text")?;
            }
        }
        Ok(())
    }
}

impl Linker<'_, '_> {
    /// The map an `lddw` refers to: a map definition (`.maps` with BTF,
    /// legacy `maps`) gives the map itself, a global variable (`.data`,
    /// `.rodata*`, `.bss`) a pointer into its section's single-entry map.
    fn map_ref(
        &mut self,
        sym: &object::read::elf::ElfSymbol64<'_, '_, Endianness>,
        sym_name: &str,
        section: &str,
        imm: i32,
    ) -> Result<MapRef, String> {
        let index = |maps: &[MapDef], name: &str| maps.iter().position(|m| m.name == name);
        if section == ".maps" || section == "maps" {
            let map = match index(&self.maps, sym_name) {
                Some(i) => i,
                None => {
                    let (def, extra) = if section == ".maps" {
                        self.btf_map(sym_name)?
                    } else {
                        self.legacy_map(sym, sym_name)?
                    };
                    self.maps.push(def);
                    self.extras.push(extra);
                    self.maps.len() - 1
                }
            };
            return Ok(MapRef {
                insn: 0,
                map,
                value_offset: None,
            });
        }
        let is_data = section == ".data"
            || section == ".bss"
            || section == ".rodata"
            || section.starts_with(".rodata.")
            || section.starts_with(".data.");
        if !is_data {
            return Err(format!(
                "lddw refers to \"{sym_name}\" in section \"{section}\", \
                 which is neither a map nor global data"
            ));
        }
        let map = match index(&self.maps, section) {
            Some(i) => i,
            None => {
                let data = sym
                    .section_index()
                    .and_then(|i| self.file.section_by_index(i).ok())
                    .ok_or_else(|| format!("section \"{section}\" not found"))?;
                let size = u32::try_from(data.size())
                    .ok()
                    .filter(|&s| s > 0)
                    .ok_or_else(|| format!("section \"{section}\" has size {}", data.size()))?;
                let initial = (section != ".bss")
                    .then(|| data.data().map(<[u8]>::to_vec))
                    .transpose()
                    .map_err(|e| format!("section \"{section}\": {e}"))?;
                self.maps.push(MapDef {
                    name: section.to_owned(),
                    kind: MapKind::Array,
                    key_size: 4,
                    value_size: size,
                    max_entries: 1,
                    initial,
                });
                // libbpf makes .rodata read-only for programs and freezes
                // it once loaded
                let rodata = section == ".rodata" || section.starts_with(".rodata.");
                self.extras.push(MapExtra {
                    flags: if rodata { BPF_F_RDONLY_PROG } else { 0 },
                    frozen: rodata,
                    ..MapExtra::default()
                });
                self.maps.len() - 1
            }
        };
        // section symbols carry the offset in the instruction, variables
        // in their value
        let offset = i64::try_from(sym.address()).unwrap_or(i64::MAX) + i64::from(imm);
        let size = i64::from(self.maps[map].value_size);
        let value_offset = u32::try_from(offset)
            .ok()
            .filter(|&o| i64::from(o) < size)
            .ok_or_else(|| format!("\"{sym_name}\" is outside section \"{section}\""))?;
        Ok(MapRef {
            insn: 0,
            map,
            value_offset: Some(value_offset),
        })
    }

    /// A map declared the libbpf way: `struct { __uint(type, ...); ... }
    /// name SEC(".maps");`, described by the object's BTF.
    fn btf_map(&mut self, name: &str) -> Result<(MapDef, MapExtra), String> {
        if self.btf.is_none() {
            let data = self
                .file
                .section_by_name(".BTF")
                .ok_or("map in \".maps\" but the object has no BTF (compile with -g)")?
                .data()
                .map_err(|e| format!(".BTF: {e}"))?;
            self.btf = Some(Btf::parse(data).map_err(|e| format!(".BTF: {e}"))?);
        }
        let btf = self.btf.as_ref().ok_or("no BTF")?;
        let var = btf
            .datasec(".maps")
            .into_iter()
            .find(|v| v.name == name)
            .ok_or_else(|| format!("map \"{name}\" is not described in BTF"))?;
        let fields = btf
            .map_fields(var.type_id)
            .map_err(|e| format!("map \"{name}\": {e}"))?;
        for field in fields.keys() {
            if !matches!(
                field.as_str(),
                "type"
                    | "key"
                    | "value"
                    | "key_size"
                    | "value_size"
                    | "max_entries"
                    | "map_flags"
                    | "pinning"
                    | "numa_node"
                    | "values"
            ) {
                return Err(format!(
                    "map \"{name}\": field \"{field}\" is not supported"
                ));
            }
        }
        let get = |a: &str, b: &str| fields.get(a).or_else(|| fields.get(b)).copied();
        let map_type = get("type", "type").ok_or_else(|| format!("map \"{name}\" has no type"))?;
        // `__array(values, ...)` implies 4-byte values (program or map
        // references), as libbpf has it
        let value_default = if fields.contains_key("values") { 4 } else { 0 };
        let (def, mut extra) = map_def(
            name,
            map_type,
            get("key", "key_size").unwrap_or(0),
            get("value", "value_size").unwrap_or(value_default),
            get("max_entries", "max_entries").unwrap_or(0),
            get("map_flags", "map_flags").unwrap_or(0),
        )?;
        extra.pinning = Pinning::from_attr(get("pinning", "pinning").unwrap_or(0))
            .map_err(|e| format!("map \"{name}\": {e}"))?;
        (extra.btf_key_type, extra.btf_value_type) = btf.map_key_value_types(var.type_id);
        if let Some(values_offset) = fields.get("values") {
            extra.initial_programs = self.initial_programs(&def, *values_offset)?;
        }
        Ok((def, extra))
    }

    /// libbpf's static initialisation of a program array: `.values = {
    /// [i] = &prog }` are relocations of the `.maps` section against the
    /// programs' symbols, at the map's `values` member.
    fn initial_programs(
        &self,
        def: &MapDef,
        values_offset: u32,
    ) -> Result<Vec<(u32, u32)>, String> {
        let name = &def.name;
        if def.kind != MapKind::ProgArray {
            return Err(format!(
                "map \"{name}\": initial values are supported for prog_array maps only"
            ));
        }
        let maps = self
            .file
            .section_by_name(".maps")
            .ok_or("no .maps section")?;
        let sym = self
            .file
            .symbols()
            .find(|s| s.name() == Ok(name.as_str()) && s.section_index() == Some(maps.index()))
            .ok_or_else(|| format!("map \"{name}\": no symbol"))?;
        let start = sym.address() + u64::from(values_offset);
        let end = sym.address() + sym.size();
        let mut slots = Vec::new();
        for (offset, reloc) in maps.relocations() {
            if offset < start || offset >= end {
                continue;
            }
            let slot = u32::try_from((offset - start) / 8).map_err(|e| e.to_string())?;
            let target = match reloc.target() {
                RelocationTarget::Symbol(s) => self.file.symbol_by_index(s).ok(),
                _ => None,
            }
            .and_then(|t| t.name().ok().map(str::to_owned))
            .unwrap_or_default();
            let prog = self
                .funcs
                .iter()
                .position(|f| f.name == target)
                .and_then(|p| u32::try_from(p).ok())
                .ok_or_else(|| {
                    format!(
                        "map \"{name}\": value {slot} refers to \"{target}\", which is not a program"
                    )
                })?;
            slots.push((slot, prog));
        }
        Ok(slots)
    }

    /// A map declared in section `maps` with `struct bpf_map_def` (`type`,
    /// `key_size`, `value_size`, `max_entries`, `map_flags`: 32-bit each).
    fn legacy_map(
        &self,
        sym: &object::read::elf::ElfSymbol64<'_, '_, Endianness>,
        name: &str,
    ) -> Result<(MapDef, MapExtra), String> {
        let data = sym
            .section_index()
            .and_then(|i| self.file.section_by_index(i).ok())
            .and_then(|s| s.data().ok())
            .ok_or("section \"maps\" unreadable")?;
        let start = usize::try_from(sym.address()).unwrap_or(usize::MAX);
        let word = |i: usize| {
            data.get(start + 4 * i..start + 4 * i + 4)
                .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                .ok_or_else(|| format!("map \"{name}\": truncated definition"))
        };
        // map_flags is the fifth word, when the definition has it
        let flags = if sym.size() >= 20 { word(4)? } else { 0 };
        map_def(name, word(0)?, word(1)?, word(2)?, word(3)?, flags)
    }
}

fn map_def(
    name: &str,
    map_type: u32,
    key_size: u32,
    value_size: u32,
    max_entries: u32,
    flags: u32,
) -> Result<(MapDef, MapExtra), String> {
    let kind = MapKind::from_type(map_type).ok_or_else(|| {
        format!(
            "map \"{name}\": map type {} is not supported (supported: {})",
            describe_map_type(map_type),
            supported_map_types()
        )
    })?;
    // libbpf sizes a perf event array with max_entries 0 by the number of
    // CPUs: one here
    let max_entries = if kind == MapKind::PerfEventArray && max_entries == 0 {
        crate::maps::NR_CPUS
    } else {
        max_entries
    };
    let def = MapDef {
        name: name.to_owned(),
        kind,
        key_size,
        value_size,
        max_entries,
        initial: None,
    };
    let extra = MapExtra {
        flags,
        ..MapExtra::default()
    };
    Ok((def, extra))
}

/// Every relocation section that applies to code must be readable and
/// refer to the symbol table: the `object` crate skips one it cannot read,
/// which would leave calls and map references unrelocated.
fn check_relocation_sections(file: &ElfFile64<'_, Endianness>, data: &[u8]) -> Result<(), Failure> {
    let endian = Endianness::Little;
    let table = file.elf_section_table();
    let symtab = file.elf_symbol_table().section();
    for sh in table.iter() {
        let kind = sh.sh_type(endian);
        if kind != elf::SHT_REL && kind != elf::SHT_RELA {
            continue;
        }
        let Ok(target) = table.section(SectionIndex(sh.sh_info(endian) as usize)) else {
            continue;
        };
        if target.sh_flags(endian) & u64::from(elf::SHF_EXECINSTR) == 0 {
            continue;
        }
        let name = |h| {
            table
                .section_name(endian, h)
                .map(|n| String::from_utf8_lossy(n).into_owned())
                .unwrap_or_else(|_| "?".to_owned())
        };
        let bad = |why: String| fail(Some(&name(target)), ErrorKind::BadElf(why));
        if kind == elf::SHT_RELA {
            return bad(format!(
                "relocation section \"{}\" has addends (RELA), which BPF objects do not use",
                name(sh)
            ));
        }
        match sh.rel(endian, data) {
            Err(e) => return bad(format!("relocation section \"{}\": {e}", name(sh))),
            Ok(Some((_, link))) if link != symtab => {
                return bad(format!(
                    "relocation section \"{}\" is not linked to the symbol table",
                    name(sh)
                ))
            }
            Ok(_) => {}
        }
    }
    Ok(())
}

/// Extract and link the program of `section` (or the only program).
/// The names programs can be chosen by: a section, or "section/function"
/// for each function of a section that holds several.
fn choices(programs: &[(SectionIndex, String)], funcs: &[Func]) -> Vec<String> {
    let mut out = Vec::new();
    for (index, name) in programs {
        let in_section: Vec<&Func> = funcs.iter().filter(|f| f.section == *index).collect();
        if in_section.len() > 1 {
            out.extend(in_section.iter().map(|f| f.full_name()));
        } else {
            out.push(name.clone());
        }
    }
    out
}

/// What to link: a section, and the function in it when it holds several.
type Choice = ((SectionIndex, String), Option<Func>);

/// The program `want` names: a section (holding one function), a
/// "section/function", or a function name, as libbpf names programs.
fn choose(
    want: &str,
    programs: &[(SectionIndex, String)],
    funcs: &[Func],
) -> Result<Choice, Failure> {
    let in_section = |i: SectionIndex| funcs.iter().filter(move |f| f.section == i);
    if let Some(p) = programs.iter().find(|(_, n)| n == want) {
        let fs: Vec<&Func> = in_section(p.0).collect();
        if fs.len() > 1 {
            return fail(
                Some(want),
                ErrorKind::AmbiguousSection {
                    available: fs.iter().map(|f| f.full_name()).collect(),
                },
            );
        }
        return Ok((p.clone(), None));
    }
    let by_path = want.rsplit_once('/').and_then(|(sec, func)| {
        let p = programs.iter().find(|(_, n)| n == sec)?;
        let f = in_section(p.0).find(|f| f.name == func)?;
        Some((p.clone(), Some(f.clone())))
    });
    if let Some(c) = by_path {
        return Ok(c);
    }
    let named: Vec<&Func> = funcs.iter().filter(|f| f.name == want).collect();
    if let [f] = named.as_slice() {
        let p = programs
            .iter()
            .find(|(i, _)| *i == f.section)
            .cloned()
            .ok_or((None, ErrorKind::NoProgram))?;
        return Ok((p, Some((*f).clone())));
    }
    fail(
        Some(want),
        ErrorKind::UnknownSection {
            wanted: want.to_owned(),
            available: choices(programs, funcs),
        },
    )
}

/// The only program of the object.
fn only_program(programs: &[(SectionIndex, String)], funcs: &[Func]) -> Result<Choice, Failure> {
    let main: Vec<&(SectionIndex, String)> =
        programs.iter().filter(|(_, n)| n != ".text").collect();
    match main.as_slice() {
        [one] => {
            let fs: Vec<&Func> = funcs.iter().filter(|f| f.section == one.0).collect();
            if fs.len() > 1 {
                return fail(
                    None,
                    ErrorKind::AmbiguousSection {
                        available: choices(programs, funcs),
                    },
                );
            }
            Ok(((*one).clone(), None))
        }
        [] => programs
            .iter()
            .find(|(_, n)| n == ".text")
            .map(|p| (p.clone(), None))
            .ok_or((None, ErrorKind::NoProgram)),
        _ => fail(
            None,
            ErrorKind::AmbiguousSection {
                available: choices(
                    &main.iter().map(|p| (*p).clone()).collect::<Vec<_>>(),
                    funcs,
                ),
            },
        ),
    }
}

/// The object's global variables.
fn globals(file: &ElfFile64<'_, Endianness>) -> Vec<Global> {
    file.symbols()
        .filter(|s| s.kind() == object::SymbolKind::Data)
        .filter_map(|s| {
            let section = file.section_by_index(s.section_index()?).ok()?;
            let section = section.name().ok()?.to_owned();
            let data = section == ".data"
                || section == ".bss"
                || section == ".rodata"
                || section.starts_with(".rodata.")
                || section.starts_with(".data.");
            data.then_some(())?;
            Some(Global {
                name: s.name().ok()?.to_owned(),
                section,
                offset: u32::try_from(s.address()).ok()?,
                size: u32::try_from(s.size()).ok()?,
            })
        })
        .collect()
}

/// Extract and link the program `section` names (a section, a
/// "section/function", or a function name; None: the only program).
pub fn extract(data: &[u8], section: Option<&str>) -> Result<Extracted, Failure> {
    check_header(data).map_err(|k| (None, k))?;
    let file = ElfFile64::<Endianness>::parse(data)
        .map_err(|e| (None, ErrorKind::BadElf(e.to_string())))?;
    check_relocation_sections(&file, data)?;
    let programs = program_sections(&file);
    let funcs = functions(&file, &programs);
    let (chosen, function) = match section {
        Some(want) => choose(want, &programs, &funcs)?,
        None => only_program(&programs, &funcs)?,
    };
    let main_range = function
        .as_ref()
        .filter(|f| f.size > 0)
        .map(|f| (f.addr, f.size));

    let text = file.section_by_name(".text").map(|s| s.index());
    let mut linker = Linker {
        file: &file,
        main: chosen.1.clone(),
        text,
        text_funcs: text.map(|t| text_functions(&file, t)).unwrap_or_default(),
        code: Vec::new(),
        placed: Vec::new(),
        btf: None,
        maps: Vec::new(),
        extras: Vec::new(),
        map_refs: Vec::new(),
        funcs,
    };
    linker.place(chosen.0, main_range)?;
    linker.lay_out()?;
    let mut k = 0;
    while k < linker.placed.len() {
        linker.relocate(k)?;
        k += 1;
    }
    // the types of keys and values are for showing them: an object whose
    // BTF cannot be read (and has no map that needs it) still loads
    let globals = globals(&file);
    let mut btf = linker.btf.take().or_else(|| {
        file.section_by_name(".BTF")
            .and_then(|s| s.data().ok())
            .and_then(|d| Btf::parse(d).ok())
    });
    if let Some(btf) = &mut btf {
        // global data: libbpf gives the section's DATASEC as value type,
        // completed with the section's size and the variables' offsets
        for (def, extra) in linker.maps.iter().zip(linker.extras.iter_mut()) {
            if extra.btf_value_type == 0 && def.name.starts_with('.') {
                btf.fixup_datasec(&def.name, def.value_size, |var| {
                    globals
                        .iter()
                        .find(|g| g.section == def.name && g.name == var)
                        .map(|g| g.offset)
                });
                extra.btf_value_type = btf.datasec_id(&def.name).unwrap_or(0);
            }
        }
    }
    Ok(Extracted {
        btf,
        section: chosen.1,
        function: function.map(|f| f.name),
        code: linker.code,
        maps: linker.maps,
        extras: linker.extras,
        map_refs: linker.map_refs,
        programs: linker.funcs.iter().map(Func::full_name).collect(),
        globals,
    })
}
