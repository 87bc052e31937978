//! Keeps the benchmark programs correct: each must return its expected value,
//! as its Rust model computes it, on every backend.

mod models;

use crate::backend::{Backend, BackendError};
use crate::measure::Settings;
use crate::registry::{select, Bench, BENCHES};
use crate::render::{self, Format};
use crate::report::Cell;
use crate::suite::{self, SuiteError};
use std::time::Duration;

#[test]
fn expected_values_match_the_models() {
    for bench in BENCHES {
        let model = models::model(bench.name())
            .unwrap_or_else(|| panic!("{} has no Rust model", bench.name()));
        let input = bench.input().bytes();
        assert_eq!(
            model(&input),
            bench.expected(),
            "{}: the model computes {:#x}",
            bench.name(),
            model(&input)
        );
    }
}

#[test]
fn every_backend_returns_the_expected_value() {
    for bench in BENCHES {
        let program = bench
            .compile()
            .unwrap_or_else(|e| panic!("{}: cannot assemble: {e}", bench.name()));
        for backend in Backend::ALL {
            let r0 = backend
                .prepare(&program)
                .and_then(|mut runner| runner.run())
                .unwrap_or_else(|e| panic!("{} on {backend}: {e}", bench.name()));
            assert_eq!(
                r0,
                bench.expected(),
                "{} on {backend}: returned {r0:#x}",
                bench.name()
            );
        }
    }
}

/// Settings that make a suite run take milliseconds.
fn quick() -> Settings {
    Settings {
        warmup: Duration::from_millis(1),
        target: Duration::from_millis(1),
        batches: 3,
    }
}

/// What rbpf cannot run, or runs differently from RFC 9669, is "not
/// supported" rather than a failure.
#[test]
fn rbpf_reports_what_it_cannot_run() -> Result<(), String> {
    let sources = [
        "mov %r0, 1\nstxdw [%r10-8], %r0\nlock add [%r10-8], %r0\nexit",
        "mov %r0, -7\nsdiv %r0, 2\nexit",
        "mov %r0, 1\njeq %r0, -1, +1\nmov %r0, 2\nexit",
        "ldabsh 0\nexit",
        "ja +2\nmov %r0, 1\nexit\ncall local -3\nexit",
    ];
    for source in sources {
        let program = Bench::leak_for_test("unsupported", source, 0)
            .compile()
            .map_err(|e| format!("{source}: {e}"))?;
        match Backend::Rbpf.prepare(&program) {
            Err(BackendError::Unsupported(_)) => {}
            Err(e) => return Err(format!("{source}: expected Unsupported, got {e}")),
            Ok(_) => return Err(format!("{source}: rbpf accepted it")),
        };
    }
    Ok(())
}

/// A program rbpf cannot run shows "n/a" and is left out of the geometric
/// means.
#[test]
fn unsupported_programs_are_not_available_and_excluded() -> Result<(), String> {
    let bench = Bench::leak_for_test(
        "atomic",
        "mov %r0, 1\nstxdw [%r10-8], %r0\nlock add [%r10-8], %r0\nldxdw %r0, [%r10-8]\nexit",
        2,
    );
    let report =
        suite::run(&[bench], &Backend::ALL, &quick(), &mut |_| {}).map_err(|e| e.to_string())?;
    let row = &report.rows[0];
    assert_eq!(row.insns, 5);
    assert!(row.cells[0].median_ns().is_some());
    let rbpf = Backend::ALL
        .iter()
        .position(|&b| b == Backend::Rbpf)
        .unwrap_or(0);
    assert!(matches!(row.cells[rbpf], Cell::NotAvailable { .. }));
    for ratio in &report.ratios {
        assert_eq!(ratio.geomean, None);
        assert_eq!(ratio.excluded, ["atomic"]);
    }
    let text = render::text(&report);
    assert!(text.contains("n/a"), "{text}");
    assert!(text.contains("rbpf cannot run atomic"), "{text}");
    Ok(())
}

/// A wrong result stops the run before anything is timed.
#[test]
fn wrong_results_refuse_timings() {
    let bench = Bench::leak_for_test("wrong", "mov %r0, 7\nexit", 8);
    match suite::run(&[bench], &Backend::ALL, &quick(), &mut |_| {}) {
        Err(SuiteError::Mismatch(failures)) => {
            // Waggle's reference and every backend.
            assert_eq!(failures.len(), 1 + Backend::ALL.len(), "{failures:?}");
        }
        other => panic!("expected a mismatch, got {other:?}"),
    }
}

/// A full run on one program renders in every format.
#[test]
fn reports_render_as_text_markdown_and_json() -> Result<(), String> {
    let report = suite::run(
        &select(&["count_loop".to_string()]),
        &Backend::ALL,
        &quick(),
        &mut |_| {},
    )
    .map_err(|e| e.to_string())?;
    assert_eq!(report.ratios.len(), Backend::ALL.len() - 1);
    assert!(report.ratios.iter().all(|r| r.geomean.is_some()));
    let text = render::text(&report);
    assert!(
        text.contains("count_loop") && text.contains("geomean"),
        "{text}"
    );
    let md = render::markdown(&report);
    assert!(md.contains("| count_loop | 9003 |"), "{md}");
    let json = render::render(&report, Format::Json).map_err(|e| e.to_string())?;
    let value: serde_json::Value = serde_json::from_str(&json).map_err(|e| e.to_string())?;
    assert_eq!(value["rows"][0]["bench"]["name"], "count_loop");
    assert_eq!(value["rows"][0]["cells"][2]["status"], "measured");
    Ok(())
}
