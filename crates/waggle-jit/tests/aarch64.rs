//! Every program of the bpf_conformance suite compiled for aarch64 as well
//! as for the host: whatever the JIT compiles here must pass Cranelift's IR
//! verifier, register allocation and emission for aarch64 too, with every
//! combination of `verified` and constant blinding. (No aarch64 machine
//! runs the code; the runtime's tests do the same for the example and
//! benchmark objects.)

use std::fs;
use std::sync::Arc;
use waggle_conformance::{default_suite_dir, helpers, TestCase};
use waggle_isa::{assemble, decode_program, encode_program, Syntax};
use waggle_jit::{compile_for_target, JitError, JitOptions, JitProgram};

const AARCH64: &str = "aarch64-unknown-linux-gnu";

/// A compilation's result, for failure messages: its code size or its error.
fn summary(result: Result<usize, JitError>) -> String {
    match result {
        Ok(size) => format!("{size} bytes"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn conformance_suite_compiles_for_aarch64() {
    let Some(dir) = default_suite_dir() else {
        println!("skipped: ../shared/bpf_conformance/tests is absent");
        return;
    };
    let mut paths: Vec<_> = fs::read_dir(&dir)
        .expect("read suite dir")
        .map(|e| e.expect("dir entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "data"))
        .collect();
    paths.sort();
    assert!(!paths.is_empty(), "no .data files in {}", dir.display());
    let registry = Arc::new(helpers());
    let (mut compiled, mut refused, mut host_size, mut aarch64_size) = (0, 0, 0, 0);
    let mut failures = Vec::new();
    for path in &paths {
        let name = path.file_name().unwrap().to_string_lossy();
        let case = TestCase::parse(&fs::read_to_string(path).unwrap())
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        // Cases whose assembly Waggle refuses never reach the JIT.
        let Ok(insns) = assemble(&case.asm, Syntax::Ubpf) else {
            continue;
        };
        let Ok(insns) = decode_program(&encode_program(&insns)) else {
            continue;
        };
        for (verified, blind_constants) in
            [(false, false), (true, false), (false, true), (true, true)]
        {
            let opts = JitOptions {
                verified,
                blind_constants,
                ..JitOptions::default()
            };
            let host = JitProgram::compile(&insns, registry.clone(), &opts);
            let target = compile_for_target(&insns, registry.clone(), &opts, AARCH64);
            match (host, target) {
                (Ok(host), Ok(target)) => {
                    compiled += 1;
                    host_size += host.code_size();
                    aarch64_size += target.code_size();
                }
                // Programs the JIT refuses (as the interpreter does) are
                // refused for aarch64 the same way.
                (Err(h), Err(t)) if h == t => refused += 1,
                (host, target) => failures.push(format!(
                    "{name} (verified {verified}, blinded {blind_constants}): host: {}; aarch64: {}",
                    summary(host.map(|p| p.code_size())),
                    summary(target.map(|c| c.code_size())),
                )),
            }
        }
    }
    println!(
        "conformance on aarch64: {} programs, {compiled} compilations ({refused} refused on both), \
         {aarch64_size} bytes of aarch64 code ({host_size} on the host)",
        paths.len()
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert!(compiled > 0);
}
