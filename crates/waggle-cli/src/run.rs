//! `waggle run`: run a program in the interpreter.

use crate::failure::Failure;
use crate::program_file::{self, SyntaxArg};
use serde::Serialize;
use std::path::PathBuf;
use std::sync::Arc;
use waggle_vm::{HelperRegistry, Input, Program, RunOptions};

#[derive(clap::Args)]
pub struct Args {
    /// Program: an ELF object compiled by clang, assembly text (uBPF or LLVM
    /// syntax) or raw bytecode.
    file: PathBuf,
    /// Object files: the program to run, by function name.
    #[arg(long)]
    program: Option<String>,
    /// Object files: the program to run, by section name.
    #[arg(long)]
    section: Option<String>,
    /// Object files: the packet (an Ethernet frame) for XDP, TC and socket programs.
    #[arg(long, conflicts_with_all = ["ctx", "pcap"])]
    data: Option<PathBuf>,
    /// Object files: raw context memory for tracing and other programs.
    #[arg(long, conflicts_with = "pcap")]
    ctx: Option<PathBuf>,
    /// Object files: run every packet of this pcap file through the program.
    #[arg(long)]
    pcap: Option<PathBuf>,
    /// Object files: write the packets that pass (modified or not) to this pcap file.
    #[arg(long)]
    pcap_out: Option<PathBuf>,
    /// Run this many times (per packet with --pcap) and report the mean time
    /// per run. As `repeat` in Linux's test run: each run sees the packet
    /// and context the previous one left; the output is the last run's.
    #[arg(long, default_value_t = 1)]
    repeat: u64,
    /// Object files: print every map's contents after the run.
    #[arg(long)]
    dump_maps: bool,
    /// Object files: run without verifying first. The program then runs in
    /// the interpreter's checked mode, which stops any out-of-bounds access
    /// (verified programs run on the JIT).
    #[arg(long)]
    no_verify: bool,
    /// Object files: run the verified program in the interpreter's checked
    /// mode rather than on the JIT.
    #[arg(long, conflicts_with = "backend")]
    interp: bool,
    /// Object files: compile for the JIT with constant blinding (as Linux's
    /// bpf_jit_harden), for programs from untrusted sources: no immediate of
    /// the program appears in executable memory.
    #[arg(long)]
    blind_constants: bool,
    /// Object files: where to run: Waggle's interpreter (checked), Waggle's
    /// JIT (verified programs), the Linux kernel (BPF_PROG_TEST_RUN; needs
    /// root or CAP_BPF), or all available backends, reporting any difference
    /// (exit code 1 when they differ). Default: the JIT once the verifier
    /// accepts the program, the interpreter with --no-verify.
    #[arg(long, value_enum)]
    backend: Option<crate::backend::Backend>,
    /// Memory passed to the program as hex bytes (r1 = its address, r2 = its length).
    #[arg(long, conflicts_with = "mem_file")]
    mem: Option<String>,
    /// Memory passed to the program, read from a file.
    #[arg(long)]
    mem_file: Option<PathBuf>,
    /// Stop the program after this many instructions (0: no limit).
    #[arg(long, default_value_t = 1_000_000_000)]
    budget: u64,
    /// Syntax of the program, when it is assembly text.
    #[arg(long, value_enum, default_value_t = SyntaxArg::Auto)]
    syntax: SyntaxArg,
    /// Print the result as JSON.
    #[arg(long)]
    json: bool,
}

#[derive(Serialize)]
struct Report {
    r0: u64,
    r0_hex: String,
    instructions: u64,
    /// The memory after the run, as hex, when the program was given memory.
    #[serde(skip_serializing_if = "Option::is_none")]
    memory: Option<String>,
}

fn parse_hex(text: &str) -> Option<Vec<u8>> {
    let digits: String = text
        .chars()
        .filter(|c| !c.is_whitespace() && *c != ':' && *c != ',')
        .collect();
    let digits = digits.strip_prefix("0x").unwrap_or(&digits);
    if digits.len() % 2 != 0 {
        return None;
    }
    (0..digits.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&digits[i..i + 2], 16).ok())
        .collect()
}

fn hex(bytes: &[u8]) -> String {
    bytes
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(" ")
}

/// ELF objects start with this magic.
const ELF_MAGIC: &[u8] = b"\x7fELF";

fn is_object(path: &std::path::Path) -> bool {
    use std::io::Read;
    let mut magic = [0u8; 4];
    std::fs::File::open(path)
        .and_then(|mut f| f.read_exact(&mut magic))
        .is_ok_and(|_| magic == ELF_MAGIC)
}

pub fn main(args: Args) -> Result<(), Failure> {
    if is_object(&args.file) {
        return crate::object_run::main(crate::object_run::ObjectRun {
            file: &args.file,
            program: args.program.as_deref(),
            section: args.section.as_deref(),
            data: args.data.as_deref(),
            ctx: args.ctx.as_deref(),
            pcap: args.pcap.as_deref(),
            pcap_out: args.pcap_out.as_ref(),
            repeat: args.repeat,
            budget: (args.budget != 0).then_some(args.budget),
            dump_maps: args.dump_maps,
            json: args.json,
            backend: args.backend,
            interp: args.interp,
            blind_constants: args.blind_constants,
            verify: !args.no_verify,
        });
    }
    let object_only = [
        ("--blind-constants", args.blind_constants),
        ("--program", args.program.is_some()),
        ("--section", args.section.is_some()),
        ("--data", args.data.is_some()),
        ("--ctx", args.ctx.is_some()),
        ("--pcap", args.pcap.is_some()),
        ("--pcap-out", args.pcap_out.is_some()),
        ("--dump-maps", args.dump_maps),
        ("--no-verify", args.no_verify),
        ("--interp", args.interp),
        ("--backend", args.backend.is_some()),
    ];
    if let Some((flag, _)) = object_only.iter().find(|(_, set)| *set) {
        return Err(Failure::BadInput(format!(
            "{flag} applies to ELF objects; {} is assembly or bytecode (use --mem or --mem-file)",
            args.file.display()
        )));
    }
    let prog_file = program_file::read(&args.file, args.syntax)?;
    let mut mem = match (&args.mem, &args.mem_file) {
        (Some(text), _) => parse_hex(text)
            .ok_or_else(|| Failure::BadInput(format!("--mem `{text}` is not a hex byte string")))?,
        (None, Some(path)) => std::fs::read(path)
            .map_err(|e| Failure::BadInput(format!("cannot read {}: {e}", path.display())))?,
        (None, None) => Vec::new(),
    };
    let had_memory = !mem.is_empty();
    let program = Program::new(&prog_file.insns, Arc::new(HelperRegistry::new()))
        .map_err(|e| Failure::BadInput(format!("{}: {e}", args.file.display())))?;
    let opts = RunOptions {
        budget: (args.budget != 0).then_some(args.budget),
    };
    // No verifier stands behind this program, so it runs in checked mode.
    let out = program
        .run_checked(Input::memory(&mut mem), &opts)
        .map_err(|e| Failure::Program(e.to_string()))?;
    let report = Report {
        r0: out.r0,
        r0_hex: format!("{:#x}", out.r0),
        instructions: out.insns,
        memory: had_memory.then(|| hex(&mem)),
    };
    if args.json {
        let json = serde_json::to_string_pretty(&report).map_err(Failure::bad_input)?;
        println!("{json}");
    } else {
        println!("r0 = {} ({})", report.r0_hex, out.r0 as i64);
        println!("instructions executed: {}", report.instructions);
        if let Some(m) = &report.memory {
            println!("memory: {m}");
        }
    }
    Ok(())
}
