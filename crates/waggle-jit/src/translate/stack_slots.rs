//! BPF stack slots kept in machine registers.
//!
//! eBPF has ten registers, so clang spills to the stack wherever a program
//! keeps more values alive, and Linux's JIT (like any one-to-one
//! translation) turns every spill and fill into a memory access. x86-64 and
//! aarch64 have more registers than eBPF, so when no pointer to a
//! function's frame ever exists, its stack is just more variables: each
//! 8-byte slot becomes a Cranelift variable, a load reads bits of it and a
//! store replaces bits of it, and the register allocator keeps it in a
//! register or spills it, as it would a value of its own.
//!
//! "No pointer to the frame" means that `r10` appears only as the base of
//! loads and stores at constant offsets, each inside one 8-byte slot: no
//! copy of `r10`, no arithmetic on it, no atomic on the stack. Then nothing
//! else (helpers, callees, callbacks) can reach the frame, and its bytes are
//! only what these loads and stores make of them.
//!
//! A slot's variable starts at zero, which is what a frame holds in the
//! interpreter when the program starts; a callee's frame may hold older
//! bytes in the interpreter, so promotion is only for verified programs,
//! which never read a stack byte they did not write.

use cranelift_codegen::ir::types::{I16, I32, I64, I8};
use cranelift_codegen::ir::{InstBuilder, Type, Value};
use cranelift_frontend::{FunctionBuilder, Variable};
use std::collections::HashMap;
use waggle_isa::{Insn, MemSize, Reg, Source};

use super::{Function, Layout};

/// The variables standing for a function's stack slots, by slot (the
/// offset from `r10` divided by 8, rounded down).
pub(super) struct StackSlots {
    vars: HashMap<i16, Variable>,
}

/// Where an access at `off` of `size` bytes lies: its slot and the byte
/// offset inside it, if it stays inside one slot of the 512-byte frame.
fn place(off: i16, size: MemSize) -> Option<(i16, u32)> {
    let bytes = size.bytes() as i16;
    if !(-512..0).contains(&off) || off + bytes > 0 {
        return None;
    }
    let slot = off.div_euclid(8);
    let at = off.rem_euclid(8);
    (at + bytes <= 8).then_some((slot, at as u32))
}

impl StackSlots {
    /// The slots of `f`'s frame as variables of `b`, starting at zero, when
    /// nothing can point into the frame (see the module documentation);
    /// `None` otherwise.
    pub fn of(layout: &Layout<'_>, f: &Function, b: &mut FunctionBuilder<'_>) -> Option<Self> {
        let mut slots = Vec::new();
        for &i in &f.body {
            match layout.insn(i) {
                Insn::Load { size, src, off, .. } if src == Reg::R10 => {
                    slots.push(place(off, size)?.0);
                }
                Insn::Store {
                    size,
                    dst,
                    off,
                    src,
                } if dst == Reg::R10 => {
                    if src == Source::Reg(Reg::R10) {
                        return None;
                    }
                    slots.push(place(off, size)?.0);
                }
                insn if mentions_r10(insn) => return None,
                _ => {}
            }
        }
        if slots.is_empty() {
            return None;
        }
        slots.sort_unstable();
        slots.dedup();
        let zero = b.ins().iconst(I64, 0);
        let vars = slots
            .into_iter()
            .map(|slot| {
                let var = b.declare_var(I64);
                b.def_var(var, zero);
                (slot, var)
            })
            .collect();
        Some(StackSlots { vars })
    }

    /// `size` bytes at `r10 + off` (sign-extended if asked), as a 64-bit
    /// value, or `None` if `off` is not one of the function's accesses.
    pub fn load(
        &self,
        b: &mut FunctionBuilder<'_>,
        size: MemSize,
        sign_extend: bool,
        off: i16,
    ) -> Option<Value> {
        let (slot, at) = place(off, size)?;
        let word = b.use_var(*self.vars.get(&slot)?);
        let shifted = match at {
            0 => word,
            at => b.ins().ushr_imm_s(word, i64::from(at * 8)),
        };
        Some(match narrow_type(size) {
            None => shifted,
            Some(ty) => {
                let narrow = b.ins().ireduce(ty, shifted);
                if sign_extend {
                    b.ins().sextend(I64, narrow)
                } else {
                    b.ins().uextend(I64, narrow)
                }
            }
        })
    }

    /// Stores the low `size` bytes of `value` at `r10 + off`; `false` if
    /// `off` is not one of the function's accesses.
    pub fn store(
        &self,
        b: &mut FunctionBuilder<'_>,
        size: MemSize,
        off: i16,
        value: Value,
    ) -> bool {
        let Some((slot, at)) = place(off, size) else {
            return false;
        };
        let Some(&var) = self.vars.get(&slot) else {
            return false;
        };
        let new = match narrow_type(size) {
            None => value,
            Some(ty) => {
                let bits = ty.bits() as i64;
                let mask = ((1u64 << bits) - 1) << (at * 8);
                let old = b.use_var(var);
                let kept = b.ins().band_imm_s(old, !mask as i64);
                let narrow = b.ins().ireduce(ty, value);
                let wide = b.ins().uextend(I64, narrow);
                let placed = match at {
                    0 => wide,
                    at => b.ins().ishl_imm_s(wide, i64::from(at * 8)),
                };
                b.ins().bor(kept, placed)
            }
        };
        b.def_var(var, new);
        true
    }
}

/// The narrow type of an access of `size`, `None` for 8 bytes.
fn narrow_type(size: MemSize) -> Option<Type> {
    match size {
        MemSize::B => Some(I8),
        MemSize::H => Some(I16),
        MemSize::W => Some(I32),
        MemSize::DW => None,
    }
}

/// Whether `insn` reads or writes `r10` other than as the base of a load or
/// store (which [`StackSlots::of`] looks at itself).
fn mentions_r10(insn: Insn) -> bool {
    let reg = |r: Reg| r == Reg::R10;
    let source = |s: Source| s == Source::Reg(Reg::R10);
    match insn {
        Insn::Alu { dst, src, .. } | Insn::Jump { dst, src, .. } => reg(dst) || source(src),
        Insn::Neg { dst, .. } | Insn::Endian { dst, .. } | Insn::CallX { dst } => reg(dst),
        Insn::LdImm64 { dst, .. } => reg(dst),
        Insn::Load { dst, src, .. } => reg(dst) || reg(src),
        Insn::Store { dst, src, .. } => reg(dst) || source(src),
        Insn::Atomic { dst, src, .. } => reg(dst) || reg(src),
        Insn::LdInd { src, .. } => reg(src),
        Insn::Ja { .. } | Insn::JaLong { .. } | Insn::LdAbs { .. } | Insn::Call(_) | Insn::Exit => {
            false
        }
    }
}
