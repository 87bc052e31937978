//! [`Btf`]: parsed `.BTF` data, its queries and its re-encoding.

use crate::types::{decode_type, encode_type, BtfKind, BtfType, Member};
use crate::BtfError;

/// The magic number that opens `.BTF` and `.BTF.ext` (`BTF_MAGIC`).
pub const BTF_MAGIC: u16 = 0xeb9f;
/// The BTF version this crate reads and writes.
pub const BTF_VERSION: u8 = 1;
/// Length of `struct btf_header`.
pub const BTF_HEADER_LEN: u32 = 24;
/// How many reference links (typedef, modifier, array element, ...) any
/// resolution follows before reporting [`BtfError::Cycle`]; the bound libbpf
/// uses (`MAX_RESOLVE_DEPTH`).
pub const MAX_RESOLVE_DEPTH: usize = 32;
/// Size of a pointer on BPF.
pub const PTR_SIZE: u32 = 8;

pub(crate) fn read_u32(bytes: &[u8], at: usize) -> Option<u32> {
    let b = bytes.get(at..at.checked_add(4)?)?;
    Some(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
}

/// Checks the common start of `.BTF` and `.BTF.ext` (magic, version, flags,
/// hdr_len) and returns `(flags, hdr_len)`.
pub(crate) fn read_preamble(
    bytes: &[u8],
    what: &'static str,
    min_hdr: u32,
) -> Result<(u8, u32), BtfError> {
    if bytes.len() < 8 {
        return Err(BtfError::Truncated {
            what: format!("{what} header"),
            offset: 0,
            needed: 8,
            available: bytes.len(),
        });
    }
    let magic = u16::from_le_bytes([bytes[0], bytes[1]]);
    if magic != BTF_MAGIC {
        return Err(BtfError::BadMagic { what, found: magic });
    }
    if bytes[2] != BTF_VERSION {
        return Err(BtfError::BadVersion {
            what,
            found: bytes[2],
        });
    }
    let flags = bytes[3];
    let hdr_len = read_u32(bytes, 4).unwrap_or(0);
    if hdr_len < min_hdr || hdr_len as usize > bytes.len() {
        return Err(BtfError::BadHeaderLength {
            what,
            hdr_len,
            min: min_hdr,
            len: bytes.len(),
        });
    }
    Ok((flags, hdr_len))
}

/// Returns `data[off..off + len]`, or the error naming `section`.
pub(crate) fn section<'a>(
    data: &'a [u8],
    section: &'static str,
    off: u32,
    len: u32,
) -> Result<&'a [u8], BtfError> {
    let start = off as usize;
    start
        .checked_add(len as usize)
        .and_then(|end| data.get(start..end))
        .ok_or(BtfError::SectionOutOfBounds {
            section,
            offset: off,
            len,
            available: data.len(),
        })
}

/// Parsed BTF: the types (id 0 is `void`, ids of the type section start at 1)
/// and the string section.
///
/// Parsing checks everything needed for later queries to be safe: header and
/// section bounds, every kind, every type id a type refers to, every string
/// offset a type holds. Queries still return `Result`, because ids and
/// offsets given by callers are checked too. Nothing here panics on any
/// input, and every walk along references is bounded by
/// [`MAX_RESOLVE_DEPTH`].
///
/// ```
/// use waggle_btf::{Btf, BtfKind};
/// let btf = waggle_btf::waggle_types();
/// let id = btf.find_type(BtfKind::Struct, "xdp_md").unwrap();
/// assert_eq!(btf.size_of(id).unwrap(), 24);
/// let again = Btf::parse(&btf.to_bytes().unwrap()).unwrap();
/// assert_eq!(again, *btf);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Btf {
    flags: u8,
    types: Vec<BtfType>,
    strings: Vec<u8>,
}

impl Default for Btf {
    fn default() -> Self {
        Btf::new()
    }
}

impl Btf {
    /// Empty BTF: only `void`, and a string section holding the empty string.
    pub fn new() -> Btf {
        Btf {
            flags: 0,
            types: vec![BtfType::Void],
            strings: vec![0],
        }
    }

    /// Parses the contents of a `.BTF` section.
    pub fn parse(bytes: &[u8]) -> Result<Btf, BtfError> {
        let (flags, hdr_len) = read_preamble(bytes, "BTF", BTF_HEADER_LEN)?;
        let field = |i: usize| read_u32(bytes, 8 + 4 * i).unwrap_or(0);
        let (type_off, type_len, str_off, str_len) = (field(0), field(1), field(2), field(3));
        let data = &bytes[hdr_len as usize..];
        let type_data = section(data, "type", type_off, type_len)?;
        let strings = section(data, "string", str_off, str_len)?;
        if let (Some(first), Some(last)) = (strings.first(), strings.last()) {
            if *first != 0 {
                return Err(BtfError::BadStringSection {
                    reason: "does not start with a NUL byte",
                });
            }
            if *last != 0 {
                return Err(BtfError::BadStringSection {
                    reason: "does not end with a NUL byte",
                });
            }
        }

        let mut types = vec![BtfType::Void];
        let mut pos = 0usize;
        while pos < type_data.len() {
            let id = u32::try_from(types.len()).map_err(|_| BtfError::InvalidType {
                type_id: u32::MAX,
                reason: "too many types".into(),
            })?;
            let (ty, used) = decode_type(&type_data[pos..], id, pos)?;
            types.push(ty);
            pos += used;
        }

        let btf = Btf {
            flags,
            types,
            strings: strings.to_vec(),
        };
        btf.check_references()?;
        Ok(btf)
    }

    /// Checks that every type id and string offset held by a type is valid.
    fn check_references(&self) -> Result<(), BtfError> {
        let max = self.max_type_id();
        for (id, ty) in self.types() {
            let mut err = None;
            ty.for_each_type_ref(|what, r| {
                if r > max && err.is_none() {
                    err = Some(BtfError::TypeIdOutOfRange {
                        type_id: r,
                        max,
                        context: Some(format!("{what} of type id {id}")),
                    });
                }
            });
            ty.for_each_name_off(|what, off| {
                if !self.string_offset_ok(off) && err.is_none() {
                    err = Some(BtfError::StringOffsetOutOfRange {
                        offset: off,
                        len: self.strings.len(),
                        context: Some(format!("{what} of type id {id}")),
                    });
                }
            });
            if let Some(e) = err {
                return Err(e);
            }
        }
        Ok(())
    }

    /// Whether `off` is a valid string offset.
    pub(crate) fn string_offset_ok(&self, off: u32) -> bool {
        (off as usize) < self.strings.len() || (off == 0 && self.strings.is_empty())
    }

    /// Re-encodes the BTF: a 24-byte header, the type section, then the
    /// string section as it was parsed (strings added with
    /// [`add_string`](Self::add_string) at its end). For BTF that clang
    /// produced, `Btf::parse(b)?.to_bytes()? == b`.
    ///
    /// Fails only when an edited type cannot be encoded (more than 65535
    /// members, or a bitfield outside the kind-flag encoding's range).
    pub fn to_bytes(&self) -> Result<Vec<u8>, BtfError> {
        let mut type_data = Vec::new();
        for (id, ty) in self.types() {
            encode_type(ty, &mut type_data).map_err(|reason| BtfError::Unencodable {
                type_id: id,
                reason,
            })?;
        }
        let too_big = |what: &str| BtfError::Unencodable {
            type_id: 0,
            reason: format!("{what} section exceeds 4 GiB"),
        };
        let type_len = u32::try_from(type_data.len()).map_err(|_| too_big("type"))?;
        let str_len = u32::try_from(self.strings.len()).map_err(|_| too_big("string"))?;
        let mut out =
            Vec::with_capacity(BTF_HEADER_LEN as usize + type_data.len() + self.strings.len());
        out.extend_from_slice(&BTF_MAGIC.to_le_bytes());
        out.push(BTF_VERSION);
        out.push(self.flags);
        for v in [BTF_HEADER_LEN, 0, type_len, type_len, str_len] {
            out.extend_from_slice(&v.to_le_bytes());
        }
        out.extend_from_slice(&type_data);
        out.extend_from_slice(&self.strings);
        Ok(out)
    }

    /// The header's flags byte.
    pub fn flags(&self) -> u8 {
        self.flags
    }

    /// The number of type ids, counting `void` (id 0): valid ids are
    /// `0..type_count()`.
    pub fn type_count(&self) -> u32 {
        self.types.len() as u32
    }

    /// The largest valid type id (0 when there are no types but `void`).
    pub fn max_type_id(&self) -> u32 {
        self.type_count().saturating_sub(1)
    }

    /// The types of the type section with their ids (from 1; `void` is not
    /// included).
    pub fn types(&self) -> impl Iterator<Item = (u32, &BtfType)> + '_ {
        self.types
            .iter()
            .enumerate()
            .skip(1)
            .map(|(i, t)| (i as u32, t))
    }

    /// The raw string section.
    pub fn strings(&self) -> &[u8] {
        &self.strings
    }

    fn out_of_range(&self, type_id: u32) -> BtfError {
        BtfError::TypeIdOutOfRange {
            type_id,
            max: self.max_type_id(),
            context: None,
        }
    }

    /// The type with id `id` (0 is [`BtfType::Void`]).
    pub fn type_by_id(&self, id: u32) -> Result<&BtfType, BtfError> {
        self.types
            .get(id as usize)
            .ok_or_else(|| self.out_of_range(id))
    }

    /// The type with id `id`, for editing (id 0, `void`, cannot be edited).
    /// Edits are not re-validated: keep ids and string offsets valid.
    pub fn type_by_id_mut(&mut self, id: u32) -> Result<&mut BtfType, BtfError> {
        if id == 0 {
            return Err(BtfError::InvalidType {
                type_id: 0,
                reason: "void cannot be edited".into(),
            });
        }
        let err = self.out_of_range(id);
        self.types.get_mut(id as usize).ok_or(err)
    }

    /// The kind of type `id`.
    pub fn kind_of(&self, id: u32) -> Result<BtfKind, BtfError> {
        Ok(self.type_by_id(id)?.kind())
    }

    /// Appends a type and returns its id. The string offsets it holds must
    /// be valid; the type ids it refers to may be ids still to be added
    /// (BTF refers forward all the time): [`validate`](Self::validate)
    /// checks them once the types are in.
    pub fn add_type(&mut self, ty: BtfType) -> Result<u32, BtfError> {
        let id = u32::try_from(self.types.len()).map_err(|_| BtfError::InvalidType {
            type_id: u32::MAX,
            reason: "too many types".into(),
        })?;
        if ty.kind() == BtfKind::Void {
            return Err(BtfError::InvalidType {
                type_id: id,
                reason: "void is implicit (id 0) and cannot be added".into(),
            });
        }
        let mut err = None;
        ty.for_each_name_off(|what, off| {
            if !self.string_offset_ok(off) && err.is_none() {
                err = Some(BtfError::StringOffsetOutOfRange {
                    offset: off,
                    len: self.strings.len(),
                    context: Some(format!("{what} of new type id {id}")),
                });
            }
        });
        if let Some(e) = err {
            return Err(e);
        }
        self.types.push(ty);
        Ok(id)
    }

    /// Checks what [`parse`](Self::parse) checks of the types: every type id
    /// and string offset a type holds is in range. Useful after editing.
    pub fn validate(&self) -> Result<(), BtfError> {
        self.check_references()
    }

    /// Returns the offset of `s` in the string section, appending it when it
    /// is not already there. A string containing NUL is cut at the first NUL.
    pub fn add_string(&mut self, s: &str) -> u32 {
        let s = s.split('\0').next().unwrap_or("");
        if self.strings.is_empty() {
            self.strings.push(0);
        }
        if s.is_empty() {
            return 0;
        }
        let needle = s.as_bytes();
        let mut start = 0usize;
        for (i, b) in self.strings.iter().enumerate() {
            if *b == 0 {
                if &self.strings[start..i] == needle {
                    return start as u32;
                }
                start = i + 1;
            }
        }
        let off = self.strings.len() as u32;
        self.strings.extend_from_slice(needle);
        self.strings.push(0);
        off
    }

    /// The raw bytes of the NUL-terminated string at `offset`, without the NUL.
    pub fn string_bytes_at(&self, offset: u32) -> Result<&[u8], BtfError> {
        if offset == 0 && self.strings.is_empty() {
            return Ok(&[]);
        }
        let rest = self.strings.get(offset as usize..).unwrap_or(&[]);
        match rest.iter().position(|b| *b == 0) {
            Some(end) => Ok(&rest[..end]),
            None => Err(BtfError::StringOffsetOutOfRange {
                offset,
                len: self.strings.len(),
                context: None,
            }),
        }
    }

    /// The string at `offset` in the string section (offset 0 is `""`).
    pub fn string_at(&self, offset: u32) -> Result<&str, BtfError> {
        std::str::from_utf8(self.string_bytes_at(offset)?)
            .map_err(|_| BtfError::InvalidUtf8 { offset })
    }

    /// The name of type `id` (`""` for anonymous types and `void`).
    pub fn name_of(&self, id: u32) -> Result<&str, BtfError> {
        self.string_at(self.type_by_id(id)?.name_off())
    }

    /// Follows typedef, const, volatile, restrict and type tag links from
    /// `id` and returns the id of the first other type (possibly 0, `void`).
    /// Errors on a chain longer than [`MAX_RESOLVE_DEPTH`] (a cycle).
    pub fn resolve_type(&self, id: u32) -> Result<u32, BtfError> {
        let mut cur = id;
        for _ in 0..=MAX_RESOLVE_DEPTH {
            match self.type_by_id(cur)? {
                BtfType::Typedef(r)
                | BtfType::Const(r)
                | BtfType::Volatile(r)
                | BtfType::Restrict(r)
                | BtfType::TypeTag(r) => cur = r.type_id,
                _ => return Ok(cur),
            }
        }
        Err(BtfError::Cycle {
            type_id: id,
            limit: MAX_RESOLVE_DEPTH,
        })
    }

    /// [`resolve_type`](Self::resolve_type), returning the resolved type too.
    pub fn resolve(&self, id: u32) -> Result<(u32, &BtfType), BtfError> {
        let id = self.resolve_type(id)?;
        Ok((id, self.type_by_id(id)?))
    }

    /// The size in bytes of an object of type `id`, as libbpf's
    /// `btf__resolve_size` computes it: modifiers, typedefs, VARs and decl
    /// tags are followed, arrays multiply, pointers are 8 bytes. Errors on
    /// types without a size (void, functions, forward declarations), on
    /// chains longer than [`MAX_RESOLVE_DEPTH`] and on sizes over 32 bits.
    pub fn size_of(&self, id: u32) -> Result<u32, BtfError> {
        let mut nelems: u32 = 1;
        let mut cur = id;
        for _ in 0..MAX_RESOLVE_DEPTH {
            let ty = self.type_by_id(cur)?;
            let size = match ty {
                BtfType::Int(_)
                | BtfType::Struct(_)
                | BtfType::Union(_)
                | BtfType::Enum(_)
                | BtfType::Enum64(_)
                | BtfType::Datasec(_)
                | BtfType::Float(_) => ty.own_size(),
                BtfType::Ptr(_) => Some(PTR_SIZE),
                BtfType::Typedef(r)
                | BtfType::Volatile(r)
                | BtfType::Const(r)
                | BtfType::Restrict(r)
                | BtfType::TypeTag(r) => {
                    cur = r.type_id;
                    continue;
                }
                BtfType::Var(v) => {
                    cur = v.type_id;
                    continue;
                }
                BtfType::DeclTag(d) => {
                    cur = d.type_id;
                    continue;
                }
                BtfType::Array(a) => {
                    nelems = nelems
                        .checked_mul(a.nelems)
                        .ok_or(BtfError::SizeOverflow { type_id: id })?;
                    cur = a.elem_type;
                    continue;
                }
                BtfType::Void | BtfType::Fwd(_) | BtfType::Func(_) | BtfType::FuncProto(_) => None,
            };
            return match size {
                Some(size) => size
                    .checked_mul(nelems)
                    .ok_or(BtfError::SizeOverflow { type_id: id }),
                None => Err(BtfError::NoSize {
                    type_id: cur,
                    kind: ty.kind(),
                }),
            };
        }
        Err(BtfError::Cycle {
            type_id: id,
            limit: MAX_RESOLVE_DEPTH,
        })
    }

    /// The id of the first type of kind `kind` named `name`.
    pub fn find_type(&self, kind: BtfKind, name: &str) -> Option<u32> {
        self.types()
            .find(|(_, t)| {
                t.kind() == kind && self.string_bytes_at(t.name_off()).ok() == Some(name.as_bytes())
            })
            .map(|(id, _)| id)
    }

    /// The id of the first type of any kind named `name` (`name` must not be
    /// empty).
    pub fn find_by_name(&self, name: &str) -> Option<u32> {
        if name.is_empty() {
            return None;
        }
        self.types()
            .find(|(_, t)| self.string_bytes_at(t.name_off()).ok() == Some(name.as_bytes()))
            .map(|(id, _)| id)
    }

    /// The members of the STRUCT or UNION that `id` resolves to (through
    /// typedefs and modifiers).
    pub fn members(&self, id: u32) -> Result<&[Member], BtfError> {
        let (rid, ty) = self.resolve(id)?;
        ty.members().ok_or_else(|| BtfError::InvalidType {
            type_id: rid,
            reason: format!("{} is not a struct or union", ty.kind()),
        })
    }

    /// The member named `name` of the STRUCT or UNION that `id` resolves to,
    /// looking only at its direct members (anonymous members are not entered).
    pub fn member_by_name(&self, id: u32, name: &str) -> Result<Option<&Member>, BtfError> {
        Ok(self
            .members(id)?
            .iter()
            .find(|m| self.string_bytes_at(m.name_off).ok() == Some(name.as_bytes())))
    }
}
