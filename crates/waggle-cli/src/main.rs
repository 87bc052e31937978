//! `waggle`: assemble, disassemble and run eBPF programs.
//!
//! Exit codes: 0 success; 1 the program failed while running (out-of-bounds
//! access, budget exhausted, helper fault); 2 bad input or usage (unreadable
//! file, assembly error, invalid bytecode, unknown option).

mod asm;
mod backend;

mod disasm;
mod failure;
mod maps_dump;
mod object_run;
mod program_file;
mod run;
mod verify;

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
    /// Run a program: an object's program on a packet, pcap or context, or
    /// assembly/bytecode on memory.
    Run(run::Args),
    /// Prove each program of an object safe, or explain why not.
    Verify(verify::Args),
    /// Benchmark the C suite on every engine side by side (Waggle, the Linux
    /// kernel's JIT, rbpf, native code); `waggle bench --help` for options.
    #[command(disable_help_flag = true)]
    Bench {
        /// Options and program filters (`--quick`, `--json`, `--markdown`, `--list`, ...).
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
    /// Inspect the maps of an object.
    #[command(subcommand)]
    Map(MapCommand),
}

#[derive(Subcommand)]
enum MapCommand {
    /// Print every map of an object with its contents after loading (global
    /// data, static initial values).
    Dump(MapDumpArgs),
}

#[derive(clap::Args)]
struct MapDumpArgs {
    /// The ELF object.
    file: std::path::PathBuf,
    /// Print as JSON.
    #[arg(long)]
    json: bool,
}

fn map_dump(args: MapDumpArgs) -> Result<(), failure::Failure> {
    let obj = waggle_runtime::LoadedObject::from_file(
        &args.file,
        &waggle_runtime::LoadOptions::default(),
    )
    .map_err(failure::Failure::bad_input)?;
    let maps = maps_dump::dump_maps(&obj);
    if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&maps).map_err(failure::Failure::bad_input)?
        );
    } else {
        maps_dump::print(&maps);
    }
    Ok(())
}

fn main() -> ExitCode {
    // Die quietly when the reader of our output goes away (`waggle ... | head`),
    // as command-line tools do, instead of failing on the write.
    // SAFETY: restoring the default disposition of SIGPIPE at startup, before
    // any thread exists.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Bench { args } => return waggle_bench::csuite::cli::main(args),
        Command::Asm(args) => asm::main(args),
        Command::Disasm(args) => disasm::main(args),
        Command::Run(args) => run::main(args),
        Command::Verify(args) => verify::main(args),
        Command::Map(MapCommand::Dump(args)) => map_dump(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => failure.report(),
    }
}
