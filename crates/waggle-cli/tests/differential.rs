//! `waggle run --backend all` on every example: Waggle's interpreter, Waggle's
//! JIT and the Linux kernel (BPF_PROG_TEST_RUN) see the same packets, in the
//! same order, and must agree on every return value, output packet, map and
//! ring buffer record. Where the kernel backend is unavailable (not root),
//! the test says so and compares the interpreter with the JIT alone.

use pcap_file::pcap::{PcapPacket, PcapWriter};
use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

#[test]
fn every_example_agrees_with_the_kernel() {
    if let Err(why) = waggle_kernel::availability() {
        println!("skipped the kernel side: {why}");
    }
    let cases = repo().join("crates/waggle-runtime/tests/data/cases");
    let all: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(cases.join("cases.json")).unwrap()).unwrap();
    let dir = std::env::temp_dir().join(format!("waggle-diff-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut checked = 0;
    for (example, spec) in all.as_object().unwrap() {
        // The packets of the example's cases, in order, as one capture.
        let pcap = dir.join(format!("{example}.pcap"));
        let mut w = PcapWriter::new(std::fs::File::create(&pcap).unwrap()).unwrap();
        for (i, case) in spec["cases"].as_array().unwrap().iter().enumerate() {
            // Kernel-specific contexts are not packets of this comparison.
            if case.get("ctx").is_some() {
                continue;
            }
            let frame = std::fs::read(
                cases
                    .join(example)
                    .join(format!("{}.in", case["name"].as_str().unwrap())),
            )
            .unwrap();
            w.write_packet(&PcapPacket::new(
                Duration::from_secs(i as u64),
                frame.len() as u32,
                &frame,
            ))
            .unwrap();
        }
        drop(w);
        let object = repo()
            .join("examples/c")
            .join(spec["object"].as_str().unwrap());
        let out = Command::new(env!("CARGO_BIN_EXE_waggle"))
            .args([
                "run",
                object.to_str().unwrap(),
                "--program",
                spec["prog"].as_str().unwrap(),
            ])
            .args([
                "--pcap",
                pcap.to_str().unwrap(),
                "--backend",
                "all",
                "--json",
            ])
            .output()
            .unwrap();
        let report: serde_json::Value = serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|_| panic!("{example}: {}", String::from_utf8_lossy(&out.stderr)));
        assert!(
            out.status.success(),
            "{example}: differences {:#}",
            report["differences"]
        );
        assert_eq!(report["differences"].as_array().unwrap().len(), 0);
        let backends: Vec<&str> = report["backends"]
            .as_array()
            .unwrap()
            .iter()
            .map(|b| b.as_str().unwrap())
            .collect();
        // Every example passes the verifier, so the JIT is always compared.
        assert_eq!(&backends[..2], ["interp", "jit"], "{example}: {report:#}");
        if backends.contains(&"kernel") {
            checked += 1;
        }
    }
    println!(
        "examples compared with the kernel: {checked} of {}",
        all.as_object().unwrap().len()
    );
    std::fs::remove_dir_all(&dir).ok();
}
