//! Which register reads a pruned path may reach holding numbers that no
//! explored visit saw, so that facts about them cannot be claimed.
//!
//! Pruning compares an imprecise place (a register or stack slot whose
//! number never reaches a decision) only by type: the pruned state may hold
//! there a number outside the explored state's range, or one not linked to
//! the registers the explored state's copy was linked to. Its executions
//! then follow the explored paths, whose checks and branches they pass
//! identically, but with other numbers in those places and in everything
//! computed from them. A register fact (a constant, zero upper bits) read
//! off the explored visits holds for such an execution only where the
//! register does not depend on a place pruning let differ.
//!
//! So every pruning records, as a seed, the places it let differ; this pass
//! follows them forward through the control-flow graph (over every path,
//! not only explored ones, so it over-approximates every execution) to the
//! registers they may flow into. Facts of tainted registers are dropped,
//! except a zero-extension every path establishes structurally
//! ([`structural_zext`]), whatever the numbers.

use crate::helpers;
use waggle_analysis::cfg::{Cfg, Flow};
use waggle_isa::regs::CALL_ARGS;
use waggle_isa::{AluOp, AtomicOp, CallTarget, Insn, LdImm64, Reg, Source};

const ALL_SLOTS: u64 = u64::MAX;
const ALL_REGS: u16 = 0x3ff; // r0-r9
const CALLEE_SAVED: u16 = 0x3c0; // r6-r9

/// Places a pruning at instruction `insn` let differ: registers and 8-byte
/// stack slots of the frame running there (`regs`, `slots`), and whether
/// stack slots of other frames differ too (`other_stack`: reads through
/// pointers may reach them).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Seed {
    pub insn: usize,
    pub regs: u16,
    pub slots: u64,
    pub other_stack: bool,
}

/// Slots (bit `k`: `[fp - 8(k + 1), fp - 8k)`) an `r10`-based access
/// touches; every slot when outside the frame.
fn frame_slots(off: i16, size: usize) -> u64 {
    let lo = off as i64;
    let hi = lo + size as i64;
    if lo < -512 || hi > 0 || size == 0 {
        return ALL_SLOTS;
    }
    let first = (-hi) / 8;
    let last = (-lo - 1) / 8;
    (first..=last).fold(0, |m, k| m | 1 << k)
}

fn set(regs: u16, r: Reg, on: bool) -> u16 {
    if on {
        regs | r.bit()
    } else {
        regs & !r.bit()
    }
}

/// Per instruction, the registers (`r0`-`r9`) that may hold, when it runs,
/// a number depending on a place some pruning let differ. `stack_access[i]`
/// says whether instruction `i`'s memory access may reach a stack (from the
/// access facts, which hold on every execution); `r10`-based accesses are
/// known to.
pub(crate) fn tainted_regs(cfg: &Cfg, seeds: &[Seed], stack_access: &[bool]) -> Vec<u16> {
    let n = cfg.len();
    let funcs = cfg.functions();
    let func_of = |i: usize| funcs[funcs.partition_point(|&f| f <= i) - 1];
    let callbacks: Vec<usize> = cfg
        .insns
        .iter()
        .enumerate()
        .filter_map(|(i, insn)| match *insn {
            Insn::LdImm64 {
                value: LdImm64::Func(off),
                ..
            } => cfg.index_of((cfg.pcs[i] as i64 + 1 + off as i64) as usize),
            _ => None,
        })
        .collect();
    let mut taint = vec![(0u16, 0u64); n];
    if seeds.is_empty() {
        return vec![0; n];
    }
    // Global facts, grown to a fixpoint with the per-instruction sets.
    let mut other_stack = false; // some stack slot reachable by pointer may differ
    let mut everything_after_calls = false; // a callee may change caller numbers
    let mut ret = vec![false; n]; // by function entry: r0 at its exits
    let mut callback_args = false;
    let mut callback_ret = false;
    for s in seeds {
        taint[s.insn].0 |= s.regs;
        taint[s.insn].1 |= s.slots;
        other_stack |= s.other_stack;
    }
    let mut changed = true;
    while changed {
        changed = false;
        let mut flags = (
            other_stack,
            everything_after_calls,
            callback_args,
            callback_ret,
        );
        for i in 0..n {
            let (mut r, mut s) = taint[i];
            let mut to_callee = None;
            match cfg.insns[i] {
                Insn::Alu { op, dst, src, .. } => {
                    let t = r & src.reg_bit() != 0;
                    let keep = !matches!(
                        op,
                        AluOp::Mov | AluOp::MovSx8 | AluOp::MovSx16 | AluOp::MovSx32
                    ) && r & dst.bit() != 0;
                    r = set(r, dst, t || keep);
                }
                Insn::Neg { .. } | Insn::Endian { .. } | Insn::Ja { .. } | Insn::JaLong { .. } => {}
                Insn::Jump { dst, src, .. } => {
                    // A comparison refines both operands and every copy of
                    // them; a differing operand refines the other one
                    // (and its copies, which this pass does not know)
                    // differently.
                    let (td, ts) = (r & dst.bit() != 0, r & src.reg_bit() != 0);
                    if matches!(src, Source::Reg(_)) && td != ts {
                        r = ALL_REGS;
                        s = ALL_SLOTS;
                        flags.0 = true;
                        if func_of(i) != 0 {
                            flags.1 = true;
                        }
                    }
                }
                Insn::Load {
                    size,
                    dst,
                    src,
                    off,
                    ..
                } => {
                    let t = if src.index() == 10 {
                        s & frame_slots(off, size.bytes()) != 0
                    } else {
                        r & src.bit() != 0 || (stack_access[i] && (s != 0 || flags.0))
                    };
                    r = set(r, dst, t);
                }
                Insn::Store {
                    size,
                    dst,
                    off,
                    src,
                } => {
                    let t = r & src.reg_bit() != 0;
                    if dst.index() == 10 {
                        let m = frame_slots(off, size.bytes());
                        if t {
                            s |= m;
                        } else if size.bytes() == 8 && off % 8 == 0 && m != ALL_SLOTS {
                            s &= !m;
                        }
                    } else if stack_access[i] && (t || r & dst.bit() != 0) {
                        s = ALL_SLOTS;
                        flags.0 = true;
                    }
                }
                Insn::Atomic {
                    size,
                    op,
                    dst,
                    src,
                    off,
                } => {
                    let fetch = matches!(
                        op,
                        AtomicOp::Xchg
                            | AtomicOp::Cmpxchg
                            | AtomicOp::Add { fetch: true }
                            | AtomicOp::Or { fetch: true }
                            | AtomicOp::And { fetch: true }
                            | AtomicOp::Xor { fetch: true }
                    );
                    let cmpxchg = op == AtomicOp::Cmpxchg;
                    let on_frame = dst.index() == 10;
                    if on_frame || stack_access[i] {
                        let m = if on_frame {
                            frame_slots(off, size.bytes())
                        } else {
                            ALL_SLOTS
                        };
                        let slot_t = s & m != 0 || (!on_frame && flags.0);
                        let t =
                            slot_t || r & (src.bit() | dst.bit()) != 0 || (cmpxchg && r & 1 != 0);
                        if t {
                            s |= m;
                            if !on_frame {
                                flags.0 = true;
                            }
                        }
                        if cmpxchg {
                            r = set(r, Reg::R0, t);
                        } else if fetch {
                            r = set(r, src, t);
                        }
                    } else if cmpxchg {
                        // What other memory held: unknown to the verifier.
                        r &= !1;
                    } else if fetch {
                        r = set(r, src, false);
                    }
                }
                Insn::LdImm64 { dst, .. } => r = set(r, dst, false),
                Insn::LdAbs { .. } | Insn::LdInd { .. } => r &= !0x3f,
                Insn::Call(CallTarget::Local(_)) => {
                    to_callee = Some(r & CALL_ARGS);
                    if s != 0 {
                        flags.0 = true;
                    }
                }
                Insn::Call(CallTarget::Helper(id)) => {
                    let args = r & CALL_ARGS != 0;
                    let cb = helpers::takes_callback(id as u32);
                    if cb && args {
                        flags.2 = true;
                    }
                    if cb && s != 0 {
                        flags.0 = true;
                    }
                    let t = args || (cb && flags.3) || (cb && flags.1);
                    r = (r & CALLEE_SAVED) | t as u16;
                    if cb && flags.1 {
                        r = ALL_REGS;
                    }
                    if cb && (flags.0 || flags.1) {
                        s = ALL_SLOTS;
                    }
                }
                Insn::Call(_) | Insn::CallX { .. } => {
                    r = (r & CALLEE_SAVED) | (r & CALL_ARGS != 0) as u16;
                }
                Insn::Exit => {
                    let f = func_of(i);
                    if f != 0 && r & 1 != 0 {
                        if callbacks.contains(&f) {
                            flags.3 = true;
                        }
                        if !ret[f] {
                            ret[f] = true;
                            changed = true;
                        }
                    }
                }
            }
            let mut push = |t: usize, v: (u16, u64), taint: &mut Vec<(u16, u64)>| {
                if t >= n {
                    return;
                }
                let (a, b) = taint[t];
                let new = (a | v.0, b | v.1);
                if new != taint[t] {
                    taint[t] = new;
                    changed = true;
                }
            };
            match cfg.flow(i) {
                Flow::Next => push(i + 1, (r, s), &mut taint),
                Flow::Jump(t) => push(t, (r, s), &mut taint),
                Flow::Branch(t) => {
                    push(i + 1, (r, s), &mut taint);
                    push(t, (r, s), &mut taint);
                }
                Flow::Call(t) => {
                    if let Some(args) = to_callee {
                        push(t, (args, 0), &mut taint);
                    }
                    let mut after = (r & CALLEE_SAVED | ret[t] as u16, s);
                    if flags.0 {
                        after.1 = ALL_SLOTS;
                    }
                    if flags.1 {
                        after = (ALL_REGS, ALL_SLOTS);
                    }
                    push(i + 1, after, &mut taint);
                }
                Flow::Exit => {}
            }
            if flags.2 {
                for &c in &callbacks {
                    push(c, (CALL_ARGS, 0), &mut taint);
                }
            }
        }
        if flags
            != (
                other_stack,
                everything_after_calls,
                callback_args,
                callback_ret,
            )
        {
            (
                other_stack,
                everything_after_calls,
                callback_args,
                callback_ret,
            ) = flags;
            changed = true;
        }
    }
    taint.into_iter().map(|(r, _)| r).collect()
}

/// Per instruction, the registers whose upper 32 bits are zero on every
/// path to it by the way they were last written (a 32-bit ALU result, a
/// narrow load, a small constant, ...), whatever the numbers involved.
pub(crate) fn structural_zext(cfg: &Cfg) -> Vec<u16> {
    let n = cfg.len();
    let mut zx: Vec<Option<u16>> = vec![None; n];
    for f in cfg.functions() {
        zx[f] = Some(0);
    }
    let mut changed = true;
    while changed {
        changed = false;
        for i in 0..n {
            let Some(z) = zx[i] else { continue };
            let z = cfg.insns[i].zero_extended_after(z);
            let mut push = |t: usize| {
                if t < n {
                    let v = zx[t].map_or(z, |o| o & z);
                    if zx[t] != Some(v) {
                        zx[t] = Some(v);
                        changed = true;
                    }
                }
            };
            match cfg.flow(i) {
                Flow::Next | Flow::Call(_) => push(i + 1),
                Flow::Jump(t) => push(t),
                Flow::Branch(t) => {
                    push(i + 1);
                    push(t);
                }
                Flow::Exit => {}
            }
        }
    }
    zx.into_iter().map(|z| z.unwrap_or(0)).collect()
}
