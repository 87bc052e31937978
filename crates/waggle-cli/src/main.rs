//! `waggle`: assemble, disassemble and run eBPF programs.
//!
//! Exit codes: 0 success; 1 the program failed while running (out-of-bounds
//! access, budget exhausted, helper fault); 2 bad input or usage (unreadable
//! file, assembly error, invalid bytecode, unknown option).

mod asm;
mod disasm;
mod failure;
mod program_file;
mod run;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "waggle",
    version,
    about = "eBPF toolkit: assemble, disassemble and run eBPF programs"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Assemble a text program to bytecode.
    Asm(asm::Args),
    /// Disassemble bytecode (or re-print an assembly file) in either syntax.
    Disasm(disasm::Args),
    /// Run a program (assembly or bytecode) in the interpreter and print r0.
    Run(run::Args),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Asm(args) => asm::main(args),
        Command::Disasm(args) => disasm::main(args),
        Command::Run(args) => run::main(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => failure.report(),
    }
}
