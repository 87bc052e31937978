//! The Linux kernel's JIT, through `BPF_PROG_TEST_RUN` (root or CAP_BPF).
//!
//! Timing uses the kernel's own clock: one test run with `repeat` set to the
//! batch size returns the mean time per run, so the syscall that reaches the
//! kernel is paid once per batch, not per run.

use super::{Observed, Prepared};
use crate::backend::{BackendError, Runner};
use crate::csuite::run::Workload;
use waggle_kernel::{KernelObject, TestRun};

struct KernelRunner {
    obj: KernelObject,
    prog: String,
    frame: Vec<u8>,
}

impl KernelRunner {
    fn test_run(&self, repeat: u32) -> Result<waggle_kernel::TestRunResult, BackendError> {
        let prog = self
            .obj
            .program(&self.prog)
            .ok_or_else(|| BackendError::Load(format!("no program `{}`", self.prog)))?;
        self.obj
            .test_run(
                prog,
                &TestRun {
                    data_in: &self.frame,
                    ctx_in: None,
                    repeat,
                    data_out_capacity: self.frame.len() + 256,
                },
            )
            .map_err(|e| BackendError::Run(e.to_string()))
    }
}

impl Runner for KernelRunner {
    fn run(&mut self) -> Result<u64, BackendError> {
        Ok(self.test_run(1)?.retval as u64)
    }

    fn batch_ns(&mut self, runs: u64) -> Result<f64, BackendError> {
        let repeat = u32::try_from(runs.max(1)).unwrap_or(u32::MAX);
        Ok(self.test_run(repeat)?.duration_ns as f64)
    }
}

pub(super) fn prepare(workload: &Workload) -> Result<Prepared<'_>, BackendError> {
    waggle_kernel::availability()
        .map_err(|why| BackendError::Unsupported(format!("kernel backend: {why}")))?;
    let program = workload.program;
    let name = format!("{}.bpf.o", program.name());
    let obj = KernelObject::load(&name, program.object())
        .map_err(|e| BackendError::Load(e.to_string()))?;
    if let Some(fill) = program.fill() {
        for (key, value) in fill.entries() {
            obj.map_update(fill.map(), &key, &value, 0)
                .map_err(|e| BackendError::Load(format!("filling `{}`: {e}", fill.map())))?;
        }
    }
    let runner = KernelRunner {
        obj,
        prog: program.xdp_entry(),
        frame: workload.frame.clone(),
    };
    runner.test_run(1)?;
    // The full result, as xdp_NAME stored it in .bss.
    let offset = super::waggle::result_offset(runner.obj.object())?;
    let bss = runner
        .obj
        .map_lookup(".bss", &0u32.to_le_bytes())
        .map_err(|e| BackendError::Run(e.to_string()))?
        .ok_or_else(|| BackendError::Run("no .bss value".into()))?;
    let bytes = bss
        .get(offset..offset + 8)
        .ok_or_else(|| BackendError::Run("`result` lies outside .bss".into()))?;
    let result = u64::from_le_bytes(bytes.try_into().expect("8 bytes"));
    Ok(Prepared {
        runner: Box::new(runner),
        observed: Observed::Result(result),
        compile_time: None,
    })
}
