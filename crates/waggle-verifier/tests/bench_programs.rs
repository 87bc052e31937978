//! The benchmark programs (`crates/waggle-bench/programs/c`): every XDP
//! entry point Linux 6.18 accepts verifies within the instruction budget,
//! through both `verify` and `verify_with_facts` (what `waggle verify` and
//! `waggle run` use), with the same pruning; and without `allow_ptr_leaks`
//! (none computes with addresses).

use std::path::Path;
use waggle_object::{MapDef, Object, ProgramDef};
use waggle_verifier::{verify, verify_with_facts, ErrorKind, VerifyOptions};

fn dir() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../crates/waggle-bench/programs/c")
}

/// The benchmarks' names (`NAME.bpf.o`), sorted.
fn names() -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir())
        .unwrap()
        .filter_map(|e| {
            let n = e.unwrap().file_name().into_string().unwrap();
            n.strip_suffix(".bpf.o").map(str::to_string)
        })
        .collect();
    names.sort();
    assert!(names.len() >= 32, "{names:?}");
    names
}

/// The program `xdp_NAME` of `NAME.bpf.o`, and the object's maps.
fn load(name: &str) -> (ProgramDef, Vec<MapDef>) {
    let file = format!("{name}.bpf.o");
    let path = dir().join(&file);
    let data = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut obj = Object::parse(&file, &data).unwrap_or_else(|e| panic!("{file}: {e}"));
    let prog = obj
        .programs
        .iter()
        .position(|p| p.name == format!("xdp_{name}"))
        .expect("program xdp_NAME");
    (obj.programs.swap_remove(prog), obj.maps)
}

/// Instructions processed verifying `xdp_NAME` of `NAME.bpf.o`, by `verify`
/// and by `verify_with_facts`, or the error kind of `verify`.
fn verify_bench(name: &str) -> Result<(u64, u64), ErrorKind> {
    let (prog, maps) = load(name);
    let opts = VerifyOptions::default();
    let stats = verify(&prog, &maps, &opts).map_err(|e| e.kind)?;
    let (with_facts, _) =
        verify_with_facts(&prog, &maps, &opts).unwrap_or_else(|e| panic!("{name}: {e}"));
    Ok((stats.insns_processed, with_facts.insns_processed))
}

#[test]
fn every_bench_program_verifies() {
    for name in &names() {
        match verify_bench(name) {
            Ok((plain, facts)) => {
                println!("{name:20} {plain:>8} instructions processed");
                assert!(plain < 1_000_000, "{name}: {plain}");
                assert_eq!(
                    plain, facts,
                    "{name}: verify_with_facts prunes as verify does"
                );
            }
            Err(kind) => panic!("{name}: {kind:?}"),
        }
    }
}

#[test]
fn every_bench_program_verifies_unprivileged() {
    let unprivileged = VerifyOptions {
        allow_ptr_leaks: false,
        ..VerifyOptions::default()
    };
    for name in &names() {
        let (prog, maps) = load(name);
        if let Err(e) = verify(&prog, &maps, &unprivileged) {
            panic!("{}:\n{e}", prog.name);
        }
    }
}
