//! Every example program of `examples/c` on the packets of its cases, in
//! order, checked byte for byte against the expected return values, output
//! frames and final map contents. The expectations were computed
//! independently of the C code and confirmed against the Linux kernel
//! (`examples/c/packets.py check`); `tests/data/cases` is what
//! `packets.py write` produced.
//!
//! Every case runs on every engine: the checked interpreter, and, once
//! `waggle-verifier` has accepted each program of the object (the safety
//! contract of `run_packet_with`), the unchecked interpreter and the JIT.
//! Each engine gets a freshly loaded object, must meet the same
//! expectations, and must give exactly what the checked interpreter gives:
//! return value, output packet, trace lines and redirect, case by case.

use serde_json::Value;
use std::path::{Path, PathBuf};
use waggle_btf::{BtfKind, BtfType};
use waggle_runtime::{Engine, LoadOptions, LoadedObject, Redirect, RunConfig};
use waggle_verifier::{verify, VerifyOptions};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn cases_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/cases")
}

fn load(object: &str) -> LoadedObject {
    let path = repo().join("examples/c").join(object);
    // Two CPUs, so per-CPU maps really have several slots to sum.
    LoadedObject::from_file(
        &path,
        &LoadOptions {
            cpus: 2,
            ..LoadOptions::default()
        },
    )
    .unwrap_or_else(|e| panic!("{e}"))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn u64_at(bytes: &[u8], off: usize, size: usize) -> u64 {
    let mut b = [0u8; 8];
    b[..size].copy_from_slice(&bytes[off..off + size]);
    u64::from_le_bytes(b)
}

/// Reads a global variable of `section` by name through the object's BTF: a
/// variable itself, or a member of a struct variable (as bpftool flattens them).
fn global(obj: &LoadedObject, section: &str, var: &str) -> u64 {
    let btf = obj.object.btf.as_ref().expect("object has BTF");
    let ds = btf.find_type(BtfKind::Datasec, section).expect("datasec");
    let Ok(BtfType::Datasec(ds)) = btf.type_by_id(ds) else {
        panic!()
    };
    let mut found = None;
    for info in &ds.vars {
        let Ok(BtfType::Var(v)) = btf.type_by_id(info.type_id) else {
            continue;
        };
        if btf.string_at(v.name_off).unwrap() == var {
            found = Some((info.offset as usize, info.size as usize));
            break;
        }
        if let Ok(Some(m)) = btf.member_by_name(btf.resolve_type(v.type_id).unwrap(), var) {
            let size = btf.size_of(m.type_id).unwrap() as usize;
            found = Some((info.offset as usize + m.bit_offset as usize / 8, size));
            break;
        }
    }
    let (offset, size) = found.unwrap_or_else(|| panic!("no variable {var} in {section}"));
    let value = obj
        .map(section)
        .unwrap()
        .lookup(&0u32.to_le_bytes())
        .unwrap();
    u64_at(&value, offset, size)
}

fn check_maps(
    obj: &LoadedObject,
    maps: &serde_json::Map<String, Value>,
    failures: &mut Vec<String>,
) {
    for (name, spec) in maps {
        let mut fail = |msg: String| failures.push(format!("map {name}: {msg}"));
        match spec["type"].as_str().unwrap() {
            "bss_vars" => {
                for (var, want) in spec["vars"].as_object().unwrap() {
                    let got = global(obj, name, var);
                    if got != want.as_u64().unwrap() {
                        fail(format!("{var} = {got}, expected {want}"));
                    }
                }
            }
            "u64_array" | "percpu_u64" | "lb_stats" => {
                let map = obj.map(name).unwrap();
                let max = map.spec().max_entries;
                let entries = spec["entries"].as_object().unwrap();
                for key in 0..max {
                    let raw = map.lookup(&key.to_le_bytes()).unwrap();
                    let got: Vec<u64> = raw
                        .chunks(8)
                        .map(|c| u64::from_le_bytes(c.try_into().unwrap()))
                        .collect();
                    let (got, want): (Vec<u64>, Vec<u64>) = match spec["type"].as_str().unwrap() {
                        // Per-CPU: the application sees every CPU's value; sum them.
                        "percpu_u64" => (
                            vec![got.iter().sum()],
                            vec![entries
                                .get(&key.to_string())
                                .map_or(0, |v| v.as_u64().unwrap())],
                        ),
                        "lb_stats" => (
                            got,
                            entries.get(&key.to_string()).map_or(vec![0, 0], |v| {
                                v.as_array()
                                    .unwrap()
                                    .iter()
                                    .map(|x| x.as_u64().unwrap())
                                    .collect()
                            }),
                        ),
                        _ => (
                            got,
                            vec![entries
                                .get(&key.to_string())
                                .map_or(0, |v| v.as_u64().unwrap())],
                        ),
                    };
                    if got != want {
                        fail(format!("key {key}: {got:?}, expected {want:?}"));
                    }
                }
            }
            "ringbuf" => {
                let map = obj.map(name).unwrap();
                let ring = map
                    .as_any()
                    .downcast_ref::<waggle_maps::RingBuf>()
                    .expect("ring buffer");
                let got: Vec<String> = ring.drain().iter().map(|r| hex(r)).collect();
                let want: Vec<String> = spec["records"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .filter(|r| !r["discarded"].as_bool().unwrap())
                    .map(|r| r["data"].as_str().unwrap().to_string())
                    .collect();
                if got != want {
                    fail(format!("records {got:?}, expected {want:?}"));
                }
            }
            other => fail(format!("unknown expectation type {other}")),
        }
    }
}

/// What one case's run showed, beyond the expectations: compared between
/// engines.
#[derive(Debug, PartialEq, Eq)]
struct Seen {
    case: String,
    retval: u64,
    packet: Option<Vec<u8>>,
    trace: Vec<String>,
    redirect: Option<Redirect>,
}

/// Runs every example's cases on `engine`, checking the expectations;
/// returns what each case showed and how many cases ran on the JIT itself.
fn run_examples(engine: Engine, failures: &mut Vec<String>) -> (Vec<Seen>, usize) {
    let text = std::fs::read_to_string(cases_dir().join("cases.json")).expect("cases.json");
    let all: Value = serde_json::from_str(&text).unwrap();
    let mut seen = Vec::new();
    let mut on_engine = 0;
    for (example, spec) in all.as_object().unwrap() {
        let obj = load(spec["object"].as_str().unwrap());
        if engine != Engine::Interp {
            // The safety contract of `run_packet_with`: the program, and
            // every program it can tail-call, passed the verifier.
            for def in &obj.object.programs {
                if let Err(e) = verify(def, &obj.object.maps, &VerifyOptions::default()) {
                    panic!(
                        "{example}: the verifier rejects `{}`:\n{}",
                        def.name,
                        e.render()
                    );
                }
            }
        }
        let prog = obj
            .program(spec["prog"].as_str().unwrap())
            .expect("program");
        for case in spec["cases"].as_array().unwrap() {
            let name = case["name"].as_str().unwrap();
            // Kernel-specific contexts (a veth's ifindex) have no expectation here.
            let Some(want) = case["retval"].as_u64() else {
                continue;
            };
            let mut cfg = RunConfig::default();
            if let Some(ctx) = case.get("ctx") {
                cfg.ifindex = ctx["ingress_ifindex"].as_u64().unwrap() as u32;
                cfg.rx_queue = ctx["rx_queue_index"].as_u64().unwrap() as u32;
            }
            let dir = cases_dir().join(example);
            let input = std::fs::read(dir.join(format!("{name}.in"))).expect("input frame");
            // SAFETY: every program of the object was verified above (or the
            // engine is the checked interpreter).
            let result = match unsafe { obj.run_packet_with(prog, &input, &cfg, engine) } {
                Ok(r) => r,
                Err(e) => {
                    failures.push(format!("{engine} {example}/{name}: {e}"));
                    continue;
                }
            };
            if result.engine != engine {
                failures.push(format!(
                    "{engine} {example}/{name}: ran on {}",
                    result.engine
                ));
            }
            if result.engine == Engine::Jit {
                on_engine += 1;
            }
            if result.retval != want {
                failures.push(format!(
                    "{engine} {example}/{name}: returned {}, expected {want}",
                    result.retval
                ));
            }
            if let Ok(expected) = std::fs::read(dir.join(format!("{name}.out"))) {
                let got = result.packet.clone().unwrap_or_default();
                if got != expected {
                    failures.push(format!(
                        "{engine} {example}/{name}: output frame\n  got      {}\n  expected {}",
                        hex(&got),
                        hex(&expected)
                    ));
                }
            }
            seen.push(Seen {
                case: format!("{example}/{name}"),
                retval: result.retval,
                packet: result.packet,
                trace: result.trace,
                redirect: result.redirect,
            });
        }
        let mut map_failures = Vec::new();
        check_maps(&obj, spec["maps"].as_object().unwrap(), &mut map_failures);
        failures.extend(
            map_failures
                .into_iter()
                .map(|f| format!("{engine} {example}: {f}")),
        );
        if engine == Engine::Jit {
            // Compiled on the first run, and only then.
            assert!(prog.jit_compile_time().is_some(), "{example}: not compiled");
        }
    }
    (seen, on_engine)
}

#[test]
fn examples_match_the_kernel_verified_expectations() {
    let mut failures = Vec::new();
    let (reference, _) = run_examples(Engine::Interp, &mut failures);
    let mut jit_cases = 0;
    for engine in [Engine::InterpUnchecked, Engine::Jit] {
        let (seen, on_jit) = run_examples(engine, &mut failures);
        if engine == Engine::Jit {
            jit_cases = on_jit;
        }
        assert_eq!(seen.len(), reference.len(), "{engine}: cases run");
        for (a, b) in reference.iter().zip(&seen) {
            if a != b {
                failures.push(format!("{engine} differs from interp:\n  {a:?}\n  {b:?}"));
            }
        }
    }
    println!(
        "example cases: {} on each of {} engines ({jit_cases} of them compiled by the JIT), {} failures",
        reference.len(),
        Engine::ALL.len(),
        failures.len()
    );
    assert!(jit_cases > 0, "no case ran on the JIT");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
