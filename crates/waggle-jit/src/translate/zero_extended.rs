//! Which registers hold a value whose upper 32 bits are zero, before each
//! instruction.
//!
//! A 32-bit move (`w8 = w7`) zero-extends its source. When the source came
//! from another block (a loop's state variable, say), Cranelift only sees a
//! block parameter of 64 bits and emits the zero-extension, a `mov r32, r32`
//! per copy; and since the copy is a new value, the register allocator keeps
//! both and moves between them on the edges. If every path into the move
//! left the source zero-extended (a 32-bit operation, a narrow load, a small
//! constant), the move is a copy of the same value: no instruction at all.
//!
//! This is a forward "must" analysis over the function's instructions (the
//! function as the JIT compiles it), with the instruction set's transfer
//! ([`waggle_isa::Insn::zero_extended_after`], which the verifier's
//! structural facts use too): a register is known zero-extended before an
//! instruction if it is on every path into it.

use super::{Function, Layout};
use waggle_isa::regs::RegSet;

/// Every register, the optimistic start of the fixpoint.
const ALL: RegSet = (1 << 10) - 1;

/// For each instruction of `f` (indexed as the layout), the registers known
/// to hold zero-extended values before it.
pub(super) fn zero_extended(layout: &Layout<'_>, f: &Function) -> Vec<RegSet> {
    let n = layout.len();
    // Optimistic start for everything but the entry, where nothing is
    // known; every instruction of `f.body` is reachable from it.
    let mut before = vec![ALL; n];
    before[f.entry] = 0;
    let mut changed = true;
    while changed {
        changed = false;
        for &i in &f.body {
            let after = layout.insn(i).zero_extended_after(before[i]);
            for s in layout.successors(i).filter(|&s| s < n) {
                let meet = before[s] & after;
                if meet != before[s] && s != f.entry {
                    before[s] = meet;
                    changed = true;
                }
            }
        }
    }
    before
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::functions::testing::with_first_function;

    fn known_before(src: &str, at: usize) -> RegSet {
        with_first_function(src, zero_extended)[at]
    }

    #[test]
    fn registers_are_known_zero_extended_only_on_every_path() {
        // A loop whose state r7 is set by 32-bit moves and a byte load on
        // every path: known at the copy (instruction 6) even around the loop.
        let src = "mov32 %r7, 0\n\
                   ldxb %r6, [%r1]\n\
                   jeq %r6, 1, +2\n\
                   mov32 %r7, 3\n\
                   ja +1\n\
                   ldxb %r7, [%r1+1]\n\
                   mov32 %r8, %r7\n\
                   add %r6, 1\n\
                   jne %r6, 10, -6\n\
                   mov %r0, %r8\n\
                   exit";
        let known = known_before(src, 6);
        assert_eq!(known & 1 << 7, 1 << 7, "{known:#b}");
        // r1 (the context pointer) is never known.
        assert_eq!(known & 1 << 1, 0);
        // One path through a 64-bit load: not known.
        let src = src.replace("ldxb %r7, [%r1+1]", "ldxdw %r7, [%r1+1]");
        assert_eq!(known_before(&src, 6) & 1 << 7, 0);
        // After a call, r0..r5 are not known; r6..r9 keep what they were.
        let src = "mov32 %r2, 1\nmov32 %r6, 1\ncall 5\nmov %r0, %r6\nexit";
        assert_eq!(known_before(src, 3) & 0b100_0100, 1 << 6);
    }
}
