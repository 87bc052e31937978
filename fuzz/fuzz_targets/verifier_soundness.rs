//! The verifier's soundness: every program `waggle_verifier::verify`
//! accepts runs in the interpreter's checked mode (through the userspace
//! runtime: maps created, context rewritten, Linux's helpers) without an
//! access outside the memory it may touch, a misaligned atomic, running off
//! its end, or running out of budget. Any of those is a verifier bug, and
//! the target panics with the program's disassembly.
//!
//! The input drives a generator of programs the verifier is likely to
//! accept — context and packet accesses behind bounds checks, map lookups
//! with NULL checks, global data indexed by masked numbers, ring buffer
//! records, stack buffers, bounded loops, bpf-to-bpf calls, `bpf_loop`
//! callbacks — with constants, offsets and sizes taken from the input, so
//! many of them are just past what is safe; then a few of its bytes mutate
//! the generated instructions. A quarter of the inputs are raw instruction
//! bytes instead. The accepted programs run on a packet (or, for kprobes,
//! `struct pt_regs` memory) taken from the input.
//!
//! Statistics (programs tried, accepted, run) are printed to stderr every
//! 2^k and every 10 000 programs; the last line of a bounded run is what
//! docs/verifier.md records.
#![no_main]

use libfuzzer_sys::fuzz_target;
use waggle_runtime::{Engine, RunError};
use waggle_vm::RunError as VmError;

#[path = "generator.rs"]
mod generator;
use generator::*;

fuzz_target!(|data: &[u8]| {
    let case = case(data);
    // Linux's privileged rules (the verifier's default): pointers may
    // become numbers, which is no concern of memory safety.
    let Some(loaded) = accept(&case, &options()) else {
        report("verifier_soundness");
        return;
    };
    // SAFETY: the checked interpreter is safe for any program.
    let result = unsafe { run(&loaded, &case, Engine::Interp) };
    report("verifier_soundness");
    if let Err(RunError::Vm { error, .. }) = &result {
        let unsound = match error {
            VmError::OutOfBounds { .. }
            | VmError::MisalignedAtomic { .. }
            | VmError::FellOffEnd { .. }
            | VmError::CallDepth { .. }
            | VmError::BadCallback(_) => true,
            VmError::BudgetExhausted { .. } => !uses_callbacks(&case),
            VmError::HelperFault { message, .. } => {
                message.contains("outside the program's memory")
                    || message.contains("verifier refuses")
            }
            _ => false,
        };
        if unsound {
            panic!(
                "the verifier accepted a {} program that fails in checked mode: {error}\n{}",
                case.prog_type.name(),
                disassembly(&case.slots)
            );
        }
    }
});
