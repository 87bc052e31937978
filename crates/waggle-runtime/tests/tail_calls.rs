//! Tail calls on every engine, at their limit and where they are refused
//! (`tests/data/objects/tail_loop.bpf.c`): the JIT must stop a chain where
//! the interpreter and Linux stop it, and refuse what the interpreter
//! refuses, with the same error.

use std::path::Path;
use waggle_runtime::{Engine, LoadOptions, LoadedObject, RunConfig, RunError, RunResult};
use waggle_verifier::{verify, VerifyOptions};

const OBJECT: &str = "tests/data/objects/tail_loop.bpf.o";
const XDP_PASS: u64 = 2;

fn load() -> LoadedObject {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(OBJECT);
    let obj = LoadedObject::from_file(&path, &LoadOptions::default()).unwrap();
    // The safety contract of `run_packet_with` off the checked interpreter.
    for def in &obj.object.programs {
        if let Err(e) = verify(def, &obj.object.maps, &VerifyOptions::default()) {
            panic!("the verifier rejects `{}`:\n{}", def.name, e.render());
        }
    }
    obj
}

fn run(obj: &LoadedObject, prog: &str, engine: Engine) -> Result<RunResult, RunError> {
    let prog = obj.program(prog).unwrap();
    // SAFETY: `load` verified every program of the object.
    unsafe { obj.run_packet_with(prog, &[0; 64], &RunConfig::default(), engine) }
}

/// The `runs` counter of the object's `.bss`.
fn runs(obj: &LoadedObject) -> u64 {
    let value = obj
        .map(".bss")
        .unwrap()
        .lookup(&0u32.to_le_bytes())
        .unwrap();
    u64::from_le_bytes(value[..8].try_into().unwrap())
}

#[test]
fn a_self_tail_call_stops_after_33_tail_calls_on_every_engine() {
    for engine in Engine::ALL {
        let obj = load();
        let result = run(&obj, "tail_loop", engine).unwrap();
        assert_eq!(result.engine, engine);
        assert_eq!(result.retval, XDP_PASS, "{engine}");
        // The first run and 33 tail calls, as in Linux.
        assert_eq!(runs(&obj), 34, "{engine}");
        // A second run starts a new chain with a new count.
        run(&obj, "tail_loop", engine).unwrap();
        assert_eq!(runs(&obj), 68, "{engine}");
        // So does each run of a repeated test run (the JIT keeps one run
        // context for all of them); a fresh object, as `tail_loop` gives up
        // past 100 runs in all.
        let obj = load();
        let cfg = RunConfig {
            repeat: 2,
            ..RunConfig::default()
        };
        let prog = obj.program("tail_loop").unwrap();
        // SAFETY: `load` verified every program of the object.
        let result = unsafe { obj.run_packet_with(prog, &[0; 64], &cfg, engine) }.unwrap();
        assert_eq!(result.retval, XDP_PASS, "{engine}");
        assert_eq!(runs(&obj), 68, "{engine}");
    }
}

#[test]
fn a_tail_call_from_a_subprogram_fails_the_same_on_the_jit() {
    let interp = load();
    let want = run(&interp, "tail_from_subprog", Engine::Interp).unwrap_err();
    assert!(
        matches!(
            want,
            RunError::Vm {
                error: waggle_vm::RunError::TailCallInSubprogram { .. },
                ..
            }
        ),
        "{want}"
    );
    let jit = load();
    assert_eq!(
        run(&jit, "tail_from_subprog", Engine::Jit).unwrap_err(),
        want
    );
    assert_eq!(runs(&jit), 0, "the target never ran");
}
