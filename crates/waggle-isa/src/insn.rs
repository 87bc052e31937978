//! The typed instruction: one value per valid RFC 9669 instruction.
//!
//! Every field that the encoding leaves free is a field here, and nothing else:
//! reserved fields do not exist in this representation, so an `Insn` can always
//! be encoded, and decoding is where invalid encodings are rejected.

use std::fmt;

/// A register, `r0` to `r10`. `r10` is the read-only frame pointer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Reg(u8);

impl Reg {
    pub const R0: Reg = Reg(0);
    pub const R1: Reg = Reg(1);
    pub const R2: Reg = Reg(2);
    pub const R3: Reg = Reg(3);
    pub const R4: Reg = Reg(4);
    pub const R5: Reg = Reg(5);
    pub const R6: Reg = Reg(6);
    pub const R7: Reg = Reg(7);
    pub const R8: Reg = Reg(8);
    pub const R9: Reg = Reg(9);
    /// The frame pointer.
    pub const R10: Reg = Reg(10);
    /// Number of registers.
    pub const COUNT: usize = 11;

    /// Returns the register numbered `n`, or `None` past `r10`.
    pub const fn new(n: u8) -> Option<Reg> {
        if n <= 10 {
            Some(Reg(n))
        } else {
            None
        }
    }

    pub const fn num(self) -> u8 {
        self.0
    }

    pub const fn index(self) -> usize {
        self.0 as usize
    }
}

impl fmt::Display for Reg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "r{}", self.0)
    }
}

/// Operand width of ALU and jump instructions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Width {
    /// `BPF_ALU` / `BPF_JMP32`: operate on the low 32 bits; ALU results are
    /// zero-extended to 64 bits.
    W32,
    /// `BPF_ALU64` / `BPF_JMP`.
    W64,
}

/// The second operand of ALU, jump and store instructions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Source {
    Reg(Reg),
    /// A 32-bit immediate; 64-bit operations sign-extend it.
    Imm(i32),
}

/// Binary ALU operations.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AluOp {
    Add,
    Sub,
    Mul,
    /// Unsigned division; division by zero yields zero.
    Div,
    /// Signed division (`offset = 1`); division by zero yields zero.
    Sdiv,
    Or,
    And,
    Lsh,
    Rsh,
    /// Unsigned modulo; modulo by zero leaves the destination unchanged.
    Mod,
    /// Signed modulo (`offset = 1`); modulo by zero leaves the destination unchanged.
    Smod,
    Xor,
    Mov,
    /// Sign-extending move of the low 8 bits (`offset = 8`, register source only).
    MovSx8,
    /// Sign-extending move of the low 16 bits (`offset = 16`).
    MovSx16,
    /// Sign-extending move of the low 32 bits (`offset = 32`, 64-bit only).
    MovSx32,
    Arsh,
}

/// Byte-order conversions (`BPF_END`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EndianOp {
    /// `BPF_ALU | BPF_END | BPF_TO_LE`: truncate to the width (a no-op swap on
    /// little-endian hosts).
    ToLe,
    /// `BPF_ALU | BPF_END | BPF_TO_BE`.
    ToBe,
    /// `BPF_ALU64 | BPF_END`: unconditional byte swap.
    Swap,
}

/// Jump conditions. Signed conditions start with `S`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum JmpCond {
    Eq,
    Gt,
    Ge,
    Set,
    Ne,
    Sgt,
    Sge,
    Lt,
    Le,
    Slt,
    Sle,
}

impl JmpCond {
    pub const ALL: [JmpCond; 11] = [
        JmpCond::Eq,
        JmpCond::Gt,
        JmpCond::Ge,
        JmpCond::Set,
        JmpCond::Ne,
        JmpCond::Sgt,
        JmpCond::Sge,
        JmpCond::Lt,
        JmpCond::Le,
        JmpCond::Slt,
        JmpCond::Sle,
    ];

    /// Evaluates the condition on two 64-bit operands (callers truncate and
    /// sign-extend for 32-bit jumps).
    #[inline(always)]
    pub fn eval64(self, a: u64, b: u64) -> bool {
        match self {
            JmpCond::Eq => a == b,
            JmpCond::Gt => a > b,
            JmpCond::Ge => a >= b,
            JmpCond::Set => a & b != 0,
            JmpCond::Ne => a != b,
            JmpCond::Sgt => (a as i64) > (b as i64),
            JmpCond::Sge => (a as i64) >= (b as i64),
            JmpCond::Lt => a < b,
            JmpCond::Le => a <= b,
            JmpCond::Slt => (a as i64) < (b as i64),
            JmpCond::Sle => (a as i64) <= (b as i64),
        }
    }

    /// Evaluates the condition on the low 32 bits of both operands.
    #[inline(always)]
    pub fn eval32(self, a: u32, b: u32) -> bool {
        match self {
            JmpCond::Eq => a == b,
            JmpCond::Gt => a > b,
            JmpCond::Ge => a >= b,
            JmpCond::Set => a & b != 0,
            JmpCond::Ne => a != b,
            JmpCond::Sgt => (a as i32) > (b as i32),
            JmpCond::Sge => (a as i32) >= (b as i32),
            JmpCond::Lt => a < b,
            JmpCond::Le => a <= b,
            JmpCond::Slt => (a as i32) < (b as i32),
            JmpCond::Sle => (a as i32) <= (b as i32),
        }
    }
}

/// Access size of loads, stores and atomics.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum MemSize {
    B,
    H,
    W,
    DW,
}

impl MemSize {
    /// Size in bytes.
    pub const fn bytes(self) -> usize {
        match self {
            MemSize::B => 1,
            MemSize::H => 2,
            MemSize::W => 4,
            MemSize::DW => 8,
        }
    }
}

/// Atomic read-modify-write operations (`BPF_STX | BPF_ATOMIC`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AtomicOp {
    /// `add`, `or`, `and`, `xor`; with `fetch` the old value is written to the
    /// source register.
    Add {
        fetch: bool,
    },
    Or {
        fetch: bool,
    },
    And {
        fetch: bool,
    },
    Xor {
        fetch: bool,
    },
    /// Exchange: the old value goes to the source register.
    Xchg,
    /// Compare `r0` with memory; store the source register if equal. The old
    /// value goes to `r0` either way.
    Cmpxchg,
}

/// The payload of a 16-byte `LD_IMM64` instruction, by its source-register
/// variant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LdImm64 {
    /// A plain 64-bit constant (`src = 0`).
    Imm(u64),
    /// The address of a map, by file descriptor (`BPF_PSEUDO_MAP_FD`).
    MapFd(i32),
    /// An address inside a map's value, by fd and offset (`BPF_PSEUDO_MAP_VALUE`).
    MapValue { map_fd: i32, offset: u32 },
    /// The address of a kernel variable, by BTF id (`BPF_PSEUDO_BTF_ID`); the
    /// second slot names the BTF object (0 for vmlinux).
    BtfId { btf_id: i32, btf_fd: i32 },
    /// The address of a subprogram, by instruction offset relative to the next
    /// slot after this instruction's first one (`BPF_PSEUDO_FUNC`).
    Func(i32),
    /// The address of a map, by index into the program's map array
    /// (`BPF_PSEUDO_MAP_IDX`).
    MapIdx(i32),
    /// An address inside a map's value, by map index and offset
    /// (`BPF_PSEUDO_MAP_IDX_VALUE`).
    MapIdxValue { map_idx: i32, offset: u32 },
}

/// Targets of `BPF_JMP | BPF_CALL` with an immediate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CallTarget {
    /// A helper function by id (`src = 0`).
    Helper(i32),
    /// A bpf-to-bpf call: the callee starts at `pc + 1 + offset` (`src = 1`).
    Local(i32),
    /// A kernel function by BTF id (`src = 2`); `module` is the index of the BTF
    /// object in the fd array (0 for vmlinux).
    Kfunc { btf_id: i32, module: i16 },
}

/// One eBPF instruction. `LdImm64` occupies two slots; every other variant one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Insn {
    /// `dst = dst op src` (or `dst = src` for moves).
    Alu {
        width: Width,
        op: AluOp,
        dst: Reg,
        src: Source,
    },
    /// `dst = -dst`.
    Neg { width: Width, dst: Reg },
    /// Byte-order conversion of the low `bits` (16, 32 or 64) of `dst`.
    Endian { op: EndianOp, bits: u8, dst: Reg },
    /// `if dst cond src goto pc + 1 + off`.
    Jump {
        width: Width,
        cond: JmpCond,
        dst: Reg,
        src: Source,
        off: i16,
    },
    /// `goto pc + 1 + off`.
    Ja { off: i16 },
    /// `gotol pc + 1 + imm` (`BPF_JMP32 | BPF_JA`, 32-bit offset).
    JaLong { imm: i32 },
    /// `dst = *(size *)(src + off)`, zero- or sign-extended.
    Load {
        size: MemSize,
        sign_extend: bool,
        dst: Reg,
        src: Reg,
        off: i16,
    },
    /// `*(size *)(dst + off) = src`; an immediate source is `BPF_ST`.
    Store {
        size: MemSize,
        dst: Reg,
        off: i16,
        src: Source,
    },
    /// Atomic read-modify-write of `*(size *)(dst + off)` with `src`; `size` is
    /// `W` or `DW`.
    Atomic {
        size: MemSize,
        op: AtomicOp,
        dst: Reg,
        src: Reg,
        off: i16,
    },
    /// `dst = imm64` in one of its variants.
    LdImm64 { dst: Reg, value: LdImm64 },
    /// Legacy packet load: `r0 = ntoh(*(size *)(skb->data + imm))`.
    LdAbs { size: MemSize, imm: i32 },
    /// Legacy packet load: `r0 = ntoh(*(size *)(skb->data + src + imm))`.
    LdInd { size: MemSize, src: Reg, imm: i32 },
    /// Call a helper, a subprogram or a kernel function.
    Call(CallTarget),
    /// Call the helper whose id is in `dst` (`BPF_JMP | BPF_CALL | BPF_X`).
    CallX { dst: Reg },
    /// Return `r0` from the current function.
    Exit,
}

impl Insn {
    /// Number of 8-byte slots the instruction occupies.
    pub const fn slots(&self) -> usize {
        match self {
            Insn::LdImm64 { .. } => 2,
            _ => 1,
        }
    }

    /// The pc-relative branch offset of jumps and local calls, in slots,
    /// relative to the slot after this instruction.
    pub fn branch_offset(&self) -> Option<i64> {
        match *self {
            Insn::Jump { off, .. } | Insn::Ja { off } => Some(off as i64),
            Insn::JaLong { imm } => Some(imm as i64),
            Insn::Call(CallTarget::Local(imm)) => Some(imm as i64),
            Insn::LdImm64 {
                value: LdImm64::Func(imm),
                ..
            } => Some(imm as i64),
            _ => None,
        }
    }

    /// Whether control never falls through to the next instruction.
    pub fn is_terminator(&self) -> bool {
        matches!(self, Insn::Ja { .. } | Insn::JaLong { .. } | Insn::Exit)
    }
}
