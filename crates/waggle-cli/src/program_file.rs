//! Reading a program from a file: assembly text in either syntax, or raw
//! bytecode.

use crate::failure::Failure;
use clap::ValueEnum;
use std::path::Path;
use waggle_isa::{decode_program, encode_program, Insn, Syntax};

/// The syntax of an assembly file, or `auto` to tell from its text.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum SyntaxArg {
    Auto,
    Ubpf,
    Llvm,
}

/// A program read from a file.
pub struct ProgramFile {
    /// Instructions with their slot index.
    pub insns: Vec<(usize, Insn)>,
    pub bytes: Vec<u8>,
}

/// Raw bytecode always holds NUL bytes (every instruction has zero fields) and
/// text never does, so a NUL tells them apart; an empty file is text.
fn is_bytecode(data: &[u8]) -> bool {
    data.contains(&0)
}

/// LLVM syntax writes assignments (`r0 = 1`, `if r1 > 2 goto +1`); the uBPF
/// syntax never uses `=`.
pub fn detect_syntax(text: &str) -> Syntax {
    let code = text.lines().map(|l| {
        l.split(['#', ';'])
            .next()
            .unwrap_or("")
            .split("//")
            .next()
            .unwrap_or("")
    });
    if code.clone().any(|l| l.contains('=') || l.contains("goto")) {
        Syntax::Llvm
    } else {
        Syntax::Ubpf
    }
}

fn resolve_syntax(arg: SyntaxArg, text: &str) -> Syntax {
    match arg {
        SyntaxArg::Auto => detect_syntax(text),
        SyntaxArg::Ubpf => Syntax::Ubpf,
        SyntaxArg::Llvm => Syntax::Llvm,
    }
}

/// Assembles `text`, read from `path`, naming file, line and column on error.
pub fn assemble(path: &Path, text: &str, syntax: SyntaxArg) -> Result<Vec<Insn>, Failure> {
    let syntax = resolve_syntax(syntax, text);
    waggle_isa::assemble(text, syntax)
        .map_err(|e| Failure::BadInput(format!("{}:{e} ({syntax} syntax)", path.display())))
}

/// Reads and decodes `path`, assembling it first when it is text.
pub fn read(path: &Path, syntax: SyntaxArg) -> Result<ProgramFile, Failure> {
    let data = std::fs::read(path)
        .map_err(|e| Failure::BadInput(format!("cannot read {}: {e}", path.display())))?;
    let bytes = if is_bytecode(&data) {
        data
    } else {
        let text = String::from_utf8(data).map_err(|_| {
            Failure::BadInput(format!(
                "{} is neither UTF-8 assembly nor bytecode",
                path.display()
            ))
        })?;
        encode_program(&assemble(path, &text, syntax)?)
    };
    let insns = decode_program(&bytes)
        .map_err(|e| Failure::BadInput(format!("{}: {e}", path.display())))?;
    Ok(ProgramFile { insns, bytes })
}
