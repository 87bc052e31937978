//! Register liveness: which of `r0`-`r9` an instruction's continuation may
//! read before writing. State comparisons ignore dead registers (their
//! values cannot influence anything that follows), which is what lets
//! exploration prune paths that differ only in scratch registers.

use crate::helpers;
use std::ops::{BitAnd, BitOr, Not};
use waggle_analysis::cfg::{Cfg, Flow};
use waggle_isa::regs::{CALLER_SAVED, CALL_ARGS};
use waggle_isa::{AtomicOp, CallTarget, Insn, Source};

/// (used, defined) registers of one instruction: the instruction set's,
/// with a helper call reading only the arguments its prototype takes.
/// Without `allow_ptr_leaks` a `bpf_trace_printk` call reads all five: the
/// values its format prints (`r3`-`r5`, outside its prototype) are checked
/// not to be pointers, so a path must not be pruned against one where they
/// were numbers.
fn use_def(insn: &Insn, allow_ptr_leaks: bool) -> (u16, u16) {
    match *insn {
        Insn::Call(CallTarget::Helper(id))
            if id as u32 == helpers::TRACE_PRINTK && !allow_ptr_leaks =>
        {
            insn.regs_read_written()
        }
        Insn::Call(CallTarget::Helper(id)) => match helpers::proto(id as u32) {
            Some(p) => (((1u16 << (p.args.len() + 1)) - 1) & CALL_ARGS, CALLER_SAVED),
            None => insn.regs_read_written(),
        },
        _ => insn.regs_read_written(),
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
    // The prototype's arguments: what the facts report on.
    use_def(insn, true).0 | frame_pointer
}

/// The registers live before each instruction (see [`use_def`] for
/// `allow_ptr_leaks`).
pub fn live_in(cfg: &Cfg, allow_ptr_leaks: bool) -> Vec<u16> {
    let ud: Vec<(u16, u16)> = cfg
        .insns
        .iter()
        .map(|insn| use_def(insn, allow_ptr_leaks))
        .collect();
    backward(cfg, &ud)
}

/// What is live before each instruction, given each instruction's (used,
/// defined) sets: used on some path from it before being defined, within
/// the function (nothing is live after an `exit`; a call's continuation is
/// the next instruction).
fn backward<T>(cfg: &Cfg, ud: &[(T, T)]) -> Vec<T>
where
    T: Copy + Default + Eq + BitOr<Output = T> + BitAnd<Output = T> + Not<Output = T>,
{
    let n = cfg.len();
    let mut live = vec![T::default(); n];
    let mut changed = true;
    while changed {
        changed = false;
        for i in (0..n).rev() {
            let next = || live.get(i + 1).copied().unwrap_or_default();
            let out = match cfg.flow(i) {
                Flow::Next | Flow::Call(_) => next(),
                Flow::Jump(t) => live[t],
                Flow::Branch(t) => next() | live[t],
                Flow::Exit => T::default(),
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

/// Registers that may hold a pointer into the current frame's stack before
/// each instruction (bit `r`; `r10` always). A frame's stack pointer comes
/// only from its `r10`: copied and offset by 64-bit ALU operations, or
/// stored to memory and loaded back (so once a possible stack pointer is
/// stored anywhere, or handed to a subprogram or callback that could store
/// it, every 8-byte load and fetching atomic may give one). Helper results,
/// `LD_IMM64` values and subprogram results never point into the caller's
/// stack (a stack pointer is not returned).
pub fn stack_pointers(cfg: &Cfg) -> Vec<u16> {
    const FP: u16 = 1 << 10;
    let n = cfg.len();
    let mut stored = false;
    loop {
        let mut inn = vec![0u16; n];
        let mut seen = vec![false; n];
        let mut work: Vec<usize> = cfg.functions();
        for &f in &work {
            inn[f] = FP;
            seen[f] = true;
        }
        let mut stores = false;
        while let Some(i) = work.pop() {
            let cur = inn[i] | FP;
            let has = |r: waggle_isa::Reg| cur & (1 << r.index()) != 0;
            let set = |m: u16, r: waggle_isa::Reg, on: bool| {
                let b = 1u16 << r.index();
                if on {
                    m | b
                } else {
                    m & !b
                }
            };
            let out = match cfg.insns[i] {
                Insn::Alu { op, dst, src, .. } => {
                    let from_src = matches!(src, Source::Reg(s) if has(s));
                    let is_mov = matches!(
                        op,
                        waggle_isa::AluOp::Mov
                            | waggle_isa::AluOp::MovSx8
                            | waggle_isa::AluOp::MovSx16
                            | waggle_isa::AluOp::MovSx32
                    );
                    if is_mov {
                        set(cur, dst, from_src)
                    } else {
                        set(cur, dst, from_src || has(dst))
                    }
                }
                Insn::Load { dst, size, .. } => set(cur, dst, stored && size.bytes() == 8),
                Insn::Store { src, .. } => {
                    if matches!(src, Source::Reg(s) if has(s)) {
                        stores = true;
                    }
                    cur
                }
                Insn::Atomic { op, src, .. } => {
                    if has(src) {
                        stores = true;
                    }
                    match op {
                        AtomicOp::Cmpxchg => cur | if stored { 1 } else { 0 },
                        AtomicOp::Xchg
                        | AtomicOp::Add { fetch: true }
                        | AtomicOp::Or { fetch: true }
                        | AtomicOp::And { fetch: true }
                        | AtomicOp::Xor { fetch: true } => set(cur, src, stored),
                        _ => cur,
                    }
                }
                Insn::LdImm64 { dst, .. } => set(cur, dst, false),
                Insn::LdAbs { .. } | Insn::LdInd { .. } => cur & !CALLER_SAVED,
                Insn::Call(target) => {
                    let may_keep = match target {
                        CallTarget::Helper(id) => helpers::takes_callback(id as u32),
                        _ => true,
                    };
                    if may_keep && cur & CALL_ARGS != 0 {
                        stores = true;
                    }
                    cur & !CALLER_SAVED
                }
                _ => cur,
            };
            let mut flow = |t: usize, inn: &mut Vec<u16>| {
                if t < n && (!seen[t] || inn[t] | out != inn[t]) {
                    seen[t] = true;
                    inn[t] |= out;
                    work.push(t);
                }
            };
            match cfg.flow(i) {
                Flow::Next | Flow::Call(_) => flow(i + 1, &mut inn),
                Flow::Jump(t) => flow(t, &mut inn),
                Flow::Branch(t) => {
                    flow(i + 1, &mut inn);
                    flow(t, &mut inn);
                }
                Flow::Exit => {}
            }
        }
        if stores == stored {
            for m in &mut inn {
                *m |= FP;
            }
            return inn;
        }
        stored = true;
    }
}

/// (read, fully written) stack slots of the current frame, for one
/// instruction, given the registers that may point into the frame
/// (`stack`, from [`stack_pointers`]). An access through a register other
/// than `r10` that may point into the frame, and a call given such a
/// pointer (a helper or subprogram may read it), reads every slot and
/// writes none, so the analysis never misses a read.
fn slot_use_def(insn: &Insn, stack: u16) -> (u64, u64) {
    const FP: u8 = 10;
    let may_stack = |r: waggle_isa::Reg| stack & (1 << r.index()) != 0;
    match *insn {
        Insn::Load { src, .. } if !may_stack(src) => (0, 0),
        Insn::Store { dst, .. } | Insn::Atomic { dst, .. } if !may_stack(dst) => (0, 0),
        Insn::Call(_) if stack & CALL_ARGS == 0 => (0, 0),
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
    let stack = stack_pointers(cfg);
    let ud: Vec<(u64, u64)> = cfg
        .insns
        .iter()
        .zip(&stack)
        .map(|(insn, &m)| slot_use_def(insn, m))
        .collect();
    backward(cfg, &ud)
}
