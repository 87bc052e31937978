//! Every program of the bundled examples (`examples/c/*.bpf.o`, compiled by
//! clang from C as libbpf users write it) verifies.

use std::path::Path;
use waggle_object::Object;
use waggle_verifier::{verify, VerifyOptions};

fn object(name: &str) -> Object {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../examples/c")
        .join(name);
    let data = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    Object::parse(name, &data).unwrap_or_else(|e| panic!("{name}: {e}"))
}

const OBJECTS: [(&str, usize); 8] = [
    ("xdp_drop_icmp.bpf.o", 1),
    ("xdp_proto_count.bpf.o", 1),
    ("xdp_lb.bpf.o", 1),
    ("tc_rewrite.bpf.o", 1),
    ("ringbuf_events.bpf.o", 1),
    ("tail_calls.bpf.o", 4),
    ("subprog_globals.bpf.o", 1),
    ("core_read.bpf.o", 1),
];

#[test]
fn every_example_program_verifies() {
    let mut failures = Vec::new();
    let mut count = 0;
    for (file, programs) in OBJECTS {
        let obj = object(file);
        assert_eq!(obj.programs.len(), programs, "{file}");
        for prog in &obj.programs {
            count += 1;
            match verify(prog, &obj.maps, &VerifyOptions::default()) {
                Ok(stats) => println!(
                    "{file:24} {:16} {:5} insns  {:6} processed  {:4} states (peak {:3})  {:?}",
                    prog.name,
                    prog.insns.len(),
                    stats.insns_processed,
                    stats.total_states,
                    stats.peak_states,
                    stats.duration
                ),
                Err(e) => failures.push(format!("{file} {}:\n{e}", prog.name)),
            }
        }
    }
    assert_eq!(count, 11);
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Verification time per program, best and median of 200 runs (run with
/// `cargo test --release -p waggle-verifier --test examples -- --ignored
/// --nocapture`).
#[test]
#[ignore]
fn timing() {
    for (file, _) in OBJECTS {
        let obj = object(file);
        for prog in &obj.programs {
            let mut times: Vec<_> = (0..200)
                .map(|_| {
                    verify(prog, &obj.maps, &VerifyOptions::default())
                        .unwrap()
                        .duration
                })
                .collect();
            times.sort();
            println!(
                "{file:24} {:16} min {:>10?}  median {:>10?}",
                prog.name, times[0], times[100]
            );
        }
    }
}
