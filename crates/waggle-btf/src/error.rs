//! The error type of BTF and BTF.ext parsing and of type queries.

use crate::types::BtfKind;

/// Everything that can be wrong with BTF or BTF.ext bytes, or with a query
/// against parsed BTF. Each variant names what was wrong and where.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum BtfError {
    /// The input ends before a structure that must be there.
    #[error(
        "{what} truncated: needs {needed} bytes at offset {offset}, only {available} available"
    )]
    Truncated {
        /// What was being read ("BTF header", "type 7", "line_info record", ...).
        what: String,
        /// Byte offset of the structure, relative to the area it lives in.
        offset: usize,
        /// Bytes the structure needs.
        needed: usize,
        /// Bytes left at that offset.
        available: usize,
    },
    /// The first two bytes are not 0xeB9F in little-endian order.
    #[error("bad {what} magic {found:#06x} (expected 0xeb9f, little-endian)")]
    BadMagic {
        /// "BTF" or "BTF.ext".
        what: &'static str,
        /// The value read.
        found: u16,
    },
    /// The version byte is not 1.
    #[error("unsupported {what} version {found} (expected 1)")]
    BadVersion {
        /// "BTF" or "BTF.ext".
        what: &'static str,
        /// The value read.
        found: u8,
    },
    /// `hdr_len` is smaller than the fixed header or larger than the input.
    #[error("{what} header length {hdr_len} is invalid (minimum {min}, input is {len} bytes)")]
    BadHeaderLength {
        /// "BTF" or "BTF.ext".
        what: &'static str,
        /// The value read.
        hdr_len: u32,
        /// The smallest valid header length.
        min: u32,
        /// Length of the whole input.
        len: usize,
    },
    /// A section described by the header does not fit in the data after it.
    #[error("{section} section (offset {offset}, length {len}) lies outside the {available}-byte data area")]
    SectionOutOfBounds {
        /// Which section ("type", "string", "func_info", ...).
        section: &'static str,
        /// Offset from the header's end.
        offset: u32,
        /// Length in bytes.
        len: u32,
        /// Bytes after the header.
        available: usize,
    },
    /// The string section does not start and end with a NUL byte.
    #[error("bad string section: {reason}")]
    BadStringSection {
        /// What is wrong.
        reason: &'static str,
    },
    /// A type's kind field holds a value that is not a BTF kind.
    #[error("unknown BTF kind {kind} at type id {type_id}")]
    UnknownKind {
        /// The kind value read.
        kind: u8,
        /// The type id being parsed.
        type_id: u32,
    },
    /// A type's fixed fields hold a value BTF forbids.
    #[error("invalid type id {type_id}: {reason}")]
    InvalidType {
        /// The offending type.
        type_id: u32,
        /// What is wrong with it.
        reason: String,
    },
    /// A type id (given by a caller or read from the input) does not exist.
    #[error(
        "type id {type_id} out of range (ids go up to {max}){}",
        context_suffix(context)
    )]
    TypeIdOutOfRange {
        /// The id asked for.
        type_id: u32,
        /// The largest valid id.
        max: u32,
        /// Where the id was found, when it came from the input.
        context: Option<String>,
    },
    /// A string offset points past the string section.
    #[error(
        "string offset {offset} out of range (string section is {len} bytes){}",
        context_suffix(context)
    )]
    StringOffsetOutOfRange {
        /// The offset asked for.
        offset: u32,
        /// Size of the string section.
        len: usize,
        /// Where the offset was found, when it came from the input.
        context: Option<String>,
    },
    /// The string at an offset is not valid UTF-8.
    #[error("string at offset {offset} is not valid UTF-8")]
    InvalidUtf8 {
        /// The string's offset.
        offset: u32,
    },
    /// Following type references from an id took more than
    /// [`MAX_RESOLVE_DEPTH`](crate::MAX_RESOLVE_DEPTH) steps: a reference
    /// cycle (such as a typedef of itself) or an absurdly deep chain.
    #[error("cycle at type id {type_id}: reference chain longer than {limit} links")]
    Cycle {
        /// The id the resolution started from.
        type_id: u32,
        /// The depth bound.
        limit: usize,
    },
    /// A size was asked of a type that has none (void, function, forward
    /// declaration, ...).
    #[error("type id {type_id} ({kind}) has no size")]
    NoSize {
        /// The type that has no size (after following references).
        type_id: u32,
        /// Its kind.
        kind: BtfKind,
    },
    /// A size does not fit in 32 bits.
    #[error("size of type id {type_id} overflows 32 bits")]
    SizeOverflow {
        /// The type whose size was asked.
        type_id: u32,
    },
    /// A type cannot be encoded (only possible after editing parsed BTF).
    #[error("type id {type_id} cannot be encoded: {reason}")]
    Unencodable {
        /// The offending type.
        type_id: u32,
        /// Why.
        reason: String,
    },
    /// A BTF.ext info section is malformed.
    #[error("{section}: {reason}")]
    BadExtSection {
        /// Which section ("func_info", "line_info", "core_relo").
        section: &'static str,
        /// What is wrong.
        reason: String,
    },
}

fn context_suffix(context: &Option<String>) -> String {
    match context {
        Some(c) => format!(" in {c}"),
        None => String::new(),
    }
}
