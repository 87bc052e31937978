//! `cargo bench -p waggle-bench --bench interp [-- OPTIONS] [FILTER...]`: Waggle's
//! interpreter against rbpf's on the benchmark programs. See
//! `waggle_bench::cli` for the options.

use std::process::ExitCode;

fn main() -> ExitCode {
    waggle_bench::cli::main(std::env::args().skip(1))
}
