//! BTF, BTF.ext and CO-RE for Waggle, written from the kernel's format
//! documentation (`Documentation/bpf/btf.rst`, `include/uapi/linux/btf.h`)
//! and libbpf's relocation semantics (`tools/lib/bpf/relo_core.c`).
//!
//! - [`Btf`]: parse a `.BTF` section ([`Btf::parse`]), query it
//!   ([`Btf::type_by_id`], [`Btf::name_of`], [`Btf::resolve_type`],
//!   [`Btf::size_of`], [`Btf::find_type`], ...) and re-encode it
//!   ([`Btf::to_bytes`]) for upload to the kernel.
//! - [`BtfType`] / [`BtfKind`]: every BTF kind, INT through ENUM64, with
//!   struct and union members' bit offsets and bitfield sizes decoded.
//! - [`BtfExt`]: a `.BTF.ext` section's function info, line info and CO-RE
//!   relocation records, per ELF section.
//! - [`core`]: CO-RE relocation ([`core::relocate`]) and instruction
//!   patching ([`core::patch_insn`]) for all thirteen relocation kinds.
//! - [`waggle_types`]: the target BTF describing the context types Waggle's
//!   userspace runtime provides (`struct xdp_md`, `struct __sk_buff`, ...).
//!
//! Parsing is total: any byte string gives a value or an error naming what
//! is wrong, never a panic, and every walk along type references is bounded
//! ([`MAX_RESOLVE_DEPTH`]).
//!
//! ```
//! use waggle_btf::{Btf, BtfKind, BtfType};
//! let btf = waggle_btf::waggle_types();
//! let skb = btf.find_type(BtfKind::Struct, "__sk_buff").unwrap();
//! let mark = btf.member_by_name(skb, "mark").unwrap().unwrap();
//! assert_eq!(mark.bit_offset, 64);
//! assert_eq!(btf.name_of(btf.resolve_type(mark.type_id).unwrap()).unwrap(), "unsigned int");
//! ```

#![warn(missing_docs)]

mod btf;
pub mod core;
mod error;
mod ext;
mod types;
mod waggle;

pub use btf::{Btf, BTF_HEADER_LEN, BTF_MAGIC, BTF_VERSION, MAX_RESOLVE_DEPTH, PTR_SIZE};
pub use error::BtfError;
pub use ext::{
    BtfExt, ExtSection, FuncInfo, LineInfo, BTF_EXT_CORE_HEADER_LEN, BTF_EXT_MIN_HEADER_LEN,
};
pub use types::{
    linkage, Array, BtfKind, BtfType, Composite, Datasec, DeclTag, Enum, EnumValue, Float, Func,
    FuncProto, Fwd, Int, Member, Param, Ref, Var, VarSecInfo, BTF_INT_BOOL, BTF_INT_CHAR,
    BTF_INT_SIGNED,
};
pub use waggle::{waggle_types, WAGGLE_TYPES_BTF};
