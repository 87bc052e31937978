//! ALU operations whose BPF semantics differ from Cranelift's instructions:
//! division and modulo (Cranelift traps where BPF defines a result), byte
//! order, and the widening of 32-bit results; and a pattern clang emits
//! that one machine instruction does better (single-bit products; values
//! read a byte at a time are in `wide_loads.rs`).

use cranelift_codegen::ir::condcodes::IntCC;
use cranelift_codegen::ir::types::{I16, I32, I64};
use cranelift_codegen::ir::{
    DataFlowGraph, InstBuilder, InstructionData, Opcode, Type, Value, ValueDef,
};
use cranelift_frontend::FunctionBuilder;
use waggle_isa::EndianOp;

/// A constant of type `ty` from the low bits of `v` (Cranelift's canonical
/// form for narrow constants is the value masked to the type's width).
pub(crate) fn iconst(b: &mut FunctionBuilder<'_>, ty: Type, v: i64) -> Value {
    let masked = match ty.bits() {
        64 => v,
        bits => v & ((1i64 << bits) - 1),
    };
    b.ins().iconst(ty, masked)
}

/// The value of `v` if an `iconst` defines it.
pub(crate) fn constant(dfg: &DataFlowGraph, v: Value) -> Option<i64> {
    let ValueDef::Result(inst, _) = dfg.value_def(dfg.resolve_aliases(v)) else {
        return None;
    };
    match dfg.insts[inst] {
        InstructionData::UnaryImm {
            opcode: Opcode::Iconst,
            imm,
        } => Some(imm.bits()),
        _ => None,
    }
}

/// A 32-bit result zero-extended to 64 bits, as every 32-bit ALU operation
/// leaves its destination; 64-bit values pass through.
pub(crate) fn widen(b: &mut FunctionBuilder<'_>, v: Value) -> Value {
    if b.func.dfg.value_type(v) == I64 {
        v
    } else {
        b.ins().uextend(I64, v)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DivKind {
    Div,
    Sdiv,
    Mod,
    Smod,
}

/// `a / b` or `a % b` with BPF's edge cases, in the type of `a`:
/// division by zero yields 0, modulo by zero keeps the dividend, and signed
/// `MIN / -1` wraps to `MIN` (`MIN % -1` is 0).
///
/// Cranelift's `udiv`/`sdiv` trap on a zero divisor and `sdiv` on overflow,
/// so a register divisor of 0 (or -1, signed) is replaced by 1 and the BPF
/// result selected afterwards: no branch, no trap. An immediate divisor is
/// resolved at compile time, which leaves a plain division by a constant
/// that Cranelift strength-reduces.
pub(crate) fn div(
    b: &mut FunctionBuilder<'_>,
    kind: DivKind,
    a: Value,
    divisor: Value,
    imm: Option<i64>,
) -> Value {
    let ty = b.func.dfg.value_type(a);
    let signed = matches!(kind, DivKind::Sdiv | DivKind::Smod);
    let rem = matches!(kind, DivKind::Mod | DivKind::Smod);
    let op = |b: &mut FunctionBuilder<'_>, x: Value, y: Value| match kind {
        DivKind::Div => b.ins().udiv(x, y),
        DivKind::Sdiv => b.ins().sdiv(x, y),
        DivKind::Mod => b.ins().urem(x, y),
        DivKind::Smod => b.ins().srem(x, y),
    };
    if let Some(imm) = imm {
        // The immediate as the operation sees it: sign-extended to 64 bits,
        // or its low 32 bits.
        let c = if ty == I64 { imm } else { imm as i32 as i64 };
        return match (c, signed, rem) {
            (0, _, false) => iconst(b, ty, 0),
            (0, _, true) => a,
            (-1, true, false) => b.ins().ineg(a),
            (-1, true, true) => iconst(b, ty, 0),
            (c, false, _) if ty == I32 => match magic_u32(c as u32) {
                Some((m, k)) => {
                    let x = b.ins().uextend(I64, a);
                    let p = b.ins().imul_imm_u(x, i64::from(m));
                    let q = b.ins().ushr_imm_u(p, i64::from(k));
                    let q = b.ins().ireduce(I32, q);
                    if rem {
                        let qd = b.ins().imul_imm_u(q, c);
                        b.ins().isub(a, qd)
                    } else {
                        q
                    }
                }
                None => op(b, a, divisor),
            },
            _ => op(b, a, divisor),
        };
    }
    let zero = iconst(b, ty, 0);
    let one = iconst(b, ty, 1);
    let is_zero = b.ins().icmp_imm_s(IntCC::Equal, divisor, 0);
    if !signed {
        let safe = b.ins().select(is_zero, one, divisor);
        let r = op(b, a, safe);
        let on_zero = if rem { a } else { zero };
        return b.ins().select(is_zero, on_zero, r);
    }
    let is_minus_one = b.ins().icmp_imm_s(IntCC::Equal, divisor, -1);
    let unsafe_divisor = b.ins().bor(is_zero, is_minus_one);
    let safe = b.ins().select(unsafe_divisor, one, divisor);
    // With a divisor of 1 in place of -1 the remainder is already right (0);
    // the quotient must be negated (wrapping, so MIN stays MIN).
    let r = op(b, a, safe);
    let r = if rem {
        r
    } else {
        let negated = b.ins().ineg(a);
        b.ins().select(is_minus_one, negated, r)
    };
    let on_zero = if rem { a } else { zero };
    b.ins().select(is_zero, on_zero, r)
}

/// A multiplier `m < 2^32` and shift `k` with `(x * m) >> k == x / d` for
/// every 32-bit `x`, if `d` has one and is not a power of two.
///
/// With both factors under 2^32 the product fits a 64-bit register, so the
/// quotient is one ordinary multiply and shift. Cranelift's own lowering of
/// a 32-bit division by a constant takes the high half of a multiply, which
/// x86-64 only has with `rdx` fixed as an operand; that fixed register makes
/// the register allocator shuffle the values a loop carries around it.
/// `m = ceil(2^k / d)` is exact for every `x < 2^32` when its rounding error
/// `m * d - 2^k` is at most `2^(k - 32)` (Granlund and Montgomery).
fn magic_u32(d: u32) -> Option<(u32, u32)> {
    if d < 2 || d.is_power_of_two() {
        return None;
    }
    (32..64u32).find_map(|k| {
        let pow = 1u128 << k;
        let m = pow.div_ceil(u128::from(d));
        let err = m * u128::from(d) - pow;
        (m <= u128::from(u32::MAX) && err <= 1u128 << (k - 32)).then_some((m as u32, k))
    })
}

/// `BPF_END`: keep the low `bits` of `v`, byte-swapped when the conversion
/// asks for the other byte order than the host's; zero-extended to 64 bits.
pub(crate) fn endian(b: &mut FunctionBuilder<'_>, op: EndianOp, bits: u8, v: Value) -> Value {
    let host_le = cfg!(target_endian = "little");
    let swap = match op {
        EndianOp::ToLe => !host_le,
        EndianOp::ToBe => host_le,
        EndianOp::Swap => true,
    };
    let ty = match bits {
        16 => I16,
        32 => I32,
        _ => I64,
    };
    let narrow = if ty == I64 { v } else { b.ins().ireduce(ty, v) };
    let r = if swap { b.ins().bswap(narrow) } else { narrow };
    widen(b, r)
}

/// `a * b`. When one factor is 0 or 1 by construction (`x & 1`, as clang
/// writes "this bit times a constant" in CRC and similar loops), the product
/// is the other factor or zero, selected by the bit: a test and a
/// conditional move (`test x, 1; cmov`), where the multiplication costs
/// three cycles and a negated mask (`-bit & k`) two after the `and`.
pub(crate) fn mul(b: &mut FunctionBuilder<'_>, x: Value, y: Value) -> Value {
    let (bit, other) = match (is_bit(b, x), is_bit(b, y)) {
        (true, _) => (x, y),
        (_, true) => (y, x),
        _ => return b.ins().imul(x, y),
    };
    let ty = b.func.dfg.value_type(other);
    let zero = b.ins().iconst(ty, 0);
    b.ins().select(bit, other, zero)
}

/// Whether `v` is known to be 0 or 1: an `and` with the constant 1, seen
/// through the narrowing and widening of 32-bit operations.
fn is_bit(b: &FunctionBuilder<'_>, v: Value) -> bool {
    let dfg = &b.func.dfg;
    let ValueDef::Result(inst, _) = dfg.value_def(v) else {
        return false;
    };
    match dfg.insts[inst] {
        InstructionData::Unary {
            opcode: Opcode::Ireduce | Opcode::Uextend,
            arg,
        } => is_bit(b, arg),
        InstructionData::Binary {
            opcode: Opcode::Band,
            args,
        } => args.iter().any(|&a| constant(dfg, a) == Some(1)),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::magic_u32;

    /// The multiplier must give the exact quotient for every 32-bit
    /// dividend: checked on the values where rounding errors show (around
    /// multiples of the divisor, and the top of the range) and on a spread
    /// of others, for small, odd, even, large and clang-typical divisors.
    #[test]
    fn magic_division_is_exact() {
        let mut divisors: Vec<u32> = (3..2000u32).filter(|d| !d.is_power_of_two()).collect();
        divisors.extend([
            7,
            10,
            100,
            1000,
            65521,
            65535,
            0xfff1,
            1_000_000_007,
            0x7fff_ffff,
            0x8000_0001,
            0xffff_fffe,
            u32::MAX,
        ]);
        let mut with_magic = 0;
        for d in divisors {
            let Some((m, k)) = magic_u32(d) else { continue };
            with_magic += 1;
            let check = |x: u32| {
                let q = ((u64::from(x) * u64::from(m)) >> k) as u32;
                assert_eq!(q, x / d, "{x} / {d} with m={m:#x} k={k}");
            };
            let mut x = 0x9e37_79b9u32;
            for _ in 0..2000 {
                x ^= x << 13;
                x ^= x >> 17;
                x ^= x << 5;
                check(x);
            }
            for q in [
                1u64,
                2,
                3,
                u64::from(u32::MAX / d) - 1,
                u64::from(u32::MAX / d),
            ] {
                let base = q * u64::from(d);
                for x in [
                    base.saturating_sub(1),
                    base,
                    base + 1,
                    base + u64::from(d) - 1,
                ] {
                    if let Ok(x) = u32::try_from(x) {
                        check(x);
                    }
                }
            }
            for x in [0, 1, u32::MAX, u32::MAX - 1, d - 1, d, d.wrapping_add(1)] {
                check(x);
            }
        }
        // Most divisors have such a multiplier; the rest keep Cranelift's
        // lowering.
        assert!(with_magic > 1000, "{with_magic}");
        assert_eq!(magic_u32(0xfff1), Some((0x8007_8071, 47)));
        assert_eq!(magic_u32(8), None);
    }
}
