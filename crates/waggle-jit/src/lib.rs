//! Waggle's JIT: eBPF programs compiled to native code with Cranelift.
//!
//! [`JitProgram::new`] takes what [`waggle_vm::Program::new`] takes (decoded
//! instructions and a helper registry) and compiles every BPF function to a
//! native function; [`JitProgram::run`] runs it on the interpreter's
//! [`Input`](waggle_vm::Input) and returns its [`Outcome`](waggle_vm::Outcome)
//! or [`RunError`](waggle_vm::RunError). Semantics are the interpreter's
//! (RFC 9669 as Linux runs it); the run is unchecked, so only programs the
//! verifier accepted may run, and `run` is `unsafe` like
//! [`Program::run_unchecked`](waggle_vm::Program::run_unchecked).
//!
//! - `functions.rs`: which BPF functions exist, their bodies and blocks,
//!   which calls need depth or status checks.
//! - `translate.rs`, `alu.rs`: one BPF function to Cranelift IR, registers as
//!   SSA variables.
//! - `frames.rs`: the run context shared with compiled code, the BPF stack,
//!   starting a run, making its tail calls ([`TailCallTargets`]) and reading
//!   how it ended.
//! - `helpers.rs`: the `extern "C"` trampolines compiled code calls (helpers,
//!   `callx`, faults), which give helpers a
//!   [`HelperContext`](waggle_vm::HelperContext) and run callbacks as
//!   compiled code.
//! - `maps.rs`: map helper calls compiled without the helper (array lookups
//!   inlined, other map operations called directly) on maps the caller
//!   describes with [`MapAccess`].
//! - `loop_alignment.rs`: where each function starts, so that its
//!   innermost loop spans as few cache lines as it can.
//! - `optimize.rs`: Cranelift's optimiser, run by the JIT, and the
//!   corrections the JIT makes to its output before code generation.
//! - `program.rs`: [`JitProgram`], module set-up and code memory.
//! - `target.rs`: [`compile_for_target`], the same translation compiled for
//!   another architecture into an object file, to check and inspect it.
//!
//! Code runs on the host only, and only x86-64 runs it in tests. Cranelift
//! also generates aarch64 code, and tests compile every program they have
//! (the conformance suite, the example and benchmark objects, with and
//! without `verified`, constant blinding and map calls without helpers) for
//! aarch64 with [`compile_for_target`]: that checks that Cranelift's IR
//! verifier, register allocator and aarch64 emitter accept the translation,
//! not that the code behaves as on x86-64 (no aarch64 machine runs it).
//!
//! ```
//! use std::sync::Arc;
//! use waggle_isa::{assemble, encode_program, Syntax};
//! use waggle_jit::JitProgram;
//! use waggle_vm::{HelperRegistry, Input, RunOptions};
//!
//! let insns = assemble("ldxb %r0, [%r1+1]\nexit", Syntax::Ubpf).unwrap();
//! let prog = JitProgram::from_bytes(&encode_program(&insns), Arc::new(HelperRegistry::new())).unwrap();
//! let mut mem = [7u8, 42];
//! // SAFETY: the program reads one byte inside `mem`.
//! let out = unsafe { prog.run(Input::memory(&mut mem), &RunOptions::default()) }.unwrap();
//! assert_eq!(out.r0, 42);
//! ```

mod alu;
mod frames;
mod functions;
mod helpers;
mod loop_alignment;
mod maps;
mod optimize;
mod program;
mod target;
mod translate;
mod wide_loads;

pub use frames::{TailCallTargetError, TailCallTargets};
pub use maps::{DeleteFn, Lookup, LookupFn, MapAccess, MapCallSites, UpdateFn};
pub use program::{JitError, JitOptions, JitProgram};
pub use target::{compile_for_target, TargetCode};
