//! Plugin for the bpf_conformance runner.
//!
//! Usage: `waggle-conformance [--jit] [MEMORY_HEX] [--program PROGRAM_HEX]`.
//! With `--jit` the program runs compiled by Waggle's JIT instead of in the
//! interpreter (after a checked interpreter run vouched for it). Without
//! `--program`, the program's bytes are read as hex from standard input. Prints
//! r0 in hex; on failure prints the reason to standard error and exits 1
//! (2 for bad arguments).

use std::io::Read;
use std::process::ExitCode;
use waggle_conformance::{parse_hex_bytes, run_bytecode, Engine};

const USAGE: &str = "usage: waggle-conformance [--jit] [MEMORY_HEX] [--program PROGRAM_HEX]\n\
    Runs an eBPF program the bpf_conformance way: program bytes as hex on stdin (or after\n\
    --program), memory as hex in the first argument; prints r0 in hex.\n\
    --jit runs it compiled to native code (Cranelift) instead of interpreted.";

fn main() -> ExitCode {
    let mut memory_hex = String::new();
    let mut program_hex = None;
    let mut engine = Engine::InterpChecked;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--program" => match args.next() {
                Some(p) => program_hex = Some(p),
                None => return usage_error("--program needs a value"),
            },
            "--jit" => engine = Engine::Jit,
            "-h" | "--help" => {
                println!("{USAGE}");
                return ExitCode::SUCCESS;
            }
            other if other.starts_with("--") => {
                return usage_error(&format!("unknown option `{other}`"))
            }
            other => memory_hex = other.to_string(),
        }
    }
    let program_hex = match program_hex {
        Some(p) => p,
        None => {
            let mut s = String::new();
            if let Err(e) = std::io::stdin().read_to_string(&mut s) {
                eprintln!("waggle-conformance: cannot read the program from stdin: {e}");
                return ExitCode::from(1);
            }
            s
        }
    };
    let Some(program) = parse_hex_bytes(&program_hex) else {
        return usage_error("the program is not a hex byte string");
    };
    let Some(mut memory) = parse_hex_bytes(&memory_hex) else {
        return usage_error("the memory is not a hex byte string");
    };
    match run_bytecode(&program, &mut memory, engine) {
        Ok(r0) => {
            println!("{r0:x}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("waggle-conformance: {e}");
            ExitCode::from(1)
        }
    }
}

fn usage_error(msg: &str) -> ExitCode {
    eprintln!("waggle-conformance: {msg}\n{USAGE}");
    ExitCode::from(2)
}
