//! `waggle asm`: assembly text to bytecode.

use crate::failure::Failure;
use crate::program_file::{self, SyntaxArg};
use std::io::Write;
use std::path::PathBuf;
use waggle_isa::{encode_program, RawInsn};

#[derive(clap::Args)]
pub struct Args {
    /// Assembly source file.
    file: PathBuf,
    /// Where to write the bytecode; without it, each slot is printed as hex.
    #[arg(short, long)]
    output: Option<PathBuf>,
    /// Syntax of the source.
    #[arg(long, value_enum, default_value_t = SyntaxArg::Auto)]
    syntax: SyntaxArg,
}

pub fn main(args: Args) -> Result<(), Failure> {
    let text = std::fs::read_to_string(&args.file)
        .map_err(|e| Failure::BadInput(format!("cannot read {}: {e}", args.file.display())))?;
    let bytes = encode_program(&program_file::assemble(&args.file, &text, args.syntax)?);
    match args.output {
        Some(out) => std::fs::write(&out, &bytes)
            .map_err(|e| Failure::BadInput(format!("cannot write {}: {e}", out.display()))),
        None => {
            let mut stdout = std::io::stdout().lock();
            for chunk in bytes.chunks_exact(8) {
                let raw = RawInsn::from_bytes(chunk.try_into().expect("8-byte chunk"));
                let hex: Vec<String> = raw.to_bytes().iter().map(|b| format!("{b:02x}")).collect();
                writeln!(stdout, "{}", hex.join(" ")).map_err(Failure::bad_input)?;
            }
            Ok(())
        }
    }
}
