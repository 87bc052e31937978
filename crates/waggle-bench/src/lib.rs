//! Waggle's benchmark suite.
//!
//! Runs the same eBPF programs on several runtimes in one process and compares
//! their time per run:
//!
//! - [`registry`]: the programs, their inputs and expected results.
//! - [`backend`]: the runtimes (Waggle's JIT, Waggle's interpreter in both
//!   modes, rbpf's interpreter), each preparing a program once and running
//!   it many times.
//! - [`measure`]: warm-up, then timed batches; the median batch gives the
//!   time per run.
//! - [`suite`]: checks that every runtime returns the expected `r0` before
//!   timing anything, then measures.
//! - [`report`], [`render`]: results, ratios against rbpf, and their text,
//!   Markdown and JSON forms.
//! - [`cli`]: the command line of `cargo bench -p waggle-bench --bench interp`.
//!
//! [`csuite`] is the suite of programs written in C: the same XDP programs
//! on Waggle's runtime, rbpf and natively compiled, with
//! [`run_suite`] and the renderers [`csuite::text`], [`csuite::markdown`]
//! and [`csuite::json`] as the entry points of `waggle bench` and of
//! `cargo bench -p waggle-bench --bench suite`.

pub mod backend;
pub mod cli;
pub mod csuite;
pub mod machine;
pub mod measure;
pub mod registry;
pub mod render;
pub mod report;
pub mod suite;

pub use csuite::{run_suite, BenchError, SuiteOptions, SuiteReport};

#[cfg(test)]
mod tests;
