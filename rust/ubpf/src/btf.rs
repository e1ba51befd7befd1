// SPDX-License-Identifier: GPL-2.0-or-later

//! Just enough BTF to read libbpf-style map definitions, and to show map
//! keys and values typed, as `bpftool map dump` does.
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
#[derive(Debug, Clone, PartialEq, Eq)]
struct Type {
    name: u32,
    kind: u32,
    /// `kind_flag`: bitfield sizes in struct members, signed enums
    kflag: bool,
    vlen: usize,
    /// size, or referenced type
    size_or_type: u32,
    extra: Vec<u32>,
}

/// A parsed `.BTF` section.
#[derive(Debug, PartialEq, Eq)]
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
                kflag: info & (1 << 31) != 0,
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

    /// The id of the DATASEC called `section` (global data: libbpf gives
    /// it as the value type of the section's map).
    pub fn datasec_id(&self, section: &str) -> Option<u32> {
        let i = self
            .types
            .iter()
            .position(|t| t.kind == KIND_DATASEC && self.name(t.name) == section)?;
        u32::try_from(i + 1).ok()
    }

    /// Complete DATASEC `section` as libbpf does before loading: clang
    /// leaves its size and its variables' offsets 0 in an object; they
    /// are the section's size and the offsets of the variables' symbols
    /// (`offset` of a variable's name).  A variable with no symbol keeps
    /// offset 0.
    pub fn fixup_datasec(
        &mut self,
        section: &str,
        size: u32,
        offset: impl Fn(&str) -> Option<u32>,
    ) {
        let Some(id) = self.datasec_id(section) else {
            return;
        };
        let vars: Vec<Option<u32>> = {
            let sec = &self.types[id as usize - 1];
            (0..sec.vlen)
                .map(|i| {
                    let var = self.get(sec.extra[3 * i]).ok()?;
                    offset(&self.name(var.name))
                })
                .collect()
        };
        let sec = &mut self.types[id as usize - 1];
        sec.size_or_type = size;
        for (i, off) in vars.into_iter().enumerate() {
            if let Some(off) = off {
                sec.extra[3 * i + 1] = off;
            }
        }
    }

    /// The BTF types of the key and value of a libbpf map definition
    /// struct (`__type(key, T)`, `__type(value, T)`); 0 for a member that
    /// is absent or given only as a size (`__uint(key_size, n)`).
    pub fn map_key_value_types(&self, type_id: u32) -> (u32, u32) {
        let Ok((_, t)) = self.resolve(type_id) else {
            return (0, 0);
        };
        if t.kind != KIND_STRUCT {
            return (0, 0);
        }
        let mut types = (0, 0);
        for i in 0..t.vlen {
            let name = self.name(t.extra[3 * i]);
            let Ok((_, member)) = self.resolve(t.extra[3 * i + 1]) else {
                continue;
            };
            if member.kind != KIND_PTR {
                continue;
            }
            match name.as_str() {
                "key" => types.0 = member.size_or_type,
                "value" => types.1 = member.size_or_type,
                _ => {}
            }
        }
        types
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

/// Longest typed form of one key or value, in bytes of JSON text: a
/// larger value (a big array) is shown in hexadecimal only.
pub const MAX_FORMATTED: usize = 64 << 10;

/// How deep types nest when formatted (a corrupted object may describe
/// a struct that contains itself).
const MAX_FORMAT_DEPTH: usize = 32;

/// BTF integer encodings (`BTF_INT_ENCODING`).
const INT_SIGNED: u32 = 1;
const INT_CHAR: u32 = 2;
const INT_BOOL: u32 = 4;

/// Append `s` to `out` as a JSON string.
fn json_string(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if u32::from(c) < 0x20 || c == '\u{7f}' => {
                out.push_str(&format!("\\u{:04x}", u32::from(c)));
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// `n` bytes of `data` from `off`, or an error naming what was cut short.
fn take(data: &[u8], off: usize, n: usize) -> Result<&[u8], String> {
    off.checked_add(n)
        .and_then(|end| data.get(off..end))
        .ok_or_else(|| format!("{n} bytes at offset {off} are beyond the data"))
}

/// Little-endian number from up to 16 bytes.
fn le_u128(bytes: &[u8]) -> u128 {
    bytes
        .iter()
        .rev()
        .fold(0u128, |acc, &b| (acc << 8) | u128::from(b))
}

/// `bits` bits of `data` from bit `bit_off` (little-endian bit order), as
/// bpftool prints bitfields and 128-bit numbers: a hexadecimal string.
fn bitfield(out: &mut String, data: &[u8], bit_off: u32, bits: u32) -> Result<(), String> {
    if bits == 0 || bits > 128 || bit_off >= 8 {
        return Err(format!("bitfield of {bits} bits at bit {bit_off}"));
    }
    let total = bit_off + bits;
    let n = total.div_ceil(8) as usize;
    let raw = take(data, 0, n)?;
    // up to 17 bytes for a 128-bit field at a bit offset: shift first
    let mut v = le_u128(&raw[..n.min(16)]) >> bit_off;
    if n > 16 {
        v |= u128::from(raw[16]) << (128 - bit_off);
    }
    if bits < 128 {
        v &= (1u128 << bits) - 1;
    }
    out.push_str(&format!("\"{v:#x}\""));
    Ok(())
}

impl Btf {
    /// `data` (the bytes of a key or value of type `id`) as JSON text,
    /// typed as `bpftool --json map dump` shows it for a map with BTF:
    /// integers as numbers (128-bit integers and bitfields as hexadecimal
    /// strings), `char` as a one-character string, `bool` as true/false,
    /// enums by the name of their value (a number if none matches),
    /// `char` arrays holding a NUL-terminated printable string as that
    /// string, other arrays as lists, structs and unions as objects of
    /// their members, pointers as numbers, and global data sections as
    /// `{"section": [{"variable": value}, ...]}`.  Unlike bpftool, the
    /// members of an anonymous struct or union member appear among the
    /// members of the enclosing one (as C names them), so that no
    /// object has two members called "", and floats are numbers.
    ///
    /// Fails if `data` is not exactly the type's size, if the type is one
    /// a key or value cannot have (a function, a forward declaration), or
    /// if the text would exceed [`MAX_FORMATTED`] bytes.
    pub fn format(&self, id: u32, data: &[u8]) -> Result<String, String> {
        let size = self.size_of(id)? as usize;
        if data.len() != size {
            return Err(format!("{} bytes for a type of {size} bytes", data.len()));
        }
        let mut out = String::new();
        self.format_type(&mut out, id, data, 0, 0)?;
        Ok(out)
    }

    fn format_type(
        &self,
        out: &mut String,
        id: u32,
        data: &[u8],
        bit_off: u32,
        depth: usize,
    ) -> Result<(), String> {
        if depth > MAX_FORMAT_DEPTH {
            return Err(format!("BTF type {id}: nested too deep (a cycle?)"));
        }
        if out.len() > MAX_FORMATTED {
            return Err(format!("longer than {MAX_FORMATTED} bytes"));
        }
        let (id, t) = self.resolve(id)?;
        match t.kind {
            KIND_INT => Self::format_int(out, t, data, bit_off),
            KIND_PTR => {
                let v = le_u128(take(data, 0, 8)?);
                out.push_str(&v.to_string());
                Ok(())
            }
            KIND_FLOAT => {
                let v = match t.size_or_type {
                    4 => f64::from(f32::from_le_bytes(
                        take(data, 0, 4)?.try_into().map_err(|_| "float")?,
                    )),
                    8 => f64::from_le_bytes(take(data, 0, 8)?.try_into().map_err(|_| "float")?),
                    n => return Err(format!("float of {n} bytes")),
                };
                if v.is_finite() {
                    out.push_str(&format!("{v:?}"));
                } else {
                    json_string(out, &v.to_string());
                }
                Ok(())
            }
            KIND_ENUM | KIND_ENUM64 => self.format_enum(out, t, data),
            KIND_ARRAY => self.format_array(out, t, data, depth),
            KIND_STRUCT | KIND_UNION => {
                out.push('{');
                let mut first = true;
                self.format_members(out, t, data, depth, &mut first)?;
                out.push('}');
                Ok(())
            }
            KIND_VAR => {
                out.push('{');
                json_string(out, &self.name(t.name));
                out.push_str(": ");
                self.format_type(out, t.size_or_type, data, bit_off, depth + 1)?;
                out.push('}');
                Ok(())
            }
            KIND_DATASEC => {
                out.push('{');
                json_string(out, &self.name(t.name));
                out.push_str(": [");
                for i in 0..t.vlen {
                    let (var, off, size) = (t.extra[3 * i], t.extra[3 * i + 1], t.extra[3 * i + 2]);
                    if i > 0 {
                        out.push_str(", ");
                    }
                    let bytes = take(data, off as usize, size as usize)?;
                    self.format_type(out, var, bytes, 0, depth + 1)?;
                }
                out.push_str("]}");
                Ok(())
            }
            k => Err(format!("BTF type {id} of kind {k} cannot be shown")),
        }
    }

    fn format_int(out: &mut String, t: &Type, data: &[u8], bit_off: u32) -> Result<(), String> {
        let enc = t.extra[0];
        let bits = enc & 0xff;
        let int_off = (enc >> 16) & 0xff;
        let encoding = (enc >> 24) & 0x0f;
        if bit_off != 0 || int_off != 0 || bits % 8 != 0 || bits == 0 || bits == 128 {
            let total = bit_off + int_off;
            let from = (total / 8) as usize;
            return bitfield(out, data.get(from..).unwrap_or_default(), total % 8, bits);
        }
        let n = (bits / 8) as usize;
        let raw = take(data, 0, n)?;
        let v = le_u128(raw);
        match encoding {
            INT_BOOL => out.push_str(if raw[0] != 0 { "true" } else { "false" }),
            INT_CHAR => {
                let c = raw[0];
                if (0x20..0x7f).contains(&c) {
                    json_string(out, &char::from(c).to_string());
                } else {
                    out.push_str(&format!("\"\\u00{c:02x}\""));
                }
            }
            INT_SIGNED if matches!(n, 1 | 2 | 4 | 8) => {
                let shift = 128 - bits;
                // sign-extend from `bits`
                let s = ((v << shift) as i128) >> shift;
                out.push_str(&s.to_string());
            }
            _ if matches!(n, 1 | 2 | 4 | 8) => out.push_str(&v.to_string()),
            _ => return bitfield(out, data, 0, bits),
        }
        Ok(())
    }

    fn format_enum(&self, out: &mut String, t: &Type, data: &[u8]) -> Result<(), String> {
        let n = t.size_or_type as usize;
        if !matches!(n, 1 | 2 | 4 | 8) {
            return Err(format!("enum of {n} bytes"));
        }
        let raw = le_u128(take(data, 0, n)?);
        let shift = 128 - 8 * n as u32;
        let value = (((raw << shift) as i128) >> shift) as i64;
        for i in 0..t.vlen {
            let matches = if t.kind == KIND_ENUM {
                // the 32-bit value, sign-extended, as bpftool compares it
                i64::from(t.extra[2 * i + 1] as i32) == value
            } else {
                let v = u64::from(t.extra[3 * i + 1]) | (u64::from(t.extra[3 * i + 2]) << 32);
                v == value as u64
            };
            if matches {
                let name_off = t.extra[if t.kind == KIND_ENUM { 2 * i } else { 3 * i }];
                json_string(out, &self.name(name_off));
                return Ok(());
            }
        }
        if t.kind == KIND_ENUM64 && !t.kflag {
            out.push_str(&(value as u64).to_string());
        } else {
            out.push_str(&value.to_string());
        }
        Ok(())
    }

    /// A `char` array holding a NUL-terminated printable string, as
    /// bpftool tells one (the element type through qualifiers, not
    /// typedefs): that string.
    fn char_string<'d>(&self, elem: u32, data: &'d [u8]) -> Option<&'d [u8]> {
        let mut id = elem;
        let mut t = self.get(id).ok()?;
        for _ in 0..32 {
            if !matches!(
                t.kind,
                KIND_VOLATILE | KIND_CONST | KIND_RESTRICT | KIND_TYPE_TAG
            ) {
                break;
            }
            id = t.size_or_type;
            t = self.get(id).ok()?;
        }
        let is_char = t.kind == KIND_INT
            && t.size_or_type == 1
            && ((t.extra[0] >> 24) & 0x0f == INT_CHAR || self.name(t.name) == "char");
        if !is_char {
            return None;
        }
        let end = data.iter().position(|&b| b == 0)?;
        data[..end]
            .iter()
            .all(|b| (0x20..0x7f).contains(b))
            .then_some(&data[..end])
    }

    fn format_array(
        &self,
        out: &mut String,
        t: &Type,
        data: &[u8],
        depth: usize,
    ) -> Result<(), String> {
        let (elem, count) = (t.extra[0], t.extra[2] as usize);
        let size = self.size_of(elem)? as usize;
        let all = take(data, 0, size.saturating_mul(count))?;
        if count > 0 {
            if let Some(s) = self.char_string(elem, all) {
                json_string(out, &String::from_utf8_lossy(s));
                return Ok(());
            }
        }
        out.push('[');
        for i in 0..count {
            if i > 0 {
                out.push_str(", ");
            }
            self.format_type(out, elem, &all[i * size..], 0, depth + 1)?;
            if out.len() > MAX_FORMATTED {
                return Err(format!("longer than {MAX_FORMATTED} bytes"));
            }
        }
        out.push(']');
        Ok(())
    }

    /// The members of struct or union `t`, appended to an open object.
    fn format_members(
        &self,
        out: &mut String,
        t: &Type,
        data: &[u8],
        depth: usize,
        first: &mut bool,
    ) -> Result<(), String> {
        if depth > MAX_FORMAT_DEPTH {
            return Err("structs nested too deep (a cycle?)".to_owned());
        }
        for i in 0..t.vlen {
            let (name, ty, off) = (t.extra[3 * i], t.extra[3 * i + 1], t.extra[3 * i + 2]);
            let (bit_off, bitfield_size) = if t.kflag {
                (off & 0x00ff_ffff, off >> 24)
            } else {
                (off, 0)
            };
            let from = (bit_off / 8) as usize;
            let bytes = data
                .get(from..)
                .ok_or_else(|| format!("member at bit {bit_off} is beyond the data"))?;
            let name = self.name(name);
            if name.is_empty() && bitfield_size == 0 {
                // an anonymous struct or union: its members are ours
                let (_, inner) = self.resolve(ty)?;
                if matches!(inner.kind, KIND_STRUCT | KIND_UNION) {
                    self.format_members(out, inner, bytes, depth + 1, first)?;
                    continue;
                }
            }
            if !*first {
                out.push_str(", ");
            }
            *first = false;
            json_string(out, &name);
            out.push_str(": ");
            if bitfield_size != 0 {
                bitfield(out, bytes, bit_off % 8, bitfield_size)?;
            } else {
                self.format_type(out, ty, bytes, bit_off % 8, depth + 1)?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ty(kind: u32, size_or_type: u32, extra: Vec<u32>) -> Type {
        Type {
            name: 0,
            kind,
            kflag: false,
            vlen: if kind == KIND_STRUCT {
                extra.len() / 3
            } else {
                0
            },
            size_or_type,
            extra,
        }
    }

    #[test]
    fn long_and_cyclic_types_fail() {
        let btf = Btf {
            types: vec![
                // 1: unsigned int
                ty(KIND_INT, 4, vec![32]),
                // 2: unsigned int[30000]
                ty(KIND_ARRAY, 0, vec![1, 1, 30000]),
                // 3: a struct of 4 bytes that contains itself
                ty(KIND_STRUCT, 4, vec![1, 3, 0]),
            ],
            strings: b"\0x\0".to_vec(),
        };
        let big = vec![0xff; 120_000];
        let long = btf.format(2, &big).unwrap_err();
        assert!(long.contains("longer than 65536 bytes"), "{long}");
        let cycle = btf.format(3, &[0; 4]).unwrap_err();
        assert!(cycle.contains("nested too deep"), "{cycle}");
        assert_eq!(
            btf.format(1, &[0; 3]).unwrap_err(),
            "3 bytes for a type of 4 bytes"
        );
        assert_eq!(btf.format(1, &[1, 0, 0, 0]).as_deref(), Ok("1"));
    }
}
