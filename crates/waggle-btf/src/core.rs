//! CO-RE ("compile once, run everywhere") relocation with libbpf's semantics.
//!
//! A relocation record ([`CoreRelo`], from `.BTF.ext`) names a type in the
//! program's own ("local") BTF, an access string such as `"0:1:2"` and a
//! [`CoreReloKind`]. [`relocate`] finds the matching type in the target BTF
//! (the kernel's, or Waggle's own [`waggle_types`](crate::waggle_types)) and
//! computes both the value the compiler put in the instruction and the value
//! the target needs; [`patch_insn`] then rewrites the instruction.
//!
//! The algorithm is libbpf's (`tools/lib/bpf/relo_core.c`):
//!
//! 1. The access string is parsed against the local type into a *spec*:
//!    one accessor per named field or array index, and the bit offset.
//! 2. Candidates are the target types whose kind matches and whose
//!    *essential name* (the name without a `___flavour` suffix, see
//!    [`essential_name`]) equals the local one.
//! 3. Each candidate is matched: fields by name (searching anonymous
//!    embedded structs and unions), array indices within bounds, and field
//!    types checked for compatibility; type-based relocations use
//!    [`types_are_compat`] or, for `TYPE_MATCHES`, [`types_match`].
//! 4. All matching candidates must agree on the result, or the relocation is
//!    ambiguous. When none matches, existence checks give 0 and every other
//!    kind *poisons* the instruction ([`CoreOutcome::Poison`]): it becomes a
//!    call to helper [`POISON_HELPER_ID`] so the verifier reports it if it is
//!    reachable.
//!
//! One difference from libbpf: libbpf narrows the candidate list of a local
//! type to the candidates that matched its earlier relocations; [`relocate`]
//! is stateless and tries every candidate for every relocation.

use crate::btf::MAX_RESOLVE_DEPTH;
use crate::types::{Array, BtfKind, BtfType, BTF_INT_SIGNED};
use crate::{Btf, BtfError};
use std::fmt;
use waggle_isa::RawInsn;

/// The helper id a poisoned instruction calls (`0xbad2310`, "bad relo").
pub const POISON_HELPER_ID: i32 = 0xbad2310;
/// The longest access path (accessors, including those through anonymous
/// members) a relocation may have (`BPF_CORE_SPEC_MAX_LEN`).
pub const MAX_SPEC_LEN: usize = 64;
/// How deep [`types_are_compat`] and [`types_match`] recurse into function
/// prototypes and struct members (libbpf's level bound).
pub const MAX_COMPAT_LEVEL: u32 = 32;
/// Steps of type comparison one relocation may take before it fails with
/// [`CoreError::TooComplex`]. libbpf has no such bound; it only matters for
/// hostile BTF (nested anonymous members and member-wise matching can
/// otherwise take exponential time).
pub const WORK_BUDGET: u32 = 1 << 20;

/// The kind of a CO-RE relocation (`enum bpf_core_relo_kind`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CoreReloKind {
    /// 0: byte offset of a field.
    FieldByteOffset,
    /// 1: size of a field in bytes.
    FieldByteSize,
    /// 2: whether a field exists (1 or 0).
    FieldExists,
    /// 3: whether a field is signed (1 or 0).
    FieldSigned,
    /// 4: left shift that brings a bitfield read as u64 to the top bits.
    FieldLShiftU64,
    /// 5: right shift that then brings it down.
    FieldRShiftU64,
    /// 6: the type's id in the local BTF.
    TypeIdLocal,
    /// 7: the type's id in the target BTF (0 when absent).
    TypeIdTarget,
    /// 8: whether the type exists in the target (1 or 0).
    TypeExists,
    /// 9: size of the type in the target.
    TypeSize,
    /// 10: whether an enumerator exists in the target (1 or 0).
    EnumvalExists,
    /// 11: the enumerator's value in the target.
    EnumvalValue,
    /// 12: whether the type matches the target's exactly (1 or 0).
    TypeMatches,
    /// A value this crate does not know; relocating it fails.
    Unknown(u32),
}

impl CoreReloKind {
    /// The kind with this numeric value ([`Unknown`](Self::Unknown) otherwise).
    pub fn from_u32(v: u32) -> CoreReloKind {
        use CoreReloKind::*;
        match v {
            0 => FieldByteOffset,
            1 => FieldByteSize,
            2 => FieldExists,
            3 => FieldSigned,
            4 => FieldLShiftU64,
            5 => FieldRShiftU64,
            6 => TypeIdLocal,
            7 => TypeIdTarget,
            8 => TypeExists,
            9 => TypeSize,
            10 => EnumvalExists,
            11 => EnumvalValue,
            12 => TypeMatches,
            n => Unknown(n),
        }
    }

    /// The numeric value.
    pub fn as_u32(self) -> u32 {
        use CoreReloKind::*;
        match self {
            FieldByteOffset => 0,
            FieldByteSize => 1,
            FieldExists => 2,
            FieldSigned => 3,
            FieldLShiftU64 => 4,
            FieldRShiftU64 => 5,
            TypeIdLocal => 6,
            TypeIdTarget => 7,
            TypeExists => 8,
            TypeSize => 9,
            EnumvalExists => 10,
            EnumvalValue => 11,
            TypeMatches => 12,
            Unknown(n) => n,
        }
    }

    /// libbpf's short name (`"byte_off"`, `"type_matches"`, ...).
    pub fn name(self) -> &'static str {
        use CoreReloKind::*;
        match self {
            FieldByteOffset => "byte_off",
            FieldByteSize => "byte_sz",
            FieldExists => "field_exists",
            FieldSigned => "signed",
            FieldLShiftU64 => "lshift_u64",
            FieldRShiftU64 => "rshift_u64",
            TypeIdLocal => "local_type_id",
            TypeIdTarget => "target_type_id",
            TypeExists => "type_exists",
            TypeSize => "type_size",
            EnumvalExists => "enumval_exists",
            EnumvalValue => "enumval_value",
            TypeMatches => "type_matches",
            Unknown(_) => "unknown",
        }
    }

    /// Kinds 0–5, which follow a field access path.
    pub fn is_field_based(self) -> bool {
        use CoreReloKind::*;
        matches!(
            self,
            FieldByteOffset
                | FieldByteSize
                | FieldExists
                | FieldSigned
                | FieldLShiftU64
                | FieldRShiftU64
        )
    }

    /// Kinds 6–9 and 12, which are about a whole type.
    pub fn is_type_based(self) -> bool {
        use CoreReloKind::*;
        matches!(
            self,
            TypeIdLocal | TypeIdTarget | TypeExists | TypeSize | TypeMatches
        )
    }

    /// Kinds 10 and 11, which are about an enumerator.
    pub fn is_enumval_based(self) -> bool {
        matches!(
            self,
            CoreReloKind::EnumvalExists | CoreReloKind::EnumvalValue
        )
    }
}

impl fmt::Display for CoreReloKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.name(), self.as_u32())
    }
}

/// One CO-RE relocation record (`struct bpf_core_relo`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct CoreRelo {
    /// Byte offset of the instruction within its ELF section.
    pub insn_off: u32,
    /// The local root type.
    pub type_id: u32,
    /// String offset of the access string (`"0:1:2"`).
    pub access_str_off: u32,
    /// What to compute.
    pub kind: CoreReloKind,
}

impl CoreRelo {
    /// The instruction index (`insn_off / 8`).
    pub fn insn_index(&self) -> usize {
        (self.insn_off / 8) as usize
    }

    /// The access string, from the local BTF.
    pub fn access_string<'a>(&self, local: &'a Btf) -> Result<&'a str, BtfError> {
        local.string_at(self.access_str_off)
    }
}

/// A load or store size change that relocation asks for: the field's size
/// differs between local and target (`FIELD_BYTE_OFFSET` relocations on
/// loads and stores only).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MemSizeChange {
    /// The local field's size (what the instruction should access now).
    pub local: u32,
    /// The target field's size.
    pub target: u32,
    /// Whether resizing the access is sound (both pointers, or both unsigned
    /// integers); when it is not, [`patch_insn`] poisons a load or store.
    pub allowed: bool,
}

/// The values a relocation resolves to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CorePatch {
    /// The value computed from the local BTF: what the compiler should have
    /// put in the instruction.
    pub local_value: u64,
    /// The value computed from the target BTF: what goes into the instruction.
    pub target_value: u64,
    /// Whether [`patch_insn`] checks that the instruction holds
    /// `local_value` (off for bitfield offsets/sizes, type ids, ...).
    pub validate: bool,
    /// For `FIELD_BYTE_OFFSET`, the change of access size, when sizes differ.
    pub mem_size: Option<MemSizeChange>,
    /// The root type of the target candidate that matched, when one did.
    pub target_type_id: Option<u32>,
}

/// The result of [`relocate`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CoreOutcome {
    /// Rewrite the instruction's immediate or offset.
    Patch(CorePatch),
    /// Nothing in the target matched and the kind needs a value: the
    /// instruction must become a call to helper [`POISON_HELPER_ID`]
    /// (an invalid helper, so the verifier rejects it if it is reachable).
    Poison,
}

impl CoreOutcome {
    /// Whether this is [`CoreOutcome::Poison`].
    pub fn is_poison(&self) -> bool {
        matches!(self, CoreOutcome::Poison)
    }

    /// The target value, unless poisoned.
    pub fn target_value(&self) -> Option<u64> {
        match self {
            CoreOutcome::Patch(p) => Some(p.target_value),
            CoreOutcome::Poison => None,
        }
    }
}

/// What [`patch_insn`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PatchAction {
    /// The instruction's immediate or offset (and possibly access size) was
    /// rewritten.
    Patched,
    /// The instruction (both slots of an LD_IMM64) was replaced by a call to
    /// helper [`POISON_HELPER_ID`].
    Poisoned,
}

/// Why a relocation or a patch failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CoreError {
    /// A type id or string offset was invalid.
    #[error(transparent)]
    Btf(#[from] BtfError),
    /// The relocation kind is not one of 0–12.
    #[error("unknown CO-RE relocation kind {0}")]
    UnknownKind(u32),
    /// The access string does not parse, or does not fit the local type.
    #[error("invalid CO-RE access string '{access}' for local type id {type_id}: {reason}")]
    InvalidSpec {
        /// The local root type.
        type_id: u32,
        /// The access string.
        access: String,
        /// What is wrong.
        reason: String,
    },
    /// An access path (local or target) is deeper than [`MAX_SPEC_LEN`].
    #[error("CO-RE access path deeper than {MAX_SPEC_LEN} levels")]
    SpecTooLong,
    /// Candidate search needs a name; libbpf refuses anonymous root types.
    #[error("{kind} relocation of anonymous local type id {type_id} is not supported")]
    AnonymousType {
        /// The local root type.
        type_id: u32,
        /// The relocation kind.
        kind: CoreReloKind,
    },
    /// Two matching target candidates put the field at different offsets.
    #[error("field offset ambiguity: candidate {first} puts it at bit {first_bit_offset}, candidate {other} at bit {other_bit_offset}")]
    AmbiguousOffset {
        /// The first matching candidate.
        first: u32,
        /// Its bit offset.
        first_bit_offset: u64,
        /// The disagreeing candidate.
        other: u32,
        /// Its bit offset.
        other_bit_offset: u64,
    },
    /// Two matching target candidates give different values.
    #[error("relocation decision ambiguity between target candidates {first} and {other}")]
    AmbiguousValue {
        /// The first matching candidate.
        first: u32,
        /// The disagreeing candidate.
        other: u32,
    },
    /// A bitfield straddles more than 8 bytes.
    #[error("bitfield of type id {type_id} cannot be read with a 64-bit load")]
    BitfieldTooWide {
        /// The struct or union holding the bitfield.
        type_id: u32,
    },
    /// Only byte offset and size apply to an array element access.
    #[error("{kind} relocation cannot be applied to an array element access")]
    ArrayAccess {
        /// The relocation kind.
        kind: CoreReloKind,
    },
    /// Type comparison exceeded [`WORK_BUDGET`] steps or [`MAX_COMPAT_LEVEL`].
    #[error("CO-RE type comparison too deep or too complex")]
    TooComplex,
    /// An offset computation overflowed.
    #[error("CO-RE offset computation overflows")]
    Overflow,
    /// The instruction index is outside the program.
    #[error("instruction #{index} is outside the program ({len} instructions)")]
    InsnOutOfRange {
        /// The index asked for.
        index: usize,
        /// Number of instructions.
        len: usize,
    },
    /// The instruction does not hold the value the local BTF implies.
    #[error(
        "instruction #{index}: found value {found}, expected {expected} (would patch to {target})"
    )]
    UnexpectedValue {
        /// The instruction.
        index: usize,
        /// The value in the instruction (sign-extended).
        found: u64,
        /// The local value.
        expected: u64,
        /// The target value.
        target: u64,
    },
    /// The instruction is not one a relocation can patch.
    #[error("instruction #{index} (opcode {opcode:#04x}) cannot be CO-RE relocated")]
    UnsupportedInsn {
        /// The instruction.
        index: usize,
        /// Its opcode.
        opcode: u8,
    },
    /// A load/store offset does not fit in 16 signed bits.
    #[error("instruction #{index}: relocated offset {value} does not fit in 16 bits")]
    OffsetTooLarge {
        /// The instruction.
        index: usize,
        /// The target value.
        value: u64,
    },
    /// A load/store accesses a size other than the local field's.
    #[error("instruction #{index}: memory access of {found} bytes, expected {expected}")]
    MemSizeMismatch {
        /// The instruction.
        index: usize,
        /// The instruction's access size (-1 if not 1, 2, 4 or 8).
        found: i32,
        /// The local field's size.
        expected: u32,
    },
    /// The target field's size is not 1, 2, 4 or 8.
    #[error("instruction #{index}: cannot access {size} bytes with one load or store")]
    InvalidMemSize {
        /// The instruction.
        index: usize,
        /// The target field's size.
        size: u32,
    },
    /// An LD_IMM64 with a source register, offset or a malformed second slot.
    #[error("instruction #{index}: LD_IMM64 has an unexpected form")]
    BadLdImm64 {
        /// The instruction.
        index: usize,
    },
}

/// A step counter bounding the work of one relocation.
struct Budget(u32);

impl Budget {
    fn step(&mut self) -> Result<(), CoreError> {
        self.0 = self.0.checked_sub(1).ok_or(CoreError::TooComplex)?;
        Ok(())
    }
}

/// The length of `name` without its flavour: `task_struct___v2` gives the
/// length of `task_struct`. A flavour starts at the last `___` that has a
/// non-underscore on both sides.
pub fn essential_name_len(name: &[u8]) -> usize {
    let n = name.len();
    if n < 5 {
        return n;
    }
    for i in (0..=n - 5).rev() {
        let s = &name[i..i + 5];
        if s[0] != b'_' && s[1] == b'_' && s[2] == b'_' && s[3] == b'_' && s[4] != b'_' {
            return i + 1;
        }
    }
    n
}

/// `name` without its `___flavour` suffix (see [`essential_name_len`]).
pub fn essential_name(name: &str) -> &str {
    let n = essential_name_len(name.as_bytes());
    // The cut is always just before an ASCII underscore.
    name.get(..n).unwrap_or(name)
}

fn essential_eq(a: &[u8], b: &[u8]) -> bool {
    let (la, lb) = (essential_name_len(a), essential_name_len(b));
    la == lb && a[..la] == b[..lb]
}

fn name_bytes(btf: &Btf, off: u32) -> Result<&[u8], CoreError> {
    Ok(btf.string_bytes_at(off)?)
}

fn skip_mods(btf: &Btf, id: u32) -> Result<(u32, &BtfType), CoreError> {
    Ok(btf.resolve(id)?)
}

/// `btf_kind_core_compat`: same kind, or both enums (ENUM and ENUM64 mix).
fn kind_core_compat(a: &BtfType, b: &BtfType) -> bool {
    a.kind() == b.kind() || (a.is_any_enum() && b.is_any_enum())
}

/// One high-level step of an access path: a named member or an array index.
#[derive(Debug, Clone, Copy)]
struct Accessor<'a> {
    /// The composite (for a member) or the element type (for an index).
    type_id: u32,
    idx: u32,
    /// The member's (or, for enum relocations, the enumerator's) name.
    name: Option<&'a [u8]>,
}

#[derive(Debug, Clone)]
struct Spec<'a> {
    btf: &'a Btf,
    root_type_id: u32,
    kind: CoreReloKind,
    /// The parsed access string, including steps through anonymous members.
    raw: Vec<u32>,
    acc: Vec<Accessor<'a>>,
    bit_offset: u64,
}

impl<'a> Spec<'a> {
    fn new(btf: &'a Btf, root_type_id: u32, kind: CoreReloKind) -> Self {
        Spec {
            btf,
            root_type_id,
            kind,
            raw: Vec::new(),
            acc: Vec::new(),
            bit_offset: 0,
        }
    }
}

fn add_bits(a: u64, idx: u32, size: u32) -> Result<u64, CoreError> {
    (idx as u64)
        .checked_mul(size as u64)
        .and_then(|v| v.checked_mul(8))
        .and_then(|v| v.checked_add(a))
        .ok_or(CoreError::Overflow)
}

/// Parses `"0:1:2"` into indices.
fn parse_access_string(s: &str) -> Option<Vec<u32>> {
    if s.is_empty() {
        return None;
    }
    let mut out = Vec::new();
    for part in s.split(':') {
        if part.is_empty() || !part.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        out.push(part.parse::<u32>().ok()?);
    }
    Some(out)
}

/// A flexible array: an array of 0 elements that is the last member of the
/// struct the accessor `parent` names.
fn is_flex_arr(btf: &Btf, parent: Option<&Accessor<'_>>, arr: &Array) -> bool {
    let Some(parent) = parent else { return false };
    if parent.name.is_none() || arr.nelems > 0 {
        return false;
    }
    match btf
        .type_by_id(parent.type_id)
        .ok()
        .and_then(|t| t.members())
    {
        Some(m) => parent.idx as usize + 1 == m.len(),
        None => false,
    }
}

/// `bpf_core_parse_spec`: the local spec of a relocation.
fn parse_spec<'a>(btf: &'a Btf, relo: &CoreRelo) -> Result<Spec<'a>, CoreError> {
    let access = btf.string_at(relo.access_str_off)?;
    let invalid = |reason: String| CoreError::InvalidSpec {
        type_id: relo.type_id,
        access: access.to_string(),
        reason,
    };
    let mut spec = Spec::new(btf, relo.type_id, relo.kind);
    if relo.kind.is_type_based() {
        if access != "0" {
            return Err(invalid(
                "a type relocation's access string must be \"0\"".into(),
            ));
        }
        return Ok(spec);
    }
    let raw = parse_access_string(access)
        .ok_or_else(|| invalid("not a ':'-separated list of indices".into()))?;
    if raw.len() > MAX_SPEC_LEN {
        return Err(CoreError::SpecTooLong);
    }
    spec.raw = raw;
    let (mut id, t) = skip_mods(btf, relo.type_id)?;
    let first = spec.raw[0];
    spec.acc.push(Accessor {
        type_id: id,
        idx: first,
        name: None,
    });

    if relo.kind.is_enumval_based() {
        let values = t
            .enum_values()
            .ok_or_else(|| invalid(format!("root type is {}, not an enum", t.kind())))?;
        if spec.raw.len() > 1 {
            return Err(invalid("an enum relocation has a single index".into()));
        }
        let v = values.get(first as usize).ok_or_else(|| {
            invalid(format!(
                "enumerator {first} out of range ({} values)",
                values.len()
            ))
        })?;
        spec.acc[0].name = Some(name_bytes(btf, v.name_off)?);
        return Ok(spec);
    }
    if !relo.kind.is_field_based() {
        return Err(CoreError::UnknownKind(relo.kind.as_u32()));
    }

    let size = btf.size_of(id)?;
    spec.bit_offset = add_bits(0, first, size)?;
    for i in 1..spec.raw.len() {
        let (rid, t) = skip_mods(btf, id)?;
        id = rid;
        let idx = spec.raw[i];
        if let Some(members) = t.members() {
            let m = members.get(idx as usize).ok_or_else(|| {
                invalid(format!(
                    "member {idx} out of range ({} members)",
                    members.len()
                ))
            })?;
            spec.bit_offset = spec
                .bit_offset
                .checked_add(m.bit_offset as u64)
                .ok_or(CoreError::Overflow)?;
            if m.name_off != 0 {
                let name = name_bytes(btf, m.name_off)?;
                if name.is_empty() {
                    return Err(invalid(format!("member {idx} has an empty name")));
                }
                spec.acc.push(Accessor {
                    type_id: id,
                    idx,
                    name: Some(name),
                });
            }
            id = m.type_id;
        } else if let BtfType::Array(a) = t {
            let (elem, _) = skip_mods(btf, a.elem_type)?;
            let flex = is_flex_arr(btf, spec.acc.last(), a);
            if !flex && idx >= a.nelems {
                return Err(invalid(format!(
                    "index {idx} out of bounds ({} elements)",
                    a.nelems
                )));
            }
            id = elem;
            spec.acc.push(Accessor {
                type_id: id,
                idx,
                name: None,
            });
            let size = btf.size_of(id)?;
            spec.bit_offset = add_bits(spec.bit_offset, idx, size)?;
        } else {
            return Err(invalid(format!(
                "step {i} reaches type id {id} of kind {}",
                t.kind()
            )));
        }
    }
    Ok(spec)
}

/// `bpf_core_fields_are_compat`: whether a local field type and a target
/// field type can be relocated into each other.
fn fields_are_compat(
    local: &Btf,
    lid: u32,
    targ: &Btf,
    tid: u32,
    budget: &mut Budget,
) -> Result<bool, CoreError> {
    let (mut lid, mut tid) = (lid, tid);
    for _ in 0..=MAX_RESOLVE_DEPTH {
        budget.step()?;
        let (_, lt) = skip_mods(local, lid)?;
        let (_, tt) = skip_mods(targ, tid)?;
        if lt.is_composite() && tt.is_composite() {
            return Ok(true);
        }
        if !kind_core_compat(lt, tt) {
            return Ok(false);
        }
        match (lt, tt) {
            (BtfType::Ptr(_), _) | (BtfType::Float(_), _) => return Ok(true),
            (BtfType::Fwd(_) | BtfType::Enum(_) | BtfType::Enum64(_), _) => {
                let ln = name_bytes(local, lt.name_off())?;
                let tn = name_bytes(targ, tt.name_off())?;
                let (ll, tl) = (essential_name_len(ln), essential_name_len(tn));
                return Ok(ll == 0 || tl == 0 || (ll == tl && ln[..ll] == tn[..tl]));
            }
            (BtfType::Int(li), BtfType::Int(ti)) => return Ok(li.offset == 0 && ti.offset == 0),
            (BtfType::Array(la), BtfType::Array(ta)) => {
                lid = la.elem_type;
                tid = ta.elem_type;
            }
            _ => return Ok(false),
        }
    }
    Err(BtfError::Cycle {
        type_id: lid,
        limit: MAX_RESOLVE_DEPTH,
    }
    .into())
}

/// `bpf_core_match_member`: finds the member named like the local
/// accessor's in target composite `targ_id`, entering anonymous members.
/// Pushes the raw steps and the accessor onto `spec` on success and returns
/// the member's type.
fn match_member<'t>(
    local: &Btf,
    local_acc: &Accessor<'_>,
    targ: &'t Btf,
    targ_id: u32,
    spec: &mut Spec<'t>,
    budget: &mut Budget,
) -> Result<Option<u32>, CoreError> {
    budget.step()?;
    let (targ_id, targ_t) = skip_mods(targ, targ_id)?;
    let Some(targ_members) = targ_t.members() else {
        return Ok(None);
    };
    let local_member = local
        .type_by_id(local_acc.type_id)?
        .members()
        .and_then(|m| m.get(local_acc.idx as usize))
        .ok_or(CoreError::Btf(BtfError::InvalidType {
            type_id: local_acc.type_id,
            reason: "accessor does not name a member".into(),
        }))?;
    let local_name = name_bytes(local, local_member.name_off)?;

    for (i, m) in targ_members.iter().enumerate() {
        if spec.raw.len() >= MAX_SPEC_LEN {
            return Err(CoreError::SpecTooLong);
        }
        let saved_offset = spec.bit_offset;
        spec.bit_offset = spec
            .bit_offset
            .checked_add(m.bit_offset as u64)
            .ok_or(CoreError::Overflow)?;
        spec.raw.push(i as u32);
        let targ_name = name_bytes(targ, m.name_off)?;
        if targ_name.is_empty() {
            // An anonymous embedded struct or union: look inside.
            if let Some(found) = match_member(local, local_acc, targ, m.type_id, spec, budget)? {
                return Ok(Some(found));
            }
        } else if targ_name == local_name {
            if fields_are_compat(local, local_member.type_id, targ, m.type_id, budget)? {
                spec.acc.push(Accessor {
                    type_id: targ_id,
                    idx: i as u32,
                    name: Some(targ_name),
                });
                return Ok(Some(m.type_id));
            }
            return Ok(None);
        }
        spec.bit_offset = saved_offset;
        spec.raw.pop();
    }
    Ok(None)
}

/// `bpf_core_spec_match`: matches the local spec against candidate
/// `targ_id`, producing the target spec when it matches.
fn spec_match<'t>(
    local_spec: &Spec<'_>,
    targ: &'t Btf,
    targ_id: u32,
    budget: &mut Budget,
) -> Result<Option<Spec<'t>>, CoreError> {
    let mut ts = Spec::new(targ, targ_id, local_spec.kind);
    let kind = local_spec.kind;
    if kind.is_type_based() {
        let ok = if kind == CoreReloKind::TypeMatches {
            types_match_inner(
                local_spec.btf,
                local_spec.root_type_id,
                targ,
                targ_id,
                false,
                MAX_COMPAT_LEVEL,
                budget,
            )?
        } else {
            types_are_compat_inner(
                local_spec.btf,
                local_spec.root_type_id,
                targ,
                targ_id,
                MAX_COMPAT_LEVEL,
                budget,
            )?
        };
        return Ok(ok.then_some(ts));
    }

    let local_acc = local_spec.acc[0];
    if kind.is_enumval_based() {
        let (tid, tt) = skip_mods(targ, targ_id)?;
        let Some(values) = tt.enum_values() else {
            return Ok(None);
        };
        let local_name = local_acc.name.unwrap_or_default();
        for (i, v) in values.iter().enumerate() {
            budget.step()?;
            let name = name_bytes(targ, v.name_off)?;
            if essential_eq(local_name, name) {
                ts.acc.push(Accessor {
                    type_id: tid,
                    idx: i as u32,
                    name: Some(name),
                });
                ts.raw.push(i as u32);
                return Ok(Some(ts));
            }
        }
        return Ok(None);
    }
    if !kind.is_field_based() {
        return Err(CoreError::UnknownKind(kind.as_u32()));
    }

    let mut targ_id = targ_id;
    for (i, la) in local_spec.acc.iter().enumerate() {
        let (tid, tt) = skip_mods(targ, targ_id)?;
        targ_id = tid;
        if la.name.is_some() {
            match match_member(local_spec.btf, la, targ, targ_id, &mut ts, budget)? {
                Some(next) => targ_id = next,
                None => return Ok(None),
            }
        } else {
            if i > 0 {
                let BtfType::Array(a) = tt else {
                    return Ok(None);
                };
                let flex = is_flex_arr(targ, ts.acc.last(), a);
                if !flex && la.idx >= a.nelems {
                    return Ok(None);
                }
                targ_id = skip_mods(targ, a.elem_type)?.0;
            }
            if ts.raw.len() >= MAX_SPEC_LEN {
                return Err(CoreError::SpecTooLong);
            }
            ts.acc.push(Accessor {
                type_id: targ_id,
                idx: la.idx,
                name: None,
            });
            ts.raw.push(la.idx);
            let size = targ.size_of(targ_id)?;
            ts.bit_offset = add_bits(ts.bit_offset, la.idx, size)?;
        }
    }
    Ok(Some(ts))
}

/// libbpf's `struct bpf_core_relo_res`.
#[derive(Debug, Clone, Default)]
struct Res {
    orig_val: u64,
    new_val: u64,
    poison: bool,
    validate: bool,
    fail_memsz_adjust: bool,
    orig_sz: u32,
    new_sz: u32,
    orig_type_id: u32,
    new_type_id: u32,
}

/// A field relocation's value for one side.
struct FieldVal {
    val: u64,
    field_sz: u32,
    type_id: u32,
    validate: bool,
}

/// `bpf_core_calc_field_relo`. `Ok(None)` asks for poisoning.
fn calc_field_relo(
    kind: CoreReloKind,
    spec: Option<&Spec<'_>>,
) -> Result<Option<FieldVal>, CoreError> {
    let mut out = FieldVal {
        val: 0,
        field_sz: 0,
        type_id: 0,
        validate: true,
    };
    if kind == CoreReloKind::FieldExists {
        out.val = spec.is_some() as u64;
        return Ok(Some(out));
    }
    let Some(spec) = spec else { return Ok(None) };
    let btf = spec.btf;
    let acc = *spec.acc.last().ok_or(CoreError::Overflow)?;

    if acc.name.is_none() {
        // The path ends with an array index.
        match kind {
            CoreReloKind::FieldByteOffset => {
                out.val = spec.bit_offset / 8;
                out.field_sz = btf.size_of(acc.type_id)?;
                out.type_id = acc.type_id;
            }
            CoreReloKind::FieldByteSize => out.val = btf.size_of(acc.type_id)? as u64,
            _ => return Err(CoreError::ArrayAccess { kind }),
        }
        return Ok(Some(out));
    }

    let members = btf.type_by_id(acc.type_id)?.members().unwrap_or(&[]);
    let m = members.get(acc.idx as usize).ok_or(BtfError::InvalidType {
        type_id: acc.type_id,
        reason: "accessor does not name a member".into(),
    })?;
    let (field_type_id, mt) = skip_mods(btf, m.type_id)?;
    let bit_off = spec.bit_offset;
    let mut bit_sz = m.bitfield_size as u64;
    let bitfield = bit_sz > 0;
    let (byte_off, byte_sz);
    if bitfield {
        let mut sz = mt.own_size().unwrap_or(0) as u64;
        if sz == 0 {
            return Err(CoreError::BitfieldTooWide {
                type_id: acc.type_id,
            });
        }
        let mut off = bit_off / 8 / sz * sz;
        // The smallest power-of-two load that covers the bitfield.
        while bit_off.saturating_add(bit_sz) - off * 8 > sz * 8 {
            if sz >= 8 {
                return Err(CoreError::BitfieldTooWide {
                    type_id: acc.type_id,
                });
            }
            sz *= 2;
            off = bit_off / 8 / sz * sz;
        }
        byte_off = off;
        byte_sz = sz;
    } else {
        byte_sz = btf.size_of(field_type_id)? as u64;
        byte_off = bit_off / 8;
        bit_sz = byte_sz * 8;
    }
    // Bitfield offsets and sizes are where clang and libbpf may disagree:
    // they are not validated.
    out.validate = !bitfield;
    match kind {
        CoreReloKind::FieldByteOffset => {
            out.val = byte_off;
            if !bitfield {
                out.field_sz = byte_sz as u32;
                out.type_id = field_type_id;
            }
        }
        CoreReloKind::FieldByteSize => out.val = byte_sz,
        CoreReloKind::FieldSigned => {
            out.val = match mt {
                BtfType::Enum(e) | BtfType::Enum64(e) => e.signed,
                BtfType::Int(i) => i.is_signed(),
                _ => false,
            } as u64;
            out.validate = true;
        }
        // libbpf computes the shifts in 32-bit unsigned arithmetic.
        CoreReloKind::FieldLShiftU64 => {
            let used = bit_off.wrapping_add(bit_sz).wrapping_sub(byte_off * 8);
            out.val = 64u32.wrapping_sub(used as u32) as u64;
        }
        CoreReloKind::FieldRShiftU64 => {
            out.val = 64u32.wrapping_sub(bit_sz as u32) as u64;
            out.validate = true;
        }
        _ => return Err(CoreError::UnknownKind(kind.as_u32())),
    }
    Ok(Some(out))
}

/// `bpf_core_calc_type_relo`.
fn calc_type_relo(kind: CoreReloKind, spec: Option<&Spec<'_>>) -> Result<(u64, bool), CoreError> {
    let Some(spec) = spec else {
        return Ok((0, true));
    };
    Ok(match kind {
        CoreReloKind::TypeIdTarget => (spec.root_type_id as u64, false),
        CoreReloKind::TypeExists | CoreReloKind::TypeMatches => (1, true),
        CoreReloKind::TypeSize => (spec.btf.size_of(spec.root_type_id)? as u64, true),
        _ => return Err(CoreError::UnknownKind(kind.as_u32())),
    })
}

/// `bpf_core_calc_enumval_relo`. `Ok(None)` asks for poisoning.
fn calc_enumval_relo(
    kind: CoreReloKind,
    spec: Option<&Spec<'_>>,
) -> Result<Option<u64>, CoreError> {
    match kind {
        CoreReloKind::EnumvalExists => Ok(Some(spec.is_some() as u64)),
        CoreReloKind::EnumvalValue => {
            let Some(spec) = spec else { return Ok(None) };
            let acc = spec.acc[0];
            let t = spec.btf.type_by_id(acc.type_id)?;
            let v = t
                .enum_values()
                .and_then(|v| v.get(acc.idx as usize))
                .ok_or(BtfError::InvalidType {
                    type_id: acc.type_id,
                    reason: "accessor does not name an enumerator".into(),
                })?;
            Ok(Some(v.value))
        }
        _ => Err(CoreError::UnknownKind(kind.as_u32())),
    }
}

/// `bpf_core_calc_relo`: local and target values for one candidate (or
/// for "no candidate" when `targ` is `None`).
fn calc_relo(local: &Spec<'_>, targ: Option<&Spec<'_>>) -> Result<Res, CoreError> {
    let kind = local.kind;
    let mut res = Res {
        validate: true,
        ..Res::default()
    };
    if kind.is_field_based() {
        let Some(l) = calc_field_relo(kind, Some(local))? else {
            res.poison = true;
            return Ok(res);
        };
        res.orig_val = l.val;
        res.orig_sz = l.field_sz;
        res.orig_type_id = l.type_id;
        res.validate = l.validate;
        let Some(t) = calc_field_relo(kind, targ)? else {
            res.poison = true;
            return Ok(res);
        };
        res.new_val = t.val;
        res.new_sz = t.field_sz;
        res.new_type_id = t.type_id;
        if res.orig_sz != res.new_sz {
            // Resizing a load or store is sound only for pointers and
            // unsigned integers (zero extension keeps the value).
            let orig_t = local.btf.type_by_id(res.orig_type_id)?;
            let new_t = match targ {
                Some(t) => t.btf.type_by_id(res.new_type_id)?,
                None => &BtfType::Void,
            };
            let ok = match (orig_t, new_t) {
                (BtfType::Ptr(_), BtfType::Ptr(_)) => true,
                (BtfType::Int(a), BtfType::Int(b)) => {
                    a.encoding != BTF_INT_SIGNED && b.encoding != BTF_INT_SIGNED
                }
                _ => false,
            };
            res.fail_memsz_adjust = !ok;
        }
    } else if kind.is_type_based() {
        let (orig, validate) = calc_type_relo(kind, Some(local))?;
        res.orig_val = orig;
        res.validate = validate;
        res.new_val = calc_type_relo(kind, targ)?.0;
    } else if kind.is_enumval_based() {
        res.orig_val = calc_enumval_relo(kind, Some(local))?.unwrap_or(0);
        match calc_enumval_relo(kind, targ)? {
            Some(v) => res.new_val = v,
            None => res.poison = true,
        }
    } else {
        return Err(CoreError::UnknownKind(kind.as_u32()));
    }
    Ok(res)
}

/// The target types that are candidates for local type `local_id`: same
/// kind (ENUM and ENUM64 mix) and same essential name, in id order. An
/// anonymous local type has no candidates.
pub fn find_candidates(local: &Btf, local_id: u32, target: &Btf) -> Result<Vec<u32>, CoreError> {
    let local_t = local.type_by_id(local_id)?;
    let local_name = name_bytes(local, local_t.name_off())?;
    if local_name.is_empty() {
        return Ok(Vec::new());
    }
    let mut out = Vec::new();
    for (id, t) in target.types() {
        if !kind_core_compat(t, local_t) {
            continue;
        }
        let name = name_bytes(target, t.name_off())?;
        if !name.is_empty() && essential_eq(local_name, name) {
            out.push(id);
        }
    }
    Ok(out)
}

/// Computes a relocation against `target`, as libbpf's
/// `bpf_core_calc_relo_insn` does. See the [module documentation](self).
pub fn relocate(local: &Btf, target: &Btf, relo: &CoreRelo) -> Result<CoreOutcome, CoreError> {
    if let CoreReloKind::Unknown(n) = relo.kind {
        return Err(CoreError::UnknownKind(n));
    }
    let local_t = local.type_by_id(relo.type_id)?;
    let local_name = name_bytes(local, local_t.name_off())?;
    let local_spec = parse_spec(local, relo)?;

    if relo.kind == CoreReloKind::TypeIdLocal {
        return Ok(CoreOutcome::Patch(CorePatch {
            local_value: relo.type_id as u64,
            target_value: relo.type_id as u64,
            validate: false,
            mem_size: None,
            target_type_id: None,
        }));
    }
    if local_name.is_empty() {
        return Err(CoreError::AnonymousType {
            type_id: relo.type_id,
            kind: relo.kind,
        });
    }

    let mut budget = Budget(WORK_BUDGET);
    let mut chosen: Option<(u32, Spec<'_>, Res)> = None;
    for cand in find_candidates(local, relo.type_id, target)? {
        let Some(cand_spec) = spec_match(&local_spec, target, cand, &mut budget)? else {
            continue;
        };
        let cand_res = calc_relo(&local_spec, Some(&cand_spec))?;
        match &chosen {
            None => chosen = Some((cand, cand_spec, cand_res)),
            Some((first, first_spec, first_res)) => {
                if cand_spec.bit_offset != first_spec.bit_offset {
                    return Err(CoreError::AmbiguousOffset {
                        first: *first,
                        first_bit_offset: first_spec.bit_offset,
                        other: cand,
                        other_bit_offset: cand_spec.bit_offset,
                    });
                }
                if cand_res.poison != first_res.poison || cand_res.new_val != first_res.new_val {
                    return Err(CoreError::AmbiguousValue {
                        first: *first,
                        other: cand,
                    });
                }
            }
        }
    }
    let (cand, res) = match chosen {
        Some((cand, _, res)) => (Some(cand), res),
        None => (None, calc_relo(&local_spec, None)?),
    };
    if res.poison {
        return Ok(CoreOutcome::Poison);
    }
    Ok(CoreOutcome::Patch(CorePatch {
        local_value: res.orig_val,
        target_value: res.new_val,
        validate: res.validate,
        mem_size: (res.orig_sz != res.new_sz).then_some(MemSizeChange {
            local: res.orig_sz,
            target: res.new_sz,
            allowed: !res.fail_memsz_adjust,
        }),
        target_type_id: cand,
    }))
}

/// `bpf_core_types_are_compat`: whether local type `local_id` and target
/// type `targ_id` are compatible for type-based relocations (modifiers and
/// typedefs skipped; structs, unions, enums and forward declarations by kind
/// alone; integers unless bit-offset ones; pointers, arrays and function
/// prototypes recursively).
pub fn types_are_compat(
    local: &Btf,
    local_id: u32,
    targ: &Btf,
    targ_id: u32,
) -> Result<bool, CoreError> {
    types_are_compat_inner(
        local,
        local_id,
        targ,
        targ_id,
        MAX_COMPAT_LEVEL,
        &mut Budget(WORK_BUDGET),
    )
}

fn types_are_compat_inner(
    local: &Btf,
    local_id: u32,
    targ: &Btf,
    targ_id: u32,
    level: u32,
    budget: &mut Budget,
) -> Result<bool, CoreError> {
    if !kind_core_compat(local.type_by_id(local_id)?, targ.type_by_id(targ_id)?) {
        return Ok(false);
    }
    let (mut lid, mut tid) = (local_id, targ_id);
    for _ in 0..MAX_RESOLVE_DEPTH {
        budget.step()?;
        let (_, lt) = skip_mods(local, lid)?;
        let (_, tt) = skip_mods(targ, tid)?;
        if !kind_core_compat(lt, tt) {
            return Ok(false);
        }
        match (lt, tt) {
            (
                BtfType::Void
                | BtfType::Struct(_)
                | BtfType::Union(_)
                | BtfType::Enum(_)
                | BtfType::Enum64(_)
                | BtfType::Fwd(_),
                _,
            ) => return Ok(true),
            (BtfType::Int(a), BtfType::Int(b)) => return Ok(a.offset == 0 && b.offset == 0),
            (BtfType::Ptr(a), BtfType::Ptr(b)) => {
                lid = a.type_id;
                tid = b.type_id;
            }
            (BtfType::Array(a), BtfType::Array(b)) => {
                lid = a.elem_type;
                tid = b.elem_type;
            }
            (BtfType::FuncProto(a), BtfType::FuncProto(b)) => {
                if a.params.len() != b.params.len() {
                    return Ok(false);
                }
                for (lp, tp) in a.params.iter().zip(&b.params) {
                    if level == 0 {
                        return Err(CoreError::TooComplex);
                    }
                    let l = local.resolve_type(lp.type_id)?;
                    let t = targ.resolve_type(tp.type_id)?;
                    if !types_are_compat_inner(local, l, targ, t, level - 1, budget)? {
                        return Ok(false);
                    }
                }
                lid = local.resolve_type(a.return_type)?;
                tid = targ.resolve_type(b.return_type)?;
            }
            _ => return Ok(false),
        }
    }
    Err(CoreError::TooComplex)
}

/// `bpf_core_names_match`: an anonymous target matches only an anonymous
/// local; otherwise essential names must be equal.
fn names_match(local: &Btf, local_off: u32, targ: &Btf, targ_off: u32) -> Result<bool, CoreError> {
    let ln = name_bytes(local, local_off)?;
    let tn = name_bytes(targ, targ_off)?;
    if tn.is_empty() {
        return Ok(ln.is_empty());
    }
    Ok(essential_eq(ln, tn))
}

/// `bpf_core_types_match`: the stricter relation behind `TYPE_MATCHES`
/// (`bpf_core_type_matches()`): same kinds after skipping modifiers and
/// typedefs, same names (modulo flavour), integers of the same size and
/// signedness, every local member or enumerator present in the target by
/// name (members recursively matching, only by name and kind behind a
/// pointer), arrays of the same length, prototypes of matching parameters.
pub fn types_match(
    local: &Btf,
    local_id: u32,
    targ: &Btf,
    targ_id: u32,
) -> Result<bool, CoreError> {
    types_match_inner(
        local,
        local_id,
        targ,
        targ_id,
        false,
        MAX_COMPAT_LEVEL,
        &mut Budget(WORK_BUDGET),
    )
}

fn types_match_inner(
    local: &Btf,
    local_id: u32,
    targ: &Btf,
    targ_id: u32,
    mut behind_ptr: bool,
    level: u32,
    budget: &mut Budget,
) -> Result<bool, CoreError> {
    if level == 0 {
        return Err(CoreError::TooComplex);
    }
    let (mut lid, mut tid) = (local_id, targ_id);
    for _ in 0..MAX_RESOLVE_DEPTH {
        budget.step()?;
        let (_, lt) = skip_mods(local, lid)?;
        let (_, tt) = skip_mods(targ, tid)?;
        if !names_match(local, lt.name_off(), targ, tt.name_off())? {
            return Ok(false);
        }
        let (lk, tk) = (lt.kind(), tt.kind());
        match lt {
            BtfType::Void => return Ok(lk == tk),
            BtfType::Fwd(lf) => {
                return Ok(match tt {
                    BtfType::Fwd(tf) => lf.is_union == tf.is_union,
                    BtfType::Struct(_) if behind_ptr => !lf.is_union,
                    BtfType::Union(_) if behind_ptr => lf.is_union,
                    _ => false,
                });
            }
            BtfType::Enum(le) | BtfType::Enum64(le) => {
                let (BtfType::Enum(te) | BtfType::Enum64(te)) = tt else {
                    return Ok(false);
                };
                if le.size != te.size || le.values.len() > te.values.len() {
                    return Ok(false);
                }
                for lv in &le.values {
                    let mut found = false;
                    for tv in &te.values {
                        budget.step()?;
                        if names_match(local, lv.name_off, targ, tv.name_off)? {
                            found = true;
                            break;
                        }
                    }
                    if !found {
                        return Ok(false);
                    }
                }
                return Ok(true);
            }
            BtfType::Struct(lc) | BtfType::Union(lc) => {
                if behind_ptr {
                    if lk == tk {
                        return Ok(true);
                    }
                    return Ok(match tt {
                        BtfType::Fwd(tf) => (lk == BtfKind::Union) == tf.is_union,
                        _ => false,
                    });
                }
                if lk != tk {
                    return Ok(false);
                }
                let tc = tt.members().unwrap_or(&[]);
                if lc.members.len() > tc.len() {
                    return Ok(false);
                }
                for lm in &lc.members {
                    let mut matched = false;
                    for tm in tc {
                        budget.step()?;
                        if !names_match(local, lm.name_off, targ, tm.name_off)? {
                            continue;
                        }
                        if types_match_inner(
                            local,
                            lm.type_id,
                            targ,
                            tm.type_id,
                            behind_ptr,
                            level - 1,
                            budget,
                        )? {
                            matched = true;
                            break;
                        }
                    }
                    if !matched {
                        return Ok(false);
                    }
                }
                return Ok(true);
            }
            BtfType::Int(li) => {
                let BtfType::Int(ti) = tt else {
                    return Ok(false);
                };
                return Ok(li.size == ti.size && li.is_signed() == ti.is_signed());
            }
            BtfType::Ptr(lp) => {
                let BtfType::Ptr(tp) = tt else {
                    return Ok(false);
                };
                behind_ptr = true;
                lid = lp.type_id;
                tid = tp.type_id;
            }
            BtfType::Array(la) => {
                let BtfType::Array(ta) = tt else {
                    return Ok(false);
                };
                if la.nelems != ta.nelems {
                    return Ok(false);
                }
                lid = la.elem_type;
                tid = ta.elem_type;
            }
            BtfType::FuncProto(lp) => {
                let BtfType::FuncProto(tp) = tt else {
                    return Ok(false);
                };
                if lp.params.len() != tp.params.len() {
                    return Ok(false);
                }
                for (a, b) in lp.params.iter().zip(&tp.params) {
                    if !types_match_inner(
                        local,
                        a.type_id,
                        targ,
                        b.type_id,
                        behind_ptr,
                        level - 1,
                        budget,
                    )? {
                        return Ok(false);
                    }
                }
                lid = lp.return_type;
                tid = tp.return_type;
            }
            _ => return Ok(false),
        }
    }
    Err(CoreError::TooComplex)
}

// Instruction encoding bits used by the patcher (Linux's bpf.h names).
const BPF_LD: u8 = 0x00;
const BPF_LDX: u8 = 0x01;
const BPF_ST: u8 = 0x02;
const BPF_STX: u8 = 0x03;
const BPF_ALU: u8 = 0x04;
const BPF_JMP: u8 = 0x05;
const BPF_ALU64: u8 = 0x07;
const BPF_X: u8 = 0x08;
const BPF_CALL: u8 = 0x80;
const LD_IMM64: u8 = 0x18; // BPF_LD | BPF_IMM | BPF_DW

fn size_bytes(opcode: u8) -> i32 {
    match opcode & 0x18 {
        0x18 => 8,
        0x00 => 4,
        0x08 => 2,
        _ => 1,
    }
}

fn size_code(bytes: u32) -> Option<u8> {
    Some(match bytes {
        8 => 0x18,
        4 => 0x00,
        2 => 0x08,
        1 => 0x10,
        _ => return None,
    })
}

fn poison_slot(insn: &mut RawInsn) {
    *insn = RawInsn::new(BPF_JMP | BPF_CALL, 0, 0, 0, POISON_HELPER_ID);
}

fn poison_at(insns: &mut [RawInsn], index: usize) -> PatchAction {
    if insns[index].opcode == LD_IMM64 {
        if let Some(next) = insns.get_mut(index + 1) {
            poison_slot(next);
        }
    }
    poison_slot(&mut insns[index]);
    PatchAction::Poisoned
}

/// Rewrites instruction `index` for `outcome`, as libbpf's
/// `bpf_core_patch_insn` does:
///
/// - ALU/ALU64 with an immediate (`r1 = 8`, `r1 += 8`): the immediate;
/// - LDX/ST/STX: the offset, and the access size when the field's size
///   changed soundly (a load of an unsigned or pointer field); an unsound
///   size change poisons the instruction;
/// - LD_IMM64 (`r1 = 8 ll`): both halves of the 64-bit immediate.
///
/// When the outcome is validated, the instruction must hold the local value
/// (ALU immediates and offsets compared sign-extended, as libbpf does).
/// [`CoreOutcome::Poison`] replaces the instruction (both slots of an
/// LD_IMM64) with `call 0xbad2310`.
pub fn patch_insn(
    insns: &mut [RawInsn],
    index: usize,
    outcome: &CoreOutcome,
) -> Result<PatchAction, CoreError> {
    let len = insns.len();
    let insn = *insns
        .get(index)
        .ok_or(CoreError::InsnOutOfRange { index, len })?;
    let patch = match outcome {
        CoreOutcome::Poison => return Ok(poison_at(insns, index)),
        CoreOutcome::Patch(p) => p,
    };
    let (orig, new) = (patch.local_value, patch.target_value);
    let unexpected = |found: u64| CoreError::UnexpectedValue {
        index,
        found,
        expected: orig,
        target: new,
    };
    match insn.opcode & 0x07 {
        BPF_ALU | BPF_ALU64 => {
            if insn.opcode & BPF_X != 0 {
                return Err(CoreError::UnsupportedInsn {
                    index,
                    opcode: insn.opcode,
                });
            }
            let found = insn.imm as i64 as u64;
            if patch.validate && found != orig {
                return Err(unexpected(found));
            }
            insns[index].imm = new as i32;
        }
        BPF_LDX | BPF_ST | BPF_STX => {
            let found = insn.off as i64 as u64;
            if patch.validate && found != orig {
                return Err(unexpected(found));
            }
            if new > i16::MAX as u64 {
                return Err(CoreError::OffsetTooLarge { index, value: new });
            }
            if let Some(ms) = patch.mem_size {
                if !ms.allowed {
                    return Ok(poison_at(insns, index));
                }
            }
            insns[index].off = new as i16;
            if let Some(ms) = patch.mem_size {
                let found = size_bytes(insn.opcode);
                if found != ms.local as i32 {
                    return Err(CoreError::MemSizeMismatch {
                        index,
                        found,
                        expected: ms.local,
                    });
                }
                let code = size_code(ms.target).ok_or(CoreError::InvalidMemSize {
                    index,
                    size: ms.target,
                })?;
                insns[index].opcode = (insn.opcode & 0xe0) | code | (insn.opcode & 0x07);
            }
        }
        BPF_LD => {
            let next = insns.get(index + 1).copied();
            let ok = insn.opcode == LD_IMM64
                && insn.src == 0
                && insn.off == 0
                && matches!(next, Some(n) if n.opcode == 0 && n.dst == 0 && n.src == 0 && n.off == 0);
            let Some(next) = next.filter(|_| ok) else {
                return Err(CoreError::BadLdImm64 { index });
            };
            let found = insn.imm as u32 as u64 | (next.imm as u32 as u64) << 32;
            if patch.validate && found != orig {
                return Err(unexpected(found));
            }
            insns[index].imm = new as u32 as i32;
            insns[index + 1].imm = (new >> 32) as u32 as i32;
        }
        _ => {
            return Err(CoreError::UnsupportedInsn {
                index,
                opcode: insn.opcode,
            })
        }
    }
    Ok(PatchAction::Patched)
}

/// [`relocate`] then [`patch_insn`] at `relo.insn_off / 8` of `insns` (the
/// instructions of the ELF section the relocation belongs to).
pub fn apply_relo(
    local: &Btf,
    target: &Btf,
    relo: &CoreRelo,
    insns: &mut [RawInsn],
) -> Result<(CoreOutcome, PatchAction), CoreError> {
    let outcome = relocate(local, target, relo)?;
    let action = patch_insn(insns, relo.insn_index(), &outcome)?;
    Ok((outcome, action))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn essential_names() {
        for (name, essential) in [
            ("task_struct", "task_struct"),
            ("task_struct___v2", "task_struct"),
            ("a___b___c", "a___b"),
            ("__sk_buff___w", "__sk_buff"),
            ("x___", "x___"),
            ("___x", "___x"),
            ("a____b", "a____b"),
            ("a_", "a_"),
            ("", ""),
        ] {
            assert_eq!(essential_name(name), essential, "{name}");
        }
        assert!(essential_eq(b"pkt___a", b"pkt___b"));
        assert!(!essential_eq(b"pkt___a", b"pkt2"));
    }

    #[test]
    fn access_strings() {
        assert_eq!(parse_access_string("0"), Some(vec![0]));
        assert_eq!(parse_access_string("0:12:3"), Some(vec![0, 12, 3]));
        for bad in [
            "",
            ":",
            "0:",
            ":0",
            "0::1",
            "+1",
            "-1",
            " 1",
            "1 ",
            "0:x",
            "99999999999",
        ] {
            assert_eq!(parse_access_string(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn kinds_round_trip() {
        for v in 0..20 {
            let k = CoreReloKind::from_u32(v);
            assert_eq!(k.as_u32(), v);
            assert_eq!(matches!(k, CoreReloKind::Unknown(_)), v > 12);
            let classes = [k.is_field_based(), k.is_type_based(), k.is_enumval_based()];
            assert_eq!(
                classes.iter().filter(|c| **c).count(),
                usize::from(v <= 12),
                "{k}"
            );
        }
        assert_eq!(CoreReloKind::TypeMatches.to_string(), "type_matches (12)");
    }

    fn patch(local: u64, target: u64, validate: bool) -> CoreOutcome {
        CoreOutcome::Patch(CorePatch {
            local_value: local,
            target_value: target,
            validate,
            mem_size: None,
            target_type_id: None,
        })
    }

    #[test]
    fn patches_alu_immediates() {
        // r1 += 8 (ALU64 ADD K), w1 = 8 (ALU MOV K)
        let mut insns = [
            RawInsn::new(0x07, 1, 0, 0, 8),
            RawInsn::new(0xb4, 1, 0, 0, 8),
        ];
        assert_eq!(
            patch_insn(&mut insns, 0, &patch(8, 24, true)),
            Ok(PatchAction::Patched)
        );
        assert_eq!(
            patch_insn(&mut insns, 1, &patch(8, 24, true)),
            Ok(PatchAction::Patched)
        );
        assert_eq!((insns[0].imm, insns[1].imm), (24, 24));
        // Validation compares the sign-extended immediate with the local value.
        let mut insns = [RawInsn::new(0xb7, 1, 0, 0, -1)];
        assert!(patch_insn(&mut insns, 0, &patch(u64::MAX, 3, true)).is_ok());
        assert_eq!(insns[0].imm, 3);
        assert_eq!(
            patch_insn(&mut insns, 0, &patch(4, 5, true)),
            Err(CoreError::UnexpectedValue {
                index: 0,
                found: 3,
                expected: 4,
                target: 5
            })
        );
        // Not validated: anything goes.
        assert!(patch_insn(&mut insns, 0, &patch(4, 5, false)).is_ok());
        // A register source cannot carry a relocation.
        let mut insns = [RawInsn::new(0x0f, 1, 2, 0, 0)];
        assert_eq!(
            patch_insn(&mut insns, 0, &patch(0, 1, false)),
            Err(CoreError::UnsupportedInsn {
                index: 0,
                opcode: 0x0f
            })
        );
    }

    #[test]
    fn patches_memory_offsets_and_sizes() {
        // r2 = *(u32 *)(r1 + 8); *(u64 *)(r10 - 8) = r2; *(u16 *)(r1 + 4) = 7
        let mut insns = [
            RawInsn::new(0x61, 2, 1, 8, 0),
            RawInsn::new(0x7b, 10, 2, 8, 0),
            RawInsn::new(0x6a, 1, 0, 4, 7),
        ];
        assert!(patch_insn(&mut insns, 0, &patch(8, 16, true)).is_ok());
        assert!(patch_insn(&mut insns, 1, &patch(8, 32, true)).is_ok());
        assert!(patch_insn(&mut insns, 2, &patch(4, 6, true)).is_ok());
        assert_eq!((insns[0].off, insns[1].off, insns[2].off), (16, 32, 6));
        assert_eq!(insns[2].imm, 7, "ST keeps its immediate");
        assert_eq!(
            patch_insn(&mut insns, 0, &patch(16, 40_000, true)),
            Err(CoreError::OffsetTooLarge {
                index: 0,
                value: 40_000
            })
        );

        let resize = |local: u32, target: u32, allowed: bool| {
            CoreOutcome::Patch(CorePatch {
                local_value: 16,
                target_value: 4,
                validate: true,
                mem_size: Some(MemSizeChange {
                    local,
                    target,
                    allowed,
                }),
                target_type_id: None,
            })
        };
        // u32 load narrowed to u16; u32 widened to u64.
        let mut i = [RawInsn::new(0x61, 2, 1, 16, 0)];
        assert!(patch_insn(&mut i, 0, &resize(4, 2, true)).is_ok());
        assert_eq!((i[0].opcode, i[0].off), (0x69, 4));
        let mut i = [RawInsn::new(0x61, 2, 1, 16, 0)];
        assert!(patch_insn(&mut i, 0, &resize(4, 8, true)).is_ok());
        assert_eq!(i[0].opcode, 0x79);
        // The instruction must access the local size, and the target size must be loadable.
        let mut i = [RawInsn::new(0x71, 2, 1, 16, 0)];
        assert_eq!(
            patch_insn(&mut i, 0, &resize(4, 2, true)),
            Err(CoreError::MemSizeMismatch {
                index: 0,
                found: 1,
                expected: 4
            })
        );
        let mut i = [RawInsn::new(0x61, 2, 1, 16, 0)];
        assert_eq!(
            patch_insn(&mut i, 0, &resize(4, 3, true)),
            Err(CoreError::InvalidMemSize { index: 0, size: 3 })
        );
        // Unsound resizing poisons.
        let mut i = [RawInsn::new(0x61, 2, 1, 16, 0)];
        assert_eq!(
            patch_insn(&mut i, 0, &resize(4, 2, false)),
            Ok(PatchAction::Poisoned)
        );
        assert_eq!(i[0], RawInsn::new(0x85, 0, 0, 0, POISON_HELPER_ID));
    }

    #[test]
    fn patches_ld_imm64() {
        let ld = |lo: i32, hi: i32| {
            [
                RawInsn::new(0x18, 1, 0, 0, lo),
                RawInsn::new(0, 0, 0, 0, hi),
                RawInsn::new(0x95, 0, 0, 0, 0),
            ]
        };
        let mut insns = ld(5, 0);
        assert!(patch_insn(&mut insns, 0, &patch(5, 0x1_2345_6789, true)).is_ok());
        assert_eq!((insns[0].imm, insns[1].imm), (0x2345_6789, 1));
        // Validation reads all 64 bits.
        let mut insns = ld(5, 1);
        assert!(matches!(
            patch_insn(&mut insns, 0, &patch(5, 0, true)),
            Err(CoreError::UnexpectedValue {
                found: 0x1_0000_0005,
                ..
            })
        ));
        // Malformed: a source register (a map reference), a bad second slot, no second slot.
        let mut insns = ld(5, 0);
        insns[0].src = 1;
        assert_eq!(
            patch_insn(&mut insns, 0, &patch(5, 6, true)),
            Err(CoreError::BadLdImm64 { index: 0 })
        );
        let mut insns = ld(5, 0);
        insns[1].opcode = 0x18;
        assert_eq!(
            patch_insn(&mut insns, 0, &patch(5, 6, true)),
            Err(CoreError::BadLdImm64 { index: 0 })
        );
        let mut insns = [RawInsn::new(0x18, 1, 0, 0, 5)];
        assert_eq!(
            patch_insn(&mut insns, 0, &patch(5, 6, true)),
            Err(CoreError::BadLdImm64 { index: 0 })
        );
        // Poisoning an LD_IMM64 poisons both slots; the next instruction is untouched.
        let mut insns = ld(5, 0);
        assert_eq!(
            patch_insn(&mut insns, 0, &CoreOutcome::Poison),
            Ok(PatchAction::Poisoned)
        );
        let poisoned = RawInsn::new(0x85, 0, 0, 0, POISON_HELPER_ID);
        assert_eq!(insns, [poisoned, poisoned, RawInsn::new(0x95, 0, 0, 0, 0)]);
    }

    #[test]
    fn refuses_other_instructions() {
        // exit, a jump, a call
        for op in [0x95u8, 0x05, 0x85, 0x15] {
            let mut insns = [RawInsn::new(op, 0, 0, 0, 0)];
            assert_eq!(
                patch_insn(&mut insns, 0, &patch(0, 1, false)),
                Err(CoreError::UnsupportedInsn {
                    index: 0,
                    opcode: op
                })
            );
        }
        let mut empty: [RawInsn; 0] = [];
        assert_eq!(
            patch_insn(&mut empty, 0, &CoreOutcome::Poison),
            Err(CoreError::InsnOutOfRange { index: 0, len: 0 })
        );
    }
}
