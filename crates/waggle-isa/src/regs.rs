//! What instructions do to registers, for analyses: which of `r0`..`r9`
//! an instruction reads and writes, and which hold zero-extended values
//! after it. The verifier's liveness and facts and the JIT's register
//! allocation choices all start from these.

use crate::{AluOp, AtomicOp, Insn, LdImm64, MemSize, Reg, Source, Width};

/// A set of the registers `r0`..`r9`, bit `n` for `rn`. The frame pointer
/// `r10` is read-only and never in one.
pub type RegSet = u16;

/// `r1`..`r5`: the arguments of a call.
pub const CALL_ARGS: RegSet = 0b11_1110;
/// `r0`..`r5`: what a call leaves undefined (its result and the argument
/// registers it may clobber).
pub const CALLER_SAVED: RegSet = 0b11_1111;

impl Reg {
    /// The register's bit in a [`RegSet`]; none for `r10`.
    pub const fn bit(self) -> RegSet {
        if self.index() < 10 {
            1 << self.index()
        } else {
            0
        }
    }
}

impl Source {
    /// The source register's bit in a [`RegSet`]; none for an immediate.
    pub const fn reg_bit(self) -> RegSet {
        match self {
            Source::Reg(r) => r.bit(),
            Source::Imm(_) => 0,
        }
    }
}

impl Insn {
    /// The registers this instruction reads and those it writes. A call
    /// reads every argument register (a helper's prototype may say fewer)
    /// and writes `r0`..`r5`; a partial write (`r0` of a compare-and-
    /// exchange) counts as a read too.
    pub fn regs_read_written(&self) -> (RegSet, RegSet) {
        match *self {
            Insn::Alu { op, dst, src, .. } => {
                let moves = matches!(
                    op,
                    AluOp::Mov | AluOp::MovSx8 | AluOp::MovSx16 | AluOp::MovSx32
                );
                let dst_read = if moves { 0 } else { dst.bit() };
                (src.reg_bit() | dst_read, dst.bit())
            }
            Insn::Neg { dst, .. } | Insn::Endian { dst, .. } => (dst.bit(), dst.bit()),
            Insn::Jump { dst, src, .. } => (dst.bit() | src.reg_bit(), 0),
            Insn::Ja { .. } | Insn::JaLong { .. } => (0, 0),
            Insn::Load { dst, src, .. } => (src.bit(), dst.bit()),
            Insn::Store { dst, src, .. } => (dst.bit() | src.reg_bit(), 0),
            Insn::Atomic { op, dst, src, .. } => {
                let (read, written) = match op {
                    AtomicOp::Cmpxchg => (Reg::R0.bit(), Reg::R0.bit()),
                    AtomicOp::Xchg
                    | AtomicOp::Add { fetch: true }
                    | AtomicOp::Or { fetch: true }
                    | AtomicOp::And { fetch: true }
                    | AtomicOp::Xor { fetch: true } => (0, src.bit()),
                    _ => (0, 0),
                };
                (dst.bit() | src.bit() | read, written)
            }
            Insn::LdImm64 { dst, .. } => (0, dst.bit()),
            Insn::LdAbs { .. } => (Reg::R6.bit(), CALLER_SAVED),
            Insn::LdInd { src, .. } => (Reg::R6.bit() | src.bit(), CALLER_SAVED),
            Insn::Call(_) => (CALL_ARGS, CALLER_SAVED),
            Insn::CallX { dst } => (CALL_ARGS | dst.bit(), CALLER_SAVED),
            Insn::Exit => (Reg::R0.bit(), 0),
        }
    }

    /// The registers whose upper 32 bits are zero after this instruction,
    /// given those before it, by the way the instruction writes them (a
    /// 32-bit operation, a narrow load, a small constant...), whatever the
    /// numbers involved.
    pub fn zero_extended_after(&self, before: RegSet) -> RegSet {
        let has = |r: Reg| before & r.bit() != 0;
        let set = |r: Reg, zero_extended: bool| {
            if zero_extended {
                before | r.bit()
            } else {
                before & !r.bit()
            }
        };
        let narrow = |size: MemSize| size.bytes() <= 4;
        match *self {
            // Every 32-bit operation zero-extends its result.
            Insn::Alu {
                width: Width::W32,
                dst,
                ..
            } => set(dst, true),
            Insn::Alu {
                width: Width::W64,
                op,
                dst,
                src,
            } => {
                let zero_extended = match (op, src) {
                    (AluOp::Mov, Source::Imm(k)) => k >= 0,
                    (AluOp::Mov, Source::Reg(s)) => has(s),
                    (AluOp::And, Source::Imm(k)) => k >= 0 || has(dst),
                    (AluOp::And, Source::Reg(s)) => has(s) || has(dst),
                    (AluOp::Or | AluOp::Xor, Source::Imm(k)) => k >= 0 && has(dst),
                    (AluOp::Or | AluOp::Xor, Source::Reg(s)) => has(s) && has(dst),
                    (AluOp::Rsh, Source::Imm(k)) => (k & 63) >= 32 || has(dst),
                    // No larger than the dividend or the shifted value.
                    (AluOp::Rsh | AluOp::Div | AluOp::Mod, _) => has(dst),
                    _ => false,
                };
                set(dst, zero_extended)
            }
            Insn::Neg { width, dst } => set(dst, width == Width::W32),
            // Conversions of 16 and 32 bits zero-extend their result.
            Insn::Endian { bits, dst, .. } => set(dst, bits < 64),
            Insn::Load {
                size,
                sign_extend,
                dst,
                ..
            } => set(dst, narrow(size) && !sign_extend),
            Insn::LdImm64 { dst, value } => set(
                dst,
                matches!(value, LdImm64::Imm(v) if v <= u64::from(u32::MAX)),
            ),
            // The old value, zero-extended if 32 bits wide, goes to `src`
            // (to `r0` for a compare-and-exchange).
            Insn::Atomic { size, op, src, .. } => match op {
                AtomicOp::Cmpxchg => set(Reg::R0, narrow(size)),
                AtomicOp::Xchg
                | AtomicOp::Add { fetch: true }
                | AtomicOp::Or { fetch: true }
                | AtomicOp::And { fetch: true }
                | AtomicOp::Xor { fetch: true } => set(src, narrow(size)),
                _ => before,
            },
            // r0 is the loaded value, zero-extended; r1..r5 are clobbered.
            Insn::LdAbs { .. } | Insn::LdInd { .. } => (before & !CALLER_SAVED) | Reg::R0.bit(),
            Insn::Call(_) | Insn::CallX { .. } => before & !CALLER_SAVED,
            Insn::Store { .. }
            | Insn::Jump { .. }
            | Insn::Ja { .. }
            | Insn::JaLong { .. }
            | Insn::Exit => before,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{assemble, Syntax};

    fn insn(src: &str) -> Insn {
        assemble(src, Syntax::Ubpf).unwrap()[0]
    }

    #[test]
    fn reads_and_writes() {
        let r = |n: u16| 1u16 << n;
        assert_eq!(
            insn("add %r1, %r2").regs_read_written(),
            (r(1) | r(2), r(1))
        );
        assert_eq!(insn("mov %r1, %r2").regs_read_written(), (r(2), r(1)));
        assert_eq!(insn("ldxw %r3, [%r10-8]").regs_read_written(), (0, r(3)));
        assert_eq!(
            insn("stxdw [%r4+8], %r5").regs_read_written(),
            (r(4) | r(5), 0)
        );
        assert_eq!(
            insn("call 5").regs_read_written(),
            (CALL_ARGS, CALLER_SAVED)
        );
        assert_eq!(insn("exit").regs_read_written(), (r(0), 0));
        let cmpxchg = insn("lock cmpxchg [%r1+0], %r2").regs_read_written();
        assert_eq!(cmpxchg, (r(0) | r(1) | r(2), r(0)));
    }

    #[test]
    fn zero_extension() {
        let r = |n: u16| 1u16 << n;
        assert_eq!(insn("add32 %r1, 1").zero_extended_after(0), r(1));
        assert_eq!(insn("add %r1, 1").zero_extended_after(r(1)), 0);
        assert_eq!(insn("mov %r1, %r2").zero_extended_after(r(2)), r(1) | r(2));
        assert_eq!(insn("mov %r1, -1").zero_extended_after(r(1)), 0);
        assert_eq!(insn("ldxb %r1, [%r2]").zero_extended_after(0), r(1));
        assert_eq!(insn("ldxdw %r1, [%r2]").zero_extended_after(r(1)), 0);
        assert_eq!(insn("rsh %r1, 32").zero_extended_after(0), r(1));
        assert_eq!(insn("or %r1, %r2").zero_extended_after(r(1)), 0);
        assert_eq!(
            insn("or %r1, %r2").zero_extended_after(r(1) | r(2)),
            r(1) | r(2)
        );
        // A call keeps r6..r9 only.
        assert_eq!(insn("call 5").zero_extended_after(0x3ff), 0x3c0);
    }
}
