//! The typed form of BTF type records (`struct btf_type` and what follows it).

use std::fmt;

/// The kind of a BTF type, with the numbering of Linux's `include/uapi/linux/btf.h`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[repr(u8)]
pub enum BtfKind {
    /// Type id 0: `void`. Never appears in the type section.
    Void = 0,
    /// `BTF_KIND_INT`: an integer (or `char`, `bool`).
    Int = 1,
    /// `BTF_KIND_PTR`: a pointer.
    Ptr = 2,
    /// `BTF_KIND_ARRAY`: a fixed-size array.
    Array = 3,
    /// `BTF_KIND_STRUCT`.
    Struct = 4,
    /// `BTF_KIND_UNION`.
    Union = 5,
    /// `BTF_KIND_ENUM`: an enumeration of at most 32-bit values.
    Enum = 6,
    /// `BTF_KIND_FWD`: a forward declaration of a struct or union.
    Fwd = 7,
    /// `BTF_KIND_TYPEDEF`.
    Typedef = 8,
    /// `BTF_KIND_VOLATILE`.
    Volatile = 9,
    /// `BTF_KIND_CONST`.
    Const = 10,
    /// `BTF_KIND_RESTRICT`.
    Restrict = 11,
    /// `BTF_KIND_FUNC`: a function (name, linkage, prototype).
    Func = 12,
    /// `BTF_KIND_FUNC_PROTO`: a function prototype.
    FuncProto = 13,
    /// `BTF_KIND_VAR`: a global variable.
    Var = 14,
    /// `BTF_KIND_DATASEC`: an ELF data section and the variables in it.
    Datasec = 15,
    /// `BTF_KIND_FLOAT`.
    Float = 16,
    /// `BTF_KIND_DECL_TAG`: `__attribute__((btf_decl_tag("...")))`.
    DeclTag = 17,
    /// `BTF_KIND_TYPE_TAG`: `__attribute__((btf_type_tag("...")))`.
    TypeTag = 18,
    /// `BTF_KIND_ENUM64`: an enumeration with 64-bit values.
    Enum64 = 19,
}

impl BtfKind {
    /// The largest kind value this crate knows.
    pub const MAX: u8 = 19;

    /// The kind with this numeric value, if there is one.
    pub fn from_u8(value: u8) -> Option<BtfKind> {
        use BtfKind::*;
        Some(match value {
            0 => Void,
            1 => Int,
            2 => Ptr,
            3 => Array,
            4 => Struct,
            5 => Union,
            6 => Enum,
            7 => Fwd,
            8 => Typedef,
            9 => Volatile,
            10 => Const,
            11 => Restrict,
            12 => Func,
            13 => FuncProto,
            14 => Var,
            15 => Datasec,
            16 => Float,
            17 => DeclTag,
            18 => TypeTag,
            19 => Enum64,
            _ => return None,
        })
    }

    /// The numeric value of the kind.
    pub fn as_u8(self) -> u8 {
        self as u8
    }

    /// The kind's name as bpftool prints it (`"STRUCT"`, `"FUNC_PROTO"`, ...).
    pub fn name(self) -> &'static str {
        use BtfKind::*;
        match self {
            Void => "VOID",
            Int => "INT",
            Ptr => "PTR",
            Array => "ARRAY",
            Struct => "STRUCT",
            Union => "UNION",
            Enum => "ENUM",
            Fwd => "FWD",
            Typedef => "TYPEDEF",
            Volatile => "VOLATILE",
            Const => "CONST",
            Restrict => "RESTRICT",
            Func => "FUNC",
            FuncProto => "FUNC_PROTO",
            Var => "VAR",
            Datasec => "DATASEC",
            Float => "FLOAT",
            DeclTag => "DECL_TAG",
            TypeTag => "TYPE_TAG",
            Enum64 => "ENUM64",
        }
    }

    /// Whether the kind is one of the modifiers and typedef that
    /// [`Btf::resolve_type`](crate::Btf::resolve_type) skips: typedef, const,
    /// volatile, restrict and type tag.
    pub fn is_modifier_or_typedef(self) -> bool {
        matches!(
            self,
            BtfKind::Typedef
                | BtfKind::Const
                | BtfKind::Volatile
                | BtfKind::Restrict
                | BtfKind::TypeTag
        )
    }
}

impl fmt::Display for BtfKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// `BTF_INT_SIGNED`: the integer is signed.
pub const BTF_INT_SIGNED: u8 = 1 << 0;
/// `BTF_INT_CHAR`: the integer is a character type.
pub const BTF_INT_CHAR: u8 = 1 << 1;
/// `BTF_INT_BOOL`: the integer is a boolean.
pub const BTF_INT_BOOL: u8 = 1 << 2;

/// `BTF_KIND_INT`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Int {
    /// Offset of the name in the string section.
    pub name_off: u32,
    /// Size in bytes.
    pub size: u32,
    /// `BTF_INT_SIGNED` / `BTF_INT_CHAR` / `BTF_INT_BOOL` bits.
    pub encoding: u8,
    /// Bit offset of the value inside its storage (always 0 from modern compilers).
    pub offset: u8,
    /// Number of value bits.
    pub bits: u8,
}

impl Int {
    /// Whether [`BTF_INT_SIGNED`] is set.
    pub fn is_signed(&self) -> bool {
        self.encoding & BTF_INT_SIGNED != 0
    }
    /// Whether [`BTF_INT_CHAR`] is set.
    pub fn is_char(&self) -> bool {
        self.encoding & BTF_INT_CHAR != 0
    }
    /// Whether [`BTF_INT_BOOL`] is set.
    pub fn is_bool(&self) -> bool {
        self.encoding & BTF_INT_BOOL != 0
    }
}

/// A type that only names another type: PTR, TYPEDEF, VOLATILE, CONST,
/// RESTRICT and TYPE_TAG.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Ref {
    /// Offset of the name (0 except for TYPEDEF and TYPE_TAG).
    pub name_off: u32,
    /// The type referred to (0 = void).
    pub type_id: u32,
    /// The kind flag (meaningful for TYPE_TAG: 1 means the tag is an attribute).
    pub kind_flag: bool,
}

/// `BTF_KIND_ARRAY`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Array {
    /// Offset of the name (always 0 in valid BTF; kept for faithful re-encoding).
    pub name_off: u32,
    /// The element type.
    pub elem_type: u32,
    /// The index type (an INT).
    pub index_type: u32,
    /// The number of elements.
    pub nelems: u32,
}

/// A member of a STRUCT or UNION.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Member {
    /// Offset of the name (0 for an anonymous embedded struct or union).
    pub name_off: u32,
    /// The member's type.
    pub type_id: u32,
    /// Offset of the member from the start of the enclosing type, in bits.
    pub bit_offset: u32,
    /// Size in bits when the member is a bitfield declared with the kind flag
    /// encoding; 0 otherwise.
    pub bitfield_size: u32,
}

/// `BTF_KIND_STRUCT` and `BTF_KIND_UNION`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Composite {
    /// Offset of the name (0 when anonymous).
    pub name_off: u32,
    /// Size in bytes.
    pub size: u32,
    /// The kind flag: when set, each member's offset word holds the
    /// bitfield size in its top 8 bits and the bit offset in the low 24.
    pub kind_flag: bool,
    /// The members, in declaration order.
    pub members: Vec<Member>,
}

/// One enumerator of an ENUM or ENUM64.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct EnumValue {
    /// Offset of the enumerator's name.
    pub name_off: u32,
    /// The value as 64 bits. For a 32-bit ENUM it is sign-extended when the
    /// enum is signed (kind flag set) and zero-extended otherwise; an ENUM64
    /// value is the 64 bits as stored.
    pub value: u64,
}

/// `BTF_KIND_ENUM` and `BTF_KIND_ENUM64`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Enum {
    /// Offset of the name (0 when anonymous).
    pub name_off: u32,
    /// Size of the enum type in bytes.
    pub size: u32,
    /// The kind flag: the enum is signed.
    pub signed: bool,
    /// The enumerators.
    pub values: Vec<EnumValue>,
}

/// `BTF_KIND_FWD`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Fwd {
    /// Offset of the name.
    pub name_off: u32,
    /// The kind flag: a forward declaration of a union rather than a struct.
    pub is_union: bool,
}

/// `BTF_KIND_FUNC`'s linkage (held in the vlen field).
pub mod linkage {
    /// `BTF_FUNC_STATIC` / `BTF_VAR_STATIC`.
    pub const STATIC: u32 = 0;
    /// `BTF_FUNC_GLOBAL` / `BTF_VAR_GLOBAL_ALLOCATED`.
    pub const GLOBAL: u32 = 1;
    /// `BTF_FUNC_EXTERN` / `BTF_VAR_GLOBAL_EXTERN`.
    pub const EXTERN: u32 = 2;
}

/// `BTF_KIND_FUNC`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Func {
    /// Offset of the function's name.
    pub name_off: u32,
    /// The FUNC_PROTO giving the signature.
    pub proto_type: u32,
    /// Linkage ([`linkage::STATIC`], [`linkage::GLOBAL`] or [`linkage::EXTERN`]).
    pub linkage: u16,
}

/// A parameter of a FUNC_PROTO.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Param {
    /// Offset of the parameter's name (0 when unnamed).
    pub name_off: u32,
    /// The parameter's type; 0 (with `name_off` 0) in last place marks a
    /// variadic function.
    pub type_id: u32,
}

/// `BTF_KIND_FUNC_PROTO`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct FuncProto {
    /// Offset of the name (always 0 in valid BTF).
    pub name_off: u32,
    /// The return type (0 = void).
    pub return_type: u32,
    /// The parameters.
    pub params: Vec<Param>,
}

/// `BTF_KIND_VAR`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Var {
    /// Offset of the variable's name.
    pub name_off: u32,
    /// The variable's type.
    pub type_id: u32,
    /// Linkage ([`linkage::STATIC`], [`linkage::GLOBAL`] or [`linkage::EXTERN`]).
    pub linkage: u32,
}

/// A variable placed in a DATASEC (`struct btf_var_secinfo`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct VarSecInfo {
    /// The VAR (or FUNC, for `.ksyms`) type.
    pub type_id: u32,
    /// Offset of the variable inside the section.
    pub offset: u32,
    /// Size of the variable in bytes.
    pub size: u32,
}

/// `BTF_KIND_DATASEC`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Datasec {
    /// Offset of the section's name (`.data`, `.bss`, `.maps`, ...).
    pub name_off: u32,
    /// Size of the section in bytes.
    pub size: u32,
    /// The variables in the section.
    pub vars: Vec<VarSecInfo>,
}

/// `BTF_KIND_FLOAT`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Float {
    /// Offset of the name.
    pub name_off: u32,
    /// Size in bytes.
    pub size: u32,
}

/// `BTF_KIND_DECL_TAG`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct DeclTag {
    /// Offset of the tag's text.
    pub name_off: u32,
    /// The tagged type (a STRUCT, UNION, VAR, FUNC or TYPEDEF).
    pub type_id: u32,
    /// -1 for the type itself, otherwise the index of the tagged member or
    /// parameter.
    pub component_idx: i32,
    /// The kind flag (1: the tag is an attribute).
    pub kind_flag: bool,
}

/// One BTF type, with the data of its kind. Type id 0 is [`BtfType::Void`].
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum BtfType {
    /// Type id 0.
    Void,
    /// `BTF_KIND_INT`.
    Int(Int),
    /// `BTF_KIND_PTR`.
    Ptr(Ref),
    /// `BTF_KIND_ARRAY`.
    Array(Array),
    /// `BTF_KIND_STRUCT`.
    Struct(Composite),
    /// `BTF_KIND_UNION`.
    Union(Composite),
    /// `BTF_KIND_ENUM`.
    Enum(Enum),
    /// `BTF_KIND_FWD`.
    Fwd(Fwd),
    /// `BTF_KIND_TYPEDEF`.
    Typedef(Ref),
    /// `BTF_KIND_VOLATILE`.
    Volatile(Ref),
    /// `BTF_KIND_CONST`.
    Const(Ref),
    /// `BTF_KIND_RESTRICT`.
    Restrict(Ref),
    /// `BTF_KIND_FUNC`.
    Func(Func),
    /// `BTF_KIND_FUNC_PROTO`.
    FuncProto(FuncProto),
    /// `BTF_KIND_VAR`.
    Var(Var),
    /// `BTF_KIND_DATASEC`.
    Datasec(Datasec),
    /// `BTF_KIND_FLOAT`.
    Float(Float),
    /// `BTF_KIND_DECL_TAG`.
    DeclTag(DeclTag),
    /// `BTF_KIND_TYPE_TAG`.
    TypeTag(Ref),
    /// `BTF_KIND_ENUM64`.
    Enum64(Enum),
}

impl BtfType {
    /// The type's kind.
    pub fn kind(&self) -> BtfKind {
        match self {
            BtfType::Void => BtfKind::Void,
            BtfType::Int(_) => BtfKind::Int,
            BtfType::Ptr(_) => BtfKind::Ptr,
            BtfType::Array(_) => BtfKind::Array,
            BtfType::Struct(_) => BtfKind::Struct,
            BtfType::Union(_) => BtfKind::Union,
            BtfType::Enum(_) => BtfKind::Enum,
            BtfType::Fwd(_) => BtfKind::Fwd,
            BtfType::Typedef(_) => BtfKind::Typedef,
            BtfType::Volatile(_) => BtfKind::Volatile,
            BtfType::Const(_) => BtfKind::Const,
            BtfType::Restrict(_) => BtfKind::Restrict,
            BtfType::Func(_) => BtfKind::Func,
            BtfType::FuncProto(_) => BtfKind::FuncProto,
            BtfType::Var(_) => BtfKind::Var,
            BtfType::Datasec(_) => BtfKind::Datasec,
            BtfType::Float(_) => BtfKind::Float,
            BtfType::DeclTag(_) => BtfKind::DeclTag,
            BtfType::TypeTag(_) => BtfKind::TypeTag,
            BtfType::Enum64(_) => BtfKind::Enum64,
        }
    }

    /// Offset of the type's name in the string section (0 when anonymous).
    pub fn name_off(&self) -> u32 {
        match self {
            BtfType::Void => 0,
            BtfType::Int(t) => t.name_off,
            BtfType::Ptr(t)
            | BtfType::Typedef(t)
            | BtfType::Volatile(t)
            | BtfType::Const(t)
            | BtfType::Restrict(t)
            | BtfType::TypeTag(t) => t.name_off,
            BtfType::Array(t) => t.name_off,
            BtfType::Struct(t) | BtfType::Union(t) => t.name_off,
            BtfType::Enum(t) | BtfType::Enum64(t) => t.name_off,
            BtfType::Fwd(t) => t.name_off,
            BtfType::Func(t) => t.name_off,
            BtfType::FuncProto(t) => t.name_off,
            BtfType::Var(t) => t.name_off,
            BtfType::Datasec(t) => t.name_off,
            BtfType::Float(t) => t.name_off,
            BtfType::DeclTag(t) => t.name_off,
        }
    }

    /// The members of a STRUCT or UNION; `None` for other kinds.
    pub fn members(&self) -> Option<&[Member]> {
        match self {
            BtfType::Struct(c) | BtfType::Union(c) => Some(&c.members),
            _ => None,
        }
    }

    /// The enumerators of an ENUM or ENUM64; `None` for other kinds.
    pub fn enum_values(&self) -> Option<&[EnumValue]> {
        match self {
            BtfType::Enum(e) | BtfType::Enum64(e) => Some(&e.values),
            _ => None,
        }
    }

    /// The type referred to by a PTR, TYPEDEF, VOLATILE, CONST, RESTRICT,
    /// TYPE_TAG, FUNC (its prototype), VAR or DECL_TAG; `None` for other kinds.
    pub fn referenced_type(&self) -> Option<u32> {
        match self {
            BtfType::Ptr(t)
            | BtfType::Typedef(t)
            | BtfType::Volatile(t)
            | BtfType::Const(t)
            | BtfType::Restrict(t)
            | BtfType::TypeTag(t) => Some(t.type_id),
            BtfType::Func(f) => Some(f.proto_type),
            BtfType::Var(v) => Some(v.type_id),
            BtfType::DeclTag(d) => Some(d.type_id),
            _ => None,
        }
    }

    /// The size field of kinds that carry one (INT, STRUCT, UNION, ENUM,
    /// ENUM64, DATASEC, FLOAT); `None` for other kinds.
    pub fn own_size(&self) -> Option<u32> {
        match self {
            BtfType::Int(t) => Some(t.size),
            BtfType::Struct(t) | BtfType::Union(t) => Some(t.size),
            BtfType::Enum(t) | BtfType::Enum64(t) => Some(t.size),
            BtfType::Datasec(t) => Some(t.size),
            BtfType::Float(t) => Some(t.size),
            _ => None,
        }
    }

    /// Whether the type is a STRUCT or UNION.
    pub fn is_composite(&self) -> bool {
        matches!(self, BtfType::Struct(_) | BtfType::Union(_))
    }

    /// Whether the type is an ENUM or ENUM64.
    pub fn is_any_enum(&self) -> bool {
        matches!(self, BtfType::Enum(_) | BtfType::Enum64(_))
    }

    /// The kind flag as it is encoded in the `info` word.
    pub fn kind_flag(&self) -> bool {
        match self {
            BtfType::Struct(c) | BtfType::Union(c) => c.kind_flag,
            BtfType::Enum(e) | BtfType::Enum64(e) => e.signed,
            BtfType::Fwd(f) => f.is_union,
            BtfType::Ptr(r)
            | BtfType::Typedef(r)
            | BtfType::Volatile(r)
            | BtfType::Const(r)
            | BtfType::Restrict(r)
            | BtfType::TypeTag(r) => r.kind_flag,
            BtfType::DeclTag(d) => d.kind_flag,
            _ => false,
        }
    }

    /// Every type id this type refers to, in encoding order.
    pub(crate) fn for_each_type_ref(&self, mut f: impl FnMut(&'static str, u32)) {
        match self {
            BtfType::Void | BtfType::Int(_) | BtfType::Fwd(_) | BtfType::Float(_) => {}
            BtfType::Enum(_) | BtfType::Enum64(_) => {}
            BtfType::Ptr(r)
            | BtfType::Typedef(r)
            | BtfType::Volatile(r)
            | BtfType::Const(r)
            | BtfType::Restrict(r)
            | BtfType::TypeTag(r) => f("referenced type", r.type_id),
            BtfType::Array(a) => {
                f("array element type", a.elem_type);
                f("array index type", a.index_type);
            }
            BtfType::Struct(c) | BtfType::Union(c) => {
                for m in &c.members {
                    f("member type", m.type_id);
                }
            }
            BtfType::Func(x) => f("function prototype", x.proto_type),
            BtfType::FuncProto(p) => {
                f("return type", p.return_type);
                for a in &p.params {
                    f("parameter type", a.type_id);
                }
            }
            BtfType::Var(v) => f("variable type", v.type_id),
            BtfType::Datasec(d) => {
                for v in &d.vars {
                    f("datasec variable", v.type_id);
                }
            }
            BtfType::DeclTag(d) => f("tagged type", d.type_id),
        }
    }

    /// Every string offset this type holds.
    pub(crate) fn for_each_name_off(&self, mut f: impl FnMut(&'static str, u32)) {
        f("type name", self.name_off());
        match self {
            BtfType::Struct(c) | BtfType::Union(c) => {
                for m in &c.members {
                    f("member name", m.name_off);
                }
            }
            BtfType::Enum(e) | BtfType::Enum64(e) => {
                for v in &e.values {
                    f("enumerator name", v.name_off);
                }
            }
            BtfType::FuncProto(p) => {
                for a in &p.params {
                    f("parameter name", a.name_off);
                }
            }
            _ => {}
        }
    }
}

/// Size of `struct btf_type`.
pub(crate) const TYPE_HEADER_LEN: usize = 12;

fn rd32(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

/// Decodes the type starting at `bytes[0]`, returning it and its encoded
/// length. `type_id` is only used for error messages.
pub(crate) fn decode_type(
    bytes: &[u8],
    type_id: u32,
    offset: usize,
) -> Result<(BtfType, usize), crate::BtfError> {
    use crate::BtfError;
    let truncated = |needed: usize| BtfError::Truncated {
        what: format!("type id {type_id}"),
        offset,
        needed,
        available: bytes.len(),
    };
    if bytes.len() < TYPE_HEADER_LEN {
        return Err(truncated(TYPE_HEADER_LEN));
    }
    let name_off = rd32(bytes, 0);
    let info = rd32(bytes, 4);
    let size_type = rd32(bytes, 8);
    let vlen = (info & 0xffff) as usize;
    let kind_raw = ((info >> 24) & 0x1f) as u8;
    let kind_flag = info >> 31 != 0;
    let kind = match BtfKind::from_u8(kind_raw) {
        Some(k) if k != BtfKind::Void => k,
        _ => {
            return Err(BtfError::UnknownKind {
                kind: kind_raw,
                type_id,
            })
        }
    };
    let invalid = |reason: String| BtfError::InvalidType { type_id, reason };
    // Bytes that follow the fixed header.
    let extra = match kind {
        BtfKind::Int | BtfKind::Var | BtfKind::DeclTag => 4,
        BtfKind::Array => 12,
        BtfKind::Struct | BtfKind::Union | BtfKind::Enum64 | BtfKind::Datasec => vlen * 12,
        BtfKind::Enum | BtfKind::FuncProto => vlen * 8,
        _ => 0,
    };
    let total = TYPE_HEADER_LEN + extra;
    if bytes.len() < total {
        return Err(truncated(total));
    }
    let body = &bytes[TYPE_HEADER_LEN..total];
    let r = |i: usize| rd32(body, i * 4);
    let rf = |type_id| Ref {
        name_off,
        type_id,
        kind_flag,
    };
    let ty = match kind {
        BtfKind::Void => unreachable!("rejected above"),
        BtfKind::Int => {
            let data = r(0);
            if data & 0xf000_ff00 != 0 {
                return Err(invalid(format!("INT has reserved bits set ({data:#010x})")));
            }
            BtfType::Int(Int {
                name_off,
                size: size_type,
                encoding: ((data >> 24) & 0x0f) as u8,
                offset: ((data >> 16) & 0xff) as u8,
                bits: (data & 0xff) as u8,
            })
        }
        BtfKind::Ptr => BtfType::Ptr(rf(size_type)),
        BtfKind::Typedef => BtfType::Typedef(rf(size_type)),
        BtfKind::Volatile => BtfType::Volatile(rf(size_type)),
        BtfKind::Const => BtfType::Const(rf(size_type)),
        BtfKind::Restrict => BtfType::Restrict(rf(size_type)),
        BtfKind::TypeTag => BtfType::TypeTag(rf(size_type)),
        BtfKind::Array => BtfType::Array(Array {
            name_off,
            elem_type: r(0),
            index_type: r(1),
            nelems: r(2),
        }),
        BtfKind::Struct | BtfKind::Union => {
            let members = (0..vlen)
                .map(|i| {
                    let off = r(i * 3 + 2);
                    let (bit_offset, bitfield_size) = if kind_flag {
                        (off & 0x00ff_ffff, off >> 24)
                    } else {
                        (off, 0)
                    };
                    Member {
                        name_off: r(i * 3),
                        type_id: r(i * 3 + 1),
                        bit_offset,
                        bitfield_size,
                    }
                })
                .collect();
            let c = Composite {
                name_off,
                size: size_type,
                kind_flag,
                members,
            };
            if kind == BtfKind::Struct {
                BtfType::Struct(c)
            } else {
                BtfType::Union(c)
            }
        }
        BtfKind::Enum => BtfType::Enum(Enum {
            name_off,
            size: size_type,
            signed: kind_flag,
            values: (0..vlen)
                .map(|i| {
                    let raw = r(i * 2 + 1);
                    EnumValue {
                        name_off: r(i * 2),
                        value: if kind_flag {
                            raw as i32 as i64 as u64
                        } else {
                            raw as u64
                        },
                    }
                })
                .collect(),
        }),
        BtfKind::Enum64 => BtfType::Enum64(Enum {
            name_off,
            size: size_type,
            signed: kind_flag,
            values: (0..vlen)
                .map(|i| EnumValue {
                    name_off: r(i * 3),
                    value: r(i * 3 + 1) as u64 | (r(i * 3 + 2) as u64) << 32,
                })
                .collect(),
        }),
        BtfKind::Fwd => BtfType::Fwd(Fwd {
            name_off,
            is_union: kind_flag,
        }),
        BtfKind::Func => BtfType::Func(Func {
            name_off,
            proto_type: size_type,
            linkage: vlen as u16,
        }),
        BtfKind::FuncProto => BtfType::FuncProto(FuncProto {
            name_off,
            return_type: size_type,
            params: (0..vlen)
                .map(|i| Param {
                    name_off: r(i * 2),
                    type_id: r(i * 2 + 1),
                })
                .collect(),
        }),
        BtfKind::Var => BtfType::Var(Var {
            name_off,
            type_id: size_type,
            linkage: r(0),
        }),
        BtfKind::Datasec => BtfType::Datasec(Datasec {
            name_off,
            size: size_type,
            vars: (0..vlen)
                .map(|i| VarSecInfo {
                    type_id: r(i * 3),
                    offset: r(i * 3 + 1),
                    size: r(i * 3 + 2),
                })
                .collect(),
        }),
        BtfKind::Float => BtfType::Float(Float {
            name_off,
            size: size_type,
        }),
        BtfKind::DeclTag => BtfType::DeclTag(DeclTag {
            name_off,
            type_id: size_type,
            component_idx: r(0) as i32,
            kind_flag,
        }),
    };
    Ok((ty, total))
}

/// Appends the encoded form of `ty` to `out`. Returns an error message when
/// the type cannot be encoded (too many members for the 16-bit vlen, or a
/// bitfield that does not fit the kind-flag encoding).
pub(crate) fn encode_type(ty: &BtfType, out: &mut Vec<u8>) -> Result<(), String> {
    fn push(out: &mut Vec<u8>, v: u32) {
        out.extend_from_slice(&v.to_le_bytes());
    }
    fn vlen_of(n: usize) -> Result<u32, String> {
        u16::try_from(n)
            .map(u32::from)
            .map_err(|_| format!("{n} entries exceed the 16-bit vlen"))
    }
    let kind = ty.kind();
    if kind == BtfKind::Void {
        return Err("VOID (type id 0) is implicit and cannot be encoded".into());
    }
    let (vlen, size_type) = match ty {
        BtfType::Void => unreachable!("rejected above"),
        BtfType::Int(t) => (0, t.size),
        BtfType::Ptr(r)
        | BtfType::Typedef(r)
        | BtfType::Volatile(r)
        | BtfType::Const(r)
        | BtfType::Restrict(r)
        | BtfType::TypeTag(r) => (0, r.type_id),
        BtfType::Array(_) => (0, 0),
        BtfType::Struct(c) | BtfType::Union(c) => (vlen_of(c.members.len())?, c.size),
        BtfType::Enum(e) | BtfType::Enum64(e) => (vlen_of(e.values.len())?, e.size),
        BtfType::Fwd(_) => (0, 0),
        BtfType::Func(f) => (u32::from(f.linkage), f.proto_type),
        BtfType::FuncProto(p) => (vlen_of(p.params.len())?, p.return_type),
        BtfType::Var(v) => (0, v.type_id),
        BtfType::Datasec(d) => (vlen_of(d.vars.len())?, d.size),
        BtfType::Float(f) => (0, f.size),
        BtfType::DeclTag(d) => (0, d.type_id),
    };
    let info = vlen | u32::from(kind.as_u8()) << 24 | u32::from(ty.kind_flag()) << 31;
    push(out, ty.name_off());
    push(out, info);
    push(out, size_type);
    match ty {
        BtfType::Int(t) => push(
            out,
            u32::from(t.encoding & 0x0f) << 24 | u32::from(t.offset) << 16 | u32::from(t.bits),
        ),
        BtfType::Array(a) => {
            push(out, a.elem_type);
            push(out, a.index_type);
            push(out, a.nelems);
        }
        BtfType::Struct(c) | BtfType::Union(c) => {
            for m in &c.members {
                push(out, m.name_off);
                push(out, m.type_id);
                let off = if c.kind_flag {
                    if m.bit_offset > 0x00ff_ffff || m.bitfield_size > 0xff {
                        return Err(format!(
                            "member at bit offset {} with bitfield size {} does not fit the kind-flag encoding",
                            m.bit_offset, m.bitfield_size
                        ));
                    }
                    m.bitfield_size << 24 | m.bit_offset
                } else {
                    if m.bitfield_size != 0 {
                        return Err("bitfield member in a composite without the kind flag".into());
                    }
                    m.bit_offset
                };
                push(out, off);
            }
        }
        BtfType::Enum(e) => {
            for v in &e.values {
                push(out, v.name_off);
                push(out, v.value as u32);
            }
        }
        BtfType::Enum64(e) => {
            for v in &e.values {
                push(out, v.name_off);
                push(out, v.value as u32);
                push(out, (v.value >> 32) as u32);
            }
        }
        BtfType::FuncProto(p) => {
            for a in &p.params {
                push(out, a.name_off);
                push(out, a.type_id);
            }
        }
        BtfType::Var(v) => push(out, v.linkage),
        BtfType::Datasec(d) => {
            for v in &d.vars {
                push(out, v.type_id);
                push(out, v.offset);
                push(out, v.size);
            }
        }
        BtfType::DeclTag(d) => push(out, d.component_idx as u32),
        _ => {}
    }
    Ok(())
}
