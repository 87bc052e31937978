//! `waggle disasm`: bytecode to text, in either syntax.

use crate::failure::Failure;
use crate::program_file::{self, SyntaxArg};
use serde::Serialize;
use std::path::PathBuf;
use waggle_isa::{format_insn, Syntax};

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
enum OutSyntax {
    Llvm,
    Ubpf,
}

#[derive(clap::Args)]
pub struct Args {
    /// Bytecode file (or assembly text, which is re-printed).
    file: PathBuf,
    /// Syntax to print.
    #[arg(long, value_enum, default_value_t = OutSyntax::Llvm)]
    syntax: OutSyntax,
    /// Syntax of the input, when it is assembly text.
    #[arg(long, value_enum, default_value_t = SyntaxArg::Auto)]
    input_syntax: SyntaxArg,
    /// Print the instructions as JSON.
    #[arg(long)]
    json: bool,
}

#[derive(Serialize)]
struct Line {
    pc: usize,
    bytes: String,
    text: String,
}

pub fn main(args: Args) -> Result<(), Failure> {
    let prog = program_file::read(&args.file, args.input_syntax)?;
    let syntax = match args.syntax {
        OutSyntax::Llvm => Syntax::Llvm,
        OutSyntax::Ubpf => Syntax::Ubpf,
    };
    let lines: Vec<Line> = prog
        .insns
        .iter()
        .map(|&(pc, insn)| Line {
            pc,
            bytes: prog.bytes[pc * 8..(pc + insn.slots()) * 8]
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect::<Vec<_>>()
                .join(" "),
            text: format_insn(&insn, syntax),
        })
        .collect();
    if args.json {
        let json = serde_json::to_string_pretty(&lines).map_err(Failure::bad_input)?;
        println!("{json}");
    } else {
        let width = prog.insns.last().map_or(1, |(pc, _)| pc.to_string().len());
        for l in &lines {
            println!("{:>width$}: {}", l.pc, l.text);
        }
    }
    Ok(())
}
