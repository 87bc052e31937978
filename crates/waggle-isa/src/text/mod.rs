//! Text forms of programs: an assembler and a disassembler for each of the two
//! syntaxes eBPF developers meet.
//!
//! - [`Syntax::Ubpf`]: the syntax of the bpf_conformance test files and uBPF
//!   (`mov %r0, 1`, `ldxw %r0, [%r1+2]`, `jne %r0, 15, failed`, `call local f`).
//! - [`Syntax::Llvm`]: the syntax `llvm-objdump` prints and `llvm-mc` accepts for
//!   BPF (`r0 = *(u32 *)(r1 + 0x2)`, `if r1 > 0x5 goto +3`, `w0 += 1`).
//!
//! Both assemblers accept labels and numeric branch offsets, `#` and `//`
//! comments, and report errors with the line and column of the offending token.
//! Disassembly of either syntax assembles back to the same instructions.

use crate::Insn;
use std::fmt;
use thiserror::Error;

pub mod llvm;
pub mod ubpf;

/// A text syntax for eBPF programs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Syntax {
    Ubpf,
    Llvm,
}

impl Syntax {
    pub const fn name(self) -> &'static str {
        match self {
            Syntax::Ubpf => "ubpf",
            Syntax::Llvm => "llvm",
        }
    }
}

impl fmt::Display for Syntax {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// What is wrong with a line of assembly.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum AsmErrorKind {
    #[error("unknown instruction `{0}`")]
    UnknownMnemonic(String),
    #[error("expected {expected}, found `{found}`")]
    Expected {
        expected: &'static str,
        found: String,
    },
    #[error("expected {0}, found end of line")]
    MissingOperand(&'static str),
    #[error("unexpected `{0}` after the instruction")]
    TrailingInput(String),
    #[error("invalid register `{0}` (registers are r0 to r10)")]
    BadRegister(String),
    #[error("invalid number `{0}`")]
    BadNumber(String),
    #[error("{what} {value} does not fit in {bits} bits")]
    OutOfRange {
        what: &'static str,
        value: i128,
        bits: u32,
    },
    #[error("label `{0}` is defined twice")]
    DuplicateLabel(String),
    #[error("label `{0}` is not defined")]
    UndefinedLabel(String),
    #[error("{0}")]
    Invalid(String),
}

/// An assembly error at a 1-based line and column.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("{line}:{column}: {kind}")]
pub struct AsmError {
    pub line: usize,
    pub column: usize,
    pub kind: AsmErrorKind,
}

/// Assembles `source` in the given syntax.
pub fn assemble(source: &str, syntax: Syntax) -> Result<Vec<Insn>, AsmError> {
    match syntax {
        Syntax::Ubpf => ubpf::assemble(source),
        Syntax::Llvm => llvm::assemble(source),
    }
}

/// Formats one instruction in the given syntax, without its pc.
pub fn format_insn(insn: &Insn, syntax: Syntax) -> String {
    match syntax {
        Syntax::Ubpf => ubpf::format_insn(insn),
        Syntax::Llvm => llvm::format_insn(insn),
    }
}
