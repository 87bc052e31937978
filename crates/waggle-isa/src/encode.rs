//! Typed instructions to raw slots. Total: every `Insn` has an encoding.

use crate::insn::*;
use crate::opcode::*;
use crate::raw::RawInsn;

fn size_bits(size: MemSize) -> u8 {
    match size {
        MemSize::B => BPF_B,
        MemSize::H => BPF_H,
        MemSize::W => BPF_W,
        MemSize::DW => BPF_DW,
    }
}

fn alu_class(width: Width) -> u8 {
    match width {
        Width::W32 => BPF_ALU,
        Width::W64 => BPF_ALU64,
    }
}

fn jmp_class(width: Width) -> u8 {
    match width {
        Width::W32 => BPF_JMP32,
        Width::W64 => BPF_JMP,
    }
}

/// Source bit, source register and immediate of a [`Source`].
fn source_fields(src: Source) -> (u8, u8, i32) {
    match src {
        Source::Reg(r) => (BPF_X, r.num(), 0),
        Source::Imm(imm) => (BPF_K, 0, imm),
    }
}

fn cond_code(cond: JmpCond) -> u8 {
    match cond {
        JmpCond::Eq => BPF_JEQ,
        JmpCond::Gt => BPF_JGT,
        JmpCond::Ge => BPF_JGE,
        JmpCond::Set => BPF_JSET,
        JmpCond::Ne => BPF_JNE,
        JmpCond::Sgt => BPF_JSGT,
        JmpCond::Sge => BPF_JSGE,
        JmpCond::Lt => BPF_JLT,
        JmpCond::Le => BPF_JLE,
        JmpCond::Slt => BPF_JSLT,
        JmpCond::Sle => BPF_JSLE,
    }
}

fn alu_code(op: AluOp) -> (u8, i16) {
    match op {
        AluOp::Add => (BPF_ADD, 0),
        AluOp::Sub => (BPF_SUB, 0),
        AluOp::Mul => (BPF_MUL, 0),
        AluOp::Div => (BPF_DIV, 0),
        AluOp::Sdiv => (BPF_DIV, 1),
        AluOp::Or => (BPF_OR, 0),
        AluOp::And => (BPF_AND, 0),
        AluOp::Lsh => (BPF_LSH, 0),
        AluOp::Rsh => (BPF_RSH, 0),
        AluOp::Mod => (BPF_MOD, 0),
        AluOp::Smod => (BPF_MOD, 1),
        AluOp::Xor => (BPF_XOR, 0),
        AluOp::Mov => (BPF_MOV, 0),
        AluOp::MovSx8 => (BPF_MOV, 8),
        AluOp::MovSx16 => (BPF_MOV, 16),
        AluOp::MovSx32 => (BPF_MOV, 32),
        AluOp::Arsh => (BPF_ARSH, 0),
    }
}

fn atomic_imm(op: AtomicOp) -> i32 {
    let f = |fetch: bool| if fetch { BPF_FETCH } else { 0 };
    match op {
        AtomicOp::Add { fetch } => 0x00 | f(fetch),
        AtomicOp::Or { fetch } => 0x40 | f(fetch),
        AtomicOp::And { fetch } => 0x50 | f(fetch),
        AtomicOp::Xor { fetch } => 0xa0 | f(fetch),
        AtomicOp::Xchg => BPF_XCHG,
        AtomicOp::Cmpxchg => BPF_CMPXCHG,
    }
}

impl Insn {
    /// Appends the instruction's one or two slots to `out`.
    pub fn encode_into(&self, out: &mut Vec<RawInsn>) {
        let one = match *self {
            Insn::Alu {
                width,
                op,
                dst,
                src,
            } => {
                let (code, off) = alu_code(op);
                let (x, s, imm) = source_fields(src);
                RawInsn::new(alu_class(width) | code | x, dst.num(), s, off, imm)
            }
            Insn::Neg { width, dst } => {
                RawInsn::new(alu_class(width) | BPF_NEG, dst.num(), 0, 0, 0)
            }
            Insn::Endian { op, bits, dst } => {
                let opcode = match op {
                    EndianOp::ToLe => BPF_ALU | BPF_END | BPF_TO_LE,
                    EndianOp::ToBe => BPF_ALU | BPF_END | BPF_TO_BE,
                    EndianOp::Swap => BPF_ALU64 | BPF_END | BPF_TO_LE,
                };
                RawInsn::new(opcode, dst.num(), 0, 0, bits as i32)
            }
            Insn::Jump {
                width,
                cond,
                dst,
                src,
                off,
            } => {
                let (x, s, imm) = source_fields(src);
                RawInsn::new(
                    jmp_class(width) | cond_code(cond) | x,
                    dst.num(),
                    s,
                    off,
                    imm,
                )
            }
            Insn::Ja { off } => RawInsn::new(BPF_JMP | BPF_JA, 0, 0, off, 0),
            Insn::JaLong { imm } => RawInsn::new(BPF_JMP32 | BPF_JA, 0, 0, 0, imm),
            Insn::Load {
                size,
                sign_extend,
                dst,
                src,
                off,
            } => {
                let mode = if sign_extend { BPF_MEMSX } else { BPF_MEM };
                RawInsn::new(
                    BPF_LDX | mode | size_bits(size),
                    dst.num(),
                    src.num(),
                    off,
                    0,
                )
            }
            Insn::Store {
                size,
                dst,
                off,
                src,
            } => match src {
                Source::Reg(s) => RawInsn::new(
                    BPF_STX | BPF_MEM | size_bits(size),
                    dst.num(),
                    s.num(),
                    off,
                    0,
                ),
                Source::Imm(imm) => {
                    RawInsn::new(BPF_ST | BPF_MEM | size_bits(size), dst.num(), 0, off, imm)
                }
            },
            Insn::Atomic {
                size,
                op,
                dst,
                src,
                off,
            } => RawInsn::new(
                BPF_STX | BPF_ATOMIC | size_bits(size),
                dst.num(),
                src.num(),
                off,
                atomic_imm(op),
            ),
            Insn::LdImm64 { dst, value } => {
                let (src, lo, hi) = match value {
                    LdImm64::Imm(v) => (0, v as u32 as i32, (v >> 32) as u32 as i32),
                    LdImm64::MapFd(fd) => (BPF_PSEUDO_MAP_FD, fd, 0),
                    LdImm64::MapValue { map_fd, offset } => {
                        (BPF_PSEUDO_MAP_VALUE, map_fd, offset as i32)
                    }
                    LdImm64::BtfId { btf_id, btf_fd } => (BPF_PSEUDO_BTF_ID, btf_id, btf_fd),
                    LdImm64::Func(off) => (BPF_PSEUDO_FUNC, off, 0),
                    LdImm64::MapIdx(idx) => (BPF_PSEUDO_MAP_IDX, idx, 0),
                    LdImm64::MapIdxValue { map_idx, offset } => {
                        (BPF_PSEUDO_MAP_IDX_VALUE, map_idx, offset as i32)
                    }
                };
                out.push(RawInsn::new(
                    BPF_LD | BPF_IMM | BPF_DW,
                    dst.num(),
                    src,
                    0,
                    lo,
                ));
                RawInsn::new(0, 0, 0, 0, hi)
            }
            Insn::LdAbs { size, imm } => {
                RawInsn::new(BPF_LD | BPF_ABS | size_bits(size), 0, 0, 0, imm)
            }
            Insn::LdInd { size, src, imm } => {
                RawInsn::new(BPF_LD | BPF_IND | size_bits(size), 0, src.num(), 0, imm)
            }
            Insn::Call(target) => match target {
                CallTarget::Helper(id) => RawInsn::new(BPF_JMP | BPF_CALL, 0, 0, 0, id),
                CallTarget::Local(off) => {
                    RawInsn::new(BPF_JMP | BPF_CALL, 0, BPF_PSEUDO_CALL, 0, off)
                }
                CallTarget::Kfunc { btf_id, module } => {
                    RawInsn::new(BPF_JMP | BPF_CALL, 0, BPF_PSEUDO_KFUNC_CALL, module, btf_id)
                }
            },
            Insn::CallX { dst } => RawInsn::new(BPF_JMP | BPF_CALL | BPF_X, dst.num(), 0, 0, 0),
            Insn::Exit => RawInsn::new(BPF_JMP | BPF_EXIT, 0, 0, 0, 0),
        };
        out.push(one);
    }

    /// The instruction's slots.
    pub fn encode(&self) -> Vec<RawInsn> {
        let mut v = Vec::with_capacity(2);
        self.encode_into(&mut v);
        v
    }
}

/// Encodes a sequence of instructions to bytes.
pub fn encode_program(insns: &[Insn]) -> Vec<u8> {
    let mut slots = Vec::with_capacity(insns.len() + 4);
    for insn in insns {
        insn.encode_into(&mut slots);
    }
    RawInsn::slice_to_bytes(&slots)
}
