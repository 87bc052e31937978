//! The example objects of `examples/c` in the running kernel: every object
//! loads, the cases of `crates/waggle-runtime/tests/data/cases` give the
//! expected return values and output frames under BPF_PROG_TEST_RUN, and the
//! maps read back hold the expected contents.
//!
//! Every test first calls `availability()` and returns early, printing the
//! reason, when the kernel cannot be used (not root, no BTF, ...).

use serde_json::Value;
use std::path::{Path, PathBuf};
use waggle_btf::{BtfKind, BtfType};
use waggle_kernel::{availability, KernelObject, TestRun};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn cases_dir() -> PathBuf {
    repo().join("crates/waggle-runtime/tests/data/cases")
}

fn cases() -> Value {
    let text = std::fs::read_to_string(cases_dir().join("cases.json")).expect("cases.json");
    serde_json::from_str(&text).expect("cases.json parses")
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

macro_rules! require_kernel {
    () => {
        if let Err(reason) = availability() {
            println!("skipped: {reason}");
            return;
        }
    };
}

fn load(object: &str) -> KernelObject {
    let path = repo().join("examples/c").join(object);
    let data = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    KernelObject::load(object, &data).unwrap_or_else(|e| panic!("{object}: {e}"))
}

/// `struct xdp_md` for a case's `ctx`: data 0, data_end len, data_meta 0,
/// ingress_ifindex, rx_queue_index, egress_ifindex 0.
fn xdp_ctx(ctx: &Value, len: usize) -> Option<Vec<u8>> {
    let ifindex = ctx["ingress_ifindex"].as_u64()? as u32;
    let rxq = ctx["rx_queue_index"].as_u64()? as u32;
    Some(
        [0, len as u32, 0, ifindex, rxq, 0]
            .iter()
            .flat_map(|v: &u32| v.to_le_bytes())
            .collect(),
    )
}

/// Runs every case of `example` in order on a freshly loaded object;
/// returns the object (for its maps), the number of cases checked, and the
/// mismatches.
fn run_cases(example: &str, spec: &Value) -> (KernelObject, usize, Vec<String>) {
    let obj = load(spec["object"].as_str().unwrap());
    let prog_name = spec["prog"].as_str().unwrap();
    let prog = obj.program(prog_name).expect("program");
    let mut failures = Vec::new();
    let mut checked = 0;
    for case in spec["cases"].as_array().unwrap() {
        let name = case["name"].as_str().unwrap();
        // Kernel-specific contexts (a veth's ifindex) have no expectation.
        let Some(want) = case["retval"].as_u64() else {
            continue;
        };
        let dir = cases_dir().join(example);
        let input = std::fs::read(dir.join(format!("{name}.in"))).expect("input frame");
        let ctx = case.get("ctx").and_then(|c| xdp_ctx(c, input.len()));
        let run = TestRun {
            data_in: &input,
            ctx_in: ctx.as_deref(),
            repeat: 1,
            data_out_capacity: input.len() + 256,
        };
        let result = match obj.test_run(prog, &run) {
            Ok(r) => r,
            Err(e) => {
                failures.push(format!("{example}/{name}: {e}"));
                continue;
            }
        };
        checked += 1;
        if result.retval as u64 != want {
            failures.push(format!(
                "{example}/{name}: returned {}, expected {want}",
                result.retval
            ));
        }
        if let Ok(expected) = std::fs::read(dir.join(format!("{name}.out"))) {
            if result.data_out != expected {
                failures.push(format!(
                    "{example}/{name}: output frame\n  got      {}\n  expected {}",
                    hex(&result.data_out),
                    hex(&expected)
                ));
            }
        }
    }
    (obj, checked, failures)
}

#[test]
fn every_example_object_loads() {
    require_kernel!();
    let mut objects: Vec<PathBuf> = std::fs::read_dir(repo().join("examples/c"))
        .expect("examples/c")
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_string_lossy().ends_with(".bpf.o"))
        .collect();
    objects.sort();
    assert!(!objects.is_empty());
    let mut failures = Vec::new();
    for path in &objects {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let data = std::fs::read(path).unwrap();
        match KernelObject::load(&name, &data) {
            Ok(obj) => {
                let progs: Vec<String> = obj
                    .programs()
                    .iter()
                    .map(|p| format!("{} ({}, {})", p.name, p.section, p.prog_type))
                    .collect();
                println!(
                    "{name}: {} program(s): {}; {} map(s)",
                    progs.len(),
                    progs.join(", "),
                    obj.object().maps.len()
                );
                for note in obj.notes() {
                    println!("  note: {note}");
                }
                for p in obj.programs() {
                    assert!(p.fd >= 0);
                    let last = p.verifier_log.lines().last().unwrap_or("");
                    println!("  {}: {last}", p.name);
                }
                assert!(!obj.programs().is_empty(), "{name} has programs");
            }
            Err(e) => failures.push(format!("{name}: {e}")),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn example_cases_match_the_expected_frames() {
    require_kernel!();
    let all = cases();
    let mut failures = Vec::new();
    let mut total = 0;
    for (example, spec) in all.as_object().unwrap() {
        let (_, checked, f) = run_cases(example, spec);
        println!(
            "{example}: {} of {checked} cases match",
            checked - f.len().min(checked)
        );
        total += checked;
        failures.extend(f);
    }
    // The three the backend was written against must be there.
    for required in ["xdp_drop_icmp", "xdp_lb", "tc_rewrite"] {
        assert!(all.get(required).is_some(), "cases.json has {required}");
    }
    println!(
        "kernel example cases: {} passed, {} failed",
        total - failures.len().min(total),
        failures.len()
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

fn u64s(bytes: &[u8]) -> Vec<u64> {
    bytes
        .chunks(8)
        .map(|c| {
            let mut b = [0u8; 8];
            b[..c.len()].copy_from_slice(c);
            u64::from_le_bytes(b)
        })
        .collect()
}

/// A `.bss`-style global by name, through the object's BTF DATASEC: a
/// variable itself or a member of a struct variable.
fn global(obj: &KernelObject, section: &str, var: &str) -> u64 {
    let btf = obj.object().btf.as_ref().expect("object has BTF");
    let ds = btf.find_type(BtfKind::Datasec, section).expect("datasec");
    let Ok(BtfType::Datasec(ds)) = btf.type_by_id(ds) else {
        panic!("not a datasec")
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
        .map_lookup(section, &0u32.to_le_bytes())
        .unwrap()
        .expect("global data has key 0");
    let mut b = [0u8; 8];
    b[..size].copy_from_slice(&value[offset..offset + size]);
    u64::from_le_bytes(b)
}

/// Checks one map expectation of cases.json against the kernel's map.
fn check_map(obj: &KernelObject, name: &str, spec: &Value, failures: &mut Vec<String>) {
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
        kind @ ("u64_array" | "percpu_u64" | "lb_stats") => {
            let want = spec["entries"].as_object().unwrap();
            let entries = obj.map_entries(name).unwrap();
            assert!(!entries.is_empty(), "array maps list every key");
            for (key, value) in entries {
                let key = u32::from_le_bytes(key.try_into().unwrap());
                let words = u64s(&value);
                let expected = want.get(&key.to_string());
                let (got, want): (Vec<u64>, Vec<u64>) = match kind {
                    // Every possible CPU's value: the counts sum over them.
                    "percpu_u64" => (
                        vec![words.iter().sum()],
                        vec![expected.map_or(0, |v| v.as_u64().unwrap())],
                    ),
                    "lb_stats" => (
                        words,
                        expected.map_or(vec![0, 0], |v| {
                            v.as_array()
                                .unwrap()
                                .iter()
                                .map(|x| x.as_u64().unwrap())
                                .collect()
                        }),
                    ),
                    _ => (words, vec![expected.map_or(0, |v| v.as_u64().unwrap())]),
                };
                if got != want {
                    fail(format!("key {key}: {got:?}, expected {want:?}"));
                }
            }
        }
        "ringbuf" => {
            let got: Vec<String> = obj
                .ringbuf_drain(name)
                .unwrap()
                .iter()
                .map(|r| hex(r))
                .collect();
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
            // Drained: a second drain finds nothing.
            let again = obj.ringbuf_drain(name).unwrap();
            if !again.is_empty() {
                fail(format!("{} records left after draining", again.len()));
            }
        }
        other => fail(format!("unknown expectation type {other}")),
    }
}

#[test]
fn maps_hold_the_expected_contents_after_each_sequence() {
    require_kernel!();
    let all = cases();
    let mut failures = Vec::new();
    // Per-CPU counts, array-of-struct stats and ring buffer records first,
    // then every other example's maps.
    let mut order = vec!["xdp_proto_count", "xdp_lb", "ringbuf_events"];
    for k in all.as_object().unwrap().keys() {
        if !order.contains(&k.as_str()) {
            order.push(k);
        }
    }
    for example in order {
        let spec = &all[example];
        let (obj, _, _) = run_cases(example, spec);
        let before = failures.len();
        for (name, map) in spec["maps"].as_object().unwrap() {
            check_map(&obj, name, map, &mut failures);
        }
        println!(
            "{example}: maps {}",
            if failures.len() == before {
                "match"
            } else {
                "differ"
            }
        );
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn map_errors_and_updates() {
    require_kernel!();
    let obj = load("xdp_proto_count.bpf.o");
    assert!(matches!(
        obj.map_lookup("nope", &[0; 4]),
        Err(waggle_kernel::KernelError::NoSuchMap(_))
    ));
    assert!(matches!(
        obj.map_lookup("proto_count", &[0; 3]),
        Err(waggle_kernel::KernelError::InvalidInput(_))
    ));
    // A per-CPU value is every possible CPU's 8 bytes.
    let value = obj
        .map_lookup("proto_count", &6u32.to_le_bytes())
        .unwrap()
        .unwrap();
    assert_eq!(value.len() % 8, 0);
    let cpus = value.len() / 8;
    let mut new = Vec::new();
    for cpu in 0..cpus {
        new.extend_from_slice(&(cpu as u64 + 10).to_le_bytes());
    }
    obj.map_update("proto_count", &6u32.to_le_bytes(), &new, 0)
        .unwrap();
    assert_eq!(
        obj.map_lookup("proto_count", &6u32.to_le_bytes())
            .unwrap()
            .unwrap(),
        new
    );
    assert!(obj
        .map_update("proto_count", &6u32.to_le_bytes(), &[0; 4], 0)
        .is_err());

    // Global data: `.rodata` is frozen, `.data` writable; both have kernel
    // names as libbpf gives them.
    let lb = load("xdp_lb.bpf.o");
    assert_eq!(lb.map_kernel_name(".rodata"), Some("xdp_lb.rodata"));
    assert_eq!(lb.map_kernel_name(".data"), Some("xdp_lb.data"));
    let rodata = lb
        .map_lookup("xdp_lb.rodata", &0u32.to_le_bytes())
        .unwrap()
        .unwrap();
    let err = lb
        .map_update(".rodata", &0u32.to_le_bytes(), &rodata, 0)
        .unwrap_err();
    println!("update of frozen .rodata: {err}");
    assert!(
        matches!(err, waggle_kernel::KernelError::Syscall { errno, .. } if errno == libc::EPERM)
    );
    let data = lb
        .map_lookup(".data", &0u32.to_le_bytes())
        .unwrap()
        .unwrap();
    lb.map_update(".data", &0u32.to_le_bytes(), &data, 0)
        .unwrap();
    assert!(lb.ringbuf_drain("lb_stats").is_err());
}
