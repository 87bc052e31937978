//! Precision on demand, as Linux's `mark_chain_precision`: which numbers of
//! the explored states must be compared exactly when they prune.
//!
//! A number is *precise* in an explored state when some path from that state
//! let it decide something: a comparison whose outcome the number's range
//! fixed (one side impossible), a pointer offset, a helper argument, a
//! constant map key, a callback's return value. Where such a use happens,
//! the registers and stack slots it reads are followed backwards through the
//! instructions of the path ([`backtrack`]: through moves, ALU operations,
//! spills and fills, comparisons that refined them, calls and returns) to
//! the explored states the path went through, whose places they came from
//! are marked precise. Every other number of a state is imprecise: no path
//! from the state let it influence anything, so another number there cannot
//! change what those paths check, and pruning compares it only by type.
//!
//! Marks grow while a state's paths are explored. A state prunes only once
//! every path from it ended (`Node::branches` is 0), when its marks are
//! final; and a pruned path's own history gets the pruning state's marks
//! (the pruned path continues as the pruning state's paths did, with the
//! same uses).

use crate::state::{Mark, State, Val, MAX_FRAMES};
use std::collections::HashMap;
use waggle_analysis::cfg::Cfg;
use waggle_isa::{AluOp, AtomicOp, CallTarget, Insn, Reg, Source};

/// Registers (bit `r`) and 8-byte stack slots (bit `k`) of each frame, by
/// depth.
pub type Masks = [(u16, u64); MAX_FRAMES];

pub const NONE: Masks = [(0, 0); MAX_FRAMES];

/// One instruction of a path, as backtracking needs it (plain data: paths
/// copy their histories when they fork).
#[derive(Clone, Copy, Debug)]
pub struct Hist {
    pub insn: u32,
    /// Depth of the frame it ran in.
    pub frame: u8,
    pub kind: HistKind,
}

#[derive(Clone, Copy, Debug)]
pub enum HistKind {
    Plain,
    /// A load, store or atomic on a stack at a constant offset: the frame
    /// and the slots it touched.
    Stack {
        frame: u8,
        slots: u64,
    },
    /// A load, store or atomic on a stack at a variable offset.
    StackVar,
    /// A comparison: the places it refines together (its register operands
    /// and every copy of them), all in one frame.
    Compare {
        frame: u8,
        regs: u16,
        slots: u64,
    },
    /// A comparison refining places in several frames: their masks, by
    /// index in [`Groups`].
    CompareWide(u32),
    /// A callback entered or left: backtracking does not follow it.
    Opaque,
}

/// The place groups of comparisons spanning several frames, each stored
/// once.
#[derive(Default)]
pub struct Groups {
    list: Vec<Masks>,
    index: HashMap<Masks, u32>,
}

impl Groups {
    fn intern(&mut self, m: Masks) -> u32 {
        let next = self.list.len() as u32;
        *self.index.entry(m).or_insert_with(|| {
            self.list.push(m);
            next
        })
    }
}

fn bit(r: Reg) -> u16 {
    if r.index() < 10 {
        1 << r.index()
    } else {
        0
    }
}

/// Slots of `[lo, lo + size)` (offsets from the frame pointer), if inside
/// the frame.
pub fn slots_of(lo: i64, size: u64) -> Option<u64> {
    let hi = lo + size as i64;
    if lo < -512 || hi > 0 || size == 0 {
        return None;
    }
    Some((((-hi) / 8)..=((-lo - 1) / 8)).fold(0, |m, k| m | 1 << k))
}

/// The history entry of instruction `i` about to run in `st`.
pub fn entry(cfg: &Cfg, groups: &mut Groups, i: usize, st: &State) -> Hist {
    let frame = (st.frames.len() - 1) as u8;
    let regs = &st.cur().regs;
    let stack = |base: Reg, off: i16, size: u64| match regs[base.index()] {
        Val::Ptr(p) => match p.kind {
            crate::state::PtrKind::Stack { frame } => {
                if p.has_var() {
                    HistKind::StackVar
                } else {
                    match slots_of(p.off as i64 + off as i64, size) {
                        Some(slots) => HistKind::Stack { frame, slots },
                        None => HistKind::StackVar,
                    }
                }
            }
            _ => HistKind::Plain,
        },
        _ => HistKind::Plain,
    };
    let kind = match cfg.insns[i] {
        Insn::Load { src, off, size, .. } => stack(src, off, size.bytes() as u64),
        Insn::Store { dst, off, size, .. } | Insn::Atomic { dst, off, size, .. } => {
            stack(dst, off, size.bytes() as u64)
        }
        Insn::Jump { dst, src, .. } => {
            let mut m = NONE;
            let mut ids = Vec::new();
            let mut add = |r: Reg, m: &mut Masks| {
                if let Val::Scalar { id, .. } = regs[r.index()] {
                    m[frame as usize].0 |= bit(r);
                    if id != 0 {
                        ids.push(id);
                    }
                }
            };
            add(dst, &mut m);
            if let Source::Reg(s) = src {
                add(s, &mut m);
            }
            if !ids.is_empty() {
                for (k, f) in st.frames.iter().enumerate() {
                    for (r, v) in f.regs.iter().enumerate().take(10) {
                        if matches!(v, Val::Scalar { id, .. } if ids.contains(id)) {
                            m[k].0 |= 1 << r;
                        }
                    }
                    for (s, slot) in f.stack.iter().enumerate().take(64) {
                        if matches!(slot.spill, Val::Scalar { id, .. } if ids.contains(&id)) {
                            m[k].1 |= 1 << s;
                        }
                    }
                }
            }
            let mut frames = m.iter().enumerate().filter(|(_, &(r, s))| r != 0 || s != 0);
            match (frames.next(), frames.next()) {
                (None, _) => HistKind::Plain,
                (Some((k, &(regs, slots))), None) => HistKind::Compare {
                    frame: k as u8,
                    regs,
                    slots,
                },
                _ => HistKind::CompareWide(groups.intern(m)),
            }
        }
        Insn::Call(CallTarget::Helper(id)) if crate::helpers::takes_callback(id as u32) => {
            HistKind::Opaque
        }
        Insn::Exit if st.cur().callback => HistKind::Opaque,
        _ => HistKind::Plain,
    };
    Hist {
        insn: i as u32,
        frame,
        kind,
    }
}

/// The places of `st` holding numbers (scalar registers; stack slots with
/// written bytes and no spilled pointer): the only ones precision is about.
pub fn scalars(st: &State) -> Vec<(u16, u64)> {
    st.frames
        .iter()
        .map(|f| {
            let mut regs = 0u16;
            for (r, v) in f.regs.iter().enumerate().take(10) {
                if matches!(v, Val::Scalar { .. }) {
                    regs |= 1 << r;
                }
            }
            let mut slots = 0u64;
            for (k, s) in f.stack.iter().enumerate().take(64) {
                if !matches!(s.spill, Val::Ptr(_)) && s.marks.iter().any(|m| *m != Mark::Invalid) {
                    slots |= 1 << k;
                }
            }
            (regs, slots)
        })
        .collect()
}

fn any(m: &Masks) -> bool {
    m.iter().any(|&(r, s)| r != 0 || s != 0)
}

/// Follows the places `m` (before the instruction after `hist`) backwards
/// through `hist`, leaving in `m` the places they depend on before its first
/// instruction. `false` when it cannot (a callback boundary, a variable
/// stack offset): the caller then makes everything precise.
pub fn backtrack(cfg: &Cfg, groups: &Groups, hist: &[Hist], m: &mut Masks) -> bool {
    for h in hist.iter().rev() {
        if !any(m) {
            return true;
        }
        let d = h.frame as usize;
        match cfg.insns[h.insn as usize] {
            Insn::Alu { op, dst, src, .. } => {
                let (r, _) = &mut m[d];
                if *r & bit(dst) != 0 {
                    if matches!(
                        op,
                        AluOp::Mov | AluOp::MovSx8 | AluOp::MovSx16 | AluOp::MovSx32
                    ) {
                        *r &= !bit(dst);
                    }
                    if let Source::Reg(s) = src {
                        *r |= bit(s);
                    }
                }
            }
            Insn::Neg { .. } | Insn::Endian { .. } | Insn::Ja { .. } | Insn::JaLong { .. } => {}
            Insn::Jump { .. } => match h.kind {
                HistKind::Compare { frame, regs, slots } => {
                    let a = &mut m[frame as usize];
                    if a.0 & regs != 0 || a.1 & slots != 0 {
                        a.0 |= regs;
                        a.1 |= slots;
                    }
                }
                HistKind::CompareWide(g) => {
                    let group = &groups.list[g as usize];
                    if m.iter()
                        .zip(group.iter())
                        .any(|(a, b)| a.0 & b.0 != 0 || a.1 & b.1 != 0)
                    {
                        for (a, b) in m.iter_mut().zip(group.iter()) {
                            a.0 |= b.0;
                            a.1 |= b.1;
                        }
                    }
                }
                _ => {}
            },
            Insn::Load { dst, .. } => {
                if m[d].0 & bit(dst) != 0 {
                    m[d].0 &= !bit(dst);
                    match h.kind {
                        HistKind::Stack { frame, slots } => m[frame as usize].1 |= slots,
                        HistKind::StackVar => return false,
                        // Other memory gives numbers the state does not hold.
                        _ => {}
                    }
                }
            }
            Insn::Store { size, src, off, .. } => match h.kind {
                HistKind::Stack { frame, slots } => {
                    let f = frame as usize;
                    if m[f].1 & slots != 0 {
                        // A whole aligned slot is replaced; a partial write
                        // leaves the rest of the slot as it was.
                        let whole = size.bytes() == 8 && slots.count_ones() == 1 && off % 8 == 0;
                        if whole {
                            m[f].1 &= !slots;
                        }
                        if let Source::Reg(s) = src {
                            m[d].0 |= bit(s);
                        }
                    }
                }
                HistKind::StackVar => {
                    if m.iter().any(|&(_, s)| s != 0) {
                        return false;
                    }
                }
                _ => {}
            },
            Insn::Atomic { op, src, .. } => {
                let fetch = matches!(
                    op,
                    AtomicOp::Xchg
                        | AtomicOp::Add { fetch: true }
                        | AtomicOp::Or { fetch: true }
                        | AtomicOp::And { fetch: true }
                        | AtomicOp::Xor { fetch: true }
                );
                let cmpxchg = op == AtomicOp::Cmpxchg;
                let written = if cmpxchg {
                    1
                } else if fetch {
                    bit(src)
                } else {
                    0
                };
                match h.kind {
                    HistKind::Stack { frame, slots } => {
                        let f = frame as usize;
                        if m[f].1 & slots != 0 || m[d].0 & written != 0 {
                            m[f].1 |= slots;
                            m[d].0 |= bit(src) | if cmpxchg { 1 } else { 0 };
                        }
                    }
                    HistKind::StackVar => {
                        if any(m) {
                            return false;
                        }
                    }
                    // Other memory: what is fetched is unknown.
                    _ => m[d].0 &= !written,
                }
            }
            Insn::LdImm64 { dst, .. } => m[d].0 &= !bit(dst),
            Insn::LdAbs { .. } | Insn::LdInd { .. } => m[d].0 &= !0x3f,
            Insn::Call(CallTarget::Local(_)) => {
                // Entering the callee: its arguments are the caller's.
                if d + 1 < MAX_FRAMES {
                    let args = m[d + 1].0 & 0x3e;
                    m[d + 1] = (0, 0);
                    m[d].0 |= args;
                }
            }
            Insn::Call(_) | Insn::CallX { .. } => {
                if matches!(h.kind, HistKind::Opaque) {
                    return false;
                }
                // A helper's result does not depend on numbers the state
                // holds beyond its arguments, which are precise already.
                m[d].0 &= !0x3f;
            }
            Insn::Exit => {
                if matches!(h.kind, HistKind::Opaque) {
                    return false;
                }
                // A subprogram returning: the caller's r0 is its r0.
                if d >= 1 {
                    let r0 = m[d - 1].0 & 1;
                    m[d - 1].0 &= !0x3f;
                    m[d] = (r0, 0);
                }
            }
        }
    }
    true
}
