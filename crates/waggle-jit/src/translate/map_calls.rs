//! Map helper calls compiled without the helper (see [`crate::maps`]).
//!
//! Which map a call names is known when `r1` holds a constant the caller
//! described: [`KnownRegs`] follows constants through straight-line code
//! (LD_IMM64 and 64-bit moves), which covers what clang emits (`r1 = map
//! ll` just before the call). Knowledge is dropped at every block leader,
//! where other paths join, so a constant is only used when every path to
//! the call loaded it.

use super::{Translator, MEM};
use crate::maps::{helper_id, Lookup};
use cranelift_codegen::ir::condcodes::IntCC;
use cranelift_codegen::ir::types::I64;
use cranelift_codegen::ir::{InstBuilder, SigRef};
use std::ffi::c_void;
use std::ptr::NonNull;
use waggle_isa::{AluOp, AtomicOp, Insn, LdImm64, Reg, Source, Width};

/// Registers whose value is a known constant at the current instruction.
pub(super) struct KnownRegs([Option<u64>; Reg::COUNT]);

impl KnownRegs {
    pub fn new() -> KnownRegs {
        KnownRegs([None; Reg::COUNT])
    }

    pub fn get(&self, r: Reg) -> Option<u64> {
        self.0[r.index()]
    }

    /// Forgets everything: control flow may join here.
    pub fn forget_all(&mut self) {
        self.0 = [None; Reg::COUNT];
    }

    /// Updates what is known after `insn` ran. Every register an
    /// instruction may write is forgotten unless its new value is a known
    /// constant; calls forget `r0`..`r5` (Linux's caller-saved registers).
    pub fn step(&mut self, insn: Insn) {
        let set = |k: &mut Self, r: Reg, v: Option<u64>| k.0[r.index()] = v;
        match insn {
            Insn::LdImm64 { dst, value } => {
                let v = match value {
                    LdImm64::Imm(v) => Some(v),
                    _ => None,
                };
                set(self, dst, v);
            }
            Insn::Alu {
                width: Width::W64,
                op: AluOp::Mov,
                dst,
                src,
            } => {
                let v = match src {
                    Source::Reg(s) => self.get(s),
                    Source::Imm(imm) => Some(imm as i64 as u64),
                };
                set(self, dst, v);
            }
            Insn::Alu { dst, .. }
            | Insn::Neg { dst, .. }
            | Insn::Endian { dst, .. }
            | Insn::Load { dst, .. } => set(self, dst, None),
            Insn::Atomic { op, src, .. } => match op {
                AtomicOp::Cmpxchg => set(self, Reg::R0, None),
                AtomicOp::Xchg
                | AtomicOp::Add { fetch: true }
                | AtomicOp::Or { fetch: true }
                | AtomicOp::And { fetch: true }
                | AtomicOp::Xor { fetch: true } => set(self, src, None),
                AtomicOp::Add { fetch: false }
                | AtomicOp::Or { fetch: false }
                | AtomicOp::And { fetch: false }
                | AtomicOp::Xor { fetch: false } => {}
            },
            Insn::LdAbs { .. } | Insn::LdInd { .. } | Insn::Call(_) | Insn::CallX { .. } => {
                for r in [Reg::R0, Reg::R1, Reg::R2, Reg::R3, Reg::R4, Reg::R5] {
                    set(self, r, None);
                }
            }
            Insn::Store { .. }
            | Insn::Jump { .. }
            | Insn::Ja { .. }
            | Insn::JaLong { .. }
            | Insn::Exit => {}
        }
    }
}

impl Translator<'_, '_> {
    /// Compiles a call of helper `id` without the helper if it is a map
    /// helper on a map described at compile time; returns whether it did.
    pub(super) fn map_call(&mut self, id: i32) -> bool {
        if !matches!(
            id,
            helper_id::LOOKUP | helper_id::UPDATE | helper_id::DELETE
        ) {
            return false;
        }
        let facts = self.facts;
        let Some(access) = self.known.get(Reg::R1).and_then(|a| facts.maps.get(a)) else {
            self.sites.helper_calls += 1;
            return false;
        };
        let map = access.map;
        let done = match id {
            helper_id::LOOKUP => match access.lookup {
                Some(Lookup::Array {
                    base,
                    max_entries,
                    stride,
                }) => {
                    self.array_lookup(base, max_entries, stride);
                    true
                }
                Some(Lookup::Call(f)) => {
                    self.direct_call(self.sigs.map2, f as usize, map, &[Reg::R2]);
                    true
                }
                None => false,
            },
            helper_id::UPDATE => access.update.is_some_and(|f| {
                let args = [Reg::R2, Reg::R3, Reg::R4];
                self.direct_call(self.sigs.map4, f as usize, map, &args);
                true
            }),
            _ => access.delete.is_some_and(|f| {
                self.direct_call(self.sigs.map2, f as usize, map, &[Reg::R2]);
                true
            }),
        };
        if !done {
            self.sites.helper_calls += 1;
        }
        done
    }

    /// `r0` = the address of element `*(u32 *)r2`, or 0 past the end: the
    /// kernel's `array_map_gen_lookup`, without a branch.
    fn array_lookup(&mut self, base: NonNull<u8>, max_entries: u32, stride: u32) {
        let key = self.get(Reg::R2);
        let index = self.b.ins().uload32(MEM, key, 0);
        let inside =
            self.b
                .ins()
                .icmp_imm_u(IntCC::UnsignedLessThan, index, i64::from(max_entries));
        // Both factors are below 2^32: the product fits in 64 bits.
        let offset = self.b.ins().imul_imm_u(index, i64::from(stride));
        let addr = self.b.ins().iadd_imm_u(offset, base.as_ptr() as i64);
        let null = self.b.ins().iconst(I64, 0);
        let r0 = self.b.ins().select(inside, addr, null);
        self.set(Reg::R0, r0);
        self.sites.inlined_lookups += 1;
    }

    /// `r0` = `f(map, args...)`: a map operation that cannot stop the
    /// program, so no status check follows.
    fn direct_call(&mut self, sig: SigRef, f: usize, map: *const c_void, args: &[Reg]) {
        let callee = self.b.ins().iconst(I64, f as i64);
        let mut values = vec![self.b.ins().iconst(I64, map as i64)];
        for &r in args {
            values.push(self.get(r));
        }
        let call = self.b.ins().call_indirect(sig, callee, &values);
        let r0 = self.b.inst_results(call)[0];
        self.set(Reg::R0, r0);
        self.sites.direct_calls += 1;
    }
}
