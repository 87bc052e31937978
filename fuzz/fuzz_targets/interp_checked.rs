//! Any decodable program runs in checked mode without crashing the host: every
//! memory access outside the stack and the input is stopped with an error.
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::sync::Arc;
use waggle_vm::{HelperRegistry, Input, Program, RunOptions};

fuzz_target!(|data: &[u8]| {
    // The first 64 bytes are the program's memory, the rest its code.
    if data.len() < 64 {
        return;
    }
    let (mem, code) = data.split_at(64);
    let Ok(prog) = Program::from_bytes(code, Arc::new(HelperRegistry::new())) else {
        return;
    };
    let mut mem = mem.to_vec();
    let _ = prog.run_checked(Input::memory(&mut mem), &RunOptions { budget: Some(10_000) });
});
