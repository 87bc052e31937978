//! [`BtfExt`]: parsed `.BTF.ext` data (function info, line info and CO-RE
//! relocation records, grouped by ELF section).

use crate::btf::{read_preamble, read_u32, section};
use crate::core::{CoreRelo, CoreReloKind};
use crate::{Btf, BtfError};

/// Length of `struct btf_ext_header` without the CO-RE fields.
pub const BTF_EXT_MIN_HEADER_LEN: u32 = 24;
/// Length of `struct btf_ext_header` with the CO-RE relocation fields.
pub const BTF_EXT_CORE_HEADER_LEN: u32 = 32;

/// `struct bpf_func_info` as it appears in an object file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct FuncInfo {
    /// Byte offset of the function's first instruction within its ELF section.
    pub insn_off: u32,
    /// The function's FUNC type.
    pub type_id: u32,
}

impl FuncInfo {
    /// The instruction index (`insn_off / 8`).
    pub fn insn_index(&self) -> usize {
        (self.insn_off / 8) as usize
    }
}

/// `struct bpf_line_info` as it appears in an object file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct LineInfo {
    /// Byte offset of the instruction within its ELF section.
    pub insn_off: u32,
    /// String offset of the source file name.
    pub file_name_off: u32,
    /// String offset of the source line's text.
    pub line_off: u32,
    /// Line number in the top 22 bits, column in the low 10.
    pub line_col: u32,
}

impl LineInfo {
    /// The instruction index (`insn_off / 8`).
    pub fn insn_index(&self) -> usize {
        (self.insn_off / 8) as usize
    }
    /// The line number (`line_col >> 10`).
    pub fn line(&self) -> u32 {
        self.line_col >> 10
    }
    /// The column (`line_col & 0x3ff`).
    pub fn column(&self) -> u32 {
        self.line_col & 0x3ff
    }
    /// The source file's name, from the string section of `btf`.
    pub fn file_name<'a>(&self, btf: &'a Btf) -> Result<&'a str, BtfError> {
        btf.string_at(self.file_name_off)
    }
    /// The text of the source line, from the string section of `btf`.
    pub fn source_line<'a>(&self, btf: &'a Btf) -> Result<&'a str, BtfError> {
        btf.string_at(self.line_off)
    }
}

/// The records of one ELF section.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExtSection<T> {
    /// String offset of the section name.
    pub name_off: u32,
    /// The section name (`.text`, `xdp`, ...).
    pub name: String,
    /// The records, in file order.
    pub records: Vec<T>,
}

/// Parsed `.BTF.ext`. Record sizes come from the file (a record may be
/// larger than the structure this crate reads; the rest is skipped), and
/// every string offset and type id is checked against the `.BTF` given to
/// [`BtfExt::parse`].
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct BtfExt {
    /// The header's flags byte.
    pub flags: u8,
    /// Function info, per section.
    pub func_info: Vec<ExtSection<FuncInfo>>,
    /// Record size of the function info (0 when the subsection is absent).
    pub func_info_rec_size: u32,
    /// Line info, per section.
    pub line_info: Vec<ExtSection<LineInfo>>,
    /// Record size of the line info (0 when the subsection is absent).
    pub line_info_rec_size: u32,
    /// CO-RE relocations, per section.
    pub core_relos: Vec<ExtSection<CoreRelo>>,
    /// Record size of the CO-RE relocations (0 when absent).
    pub core_relo_rec_size: u32,
}

impl BtfExt {
    /// Parses the contents of a `.BTF.ext` section whose strings and types
    /// live in `btf`.
    pub fn parse(bytes: &[u8], btf: &Btf) -> Result<BtfExt, BtfError> {
        let (flags, hdr_len) = read_preamble(bytes, "BTF.ext", BTF_EXT_MIN_HEADER_LEN)?;
        let field = |i: usize| read_u32(bytes, 8 + 4 * i).unwrap_or(0);
        let data = &bytes[hdr_len as usize..];
        let mut ext = BtfExt {
            flags,
            ..BtfExt::default()
        };

        let sub = section(data, "func_info", field(0), field(1))?;
        (ext.func_info, ext.func_info_rec_size) =
            parse_info(sub, "func_info", 8, btf, |r, ctx| {
                let rec = FuncInfo {
                    insn_off: r[0],
                    type_id: r[1],
                };
                check_type_id(btf, rec.type_id, ctx)?;
                Ok(rec)
            })?;

        let sub = section(data, "line_info", field(2), field(3))?;
        (ext.line_info, ext.line_info_rec_size) =
            parse_info(sub, "line_info", 16, btf, |r, ctx| {
                let rec = LineInfo {
                    insn_off: r[0],
                    file_name_off: r[1],
                    line_off: r[2],
                    line_col: r[3],
                };
                check_string(btf, rec.file_name_off, ctx)?;
                check_string(btf, rec.line_off, ctx)?;
                Ok(rec)
            })?;

        if hdr_len >= BTF_EXT_CORE_HEADER_LEN {
            let sub = section(data, "core_relo", field(4), field(5))?;
            (ext.core_relos, ext.core_relo_rec_size) =
                parse_info(sub, "core_relo", 16, btf, |r, ctx| {
                    let rec = CoreRelo {
                        insn_off: r[0],
                        type_id: r[1],
                        access_str_off: r[2],
                        kind: CoreReloKind::from_u32(r[3]),
                    };
                    check_type_id(btf, rec.type_id, ctx)?;
                    check_string(btf, rec.access_str_off, ctx)?;
                    Ok(rec)
                })?;
        }
        Ok(ext)
    }

    /// The function info of the section named `name`.
    pub fn func_info_for(&self, name: &str) -> Option<&[FuncInfo]> {
        self.func_info
            .iter()
            .find(|s| s.name == name)
            .map(|s| s.records.as_slice())
    }

    /// The line info of the section named `name`.
    pub fn line_info_for(&self, name: &str) -> Option<&[LineInfo]> {
        self.line_info
            .iter()
            .find(|s| s.name == name)
            .map(|s| s.records.as_slice())
    }

    /// The CO-RE relocations of the section named `name`.
    pub fn core_relos_for(&self, name: &str) -> Option<&[CoreRelo]> {
        self.core_relos
            .iter()
            .find(|s| s.name == name)
            .map(|s| s.records.as_slice())
    }
}

fn check_type_id(btf: &Btf, id: u32, ctx: &dyn Fn() -> String) -> Result<(), BtfError> {
    if id > btf.max_type_id() {
        return Err(BtfError::TypeIdOutOfRange {
            type_id: id,
            max: btf.max_type_id(),
            context: Some(ctx()),
        });
    }
    Ok(())
}

fn check_string(btf: &Btf, off: u32, ctx: &dyn Fn() -> String) -> Result<(), BtfError> {
    if !btf.string_offset_ok(off) {
        return Err(BtfError::StringOffsetOutOfRange {
            offset: off,
            len: btf.strings().len(),
            context: Some(ctx()),
        });
    }
    Ok(())
}

/// Parses one info subsection: `rec_size`, then per ELF section
/// `{sec_name_off, num_info, num_info records}` until the end.
/// `min_rec` is the size of the structure read from each record; `make`
/// builds a record from its first `min_rec / 4` words.
#[allow(clippy::type_complexity)]
fn parse_info<T>(
    data: &[u8],
    what: &'static str,
    min_rec: u32,
    btf: &Btf,
    make: impl Fn(&[u32], &dyn Fn() -> String) -> Result<T, BtfError>,
) -> Result<(Vec<ExtSection<T>>, u32), BtfError> {
    let bad = |reason: String| BtfError::BadExtSection {
        section: what,
        reason,
    };
    if data.is_empty() {
        return Ok((Vec::new(), 0));
    }
    let rec_size = read_u32(data, 0).ok_or_else(|| {
        bad(format!(
            "{} bytes is too short for the record size",
            data.len()
        ))
    })?;
    if rec_size < min_rec || rec_size % 4 != 0 {
        return Err(bad(format!(
            "record size {rec_size} is invalid (must be a multiple of 4, at least {min_rec})"
        )));
    }
    let mut sections = Vec::new();
    let mut pos = 4usize;
    let words = (min_rec / 4) as usize;
    while pos < data.len() {
        let (Some(name_off), Some(count)) = (read_u32(data, pos), read_u32(data, pos + 4)) else {
            return Err(BtfError::Truncated {
                what: format!("{what} section header"),
                offset: pos,
                needed: 8,
                available: data.len() - pos,
            });
        };
        let sec_index = sections.len();
        check_string(btf, name_off, &|| {
            format!("{what} section #{sec_index} name")
        })?;
        let name = btf.string_at(name_off)?.to_string();
        if count == 0 {
            return Err(bad(format!("section '{name}' has no records")));
        }
        pos += 8;
        let body_len = (count as usize)
            .checked_mul(rec_size as usize)
            .filter(|len| *len <= data.len() - pos)
            .ok_or_else(|| BtfError::Truncated {
                what: format!("{what} records of section '{name}' ({count} x {rec_size} bytes)"),
                offset: pos,
                needed: (count as usize).saturating_mul(rec_size as usize),
                available: data.len() - pos,
            })?;
        let mut records = Vec::with_capacity(count as usize);
        let mut word = [0u32; 4];
        for i in 0..count as usize {
            let at = pos + i * rec_size as usize;
            for (k, w) in word.iter_mut().enumerate().take(words) {
                *w = read_u32(data, at + 4 * k).unwrap_or(0);
            }
            let ctx = || format!("{what} record #{i} of section '{name}'");
            records.push(make(&word[..words], &ctx)?);
        }
        pos += body_len;
        sections.push(ExtSection {
            name_off,
            name,
            records,
        });
    }
    Ok((sections, rec_size))
}
