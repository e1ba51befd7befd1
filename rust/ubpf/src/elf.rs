// SPDX-License-Identifier: GPL-2.0-or-later

//! Loading eBPF programs from ELF objects built by
//! `clang -O2 [-g] -target bpf -c`.
//!
//! The ELF structure is read with the `object` crate.  A program is one
//! executable section; bpf-to-bpf calls into `.text` are linked by
//! appending `.text` behind the program section and fixing the calls'
//! immediates from their relocations.

use object::elf;
use object::read::elf::{ElfFile64, FileHeader, SectionHeader};
use object::{
    Endianness, FileKind, Object, ObjectSection, ObjectSymbol, RelocationFlags, RelocationTarget,
    SectionIndex,
};

use crate::btf::Btf;
use crate::check::{Insn, CALL, INSN_SIZE, LDDW};
use crate::error::ErrorKind;
use crate::maps::{MapDef, MapKind, MapRef};

/// A program extracted from an ELF object, before checking.
pub struct Extracted {
    pub section: String,
    pub code: Vec<u8>,
    /// Maps the program refers to, and where.
    pub maps: Vec<MapDef>,
    pub map_refs: Vec<MapRef>,
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

/// A section placed in the linked program.
struct Placed {
    index: SectionIndex,
    name: String,
    /// Position in the linked program, in instructions.
    base: usize,
    len: usize,
}

struct Linker<'a, 'data> {
    file: &'a ElfFile64<'data, Endianness>,
    main: String,
    code: Vec<u8>,
    placed: Vec<Placed>,
    btf: Option<Btf>,
    maps: Vec<MapDef>,
    map_refs: Vec<MapRef>,
}

impl Linker<'_, '_> {
    fn err<T>(&self, kind: ErrorKind) -> Result<T, Failure> {
        fail(Some(&self.main), kind)
    }

    /// Append section `index` to the program and return its position.
    fn place(&mut self, index: SectionIndex) -> Result<usize, Failure> {
        if let Some(p) = self.placed.iter().find(|p| p.index == index) {
            return Ok(p.base);
        }
        let section = self
            .file
            .section_by_index(index)
            .or_else(|e| self.err(ErrorKind::BadElf(e.to_string())))?;
        let name = section.name().unwrap_or("?").to_owned();
        let data = section
            .data()
            .or_else(|e| fail(Some(&name), ErrorKind::Truncated(e.to_string())))?;
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
            base,
            len: data.len() / INSN_SIZE,
        });
        Ok(base)
    }

    fn set_imm(&mut self, insn: usize, imm: i32) {
        let at = insn * INSN_SIZE + 4;
        self.code[at..at + 4].copy_from_slice(&imm.to_le_bytes());
    }

    /// Apply the relocations of the `k`-th placed section.
    fn relocate(&mut self, k: usize) -> Result<(), Failure> {
        let (index, base, len) = {
            let p = &self.placed[k];
            (p.index, p.base, p.len)
        };
        let section = self
            .file
            .section_by_index(index)
            .or_else(|e| self.err(ErrorKind::BadElf(e.to_string())))?;
        for (offset, reloc) in section.relocations() {
            let slot = usize::try_from(offset / INSN_SIZE as u64).unwrap_or(usize::MAX);
            if offset % INSN_SIZE as u64 != 0 || slot >= len {
                return self.err(ErrorKind::BadElf(format!(
                    "relocation at offset {offset} of section \"{}\" is outside its code",
                    self.placed[k].name
                )));
            }
            let at = base + slot;
            let r_type = match reloc.flags() {
                RelocationFlags::Elf { r_type } => r_type,
                _ => u32::MAX,
            };
            if r_type == elf::R_BPF_NONE {
                continue;
            }
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
            let is_text = target_name == ".text";
            if tsec != index && !is_text {
                return self.err(ErrorKind::UnsupportedRelocation {
                    insn: at,
                    detail: format!("call into section \"{target_name}\""),
                });
            }
            let tbase = self.place(tsec)?;
            // The callee is at symbol value / 8 + imm + 1 within its section.
            let rel = i64::try_from(sym.address() / INSN_SIZE as u64).unwrap_or(i64::MAX)
                + i64::from(x.imm)
                + 1;
            let target = i64::try_from(tbase).unwrap_or(i64::MAX).saturating_add(rel);
            let imm = target - i64::try_from(at).unwrap_or(i64::MAX) - 1;
            let Ok(imm) = i32::try_from(imm) else {
                return self.err(ErrorKind::UnsupportedRelocation {
                    insn: at,
                    detail: format!("call target out of range for \"{sym_name}\""),
                });
            };
            self.set_imm(at, imm);
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
                    let def = if section == ".maps" {
                        self.btf_map(sym_name)?
                    } else {
                        self.legacy_map(sym, sym_name)?
                    };
                    self.maps.push(def);
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
    fn btf_map(&mut self, name: &str) -> Result<MapDef, String> {
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
                "type" | "key" | "value" | "key_size" | "value_size" | "max_entries" | "map_flags"
            ) {
                return Err(format!(
                    "map \"{name}\": field \"{field}\" is not supported"
                ));
            }
        }
        let get = |a: &str, b: &str| fields.get(a).or_else(|| fields.get(b)).copied();
        let map_type = get("type", "type").ok_or_else(|| format!("map \"{name}\" has no type"))?;
        map_def(
            name,
            map_type,
            get("key", "key_size").unwrap_or(0),
            get("value", "value_size").unwrap_or(0),
            get("max_entries", "max_entries").unwrap_or(0),
        )
    }

    /// A map declared in section `maps` with `struct bpf_map_def` (`type`,
    /// `key_size`, `value_size`, `max_entries`, `map_flags`: 32-bit each).
    fn legacy_map(
        &self,
        sym: &object::read::elf::ElfSymbol64<'_, '_, Endianness>,
        name: &str,
    ) -> Result<MapDef, String> {
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
        map_def(name, word(0)?, word(1)?, word(2)?, word(3)?)
    }
}

fn map_def(
    name: &str,
    map_type: u32,
    key_size: u32,
    value_size: u32,
    max_entries: u32,
) -> Result<MapDef, String> {
    let kind = MapKind::from_type(map_type).ok_or_else(|| {
        format!(
            "map \"{name}\": map type {map_type} is not supported \
             (supported: hash (1), array (2), percpu_array (6))"
        )
    })?;
    Ok(MapDef {
        name: name.to_owned(),
        kind,
        key_size,
        value_size,
        max_entries,
        initial: None,
    })
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
pub fn extract(data: &[u8], section: Option<&str>) -> Result<Extracted, Failure> {
    check_header(data).map_err(|k| (None, k))?;
    let file = ElfFile64::<Endianness>::parse(data)
        .map_err(|e| (None, ErrorKind::BadElf(e.to_string())))?;
    check_relocation_sections(&file, data)?;
    let programs = program_sections(&file);
    let names: Vec<String> = programs.iter().map(|(_, n)| n.clone()).collect();
    let chosen = if let Some(want) = section {
        programs
            .iter()
            .find(|(_, n)| n == want)
            .ok_or_else(|| {
                (
                    Some(want.to_owned()),
                    ErrorKind::UnknownSection {
                        wanted: want.to_owned(),
                        available: names.clone(),
                    },
                )
            })?
            .clone()
    } else {
        let main: Vec<_> = programs.iter().filter(|(_, n)| n != ".text").collect();
        match main.as_slice() {
            [one] => (*one).clone(),
            [] => programs
                .iter()
                .find(|(_, n)| n == ".text")
                .cloned()
                .ok_or((None, ErrorKind::NoProgram))?,
            _ => {
                return fail(
                    None,
                    ErrorKind::AmbiguousSection {
                        available: main.iter().map(|(_, n)| n.clone()).collect(),
                    },
                )
            }
        }
    };

    let mut linker = Linker {
        file: &file,
        main: chosen.1.clone(),
        code: Vec::new(),
        placed: Vec::new(),
        btf: None,
        maps: Vec::new(),
        map_refs: Vec::new(),
    };
    linker.place(chosen.0)?;
    let mut k = 0;
    while k < linker.placed.len() {
        linker.relocate(k)?;
        k += 1;
    }
    Ok(Extracted {
        section: chosen.1,
        code: linker.code,
        maps: linker.maps,
        map_refs: linker.map_refs,
    })
}
