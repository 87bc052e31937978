//! Every program of the bundled examples (`examples/c/*.bpf.o`, compiled by
//! clang from C as libbpf users write it) verifies, and without
//! `allow_ptr_leaks` all but the few that compute with addresses.

use std::path::Path;
use waggle_object::Object;
use waggle_verifier::{verify, ErrorKind, VerifyOptions};

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

/// The examples verify without `allow_ptr_leaks` too, but three that turn
/// addresses into numbers, as Linux rejects them for unprivileged loaders:
const EXAMPLES_THAT_LEAK: [(&str, &str); 3] = [
    // `(__u64)(data_end - data)`: the packet length as a pointer
    // difference (Linux: `R6 pointer -= pointer prohibited`).
    ("xdp_lb.bpf.o", "subtraction on the pointers in r6 and r7"),
    // `w9 = w7; w9 -= w8`: clang computes the 32-bit packet length from
    // the low halves of data_end and data (Linux: `R7 partial copy of
    // pointer`).
    ("ringbuf_events.bpf.o", "32-bit copy of the pointer in r7"),
    // BPF_CORE_READ of a packet field: bpf_probe_read_kernel takes the
    // source address as a number (Linux: `R3 leaks addr into helper
    // function`; the helper is for CAP_PERFMON loaders anyway).
    (
        "core_read.bpf.o",
        "argument 3 of bpf_probe_read_kernel (r3) is a pointer",
    ),
];

#[test]
fn example_programs_verify_unprivileged() {
    let unprivileged = VerifyOptions {
        allow_ptr_leaks: false,
        ..VerifyOptions::default()
    };
    let mut verified = 0;
    for (name, _) in OBJECTS {
        let obj = object(name);
        // (Each verifies with the privileged rules:
        // `every_example_program_verifies`.)
        for prog in &obj.programs {
            let result = verify(prog, &obj.maps, &unprivileged);
            match (EXAMPLES_THAT_LEAK.iter().find(|(n, _)| *n == name), result) {
                (None, Ok(_)) => verified += 1,
                (None, Err(e)) => panic!("{name} {}:\n{e}", prog.name),
                (Some((_, message)), Err(e)) => {
                    assert_eq!(e.kind, ErrorKind::PointerLeak, "{name}: {e}");
                    assert!(e.message.contains(message), "{name}: {e}");
                }
                (Some(_), Ok(_)) => panic!("{name} {} no longer leaks", prog.name),
            }
        }
    }
    // Packet parsing (xdp_drop_icmp, tc_rewrite), map lookups
    // (xdp_proto_count), tail calls, subprograms and global data.
    assert!(verified >= 8, "{verified}");
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
