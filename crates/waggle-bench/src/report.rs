//! The results of a suite run: one row per program, one cell per backend, and
//! the ratios of rbpf's time to each Waggle backend's.

use crate::backend::Backend;
use crate::machine::Machine;
use crate::measure::{Measurement, Settings};
use crate::registry::Bench;
use serde::Serialize;

/// The backend every ratio is taken against: ratios read "rbpf takes N times
/// as long as Waggle".
pub const BASELINE: Backend = Backend::Rbpf;

#[derive(Debug, Serialize)]
pub struct Report {
    pub machine: Machine,
    pub settings: Settings,
    /// Backends in column order; each row has one cell per backend.
    pub backends: Vec<Backend>,
    pub rows: Vec<Row>,
    /// `BASELINE` time over each other backend's time.
    pub ratios: Vec<RatioSummary>,
}

/// One program's results.
#[derive(Debug, Serialize)]
pub struct Row {
    pub bench: &'static Bench,
    /// eBPF instructions one run executes (Waggle's count).
    pub insns: u64,
    pub cells: Vec<Cell>,
}

/// One backend's result for one program.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum Cell {
    Measured(Measurement),
    /// The backend cannot run the program; left out of its ratios.
    NotAvailable {
        reason: String,
    },
}

impl Cell {
    pub fn median_ns(&self) -> Option<f64> {
        match self {
            Cell::Measured(m) => Some(m.median_ns),
            Cell::NotAvailable { .. } => None,
        }
    }
}

/// Geometric mean of `numerator / denominator` over the programs both ran.
#[derive(Debug, Clone, Serialize)]
pub struct RatioSummary {
    pub numerator: Backend,
    pub denominator: Backend,
    /// `None` when no program ran on both.
    pub geomean: Option<f64>,
    /// Programs in the mean.
    pub programs: usize,
    /// Programs left out because a backend could not run them.
    pub excluded: Vec<&'static str>,
}

impl Row {
    fn cell(&self, backends: &[Backend], backend: Backend) -> Option<&Cell> {
        let i = backends.iter().position(|&b| b == backend)?;
        self.cells.get(i)
    }
}

impl Report {
    /// Builds the report, computing the ratios from the rows.
    pub fn new(
        machine: Machine,
        settings: Settings,
        backends: Vec<Backend>,
        rows: Vec<Row>,
    ) -> Report {
        let mut report = Report {
            machine,
            settings,
            backends,
            rows,
            ratios: Vec::new(),
        };
        if report.backends.contains(&BASELINE) {
            report.ratios = report
                .backends
                .iter()
                .filter(|&&b| b != BASELINE)
                .map(|&b| report.summarise(BASELINE, b))
                .collect();
        }
        report
    }

    /// `numerator / denominator` time for one row, when both ran it.
    pub fn ratio(&self, row: &Row, numerator: Backend, denominator: Backend) -> Option<f64> {
        let n = row.cell(&self.backends, numerator)?.median_ns()?;
        let d = row.cell(&self.backends, denominator)?.median_ns()?;
        Some(n / d)
    }

    fn summarise(&self, numerator: Backend, denominator: Backend) -> RatioSummary {
        let mut ratios = Vec::new();
        let mut excluded = Vec::new();
        for row in &self.rows {
            match self.ratio(row, numerator, denominator) {
                Some(r) => ratios.push(r),
                None => excluded.push(row.bench.name()),
            }
        }
        RatioSummary {
            numerator,
            denominator,
            geomean: geomean(&ratios),
            programs: ratios.len(),
            excluded,
        }
    }
}

/// Geometric mean; `None` for no values.
pub fn geomean(values: &[f64]) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    let log_sum: f64 = values.iter().map(|v| v.ln()).sum();
    Some((log_sum / values.len() as f64).exp())
}

#[cfg(test)]
mod tests {
    use super::geomean;

    #[test]
    fn geomean_of_ratios() {
        assert_eq!(geomean(&[]), None);
        let g = geomean(&[2.0, 8.0]).unwrap_or(f64::NAN);
        assert!((g - 4.0).abs() < 1e-12);
    }
}
