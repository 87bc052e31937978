//! Every program of the bpf_conformance suite compiled for aarch64 as well
//! as for the host: whatever the JIT compiles here must pass Cranelift's IR
//! verifier, register allocation and emission for aarch64 too, with every
//! combination of `verified` and constant blinding (the runtime's tests do
//! the same for the example and benchmark objects). Where qemu's user-mode
//! emulator and an aarch64 C compiler are installed, the programs that are
//! one function without helper calls also run, and must return what the
//! suite expects.

use std::fs;
use std::process::{Command, Stdio};
use std::sync::Arc;
use waggle_conformance::{default_suite_dir, helpers, Expected, TestCase};
use waggle_isa::{assemble, decode_program, encode_program, CallTarget, Insn, Syntax};
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

/// The first of `names` that runs (`NAME --version`), if any.
fn tool(names: &[&'static str]) -> Option<&'static str> {
    names.iter().copied().find(|name| {
        Command::new(name)
            .arg("--version")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    })
}

/// The aarch64 code runs: every conformance program that is one function
/// without helper calls and should return a value is compiled for aarch64
/// and run under qemu's user-mode emulator by a small C driver
/// (`tests/data/aarch64_driver.c`), and returns the expected r0. Needs
/// `qemu-aarch64` (Debian: qemu-user-static) and `aarch64-linux-gnu-gcc`
/// (gcc-aarch64-linux-gnu); skipped without them.
#[test]
fn conformance_programs_run_on_aarch64_under_qemu() {
    let Some(dir) = default_suite_dir() else {
        println!("skipped: ../shared/bpf_conformance/tests is absent");
        return;
    };
    let Some(qemu) = tool(&["qemu-aarch64-static", "qemu-aarch64"]) else {
        println!("skipped: no qemu-aarch64 (Debian: qemu-user-static) to run aarch64 code");
        return;
    };
    let Some(cc) = tool(&["aarch64-linux-gnu-gcc"]) else {
        println!(
            "skipped: no aarch64-linux-gnu-gcc (Debian: gcc-aarch64-linux-gnu) to build the driver"
        );
        return;
    };
    let work = std::env::temp_dir().join(format!("waggle-aarch64-{}", std::process::id()));
    fs::create_dir_all(&work).unwrap();
    let driver = work.join("driver");
    let source = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/aarch64_driver.c");
    let built = Command::new(cc)
        .args(["-O2", "-static", "-o"])
        .arg(&driver)
        .arg(source)
        .status()
        .expect("runs the aarch64 compiler");
    assert!(built.success(), "the driver does not build");
    let mut paths: Vec<_> = fs::read_dir(&dir)
        .expect("read suite dir")
        .map(|e| e.expect("dir entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "data"))
        .collect();
    paths.sort();
    let registry = Arc::new(helpers());
    let (mut ran, mut failures) = (0, Vec::new());
    for path in &paths {
        let name = path.file_name().unwrap().to_string_lossy();
        let case = TestCase::parse(&fs::read_to_string(path).unwrap()).unwrap();
        let Expected::Result(want) = case.expected else {
            continue;
        };
        let Ok(insns) = assemble(&case.asm, Syntax::Ubpf) else {
            continue;
        };
        let Ok(insns) = decode_program(&encode_program(&insns)) else {
            continue;
        };
        // Helper calls would call this process's addresses.
        if insns
            .iter()
            .any(|(_, i)| matches!(i, Insn::Call(CallTarget::Helper(_)) | Insn::CallX { .. }))
        {
            continue;
        }
        // Both ways the JIT compiles: stack in memory, or in registers as
        // for verified programs.
        for verified in [false, true] {
            let opts = JitOptions {
                verified,
                ..JitOptions::default()
            };
            let Ok(code) = compile_for_target(&insns, registry.clone(), &opts, AARCH64) else {
                continue;
            };
            // One function: its code needs no relocation.
            let [(_, function)] = &code.functions[..] else {
                continue;
            };
            let (code_file, mem_file) = (work.join("code"), work.join("mem"));
            fs::write(&code_file, function).unwrap();
            fs::write(&mem_file, &case.mem).unwrap();
            let out = Command::new(qemu)
                .arg(&driver)
                .arg(&code_file)
                .arg(&mem_file)
                .output()
                .expect("runs qemu");
            let text = String::from_utf8_lossy(&out.stdout);
            let got: Vec<u64> = text
                .split_whitespace()
                .filter_map(|w| u64::from_str_radix(w, 16).ok())
                .collect();
            ran += 1;
            if !out.status.success() || got != [want, 0] {
                failures.push(format!(
                    "{name} (verified {verified}): want r0 {want:#x} (status 0), got {:?} ({}) {}",
                    got,
                    out.status,
                    String::from_utf8_lossy(&out.stderr)
                ));
            }
        }
    }
    let _ = fs::remove_dir_all(&work);
    println!(
        "conformance run on aarch64 under {qemu}: {ran} runs, {} failed",
        failures.len()
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert!(ran > 200, "only {ran} runs");
}
