//! Waggle: the runtime's test run on each of its engines: the interpreter
//! in checked mode (`waggle run --no-verify`), in unchecked mode, and the
//! JIT (`waggle run` on a verified program).

use super::{Observed, Prepared};
use crate::backend::{BackendError, Runner};
use crate::csuite::run::Workload;
use std::hint::black_box;
use std::time::{Duration, Instant};
use waggle_btf::{BtfKind, BtfType};
use waggle_object::Object;
use waggle_runtime::{Engine, LoadOptions, LoadedObject, RunConfig, RunResult};

/// `BPF_ANY`: create or replace.
const BPF_ANY: u64 = 0;

/// A program's object loaded into Waggle's runtime, maps filled.
struct Loaded {
    obj: LoadedObject,
    config: RunConfig,
    /// Index of `xdp_NAME` in the object's programs.
    index: usize,
    /// Offset of `result` in `.bss`.
    result_at: usize,
}

fn load_error(e: impl std::fmt::Display) -> BackendError {
    BackendError::Load(e.to_string())
}

fn run_error(e: impl std::fmt::Display) -> BackendError {
    BackendError::Run(e.to_string())
}

/// The runtime's defaults, on CPU slot 0: every run then uses the same slot
/// whatever thread it runs on (the object is loaded with one CPU; none of the
/// programs uses per-CPU maps).
fn config() -> RunConfig {
    RunConfig {
        cpu: Some(0),
        ..RunConfig::default()
    }
}

impl Loaded {
    fn new(workload: &Workload) -> Result<Loaded, BackendError> {
        let program = workload.program;
        let object = Object::parse(program.name(), program.object()).map_err(load_error)?;
        let result_at = result_offset(&object)?;
        let obj = LoadedObject::load(
            object,
            &LoadOptions {
                cpus: 1,
                ..LoadOptions::default()
            },
        )
        .map_err(load_error)?;
        if let Some(fill) = program.fill() {
            let map = obj
                .map(fill.map())
                .ok_or_else(|| load_error(format!("no map `{}` to fill", fill.map())))?;
            for (key, value) in fill.entries() {
                map.update(&key, &value, BPF_ANY, 0)
                    .map_err(|e| load_error(format!("filling `{}`: {e}", fill.map())))?;
            }
        }
        let entry = program.xdp_entry();
        let index = obj
            .programs()
            .iter()
            .position(|p| p.name == entry)
            .ok_or_else(|| load_error(format!("the object has no program `{entry}`")))?;
        Ok(Loaded {
            obj,
            config: config(),
            index,
            result_at,
        })
    }

    fn run_packet(&self, frame: &[u8]) -> Result<RunResult, BackendError> {
        self.obj
            .run_packet(&self.obj.programs()[self.index], frame, &self.config)
            .map_err(run_error)
    }

    /// `run_packet` on `engine`.
    ///
    /// # Safety
    /// As for `LoadedObject::run_packet_with`: with an unchecked engine, the
    /// program must have passed a verifier (see [`Runtime`]).
    unsafe fn run_packet_with(
        &self,
        frame: &[u8],
        engine: Engine,
    ) -> Result<RunResult, BackendError> {
        // SAFETY: forwarded from the caller.
        unsafe { self.run_repeated(frame, engine, 1) }
    }

    /// `run_packet_with`, the program run `repeat` times on one setup (as
    /// the kernel's test run with `repeat`); the duration is the mean.
    ///
    /// # Safety
    /// As for `run_packet_with`.
    unsafe fn run_repeated(
        &self,
        frame: &[u8],
        engine: Engine,
        repeat: u32,
    ) -> Result<RunResult, BackendError> {
        let prog = &self.obj.programs()[self.index];
        let config = RunConfig {
            repeat,
            ..self.config
        };
        // SAFETY: forwarded from the caller.
        unsafe { self.obj.run_packet_with(prog, frame, &config, engine) }.map_err(run_error)
    }

    /// The value of `.bss` `result`: what the last run stored.
    fn result(&self) -> Result<u64, BackendError> {
        let bss = self
            .obj
            .map(".bss")
            .ok_or_else(|| load_error("the object has no .bss"))?;
        let value = bss.lookup(&0u32.to_le_bytes()).map_err(run_error)?;
        let bytes = value
            .get(self.result_at..self.result_at + 8)
            .ok_or_else(|| load_error("`result` lies outside .bss"))?;
        let mut word = [0u8; 8];
        word.copy_from_slice(bytes);
        Ok(u64::from_le_bytes(word))
    }

    /// The result of the run that returned `verdict`, checked against it:
    /// `xdp_NAME` returns XDP_PASS (2) for an even result, XDP_DROP (1) for
    /// an odd one.
    fn checked_result(&self, verdict: u64) -> Result<u64, BackendError> {
        let result = self.result()?;
        if verdict != 2 - (result & 1) {
            return Err(run_error(format!(
                "returned {verdict} but stored result {result:#x}, whose verdict is {}",
                2 - (result & 1)
            )));
        }
        Ok(result)
    }
}

/// Where the BTF puts the variable `result` in `.bss`.
pub(super) fn result_offset(object: &Object) -> Result<usize, BackendError> {
    let missing = || load_error("no `result` variable in the object's .bss BTF");
    let btf = object.btf.as_ref().ok_or_else(missing)?;
    let id = btf
        .find_type(BtfKind::Datasec, ".bss")
        .ok_or_else(missing)?;
    let Ok(BtfType::Datasec(section)) = btf.type_by_id(id) else {
        return Err(missing());
    };
    section
        .vars
        .iter()
        .find(|info| {
            matches!(btf.type_by_id(info.type_id),
                Ok(BtfType::Var(v)) if btf.string_at(v.name_off) == Ok("result"))
        })
        .map(|info| info.offset as usize)
        .ok_or_else(missing)
}

/// What Waggle's checked run gives: the program's result and the number of
/// instructions it executed.
pub(crate) struct Reference {
    pub result: u64,
    pub insns: u64,
}

/// Runs the program once through the runtime, as the reference run.
pub(crate) fn reference(workload: &Workload) -> Result<Reference, BackendError> {
    let loaded = Loaded::new(workload)?;
    let run = loaded.run_packet(&workload.frame)?;
    Ok(Reference {
        result: loaded.checked_result(run.retval)?,
        insns: run.insns,
    })
}

/// `LoadedObject::run_packet_with` on one of the runtime's engines: the
/// interpreter checking every access, the interpreter without checks, or
/// the JIT's native code. Every program runs on every engine, helpers and
/// maps included. A batch is one test run with `RunConfig::repeat` set to
/// the batch size, as the kernel's row is one `BPF_PROG_TEST_RUN` with
/// `repeat`: the frame is copied into a 4 KiB buffer with headroom and the
/// context built once per batch, and the runtime times the runs itself.
///
/// Soundness of the unchecked engines rests on the programs: each passed
/// the Linux kernel's verifier (`programs/c/build.sh` loads every object
/// with bpftool; Waggle's own verifier does not accept all of them yet),
/// and `prepare` first runs it in checked mode on the same frame, refusing
/// it if that run fails.
struct Runtime {
    loaded: Loaded,
    frame: Vec<u8>,
    engine: Engine,
}

impl Runner for Runtime {
    fn run(&mut self) -> Result<u64, BackendError> {
        // SAFETY: see the type's documentation.
        let run = unsafe { self.loaded.run_packet_with(&self.frame, self.engine) }?;
        Ok(run.retval)
    }

    fn batch_ns(&mut self, runs: u64) -> Result<f64, BackendError> {
        let repeat = u32::try_from(runs.max(1)).unwrap_or(u32::MAX);
        // Timed here rather than read from `RunResult::duration`, whose mean
        // is rounded down to whole nanoseconds; the one setup per batch is
        // spread over thousands of runs.
        let start = Instant::now();
        // SAFETY: see the type's documentation.
        black_box(unsafe { self.loaded.run_repeated(&self.frame, self.engine, repeat) }?);
        Ok(start.elapsed().as_nanos() as f64 / f64::from(repeat))
    }
}

/// Loads the workload and runs it once on `engine` (after a checked run,
/// for the unchecked engines); `compile` is the JIT's compile time.
fn prepare(workload: &Workload, engine: Engine) -> Result<Prepared<'_>, BackendError> {
    let loaded = Loaded::new(workload)?;
    let mut compile_time: Option<Duration> = None;
    if engine != Engine::Interp {
        loaded.run_packet(&workload.frame)?;
        if engine == Engine::Jit {
            let prog = &loaded.obj.programs()[loaded.index];
            let jit = prog.jit().map_err(load_error)?;
            compile_time = Some(jit.compile_time());
        }
    }
    // SAFETY: see `Runtime`.
    let verdict = unsafe { loaded.run_packet_with(&workload.frame, engine) }?.retval;
    let result = loaded.checked_result(verdict)?;
    Ok(Prepared {
        runner: Box::new(Runtime {
            loaded,
            frame: workload.frame.clone(),
            engine,
        }),
        observed: Observed::Result(result),
        compile_time,
    })
}

pub(super) fn prepare_checked(workload: &Workload) -> Result<Prepared<'_>, BackendError> {
    prepare(workload, Engine::Interp)
}

pub(super) fn prepare_unchecked(workload: &Workload) -> Result<Prepared<'_>, BackendError> {
    prepare(workload, Engine::InterpUnchecked)
}

pub(super) fn prepare_jit(workload: &Workload) -> Result<Prepared<'_>, BackendError> {
    prepare(workload, Engine::Jit)
}
