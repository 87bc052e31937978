//! The BPF ISA conformance suite (bpf_conformance) for Waggle.
//!
//! - [`TestCase::parse`] reads the suite's `.data` files: an `-- asm` section in
//!   the uBPF assembly syntax, an optional `-- mem` section (hex bytes passed in
//!   `r1`, length in `r2`), and the expected `-- result` (r0) or `-- error`.
//! - [`helpers`] is the helper set the suite expects of a runtime: helper 5
//!   ("unwind") returns its argument and ends the program when that is zero.
//! - [`run_case`] assembles a case, runs it, and compares with the expectation.
//!
//! The `waggle-conformance` binary speaks the suite's plugin protocol, so the
//! upstream runner can test Waggle directly.

use std::path::Path;
use std::sync::Arc;
use thiserror::Error;
use waggle_isa::{assemble, encode_program, Syntax};
use waggle_jit::JitProgram;
use waggle_vm::{HelperRegistry, Input, Interrupt, Program, RunError, RunOptions};

/// One conformance test file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TestCase {
    pub asm: String,
    /// Line of the `-- asm` header, so assembler errors point into the file.
    pub asm_line: usize,
    pub mem: Vec<u8>,
    pub expected: Expected,
    /// The expected encoding as 64-bit words, when the file gives one.
    pub raw: Option<Vec<u64>>,
}

/// What a test expects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Expected {
    /// The value of r0 at exit.
    Result(u64),
    /// Failure, with upstream's expected message.
    Error(String),
}

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ParseError {
    #[error("line {line}: invalid hex `{text}`")]
    BadHex { line: usize, text: String },
    #[error("no `-- asm` section")]
    NoAsm,
    #[error("neither `-- result` nor `-- error` section")]
    NoExpectation,
}

/// Parses a hex byte string such as `"00 01 0a"` or `"00010a"`.
pub fn parse_hex_bytes(text: &str) -> Option<Vec<u8>> {
    let digits: String = text.chars().filter(|c| !c.is_whitespace()).collect();
    if digits.len() % 2 != 0 {
        return None;
    }
    (0..digits.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(digits.get(i..i + 2)?, 16).ok())
        .collect()
}

fn parse_u64(text: &str) -> Option<u64> {
    let t = text.trim();
    match t.strip_prefix("0x").or_else(|| t.strip_prefix("0X")) {
        Some(hex) => u64::from_str_radix(hex, 16).ok(),
        None => t.parse().ok(),
    }
}

impl TestCase {
    pub fn parse(text: &str) -> Result<TestCase, ParseError> {
        let mut section: Option<&str> = None;
        let mut asm = String::new();
        let mut asm_line = None;
        let mut mem_text = String::new();
        let mut result = None;
        let mut error = None;
        let mut raw: Option<Vec<u64>> = None;
        for (i, line) in text.lines().enumerate() {
            let line_no = i + 1;
            if let Some(name) = line.strip_prefix("--") {
                section = Some(name.trim());
                if name.trim() == "asm" {
                    asm_line = Some(line_no);
                }
                continue;
            }
            match section {
                Some("asm") => {
                    asm.push_str(line);
                    asm.push('\n');
                }
                Some("mem") => {
                    mem_text.push_str(line);
                    mem_text.push(' ');
                }
                Some("result") if !line.trim().is_empty() && result.is_none() => {
                    result = Some(parse_u64(line).ok_or_else(|| ParseError::BadHex {
                        line: line_no,
                        text: line.to_string(),
                    })?);
                }
                Some("error") if !line.trim().is_empty() && error.is_none() => {
                    error = Some(line.trim().to_string());
                }
                Some("raw") if !line.trim().is_empty() => {
                    let word = parse_u64(line).ok_or_else(|| ParseError::BadHex {
                        line: line_no,
                        text: line.to_string(),
                    })?;
                    raw.get_or_insert_with(Vec::new).push(word);
                }
                // Comments before the first section, C sources, and sections this
                // runner has no use for.
                _ => {}
            }
        }
        let asm_line = asm_line.ok_or(ParseError::NoAsm)?;
        let mem = parse_hex_bytes(&mem_text).ok_or_else(|| ParseError::BadHex {
            line: 0,
            text: mem_text.trim().to_string(),
        })?;
        let expected = match (result, error) {
            (Some(r), _) => Expected::Result(r),
            (None, Some(e)) => Expected::Error(e),
            (None, None) => return Err(ParseError::NoExpectation),
        };
        Ok(TestCase {
            asm,
            asm_line,
            mem,
            expected,
            raw,
        })
    }
}

/// Id of the suite's "unwind" helper.
pub const UNWIND_HELPER: u32 = 5;

/// The helpers the suite expects: helper 5 returns its first argument and,
/// when that is zero, ends the program (upstream's `call_unwind_fail` test).
pub fn helpers() -> HelperRegistry {
    let mut reg = HelperRegistry::new();
    reg.register(UNWIND_HELPER, "unwind", |_, args| {
        if args[0] == 0 {
            Err(Interrupt::Exit(0))
        } else {
            Ok(args[0])
        }
    });
    reg
}

/// How to execute a program.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    /// The interpreter, bounds-checking every access.
    InterpChecked,
    /// The Cranelift JIT (`waggle-jit`). Compiled code checks nothing, so a
    /// program runs there only after a checked interpreter run of it on a
    /// copy of the memory stayed in bounds and finished within the budget:
    /// a stand-in for the verifier, sound because conformance programs are
    /// deterministic. The JIT's own result is what is reported.
    Jit,
}

/// Why a case did not pass.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum Failure {
    #[error("assembly: line {line}: {message}")]
    Assemble { line: usize, message: String },
    #[error("encoding differs from the `-- raw` section: expected {expected:x?}, got {actual:x?}")]
    Encoding {
        expected: Vec<u64>,
        actual: Vec<u64>,
    },
    #[error("{0}")]
    Load(String),
    #[error("run failed: {0}")]
    Run(String),
    #[error("r0 is {actual:#x}, expected {expected:#x}")]
    WrongResult { expected: u64, actual: u64 },
    #[error("ran to completion with r0 {actual:#x}, expected the error `{expected}`")]
    MissingError { expected: String, actual: u64 },
}

/// Runs raw bytecode on `mem` as the plugin protocol does; returns r0.
pub fn run_bytecode(bytes: &[u8], mem: &mut [u8], engine: Engine) -> Result<u64, Failure> {
    let prog = Program::from_bytes(bytes, Arc::new(helpers()))
        .map_err(|e| Failure::Load(e.to_string()))?;
    let opts = RunOptions {
        // Far above any conformance program, low enough to stop a runaway.
        budget: Some(100_000_000),
    };
    let out = match engine {
        Engine::InterpChecked => prog.run_checked(Input::memory(mem), &opts),
        Engine::Jit => {
            let jit = JitProgram::from_bytes(bytes, Arc::new(helpers()))
                .map_err(|e| Failure::Load(e.to_string()))?;
            let mut copy = mem.to_vec();
            match prog.run_checked(Input::memory(&mut copy), &opts) {
                Err(
                    e @ (RunError::OutOfBounds { .. }
                    | RunError::MisalignedAtomic { .. }
                    | RunError::BudgetExhausted { .. }),
                ) => Err(e),
                // SAFETY: the checked run of this deterministic program on the
                // same memory touched only its stack and `mem`, within bounds,
                // and finished.
                _ => unsafe { jit.run(Input::memory(mem), &opts) },
            }
        }
    };
    out.map(|o| o.r0).map_err(|e| Failure::Run(e.to_string()))
}

/// Assembles, runs and checks one case.
pub fn run_case(case: &TestCase, engine: Engine) -> Result<(), Failure> {
    let insns = assemble(&case.asm, Syntax::Ubpf).map_err(|e| Failure::Assemble {
        line: case.asm_line + e.line,
        message: e.kind.to_string(),
    })?;
    let bytes = encode_program(&insns);
    if let Some(expected) = &case.raw {
        let actual: Vec<u64> = bytes
            .chunks_exact(8)
            .map(|c| u64::from_le_bytes(c.try_into().expect("8-byte chunk")))
            .collect();
        if &actual != expected {
            return Err(Failure::Encoding {
                expected: expected.clone(),
                actual,
            });
        }
    }
    let mut mem = case.mem.clone();
    let result = run_bytecode(&bytes, &mut mem, engine);
    match (&case.expected, result) {
        (Expected::Result(want), Ok(got)) if *want == got => Ok(()),
        (Expected::Result(want), Ok(got)) => Err(Failure::WrongResult {
            expected: *want,
            actual: got,
        }),
        (Expected::Result(_), Err(e)) => Err(e),
        (Expected::Error(_), Err(_)) => Ok(()),
        (Expected::Error(want), Ok(got)) => Err(Failure::MissingError {
            expected: want.clone(),
            actual: got,
        }),
    }
}

/// The suite's test folder beside the repository, if present.
pub fn default_suite_dir() -> Option<std::path::PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/bpf_conformance/tests");
    dir.is_dir().then_some(dir)
}
