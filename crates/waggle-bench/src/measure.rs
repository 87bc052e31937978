//! Timing: warm-up, then timed batches of runs; the median batch gives the
//! time per run.
//!
//! The runners of one program are measured together, one batch of each in
//! turn, so that a change in machine load (this runs on shared machines)
//! slows every runtime alike instead of skewing their ratio. Batches are
//! timed as a whole ([`Runner::batch_ns`]: with [`Instant`] unless the
//! runtime times itself), so timer overhead is spread over many runs;
//! results go through [`black_box`] so the work cannot be optimised away.

use crate::backend::{BackendError, Runner};
use serde::Serialize;
use std::hint::black_box;
use std::time::{Duration, Instant};

/// How long to measure.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Settings {
    /// Warm-up time per runner: fills caches and branch predictors, and
    /// estimates the time per run that sizes the batches.
    #[serde(serialize_with = "as_millis")]
    pub warmup: Duration,
    /// Measuring time per runner, split into batches.
    #[serde(serialize_with = "as_millis")]
    pub target: Duration,
    /// Batches per runner (at least; more if they finish early).
    pub batches: usize,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            warmup: Duration::from_millis(20),
            target: Duration::from_millis(200),
            batches: 11,
        }
    }
}

fn as_millis<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_u128(d.as_millis())
}

/// Time per run of one runner.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Measurement {
    /// Median over batches of the mean time per run, in nanoseconds.
    pub median_ns: f64,
    /// Fastest and slowest batch, in nanoseconds per run: their distance from
    /// the median shows how noisy the machine was.
    pub min_ns: f64,
    pub max_ns: f64,
    pub batches: usize,
    pub runs_per_batch: u64,
}

/// Measures each runner; on failure, says which runner failed.
pub fn measure_all(
    runners: &mut [Box<dyn Runner + '_>],
    settings: &Settings,
) -> Result<Vec<Measurement>, (usize, BackendError)> {
    if runners.is_empty() {
        return Ok(Vec::new());
    }
    let mut sizes = Vec::with_capacity(runners.len());
    for (i, runner) in runners.iter_mut().enumerate() {
        sizes.push(batch_size(runner.as_mut(), settings).map_err(|e| (i, e))?);
    }
    let mut samples = vec![Vec::with_capacity(settings.batches); runners.len()];
    let budget = settings.target * runners.len() as u32;
    let start = Instant::now();
    while samples[0].len() < settings.batches.max(1) || start.elapsed() < budget {
        for (i, runner) in runners.iter_mut().enumerate() {
            let ns = runner.batch_ns(sizes[i]).map_err(|e| (i, e))?;
            samples[i].push(ns);
        }
    }
    Ok(samples
        .into_iter()
        .zip(sizes)
        .map(|(s, runs_per_batch)| summarise(s, runs_per_batch))
        .collect())
}

/// Warms up and returns the number of runs that makes one batch last
/// `target / batches`.
fn batch_size(runner: &mut dyn Runner, settings: &Settings) -> Result<u64, BackendError> {
    let start = Instant::now();
    let mut runs = 0u64;
    while runs == 0 || start.elapsed() < settings.warmup {
        black_box(runner.run()?);
        runs += 1;
    }
    let per_run = start.elapsed().as_secs_f64() / runs as f64;
    let per_batch = settings.target.as_secs_f64() / settings.batches.max(1) as f64;
    Ok(((per_batch / per_run) as u64).max(1))
}

fn summarise(mut samples: Vec<f64>, runs_per_batch: u64) -> Measurement {
    samples.sort_by(f64::total_cmp);
    Measurement {
        median_ns: median(&samples),
        min_ns: samples[0],
        max_ns: samples[samples.len() - 1],
        batches: samples.len(),
        runs_per_batch,
    }
}

/// Median of sorted, non-empty samples.
fn median(sorted: &[f64]) -> f64 {
    let mid = sorted.len() / 2;
    if sorted.len() % 2 == 0 {
        (sorted[mid - 1] + sorted[mid]) / 2.0
    } else {
        sorted[mid]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_of_odd_and_even_counts() {
        assert_eq!(median(&[1.0, 2.0, 9.0]), 2.0);
        assert_eq!(median(&[1.0, 2.0, 4.0, 9.0]), 3.0);
    }
}
