//! Static analyses of eBPF programs.
//!
//! - [`cfg`]: the program's functions and the successors of each instruction.
//! - [`dataflow`]: a forward dataflow engine over any [`dataflow::Domain`],
//!   interprocedural for bpf-to-bpf calls (each function's entry state is the
//!   join of its call sites').
//! - [`ctx`]: which registers and stack slots hold the context pointer at each
//!   instruction, and so which loads and stores access the context, at which
//!   offset. Runtimes use it to rewrite context accesses to their own layout
//!   (as Linux's `convert_ctx_access` does); the verifier grows from the same
//!   engine.
//! - [`context`]: the context structures of each program type and which of
//!   their fields programs may read and write, shared by the runtime's
//!   rewrite and the verifier.
//! - [`helper_names`]: Linux's helper functions by id, for messages.

pub mod cfg;
pub mod context;
pub mod ctx;
pub mod dataflow;
pub mod helper_names;
