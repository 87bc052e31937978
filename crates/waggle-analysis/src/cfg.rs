//! Control flow: successors of each instruction and function boundaries.

use waggle_isa::{CallTarget, Insn};

/// A decoded program indexed densely (LD_IMM64 takes one entry), with the
/// slot index of each instruction kept for messages and branch arithmetic.
pub struct Cfg {
    pub insns: Vec<Insn>,
    /// Slot index of each instruction.
    pub pcs: Vec<usize>,
    /// Instruction index of each slot (`usize::MAX` for LD_IMM64 halves).
    index_of_slot: Vec<usize>,
}

/// Where control goes after an instruction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flow {
    /// To the next instruction only.
    Next,
    /// To `target` only.
    Jump(usize),
    /// To the next instruction or to `target`.
    Branch(usize),
    /// A bpf-to-bpf call of the function at `target`, returning to the next
    /// instruction.
    Call(usize),
    /// Return from the current function (or end of the program).
    Exit,
}

impl Cfg {
    /// Builds the graph of a program as `waggle_isa::decode_program` returns
    /// it (branch targets already validated).
    pub fn new(decoded: &[(usize, Insn)]) -> Cfg {
        let slots = decoded.last().map_or(0, |(pc, i)| pc + i.slots());
        let mut index_of_slot = vec![usize::MAX; slots];
        for (i, (pc, _)) in decoded.iter().enumerate() {
            index_of_slot[*pc] = i;
        }
        Cfg {
            insns: decoded.iter().map(|(_, i)| *i).collect(),
            pcs: decoded.iter().map(|(pc, _)| *pc).collect(),
            index_of_slot,
        }
    }

    pub fn len(&self) -> usize {
        self.insns.len()
    }

    pub fn is_empty(&self) -> bool {
        self.insns.is_empty()
    }

    /// The instruction index a branch of instruction `i` with slot offset
    /// `off` lands on.
    fn target(&self, i: usize, off: i64) -> usize {
        let slot = (self.pcs[i] as i64 + 1 + off) as usize;
        self.index_of_slot[slot]
    }

    /// The instruction index of slot `pc`, if an instruction starts there.
    pub fn index_of(&self, pc: usize) -> Option<usize> {
        self.index_of_slot
            .get(pc)
            .copied()
            .filter(|&i| i != usize::MAX)
    }

    pub fn flow(&self, i: usize) -> Flow {
        match self.insns[i] {
            Insn::Ja { off } => Flow::Jump(self.target(i, off as i64)),
            Insn::JaLong { imm } => Flow::Jump(self.target(i, imm as i64)),
            Insn::Jump { off, .. } => Flow::Branch(self.target(i, off as i64)),
            Insn::Call(CallTarget::Local(off)) => Flow::Call(self.target(i, off as i64)),
            Insn::Exit => Flow::Exit,
            _ => Flow::Next,
        }
    }

    /// Entry instructions of every function: 0, each local call target and
    /// each function reference (callbacks), sorted.
    pub fn functions(&self) -> Vec<usize> {
        let mut f = vec![0];
        for (i, insn) in self.insns.iter().enumerate() {
            match *insn {
                Insn::Call(CallTarget::Local(off)) => f.push(self.target(i, off as i64)),
                Insn::LdImm64 {
                    value: waggle_isa::LdImm64::Func(off),
                    ..
                } => f.push(self.target(i, off as i64)),
                _ => {}
            }
        }
        f.sort_unstable();
        f.dedup();
        f
    }
}
