//! Every file of the bpf_conformance suite, through Waggle's assembler and
//! interpreter, through the JIT, and through the `waggle-conformance` plugin
//! binary (both engines).

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use waggle_conformance::{default_suite_dir, run_case, Engine, Expected, TestCase};
use waggle_isa::{assemble, encode_program, Syntax};

fn suite_files() -> Option<Vec<PathBuf>> {
    let Some(dir) = default_suite_dir() else {
        println!("skipped: ../shared/bpf_conformance/tests is absent");
        return None;
    };
    let mut files: Vec<PathBuf> = fs::read_dir(&dir)
        .expect("read suite dir")
        .map(|e| e.expect("dir entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "data"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no .data files in {}", dir.display());
    Some(files)
}

fn load(path: &Path) -> TestCase {
    let text = fs::read_to_string(path).expect("read test file");
    TestCase::parse(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn name(path: &Path) -> String {
    path.file_name().unwrap().to_string_lossy().into_owned()
}

/// Runs every file on `engine`; prints `conformance (LABEL): N passed, N failed`.
fn run_suite(engine: Engine, label: &str) {
    let Some(files) = suite_files() else { return };
    let mut failed = Vec::new();
    for path in &files {
        if let Err(e) = run_case(&load(path), engine) {
            failed.push(format!("{}: {e}", name(path)));
        }
    }
    let passed = files.len() - failed.len();
    println!(
        "conformance ({label}): {passed} passed, {} failed",
        failed.len()
    );
    assert!(failed.is_empty(), "failures:\n{}", failed.join("\n"));
}

#[test]
fn conformance_suite_interpreter() {
    run_suite(Engine::InterpChecked, "interpreter, checked");
}

#[test]
fn conformance_suite_jit() {
    run_suite(Engine::Jit, "jit");
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[test]
fn conformance_suite_through_plugin_binary() {
    through_plugin_binary(&[], "plugin binary");
}

#[test]
fn conformance_suite_through_plugin_binary_jit() {
    through_plugin_binary(&["--jit"], "plugin binary, jit");
}

fn through_plugin_binary(flags: &[&str], label: &str) {
    let Some(files) = suite_files() else { return };
    let plugin = env!("CARGO_BIN_EXE_waggle-conformance");
    let mut failed = Vec::new();
    for (i, path) in files.iter().enumerate() {
        let case = load(path);
        let program = encode_program(&assemble(&case.asm, Syntax::Ubpf).expect("assembles"));
        // Alternate the two ways the protocol passes the program.
        let mut cmd = Command::new(plugin);
        cmd.args(flags)
            .arg(hex(&case.mem))
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let output = if i % 2 == 0 {
            cmd.arg("--program")
                .arg(hex(&program))
                .output()
                .expect("run plugin")
        } else {
            let mut child = cmd.stdin(Stdio::piped()).spawn().expect("spawn plugin");
            child
                .stdin
                .take()
                .unwrap()
                .write_all(hex(&program).as_bytes())
                .unwrap();
            child.wait_with_output().expect("plugin output")
        };
        let stdout = String::from_utf8_lossy(&output.stdout);
        let ok = match &case.expected {
            Expected::Result(want) => {
                output.status.success()
                    && u64::from_str_radix(stdout.trim(), 16).ok() == Some(*want)
            }
            Expected::Error(_) => !output.status.success(),
        };
        if !ok {
            failed.push(format!(
                "{}: status {}, stdout `{}`, stderr `{}`",
                name(path),
                output.status,
                stdout.trim(),
                String::from_utf8_lossy(&output.stderr).trim()
            ));
        }
    }
    let passed = files.len() - failed.len();
    println!(
        "conformance ({label}): {passed} passed, {} failed",
        failed.len()
    );
    assert!(failed.is_empty(), "failures:\n{}", failed.join("\n"));
}

#[test]
fn plugin_reports_bad_programs_with_nonzero_exit() {
    let plugin = env!("CARGO_BIN_EXE_waggle-conformance");
    // Unknown opcode 0xee.
    let out = Command::new(plugin)
        .args(["", "--program", "ee00000000000000"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown opcode 0xee"));
    // Not hex.
    let out = Command::new(plugin)
        .args(["", "--program", "zz"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}
