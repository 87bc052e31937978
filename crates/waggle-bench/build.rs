//! Records the compilers' versions, so reports say what built the runtimes
//! they compare, and compiles the C suite's programs for the host: the
//! native row runs the same C as the eBPF rows (`programs/c/bench.h`
//! explains how one source compiles both ways).

use std::path::Path;
use std::process::Command;

fn main() {
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".to_string());
    println!(
        "cargo:rustc-env=WAGGLE_BENCH_RUSTC={}",
        version_of(Path::new(&rustc))
    );
    println!("cargo:rerun-if-changed=build.rs");
    compile_native();
}

/// The first line of `compiler --version`, or "unknown".
fn version_of(compiler: &Path) -> String {
    Command::new(compiler)
        .arg("--version")
        .output()
        .ok()
        .filter(|o| o.status.success())
        .and_then(|o| {
            String::from_utf8_lossy(&o.stdout)
                .lines()
                .next()
                .map(|l| l.trim().to_string())
        })
        .unwrap_or_else(|| "unknown".to_string())
}

/// Compiles every `programs/c/*.bpf.c` with `-DBENCH_NATIVE` at -O2 (whatever
/// the cargo profile: the native row is the optimised program) into one
/// static library.
///
/// The compiler is `$CC` when set, else clang-19 when installed (the compiler
/// of the eBPF objects, so both rows start from the same front end), else the
/// cc crate's default.
fn compile_native() {
    let dir = Path::new("programs/c");
    println!("cargo:rerun-if-changed={}", dir.display());
    println!("cargo:rerun-if-env-changed=CC");
    let mut sources: Vec<_> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display()))
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|p| p.to_string_lossy().ends_with(".bpf.c"))
        .collect();
    sources.sort();
    for source in &sources {
        println!("cargo:rerun-if-changed={}", source.display());
    }
    println!("cargo:rerun-if-changed={}", dir.join("bench.h").display());

    let mut build = cc::Build::new();
    if std::env::var_os("CC").is_none()
        && Command::new("clang-19").arg("--version").output().is_ok()
    {
        build.compiler("clang-19");
    }
    build
        .files(&sources)
        .define("BENCH_NATIVE", None)
        .opt_level(2)
        .warnings(true)
        .extra_warnings(true)
        .warnings_into_errors(true);
    let compiler = build.get_compiler();
    println!(
        "cargo:rustc-env=WAGGLE_BENCH_CC={} -O2",
        version_of(compiler.path())
    );
    build.compile("waggle_bench_native");
}
