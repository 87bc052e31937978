//! Waggle: the runtime's test run (the interpreter in checked mode, as
//! `waggle run` runs programs), and the interpreter in unchecked mode.

use super::{Observed, Prepared};
use crate::backend::{BackendError, Runner};
use crate::csuite::run::Workload;
use std::sync::Arc;
use waggle_btf::{BtfKind, BtfType};
use waggle_isa::decode_slots;
use waggle_object::Object;
use waggle_runtime::context::layout;
use waggle_runtime::helper_names::helper_name;
use waggle_runtime::{LoadOptions, LoadedObject, RunConfig, RunResult, HEADROOM, TAILROOM};
use waggle_vm::{HelperRegistry, Input, PrepareError, Program, RunOptions};

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
        let obj = LoadedObject::load(object, &LoadOptions { cpus: 1 }).map_err(load_error)?;
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

/// `LoadedObject::run_packet`: each run copies the frame into a fresh
/// 4 KiB buffer with headroom, builds the context and the run's regions,
/// then interprets with every access checked.
struct Checked {
    loaded: Loaded,
    frame: Vec<u8>,
}

impl Runner for Checked {
    fn run(&mut self) -> Result<u64, BackendError> {
        Ok(self.loaded.run_packet(&self.frame)?.retval)
    }
}

pub(super) fn prepare_checked(workload: &Workload) -> Result<Prepared<'_>, BackendError> {
    let loaded = Loaded::new(workload)?;
    let verdict = loaded.run_packet(&workload.frame)?.retval;
    let result = loaded.checked_result(verdict)?;
    Ok(Prepared {
        runner: Box::new(Checked {
            loaded,
            frame: workload.frame.clone(),
        }),
        observed: Observed::Result(result),
    })
}

/// The interpreter's unchecked mode on the instructions the runtime
/// prepared (maps bound, context accesses rewritten to Waggle's layout),
/// with the frame and context laid out once, as the runtime lays them out.
///
/// waggle-runtime runs programs in checked mode only, and its helpers are
/// private to it, so this covers programs without helper calls: a program
/// that calls one is "n/a". An unchecked mode of `run_packet` in the runtime
/// would replace this and cover every program.
///
/// Soundness rests on the programs: each passed the kernel verifier (see
/// `programs/c/build.sh`), and `prepare_unchecked` first runs it in checked
/// mode on the same frame, refusing it if that run fails or writes the
/// frame. Without helpers a program is deterministic, so every later run
/// takes the path the checked run took.
struct Unchecked {
    /// Owns the maps and global data the instructions point into.
    loaded: Loaded,
    program: Program,
    /// Headroom, frame and tailroom, as the runtime lays them out; `ctx`
    /// points into it.
    _buffer: Vec<u8>,
    /// The XDP context in Waggle's layout (UAPI `xdp_md`, then 64-bit
    /// `data`, `data_end`, `data_meta`).
    ctx: Vec<u64>,
}

impl Runner for Unchecked {
    fn run(&mut self) -> Result<u64, BackendError> {
        let input = Input::empty().with_args([self.ctx.as_mut_ptr() as u64, 0, 0, 0, 0]);
        // SAFETY: see the type's documentation: a kernel-verified program
        // without helper calls, which ran in checked mode on the same frame
        // without a fault and without writing it; `ctx` and the buffer it
        // points into live as long as `self`, and the maps and global data
        // its instructions address as long as `self.loaded`.
        let outcome = unsafe {
            self.program
                .run_unchecked(input, &RunOptions { budget: None })
        };
        outcome.map(|o| o.r0).map_err(run_error)
    }
}

pub(super) fn prepare_unchecked(workload: &Workload) -> Result<Prepared<'_>, BackendError> {
    let loaded = Loaded::new(workload)?;
    let insns = &loaded.obj.programs()[loaded.index].insns;
    let decoded = decode_slots(insns).map_err(load_error)?;
    let program = match Program::new(&decoded, Arc::new(HelperRegistry::new())) {
        Ok(program) => program,
        Err(PrepareError::UnknownHelper { id, .. }) => {
            let name = helper_name(id as u32).unwrap_or("an unknown helper");
            return Err(BackendError::Unsupported(format!(
                "calls {name}; waggle-runtime runs helpers in checked mode only"
            )));
        }
        Err(e) => return Err(load_error(e)),
    };

    let checked = loaded.run_packet(&workload.frame)?;
    if checked.packet.as_deref() != Some(&workload.frame[..]) {
        return Err(load_error(
            "the program writes its frame, so runs would differ; not run unchecked",
        ));
    }

    let frame = &workload.frame;
    let mut buffer = vec![0u8; HEADROOM + frame.len() + TAILROOM];
    buffer[HEADROOM..HEADROOM + frame.len()].copy_from_slice(frame);
    let data = buffer.as_ptr() as u64 + HEADROOM as u64;
    let ctx = xdp_context(data, frame.len(), loaded.config.ifindex);
    let mut runner = Unchecked {
        loaded,
        program,
        _buffer: buffer,
        ctx,
    };
    let verdict = runner.run()?;
    let result = runner.loaded.checked_result(verdict)?;
    Ok(Prepared {
        runner: Box::new(runner),
        observed: Observed::Result(result),
    })
}

/// An XDP context in Waggle's layout for the frame of `len` bytes at `data`,
/// filled as `run_packet` fills it.
fn xdp_context(data: u64, len: usize, ifindex: u32) -> Vec<u64> {
    let mut ctx = vec![0u8; layout::XDP_SIZE.next_multiple_of(8)];
    let fields: [(usize, &[u8]); 4] = [
        (layout::XDP_MD_INGRESS_IFINDEX, &ifindex.to_le_bytes()),
        (layout::XDP_DATA, &data.to_le_bytes()),
        (layout::XDP_DATA_END, &(data + len as u64).to_le_bytes()),
        (layout::XDP_DATA_META, &data.to_le_bytes()),
    ];
    for (at, bytes) in fields {
        ctx[at..at + bytes.len()].copy_from_slice(bytes);
    }
    ctx.chunks_exact(8)
        .map(|chunk| {
            let mut word = [0u8; 8];
            word.copy_from_slice(chunk);
            u64::from_le_bytes(word)
        })
        .collect()
}
