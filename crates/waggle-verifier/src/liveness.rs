//! Register liveness: which of `r0`-`r9` an instruction's continuation may
//! read before writing. State comparisons ignore dead registers (their
//! values cannot influence anything that follows), which is what lets
//! exploration prune paths that differ only in scratch registers.

use crate::helpers;
use waggle_analysis::cfg::{Cfg, Flow};
use waggle_isa::{AtomicOp, CallTarget, Insn, Source};

const ARGS: u16 = 0b11_1110; // r1-r5
const CALLER_SAVED: u16 = 0b11_1111; // r0-r5

fn bit(r: waggle_isa::Reg) -> u16 {
    if r.index() < 10 {
        1 << r.index()
    } else {
        0
    }
}

fn src_bit(s: Source) -> u16 {
    match s {
        Source::Reg(r) => bit(r),
        Source::Imm(_) => 0,
    }
}

/// (used, defined) registers of one instruction.
fn use_def(insn: &Insn) -> (u16, u16) {
    use waggle_isa::AluOp::*;
    match *insn {
        Insn::Alu { op, dst, src, .. } => {
            let reads_dst = !matches!(op, Mov | MovSx8 | MovSx16 | MovSx32);
            (
                src_bit(src) | if reads_dst { bit(dst) } else { 0 },
                bit(dst),
            )
        }
        Insn::Neg { dst, .. } | Insn::Endian { dst, .. } => (bit(dst), bit(dst)),
        Insn::Jump { dst, src, .. } => (bit(dst) | src_bit(src), 0),
        Insn::Ja { .. } | Insn::JaLong { .. } => (0, 0),
        Insn::Load { dst, src, .. } => (bit(src), bit(dst)),
        Insn::Store { dst, src, .. } => (bit(dst) | src_bit(src), 0),
        Insn::Atomic { op, dst, src, .. } => {
            let (u, d) = match op {
                AtomicOp::Cmpxchg => (1, 1),
                AtomicOp::Xchg
                | AtomicOp::Add { fetch: true }
                | AtomicOp::Or { fetch: true }
                | AtomicOp::And { fetch: true }
                | AtomicOp::Xor { fetch: true } => (0, bit(src)),
                _ => (0, 0),
            };
            (bit(dst) | bit(src) | u, d)
        }
        Insn::LdImm64 { dst, .. } => (0, bit(dst)),
        Insn::LdAbs { .. } => (1 << 6, CALLER_SAVED),
        Insn::LdInd { src, .. } => ((1 << 6) | bit(src), CALLER_SAVED),
        Insn::Call(CallTarget::Helper(id)) => {
            let used = match helpers::proto(id as u32) {
                Some(p) => ((1u16 << (p.args.len() + 1)) - 1) & ARGS,
                None => ARGS,
            };
            (used, CALLER_SAVED)
        }
        Insn::Call(_) | Insn::CallX { .. } => (ARGS, CALLER_SAVED),
        Insn::Exit => (1, 0),
    }
}

/// The registers an instruction reads, `r10` included (bit 10).
pub(crate) fn reads(insn: &Insn) -> u16 {
    let r10 = |r: waggle_isa::Reg| if r.index() == 10 { 1u16 << 10 } else { 0 };
    let src10 = |s: Source| match s {
        Source::Reg(r) => r10(r),
        Source::Imm(_) => 0,
    };
    let frame_pointer = match *insn {
        Insn::Alu { dst, src, .. } | Insn::Jump { dst, src, .. } | Insn::Store { dst, src, .. } => {
            r10(dst) | src10(src)
        }
        Insn::Neg { dst, .. } | Insn::Endian { dst, .. } => r10(dst),
        Insn::Load { src, .. } | Insn::LdInd { src, .. } => r10(src),
        Insn::Atomic { dst, src, .. } => r10(dst) | r10(src),
        _ => 0,
    };
    // (`r10` as an ALU destination is rejected, so counting it as read
    // there, moves included, changes nothing for accepted programs.)
    use_def(insn).0 | frame_pointer
}

/// The registers live before each instruction.
pub fn live_in(cfg: &Cfg) -> Vec<u16> {
    let n = cfg.len();
    let ud: Vec<(u16, u16)> = cfg.insns.iter().map(use_def).collect();
    let mut live = vec![0u16; n];
    let mut changed = true;
    while changed {
        changed = false;
        for i in (0..n).rev() {
            let out = match cfg.flow(i) {
                Flow::Next | Flow::Call(_) => live.get(i + 1).copied().unwrap_or(0),
                Flow::Jump(t) => live[t],
                Flow::Branch(t) => live.get(i + 1).copied().unwrap_or(0) | live[t],
                Flow::Exit => 0,
            };
            let (u, d) = ud[i];
            let v = u | (out & !d);
            if v != live[i] {
                live[i] = v;
                changed = true;
            }
        }
    }
    live
}
