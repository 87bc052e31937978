//! Every program of the example and benchmark objects compiled for aarch64
//! as well as for the host, as the runtime loads them: whatever the JIT
//! compiles here must pass Cranelift's IR verifier, register allocation and
//! emission for aarch64 too, with every combination of `verified`,
//! constant blinding and map calls compiled without helpers. No aarch64
//! machine runs the code.

use std::ffi::c_void;
use std::path::{Path, PathBuf};
use std::ptr::NonNull;
use std::sync::Arc;
use waggle_isa::decode_slots;
use waggle_jit::{
    compile_for_target, JitError, JitOptions, JitProgram, Lookup, MapAccess, MapCallSites,
};
use waggle_maps::{map_address, Map, MapType};
use waggle_runtime::{LoadOptions, LoadedObject};

const AARCH64: &str = "aarch64-unknown-linux-gnu";

/// A compilation's result, for failure messages: its code size or its error.
fn summary(result: Result<usize, JitError>) -> String {
    match result {
        Ok(size) => format!("{size} bytes"),
        Err(e) => e.to_string(),
    }
}

fn objects(dir: &str) -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .join(dir);
    let mut paths: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_string_lossy().ends_with(".bpf.o"))
        .collect();
    paths.sort();
    assert!(!paths.is_empty(), "no objects in {}", dir.display());
    paths
}

// The map operations compiled code would call directly. The code never
// runs, so they are never called; only their addresses are compiled in.
unsafe extern "C" fn lookup(_: *const c_void, _: *const u8) -> u64 {
    0
}
unsafe extern "C" fn update(_: *const c_void, _: *const u8, _: *const u8, _: u64) -> u64 {
    0
}
unsafe extern "C" fn delete(_: *const c_void, _: *const u8) -> u64 {
    0
}

/// Describes every map of `maps` to the JIT, arrays inlined and the others
/// called directly, so that both fast paths are compiled wherever a
/// program names a map (the runtime's own descriptions leave some types to
/// the helpers). Addresses only: the code does not run.
fn describe(maps: &[Arc<dyn Map>], address: u64) -> Option<MapAccess> {
    let map = maps.iter().find(|m| map_address(m) == address)?;
    let spec = map.spec();
    let lookup = match spec.map_type {
        MapType::Array => Lookup::Array {
            base: NonNull::dangling(),
            max_entries: spec.max_entries,
            stride: spec.value_size.next_multiple_of(8),
        },
        _ => Lookup::Call(lookup),
    };
    Some(MapAccess {
        map: Arc::as_ptr(map) as *const c_void,
        lookup: Some(lookup),
        update: Some(update),
        delete: Some(delete),
        keepalive: Box::new(()),
    })
}

#[derive(Default)]
struct Totals {
    programs: usize,
    compilations: usize,
    host_size: usize,
    aarch64_size: usize,
    map_call_sites: MapCallSites,
    failures: Vec<String>,
}

/// Compiles every program of every object in `dir` for the host and for
/// aarch64, eight ways each (`verified` or not, blinded or not, map calls
/// through helpers or not), and collects what fails on either.
fn compile_all(dir: &str, cpus: u32) -> Totals {
    let mut totals = Totals::default();
    for path in objects(dir) {
        let obj = LoadedObject::from_file(
            &path,
            &LoadOptions {
                cpus,
                ..LoadOptions::default()
            },
        )
        .unwrap_or_else(|e| panic!("{e}"));
        let maps: Vec<Arc<dyn Map>> = obj.maps().map(|(_, m)| m.clone()).collect();
        let resolve = |address| describe(&maps, address);
        for prog in obj.programs() {
            let name = format!(
                "{}: {}",
                path.file_name().unwrap().to_string_lossy(),
                prog.name
            );
            // The runtime's own compilation, which also gives its helpers.
            let jit = prog.jit().unwrap_or_else(|e| panic!("{name}: {e}"));
            let registry = jit.interpreter_program().registry().clone();
            let insns = decode_slots(&prog.insns).unwrap();
            totals.programs += 1;
            for i in 0..8 {
                let (verified, blind_constants, inline_maps) = (i & 1 != 0, i & 2 != 0, i & 4 != 0);
                let opts = JitOptions {
                    maps: inline_maps.then_some(&resolve as &dyn Fn(u64) -> Option<MapAccess>),
                    verified,
                    blind_constants,
                };
                let host = JitProgram::compile(&insns, registry.clone(), &opts);
                let target = compile_for_target(&insns, registry.clone(), &opts, AARCH64);
                match (host, target) {
                    (Ok(host), Ok(target)) => {
                        totals.compilations += 1;
                        totals.host_size += host.code_size();
                        totals.aarch64_size += target.code_size();
                        totals.map_call_sites += target.map_call_sites;
                    }
                    (host, target) => totals.failures.push(format!(
                        "{name} (verified {verified}, blinded {blind_constants}, maps \
                         inlined {inline_maps}): host: {}; aarch64: {}",
                        summary(host.map(|p| p.code_size())),
                        summary(target.map(|c| c.code_size())),
                    )),
                }
            }
        }
    }
    totals
}

fn check(what: &str, totals: Totals) {
    let sites = totals.map_call_sites;
    println!(
        "{what} on aarch64: {} programs, {} compilations, {} bytes of aarch64 code ({} on the host); \
         map calls: {} inlined, {} direct, {} helpers",
        totals.programs,
        totals.compilations,
        totals.aarch64_size,
        totals.host_size,
        sites.inlined_lookups,
        sites.direct_calls,
        sites.helper_calls,
    );
    assert!(totals.failures.is_empty(), "{}", totals.failures.join("\n"));
    assert!(totals.compilations > 0);
}

#[test]
fn example_objects_compile_for_aarch64() {
    check("examples", compile_all("examples/c", 2));
}

#[test]
fn benchmark_objects_compile_for_aarch64() {
    // One CPU slot, as the benchmarks load them.
    check(
        "benchmarks",
        compile_all("crates/waggle-bench/programs/c", 1),
    );
}
