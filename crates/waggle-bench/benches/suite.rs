//! `cargo bench -p waggle-bench --bench suite [-- OPTIONS] [FILTER...]`: the
//! C suite on every engine. See `waggle_bench::csuite::cli` for the options.

use std::process::ExitCode;

fn main() -> ExitCode {
    waggle_bench::csuite::cli::main(std::env::args().skip(1))
}
