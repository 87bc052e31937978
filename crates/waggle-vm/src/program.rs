//! Preparation: typed instructions to the interpreter's pre-decoded form.
//!
//! Each instruction becomes one 16-byte [`Op`] whose [`Kind`] names the exact
//! operation (width, source kind and size folded in), so the interpreter
//! dispatches once per instruction through a dense jump table and never decodes
//! fields at run time. Branch targets become absolute op indices, immediates
//! are pre-extended to 64 bits, and helper ids are resolved to table slots.

use crate::helpers::{Helper, HelperRegistry};
use crate::interp::MAX_CALL_FRAMES;
use std::sync::Arc;
use thiserror::Error;
use waggle_isa::{
    decode_program, AluOp, AtomicOp, CallTarget, DecodeError, EndianOp, Insn, JmpCond, LdImm64,
    MemSize, Source, Width,
};

/// Why a program cannot be prepared for execution.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum PrepareError {
    #[error(transparent)]
    Decode(#[from] DecodeError),
    #[error("the program is empty")]
    Empty,
    #[error("instruction {pc}: program calls unknown helper {id}")]
    UnknownHelper { pc: usize, id: i32 },
    #[error("instruction {pc}: kernel function calls (kfunc, BTF id {btf_id}) are not supported")]
    Kfunc { pc: usize, btf_id: i32 },
    #[error(
        "instruction {pc}: LD_IMM64 {what} must be resolved by the object loader before execution"
    )]
    UnresolvedLdImm64 { pc: usize, what: &'static str },
    #[error("program of {0} instructions is too large (at most {max})", max = u32::MAX)]
    TooLarge(usize),
}

macro_rules! kinds {
    ($($name:ident),* $(,)?) => {
        /// The operation of an [`Op`]: one variant per (operation, width,
        /// source kind, size) combination.
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        #[repr(u8)]
        pub(crate) enum Kind { $($name),* }
    };
}

kinds! {
    // ALU, 64-bit then 32-bit; I = immediate source, R = register source.
    Add64I, Add64R, Sub64I, Sub64R, Mul64I, Mul64R, Div64I, Div64R, Sdiv64I, Sdiv64R,
    Or64I, Or64R, And64I, And64R, Lsh64I, Lsh64R, Rsh64I, Rsh64R, Mod64I, Mod64R,
    Smod64I, Smod64R, Xor64I, Xor64R, Mov64I, Mov64R, Arsh64I, Arsh64R,
    MovSx8_64, MovSx16_64, MovSx32_64, Neg64,
    Add32I, Add32R, Sub32I, Sub32R, Mul32I, Mul32R, Div32I, Div32R, Sdiv32I, Sdiv32R,
    Or32I, Or32R, And32I, And32R, Lsh32I, Lsh32R, Rsh32I, Rsh32R, Mod32I, Mod32R,
    Smod32I, Smod32R, Xor32I, Xor32R, Mov32I, Mov32R, Arsh32I, Arsh32R,
    MovSx8_32, MovSx16_32, Neg32,
    Le16, Le32, Le64, Be16, Be32, Be64, Swap16, Swap32, Swap64,
    // Jumps.
    Ja,
    Jeq64I, Jeq64R, Jgt64I, Jgt64R, Jge64I, Jge64R, Jset64I, Jset64R, Jne64I, Jne64R,
    Jsgt64I, Jsgt64R, Jsge64I, Jsge64R, Jlt64I, Jlt64R, Jle64I, Jle64R, Jslt64I, Jslt64R,
    Jsle64I, Jsle64R,
    Jeq32I, Jeq32R, Jgt32I, Jgt32R, Jge32I, Jge32R, Jset32I, Jset32R, Jne32I, Jne32R,
    Jsgt32I, Jsgt32R, Jsge32I, Jsge32R, Jlt32I, Jlt32R, Jle32I, Jle32R, Jslt32I, Jslt32R,
    Jsle32I, Jsle32R,
    // Memory.
    LdxB, LdxH, LdxW, LdxDW, LdxsB, LdxsH, LdxsW,
    StB, StH, StW, StDW, StxB, StxH, StxW, StxDW,
    AtomicAdd32, AtomicFetchAdd32, AtomicOr32, AtomicFetchOr32, AtomicAnd32, AtomicFetchAnd32,
    AtomicXor32, AtomicFetchXor32, Xchg32, Cmpxchg32,
    AtomicAdd64, AtomicFetchAdd64, AtomicOr64, AtomicFetchOr64, AtomicAnd64, AtomicFetchAnd64,
    AtomicXor64, AtomicFetchXor64, Xchg64, Cmpxchg64,
    LdImm64,
    LdAbsB, LdAbsH, LdAbsW, LdIndB, LdIndH, LdIndW,
    // Control.
    CallHelper, CallLocal, CallX, Exit,
    // Sentinel after the last instruction: execution that falls through the
    // end of the program lands here.
    FellOff,
}

/// One pre-decoded instruction: 16 bytes, so four share a cache line.
///
/// `off` is the memory offset of loads, stores and atomics, or the absolute
/// target op of jumps and local calls, or the helper slot of helper calls.
/// `imm` is the immediate, sign-extended to 64 bits (the full value for
/// LD_IMM64).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Op {
    pub kind: Kind,
    pub dst: u8,
    pub src: u8,
    pub off: i32,
    pub imm: u64,
}

// The dispatch loop copies one `Op` per instruction; keep it at 16 bytes.
const _: () = assert!(size_of::<Op>() == 16);

/// The value LD_IMM64 loads for a function reference (`BPF_PSEUDO_FUNC`):
/// this tag plus the function's op index. It is no dereferenceable address
/// (non-canonical on x86-64 and aarch64), only a handle for helpers that take
/// callbacks, as the verifier allows no other use.
pub const FUNC_REF_TAG: u64 = 0xbf00_0000_0000_0000;

/// A program ready to run: its pre-decoded ops and resolved helpers.
///
/// Preparation fails on anything the interpreter cannot run (unknown helper,
/// unresolved map reference), so a prepared program never meets an
/// instruction it does not know.
#[derive(Debug, Clone)]
pub struct Program {
    pub(crate) ops: Box<[Op]>,
    /// Original slot index of each op, for error messages (kept out of `Op`
    /// to keep it small).
    pub(crate) slot_of_op: Box<[u32]>,
    /// Helpers named by direct calls, indexed by `Op::off` of `CallHelper`.
    pub(crate) helpers: Box<[Helper]>,
    /// The whole registry, for `callx`, whose target is known only at run time.
    pub(crate) registry: Arc<HelperRegistry>,
    /// Slot count of the original program.
    slots: usize,
    /// Stack frames the program can use: 1 without local calls, else all.
    pub(crate) frames: usize,
    /// Op indices where functions start (the program, local call targets,
    /// function references): the only valid callback targets.
    pub(crate) func_entries: Box<[u32]>,
}

impl Program {
    /// Decodes and prepares raw bytecode.
    pub fn from_bytes(bytes: &[u8], helpers: Arc<HelperRegistry>) -> Result<Program, PrepareError> {
        let insns = decode_program(bytes)?;
        Program::new(&insns, helpers)
    }

    /// Prepares decoded instructions, each with its slot index, as
    /// [`waggle_isa::decode_program`] returns them (branch targets already
    /// validated).
    pub fn new(
        insns: &[(usize, Insn)],
        registry: Arc<HelperRegistry>,
    ) -> Result<Program, PrepareError> {
        let Some(&(last_pc, last)) = insns.last() else {
            return Err(PrepareError::Empty);
        };
        let slots = last_pc + last.slots();
        if slots >= u32::MAX as usize {
            return Err(PrepareError::TooLarge(slots));
        }
        // Slot index to op index: ops are dense, slots skip LD_IMM64 halves.
        let mut op_index = vec![u32::MAX; slots + 1];
        for (i, &(pc, _)) in insns.iter().enumerate() {
            op_index[pc] = i as u32;
        }
        op_index[slots] = insns.len() as u32;
        let target = |pc: usize, off: i64| -> i32 {
            // decode_program guarantees targets land on instruction starts.
            op_index[(pc as i64 + 1 + off) as usize] as i32
        };

        let mut helpers: Vec<Helper> = Vec::new();
        let mut func_refs: Vec<u32> = Vec::new();
        let mut ops = Vec::with_capacity(insns.len() + 1);
        for &(pc, insn) in insns {
            let mut op = Op {
                kind: Kind::Exit,
                dst: 0,
                src: 0,
                off: 0,
                imm: 0,
            };
            match insn {
                Insn::Alu {
                    width,
                    op: alu,
                    dst,
                    src,
                } => {
                    op.dst = dst.num();
                    let reg = set_source(&mut op, src);
                    op.kind = alu_kind(width, alu, reg);
                }
                Insn::Neg { width, dst } => {
                    op.dst = dst.num();
                    op.kind = match width {
                        Width::W64 => Kind::Neg64,
                        Width::W32 => Kind::Neg32,
                    };
                }
                Insn::Endian { op: e, bits, dst } => {
                    op.dst = dst.num();
                    op.kind = endian_kind(e, bits);
                }
                Insn::Jump {
                    width,
                    cond,
                    dst,
                    src,
                    off,
                } => {
                    op.dst = dst.num();
                    let reg = set_source(&mut op, src);
                    op.off = target(pc, off as i64);
                    op.kind = jump_kind(width, cond, reg);
                }
                Insn::Ja { off } => {
                    op.kind = Kind::Ja;
                    op.off = target(pc, off as i64);
                }
                Insn::JaLong { imm } => {
                    op.kind = Kind::Ja;
                    op.off = target(pc, imm as i64);
                }
                Insn::Load {
                    size,
                    sign_extend,
                    dst,
                    src,
                    off,
                } => {
                    op.dst = dst.num();
                    op.src = src.num();
                    op.off = off as i32;
                    op.kind = match (size, sign_extend) {
                        (MemSize::B, false) => Kind::LdxB,
                        (MemSize::H, false) => Kind::LdxH,
                        (MemSize::W, false) => Kind::LdxW,
                        (MemSize::DW, _) => Kind::LdxDW,
                        (MemSize::B, true) => Kind::LdxsB,
                        (MemSize::H, true) => Kind::LdxsH,
                        (MemSize::W, true) => Kind::LdxsW,
                    };
                }
                Insn::Store {
                    size,
                    dst,
                    off,
                    src,
                } => {
                    op.dst = dst.num();
                    op.off = off as i32;
                    let reg = set_source(&mut op, src);
                    op.kind = match (size, reg) {
                        (MemSize::B, false) => Kind::StB,
                        (MemSize::H, false) => Kind::StH,
                        (MemSize::W, false) => Kind::StW,
                        (MemSize::DW, false) => Kind::StDW,
                        (MemSize::B, true) => Kind::StxB,
                        (MemSize::H, true) => Kind::StxH,
                        (MemSize::W, true) => Kind::StxW,
                        (MemSize::DW, true) => Kind::StxDW,
                    };
                }
                Insn::Atomic {
                    size,
                    op: a,
                    dst,
                    src,
                    off,
                } => {
                    op.dst = dst.num();
                    op.src = src.num();
                    op.off = off as i32;
                    op.kind = atomic_kind(size, a);
                }
                Insn::LdImm64 { dst, value } => {
                    op.dst = dst.num();
                    op.kind = Kind::LdImm64;
                    op.imm = match value {
                        LdImm64::Imm(v) => v,
                        LdImm64::Func(off) => {
                            let entry = target(pc, off as i64);
                            func_refs.push(entry as u32);
                            FUNC_REF_TAG | entry as u64
                        }
                        other => {
                            return Err(PrepareError::UnresolvedLdImm64 {
                                pc,
                                what: ld_imm64_name(other),
                            })
                        }
                    };
                }
                Insn::LdAbs { size, imm } => {
                    op.imm = imm as i64 as u64;
                    op.kind = match size {
                        MemSize::B => Kind::LdAbsB,
                        MemSize::H => Kind::LdAbsH,
                        _ => Kind::LdAbsW,
                    };
                }
                Insn::LdInd { size, src, imm } => {
                    op.src = src.num();
                    op.imm = imm as i64 as u64;
                    op.kind = match size {
                        MemSize::B => Kind::LdIndB,
                        MemSize::H => Kind::LdIndH,
                        _ => Kind::LdIndW,
                    };
                }
                Insn::Call(CallTarget::Helper(id)) => {
                    let helper = u32::try_from(id)
                        .ok()
                        .and_then(|id| registry.get(id))
                        .ok_or(PrepareError::UnknownHelper { pc, id })?;
                    let slot = match helpers.iter().position(|h| h.id == helper.id) {
                        Some(slot) => slot,
                        None => {
                            helpers.push(helper.clone());
                            helpers.len() - 1
                        }
                    };
                    op.kind = Kind::CallHelper;
                    op.off = slot as i32;
                }
                Insn::Call(CallTarget::Local(off)) => {
                    op.kind = Kind::CallLocal;
                    op.off = target(pc, off as i64);
                }
                Insn::Call(CallTarget::Kfunc { btf_id, .. }) => {
                    return Err(PrepareError::Kfunc { pc, btf_id });
                }
                Insn::CallX { dst } => {
                    op.kind = Kind::CallX;
                    op.dst = dst.num();
                }
                Insn::Exit => op.kind = Kind::Exit,
            }
            ops.push(op);
        }
        ops.push(Op {
            kind: Kind::FellOff,
            dst: 0,
            src: 0,
            off: 0,
            imm: 0,
        });
        let slot_of_op = insns
            .iter()
            .map(|&(pc, _)| pc as u32)
            .chain([slots as u32])
            .collect();
        let has_calls = ops.iter().any(|op| op.kind == Kind::CallLocal);
        let mut func_entries: Vec<u32> = std::iter::once(0)
            .chain(func_refs)
            .chain(
                ops.iter()
                    .filter(|op| op.kind == Kind::CallLocal)
                    .map(|op| op.off as u32),
            )
            .collect();
        func_entries.sort_unstable();
        func_entries.dedup();
        Ok(Program {
            frames: if has_calls { MAX_CALL_FRAMES } else { 1 },
            func_entries: func_entries.into_boxed_slice(),
            ops: ops.into_boxed_slice(),
            slot_of_op,
            helpers: helpers.into_boxed_slice(),
            registry,
            slots,
        })
    }

    /// Number of 8-byte slots in the original program.
    pub fn slot_count(&self) -> usize {
        self.slots
    }

    /// The helper registry the program was prepared against.
    pub fn registry(&self) -> &Arc<HelperRegistry> {
        &self.registry
    }

    /// The stack frames the program can use: 1 without local calls, else
    /// all ([`MAX_CALL_FRAMES`]).
    pub fn frames(&self) -> usize {
        self.frames
    }

    /// The helpers the program's direct calls name, each once, in the order
    /// of their first call.
    pub fn helpers(&self) -> &[Helper] {
        &self.helpers
    }

    /// For the instruction at index `i` of those [`Program::new`] took: the
    /// index in [`Program::helpers`] of the helper it calls, if it is a
    /// direct helper call.
    pub fn helper_index(&self, i: usize) -> Option<usize> {
        let op = self.ops.get(i)?;
        (op.kind == Kind::CallHelper).then_some(op.off as usize)
    }
}

fn ld_imm64_name(v: LdImm64) -> &'static str {
    match v {
        LdImm64::Imm(_) => "immediate",
        LdImm64::MapFd(_) => "map fd reference",
        LdImm64::MapValue { .. } => "map value reference",
        LdImm64::BtfId { .. } => "BTF id reference",
        LdImm64::Func(_) => "function reference",
        LdImm64::MapIdx(_) => "map index reference",
        LdImm64::MapIdxValue { .. } => "map index value reference",
    }
}

/// Fills `src`/`imm` from a [`Source`]; returns whether it is a register.
fn set_source(op: &mut Op, src: Source) -> bool {
    match src {
        Source::Reg(r) => {
            op.src = r.num();
            true
        }
        Source::Imm(imm) => {
            op.imm = imm as i64 as u64;
            false
        }
    }
}

fn alu_kind(width: Width, op: AluOp, reg: bool) -> Kind {
    use Kind::*;
    // (immediate, register) kinds per operation and width.
    let (i, r) = match (width, op) {
        (Width::W64, AluOp::Add) => (Add64I, Add64R),
        (Width::W64, AluOp::Sub) => (Sub64I, Sub64R),
        (Width::W64, AluOp::Mul) => (Mul64I, Mul64R),
        (Width::W64, AluOp::Div) => (Div64I, Div64R),
        (Width::W64, AluOp::Sdiv) => (Sdiv64I, Sdiv64R),
        (Width::W64, AluOp::Or) => (Or64I, Or64R),
        (Width::W64, AluOp::And) => (And64I, And64R),
        (Width::W64, AluOp::Lsh) => (Lsh64I, Lsh64R),
        (Width::W64, AluOp::Rsh) => (Rsh64I, Rsh64R),
        (Width::W64, AluOp::Mod) => (Mod64I, Mod64R),
        (Width::W64, AluOp::Smod) => (Smod64I, Smod64R),
        (Width::W64, AluOp::Xor) => (Xor64I, Xor64R),
        (Width::W64, AluOp::Mov) => (Mov64I, Mov64R),
        (Width::W64, AluOp::Arsh) => (Arsh64I, Arsh64R),
        (Width::W64, AluOp::MovSx8) => (MovSx8_64, MovSx8_64),
        (Width::W64, AluOp::MovSx16) => (MovSx16_64, MovSx16_64),
        (Width::W64, AluOp::MovSx32) => (MovSx32_64, MovSx32_64),
        (Width::W32, AluOp::Add) => (Add32I, Add32R),
        (Width::W32, AluOp::Sub) => (Sub32I, Sub32R),
        (Width::W32, AluOp::Mul) => (Mul32I, Mul32R),
        (Width::W32, AluOp::Div) => (Div32I, Div32R),
        (Width::W32, AluOp::Sdiv) => (Sdiv32I, Sdiv32R),
        (Width::W32, AluOp::Or) => (Or32I, Or32R),
        (Width::W32, AluOp::And) => (And32I, And32R),
        (Width::W32, AluOp::Lsh) => (Lsh32I, Lsh32R),
        (Width::W32, AluOp::Rsh) => (Rsh32I, Rsh32R),
        (Width::W32, AluOp::Mod) => (Mod32I, Mod32R),
        (Width::W32, AluOp::Smod) => (Smod32I, Smod32R),
        (Width::W32, AluOp::Xor) => (Xor32I, Xor32R),
        (Width::W32, AluOp::Mov) => (Mov32I, Mov32R),
        (Width::W32, AluOp::Arsh) => (Arsh32I, Arsh32R),
        (Width::W32, AluOp::MovSx8) => (MovSx8_32, MovSx8_32),
        (Width::W32, AluOp::MovSx16) => (MovSx16_32, MovSx16_32),
        // No encoding has it (the decoder admits movsx32 only in 64-bit form),
        // but a hand-built `Insn` can: sign-extending 32 bits into 32 bits is a
        // plain 32-bit move.
        (Width::W32, AluOp::MovSx32) => (Mov32R, Mov32R),
    };
    if reg {
        r
    } else {
        i
    }
}

fn endian_kind(op: EndianOp, bits: u8) -> Kind {
    match (op, bits) {
        (EndianOp::ToLe, 16) => Kind::Le16,
        (EndianOp::ToLe, 32) => Kind::Le32,
        (EndianOp::ToLe, _) => Kind::Le64,
        (EndianOp::ToBe, 16) => Kind::Be16,
        (EndianOp::ToBe, 32) => Kind::Be32,
        (EndianOp::ToBe, _) => Kind::Be64,
        (EndianOp::Swap, 16) => Kind::Swap16,
        (EndianOp::Swap, 32) => Kind::Swap32,
        (EndianOp::Swap, _) => Kind::Swap64,
    }
}

fn jump_kind(width: Width, cond: JmpCond, reg: bool) -> Kind {
    use Kind::*;
    let (i, r) = match (width, cond) {
        (Width::W64, JmpCond::Eq) => (Jeq64I, Jeq64R),
        (Width::W64, JmpCond::Gt) => (Jgt64I, Jgt64R),
        (Width::W64, JmpCond::Ge) => (Jge64I, Jge64R),
        (Width::W64, JmpCond::Set) => (Jset64I, Jset64R),
        (Width::W64, JmpCond::Ne) => (Jne64I, Jne64R),
        (Width::W64, JmpCond::Sgt) => (Jsgt64I, Jsgt64R),
        (Width::W64, JmpCond::Sge) => (Jsge64I, Jsge64R),
        (Width::W64, JmpCond::Lt) => (Jlt64I, Jlt64R),
        (Width::W64, JmpCond::Le) => (Jle64I, Jle64R),
        (Width::W64, JmpCond::Slt) => (Jslt64I, Jslt64R),
        (Width::W64, JmpCond::Sle) => (Jsle64I, Jsle64R),
        (Width::W32, JmpCond::Eq) => (Jeq32I, Jeq32R),
        (Width::W32, JmpCond::Gt) => (Jgt32I, Jgt32R),
        (Width::W32, JmpCond::Ge) => (Jge32I, Jge32R),
        (Width::W32, JmpCond::Set) => (Jset32I, Jset32R),
        (Width::W32, JmpCond::Ne) => (Jne32I, Jne32R),
        (Width::W32, JmpCond::Sgt) => (Jsgt32I, Jsgt32R),
        (Width::W32, JmpCond::Sge) => (Jsge32I, Jsge32R),
        (Width::W32, JmpCond::Lt) => (Jlt32I, Jlt32R),
        (Width::W32, JmpCond::Le) => (Jle32I, Jle32R),
        (Width::W32, JmpCond::Slt) => (Jslt32I, Jslt32R),
        (Width::W32, JmpCond::Sle) => (Jsle32I, Jsle32R),
    };
    if reg {
        r
    } else {
        i
    }
}

fn atomic_kind(size: MemSize, op: AtomicOp) -> Kind {
    use Kind::*;
    let (k32, k64) = match op {
        AtomicOp::Add { fetch: false } => (AtomicAdd32, AtomicAdd64),
        AtomicOp::Add { fetch: true } => (AtomicFetchAdd32, AtomicFetchAdd64),
        AtomicOp::Or { fetch: false } => (AtomicOr32, AtomicOr64),
        AtomicOp::Or { fetch: true } => (AtomicFetchOr32, AtomicFetchOr64),
        AtomicOp::And { fetch: false } => (AtomicAnd32, AtomicAnd64),
        AtomicOp::And { fetch: true } => (AtomicFetchAnd32, AtomicFetchAnd64),
        AtomicOp::Xor { fetch: false } => (AtomicXor32, AtomicXor64),
        AtomicOp::Xor { fetch: true } => (AtomicFetchXor32, AtomicFetchXor64),
        AtomicOp::Xchg => (Xchg32, Xchg64),
        AtomicOp::Cmpxchg => (Cmpxchg32, Cmpxchg64),
    };
    if size == MemSize::DW {
        k64
    } else {
        k32
    }
}
