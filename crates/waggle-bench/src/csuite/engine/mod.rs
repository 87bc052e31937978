//! The engines a C program can be measured on, and how each loads it.
//!
//! An [`Engine`] names a runtime; [`Engine::prepare`] loads a program into
//! it, fills its maps, runs it once to observe its result (the correctness
//! gate compares these before anything is timed) and returns the runner the
//! measurement then calls many times.
//!
//! Adding an engine is adding a variant to [`Engine`], its name, its arm in
//! [`Engine::prepare`] and a module here implementing it (`kernel.rs` is a
//! short example).

use super::run::Workload;
use crate::backend::{BackendError, Runner};
use serde::Serialize;
use std::fmt;
use std::time::Duration;

mod kernel;
mod native;
mod rbpf;
mod waggle;

/// A runtime of the C suite.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Engine {
    /// The Linux kernel's JIT through `BPF_PROG_TEST_RUN` (root or CAP_BPF).
    Kernel,
    /// The C compiled for the host: the physical limit.
    Native,
    /// Waggle's runtime as `waggle run --no-verify` runs a program:
    /// `LoadedObject::run_packet`, the interpreter in checked mode.
    Waggle,
    /// Waggle's runtime on its JIT, as `waggle run` runs a verified program:
    /// `LoadedObject::run_packet_with(.., Engine::Jit)` (programs with tail
    /// calls would be n/a; the suite has none).
    WaggleJit,
    /// Waggle's runtime on the interpreter without memory checks:
    /// `LoadedObject::run_packet_with(.., Engine::InterpUnchecked)`.
    WaggleUnchecked,
    /// rbpf's interpreter (`EbpfVmMbuff`) on the `raw_NAME` entry point.
    Rbpf,
    /// rbpf's x86-64 JIT on the `raw_NAME` entry point.
    RbpfJit,
}

/// The engines ratio columns are taken against, in order of preference:
/// every other engine's time is divided by each of these.
pub const REFERENCES: &[Engine] = &[Engine::Kernel, Engine::Native];

impl Engine {
    /// Every engine, in column order.
    pub const ALL: [Engine; 7] = [
        Engine::Kernel,
        Engine::Native,
        Engine::WaggleJit,
        Engine::Waggle,
        Engine::WaggleUnchecked,
        Engine::Rbpf,
        Engine::RbpfJit,
    ];

    pub const fn name(self) -> &'static str {
        match self {
            Engine::Kernel => "kernel",
            Engine::Native => "native",
            Engine::Waggle => "waggle",
            Engine::WaggleJit => "waggle-jit",
            Engine::WaggleUnchecked => "waggle-unchecked",
            Engine::Rbpf => "rbpf",
            Engine::RbpfJit => "rbpf-jit",
        }
    }

    /// The engine called `name`.
    pub fn from_name(name: &str) -> Option<Engine> {
        Engine::ALL.into_iter().find(|e| e.name() == name)
    }

    /// Loads `workload` into this engine and runs it once; an engine that
    /// cannot run the program says why with [`BackendError::Unsupported`].
    pub fn prepare(self, workload: &Workload) -> Result<Prepared<'_>, BackendError> {
        match self {
            Engine::Kernel => kernel::prepare(workload),
            Engine::Native => native::prepare(workload),
            Engine::Waggle => waggle::prepare_checked(workload),
            Engine::WaggleJit => waggle::prepare_jit(workload),
            Engine::WaggleUnchecked => waggle::prepare_unchecked(workload),
            Engine::Rbpf => rbpf::prepare(workload, rbpf::Mode::Interpreter),
            Engine::RbpfJit => rbpf::prepare(workload, rbpf::Mode::Jit),
        }
    }
}

impl fmt::Display for Engine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A program loaded into an engine, after one run.
pub struct Prepared<'a> {
    /// Runs the program once per call, on the engine's own copy of the frame.
    pub runner: Box<dyn Runner + 'a>,
    /// What the run computed.
    pub observed: Observed,
    /// How long compiling the program took, for engines that compile it
    /// themselves and say (Waggle's JIT).
    pub compile_time: Option<Duration>,
}

/// A program's result as an engine reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Observed {
    /// The full 64-bit result: the native function's return value, or what
    /// `xdp_NAME` stored in `.bss` `result`.
    Result(u64),
    /// `raw_NAME`'s return value: the result folded to 32 bits.
    Folded(u32),
}

/// `raw_NAME`'s fold of a result: `r ^ r >> 32`, truncated to 32 bits.
pub fn fold(result: u64) -> u32 {
    (result ^ (result >> 32)) as u32
}

impl Observed {
    /// Whether this agrees with the full `reference` result.
    pub fn matches(self, reference: u64) -> bool {
        match self {
            Observed::Result(r) => r == reference,
            Observed::Folded(f) => f == fold(reference),
        }
    }
}

impl fmt::Display for Observed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Observed::Result(r) => write!(f, "{r:#x}"),
            Observed::Folded(v) => write!(f, "{v:#x} (folded)"),
        }
    }
}

pub(crate) use rbpf::raw_bytecode;
pub(crate) use waggle::reference as waggle_reference;
