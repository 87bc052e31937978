//! Waggle's benchmark suite.
//!
//! Runs the same eBPF programs on several runtimes in one process and compares
//! their time per run:
//!
//! - [`registry`]: the programs, their inputs and expected results.
//! - [`backend`]: the runtimes (Waggle's interpreter in both modes, rbpf's
//!   interpreter), each preparing a program once and running it many times.
//! - [`measure`]: warm-up, then timed batches; the median batch gives the
//!   time per run.
//! - [`suite`]: checks that every runtime returns the expected `r0` before
//!   timing anything, then measures.
//! - [`report`], [`render`]: results, ratios against rbpf, and their text,
//!   Markdown and JSON forms.
//! - [`cli`]: the command line of `cargo bench -p waggle-bench`.

pub mod backend;
pub mod cli;
pub mod machine;
pub mod measure;
pub mod registry;
pub mod render;
pub mod report;
pub mod suite;

#[cfg(test)]
mod tests;
