//! Waggle's execution core.
//!
//! - [`Program`]: a program prepared for execution: decoded, branch targets
//!   resolved to absolute positions, helper ids resolved against a
//!   [`HelperRegistry`]. Preparation rejects what cannot run (unknown helper,
//!   unresolved map reference) before anything runs.
//! - [`Program::run_checked`]: runs any program safely, bounds-checking every
//!   load, store and atomic against the [`Regions`](memory::Regions) the run may
//!   touch (its stack frames, the input memory, memory helpers hand out).
//! - [`Program::run_unchecked`]: the same without checks, for programs a
//!   verifier has accepted.
//!
//! ```
//! use std::sync::Arc;
//! use waggle_isa::{assemble, encode_program, Syntax};
//! use waggle_vm::{HelperRegistry, Input, Program, RunOptions};
//!
//! let insns = assemble("ldxb %r0, [%r1+1]\nexit", Syntax::Ubpf).unwrap();
//! let prog = Program::from_bytes(&encode_program(&insns), Arc::new(HelperRegistry::new())).unwrap();
//! let mut mem = [7u8, 42];
//! let out = prog.run_checked(Input::memory(&mut mem), &RunOptions::default()).unwrap();
//! assert_eq!(out.r0, 42);
//! ```

pub mod helpers;
mod interp;
pub mod memory;
mod program;

pub use helpers::{CallbackRunner, HelperContext, HelperRegistry, HelperResult, Interrupt};
pub use interp::{Input, Outcome, RunError, RunOptions, MAX_CALL_FRAMES, STACK_SIZE};
pub use memory::{Access, Region};
pub use program::{PrepareError, Program, FUNC_REF_TAG};
