//! The `waggle` command as a user runs it: bundled examples, output formats,
//! and exit codes.

use std::path::PathBuf;
use std::process::{Command, Output};

fn waggle(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_waggle"))
        .args(args)
        .current_dir(repo())
        .output()
        .expect("run waggle")
}

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

const IPV4_HEADER: &str = "45 00 00 3c 1c 46 40 00 40 06 00 00 ac 10 0a 63 ac 10 0a 0c";

#[test]
fn quick_start_checksum_example_computes_the_ipv4_header_checksum() {
    let out = waggle(&[
        "run",
        "examples/asm/checksum.s",
        "--mem-file",
        "examples/asm/ipv4-header.bin",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.contains("r0 = 0xb1e6"), "{text}");
    assert!(text.contains("instructions executed: "), "{text}");
}

#[test]
fn run_json_reports_r0_instruction_count_and_memory() {
    let out = waggle(&[
        "run",
        "examples/asm/checksum.s",
        "--mem",
        IPV4_HEADER,
        "--json",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let v: serde_json::Value = serde_json::from_str(&stdout(&out)).expect("valid JSON");
    assert_eq!(v["r0"], 0xb1e6);
    assert_eq!(v["r0_hex"], "0xb1e6");
    // 4 setup + 10 words of 10 + final check of 3 + tail check + fold loop.
    assert!(v["instructions"].as_u64().unwrap() > 100);
    assert_eq!(v["memory"], IPV4_HEADER);
}

#[test]
fn asm_then_disasm_round_trips_through_bytecode() {
    let dir = std::env::temp_dir().join(format!("waggle-cli-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let bin = dir.join("checksum.bin");
    let out = waggle(&[
        "asm",
        "examples/asm/checksum.s",
        "-o",
        bin.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let bytes = std::fs::read(&bin).unwrap();
    assert_eq!(bytes.len() % 8, 0);
    assert_eq!(&bytes[..8], &[0xb7, 0, 0, 0, 0, 0, 0, 0], "mov r0, 0");

    // Bytecode runs directly, with the same result as the source.
    let out = waggle(&["run", bin.to_str().unwrap(), "--mem", IPV4_HEADER, "--json"]);
    let v: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(v["r0"], 0xb1e6);

    // Disassembly in each syntax re-assembles to the same bytes.
    for syntax in ["llvm", "ubpf"] {
        let out = waggle(&["disasm", bin.to_str().unwrap(), "--syntax", syntax]);
        assert!(out.status.success(), "{}", stderr(&out));
        let listing = stdout(&out);
        // Strip the "pc: " prefix to get plain assembly.
        let source: String = listing
            .lines()
            .map(|l| l.split_once(": ").map_or(l, |(_, t)| t).to_string() + "\n")
            .collect();
        let src = dir.join(format!("listing.{syntax}.s"));
        std::fs::write(&src, source).unwrap();
        let again = dir.join(format!("again.{syntax}.bin"));
        let out = waggle(&[
            "asm",
            src.to_str().unwrap(),
            "--syntax",
            syntax,
            "-o",
            again.to_str().unwrap(),
        ]);
        assert!(out.status.success(), "{syntax}: {}", stderr(&out));
        assert_eq!(std::fs::read(&again).unwrap(), bytes, "{syntax} round trip");
    }

    let out = waggle(&["disasm", bin.to_str().unwrap(), "--json"]);
    let v: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(v[0]["pc"], 0);
    assert_eq!(v[0]["bytes"], "b7 00 00 00 00 00 00 00");
    assert_eq!(v[0]["text"], "r0 = 0x0");
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn exit_codes_separate_bad_input_from_program_failure() {
    let dir = std::env::temp_dir().join(format!("waggle-cli-exit-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();

    // Assembly error: exit 2, with file, line and column.
    let bad = dir.join("bad.s");
    std::fs::write(&bad, "mov %r0, 1\nfrobnicate %r1\nexit\n").unwrap();
    let out = waggle(&["run", bad.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("bad.s:2:1"), "{}", stderr(&out));

    // Out-of-bounds read: exit 1, naming the instruction.
    let oob = dir.join("oob.s");
    std::fs::write(&oob, "ldxw %r0, [%r1+2]\nexit\n").unwrap();
    let out = waggle(&["run", oob.to_str().unwrap(), "--mem", "00 01 02"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("instruction 0: read of 4 bytes"),
        "{}",
        stderr(&out)
    );

    // Runaway loop stopped by the budget: exit 1.
    let spin = dir.join("spin.s");
    std::fs::write(&spin, "l:\nja l\n").unwrap();
    let out = waggle(&["run", spin.to_str().unwrap(), "--budget", "1000"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("budget of 1000 exhausted"),
        "{}",
        stderr(&out)
    );

    // Invalid bytecode: exit 2.
    let raw = dir.join("raw.bin");
    std::fs::write(&raw, [0xee, 0, 0, 0, 0, 0, 0, 0]).unwrap();
    let out = waggle(&["disasm", raw.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("unknown opcode 0xee"),
        "{}",
        stderr(&out)
    );

    // Missing file and bad memory: exit 2.
    assert_eq!(waggle(&["run", "no/such/file.s"]).status.code(), Some(2));
    let out = waggle(&["run", "examples/asm/checksum.s", "--mem", "xyz"]);
    assert_eq!(out.status.code(), Some(2));
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn help_is_available_for_every_command() {
    for args in [
        &["--help"][..],
        &["run", "--help"],
        &["asm", "--help"],
        &["disasm", "--help"],
    ] {
        let out = waggle(args);
        assert!(out.status.success());
        assert!(stdout(&out).contains("Usage"), "{:?}", args);
    }
}
