//! A run of the C suite: load every selected program on every selected
//! engine, check that all agree on the result, and only then measure.

use super::engine::{self, Engine, Observed, Prepared};
use super::native::call;
use super::programs::{select, CProgram, Native, MAP_OPS, MAP_OP_BASELINE, PROGRAMS};
use super::report::{Row, SuiteReport};
use crate::backend::{BackendError, Runner};
use crate::machine::Machine;
use crate::measure::{measure_all, Settings};
use crate::report::Cell;
use std::fmt;
use std::time::Duration;
use thiserror::Error;

/// What to run and how long to measure.
#[derive(Debug, Clone, PartialEq)]
pub struct SuiteOptions {
    /// Run the programs whose name contains any of these (all when empty).
    /// When any map benchmark is selected, its baseline `mapop_none` is too.
    pub filters: Vec<String>,
    /// Engines, in column order.
    pub engines: Vec<Engine>,
    pub settings: Settings,
}

impl Default for SuiteOptions {
    /// Every program on every engine: about 30 s on two cores.
    fn default() -> Self {
        SuiteOptions {
            filters: Vec::new(),
            engines: Engine::ALL.to_vec(),
            settings: Settings {
                warmup: Duration::from_millis(20),
                target: Duration::from_millis(250),
                batches: 11,
            },
        }
    }
}

impl SuiteOptions {
    /// Every program on every engine in a few seconds: numbers for CI,
    /// noisier than the default's.
    pub fn quick() -> Self {
        SuiteOptions {
            settings: Settings {
                warmup: Duration::from_millis(2),
                target: Duration::from_millis(15),
                batches: 5,
            },
            ..SuiteOptions::default()
        }
    }
}

/// A program on one engine gave a result that disqualifies the run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    pub program: &'static str,
    /// `None` for the reference run itself.
    pub engine: Option<Engine>,
    pub problem: String,
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.engine {
            Some(engine) => write!(f, "{} on {engine}: {}", self.program, self.problem),
            None => write!(f, "{}: {}", self.program, self.problem),
        }
    }
}

#[derive(Debug, Error)]
pub enum BenchError {
    #[error("no program matches {0:?} (see --list)")]
    NoMatch(Vec<String>),
    #[error("refusing to report timings, results are wrong:\n{}", list(.0))]
    Mismatch(Vec<Failure>),
    #[error("measuring: {0}")]
    Measure(Failure),
}

fn list(failures: &[Failure]) -> String {
    let lines: Vec<String> = failures.iter().map(|f| format!("  {f}")).collect();
    lines.join("\n")
}

/// A program with the frame it runs on: what every engine loads.
pub struct Workload {
    pub program: &'static CProgram,
    pub frame: Vec<u8>,
    /// `raw_NAME`'s bytecode for rbpf, or why rbpf cannot run the program;
    /// kept here because rbpf's VM borrows its bytecode.
    pub(crate) raw: Result<Vec<u8>, BackendError>,
}

impl Workload {
    /// `program` on its benchmark frame.
    pub fn new(program: &'static CProgram) -> Workload {
        Workload::on(program, program.frame().build())
    }

    /// `program` on `frame`.
    pub fn on(program: &'static CProgram, frame: Vec<u8>) -> Workload {
        Workload {
            program,
            frame,
            raw: engine::raw_bytecode(program),
        }
    }
}

/// The result every engine must agree with: the native function's when the
/// program has one, else Waggle's checked run's; plus the instructions one
/// run executes on Waggle.
pub struct Reference {
    pub result: u64,
    pub insns: u64,
}

/// Computes a workload's reference; a failure names what went wrong.
pub fn reference(workload: &Workload) -> Result<Reference, Failure> {
    let name = workload.program.name();
    let failure = |problem: String| Failure {
        program: name,
        engine: None,
        problem,
    };
    let waggle = engine::waggle_reference(workload)
        .map_err(|e| failure(format!("Waggle's reference run: {e}")))?;
    if let Native::Available(f) = workload.program.native() {
        let native = call(f, &workload.frame);
        if native != waggle.result {
            return Err(failure(format!(
                "Waggle computes {:#x}, the native build {native:#x}",
                waggle.result
            )));
        }
    }
    Ok(Reference {
        result: waggle.result,
        insns: waggle.insns,
    })
}

/// [`run_suite_with_progress`] without progress lines.
pub fn run_suite(opts: &SuiteOptions) -> Result<SuiteReport, BenchError> {
    run_suite_with_progress(opts, &mut |_| {})
}

/// Checks, then measures, the selected programs on the selected engines,
/// reporting each step as one line to `progress`.
pub fn run_suite_with_progress(
    opts: &SuiteOptions,
    progress: &mut dyn FnMut(&str),
) -> Result<SuiteReport, BenchError> {
    let programs = select(PROGRAMS, &opts.filters);
    let mut map_ops = select(MAP_OPS, &opts.filters);
    if !map_ops.is_empty() && !map_ops.iter().any(|p| p.name() == MAP_OP_BASELINE) {
        map_ops.extend(select(MAP_OPS, &[MAP_OP_BASELINE.to_string()]));
        map_ops.sort_by_key(|p| p.name() != MAP_OP_BASELINE);
    }
    if programs.is_empty() && map_ops.is_empty() {
        return Err(BenchError::NoMatch(opts.filters.clone()));
    }

    let workloads: Vec<Workload> = programs
        .iter()
        .chain(&map_ops)
        .map(|p| Workload::new(p))
        .collect();
    progress(&format!(
        "checking {} programs on {} engines",
        workloads.len(),
        opts.engines.len()
    ));
    let mut failures = Vec::new();
    let checked: Vec<Checked<'_>> = workloads
        .iter()
        .filter_map(|w| check(w, &opts.engines, &mut failures))
        .collect();
    if !failures.is_empty() {
        return Err(BenchError::Mismatch(failures));
    }

    let mut rows = Vec::with_capacity(checked.len());
    for program in checked {
        progress(&format!("measuring {}", program.workload.program.name()));
        rows.push(measure(program, &opts.settings)?);
    }
    let split = programs.len();
    let map_op_rows = rows.split_off(split);
    Ok(SuiteReport::new(
        Machine::detect(),
        opts.settings,
        opts.engines.clone(),
        rows,
        map_op_rows,
    ))
}

/// A program every selected engine ran correctly (or cannot run), with the
/// runners kept for timing.
struct Checked<'a> {
    workload: &'a Workload,
    reference: Reference,
    slots: Vec<(Engine, Slot<'a>)>,
    /// What Waggle's JIT took to compile the program, if it ran it.
    jit_compile: Option<Duration>,
}

/// An engine's runner, or why it cannot run the program ("n/a").
type Slot<'a> = Result<Box<dyn Runner + 'a>, String>;

/// Prepares `workload` on each engine and compares what each observed with
/// the reference. Records what is wrong in `failures`; `None` if anything
/// was.
fn check<'a>(
    workload: &'a Workload,
    engines: &[Engine],
    failures: &mut Vec<Failure>,
) -> Option<Checked<'a>> {
    let reference = match reference(workload) {
        Ok(r) => r,
        Err(failure) => {
            failures.push(failure);
            return None;
        }
    };
    let failed_before = failures.len();
    let mut slots = Vec::with_capacity(engines.len());
    let mut jit_compile = None;
    for &engine in engines {
        let mut fail = |problem: String| {
            failures.push(Failure {
                program: workload.program.name(),
                engine: Some(engine),
                problem,
            })
        };
        match engine.prepare(workload) {
            Ok(Prepared {
                runner,
                observed,
                compile_time,
            }) if observed.matches(reference.result) => {
                if engine == Engine::WaggleJit {
                    jit_compile = compile_time;
                }
                slots.push((engine, Ok(runner)))
            }
            Ok(Prepared { observed, .. }) => fail(format!(
                "computed {observed}, expected {}",
                Observed::Result(reference.result)
            )),
            Err(BackendError::Unsupported(reason)) => slots.push((engine, Err(reason))),
            Err(e) => fail(e.to_string()),
        }
    }
    (failures.len() == failed_before).then_some(Checked {
        workload,
        reference,
        slots,
        jit_compile,
    })
}

/// Measures the runners of one program together and fills its row.
fn measure(program: Checked<'_>, settings: &Settings) -> Result<Row, BenchError> {
    let mut runners = Vec::new();
    let mut measured = Vec::new();
    let mut reasons = Vec::new();
    for (engine, slot) in program.slots {
        match slot {
            Ok(runner) => {
                runners.push(runner);
                measured.push(engine);
                reasons.push(None);
            }
            Err(reason) => reasons.push(Some(reason)),
        }
    }
    let name = program.workload.program.name();
    let results = measure_all(&mut runners, settings).map_err(|(i, e)| {
        BenchError::Measure(Failure {
            program: name,
            engine: Some(measured[i]),
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
        program: program.workload.program,
        frame_len: program.workload.frame.len(),
        insns: program.reference.insns,
        result: program.reference.result,
        cells,
        jit_compile_us: program.jit_compile.map(|d| d.as_secs_f64() * 1e6),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::csuite::programs::PROGRAMS;
    use crate::csuite::render;
    use crate::render::Format;

    /// Settings that make a run take milliseconds.
    fn tiny() -> Settings {
        Settings {
            warmup: Duration::from_millis(1),
            target: Duration::from_millis(1),
            batches: 3,
        }
    }

    fn program(name: &str) -> &'static CProgram {
        PROGRAMS
            .iter()
            .find(|p| p.name() == name)
            .unwrap_or_else(|| panic!("no program {name}"))
    }

    /// An engine computing something else fails the check, so nothing is
    /// timed: here rbpf runs fnv1a's bytecode for xxhash64.
    #[test]
    fn a_wrong_result_refuses_the_run() {
        let mut workload = Workload::new(program("xxhash64"));
        workload.raw = Workload::new(program("fnv1a")).raw;
        let mut failures = Vec::new();
        let checked = check(&workload, &[Engine::Native, Engine::Rbpf], &mut failures);
        assert!(checked.is_none());
        assert_eq!(failures.len(), 1, "{failures:?}");
        assert_eq!(failures[0].engine, Some(Engine::Rbpf));
        assert!(failures[0].problem.contains("expected"), "{}", failures[0]);
    }

    #[test]
    fn no_match_is_an_error() {
        let opts = SuiteOptions {
            filters: vec!["no-such-program".to_string()],
            ..SuiteOptions::quick()
        };
        assert!(matches!(run_suite(&opts), Err(BenchError::NoMatch(_))));
    }

    /// A short run: rows, n/a cells, ratios, the map baseline pulled in by a
    /// map benchmark, and all three renderings.
    #[test]
    fn a_short_run_reports_and_renders() -> Result<(), String> {
        let opts = SuiteOptions {
            filters: vec![
                "parse_vlan".into(),
                "lpm_route".into(),
                "mapop_array_lookup".into(),
            ],
            settings: tiny(),
            ..SuiteOptions::default()
        };
        let report = run_suite(&opts).map_err(|e| e.to_string())?;
        let names: Vec<&str> = report.programs.iter().map(|r| r.program.name()).collect();
        assert_eq!(names, ["parse_vlan", "lpm_route"]);
        let ops: Vec<&str> = report.map_ops.iter().map(|r| r.program.name()).collect();
        assert_eq!(ops, ["mapop_none", "mapop_array_lookup"]);

        let vlan = &report.programs[0];
        assert!(vlan.cells.iter().all(|c| c.median_ns().is_some()));
        assert!(report.ratio(vlan, Engine::Waggle, Engine::Native).is_some());
        let lpm = &report.programs[1];
        assert!(lpm.median_ns(&report.engines, Engine::Native).is_none());
        let waggle = report
            .summary
            .iter()
            .find(|s| s.engine == Engine::Waggle)
            .ok_or("no waggle summary")?;
        assert_eq!(waggle.programs, 2);
        let vs_native = waggle
            .ratios
            .iter()
            .find(|r| r.reference == Engine::Native)
            .ok_or("no ratio against native")?;
        assert_eq!(vs_native.programs, 1, "lpm_route has no native time");
        assert!(report
            .map_op_costs
            .iter()
            .any(|c| c.engine == Engine::Waggle && c.ns_per_op.is_some()));

        let text = render::text(&report);
        assert!(
            text.contains("parse_vlan") && text.contains("geomean"),
            "{text}"
        );
        assert!(text.contains("native n/a for lpm_route"), "{text}");
        let md = render::markdown(&report);
        assert!(md.contains("| mapop_array_lookup |"), "{md}");
        let json = render::render(&report, Format::Json).map_err(|e| e.to_string())?;
        let value: serde_json::Value = serde_json::from_str(&json).map_err(|e| e.to_string())?;
        assert_eq!(value["programs"][0]["program"]["name"], "parse_vlan");
        let column = |name: &str| {
            value["engines"]
                .as_array()
                .and_then(|e| e.iter().position(|x| x == name))
                .ok_or(format!("no {name} column"))
        };
        assert_eq!(
            value["programs"][1]["cells"][column("native")?]["status"],
            "not_available"
        );
        assert!(column("rbpf-jit").is_ok());
        Ok(())
    }
}
