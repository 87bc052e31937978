//! Every program of the verifier's corpus (`waggle-verifier/tests/corpus`)
//! that the verifier accepts runs on the checked interpreter and on the JIT,
//! each on its own freshly loaded object, over the same inputs: the return
//! values, output packets and final map contents must be identical.
//!
//! The corpus holds the patterns the verifier reasons about (spilled
//! pointers, packet ranges learned through copies, map values, ring buffer
//! records, callbacks, bpf-to-bpf calls); running the accepted ones checks
//! both that the JIT computes what the interpreter computes on them and that
//! the checked interpreter finds no access the verifier should have refused.

#[path = "../../waggle-verifier/tests/common/mod.rs"]
mod common;

use common::{files, parse, Expect};
use waggle_object::{Object, ProgramType};
use waggle_runtime::{Engine, LoadOptions, LoadedObject, RunConfig, RunResult};
use waggle_verifier::verify;

/// Frames every packet program sees, in order: IPv4/TCP, IPv4/UDP,
/// IPv4/ICMP, IPv6/TCP, ARP, and a runt Ethernet header.
fn frames() -> Vec<Vec<u8>> {
    let eth = |proto: u16| {
        let mut f = vec![0x02, 0, 0, 0, 0, 1, 0x02, 0, 0, 0, 0, 2];
        f.extend(proto.to_be_bytes());
        f
    };
    let ipv4 = |proto: u8, l4: &[u8]| {
        let mut f = eth(0x0800);
        let len = (20 + l4.len()) as u16;
        f.extend([
            0x45,
            0,
            (len >> 8) as u8,
            len as u8,
            0,
            1,
            0x40,
            0,
            64,
            proto,
            0,
            0,
        ]);
        f.extend([192, 0, 2, 1, 198, 51, 100, 7]);
        f.extend(l4);
        f
    };
    let tcp: Vec<u8> = [
        0x9c, 0x40, 0, 80, 0, 0, 0, 1, 0, 0, 0, 0, 0x50, 0x02, 0xff, 0xff,
    ]
    .into_iter()
    .chain([0; 4])
    .chain(*b"GET / HTTP/1.1\r\n\r\n")
    .collect();
    let udp = [0x30, 0x39, 0, 53, 0, 16, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8];
    let icmp = [8, 0, 0xf7, 0xff, 0, 1, 0, 1, 0xaa, 0xbb];
    let mut ipv6 = eth(0x86dd);
    ipv6.extend([0x60, 0, 0, 0, 0, 20, 6, 64]);
    ipv6.extend([0x20, 0x01, 0x0d, 0xb8].iter().chain(&[0; 11]).chain(&[1]));
    ipv6.extend([0x20, 0x01, 0x0d, 0xb8].iter().chain(&[0; 11]).chain(&[2]));
    ipv6.extend(&tcp[..20]);
    let mut arp = eth(0x0806);
    arp.extend([0, 1, 8, 0, 6, 4, 0, 1]);
    arp.extend([0; 20]);
    vec![
        ipv4(6, &tcp),
        ipv4(17, &udp),
        ipv4(1, &icmp),
        ipv6,
        arp,
        eth(0x0800),
    ]
}

/// A map's entries: (key, value) pairs.
type Entries = Vec<(Vec<u8>, Vec<u8>)>;

/// Every map's entries, by map name, in key order.
fn map_contents(obj: &LoadedObject) -> Vec<(String, Entries)> {
    obj.maps()
        .map(|(name, map)| {
            let mut entries = Vec::new();
            let mut key: Option<Vec<u8>> = None;
            // Bounded: every map of the corpus is small.
            for _ in 0..=map.spec().max_entries {
                let Ok(next) = map.next_key(key.as_deref()) else {
                    break;
                };
                if let Ok(value) = map.lookup(&next) {
                    entries.push((next.clone(), value));
                }
                key = Some(next);
            }
            entries.sort();
            (name.to_string(), entries)
        })
        .collect()
}

/// What a run showed: return value and output packet, or the error.
fn observed(
    run: Result<RunResult, waggle_runtime::RunError>,
) -> Result<(u64, Option<Vec<u8>>), String> {
    run.map(|r| (r.retval, r.packet)).map_err(|e| e.to_string())
}

/// Runs `prog` of a fresh load of `object` on every input with `engine`.
fn run_all(object: &Object, engine: Engine) -> Result<Vec<String>, String> {
    let opts = LoadOptions {
        cpus: 1,
        ..LoadOptions::default()
    };
    let obj = LoadedObject::load(object.clone(), &opts).map_err(|e| format!("load: {e}"))?;
    let prog = &obj.programs()[0];
    let cfg = RunConfig {
        cpu: Some(0),
        prandom_seed: Some(0x5eed),
        ..RunConfig::default()
    };
    let mut seen = Vec::new();
    if prog.prog_type == ProgramType::Kprobe {
        // `struct pt_regs`: 21 registers of patterned numbers.
        for seed in [0u64, 0x0101_0101_0101_0101, u64::MAX] {
            let mut ctx: Vec<u8> = (0..21u64)
                .flat_map(|i| (seed ^ i.wrapping_mul(0x9e37_79b9)).to_le_bytes())
                .collect();
            // SAFETY: the verifier accepted the program (checked by the
            // caller before any engine but the checked interpreter runs).
            let run = unsafe { obj.run_raw_with(prog, &mut ctx, &cfg, engine) };
            seen.push(format!("{:?} ctx {ctx:?}", observed(run)));
        }
    } else {
        for frame in frames() {
            // SAFETY: as above.
            let run = unsafe { obj.run_packet_with(prog, &frame, &cfg, engine) };
            seen.push(format!("{:?}", observed(run)));
        }
    }
    seen.push(format!("{:?}", map_contents(&obj)));
    Ok(seen)
}

/// Programs whose results are host addresses turned into numbers, which
/// differ between any two loads: only their runs' success is compared.
const ADDRESS_RESULTS: &[&str] = &[
    "ptr_byte_swap_leaks_number_accept",
    "ptr_mov32_leaks_number_accept",
];

/// Helpers whose results differ from call to call: the clocks
/// (`bpf_get_prandom_u32` is seeded the same for both engines).
const NONDETERMINISTIC_HELPERS: &[i32] = &[5, 118, 125, 160, 208];

/// Whether `prog` calls a helper of [`NONDETERMINISTIC_HELPERS`].
fn calls_nondeterministic_helper(prog: &waggle_object::ProgramDef) -> bool {
    prog.insns
        .iter()
        .any(|i| i.opcode == 0x85 && i.src == 0 && NONDETERMINISTIC_HELPERS.contains(&i.imm))
}

#[test]
fn accepted_corpus_programs_run_alike_on_the_interpreter_and_the_jit() {
    let (mut compared, mut not_loadable) = (0, Vec::new());
    let mut failures = Vec::new();
    for path in files() {
        let name = path.file_stem().unwrap().to_string_lossy().into_owned();
        let case = parse(&path).unwrap_or_else(|e| panic!("{name}: {e}"));
        if !matches!(case.expect, Expect::Accept) {
            continue;
        }
        verify(&case.prog, &case.maps, &case.opts).unwrap_or_else(|e| panic!("{name}: {e}"));
        let deterministic =
            !ADDRESS_RESULTS.contains(&name.as_str()) && !calls_nondeterministic_helper(&case.prog);
        let object = Object {
            name: name.clone(),
            license: "GPL".into(),
            kernel_version: None,
            maps: case.maps,
            programs: vec![case.prog],
            btf: None,
        };
        let interp = match run_all(&object, Engine::Interp) {
            Ok(seen) => seen,
            // Programs for context types or helpers the runtime does not
            // provide load in the verifier only.
            Err(e) => {
                not_loadable.push(format!("{name} ({e})"));
                continue;
            }
        };
        let jit = run_all(&object, Engine::Jit).expect("loads as for the interpreter");
        // A verified program must not fault in checked mode.
        if let Some(fault) = interp.iter().find(|s| s.starts_with("Err")) {
            failures.push(format!(
                "{name}: the checked interpreter stopped it: {fault}"
            ));
        }
        if let Some(fault) = jit.iter().find(|s| s.starts_with("Err")) {
            failures.push(format!("{name}: the JIT run failed: {fault}"));
        }
        if deterministic && interp != jit {
            failures.push(format!(
                "{name}: the engines differ\n  interp: {interp:?}\n  jit:    {jit:?}"
            ));
        }
        compared += 1;
    }
    println!(
        "{compared} accepted corpus programs compared; {} not loadable by the runtime: {}",
        not_loadable.len(),
        not_loadable.join(", ")
    );
    assert!(compared >= 100, "only {compared} programs compared");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
