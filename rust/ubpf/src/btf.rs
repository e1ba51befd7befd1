// SPDX-License-Identifier: GPL-2.0-or-later

//! Just enough BTF to read libbpf-style map definitions.
//!
//! `bpf/bpf_helpers.h` declares a map as a variable in section `.maps`
//! whose type is a struct of pointers: `__uint(name, n)` is a pointer to
//! an array of `n` ints, `__type(name, T)` a pointer to `T`.  The `.maps`
//! section itself holds only zeros: the sizes and counts exist only in the
//! object's BTF, so the loader reads that.  The `object` crate does not
//! parse BTF and aya-obj's parser needs several more crates, so this module
//! reads the type section itself, for the kinds a map definition uses, and
//! checks every offset it follows.

use std::collections::HashMap;

const BTF_MAGIC: u16 = 0xeb9f;
const KIND_INT: u32 = 1;
const KIND_PTR: u32 = 2;
const KIND_ARRAY: u32 = 3;
const KIND_STRUCT: u32 = 4;
const KIND_UNION: u32 = 5;
const KIND_ENUM: u32 = 6;
const KIND_FWD: u32 = 7;
const KIND_TYPEDEF: u32 = 8;
const KIND_VOLATILE: u32 = 9;
const KIND_CONST: u32 = 10;
const KIND_RESTRICT: u32 = 11;
const KIND_FUNC: u32 = 12;
const KIND_FUNC_PROTO: u32 = 13;
const KIND_VAR: u32 = 14;
const KIND_DATASEC: u32 = 15;
const KIND_FLOAT: u32 = 16;
const KIND_DECL_TAG: u32 = 17;
const KIND_TYPE_TAG: u32 = 18;
const KIND_ENUM64: u32 = 19;

/// One BTF type; `extra` holds its kind-specific trailing words.
#[derive(Debug, Clone)]
struct Type {
    name: u32,
    kind: u32,
    vlen: usize,
    /// size, or referenced type
    size_or_type: u32,
    extra: Vec<u32>,
}

/// A parsed `.BTF` section.
pub struct Btf {
    types: Vec<Type>,
    strings: Vec<u8>,
}

/// A variable of a DATASEC: its name and BTF type.
pub struct SecVar {
    pub name: String,
    pub type_id: u32,
}

fn le32(data: &[u8], off: usize) -> Result<u32, String> {
    data.get(off..off + 4)
        .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .ok_or_else(|| format!("BTF truncated at offset {off}"))
}

impl Btf {
    /// Parse the contents of a `.BTF` section (little-endian objects).
    pub fn parse(data: &[u8]) -> Result<Self, String> {
        let magic = data
            .get(0..2)
            .map(|b| u16::from_le_bytes([b[0], b[1]]))
            .ok_or("BTF truncated")?;
        if magic != BTF_MAGIC {
            return Err(format!("bad BTF magic {magic:#06x}"));
        }
        let hdr_len = le32(data, 4)? as usize;
        let type_off = le32(data, 8)? as usize;
        let type_len = le32(data, 12)? as usize;
        let str_off = le32(data, 16)? as usize;
        let str_len = le32(data, 20)? as usize;
        let section = |off: usize, len: usize, what: &str| {
            hdr_len
                .checked_add(off)
                .and_then(|s| Some(s..s.checked_add(len)?))
                .and_then(|r| data.get(r))
                .ok_or_else(|| format!("BTF {what} outside the section"))
        };
        let types_data = section(type_off, type_len, "types")?;
        let strings = section(str_off, str_len, "strings")?.to_vec();

        let mut types = Vec::new();
        let mut off = 0;
        while off < types_data.len() {
            let name = le32(types_data, off)?;
            let info = le32(types_data, off + 4)?;
            let size_or_type = le32(types_data, off + 8)?;
            let kind = (info >> 24) & 0x1f;
            let vlen = (info & 0xffff) as usize;
            let words = match kind {
                KIND_INT | KIND_VAR | KIND_DECL_TAG => 1,
                KIND_PTR | KIND_FWD | KIND_TYPEDEF | KIND_VOLATILE | KIND_CONST | KIND_RESTRICT
                | KIND_FUNC | KIND_FLOAT | KIND_TYPE_TAG => 0,
                KIND_ARRAY => 3,
                KIND_STRUCT | KIND_UNION | KIND_DATASEC | KIND_ENUM64 => 3 * vlen,
                KIND_ENUM | KIND_FUNC_PROTO => 2 * vlen,
                _ => return Err(format!("unknown BTF kind {kind}")),
            };
            let extra = (0..words)
                .map(|i| le32(types_data, off + 12 + 4 * i))
                .collect::<Result<Vec<_>, _>>()?;
            off += 12 + 4 * words;
            types.push(Type {
                name,
                kind,
                vlen,
                size_or_type,
                extra,
            });
        }
        Ok(Self { types, strings })
    }

    fn name(&self, off: u32) -> String {
        let rest = self.strings.get(off as usize..).unwrap_or_default();
        let end = rest.iter().position(|&b| b == 0).unwrap_or(rest.len());
        String::from_utf8_lossy(&rest[..end]).into_owned()
    }

    fn get(&self, id: u32) -> Result<&Type, String> {
        // type 0 is void; ids start at 1
        id.checked_sub(1)
            .and_then(|i| self.types.get(i as usize))
            .ok_or_else(|| format!("BTF type id {id} does not exist"))
    }

    /// Follow typedefs and qualifiers.
    fn resolve(&self, mut id: u32) -> Result<(u32, &Type), String> {
        for _ in 0..32 {
            let t = self.get(id)?;
            match t.kind {
                KIND_TYPEDEF | KIND_VOLATILE | KIND_CONST | KIND_RESTRICT | KIND_TYPE_TAG => {
                    id = t.size_or_type;
                }
                _ => return Ok((id, t)),
            }
        }
        Err("BTF type chain too long".to_owned())
    }

    /// Size in bytes of type `id`.
    pub fn size_of(&self, id: u32) -> Result<u32, String> {
        self.size_at_depth(id, 0)
    }

    fn size_at_depth(&self, id: u32, depth: usize) -> Result<u32, String> {
        // nested arrays are shallow in real programs; a cycle (an array of
        // itself in a corrupted object) must not recurse without end
        if depth > 32 {
            return Err(format!("BTF type {id}: arrays nested too deep (a cycle?)"));
        }
        let (_, t) = self.resolve(id)?;
        match t.kind {
            KIND_INT | KIND_STRUCT | KIND_UNION | KIND_ENUM | KIND_ENUM64 | KIND_FLOAT
            | KIND_DATASEC => Ok(t.size_or_type),
            KIND_PTR => Ok(8),
            KIND_ARRAY => self
                .size_at_depth(t.extra[0], depth + 1)?
                .checked_mul(t.extra[2])
                .ok_or_else(|| "BTF array size overflows".to_owned()),
            k => Err(format!("BTF type of kind {k} has no size")),
        }
    }

    /// The variables of DATASEC `section`, if the BTF describes it.
    pub fn datasec(&self, section: &str) -> Vec<SecVar> {
        let Some(sec) = self
            .types
            .iter()
            .find(|t| t.kind == KIND_DATASEC && self.name(t.name) == section)
        else {
            return Vec::new();
        };
        (0..sec.vlen)
            .filter_map(|i| {
                let var_id = sec.extra[3 * i];
                let var = self.get(var_id).ok().filter(|v| v.kind == KIND_VAR)?;
                Some(SecVar {
                    name: self.name(var.name),
                    type_id: var.size_or_type,
                })
            })
            .collect()
    }

    /// The members of a libbpf map definition struct: for `__uint(name, n)`
    /// the number `n`, for `__type(name, T)` the size of `T`, for
    /// `__array(values, T)` the member's byte offset.
    pub fn map_fields(&self, type_id: u32) -> Result<HashMap<String, u32>, String> {
        let (_, t) = self.resolve(type_id)?;
        if t.kind != KIND_STRUCT {
            return Err("the map's type is not a struct".to_owned());
        }
        let mut fields = HashMap::new();
        for i in 0..t.vlen {
            let name = self.name(t.extra[3 * i]);
            let (_, member) = self.resolve(t.extra[3 * i + 1])?;
            if name == "values" && member.kind == KIND_ARRAY {
                // `__array(values, ...)`: initial values, given by
                // relocations of `.maps`; report where the member starts
                fields.insert(name, (t.extra[3 * i + 2] & 0x00ff_ffff) / 8);
                continue;
            }
            if member.kind != KIND_PTR {
                return Err(format!(
                    "map field \"{name}\" is not a pointer (__uint/__type)"
                ));
            }
            let (_, target) = self.resolve(member.size_or_type)?;
            let value = if matches!(name.as_str(), "key" | "value") {
                self.size_of(member.size_or_type)
                    .map_err(|e| format!("map field \"{name}\": {e}"))?
            } else if target.kind == KIND_ARRAY {
                target.extra[2]
            } else {
                return Err(format!("map field \"{name}\" is not an __uint()"));
            };
            fields.insert(name, value);
        }
        Ok(fields)
    }
}
