//! How long the JIT takes to compile each program of the conformance suite.
//!
//! `cargo run --release -p waggle-conformance --example jit_compile_times`
//! (debug builds run Cranelift unoptimised and with its IR verifier on, so
//! their times say little). Prints the median, 90th percentile and maximum
//! compile time, and the native code size.

use std::sync::Arc;
use std::time::Duration;
use waggle_conformance::{default_suite_dir, helpers, TestCase};
use waggle_isa::{assemble, encode_program, Syntax};
use waggle_jit::JitProgram;

fn main() {
    let Some(dir) = default_suite_dir() else {
        eprintln!("../shared/bpf_conformance/tests is absent");
        std::process::exit(2);
    };
    let mut paths: Vec<_> = std::fs::read_dir(&dir)
        .expect("read suite dir")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "data"))
        .collect();
    paths.sort();
    let registry = Arc::new(helpers());
    let (mut times, mut sizes, mut refused) = (Vec::new(), Vec::new(), 0);
    for path in &paths {
        let Ok(case) = TestCase::parse(&std::fs::read_to_string(path).expect("read")) else {
            refused += 1;
            continue;
        };
        let Ok(insns) = assemble(&case.asm, Syntax::Ubpf) else {
            refused += 1;
            continue;
        };
        // Best of three, so a preempted run on a shared machine does not count.
        let mut best = Duration::MAX;
        let mut size = 0;
        for _ in 0..3 {
            match JitProgram::from_bytes(&encode_program(&insns), registry.clone()) {
                Ok(jit) => {
                    best = best.min(jit.compile_time());
                    size = jit.code_size();
                }
                Err(_) => break,
            }
        }
        if best == Duration::MAX {
            refused += 1;
            continue;
        }
        times.push(best);
        sizes.push(size);
    }
    times.sort();
    let at = |q: f64| times[((times.len() - 1) as f64 * q).round() as usize];
    println!(
        "jit compile time over {} conformance programs ({refused} not compiled): median {:.0} µs, p90 {:.0} µs, max {:.0} µs; native code {} bytes on average",
        times.len(),
        at(0.5).as_secs_f64() * 1e6,
        at(0.9).as_secs_f64() * 1e6,
        at(1.0).as_secs_f64() * 1e6,
        sizes.iter().sum::<usize>() / sizes.len().max(1),
    );
}
