//! The runtimes a program can be measured on.
//!
//! A [`Backend`] names a runtime; [`Backend::prepare`] loads one program into
//! it once, giving a [`Runner`] that runs the program many times. Keeping
//! preparation out of [`Runner::run`] is what lets the measurement time
//! execution alone.

use crate::registry::Compiled;
use serde::Serialize;
use std::fmt;
use std::hint::black_box;
use std::time::Instant;
use thiserror::Error;

pub(crate) mod rbpf;
mod waggle;

/// A runtime that can run benchmark programs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Backend {
    /// Waggle's JIT (`waggle-jit`, Cranelift): native code without memory
    /// checks, as verified programs run.
    WaggleJit,
    /// Waggle's interpreter without memory checks, as verified programs may run.
    WaggleUnchecked,
    /// Waggle's interpreter checking every memory access.
    WaggleChecked,
    /// The `rbpf` crate's interpreter (`EbpfVmRaw`), which checks every
    /// memory access.
    Rbpf,
}

impl Backend {
    /// Every backend, in report order.
    pub const ALL: [Backend; 4] = [
        Backend::WaggleJit,
        Backend::WaggleUnchecked,
        Backend::WaggleChecked,
        Backend::Rbpf,
    ];

    pub const fn name(self) -> &'static str {
        match self {
            Backend::WaggleJit => "waggle-jit",
            Backend::WaggleUnchecked => "waggle-unchecked",
            Backend::WaggleChecked => "waggle-checked",
            Backend::Rbpf => "rbpf",
        }
    }

    /// Loads a program into this runtime, ready to run on its input.
    pub fn prepare(self, program: &Compiled) -> Result<Box<dyn Runner + '_>, BackendError> {
        let input = program.bench().input().bytes();
        Ok(match self {
            Backend::WaggleJit => Box::new(waggle::Jit::new(program, input)?),
            Backend::WaggleUnchecked => Box::new(waggle::Unchecked::new(program, input)?),
            Backend::WaggleChecked => Box::new(waggle::Checked::new(program, input)?),
            Backend::Rbpf => Box::new(rbpf::Rbpf::new(program, input)?),
        })
    }
}

/// What one run of a program in Waggle's checked mode gives: the reference
/// every backend is compared with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reference {
    pub r0: u64,
    /// eBPF instructions the run executed. Every runtime executes the same
    /// instructions, so this puts times per run in proportion.
    pub insns: u64,
}

/// Runs `program` once in Waggle's checked mode.
pub fn reference(program: &Compiled) -> Result<Reference, BackendError> {
    waggle::reference(program)
}

impl fmt::Display for Backend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A program loaded into a runtime, with its own copy of the input memory.
pub trait Runner {
    /// Runs the program once and returns `r0`.
    fn run(&mut self) -> Result<u64, BackendError>;

    /// Runs the program `runs` times and returns the mean time per run in
    /// nanoseconds. The default times [`Runner::run`] in a loop; a runtime
    /// that times runs itself (the kernel's `BPF_PROG_TEST_RUN` with
    /// `repeat`) overrides it, so that what it costs to reach the runtime
    /// once per batch is not counted per run.
    fn batch_ns(&mut self, runs: u64) -> Result<f64, BackendError> {
        let start = Instant::now();
        for _ in 0..runs {
            black_box(self.run()?);
        }
        Ok(start.elapsed().as_nanos() as f64 / runs.max(1) as f64)
    }
}

/// Why a backend could not prepare or run a program.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum BackendError {
    /// The runtime does not implement something the program needs; the
    /// report shows "n/a" rather than failing.
    #[error("unsupported: {0}")]
    Unsupported(String),
    /// The runtime should have been able to load the program and could not.
    #[error("cannot load the program: {0}")]
    Load(String),
    /// The program failed while running.
    #[error("run failed: {0}")]
    Run(String),
}
