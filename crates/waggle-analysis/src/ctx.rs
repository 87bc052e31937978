//! Context-pointer tracking: which loads and stores go through the program's
//! context pointer (`r1` at entry), and at which offset.
//!
//! Tracks, for every register and 8-byte stack slot, whether it holds the
//! context pointer, a pointer into the current stack frame (so spills and
//! fills of the context pointer are followed), or something else. A memory
//! access whose base is the context on every path is a context access; one
//! whose base is the context on some paths only, or a context pointer moved
//! by arithmetic, is an error, as in Linux ("same insn cannot be used with
//! different pointers", "dereference of modified ctx ptr").

use crate::cfg::Cfg;
use crate::dataflow::{solve, Domain};
use std::collections::BTreeMap;
use thiserror::Error;
use waggle_isa::{AluOp, AtomicOp, CallTarget, Insn, MemSize, Reg, Source, Width};

/// What a register or stack slot holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Value {
    /// Nothing yet (bottom: joins to the other side).
    Uninit,
    /// The context pointer plus a constant offset.
    Ctx(i64),
    /// The current function's frame pointer plus a constant offset.
    Frame(i64),
    /// A pointer into the current frame at an unknown offset.
    FrameAny,
    /// Anything else: scalars, packet, map and caller-stack pointers.
    Other,
    /// The context pointer on some paths (or moved by a variable amount) and
    /// something else on others (top).
    Mixed,
}

impl Value {
    fn join(self, other: Value) -> Value {
        use Value::*;
        match (self, other) {
            (a, b) if a == b => a,
            (Uninit, x) | (x, Uninit) => x,
            (Mixed, _) | (_, Mixed) => Mixed,
            (Ctx(_), _) | (_, Ctx(_)) => Mixed,
            (Frame(_) | FrameAny, Frame(_) | FrameAny) => FrameAny,
            _ => Other,
        }
    }
}

/// Registers and the current frame's 8-byte slots (keyed by offset from r10).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct State {
    pub regs: [Value; 11],
    pub stack: BTreeMap<i64, Value>,
}

impl State {
    fn fresh(r1: Value) -> State {
        let mut regs = [Value::Uninit; 11];
        regs[1] = r1;
        regs[10] = Value::Frame(0);
        State {
            regs,
            stack: BTreeMap::new(),
        }
    }

    fn reg(&self, r: Reg) -> Value {
        self.regs[r.index()]
    }

    fn set(&mut self, r: Reg, v: Value) {
        // r10 is read-only; a write to it is the verifier's to reject.
        if r != Reg::R10 {
            self.regs[r.index()] = v;
        }
    }

    /// A store of `size` bytes of `value` at `base + off`.
    fn store(&mut self, base: Value, off: i16, size: MemSize, value: Value) {
        match base {
            Value::Frame(f) => {
                let at = f + off as i64;
                if size == MemSize::DW && at % 8 == 0 {
                    self.stack.insert(at, value);
                } else {
                    // A partial write leaves no pointer behind in the slots it touches.
                    let first = at.div_euclid(8) * 8;
                    let last = (at + size.bytes() as i64 - 1).div_euclid(8) * 8;
                    for slot in (first..=last).step_by(8) {
                        self.stack.insert(slot, Value::Other);
                    }
                }
            }
            // Unknown slot: any slot may now hold the value (weak update).
            Value::FrameAny => {
                let stored = if size == MemSize::DW {
                    value
                } else {
                    Value::Other
                };
                for v in self.stack.values_mut() {
                    *v = v.join(stored);
                }
            }
            _ => {}
        }
    }

    fn load(&self, base: Value, off: i16, size: MemSize) -> Value {
        match base {
            Value::Frame(f) if size == MemSize::DW && (f + off as i64) % 8 == 0 => self
                .stack
                .get(&(f + off as i64))
                .copied()
                .unwrap_or(Value::Uninit),
            Value::FrameAny if size == MemSize::DW => self
                .stack
                .values()
                .fold(Value::Other, |acc, v| acc.join(*v)),
            _ => Value::Other,
        }
    }
}

impl Domain for State {
    fn program_entry() -> State {
        State::fresh(Value::Ctx(0))
    }

    fn callback_entry() -> State {
        State::fresh(Value::Other)
    }

    fn join(&mut self, other: &State) -> bool {
        let before = self.clone();
        for (a, b) in self.regs.iter_mut().zip(other.regs.iter()) {
            *a = a.join(*b);
        }
        for (k, v) in &other.stack {
            let e = self.stack.entry(*k).or_insert(Value::Uninit);
            *e = e.join(*v);
        }
        *self != before
    }

    fn transfer(&mut self, insn: &Insn) {
        use Value::*;
        match *insn {
            Insn::Alu {
                width: Width::W64,
                op,
                dst,
                src,
            } => {
                let d = self.reg(dst);
                let v = match (op, src) {
                    (AluOp::Mov, Source::Reg(s)) => self.reg(s),
                    (AluOp::Add | AluOp::Sub, Source::Imm(k)) => {
                        let k = if op == AluOp::Sub {
                            -(k as i64)
                        } else {
                            k as i64
                        };
                        match d {
                            Ctx(o) => Ctx(o + k),
                            Frame(o) => Frame(o + k),
                            FrameAny => FrameAny,
                            Mixed => Mixed,
                            _ => Other,
                        }
                    }
                    (AluOp::Add | AluOp::Sub, Source::Reg(_)) => match d {
                        Ctx(_) | Mixed => Mixed,
                        Frame(_) | FrameAny => FrameAny,
                        _ => Other,
                    },
                    _ => Other,
                };
                self.set(dst, v);
            }
            Insn::Alu { dst, .. }
            | Insn::Neg { dst, .. }
            | Insn::Endian { dst, .. }
            | Insn::LdImm64 { dst, .. } => self.set(dst, Other),
            Insn::Load {
                size,
                sign_extend,
                dst,
                src,
                off,
            } => {
                let v = if sign_extend {
                    Other
                } else {
                    self.load(self.reg(src), off, size)
                };
                self.set(dst, v);
            }
            Insn::Store {
                size,
                dst,
                off,
                src,
            } => {
                let v = match src {
                    Source::Reg(s) => self.reg(s),
                    Source::Imm(_) => Other,
                };
                self.store(self.reg(dst), off, size, v);
            }
            Insn::Atomic {
                size,
                op,
                dst,
                src,
                off,
            } => {
                self.store(self.reg(dst), off, size, Other);
                match op {
                    AtomicOp::Cmpxchg => self.set(Reg::R0, Other),
                    AtomicOp::Xchg
                    | AtomicOp::Add { fetch: true }
                    | AtomicOp::Or { fetch: true }
                    | AtomicOp::And { fetch: true }
                    | AtomicOp::Xor { fetch: true } => self.set(src, Other),
                    _ => {}
                }
            }
            Insn::LdAbs { .. }
            | Insn::LdInd { .. }
            | Insn::Call(CallTarget::Helper(_) | CallTarget::Kfunc { .. })
            | Insn::CallX { .. } => {
                // Helper calls (and legacy packet loads, which are calls in
                // Linux) return in r0 and clobber r1-r5.
                self.regs[0] = Other;
                for r in &mut self.regs[1..6] {
                    *r = Uninit;
                }
            }
            Insn::Jump { .. }
            | Insn::Ja { .. }
            | Insn::JaLong { .. }
            | Insn::Call(CallTarget::Local(_))
            | Insn::Exit => {}
        }
    }

    fn call_entry(&self) -> State {
        let mut s = State::fresh(Value::Uninit);
        for r in 1..6 {
            // The callee's frame is new: pointers into ours are, to it, just
            // pointers (to its caller's stack).
            s.regs[r] = match self.regs[r] {
                Value::Frame(_) | Value::FrameAny => Value::Other,
                v => v,
            };
        }
        s
    }

    fn after_call(&mut self) {
        // The callee preserves r6-r9 and this frame; r0 is its result.
        self.regs[0] = Value::Other;
        for r in &mut self.regs[1..6] {
            *r = Value::Uninit;
        }
    }
}

/// How an instruction touches the context.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CtxAccessKind {
    Load { sign_extend: bool },
    Store,
    Atomic,
}

/// One context access: instruction index, byte offset in the context, size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CtxAccess {
    /// Index into [`Cfg::insns`].
    pub insn: usize,
    pub offset: i64,
    pub size: MemSize,
    pub kind: CtxAccessKind,
}

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum CtxError {
    #[error("instruction {pc}: accesses the context on some paths and other memory on others")]
    Ambiguous { pc: usize },
    #[error("instruction {pc}: dereference of a modified context pointer (offset {offset} from the context)")]
    Modified { pc: usize, offset: i64 },
}

/// Finds every context access of the program.
pub fn accesses(cfg: &Cfg) -> Result<Vec<CtxAccess>, CtxError> {
    let solution = solve::<State>(cfg);
    let mut out = Vec::new();
    for (i, state) in solution.before.iter().enumerate() {
        let Some(state) = state else { continue };
        let (base, off, size, kind) = match cfg.insns[i] {
            Insn::Load {
                size,
                sign_extend,
                src,
                off,
                ..
            } => (src, off, size, CtxAccessKind::Load { sign_extend }),
            Insn::Store { size, dst, off, .. } => (dst, off, size, CtxAccessKind::Store),
            Insn::Atomic { size, dst, off, .. } => (dst, off, size, CtxAccessKind::Atomic),
            _ => continue,
        };
        let pc = cfg.pcs[i];
        match state.reg(base) {
            Value::Ctx(0) => out.push(CtxAccess {
                insn: i,
                offset: off as i64,
                size,
                kind,
            }),
            Value::Ctx(offset) => return Err(CtxError::Modified { pc, offset }),
            Value::Mixed => return Err(CtxError::Ambiguous { pc }),
            _ => {}
        }
    }
    Ok(out)
}
