//! `waggle run`, `disasm` and `map dump` on the bundled clang-compiled
//! examples: what a user sees, in text and JSON, and the files written.

use pcap_file::pcap::PcapReader;
use std::path::PathBuf;
use std::process::{Command, Output};

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn waggle(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_waggle"))
        .args(args)
        .current_dir(repo())
        .output()
        .expect("run waggle")
}

fn json(out: &Output) -> serde_json::Value {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("JSON output")
}

fn tmp(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("waggle-objects-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

const CASES: &str = "crates/waggle-runtime/tests/data/cases";

#[test]
fn quick_start_drops_icmp_from_a_capture_and_writes_the_rest() {
    let out_pcap = tmp("passed.pcap");
    let out = waggle(&[
        "run",
        "examples/c/xdp_drop_icmp.bpf.o",
        "--pcap",
        "examples/pcap/mixed.pcap",
        "--pcap-out",
        out_pcap.to_str().unwrap(),
        "--json",
    ]);
    let v = json(&out);
    assert_eq!(v["packets"], 8);
    assert_eq!(v["verdicts"]["XDP_DROP"], 2, "ICMP and ICMPv6 echo");
    assert_eq!(v["verdicts"]["XDP_PASS"], 6);
    assert_eq!(v["written"], 6);
    // The output capture holds exactly the input's non-ICMP frames, unchanged.
    let read = |p: &std::path::Path| -> Vec<Vec<u8>> {
        let mut r = PcapReader::new(std::fs::File::open(p).unwrap()).unwrap();
        let mut v = Vec::new();
        while let Some(pkt) = r.next_packet() {
            v.push(pkt.unwrap().data.into_owned());
        }
        v
    };
    let input = read(&repo().join("examples/pcap/mixed.pcap"));
    let passed = read(&out_pcap);
    let expected: Vec<Vec<u8>> = input
        .into_iter()
        .enumerate()
        .filter(|(i, _)| *i != 0 && *i != 5)
        .map(|(_, f)| f)
        .collect();
    assert_eq!(passed, expected);

    // Text output names the verdicts.
    let text = waggle(&[
        "run",
        "examples/c/xdp_drop_icmp.bpf.o",
        "--pcap",
        "examples/pcap/mixed.pcap",
    ]);
    let stdout = String::from_utf8_lossy(&text.stdout);
    assert!(
        stdout.contains("XDP_DROP: 2") && stdout.contains("XDP_PASS: 6"),
        "{stdout}"
    );
}

#[test]
fn single_packet_run_reports_verdict_packet_trace_and_maps() {
    // The load balancer rewrites the frame and counts it per backend.
    let data = format!("{CASES}/xdp_lb/tcp_192.0.2.1_40000.in");
    let v = json(&waggle(&[
        "run",
        "examples/c/xdp_lb.bpf.o",
        "--data",
        &data,
        "--json",
        "--dump-maps",
    ]));
    assert_eq!(v["verdict"], "XDP_TX");
    assert_eq!(v["retval"], 3);
    let expected =
        std::fs::read(repo().join(format!("{CASES}/xdp_lb/tcp_192.0.2.1_40000.out"))).unwrap();
    let hex: Vec<String> = expected.iter().map(|b| format!("{b:02x}")).collect();
    assert_eq!(v["packet_out"], hex.join(" "));
    let stats = v["maps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["name"] == "lb_stats")
        .unwrap();
    assert_eq!(
        stats["entries"][0]["value"], "01 00 00 00 00 00 00 00 36 00 00 00 00 00 00 00",
        "1 packet, 54 bytes to backend 0"
    );

    // The socket filter's bpf_printk line is shown.
    let data = format!("{CASES}/subprog_globals/ipv4_truncated.in");
    let v = json(&waggle(&[
        "run",
        "examples/c/subprog_globals.bpf.o",
        "--data",
        &data,
        "--json",
    ]));
    assert_eq!(v["retval"], 0);
    assert_eq!(v["trace"][0], "subprog_globals: drop len=10 reason=-1\n");

    // Ring buffer records come out as events.
    let data = format!("{CASES}/ringbuf_events/tcp_syn.in");
    let v = json(&waggle(&[
        "run",
        "examples/c/ringbuf_events.bpf.o",
        "--data",
        &data,
        "--json",
    ]));
    assert_eq!(v["events"][0]["map"], "events");
    assert_eq!(
        v["events"][0]["data"],
        "01 00 00 00 c0 00 02 01 c6 33 64 07 9c 40 00 50 36 00 00 00"
    );

    // --repeat reports the mean over the runs.
    let v = json(&waggle(&[
        "run",
        "examples/c/xdp_drop_icmp.bpf.o",
        "--data",
        &data,
        "--repeat",
        "50",
        "--json",
    ]));
    assert_eq!(v["runs"], 50);
    assert!(v["mean_ns"].as_u64().unwrap() > 0);
}

#[test]
fn verified_programs_run_on_the_jit_unless_asked_otherwise() {
    let data = format!("{CASES}/xdp_lb/tcp_192.0.2.1_40000.in");
    let expected =
        std::fs::read(repo().join(format!("{CASES}/xdp_lb/tcp_192.0.2.1_40000.out"))).unwrap();
    let hex: Vec<String> = expected.iter().map(|b| format!("{b:02x}")).collect();
    let run = |extra: &[&str]| {
        let mut args = vec!["run", "examples/c/xdp_lb.bpf.o", "--data", &data, "--json"];
        args.extend_from_slice(extra);
        json(&waggle(&args))
    };
    // Verified first, then compiled: the JIT's report has no instruction
    // count, and says how long compiling took.
    let jit = run(&[]);
    assert_eq!(jit["engine"], "jit");
    assert!(jit["jit_compile_us"].as_u64().unwrap() > 0, "{jit:#}");
    assert!(jit["instructions"].is_null());
    // --interp, --backend interp and --no-verify run the checked interpreter.
    for extra in [
        &["--interp"][..],
        &["--backend", "interp"],
        &["--no-verify"],
    ] {
        let v = run(extra);
        assert_eq!(v["engine"], "interp", "{extra:?}");
        assert!(v["jit_compile_us"].is_null());
        assert!(v["instructions"].as_u64().unwrap() > 0);
    }
    // Every engine gives the same verdict and packet.
    for v in [&jit, &run(&["--interp"]), &run(&["--backend", "jit"])] {
        assert_eq!(v["verdict"], "XDP_TX");
        assert_eq!(v["packet_out"], hex.join(" "));
    }
    // The JIT runs only what the verifier accepted.
    let out = waggle(&[
        "run",
        "examples/c/xdp_lb.bpf.o",
        "--data",
        &data,
        "--backend",
        "jit",
        "--no-verify",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("verified programs only"));

    // Text output names the engine.
    let text = waggle(&["run", "examples/c/xdp_lb.bpf.o", "--data", &data]);
    let stdout = String::from_utf8_lossy(&text.stdout);
    assert!(stdout.contains("engine: jit (compiled in "), "{stdout}");
    let text = waggle(&[
        "run",
        "examples/c/xdp_lb.bpf.o",
        "--data",
        &data,
        "--interp",
    ]);
    let stdout = String::from_utf8_lossy(&text.stdout);
    assert!(stdout.contains("engine: interp (checked)"), "{stdout}");

    // A pcap run reports the engine too.
    let v = json(&waggle(&[
        "run",
        "examples/c/xdp_drop_icmp.bpf.o",
        "--pcap",
        "examples/pcap/mixed.pcap",
        "--json",
    ]));
    assert_eq!(v["engine"], "jit");
    assert_eq!(v["verdicts"]["XDP_DROP"], 2);
}

#[test]
fn tail_calling_programs_run_on_the_jit() {
    let data = format!("{CASES}/tail_calls/icmp_echo.in");
    let v = json(&waggle(&[
        "run",
        "examples/c/tail_calls.bpf.o",
        "--program",
        "xdp_dispatch",
        "--data",
        &data,
        "--json",
    ]));
    assert_eq!(v["engine"], "jit");
    assert_eq!(
        v["verdict"], "XDP_DROP",
        "tail-called into the ICMP handler"
    );
    let text = waggle(&[
        "run",
        "examples/c/tail_calls.bpf.o",
        "--program",
        "xdp_dispatch",
        "--data",
        &data,
    ]);
    let stdout = String::from_utf8_lossy(&text.stdout);
    assert!(stdout.contains("engine: jit"), "{stdout}");
}

#[test]
fn objects_with_several_programs_ask_which_one() {
    let data = format!("{CASES}/tail_calls/icmp_echo.in");
    let out = waggle(&["run", "examples/c/tail_calls.bpf.o", "--data", &data]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("choose one with --program") && err.contains("xdp_dispatch"),
        "{err}"
    );
    let v = json(&waggle(&[
        "run",
        "examples/c/tail_calls.bpf.o",
        "--program",
        "xdp_dispatch",
        "--data",
        &data,
        "--json",
    ]));
    assert_eq!(
        v["verdict"], "XDP_DROP",
        "tail-called into the ICMP handler"
    );
}

#[test]
fn disasm_shows_programs_with_source_lines() {
    let out = waggle(&["disasm", "examples/c/xdp_drop_icmp.bpf.o"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.starts_with("xdp_drop_icmp (xdp, section xdp):"),
        "{text}"
    );
    assert!(
        text.contains("; if (iph->protocol == IPPROTO_ICMP)  [./xdp_drop_icmp.bpf.c:44]"),
        "{text}"
    );
    let v = json(&waggle(&[
        "disasm",
        "examples/c/xdp_drop_icmp.bpf.o",
        "--json",
    ]));
    assert_eq!(v[0]["name"], "xdp_drop_icmp");
    assert_eq!(v[0]["insns"][1]["text"], "w2 = *(u32 *)(r1 + 0x4)");
    assert_eq!(v[0]["insns"][1]["source"]["line"], 33);
}

#[test]
fn map_dump_shows_initial_contents() {
    let v = json(&waggle(&[
        "map",
        "dump",
        "examples/c/tail_calls.bpf.o",
        "--json",
    ]));
    let jmp = v
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["name"] == "jmp_table")
        .unwrap();
    assert_eq!(jmp["map_type"], "prog_array");
    // Slots 1, 6 and 17 are filled statically with program ids.
    let keys: Vec<&str> = jmp["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["key"].as_str().unwrap())
        .collect();
    assert_eq!(keys, ["01 00 00 00", "06 00 00 00", "11 00 00 00"]);
}

#[test]
fn bad_objects_and_programs_exit_2_with_the_reason() {
    let junk = tmp("junk.o");
    std::fs::write(&junk, b"\x7fELF not really").unwrap();
    let out = waggle(&[
        "run",
        junk.to_str().unwrap(),
        "--data",
        "examples/pcap/mixed.pcap",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not a valid ELF file"));
    // XDP needs a packet.
    let out = waggle(&["run", "examples/c/xdp_drop_icmp.bpf.o"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("give it a packet"));
}

/// `--repeat` runs as Linux's test run with `repeat` does: each run sees the
/// packet the previous one left. `repeat_pop` strips one byte per run and
/// returns the byte that is then first (the kernel gives the same: 3, a
/// 61-byte packet from 3 on, `runs` = 3).
#[test]
fn repeated_runs_see_the_packet_the_previous_run_left() {
    let data = tmp("seq.bin");
    std::fs::write(&data, (0u8..64).collect::<Vec<_>>()).unwrap();
    let data = data.to_str().unwrap();
    for backend in ["interp", "jit"] {
        let v = json(&waggle(&[
            "run",
            "crates/waggle-runtime/tests/data/objects/repeat_pop.bpf.o",
            "--data",
            data,
            "--repeat",
            "3",
            "--backend",
            backend,
            "--dump-maps",
            "--json",
        ]));
        assert_eq!(v["retval"], 3, "{backend}: {v:#}");
        assert_eq!(v["runs"], 3, "{backend}");
        let out = v["packet_out"].as_str().unwrap();
        assert!(out.starts_with("03 04 05"), "{backend}: {out}");
        assert_eq!(out.split(' ').count(), 61, "{backend}: {out}");
        let runs = &v["maps"][0]["entries"][0]["value"];
        assert_eq!(runs, "03 00 00 00 00 00 00 00", "{backend}: {v:#}");
    }
}

/// A program that tail-calls itself stops after Linux's 33 tail calls on
/// the JIT as in the interpreter and, where available, the kernel
/// (`--backend all` compares maps too): its counter in `.bss` is 34.
#[test]
fn self_tail_calls_stop_after_33_on_every_backend() {
    let data = tmp("zeros.bin");
    std::fs::write(&data, [0u8; 64]).unwrap();
    let data = data.to_str().unwrap();
    let object = "crates/waggle-runtime/tests/data/objects/tail_loop.bpf.o";
    let run = |extra: &[&str]| {
        let mut args = vec!["run", object, "--program", "tail_loop", "--data", data];
        args.extend_from_slice(extra);
        args.push("--json");
        json(&waggle(&args))
    };
    let v = run(&["--backend", "jit", "--dump-maps"]);
    assert_eq!(v["engine"], "jit", "{v:#}");
    assert_eq!(v["verdict"], "XDP_PASS", "{v:#}");
    let bss = v["maps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["name"] == ".bss")
        .unwrap();
    assert_eq!(bss["entries"][0]["value"], "22 00 00 00 00 00 00 00");
    let all = run(&["--backend", "all"]);
    assert_eq!(all["backends"][1], "jit", "{all:#}");
    assert_eq!(all["differences"].as_array().unwrap().len(), 0, "{all:#}");
}

/// `--blind-constants` compiles with constant blinding and changes nothing
/// a user sees but the code: same verdict and output packet.
#[test]
fn blinded_jit_runs_give_the_same_results() {
    let data = format!("{CASES}/xdp_lb/tcp_192.0.2.1_40000.in");
    let run = |extra: &[&str]| {
        let mut args = vec!["run", "examples/c/xdp_lb.bpf.o", "--data", &data, "--json"];
        args.extend_from_slice(extra);
        json(&waggle(&args))
    };
    let (plain, blinded) = (run(&[]), run(&["--blind-constants"]));
    assert_eq!(blinded["engine"], "jit");
    assert_eq!(blinded["retval"], plain["retval"]);
    assert_eq!(blinded["packet_out"], plain["packet_out"]);
}
