//! Test harness: hand-written programs (uBPF assembly) run with a `RunEnv`.

use crate::env::{RunEnv, Shared};
use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use waggle_isa::{assemble, encode_program, Syntax};
use waggle_maps::{map_address, Map, MapOptions, MapSpec, MapType};
use waggle_vm::{Input, Program, Region, RunError, RunOptions};

pub(crate) const CPUS: u32 = 4;

/// A map spec with no flags.
pub(crate) fn spec(t: MapType, key: u32, value: u32, max: u32) -> MapSpec {
    MapSpec {
        name: format!("test_{}", t.name()),
        map_type: t,
        key_size: key,
        value_size: value,
        max_entries: max,
        flags: 0,
        map_extra: 0,
        spin_lock_offset: None,
        inner: None,
    }
}

pub(crate) fn map(spec: &MapSpec) -> Arc<dyn Map> {
    waggle_maps::create(spec, MapOptions { cpus: CPUS }).expect("test map")
}

/// Shared state holding `maps` and `programs`.
pub(crate) fn shared(maps: Vec<Arc<dyn Map>>, programs: Vec<Arc<Program>>) -> Arc<Shared> {
    let table: HashMap<u64, Arc<dyn Map>> =
        maps.into_iter().map(|m| (map_address(&m), m)).collect();
    Arc::new(Shared {
        maps: RwLock::new(table),
        programs: RwLock::new(programs),
    })
}

/// Assembles `src` (uBPF syntax) against Waggle's helpers.
pub(crate) fn program(src: &str) -> Arc<Program> {
    let insns = assemble(src, Syntax::Ubpf).unwrap_or_else(|e| panic!("{e}\n{src}"));
    let bytes = encode_program(&insns);
    Arc::new(Program::from_bytes(&bytes, Arc::new(super::registry())).expect("prepare"))
}

/// Runs `prog` checked, with `r1` = `mem` (and `r2` its length), `extra`
/// regions granted after it; returns `r0`.
pub(crate) fn run_with(
    prog: &Program,
    env: &mut RunEnv,
    mem: &mut [u8],
    extra: &[Region],
) -> Result<u64, RunError> {
    let mut input = Input::memory(mem);
    for r in extra {
        // SAFETY: the tests keep these regions' memory alive during the run.
        input = unsafe { input.grant(*r) };
    }
    let out = prog.run_checked(input.with_env(env), &RunOptions::default());
    super::end_run(env);
    out.map(|o| o.r0)
}

/// Runs `prog` checked on `mem`; returns `r0`.
pub(crate) fn run(prog: &Program, env: &mut RunEnv, mem: &mut [u8]) -> Result<u64, RunError> {
    run_with(prog, env, mem, &[])
}

/// Runs `prog` unchecked on `mem`; returns `r0`.
pub(crate) fn run_unchecked(prog: &Program, env: &mut RunEnv, mem: &mut [u8]) -> u64 {
    // SAFETY: the test programs only touch `mem`, their stack and what
    // helpers hand out.
    let out =
        unsafe { prog.run_unchecked(Input::memory(mem).with_env(env), &RunOptions::default()) };
    super::end_run(env);
    out.expect("unchecked run").r0
}

/// A run environment on `shared`, CPU 1.
pub(crate) fn env(shared: &Arc<Shared>) -> RunEnv {
    RunEnv::new(shared.clone(), 1)
}

/// `-errno` as `r0` holds it.
pub(crate) fn err(errno: i64) -> u64 {
    (-errno) as u64
}
