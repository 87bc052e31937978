//! A [`SuiteReport`] as plain text, Markdown or JSON: the command line and
//! `cargo bench` print these.

use super::engine::Engine;
use super::report::{Row, SuiteReport};
use crate::render::Format;
use crate::report::Cell;
use std::collections::BTreeMap;
use std::fmt::Write;

/// The report in `format`.
pub fn render(report: &SuiteReport, format: Format) -> Result<String, serde_json::Error> {
    Ok(match format {
        Format::Text => text(report),
        Format::Markdown => markdown(report),
        Format::Json => json(report)?,
    })
}

/// The report as pretty-printed JSON.
pub fn json(report: &SuiteReport) -> Result<String, serde_json::Error> {
    Ok(serde_json::to_string_pretty(report)? + "\n")
}

/// Tables as aligned plain text.
pub fn text(report: &SuiteReport) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "Machine: {}", machine_line(report));
    for table in tables(report) {
        let _ = writeln!(out, "\n{}", table.title);
        out.push_str(&table.text());
    }
    let _ = writeln!(out, "\n{}", method(report));
    for note in notes(report) {
        let _ = writeln!(out, "Note: {note}.");
    }
    out
}

/// Tables in Markdown, with the machine, the method, the notes and what
/// each program does.
pub fn markdown(report: &SuiteReport) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "Machine: {}.", machine_line(report));
    for table in tables(report) {
        let _ = writeln!(out, "\n**{}**\n", table.title);
        out.push_str(&table.markdown());
    }
    let _ = writeln!(out, "\n{}\n", method(report));
    for note in notes(report) {
        let _ = writeln!(out, "- {note}.");
    }
    let _ = writeln!(out, "\n| program | what it runs |\n| --- | --- |");
    for row in report.programs.iter().chain(&report.map_ops) {
        let p = row.program;
        let _ = writeln!(out, "| {} | {} |", p.name(), p.description());
    }
    out
}

/// A table: header, rows, and an optional bold footer (geometric means).
struct Table {
    title: String,
    header: Vec<String>,
    rows: Vec<Vec<String>>,
    footer: Option<Vec<String>>,
}

impl Table {
    fn lines(&self) -> impl Iterator<Item = &Vec<String>> {
        std::iter::once(&self.header)
            .chain(&self.rows)
            .chain(self.footer.iter())
    }

    fn text(&self) -> String {
        let widths: Vec<usize> = (0..self.header.len())
            .map(|i| self.lines().map(|r| r[i].len()).max().unwrap_or(0))
            .collect();
        let mut out = String::new();
        for line in self.lines() {
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
        out
    }

    fn markdown(&self) -> String {
        let row = |cells: &[String]| format!("| {} |\n", cells.join(" | "));
        let align: Vec<String> = (0..self.header.len())
            .map(|i| if i < 2 { "---" } else { "--:" }.to_string())
            .collect();
        let mut out = row(&self.header) + &row(&align);
        for r in &self.rows {
            out += &row(r);
        }
        if let Some(footer) = &self.footer {
            let bold: Vec<String> = footer
                .iter()
                .map(|c| {
                    if c.is_empty() {
                        String::new()
                    } else {
                        format!("**{c}**")
                    }
                })
                .collect();
            out += &row(&bold);
        }
        out
    }
}

fn tables(report: &SuiteReport) -> Vec<Table> {
    let mut tables = Vec::new();
    if !report.programs.is_empty() {
        tables.push(programs_table(report));
        tables.push(summary_table(report));
    }
    if report.map_ops.len() > 1 {
        tables.push(map_ops_table(report));
    }
    if let Some(table) = compile_table(report) {
        tables.push(table);
    }
    tables
}

/// Waggle's JIT compile time per program, when the JIT ran any.
fn compile_table(report: &SuiteReport) -> Option<Table> {
    let rows: Vec<Vec<String>> = report
        .programs
        .iter()
        .chain(&report.map_ops)
        .filter_map(|row| {
            let us = row.jit_compile_us?;
            Some(vec![
                row.program.name().to_string(),
                row.program.category().name().to_string(),
                format!("{us:.0}"),
            ])
        })
        .collect();
    if rows.is_empty() {
        return None;
    }
    let mut all: Vec<f64> = report
        .programs
        .iter()
        .chain(&report.map_ops)
        .filter_map(|r| r.jit_compile_us)
        .collect();
    all.sort_by(f64::total_cmp);
    let median = all[all.len() / 2];
    Some(Table {
        title: "Waggle's JIT: compile time per program (once, at the first run; not in the \
                times above)"
            .to_string(),
        header: vec![
            "program".to_string(),
            "category".to_string(),
            "compile µs".to_string(),
        ],
        rows,
        footer: Some(vec![
            "median".to_string(),
            String::new(),
            format!("{median:.0}"),
        ]),
    })
}

/// `(engine, reference)` pairs of the ratio columns.
fn ratio_columns(report: &SuiteReport) -> Vec<(Engine, Engine)> {
    let mut columns = Vec::new();
    for reference in report.references() {
        for &engine in &report.engines {
            if engine != reference {
                columns.push((engine, reference));
            }
        }
    }
    columns
}

fn programs_table(report: &SuiteReport) -> Table {
    let columns = ratio_columns(report);
    let mut header: Vec<String> = ["program", "category", "bytes", "insns"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    header.extend(report.engines.iter().map(|e| format!("{e} ns")));
    header.extend(columns.iter().map(|(e, r)| format!("{e}/{r}")));
    let rows = report
        .programs
        .iter()
        .map(|row| {
            let mut cells = vec![
                row.program.name().to_string(),
                row.program.category().name().to_string(),
                row.frame_len.to_string(),
                row.insns.to_string(),
            ];
            cells.extend(row.cells.iter().map(|c| c.median_ns().map_or(na(), nanos)));
            cells.extend(
                columns
                    .iter()
                    .map(|&(e, r)| report.ratio(row, e, r).map_or(na(), times)),
            );
            cells
        })
        .collect();
    let mut footer = vec!["geomean".to_string()];
    footer.resize(4 + report.engines.len(), String::new());
    footer.extend(columns.iter().map(|&(e, r)| {
        report
            .summary
            .iter()
            .find(|s| s.engine == e)
            .and_then(|s| s.ratios.iter().find(|x| x.reference == r))
            .and_then(|x| x.geomean)
            .map_or(na(), times)
    }));
    Table {
        title: "Time per run (ns) and ratio to the reference".to_string(),
        header,
        rows,
        footer: Some(footer),
    }
}

fn summary_table(report: &SuiteReport) -> Table {
    let references = report.references();
    let mut header = vec!["engine".to_string(), "programs".to_string()];
    header.extend(references.iter().map(|r| format!("geomean time/{r}")));
    let rows = report
        .summary
        .iter()
        .map(|s| {
            let mut cells = vec![
                s.engine.to_string(),
                format!("{}/{}", s.programs, report.programs.len()),
            ];
            cells.extend(references.iter().map(|&r| {
                s.ratios
                    .iter()
                    .find(|x| x.reference == r)
                    .map_or("-".to_string(), |x| match x.geomean {
                        Some(g) => format!("{} over {}", times(g), x.programs),
                        None => na(),
                    })
            }));
            cells
        })
        .collect();
    Table {
        title: "Geometric means per engine".to_string(),
        header,
        rows,
        footer: None,
    }
}

fn map_ops_table(report: &SuiteReport) -> Table {
    // Engines that measured a map operation (not just the baseline).
    let engines: Vec<Engine> = report
        .engines
        .iter()
        .copied()
        .filter(|&e| {
            report
                .map_op_costs
                .iter()
                .any(|c| c.engine == e && c.ns_per_op.is_some())
        })
        .collect();
    let mut header = vec!["map benchmark".to_string(), "operation".to_string()];
    for e in &engines {
        header.push(format!("{e} ns/run"));
        header.push(format!("{e} ns/op"));
    }
    let rows = report
        .map_ops
        .iter()
        .map(|row: &Row| {
            let mut cells = vec![
                row.program.name().to_string(),
                row.program.description().to_string(),
            ];
            for &e in &engines {
                cells.push(row.median_ns(&report.engines, e).map_or(na(), nanos));
                let cost = report
                    .map_op_costs
                    .iter()
                    .find(|c| c.program == row.program.name() && c.engine == e)
                    .and_then(|c| c.ns_per_op);
                cells.push(cost.map_or("-".to_string(), nanos));
            }
            cells
        })
        .collect();
    Table {
        title: "Map operations: time per run, and per operation (minus mapop_none)".to_string(),
        header,
        rows,
        footer: None,
    }
}

fn na() -> String {
    "n/a".to_string()
}

fn nanos(ns: f64) -> String {
    if ns.abs() >= 100.0 {
        format!("{ns:.0}")
    } else {
        format!("{ns:.1}")
    }
}

fn times(ratio: f64) -> String {
    if ratio >= 10.0 {
        format!("{ratio:.0}x")
    } else {
        format!("{ratio:.2}x")
    }
}

fn machine_line(report: &SuiteReport) -> String {
    let m = &report.machine;
    format!(
        "{}, {} logical CPUs, Linux {}, {}; native row: {}",
        m.cpu, m.cores, m.kernel, m.rustc, report.native_compiler
    )
}

/// How the times were taken.
fn method(report: &SuiteReport) -> String {
    let s = &report.settings;
    format!(
        "Time per run in ns: median of at least {} batches, ~{} ms per program and engine after \
         {} ms of warm-up, engines interleaved batch by batch. Every engine's result was checked \
         against the native build's (Waggle's where there is none) before timing. A ratio is the \
         engine's time over the reference's: 10x means ten times slower.",
        s.batches,
        s.target.as_millis(),
        s.warmup.as_millis()
    )
}

/// "n/a" cells: one note per reason and set of programs, naming the
/// engines that share them (rbpf's interpreter and JIT always do).
fn notes(report: &SuiteReport) -> Vec<String> {
    let mut by_engine: BTreeMap<(String, usize), Vec<&str>> = BTreeMap::new();
    for row in report.programs.iter().chain(&report.map_ops) {
        for (i, cell) in row.cells.iter().enumerate() {
            if let Cell::NotAvailable { reason } = cell {
                by_engine
                    .entry((reason.clone(), i))
                    .or_default()
                    .push(row.program.name());
            }
        }
    }
    let mut groups: Vec<(String, Vec<&str>, Vec<String>)> = Vec::new();
    for ((reason, i), programs) in by_engine {
        let engine = report.engines[i].to_string();
        match groups
            .iter_mut()
            .find(|(r, p, _)| *r == reason && *p == programs)
        {
            Some((_, _, engines)) => engines.push(engine),
            None => groups.push((reason, programs, vec![engine])),
        }
    }
    groups
        .into_iter()
        .map(|(reason, programs, engines)| {
            format!(
                "{} n/a for {}: {reason}",
                engines.join(", "),
                programs.join(", ")
            )
        })
        .collect()
}
