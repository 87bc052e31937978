//! The native row: the program's C compiled for the host.

use super::{Observed, Prepared};
use crate::backend::{BackendError, Runner};
use crate::csuite::native::{call, NativeFn};
use crate::csuite::programs::Native;
use crate::csuite::run::Workload;

struct NativeRunner {
    f: NativeFn,
    frame: Vec<u8>,
}

impl Runner for NativeRunner {
    fn run(&mut self) -> Result<u64, BackendError> {
        Ok(call(self.f, &self.frame))
    }
}

pub(super) fn prepare(workload: &Workload) -> Result<Prepared<'_>, BackendError> {
    let f = match workload.program.native() {
        Native::Available(f) => f,
        Native::NotAvailable(reason) => return Err(BackendError::Unsupported(reason.to_string())),
    };
    let mut runner = NativeRunner {
        f,
        frame: workload.frame.clone(),
    };
    let result = runner.run()?;
    Ok(Prepared {
        runner: Box::new(runner),
        observed: Observed::Result(result),
        compile_time: None,
    })
}
