//! Failures of a command and the exit code each maps to.

use std::fmt;
use std::process::ExitCode;

/// Why a command failed; the variant decides the exit code.
#[derive(Debug)]
pub enum Failure {
    /// The input was unusable: unreadable, malformed, invalid. Exit code 2.
    BadInput(String),
    /// The program ran and failed. Exit code 1.
    Program(String),
}

impl Failure {
    pub fn bad_input(e: impl fmt::Display) -> Failure {
        Failure::BadInput(e.to_string())
    }

    pub fn report(&self) -> ExitCode {
        match self {
            Failure::BadInput(msg) => {
                eprintln!("error: {msg}");
                ExitCode::from(2)
            }
            Failure::Program(msg) => {
                eprintln!("error: program failed: {msg}");
                ExitCode::from(1)
            }
        }
    }
}
