//! A [`Report`] as a plain-text table, Markdown, or JSON.

use crate::backend::Backend;
use crate::report::{Cell, Report};
use std::fmt::Write;

/// Output formats of the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Text,
    Markdown,
    Json,
}

pub fn render(report: &Report, format: Format) -> Result<String, serde_json::Error> {
    Ok(match format {
        Format::Text => text(report),
        Format::Markdown => markdown(report),
        Format::Json => serde_json::to_string_pretty(report)? + "\n",
    })
}

/// The table as rows of cells, header first; shared by text and Markdown.
struct Table {
    header: Vec<String>,
    rows: Vec<Vec<String>>,
    /// The geometric-mean row.
    footer: Vec<String>,
}

fn table(report: &Report) -> Table {
    let mut header = vec!["program".to_string(), "insns".to_string()];
    header.extend(report.backends.iter().map(|b| format!("{b} ns")));
    header.extend(
        report
            .ratios
            .iter()
            .map(|r| ratio_name(r.numerator, r.denominator)),
    );

    let rows = report
        .rows
        .iter()
        .map(|row| {
            let mut cells = vec![row.bench.name().to_string(), row.insns.to_string()];
            cells.extend(row.cells.iter().map(|c| match c.median_ns() {
                Some(ns) => nanos(ns),
                None => "n/a".to_string(),
            }));
            cells.extend(report.ratios.iter().map(|r| {
                report
                    .ratio(row, r.numerator, r.denominator)
                    .map_or("n/a".to_string(), times)
            }));
            cells
        })
        .collect();

    let mut footer = vec!["geomean".to_string(), String::new()];
    footer.extend(report.backends.iter().map(|_| String::new()));
    footer.extend(
        report
            .ratios
            .iter()
            .map(|r| r.geomean.map_or("n/a".to_string(), times)),
    );
    Table {
        header,
        rows,
        footer,
    }
}

/// "rbpf/unchecked": the Waggle prefix is implied by the ratio.
fn ratio_name(numerator: Backend, denominator: Backend) -> String {
    let d = denominator.name();
    format!("{numerator}/{}", d.strip_prefix("waggle-").unwrap_or(d))
}

fn nanos(ns: f64) -> String {
    if ns >= 100.0 {
        format!("{ns:.0}")
    } else {
        format!("{ns:.1}")
    }
}

fn times(ratio: f64) -> String {
    format!("{ratio:.2}x")
}

/// One line on how the times were taken.
fn method(report: &Report) -> String {
    let s = &report.settings;
    format!(
        "Time per run in ns: median of at least {} batches, ~{} ms per program and backend, \
         after {} ms of warm-up; backends interleaved batch by batch. Ratios are \
         rbpf's time over Waggle's: above 1 means Waggle is faster.",
        s.batches,
        s.target.as_millis(),
        s.warmup.as_millis()
    )
}

/// Programs a backend could not run, with its reason.
fn unavailable(report: &Report) -> Vec<String> {
    let mut notes = Vec::new();
    for row in &report.rows {
        for (backend, cell) in report.backends.iter().zip(&row.cells) {
            if let Cell::NotAvailable { reason } = cell {
                notes.push(format!(
                    "{backend} cannot run {} ({reason}); left out of its geometric means",
                    row.bench.name()
                ));
            }
        }
    }
    notes
}

fn machine_line(report: &Report) -> String {
    let m = &report.machine;
    format!(
        "{}, {} logical CPUs, Linux {}, {}",
        m.cpu, m.cores, m.kernel, m.rustc
    )
}

/// A plain-text table with right-aligned numbers.
pub fn text(report: &Report) -> String {
    let t = table(report);
    let all: Vec<&Vec<String>> = std::iter::once(&t.header)
        .chain(&t.rows)
        .chain(std::iter::once(&t.footer))
        .collect();
    let widths: Vec<usize> = (0..t.header.len())
        .map(|i| all.iter().map(|r| r[i].len()).max().unwrap_or(0))
        .collect();
    let mut out = String::new();
    let _ = writeln!(out, "Machine: {}", machine_line(report));
    for line in all {
        let cells: Vec<String> = line
            .iter()
            .zip(&widths)
            .enumerate()
            .map(|(i, (c, &w))| {
                if i == 0 {
                    format!("{c:<w$}")
                } else {
                    format!("{c:>w$}")
                }
            })
            .collect();
        let _ = writeln!(out, "{}", cells.join("  ").trim_end());
    }
    let _ = writeln!(out, "{}", method(report));
    for note in unavailable(report) {
        let _ = writeln!(out, "Note: {note}.");
    }
    out
}

/// A Markdown table, with the machine, the method and the programs.
pub fn markdown(report: &Report) -> String {
    let t = table(report);
    let mut out = String::new();
    let _ = writeln!(out, "Machine: {}.\n", machine_line(report));
    let row = |cells: &[String]| format!("| {} |", cells.join(" | "));
    let _ = writeln!(out, "{}", row(&t.header));
    let align: Vec<String> = (0..t.header.len())
        .map(|i| if i == 0 { "---" } else { "--:" }.to_string())
        .collect();
    let _ = writeln!(out, "{}", row(&align));
    for r in &t.rows {
        let _ = writeln!(out, "{}", row(r));
    }
    let footer: Vec<String> = t
        .footer
        .iter()
        .map(|c| {
            if c.is_empty() {
                c.clone()
            } else {
                format!("**{c}**")
            }
        })
        .collect();
    let _ = writeln!(out, "{}", row(&footer));
    let _ = writeln!(out, "\n{}", method(report));
    for note in unavailable(report) {
        let _ = writeln!(out, "\nNote: {note}.");
    }
    let _ = writeln!(out, "\n| program | what it runs |\n| --- | --- |");
    for r in &report.rows {
        let _ = writeln!(out, "| {} | {} |", r.bench.name(), r.bench.description());
    }
    out
}
