//! Benchmark programs (`crates/waggle-bench/programs/c`) that need
//! liveness- and precision-aware pruning to verify within the instruction
//! budget (Linux 6.18 accepts them too).

use std::path::Path;
use waggle_object::Object;
use waggle_verifier::{verify, verify_with_facts, VerifyOptions};

fn verify_bench(name: &str) -> u64 {
    let file = format!("{name}.bpf.o");
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../crates/waggle-bench/programs/c")
        .join(&file);
    let data = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let obj = Object::parse(&file, &data).unwrap_or_else(|e| panic!("{file}: {e}"));
    let prog = obj
        .programs
        .iter()
        .find(|p| p.name == format!("xdp_{name}"))
        .expect("program xdp_NAME");
    let stats = verify(prog, &obj.maps, &VerifyOptions::default())
        .unwrap_or_else(|e| panic!("{name}: {e:?}"));
    stats.insns_processed
}

#[test]
fn histogram_verifies() {
    let n = verify_bench("histogram");
    assert!(n < 1_000_000, "{n}");
}

/// `verify_with_facts` (what `waggle verify` and `waggle run` use) prunes as
/// `verify` does: facts give up what pruning let differ instead.
#[test]
fn histogram_verifies_with_facts() {
    let file = "histogram.bpf.o";
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../crates/waggle-bench/programs/c")
        .join(file);
    let data = std::fs::read(&path).unwrap();
    let obj = Object::parse(file, &data).unwrap();
    let prog = obj
        .programs
        .iter()
        .find(|p| p.name == "xdp_histogram")
        .unwrap();
    let (stats, _) = verify_with_facts(prog, &obj.maps, &VerifyOptions::default())
        .unwrap_or_else(|e| panic!("{e:?}"));
    assert_eq!(stats.insns_processed, verify_bench("histogram"));
}
