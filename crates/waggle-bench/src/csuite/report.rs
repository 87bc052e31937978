//! The results of a C suite run: a row per program with a cell per engine,
//! each engine's time relative to the reference engines, geometric means,
//! and the map benchmarks' cost per operation.

use super::engine::{Engine, REFERENCES};
use super::programs::{CProgram, MAP_OP_BASELINE};
use crate::machine::Machine;
use crate::measure::Settings;
use crate::report::{geomean, Cell};
use serde::Serialize;

#[derive(Debug, Serialize)]
pub struct SuiteReport {
    pub machine: Machine,
    /// The compiler of the native row (`cc --version`, first line) and its
    /// optimisation level.
    pub native_compiler: &'static str,
    pub settings: Settings,
    /// Engines in column order; each row has one cell per engine.
    pub engines: Vec<Engine>,
    /// The main table.
    pub programs: Vec<Row>,
    /// The map benchmarks, baseline first.
    pub map_ops: Vec<Row>,
    /// Per engine, its time over each reference engine's, over the main
    /// table's programs.
    pub summary: Vec<EngineSummary>,
    /// Per map benchmark but the baseline, per engine: time per run minus
    /// the baseline's.
    pub map_op_costs: Vec<MapOpCost>,
}

/// One program's results.
#[derive(Debug, Serialize)]
pub struct Row {
    pub program: &'static CProgram,
    /// Bytes of the frame it ran on.
    pub frame_len: usize,
    /// eBPF instructions one run of `xdp_NAME` executes (Waggle's count).
    pub insns: u64,
    /// The result every engine agreed on.
    pub result: u64,
    pub cells: Vec<Cell>,
    /// How long Waggle's JIT took to compile `xdp_NAME` (µs), when it ran.
    pub jit_compile_us: Option<f64>,
}

/// An engine's times relative to the reference engines.
#[derive(Debug, Clone, Serialize)]
pub struct EngineSummary {
    pub engine: Engine,
    /// Programs of the main table it ran.
    pub programs: usize,
    pub ratios: Vec<RatioSummary>,
}

/// Geometric mean of `engine` time / `reference` time over the programs both
/// ran.
#[derive(Debug, Clone, Serialize)]
pub struct RatioSummary {
    pub reference: Engine,
    /// `None` when no program ran on both.
    pub geomean: Option<f64>,
    /// Programs in the mean.
    pub programs: usize,
}

/// The cost of one map operation on one engine.
#[derive(Debug, Clone, Serialize)]
pub struct MapOpCost {
    pub program: &'static str,
    pub engine: Engine,
    /// Median time per run minus the baseline's; `None` when either was not
    /// measured.
    pub ns_per_op: Option<f64>,
}

impl Row {
    /// Median time per run on `engine`, if it ran the program.
    pub fn median_ns(&self, engines: &[Engine], engine: Engine) -> Option<f64> {
        let i = engines.iter().position(|&e| e == engine)?;
        self.cells.get(i)?.median_ns()
    }
}

impl SuiteReport {
    /// Builds the report, computing ratios and map costs from the rows.
    pub fn new(
        machine: Machine,
        settings: Settings,
        engines: Vec<Engine>,
        programs: Vec<Row>,
        map_ops: Vec<Row>,
    ) -> SuiteReport {
        let mut report = SuiteReport {
            machine,
            native_compiler: env!("WAGGLE_BENCH_CC"),
            settings,
            engines,
            programs,
            map_ops,
            summary: Vec::new(),
            map_op_costs: Vec::new(),
        };
        report.summary = report
            .engines
            .iter()
            .map(|&engine| EngineSummary {
                engine,
                programs: report
                    .programs
                    .iter()
                    .filter(|r| r.median_ns(&report.engines, engine).is_some())
                    .count(),
                ratios: report
                    .references()
                    .into_iter()
                    .filter(|&r| r != engine)
                    .map(|r| report.summarise(engine, r))
                    .collect(),
            })
            .collect();
        report.map_op_costs = report.costs();
        report
    }

    /// The reference engines present in this run, in [`REFERENCES`] order.
    pub fn references(&self) -> Vec<Engine> {
        REFERENCES
            .iter()
            .copied()
            .filter(|r| self.engines.contains(r))
            .collect()
    }

    /// `engine` time / `reference` time for one row, when both ran it.
    pub fn ratio(&self, row: &Row, engine: Engine, reference: Engine) -> Option<f64> {
        Some(row.median_ns(&self.engines, engine)? / row.median_ns(&self.engines, reference)?)
    }

    fn summarise(&self, engine: Engine, reference: Engine) -> RatioSummary {
        let ratios: Vec<f64> = self
            .programs
            .iter()
            .filter_map(|row| self.ratio(row, engine, reference))
            .collect();
        RatioSummary {
            reference,
            geomean: geomean(&ratios),
            programs: ratios.len(),
        }
    }

    fn costs(&self) -> Vec<MapOpCost> {
        let Some(baseline) = self
            .map_ops
            .iter()
            .find(|r| r.program.name() == MAP_OP_BASELINE)
        else {
            return Vec::new();
        };
        let mut costs = Vec::new();
        for row in self
            .map_ops
            .iter()
            .filter(|r| r.program.name() != MAP_OP_BASELINE)
        {
            for &engine in &self.engines {
                let op = row.median_ns(&self.engines, engine);
                let base = baseline.median_ns(&self.engines, engine);
                if op.is_none() && base.is_none() {
                    continue;
                }
                costs.push(MapOpCost {
                    program: row.program.name(),
                    engine,
                    ns_per_op: op.zip(base).map(|(op, base)| op - base),
                });
            }
        }
        costs
    }
}
