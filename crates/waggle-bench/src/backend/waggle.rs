//! Waggle's interpreter, in both modes, and Waggle's JIT.

use super::{BackendError, Reference, Runner};
use crate::registry::Compiled;
use std::sync::Arc;
use waggle_jit::JitProgram;
use waggle_vm::{HelperRegistry, Input, Outcome, Program, RunOptions};

/// Prepares with no helpers: benchmark programs call none, so a program that
/// did would fail here rather than measure something else.
fn prepare(program: &Compiled) -> Result<Program, BackendError> {
    Program::from_bytes(program.bytecode(), Arc::new(HelperRegistry::new()))
        .map_err(|e| BackendError::Load(e.to_string()))
}

fn run_checked(prog: &Program, mem: &mut [u8]) -> Result<Outcome, BackendError> {
    prog.run_checked(Input::memory(mem), &RunOptions::default())
        .map_err(|e| BackendError::Run(e.to_string()))
}

pub(super) fn reference(program: &Compiled) -> Result<Reference, BackendError> {
    let prog = prepare(program)?;
    let mut mem = program.bench().input().bytes();
    let out = run_checked(&prog, &mut mem)?;
    Ok(Reference {
        r0: out.r0,
        insns: out.insns,
    })
}

/// Checked mode: every load, store and atomic is bounds-checked.
pub(super) struct Checked {
    prog: Program,
    mem: Vec<u8>,
}

impl Checked {
    pub(super) fn new(program: &Compiled, mem: Vec<u8>) -> Result<Checked, BackendError> {
        Ok(Checked {
            prog: prepare(program)?,
            mem,
        })
    }
}

impl Runner for Checked {
    fn run(&mut self) -> Result<u64, BackendError> {
        Ok(run_checked(&self.prog, &mut self.mem)?.r0)
    }
}

/// Unchecked mode, as programs the verifier accepted run.
///
/// There is no verifier in the loop, so soundness rests on the programs being
/// [`BENCHES`](crate::registry::BENCHES) (the only source of a [`Compiled`]
/// outside tests): each touches only its stack and its input. As a guard, `new` first runs
/// the program once in checked mode on the same input and refuses it if that
/// run faults or writes the input (later runs would then see other input and
/// could take other paths).
pub(super) struct Unchecked {
    prog: Program,
    mem: Vec<u8>,
}

/// The guard of the unchecked backends: runs `prog` once in checked mode
/// on `mem` and refuses it if that run faults or writes `mem`.
fn guard(prog: &Program, mem: &mut [u8]) -> Result<(), BackendError> {
    let before = mem.to_vec();
    run_checked(prog, mem)?;
    if mem != before {
        return Err(BackendError::Load(
            "the program writes its input, so runs would differ".to_string(),
        ));
    }
    Ok(())
}

impl Unchecked {
    pub(super) fn new(program: &Compiled, mut mem: Vec<u8>) -> Result<Unchecked, BackendError> {
        let prog = prepare(program)?;
        guard(&prog, &mut mem)?;
        Ok(Unchecked { prog, mem })
    }
}

impl Runner for Unchecked {
    fn run(&mut self) -> Result<u64, BackendError> {
        // SAFETY: the program is one of the registry's, which touch only their
        // stack and input, and `new` ran it in checked mode on this same,
        // unchanged input without a fault.
        let out = unsafe {
            self.prog
                .run_unchecked(Input::memory(&mut self.mem), &RunOptions::default())
        };
        out.map(|o| o.r0)
            .map_err(|e| BackendError::Run(e.to_string()))
    }
}

/// The JIT: the program compiled once by `waggle-jit`, then run as native
/// code with no checks. Soundness rests on the same guard as [`Unchecked`]:
/// a registry program, first run in checked mode on this input.
pub(super) struct Jit {
    prog: JitProgram,
    mem: Vec<u8>,
}

impl Jit {
    pub(super) fn new(program: &Compiled, mut mem: Vec<u8>) -> Result<Jit, BackendError> {
        guard(&prepare(program)?, &mut mem)?;
        let prog = JitProgram::from_bytes(program.bytecode(), Arc::new(HelperRegistry::new()))
            .map_err(|e| BackendError::Load(e.to_string()))?;
        Ok(Jit { prog, mem })
    }
}

impl Runner for Jit {
    fn run(&mut self) -> Result<u64, BackendError> {
        // SAFETY: as for `Unchecked::run`.
        let out = unsafe {
            self.prog
                .run(Input::memory(&mut self.mem), &RunOptions::default())
        };
        out.map(|o| o.r0)
            .map_err(|e| BackendError::Run(e.to_string()))
    }
}
