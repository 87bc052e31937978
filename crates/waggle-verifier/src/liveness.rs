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

/// Stack slots (bit `k`: bytes `[fp - 8 * (k + 1), fp - 8 * k)`) of the
/// current frame an access `[r10 + off, + size)` touches; `None` when it is
/// outside the 512-byte frame (the access fails anyway; callers treat it as
/// touching every slot).
fn frame_slots(off: i16, size: usize) -> Option<u64> {
    let lo = off as i64;
    let hi = lo + size as i64; // exclusive
    if lo < -512 || hi > 0 {
        return None;
    }
    let first = ((-hi) / 8) as u32; // slot of byte hi - 1
    let last = ((-lo - 1) / 8) as u32; // slot of byte lo
    let mut m = 0u64;
    for k in first..=last {
        m |= 1 << k;
    }
    Some(m)
}

/// (read, fully written) stack slots of the current frame, for one
/// instruction. Anything that may reach the stack other than through `r10`
/// directly — a load, store or atomic through another register (it may hold
/// a pointer into this frame), a call (its arguments may point into it, a
/// subprogram may read it) — reads every slot and writes none, so the
/// analysis never misses a read.
fn slot_use_def(insn: &Insn) -> (u64, u64) {
    const FP: u8 = 10;
    match *insn {
        Insn::Load { size, src, off, .. } => {
            if src.index() == FP as usize {
                (frame_slots(off, size.bytes()).unwrap_or(u64::MAX), 0)
            } else {
                (u64::MAX, 0)
            }
        }
        Insn::Store { size, dst, off, .. } => {
            if dst.index() == FP as usize {
                match frame_slots(off, size.bytes()) {
                    // A whole, aligned 8-byte write replaces the slot.
                    Some(m) if size.bytes() == 8 && off % 8 == 0 => (0, m),
                    // A partial write keeps the other bytes (and may check
                    // what it overwrites): counted as a read, no kill.
                    Some(m) => (m, 0),
                    None => (u64::MAX, 0),
                }
            } else {
                (u64::MAX, 0)
            }
        }
        Insn::Atomic { size, dst, off, .. } => {
            if dst.index() == FP as usize {
                (frame_slots(off, size.bytes()).unwrap_or(u64::MAX), 0)
            } else {
                (u64::MAX, 0)
            }
        }
        Insn::Call(_) | Insn::CallX { .. } => (u64::MAX, 0),
        // A register other than r10 may point into the frame only if r10
        // was copied; a copy's accesses are the non-r10 cases above.
        _ => (0, 0),
    }
}

/// The stack slots of the current frame live before each instruction: read
/// (before being wholly overwritten) on some path from it within the
/// function. A frame's stack ends with its function (`exit`), so nothing is
/// live after an exit.
pub fn live_slots_in(cfg: &Cfg) -> Vec<u64> {
    let n = cfg.len();
    let ud: Vec<(u64, u64)> = cfg.insns.iter().map(slot_use_def).collect();
    let mut live = vec![0u64; n];
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

/// Per instruction, the registers (`.0`) and stack slots of the current
/// frame (`.1`) whose numbers may matter: may flow, on some path from the
/// instruction, into something the verifier decides on. Everything else is
/// "imprecise": when an explored state is compared with a new one, an
/// imprecise scalar of the explored state covers any scalar.
///
/// Soundness. The explored state `old` was fully explored: every abstract
/// path from it ended without an error. Take a new state `cur` that `old`
/// covers except that imprecise places hold other scalars. Replace, in a
/// concrete state of `cur`, every imprecise scalar by a value of `old`'s
/// range: the result is a state of `old`. The two runs differ only in values
/// that never reach a decision: every conditional jump operand, address
/// register, pointer-arithmetic operand, helper or subprogram argument,
/// division/shift operand, value stored through a pointer that may reach a
/// stack or the context, returned value of a subprogram or callback, is a
/// precise use, and precision flows backwards through moves, ALU operations
/// and stack spills and fills (a fill through anything but `r10` makes every
/// slot precise). Values stored elsewhere (maps, packet) are never read back
/// as known numbers (loads from them give unknown scalars), so they do not
/// carry imprecise numbers into decisions. Hence both runs take the same
/// branches and pass the same checks, and the new state needs no
/// exploration. The analysis is static (it does not depend on which branches
/// the exploration found one-sided), so every branch operand counts.
///
/// A register may hold a pointer (`may_ptr`) or a stack pointer
/// (`may_stack`) by a forward pass: function arguments, `r10`, 64-bit loads,
/// call results and 64-bit immediates may; narrow loads only through a
/// register that may be the context (whose narrow fields are pointers).
pub fn precision(cfg: &Cfg) -> Vec<(u16, u64)> {
    use waggle_isa::AluOp::*;
    let n = cfg.len();
    const ALL: u16 = 0x7ff;
    // Forward: (may_ptr, may_ctx, may_stack) register sets before each insn.
    let mut fwd: Vec<Option<(u16, u16, u16)>> = vec![None; n];
    for f in cfg.functions() {
        fwd[f] = Some((ALL, ARGS, ARGS | (1 << 10)));
    }
    let mut changed = true;
    while changed {
        changed = false;
        for i in 0..n {
            let Some((p, c, s)) = fwd[i] else { continue };
            let (mut p, mut c, mut s) = (p | (1 << 10), c, s | (1 << 10));
            match cfg.insns[i] {
                Insn::Alu { op, dst, src, .. } => {
                    let d = bit(dst);
                    let sb = src_bit(src);
                    let copy = |m: u16| {
                        if matches!(op, Mov | MovSx8 | MovSx16 | MovSx32) {
                            if m & sb != 0 {
                                m | d
                            } else {
                                m & !d
                            }
                        } else if m & sb != 0 {
                            m | d
                        } else {
                            m
                        }
                    };
                    p = copy(p);
                    c = copy(c);
                    s = copy(s);
                }
                Insn::Load { size, dst, src, .. } => {
                    let d = bit(dst);
                    let wide = size.bytes() == 8 || c & bit(src) != 0 || src.index() == 10;
                    if wide {
                        p |= d;
                        c |= d;
                        s |= d;
                    } else {
                        p &= !d;
                        c &= !d;
                        s &= !d;
                    }
                }
                Insn::Atomic { src, .. } => {
                    let d = bit(src);
                    p |= d;
                    c |= d;
                    s |= d;
                }
                Insn::LdImm64 { dst, .. } => {
                    p |= bit(dst);
                    c &= !bit(dst);
                    s &= !bit(dst);
                }
                Insn::LdAbs { .. } | Insn::LdInd { .. } => {
                    p &= !CALLER_SAVED;
                    c &= !CALLER_SAVED;
                    s &= !CALLER_SAVED;
                }
                Insn::Call(_) | Insn::CallX { .. } => {
                    p = (p & !CALLER_SAVED) | 1;
                    c = (c & !CALLER_SAVED) | 1;
                    s = (s & !CALLER_SAVED) | 1;
                }
                _ => {}
            }
            let mut push = |t: usize, fwd: &mut Vec<Option<(u16, u16, u16)>>| {
                if t >= n {
                    return;
                }
                let v = match fwd[t] {
                    None => (p, c, s),
                    Some((a, b, e)) => (a | p, b | c, e | s),
                };
                if fwd[t] != Some(v) {
                    fwd[t] = Some(v);
                    changed = true;
                }
            };
            match cfg.flow(i) {
                Flow::Next | Flow::Call(_) => push(i + 1, &mut fwd),
                Flow::Jump(t) => push(t, &mut fwd),
                Flow::Branch(t) => {
                    push(i + 1, &mut fwd);
                    push(t, &mut fwd);
                }
                Flow::Exit => {}
            }
        }
    }
    // The program's own function (reachable from 0 without calls): its
    // `exit` returns r0 to the kernel, which only needs it to be a number.
    let mut main = vec![false; n];
    let mut stack = vec![0usize];
    while let Some(i) = stack.pop() {
        if i >= n || main[i] {
            continue;
        }
        main[i] = true;
        match cfg.flow(i) {
            Flow::Next | Flow::Call(_) => stack.push(i + 1),
            Flow::Jump(t) => stack.push(t),
            Flow::Branch(t) => {
                stack.push(i + 1);
                stack.push(t);
            }
            Flow::Exit => {}
        }
    }
    // Backward: precise registers and slots.
    let mut prec = vec![(0u16, 0u64); n];
    let mut changed = true;
    while changed {
        changed = false;
        for i in (0..n).rev() {
            let (mut r, mut sl) = match cfg.flow(i) {
                Flow::Next | Flow::Call(_) => prec.get(i + 1).copied().unwrap_or((0, 0)),
                Flow::Jump(t) => prec[t],
                Flow::Branch(t) => {
                    let a = prec.get(i + 1).copied().unwrap_or((0, 0));
                    (a.0 | prec[t].0, a.1 | prec[t].1)
                }
                Flow::Exit => (0, 0),
            };
            let (mp, mc, ms) = fwd[i].unwrap_or((ALL, ALL, ALL));
            match cfg.insns[i] {
                Insn::Alu { op, dst, src, .. } => {
                    let d = bit(dst);
                    let sb = src_bit(src);
                    let was = r & d != 0;
                    r &= !d;
                    if matches!(op, Mov | MovSx8 | MovSx16 | MovSx32) {
                        if was {
                            r |= sb;
                        }
                    } else if was
                        || (mp & (d | sb)) != 0
                        || matches!(op, Div | Sdiv | Mod | Smod | Lsh | Rsh | Arsh)
                    {
                        r |= d | sb;
                    }
                }
                Insn::Neg { .. } | Insn::Endian { .. } | Insn::Ja { .. } | Insn::JaLong { .. } => {}
                Insn::Jump { dst, src, .. } => r |= bit(dst) | src_bit(src),
                Insn::Load {
                    size,
                    dst,
                    src,
                    off,
                    ..
                } => {
                    let was = r & bit(dst) != 0;
                    r &= !bit(dst);
                    r |= bit(src);
                    if was {
                        if src.index() == 10 {
                            sl |= frame_slots(off, size.bytes()).unwrap_or(u64::MAX);
                        } else if ms & bit(src) != 0 {
                            sl = u64::MAX;
                        }
                    }
                }
                Insn::Store {
                    size,
                    dst,
                    off,
                    src,
                } => {
                    r |= bit(dst);
                    if dst.index() == 10 {
                        match frame_slots(off, size.bytes()) {
                            Some(m) => {
                                if sl & m != 0 {
                                    r |= src_bit(src);
                                }
                                if size.bytes() == 8 && off % 8 == 0 {
                                    sl &= !m;
                                }
                            }
                            None => r |= src_bit(src),
                        }
                    } else if (ms | mc) & bit(dst) != 0 {
                        r |= src_bit(src);
                    }
                }
                Insn::Atomic {
                    size,
                    dst,
                    src,
                    off,
                    ..
                } => {
                    r |= bit(dst) | bit(src) | 1;
                    if dst.index() == 10 {
                        sl |= frame_slots(off, size.bytes()).unwrap_or(u64::MAX);
                    } else if ms & bit(dst) != 0 {
                        sl = u64::MAX;
                    }
                }
                Insn::LdImm64 { dst, .. } => r &= !bit(dst),
                Insn::LdAbs { .. } | Insn::LdInd { .. } => {
                    r &= !CALLER_SAVED;
                    r |= use_def(&cfg.insns[i]).0;
                }
                Insn::Call(_) | Insn::CallX { .. } => {
                    r &= !CALLER_SAVED;
                    r |= ARGS | use_def(&cfg.insns[i]).0;
                    if let Insn::CallX { dst } = cfg.insns[i] {
                        r |= bit(dst);
                    }
                    sl = u64::MAX;
                }
                Insn::Exit => {
                    if !main[i] {
                        r |= 1;
                    }
                }
            }
            if (r, sl) != prec[i] {
                prec[i] = (r, sl);
                changed = true;
            }
        }
    }
    prec
}
