//! Runs clang-compiled eBPF objects in userspace, with Linux semantics.

pub mod context;
pub mod env;
pub mod helper_names;
mod helpers;
