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
    /// An ELF object (each program, with source lines from BTF), bytecode, or
    /// assembly text (re-printed).
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

#[derive(Serialize)]
struct ObjectProgram {
    name: String,
    section: String,
    prog_type: &'static str,
    insns: Vec<ObjectLine>,
}

#[derive(Serialize)]
struct ObjectLine {
    pc: usize,
    bytes: String,
    text: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    source: Option<Source>,
}

#[derive(Serialize)]
struct Source {
    file: String,
    line: u32,
    column: u32,
    text: String,
}

fn hex(bytes: &[u8]) -> String {
    bytes
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(" ")
}

/// Each program of an object, as the loader links it, with source lines
/// from BTF line info.
fn object(args: &Args, syntax: Syntax) -> Result<(), Failure> {
    let data = std::fs::read(&args.file)
        .map_err(|e| Failure::BadInput(format!("cannot read {}: {e}", args.file.display())))?;
    let obj = waggle_object::Object::parse(&args.file.display().to_string(), &data)
        .map_err(Failure::bad_input)?;
    let mut out = Vec::new();
    for p in &obj.programs {
        let decoded = waggle_isa::decode_slots(&p.insns).map_err(Failure::bad_input)?;
        let insns = decoded
            .iter()
            .map(|&(pc, insn)| ObjectLine {
                pc,
                bytes: hex(&waggle_isa::RawInsn::slice_to_bytes(
                    &p.insns[pc..pc + insn.slots()],
                )),
                text: format_insn(&insn, syntax),
                source: p.lines.get(pc).cloned().flatten().map(|l| Source {
                    file: l.file,
                    line: l.line,
                    column: l.column,
                    text: l.text,
                }),
            })
            .collect();
        out.push(ObjectProgram {
            name: p.name.clone(),
            section: p.section.clone(),
            prog_type: p.prog_type.name(),
            insns,
        });
    }
    if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&out).map_err(Failure::bad_input)?
        );
        return Ok(());
    }
    for (i, p) in out.iter().enumerate() {
        if i > 0 {
            println!();
        }
        println!("{} ({}, section {}):", p.name, p.prog_type, p.section);
        let width = p.insns.last().map_or(1, |l| l.pc.to_string().len());
        for l in &p.insns {
            if let Some(src) = &l.source {
                println!("; {}  [{}:{}]", src.text.trim(), src.file, src.line);
            }
            println!("{:>width$}: {}", l.pc, l.text);
        }
    }
    Ok(())
}

pub fn main(args: Args) -> Result<(), Failure> {
    let syntax = match args.syntax {
        OutSyntax::Llvm => Syntax::Llvm,
        OutSyntax::Ubpf => Syntax::Ubpf,
    };
    if std::fs::read(&args.file).is_ok_and(|d| d.starts_with(b"\x7fELF")) {
        return object(&args, syntax);
    }
    let prog = program_file::read(&args.file, args.input_syntax)?;
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
