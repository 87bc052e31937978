//! Values read a byte at a time, read at once.
//!
//! eBPF programs may not assume that a packet field is aligned, so clang
//! reads a 16-, 32- or 64-bit field of unknown alignment as single bytes
//! put together with shifts and ors: `p[0] << 24 | p[1] << 16 | p[2] << 8 |
//! p[3]` for a big-endian `u32`, seven loads, six shifts and six ors for a
//! `u64`. x86-64 and aarch64 load unaligned values in one instruction, so
//! when an or completes such a value, one wide load (byte-swapped for the
//! big-endian order) replaces the lot.
//!
//! The translator calls [`or`] for every BPF `or`. It describes each operand
//! by what each of its bytes holds ([`Bytes`]: which byte of memory, from
//! which base address, or zero), following loads, constant left shifts by
//! whole bytes, byte swaps, ors of disjoint bytes and the narrowing and
//! widening around 32-bit operations, all exactly. When the or's bytes are
//! bytes `off..off + n` of memory (n = 2, 4 or 8) in little- or big-endian
//! order, with no store or call since the loads in the same block, one
//! `n`-byte load takes the place of the first of them, and every load that
//! went into the value becomes a shift and a mask of the wide one, for
//! whatever else uses it (the optimiser drops them if nothing does). The
//! targets are little-endian, as the byte order of loads here assumes.

use crate::alu;
use cranelift_codegen::cursor::{Cursor, FuncCursor};
use cranelift_codegen::ir::types::{I16, I32, I64};
use cranelift_codegen::ir::{
    Inst, InstBuilder, InstructionData, MemFlagsData, Opcode, Type, Value, ValueDef,
};
use cranelift_frontend::FunctionBuilder;

/// How many instructions [`Bytes::of`] looks at for one or: a 64-bit value
/// put together from bytes takes about 30 (eight loads, seven shifts, seven
/// ors and the widths of 32-bit operations). The bound keeps an or of
/// values that share operands (`x | x`, repeated) from costing exponential
/// time.
const BUDGET: u32 = 64;

/// What each byte of a value holds, least significant first: the offset
/// from `base` of the byte of memory it was loaded from, or `None` for a
/// byte that is zero.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Bytes {
    base: Value,
    lanes: [Option<i32>; 8],
    /// The loads the bytes come from: each instruction, its offset from
    /// `base` and its size in bytes.
    loads: Vec<(Inst, i32, u8)>,
}

impl Bytes {
    /// `v` as bytes of memory, if it is put together from loads only.
    fn of(b: &FunctionBuilder<'_>, v: Value, budget: &mut u32) -> Option<Bytes> {
        *budget = budget.checked_sub(1)?;
        let dfg = &b.func.dfg;
        let ValueDef::Result(inst, _) = dfg.value_def(v) else {
            return None;
        };
        let width = dfg.value_type(v).bytes() as usize;
        let mut bytes = match dfg.insts[inst] {
            InstructionData::Load {
                opcode,
                arg,
                offset,
                ..
            } => {
                let n = match opcode {
                    Opcode::Uload8 => 1,
                    Opcode::Uload16 => 2,
                    Opcode::Uload32 => 4,
                    Opcode::Load if width == 8 => 8,
                    _ => return None,
                };
                let offset: i32 = offset.into();
                let mut lanes = [None; 8];
                for (k, lane) in lanes.iter_mut().enumerate().take(n) {
                    *lane = Some(offset.checked_add(k as i32)?);
                }
                Bytes {
                    base: arg,
                    lanes,
                    loads: vec![(inst, offset, n as u8)],
                }
            }
            InstructionData::Unary {
                opcode: Opcode::Uextend | Opcode::Ireduce,
                arg,
            } => Bytes::of(b, arg, budget)?,
            InstructionData::Unary {
                opcode: Opcode::Bswap,
                arg,
            } => {
                let mut bytes = Bytes::of(b, arg, budget)?;
                bytes.lanes[..width].reverse();
                bytes
            }
            InstructionData::Binary {
                opcode: Opcode::Ishl,
                args: [x, amount],
            } => {
                // Cranelift masks the amount to the width, as BPF does.
                let bits = alu::constant(&b.func.dfg, amount)? & (width as i64 * 8 - 1);
                if bits % 8 != 0 {
                    return None;
                }
                let by = (bits / 8) as usize;
                let mut bytes = Bytes::of(b, x, budget)?;
                bytes.lanes.copy_within(0..8 - by, by);
                bytes.lanes[..by].fill(None);
                bytes
            }
            InstructionData::Binary {
                opcode: Opcode::Bor,
                args: [x, y],
            } => Bytes::of(b, x, budget)?.union(Bytes::of(b, y, budget)?)?,
            _ => return None,
        };
        // Bytes above the value's width are gone (narrowing, shifting).
        bytes.lanes[width..].fill(None);
        Some(bytes)
    }

    /// The bytes of `self | other`, if the two share a base and no byte.
    fn union(mut self, other: Bytes) -> Option<Bytes> {
        if self.base != other.base {
            return None;
        }
        for (mine, theirs) in self.lanes.iter_mut().zip(other.lanes) {
            match (*mine, theirs) {
                (Some(_), Some(_)) => return None,
                (None, Some(t)) => *mine = Some(t),
                _ => {}
            }
        }
        self.loads.extend(other.loads);
        Some(self)
    }

    /// `(offset, n, big_endian)` if the value is bytes `offset..offset + n`
    /// of memory and nothing else, in one byte order.
    fn whole(&self) -> Option<(i32, usize, bool)> {
        let n = self.lanes.iter().take_while(|l| l.is_some()).count();
        if !matches!(n, 2 | 4 | 8) || self.lanes[n..].iter().any(Option::is_some) {
            return None;
        }
        let at = |k: usize| self.lanes[k].expect("counted");
        let little = (0..n).all(|k| at(k) == at(0) + k as i32);
        let big = (0..n).all(|k| at(k) == at(n - 1) + (n - 1 - k) as i32);
        match (little, big) {
            (true, _) => Some((at(0), n, false)),
            (_, true) => Some((at(n - 1), n, true)),
            _ => None,
        }
    }
}

/// `x | y`, as one wide load where the two make up a value read a byte (or
/// a few bytes) at a time (see the module documentation). `flags` are those
/// of the program's loads, which the wide load shares.
pub(crate) fn or(b: &mut FunctionBuilder<'_>, x: Value, y: Value, flags: MemFlagsData) -> Value {
    let ty = b.func.dfg.value_type(x);
    let mut budget = BUDGET;
    let bytes = Bytes::of(b, x, &mut budget)
        .and_then(|bx| bx.union(Bytes::of(b, y, &mut budget)?))
        .and_then(|v| Some((v.whole()?, v)));
    let Some(((offset, n, big_endian), bytes)) = bytes else {
        return b.ins().bor(x, y);
    };
    let mut loads = bytes.loads;
    loads.sort_unstable_by(|&(p, ..), &(q, ..)| b.func.layout.pp_cmp(p, q));
    loads.dedup();
    // Each load must lie inside the wide one (its other users get their
    // value from it), and be narrower than 8 bytes (a mask of its size).
    let inside = loads.iter().all(|&(_, at, size)| {
        let at = i64::from(at) - i64::from(offset);
        size < 8 && at >= 0 && at + i64::from(size) <= n as i64
    });
    let usable = inside
        && n <= ty.bytes() as usize
        && loads.len() >= 2
        && loads.iter().all(|&(load, ..)| unchanged_since(b, load));
    if !usable {
        return b.ins().bor(x, y);
    }
    // The wide load in place of the first load, and each load a part of
    // it: `(wide >> 8 * at) & mask`, without the mask for the top part.
    let mut cursor = FuncCursor::new(b.func).at_inst(loads[0].0);
    let wide = match n {
        2 => cursor.ins().uload16(I64, flags, bytes.base, offset),
        4 => cursor.ins().uload32(flags, bytes.base, offset),
        _ => cursor.ins().load(I64, flags, bytes.base, offset),
    };
    for (load, at, size) in loads {
        let (at, size) = (i64::from(at - offset), i64::from(size));
        let mask = (1i64 << (size * 8)) - 1;
        if at == 0 {
            b.func.replace(load).band_imm_s(wide, mask);
        } else if at + size == n as i64 {
            b.func.replace(load).ushr_imm_s(wide, at * 8);
        } else {
            let shifted = FuncCursor::new(b.func)
                .at_inst(load)
                .ins()
                .ushr_imm_s(wide, at * 8);
            b.func.replace(load).band_imm_s(shifted, mask);
        }
    }
    if !big_endian && ty == I64 {
        // The load zero-extends the value already.
        return wide;
    }
    let narrow = match n {
        2 => I16,
        4 => I32,
        _ => I64,
    };
    let value = if narrow == I64 {
        wide
    } else {
        b.ins().ireduce(narrow, wide)
    };
    let value = if big_endian {
        b.ins().bswap(value)
    } else {
        value
    };
    resize(b, value, ty)
}

/// `v` zero-extended or narrowed to `ty`.
fn resize(b: &mut FunctionBuilder<'_>, v: Value, ty: Type) -> Value {
    let from = b.func.dfg.value_type(v);
    match from.bits().cmp(&ty.bits()) {
        std::cmp::Ordering::Less => b.ins().uextend(ty, v),
        std::cmp::Ordering::Greater => b.ins().ireduce(ty, v),
        std::cmp::Ordering::Equal => v,
    }
}

/// Whether memory is as `load` read it: `load` is in the block being built
/// and nothing after it there may write memory (a store, an atomic, a call).
fn unchanged_since(b: &FunctionBuilder<'_>, load: Inst) -> bool {
    let layout = &b.func.layout;
    if layout.inst_block(load) != b.current_block() {
        return false;
    }
    let mut next = layout.next_inst(load);
    while let Some(inst) = next {
        let op = b.func.dfg.insts[inst].opcode();
        if op.can_store() || op.is_call() {
            return false;
        }
        next = layout.next_inst(inst);
    }
    true
}
