//! Program contexts as programs see them: the structure each program type
//! receives in `r1`, where its fields are and how each may be accessed.
//!
//! One table serves the runtime, which rewrites context accesses to Waggle's
//! layout (`waggle-runtime`'s `context` module), and the verifier, which
//! checks them. Waggle's layout is the UAPI structure followed by 64-bit
//! packet pointers ([`layout`]), so only loads of the pointer fields change.

use waggle_object::ProgramType;

/// The context structure a program type receives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
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

    /// Whether programs may read and write packet data through pointers
    /// loaded from the context (Linux's "direct packet access").
    pub fn direct_packet_access(self) -> bool {
        matches!(self, CtxKind::Xdp | CtxKind::SkbTc)
    }

    /// The C name of the structure, for messages.
    pub fn struct_name(self) -> &'static str {
        match self {
            CtxKind::Xdp => "struct xdp_md",
            CtxKind::SkbTc | CtxKind::SkbSocket => "struct __sk_buff",
            CtxKind::Raw => "the context",
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

/// Which packet pointer a pointer field holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PacketField {
    /// `data`: the first byte of the packet.
    Data,
    /// `data_end`: one past the last byte.
    DataEnd,
    /// `data_meta`: the start of the metadata area before `data`.
    DataMeta,
}

/// How a field may be accessed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    /// A packet pointer: 4-byte loads of the whole field only, rewritten to
    /// 8-byte loads at `to` in Waggle's layout.
    Pointer { packet: PacketField, to: usize },
    /// A value field of `size` bytes: loads of any part; stores of the whole
    /// field when `writable`.
    Value { size: usize, writable: bool },
}

/// The field of `kind`'s context at UAPI offset `off`: (start, field), or
/// `None` where programs of that kind may not access the context.
pub fn field(kind: CtxKind, off: usize) -> Option<(usize, Field)> {
    use layout::*;
    let value = |size, writable| Field::Value { size, writable };
    let ptr = |packet, to| Field::Pointer { packet, to };
    match kind {
        CtxKind::Xdp => match off {
            XDP_MD_DATA..=3 => Some((XDP_MD_DATA, ptr(PacketField::Data, XDP_DATA))),
            XDP_MD_DATA_END..=7 => Some((XDP_MD_DATA_END, ptr(PacketField::DataEnd, XDP_DATA_END))),
            XDP_MD_DATA_META..=11 => {
                Some((XDP_MD_DATA_META, ptr(PacketField::DataMeta, XDP_DATA_META)))
            }
            12..=23 => Some((off & !3, value(4, false))),
            _ => None,
        },
        CtxKind::SkbTc | CtxKind::SkbSocket => {
            let tc = kind == CtxKind::SkbTc;
            match off {
                SKB_UAPI_DATA..=79 if tc => Some((SKB_UAPI_DATA, ptr(PacketField::Data, SKB_DATA))),
                SKB_UAPI_DATA_END..=83 if tc => {
                    Some((SKB_UAPI_DATA_END, ptr(PacketField::DataEnd, SKB_DATA_END)))
                }
                SKB_UAPI_DATA_META..=143 if tc => Some((
                    SKB_UAPI_DATA_META,
                    ptr(PacketField::DataMeta, SKB_DATA_META),
                )),
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

/// What a context access does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CtxAccess {
    Load { sign_extend: bool },
    Store,
}

/// Why a context access is refused, in words for messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CtxDenied {
    pub reason: String,
}

/// Checks an access of `size` bytes at UAPI offset `off` of `kind`'s context
/// as Linux's `is_valid_access` callbacks do: inside a field the program type
/// may see, naturally aligned, pointer fields loaded whole (4 bytes, no sign
/// extension), value fields loaded in part or stored whole when writable;
/// `struct xdp_md` only in whole 4-byte words.
/// Returns the field accessed.
pub fn check_access(
    kind: CtxKind,
    off: i64,
    size: usize,
    access: CtxAccess,
) -> Result<(usize, Field), CtxDenied> {
    let deny = |reason: String| Err(CtxDenied { reason });
    if kind == CtxKind::Raw {
        return deny("the context layout of this program type is not known".into());
    }
    let Ok(uoff) = usize::try_from(off) else {
        return deny(format!("offset {off} is before the start of the context"));
    };
    if uoff + size > kind.uapi_size() {
        return deny(format!(
            "bytes {uoff}..{} are past the end of {} ({} bytes)",
            uoff + size,
            kind.struct_name(),
            kind.uapi_size()
        ));
    }
    if uoff % size != 0 {
        return deny(format!(
            "a {size}-byte access at offset {uoff} is not aligned to its size"
        ));
    }
    if kind == CtxKind::Xdp && size != 4 {
        return deny(format!(
            "struct xdp_md fields are accessed as whole 4-byte words, not {size} bytes"
        ));
    }
    let Some((start, f)) = field(kind, uoff) else {
        return deny(format!(
            "offset {uoff} of {} is not accessible to this program type",
            kind.struct_name()
        ));
    };
    match (f, access) {
        (Field::Pointer { .. }, CtxAccess::Load { sign_extend: false })
            if size == 4 && uoff == start =>
        {
            Ok((start, f))
        }
        (Field::Pointer { .. }, CtxAccess::Load { .. }) => deny(format!(
            "the packet pointer field at offset {start} must be loaded whole, as a 4-byte unsigned load"
        )),
        (Field::Pointer { .. }, CtxAccess::Store) => deny(format!(
            "the packet pointer field at offset {start} is read-only"
        )),
        (Field::Value { size: fsize, .. }, CtxAccess::Load { .. }) => {
            if uoff + size <= start + fsize {
                Ok((start, f))
            } else {
                deny(format!(
                    "a {size}-byte load at offset {uoff} spans more than the {fsize}-byte field at offset {start}"
                ))
            }
        }
        (
            Field::Value {
                size: fsize,
                writable,
            },
            CtxAccess::Store,
        ) => {
            if !writable {
                deny(format!(
                    "the field at offset {start} is read-only for this program type"
                ))
            } else if uoff != start || size != fsize {
                deny(format!(
                    "stores to the field at offset {start} must write all {fsize} bytes"
                ))
            } else {
                Ok((start, f))
            }
        }
    }
}
