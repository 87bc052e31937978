//! A suite run: assemble the programs, check every backend's result, and only
//! then measure.
//!
//! A time means nothing if the runtime computed something else, so before
//! anything is timed each backend runs each program once and must return the
//! program's expected `r0`, which Waggle's checked mode must return too. Any
//! mismatch or failure stops the run with no timings at all.

use crate::backend::{self, Backend, BackendError, Runner};
use crate::machine::Machine;
use crate::measure::{measure_all, Settings};
use crate::registry::{Bench, Compiled};
use crate::report::{Cell, Report, Row};
use std::fmt;
use thiserror::Error;
use waggle_isa::AsmError;

/// A result that disqualifies the run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    pub bench: &'static str,
    pub backend: Backend,
    pub problem: String,
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} on {}: {}", self.bench, self.backend, self.problem)
    }
}

#[derive(Debug, Error)]
pub enum SuiteError {
    #[error("{bench}: cannot assemble: {error}")]
    Assemble {
        bench: &'static str,
        error: AsmError,
    },
    #[error("refusing to report timings, results are wrong:\n{}", list(.0))]
    Mismatch(Vec<Failure>),
    #[error("{0}")]
    Measure(Failure),
}

fn list(failures: &[Failure]) -> String {
    let lines: Vec<String> = failures.iter().map(|f| format!("  {f}")).collect();
    lines.join("\n")
}

/// Checks and measures `benches` on `backends`, reporting progress (one line
/// per step) to `progress`.
pub fn run(
    benches: &[&'static Bench],
    backends: &[Backend],
    settings: &Settings,
    progress: &mut dyn FnMut(&str),
) -> Result<Report, SuiteError> {
    let compiled = benches
        .iter()
        .map(|b| {
            b.compile().map_err(|error| SuiteError::Assemble {
                bench: b.name(),
                error,
            })
        })
        .collect::<Result<Vec<_>, _>>()?;

    progress(&format!(
        "checking {} programs on {} backends",
        compiled.len(),
        backends.len()
    ));
    let mut failures = Vec::new();
    let checked: Vec<Option<Checked<'_>>> = compiled
        .iter()
        .map(|program| check(program, backends, &mut failures))
        .collect();
    if !failures.is_empty() {
        return Err(SuiteError::Mismatch(failures));
    }

    let mut rows = Vec::with_capacity(checked.len());
    for program in checked.into_iter().flatten() {
        progress(&format!("measuring {}", program.bench.name()));
        rows.push(measure(program, settings)?);
    }
    Ok(Report::new(
        Machine::detect(),
        *settings,
        backends.to_vec(),
        rows,
    ))
}

/// A program every backend ran correctly, with the prepared runners kept for
/// timing (prepared once, run many times).
struct Checked<'a> {
    bench: &'static Bench,
    insns: u64,
    slots: Vec<(Backend, Slot<'a>)>,
}

/// A backend's runner, or why it cannot run the program ("n/a").
type Slot<'a> = Result<Box<dyn Runner + 'a>, String>;

/// Runs `program` once on each backend. Records what is wrong in `failures`,
/// and returns `None` if anything was.
fn check<'a>(
    program: &'a Compiled,
    backends: &[Backend],
    failures: &mut Vec<Failure>,
) -> Option<Checked<'a>> {
    let bench = program.bench();
    let expected = bench.expected();
    let failed_before = failures.len();
    let mut fail = |backend: Backend, problem: String| {
        failures.push(Failure {
            bench: bench.name(),
            backend,
            problem,
        })
    };

    // The reference: Waggle's checked mode, whether or not it is measured.
    let reference = backend::reference(program);
    let mut insns = 0;
    match reference {
        Ok(r) if r.r0 == expected => insns = r.insns,
        Ok(r) => fail(
            Backend::WaggleChecked,
            format!("returned {:#x}, expected {expected:#x}", r.r0),
        ),
        Err(ref e) => fail(Backend::WaggleChecked, e.to_string()),
    }

    let mut slots = Vec::with_capacity(backends.len());
    for &backend in backends {
        match backend.prepare(program) {
            Ok(mut runner) => match runner.run() {
                Ok(r0) if r0 == expected => slots.push((backend, Ok(runner))),
                Ok(r0) => {
                    let reference = match reference {
                        Ok(r) => format!(" (waggle-checked: {:#x})", r.r0),
                        Err(_) => String::new(),
                    };
                    fail(
                        backend,
                        format!("returned {r0:#x}, expected {expected:#x}{reference}"),
                    )
                }
                Err(e) => fail(backend, e.to_string()),
            },
            Err(BackendError::Unsupported(reason)) => slots.push((backend, Err(reason))),
            Err(e) => fail(backend, e.to_string()),
        }
    }
    (failures.len() == failed_before).then_some(Checked {
        bench,
        insns,
        slots,
    })
}

/// Measures the runners of one program together and fills its row.
fn measure(program: Checked<'_>, settings: &Settings) -> Result<Row, SuiteError> {
    let mut runners = Vec::new();
    let mut measured = Vec::new();
    let mut reasons = Vec::new();
    for (backend, slot) in program.slots {
        match slot {
            Ok(runner) => {
                runners.push(runner);
                measured.push(backend);
                reasons.push(None);
            }
            Err(reason) => reasons.push(Some(reason)),
        }
    }
    let results = measure_all(&mut runners, settings).map_err(|(i, e)| {
        SuiteError::Measure(Failure {
            bench: program.bench.name(),
            backend: measured[i],
            problem: e.to_string(),
        })
    })?;
    // `measure_all` returns one result per runner, in order.
    let mut results = results.into_iter();
    let cells = reasons
        .into_iter()
        .filter_map(|reason| match reason {
            Some(reason) => Some(Cell::NotAvailable { reason }),
            None => results.next().map(Cell::Measured),
        })
        .collect();
    Ok(Row {
        bench: program.bench,
        insns: program.insns,
        cells,
    })
}
