//! Raw slots to typed instructions, rejecting every encoding Linux rejects.

use crate::insn::*;
use crate::opcode::*;
use crate::raw::RawInsn;
use thiserror::Error;

/// Why an encoding is invalid, without its location.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum DecodeErrorKind {
    #[error("unknown opcode {0:#04x}")]
    UnknownOpcode(u8),
    #[error("invalid {field} register r{value} (registers are r0 to r10)")]
    BadRegister { field: &'static str, value: u8 },
    #[error("reserved field `{field}` is {value}, must be {expected}")]
    ReservedField {
        field: &'static str,
        value: i64,
        expected: i64,
    },
    #[error("invalid immediate {value:#x} for {what}")]
    BadImmediate { what: &'static str, value: i32 },
    #[error("invalid offset {value} for {what}")]
    BadOffset { what: &'static str, value: i16 },
    #[error("LD_IMM64 (opcode 0x18) needs a second slot but the program ends")]
    TruncatedLdImm64,
    #[error("second slot of LD_IMM64 must have opcode, registers and offset zero")]
    BadLdImm64SecondSlot,
    #[error("program length {0} is not a multiple of 8 bytes")]
    PartialSlot(usize),
    #[error("{what} from {from} targets {target}, outside the program (0..{len})")]
    TargetOutOfRange {
        what: &'static str,
        from: usize,
        target: i64,
        len: usize,
    },
    #[error("{what} from {from} targets {target}, the second slot of an LD_IMM64")]
    TargetInsideLdImm64 {
        what: &'static str,
        from: usize,
        target: usize,
    },
}

/// An invalid encoding, with the slot index (`pc`) where it was found.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("instruction {pc}: {kind}")]
pub struct DecodeError {
    pub pc: usize,
    pub kind: DecodeErrorKind,
}

type Kind = DecodeErrorKind;

fn reg(field: &'static str, value: u8) -> Result<Reg, Kind> {
    Reg::new(value).ok_or(Kind::BadRegister { field, value })
}

fn zero(field: &'static str, value: i64) -> Result<(), Kind> {
    if value == 0 {
        Ok(())
    } else {
        Err(Kind::ReservedField {
            field,
            value,
            expected: 0,
        })
    }
}

fn mem_size(opcode: u8) -> MemSize {
    match opcode & 0x18 {
        BPF_W => MemSize::W,
        BPF_H => MemSize::H,
        BPF_B => MemSize::B,
        _ => MemSize::DW,
    }
}

impl Insn {
    /// Decodes the instruction starting at `slots[0]`, reading `slots[1]` too for
    /// LD_IMM64. Errors carry no pc; [`decode_program`] adds it.
    pub fn decode(slots: &[RawInsn]) -> Result<Insn, DecodeErrorKind> {
        let Some(&r) = slots.first() else {
            return Err(Kind::TruncatedLdImm64);
        };
        let op = r.opcode;
        match class(op) {
            BPF_ALU | BPF_ALU64 => decode_alu(r),
            BPF_JMP | BPF_JMP32 => decode_jmp(r),
            BPF_LD => decode_ld(r, slots.get(1).copied()),
            BPF_LDX => {
                let sign_extend = match op & 0xe0 {
                    BPF_MEM => false,
                    BPF_MEMSX if mem_size(op) != MemSize::DW => true,
                    _ => return Err(Kind::UnknownOpcode(op)),
                };
                zero("imm", r.imm as i64)?;
                Ok(Insn::Load {
                    size: mem_size(op),
                    sign_extend,
                    dst: reg("destination", r.dst)?,
                    src: reg("source", r.src)?,
                    off: r.off,
                })
            }
            BPF_ST => {
                if op & 0xe0 != BPF_MEM {
                    return Err(Kind::UnknownOpcode(op));
                }
                zero("src", r.src as i64)?;
                Ok(Insn::Store {
                    size: mem_size(op),
                    dst: reg("destination", r.dst)?,
                    off: r.off,
                    src: Source::Imm(r.imm),
                })
            }
            _ => decode_stx(r),
        }
    }
}

fn decode_alu(r: RawInsn) -> Result<Insn, Kind> {
    let op = r.opcode;
    let width = if class(op) == BPF_ALU64 {
        Width::W64
    } else {
        Width::W32
    };
    let dst = reg("destination", r.dst)?;
    let is_x = op & BPF_X != 0;
    let code = op & 0xf0;
    match code {
        BPF_END => {
            zero("src", r.src as i64)?;
            zero("off", r.off as i64)?;
            let op = match (width, is_x) {
                (Width::W32, false) => EndianOp::ToLe,
                (Width::W32, true) => EndianOp::ToBe,
                (Width::W64, false) => EndianOp::Swap,
                (Width::W64, true) => return Err(Kind::UnknownOpcode(r.opcode)),
            };
            let bits = match r.imm {
                16 | 32 | 64 => r.imm as u8,
                value => {
                    return Err(Kind::BadImmediate {
                        what: "byte swap width (16, 32 or 64)",
                        value,
                    })
                }
            };
            return Ok(Insn::Endian { op, bits, dst });
        }
        BPF_NEG => {
            if is_x {
                return Err(Kind::UnknownOpcode(r.opcode));
            }
            zero("src", r.src as i64)?;
            zero("off", r.off as i64)?;
            zero("imm", r.imm as i64)?;
            return Ok(Insn::Neg { width, dst });
        }
        _ => {}
    }
    let alu = match (code, r.off) {
        (BPF_ADD, 0) => AluOp::Add,
        (BPF_SUB, 0) => AluOp::Sub,
        (BPF_MUL, 0) => AluOp::Mul,
        (BPF_DIV, 0) => AluOp::Div,
        (BPF_DIV, 1) => AluOp::Sdiv,
        (BPF_OR, 0) => AluOp::Or,
        (BPF_AND, 0) => AluOp::And,
        (BPF_LSH, 0) => AluOp::Lsh,
        (BPF_RSH, 0) => AluOp::Rsh,
        (BPF_MOD, 0) => AluOp::Mod,
        (BPF_MOD, 1) => AluOp::Smod,
        (BPF_XOR, 0) => AluOp::Xor,
        (BPF_MOV, 0) => AluOp::Mov,
        (BPF_MOV, 8) if is_x => AluOp::MovSx8,
        (BPF_MOV, 16) if is_x => AluOp::MovSx16,
        (BPF_MOV, 32) if is_x && width == Width::W64 => AluOp::MovSx32,
        (BPF_ARSH, 0) => AluOp::Arsh,
        (0xe0 | 0xf0, _) => return Err(Kind::UnknownOpcode(r.opcode)),
        (_, value) => {
            return Err(Kind::BadOffset {
                what: "this ALU operation",
                value,
            })
        }
    };
    let src = if is_x {
        zero("imm", r.imm as i64)?;
        Source::Reg(reg("source", r.src)?)
    } else {
        zero("src", r.src as i64)?;
        Source::Imm(r.imm)
    };
    Ok(Insn::Alu {
        width,
        op: alu,
        dst,
        src,
    })
}

fn decode_jmp(r: RawInsn) -> Result<Insn, Kind> {
    let op = r.opcode;
    let jmp32 = class(op) == BPF_JMP32;
    let is_x = op & BPF_X != 0;
    let code = op & 0xf0;
    let cond = match code {
        BPF_JA => {
            if is_x {
                return Err(Kind::UnknownOpcode(op));
            }
            zero("dst", r.dst as i64)?;
            zero("src", r.src as i64)?;
            return if jmp32 {
                zero("off", r.off as i64)?;
                Ok(Insn::JaLong { imm: r.imm })
            } else {
                zero("imm", r.imm as i64)?;
                Ok(Insn::Ja { off: r.off })
            };
        }
        BPF_CALL if !jmp32 => return decode_call(r, is_x),
        BPF_EXIT if !jmp32 && !is_x => {
            zero("dst", r.dst as i64)?;
            zero("src", r.src as i64)?;
            zero("off", r.off as i64)?;
            zero("imm", r.imm as i64)?;
            return Ok(Insn::Exit);
        }
        BPF_JEQ => JmpCond::Eq,
        BPF_JGT => JmpCond::Gt,
        BPF_JGE => JmpCond::Ge,
        BPF_JSET => JmpCond::Set,
        BPF_JNE => JmpCond::Ne,
        BPF_JSGT => JmpCond::Sgt,
        BPF_JSGE => JmpCond::Sge,
        BPF_JLT => JmpCond::Lt,
        BPF_JLE => JmpCond::Le,
        BPF_JSLT => JmpCond::Slt,
        BPF_JSLE => JmpCond::Sle,
        _ => return Err(Kind::UnknownOpcode(op)),
    };
    let src = if is_x {
        zero("imm", r.imm as i64)?;
        Source::Reg(reg("source", r.src)?)
    } else {
        zero("src", r.src as i64)?;
        Source::Imm(r.imm)
    };
    Ok(Insn::Jump {
        width: if jmp32 { Width::W32 } else { Width::W64 },
        cond,
        dst: reg("destination", r.dst)?,
        src,
        off: r.off,
    })
}

fn decode_call(r: RawInsn, is_x: bool) -> Result<Insn, Kind> {
    if is_x {
        zero("src", r.src as i64)?;
        zero("off", r.off as i64)?;
        zero("imm", r.imm as i64)?;
        return Ok(Insn::CallX {
            dst: reg("destination", r.dst)?,
        });
    }
    zero("dst", r.dst as i64)?;
    let target = match r.src {
        0 => CallTarget::Helper(r.imm),
        BPF_PSEUDO_CALL => CallTarget::Local(r.imm),
        BPF_PSEUDO_KFUNC_CALL => {
            return Ok(Insn::Call(CallTarget::Kfunc {
                btf_id: r.imm,
                module: r.off,
            }))
        }
        value => {
            return Err(Kind::BadRegister {
                field: "call source (0 helper, 1 local, 2 kfunc)",
                value,
            })
        }
    };
    zero("off", r.off as i64)?;
    Ok(Insn::Call(target))
}

fn decode_ld(r: RawInsn, next: Option<RawInsn>) -> Result<Insn, Kind> {
    let op = r.opcode;
    let size = mem_size(op);
    match op & 0xe0 {
        BPF_IMM if size == MemSize::DW => {
            zero("off", r.off as i64)?;
            let dst = reg("destination", r.dst)?;
            let next = next.ok_or(Kind::TruncatedLdImm64)?;
            if next.opcode != 0 || next.dst != 0 || next.src != 0 || next.off != 0 {
                return Err(Kind::BadLdImm64SecondSlot);
            }
            let lo = r.imm;
            let hi = next.imm;
            let hi_zero = |v: LdImm64| zero("imm of second slot", hi as i64).map(|_| v);
            let value = match r.src {
                0 => LdImm64::Imm((lo as u32 as u64) | ((hi as u32 as u64) << 32)),
                BPF_PSEUDO_MAP_FD => hi_zero(LdImm64::MapFd(lo))?,
                BPF_PSEUDO_MAP_VALUE => LdImm64::MapValue {
                    map_fd: lo,
                    offset: hi as u32,
                },
                BPF_PSEUDO_BTF_ID => LdImm64::BtfId {
                    btf_id: lo,
                    btf_fd: hi,
                },
                BPF_PSEUDO_FUNC => hi_zero(LdImm64::Func(lo))?,
                BPF_PSEUDO_MAP_IDX => hi_zero(LdImm64::MapIdx(lo))?,
                BPF_PSEUDO_MAP_IDX_VALUE => LdImm64::MapIdxValue {
                    map_idx: lo,
                    offset: hi as u32,
                },
                value => {
                    return Err(Kind::BadRegister {
                        field: "LD_IMM64 source (0 to 6)",
                        value,
                    })
                }
            };
            Ok(Insn::LdImm64 { dst, value })
        }
        mode @ (BPF_ABS | BPF_IND) if size != MemSize::DW => {
            zero("dst", r.dst as i64)?;
            zero("off", r.off as i64)?;
            if mode == BPF_ABS {
                zero("src", r.src as i64)?;
                Ok(Insn::LdAbs { size, imm: r.imm })
            } else {
                Ok(Insn::LdInd {
                    size,
                    src: reg("source", r.src)?,
                    imm: r.imm,
                })
            }
        }
        _ => Err(Kind::UnknownOpcode(op)),
    }
}

fn decode_stx(r: RawInsn) -> Result<Insn, Kind> {
    let op = r.opcode;
    let size = mem_size(op);
    let dst = reg("destination", r.dst)?;
    let src = reg("source", r.src)?;
    match op & 0xe0 {
        BPF_MEM => {
            zero("imm", r.imm as i64)?;
            Ok(Insn::Store {
                size,
                dst,
                off: r.off,
                src: Source::Reg(src),
            })
        }
        BPF_ATOMIC if matches!(size, MemSize::W | MemSize::DW) => {
            let fetch = r.imm & BPF_FETCH != 0;
            let aop = match r.imm {
                BPF_XCHG => AtomicOp::Xchg,
                BPF_CMPXCHG => AtomicOp::Cmpxchg,
                imm => match imm & !BPF_FETCH {
                    0x00 => AtomicOp::Add { fetch },
                    0x40 => AtomicOp::Or { fetch },
                    0x50 => AtomicOp::And { fetch },
                    0xa0 => AtomicOp::Xor { fetch },
                    _ => {
                        return Err(Kind::BadImmediate {
                            what: "atomic operation",
                            value: imm,
                        })
                    }
                },
            };
            Ok(Insn::Atomic {
                size,
                op: aop,
                dst,
                src,
                off: r.off,
            })
        }
        _ => Err(Kind::UnknownOpcode(op)),
    }
}

/// Decodes a whole program and checks that every jump, local call and function
/// reference lands on an instruction inside it (not past the end, not on the
/// second slot of an LD_IMM64). Returns each instruction with its slot index.
pub fn decode_program(bytes: &[u8]) -> Result<Vec<(usize, Insn)>, DecodeError> {
    let slots = RawInsn::slice_from_bytes(bytes).ok_or(DecodeError {
        pc: bytes.len() / INSN_SIZE,
        kind: Kind::PartialSlot(bytes.len()),
    })?;
    decode_slots(&slots)
}

/// [`decode_program`] over already split slots.
pub fn decode_slots(slots: &[RawInsn]) -> Result<Vec<(usize, Insn)>, DecodeError> {
    let mut out = Vec::with_capacity(slots.len());
    let mut pc = 0;
    while pc < slots.len() {
        let insn = Insn::decode(&slots[pc..]).map_err(|kind| DecodeError { pc, kind })?;
        out.push((pc, insn));
        pc += insn.slots();
    }
    check_targets(&out, slots.len())?;
    Ok(out)
}

fn check_targets(insns: &[(usize, Insn)], len: usize) -> Result<(), DecodeError> {
    // Slots that are the second half of an LD_IMM64.
    let mut inner = vec![false; len];
    for &(pc, insn) in insns {
        if insn.slots() == 2 {
            inner[pc + 1] = true;
        }
    }
    for &(pc, insn) in insns {
        let Some(off) = insn.branch_offset() else {
            continue;
        };
        let what = match insn {
            Insn::Call(_) => "call",
            Insn::LdImm64 { .. } => "function reference",
            _ => "jump",
        };
        let target = pc as i64 + 1 + off;
        if target < 0 || target >= len as i64 {
            return Err(DecodeError {
                pc,
                kind: Kind::TargetOutOfRange {
                    what,
                    from: pc,
                    target,
                    len,
                },
            });
        }
        if inner[target as usize] {
            return Err(DecodeError {
                pc,
                kind: Kind::TargetInsideLdImm64 {
                    what,
                    from: pc,
                    target: target as usize,
                },
            });
        }
    }
    Ok(())
}
