//! Program contexts: the structures programs receive in `r1`, and the rewrite
//! of their field accesses to Waggle's own layout.
//!
//! As in Linux, the structure a program sees (`struct xdp_md`,
//! `struct __sk_buff`) is not the one the runtime keeps: the pointer fields
//! (`data`, `data_end`, `data_meta`) are 32 bits wide in the UAPI and must
//! become real 64-bit pointers. Waggle's layout is the UAPI structure
//! followed by those pointers, so every other field stays where the program
//! reads it, and only accesses to pointer fields are rewritten: a 4-byte load
//! at the UAPI offset becomes an 8-byte load of the pointer. Which
//! instructions access the context comes from the context-pointer analysis
//! of `waggle-analysis`, which follows the pointer through copies, spills
//! and subprogram calls.

use thiserror::Error;
use waggle_analysis::cfg::Cfg;
use waggle_analysis::ctx::{accesses, CtxAccessKind, CtxError};
use waggle_isa::{Insn, MemSize, RawInsn};
use waggle_object::ProgramType;

/// The context structure a program type receives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CtxKind {
    /// `struct xdp_md`.
    Xdp,
    /// `struct __sk_buff` for TC classifiers and actions (direct packet
    /// access, writable `mark`, `priority`, `tc_index`, `cb`, ...).
    SkbTc,
    /// `struct __sk_buff` for socket filters and cgroup skb programs (no
    /// direct packet access; `cb` writable).
    SkbSocket,
    /// Raw memory given by the caller (tracing programs and others): not
    /// rewritten, bounds given by its length.
    Raw,
}

impl CtxKind {
    pub fn of(prog_type: ProgramType) -> CtxKind {
        match prog_type {
            ProgramType::Xdp => CtxKind::Xdp,
            ProgramType::SchedCls | ProgramType::SchedAct => CtxKind::SkbTc,
            ProgramType::SocketFilter | ProgramType::CgroupSkb => CtxKind::SkbSocket,
            _ => CtxKind::Raw,
        }
    }

    /// Size of the UAPI structure.
    pub fn uapi_size(self) -> usize {
        match self {
            CtxKind::Xdp => XDP_MD_SIZE,
            CtxKind::SkbTc | CtxKind::SkbSocket => SK_BUFF_SIZE,
            CtxKind::Raw => 0,
        }
    }
}

/// `struct xdp_md`: six u32 fields.
pub const XDP_MD_SIZE: usize = 24;
/// `struct __sk_buff`, up to `hwtstamp`.
pub const SK_BUFF_SIZE: usize = 192;

/// Offsets of the pointer fields in Waggle's layout: after the UAPI struct.
pub mod layout {
    use super::{SK_BUFF_SIZE, XDP_MD_SIZE};
    pub const XDP_DATA: usize = XDP_MD_SIZE;
    pub const XDP_DATA_END: usize = XDP_MD_SIZE + 8;
    pub const XDP_DATA_META: usize = XDP_MD_SIZE + 16;
    pub const XDP_SIZE: usize = XDP_MD_SIZE + 24;
    pub const SKB_DATA: usize = SK_BUFF_SIZE;
    pub const SKB_DATA_END: usize = SK_BUFF_SIZE + 8;
    pub const SKB_DATA_META: usize = SK_BUFF_SIZE + 16;
    pub const SKB_SIZE: usize = SK_BUFF_SIZE + 24;

    // UAPI offsets of `struct xdp_md` fields.
    pub const XDP_MD_DATA: usize = 0;
    pub const XDP_MD_DATA_END: usize = 4;
    pub const XDP_MD_DATA_META: usize = 8;
    pub const XDP_MD_INGRESS_IFINDEX: usize = 12;
    pub const XDP_MD_RX_QUEUE_INDEX: usize = 16;
    pub const XDP_MD_EGRESS_IFINDEX: usize = 20;

    // UAPI offsets of `struct __sk_buff` fields Waggle fills in.
    pub const SKB_LEN: usize = 0;
    pub const SKB_PKT_TYPE: usize = 4;
    pub const SKB_MARK: usize = 8;
    pub const SKB_QUEUE_MAPPING: usize = 12;
    pub const SKB_PROTOCOL: usize = 16;
    pub const SKB_PRIORITY: usize = 32;
    pub const SKB_INGRESS_IFINDEX: usize = 36;
    pub const SKB_IFINDEX: usize = 40;
    pub const SKB_TC_INDEX: usize = 44;
    pub const SKB_CB: usize = 48;
    pub const SKB_HASH: usize = 68;
    pub const SKB_TC_CLASSID: usize = 72;
    pub const SKB_UAPI_DATA: usize = 76;
    pub const SKB_UAPI_DATA_END: usize = 80;
    pub const SKB_UAPI_DATA_META: usize = 140;
    pub const SKB_WIRE_LEN: usize = 160;
}

/// How a field may be accessed.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Field {
    /// A packet pointer: 4-byte loads only, rewritten to 8-byte loads at
    /// `to` in Waggle's layout.
    Pointer { to: usize },
    /// A value field of `size` bytes: loads of any part; stores of the whole
    /// field when `writable`.
    Value { size: usize, writable: bool },
}

/// The field of `kind`'s context at UAPI offset `off`: (start, field).
fn field(kind: CtxKind, off: usize) -> Option<(usize, Field)> {
    use layout::*;
    let value = |size, writable| Field::Value { size, writable };
    match kind {
        CtxKind::Xdp => match off {
            XDP_MD_DATA..=3 => Some((XDP_MD_DATA, Field::Pointer { to: XDP_DATA })),
            XDP_MD_DATA_END..=7 => Some((XDP_MD_DATA_END, Field::Pointer { to: XDP_DATA_END })),
            XDP_MD_DATA_META..=11 => Some((XDP_MD_DATA_META, Field::Pointer { to: XDP_DATA_META })),
            12..=23 => Some((off & !3, value(4, false))),
            _ => None,
        },
        CtxKind::SkbTc | CtxKind::SkbSocket => {
            let tc = kind == CtxKind::SkbTc;
            match off {
                SKB_UAPI_DATA..=79 if tc => Some((SKB_UAPI_DATA, Field::Pointer { to: SKB_DATA })),
                SKB_UAPI_DATA_END..=83 if tc => {
                    Some((SKB_UAPI_DATA_END, Field::Pointer { to: SKB_DATA_END }))
                }
                SKB_UAPI_DATA_META..=143 if tc => {
                    Some((SKB_UAPI_DATA_META, Field::Pointer { to: SKB_DATA_META }))
                }
                // Direct packet access is for TC only, as in Linux.
                76..=83 | 140..=143 => None,
                SKB_MARK..=11 | SKB_PRIORITY..=35 | SKB_TC_INDEX..=47 | SKB_TC_CLASSID..=75 => {
                    Some((off & !3, value(4, tc)))
                }
                SKB_QUEUE_MAPPING..=15 => Some((off & !3, value(4, tc))),
                SKB_CB..=67 => Some((off & !3, value(4, true))),
                // flow_keys and sk are kernel pointers Waggle does not provide.
                144..=151 | 168..=175 => None,
                152..=159 => Some((152, value(8, tc))), // tstamp
                184..=191 => Some((184, value(8, false))), // hwtstamp
                0..=191 => Some((off & !3, value(4, false))),
                _ => None,
            }
        }
        CtxKind::Raw => None,
    }
}

/// A context access Linux would refuse.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum CtxAccessError {
    #[error(transparent)]
    Tracking(#[from] CtxError),
    #[error("instruction {pc}: invalid {what} of {size} bytes at offset {off} of the context")]
    Invalid {
        pc: usize,
        what: &'static str,
        off: i64,
        size: usize,
    },
}

/// Rewrites the context accesses of `insns` (decoded as `cfg`) for `kind`,
/// checking each against the fields the program type may touch.
pub fn rewrite(kind: CtxKind, cfg: &Cfg, insns: &mut [RawInsn]) -> Result<(), CtxAccessError> {
    if kind == CtxKind::Raw {
        return Ok(());
    }
    for access in accesses(cfg)? {
        let pc = cfg.pcs[access.insn];
        let size = access.size.bytes();
        let what = match access.kind {
            CtxAccessKind::Load { .. } => "load",
            CtxAccessKind::Store => "store",
            CtxAccessKind::Atomic => "atomic access",
        };
        let invalid = || CtxAccessError::Invalid {
            pc,
            what,
            off: access.offset,
            size,
        };
        let off = usize::try_from(access.offset).map_err(|_| invalid())?;
        let (start, f) = field(kind, off).ok_or_else(invalid)?;
        match (f, access.kind) {
            (Field::Pointer { to }, CtxAccessKind::Load { sign_extend: false })
                if size == 4 && off == start =>
            {
                // The typed form is the clearest way to re-encode a load.
                if let Insn::Load { dst, src, .. } = cfg.insns[access.insn] {
                    let wide = Insn::Load {
                        size: MemSize::DW,
                        sign_extend: false,
                        dst,
                        src,
                        off: to as i16,
                    };
                    insns[pc] = wide.encode()[0];
                }
            }
            (Field::Value { size: fsize, .. }, CtxAccessKind::Load { .. })
                if off + size <= start + fsize => {}
            (
                Field::Value {
                    size: fsize,
                    writable: true,
                },
                CtxAccessKind::Store,
            ) if off == start && size == fsize => {}
            _ => return Err(invalid()),
        }
    }
    Ok(())
}
