//! The C suite: programs written in restricted C (`programs/c`), run on
//! every engine that can run them, next to the same C compiled for the host.
//!
//! - [`frame`]: the deterministic frames programs run on.
//! - [`programs`]: the programs, their frames, native functions and map
//!   contents.
//! - [`native`]: the host build of the programs (the native row).
//! - [`engine`]: the engines and how each loads a program; the place where
//!   the kernel and a JIT plug in.
//! - [`run`]: [`run_suite`]: the correctness gate, then the measurement.
//! - [`report`], [`render`](mod@render): results, ratios, geometric means, map costs;
//!   text, Markdown and JSON.
//! - [`cli`]: the options of `cargo bench -p waggle-bench --bench suite`.

pub mod cli;
pub mod engine;
pub mod frame;
pub mod native;
pub mod programs;
pub mod render;
pub mod report;
pub mod run;

pub use engine::Engine;
pub use render::{json, markdown, render, text};
pub use report::SuiteReport;
pub use run::{run_suite, run_suite_with_progress, BenchError, SuiteOptions};

#[cfg(test)]
mod tests;
