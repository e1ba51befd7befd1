// SPDX-License-Identifier: GPL-2.0-or-later

//! A minimal JSON writer for the results file (no dependency).

use std::fmt::Write;

/// A JSON value.
pub enum J {
    Null,
    Num(f64),
    Int(u64),
    Str(String),
    Arr(Vec<J>),
    Obj(Vec<(&'static str, J)>),
}

impl J {
    /// A number, or `null` if it is not finite.
    pub fn num(x: f64) -> Self {
        if x.is_finite() {
            Self::Num(x)
        } else {
            Self::Null
        }
    }

    pub fn str(s: &str) -> Self {
        Self::Str(s.to_owned())
    }

    pub fn write(&self, out: &mut String, indent: usize) {
        let pad = "  ".repeat(indent + 1);
        match self {
            Self::Null => out.push_str("null"),
            Self::Num(x) => {
                let _ = write!(out, "{x:.4}");
            }
            Self::Int(n) => {
                let _ = write!(out, "{n}");
            }
            Self::Str(s) => quote(out, s),
            Self::Arr(items) => {
                out.push('[');
                for (i, item) in items.iter().enumerate() {
                    out.push_str(if i == 0 { "\n" } else { ",\n" });
                    out.push_str(&pad);
                    item.write(out, indent + 1);
                }
                if !items.is_empty() {
                    out.push('\n');
                    out.push_str(&"  ".repeat(indent));
                }
                out.push(']');
            }
            Self::Obj(fields) => {
                out.push('{');
                for (i, (k, v)) in fields.iter().enumerate() {
                    out.push_str(if i == 0 { "\n" } else { ",\n" });
                    out.push_str(&pad);
                    quote(out, k);
                    out.push_str(": ");
                    v.write(out, indent + 1);
                }
                if !fields.is_empty() {
                    out.push('\n');
                    out.push_str(&"  ".repeat(indent));
                }
                out.push('}');
            }
        }
    }
}

fn quote(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if u32::from(c) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
}
