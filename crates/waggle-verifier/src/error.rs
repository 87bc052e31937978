//! Verification errors: what was wrong, where, on which path, with the
//! abstract state of the registers involved, the rule in plain words and a
//! hint; rendered in rustc's style or serialised as JSON.

use serde::Serialize;
use std::fmt;

/// The class of an error, for programs that act on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    /// The instructions do not decode, or control flow is malformed.
    Malformed,
    /// An instruction no path reaches (Linux rejects dead code).
    Unreachable,
    /// A register read before it is written, or after it was invalidated.
    UninitRegister,
    /// A write to `r10`.
    ReadOnlyRegister,
    /// A load, store or atomic outside what the pointer may access.
    InvalidAccess,
    /// A read of stack bytes never written on this path.
    UninitStack,
    /// A dereference or use of a pointer that may be NULL.
    MaybeNull,
    /// Arithmetic on pointers outside the allowed forms.
    PointerArithmetic,
    /// A comparison of pointers into different regions.
    PointerComparison,
    /// An address would become a number the program can see (by
    /// arithmetic, a comparison, a store outside the stack, a helper
    /// argument or a stack slot read as bytes): rejected only when
    /// [`VerifyOptions::allow_ptr_leaks`](crate::VerifyOptions::allow_ptr_leaks)
    /// is off, as Linux does for loaders without `CAP_PERFMON`.
    PointerLeak,
    /// A helper call that is unknown or not allowed for the program type.
    Helper,
    /// A helper argument of the wrong kind, size or state.
    HelperArgument,
    /// An acquired reference (ring buffer record) not released on a path.
    ReferenceLeak,
    /// `r0` at exit is not a valid return value.
    ReturnValue,
    /// Exploration processed more instructions than the limit.
    TooComplex,
    /// A loop that may never end.
    InfiniteLoop,
    /// Too many nested calls, or a recursive call.
    CallDepth,
    /// The combined stack of a call chain is over 512 bytes.
    StackSize,
    /// An instruction Linux rejects outright (reserved forms).
    InvalidInstruction,
    /// A construct this verifier does not check yet.
    Unsupported,
}

/// Where an instruction came from in the source.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SourceLocation {
    pub file: String,
    pub line: u32,
    pub column: u32,
    pub text: String,
}

/// A register (or stack slot) and its abstract value at the error.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RegisterNote {
    pub name: String,
    pub value: String,
}

/// One decision on the path to the error.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct PathStep {
    /// Slot index of the instruction.
    pub pc: usize,
    pub event: PathEvent,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PathEvent {
    /// A conditional jump taken.
    Taken,
    /// A conditional jump not taken (fall-through).
    NotTaken,
    /// A bpf-to-bpf call entered.
    Call,
}

/// A program the verifier cannot prove safe, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VerifyError {
    pub kind: ErrorKind,
    /// One line: what is wrong (`invalid access to packet: ...`).
    pub message: String,
    /// Slot index of the instruction, when the error has one.
    pub pc: Option<usize>,
    /// The instruction in LLVM syntax.
    pub insn: Option<String>,
    pub source: Option<Box<SourceLocation>>,
    /// The registers involved, as the verifier saw them on this path.
    pub registers: Vec<RegisterNote>,
    /// The branch decisions and calls that led here (the most recent
    /// `path_omitted`-free tail when the path is long).
    pub path: Vec<PathStep>,
    /// Decisions before the first one in `path` that were left out.
    pub path_omitted: usize,
    /// The rule, in plain words.
    pub rule: String,
    /// What would fix it, when the verifier can tell.
    pub help: Option<String>,
    /// The program's name.
    pub program: String,
}

impl VerifyError {
    /// The error in rustc's style, as [`fmt::Display`] prints it.
    pub fn render(&self) -> String {
        self.to_string()
    }

    /// The error as JSON.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("plain data serialises")
    }
}

impl fmt::Display for VerifyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "error: {}", self.message)?;
        let gutter = self
            .source
            .as_ref()
            .map_or(1, |s| s.line.to_string().len())
            .max(2);
        let pad = " ".repeat(gutter);
        match &self.source {
            Some(s) => {
                let file = s.file.strip_prefix("./").unwrap_or(&s.file);
                writeln!(f, "{pad}--> {file}:{}", s.line)?;
                writeln!(f, "{pad} |")?;
                writeln!(
                    f,
                    "{:>gutter$} | {}",
                    s.line,
                    s.text.trim_end().replace('\t', "    ")
                )?;
                writeln!(f, "{pad} |")?;
            }
            None => writeln!(f, "{pad}--> program `{}`", self.program)?,
        }
        if let (Some(pc), Some(insn)) = (self.pc, &self.insn) {
            writeln!(f, "{pad}  {pc}: {insn}")?;
        }
        for r in &self.registers {
            writeln!(f, "{pad} = {}: {}", r.name, r.value)?;
        }
        if !self.path.is_empty() {
            let steps: Vec<String> = self
                .path
                .iter()
                .map(|s| match s.event {
                    PathEvent::Taken => format!("{} taken", s.pc),
                    PathEvent::NotTaken => format!("{} not taken", s.pc),
                    PathEvent::Call => format!("call at {}", s.pc),
                })
                .collect();
            let more = if self.path_omitted > 0 {
                format!("({} earlier decisions) ... ", self.path_omitted)
            } else {
                String::new()
            };
            writeln!(f, "{pad} = path: {more}{}", steps.join(", "))?;
        }
        writeln!(f, "{pad} = rule: {}", self.rule)?;
        if let Some(h) = &self.help {
            writeln!(f, "{pad} = help: {h}")?;
        }
        Ok(())
    }
}

impl std::error::Error for VerifyError {}
