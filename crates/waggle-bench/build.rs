//! Records the compiler's version, so reports say which rustc built the
//! runtimes they compare.

use std::process::Command;

fn main() {
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".to_string());
    let version = Command::new(&rustc)
        .arg("--version")
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_else(|| "unknown".to_string());
    println!("cargo:rustc-env=WAGGLE_BENCH_RUSTC={version}");
    println!("cargo:rerun-if-changed=build.rs");
}
