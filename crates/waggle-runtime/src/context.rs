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
use waggle_analysis::context::{field, Field};
use waggle_analysis::ctx::{accesses, CtxAccessKind, CtxError};
use waggle_isa::{Insn, MemSize, RawInsn};

// The layouts and field tables live in `waggle-analysis`, shared with the
// verifier; they are re-exported here under their established paths.
pub use waggle_analysis::context::{layout, CtxKind, SK_BUFF_SIZE, XDP_MD_SIZE};

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
            (Field::Pointer { to, .. }, CtxAccessKind::Load { sign_extend: false })
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
