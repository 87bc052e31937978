//! `waggle verify`, and `waggle run` refusing what the verifier rejects.

use std::path::PathBuf;
use std::process::{Command, Output};

fn waggle(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_waggle"))
        .args(args)
        .current_dir(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../.."))
        .output()
        .expect("run waggle")
}

const BAD: &str = "crates/waggle-cli/tests/data/missing_bounds_check.bpf.o";
const FRAME: &str = "crates/waggle-runtime/tests/data/cases/xdp_drop_icmp/icmp_echo.in";

#[test]
fn every_example_verifies() {
    for name in [
        "xdp_drop_icmp",
        "xdp_lb",
        "tc_rewrite",
        "ringbuf_events",
        "tail_calls",
        "subprog_globals",
        "core_read",
        "xdp_proto_count",
    ] {
        let out = waggle(&["verify", &format!("examples/c/{name}.bpf.o"), "--json"]);
        assert!(
            out.status.success(),
            "{name}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        for p in v.as_array().unwrap() {
            assert_eq!(p["verified"], true, "{name}");
            assert!(p["insns_processed"].as_u64().unwrap() > 0);
        }
    }
}

#[test]
fn a_rejected_program_gets_a_diagnostic_with_source_state_and_hint() {
    let out = waggle(&["verify", BAD]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    for expected in [
        "error: invalid access to packet: offset 23, size 1, but only 14 bytes are proven in bounds",
        "--> missing_bounds_check.bpf.c:22",
        "if (iph->protocol == IPPROTO_ICMP)",
        "w1 = *(u8 *)(r1 + 0x17)",
        "= r1: pkt(off=0, range=14)",
        "= path: ",
        "= help: compare `data + 24 > data_end` and return before this access",
    ] {
        assert!(err.contains(expected), "missing `{expected}` in:\n{err}");
    }
    let out = waggle(&["verify", BAD, "--json"]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v[0]["verified"], false);
    assert_eq!(v[0]["error"]["source"]["line"], 22);
}

#[test]
fn run_refuses_unverified_programs_unless_told_not_to_verify() {
    let out = waggle(&["run", BAD, "--data", FRAME]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("the verifier rejected `forgot_check`"));
    // Checked mode runs it anyway, and stops nothing here: the frame is long enough.
    let out = waggle(&["run", BAD, "--data", FRAME, "--no-verify"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("XDP_DROP"));
}

#[test]
fn log_level_annotates_the_listing_with_what_was_proven() {
    let out = waggle(&[
        "verify",
        "examples/c/xdp_drop_icmp.bpf.o",
        "--log-level",
        "2",
    ]);
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("w2 = *(u32 *)(r1 + 0x4)                  ; ctx"),
        "{text}"
    );
    assert!(
        text.contains("w4 = *(u8 *)(r1 + 0xc)                   ; packet"),
        "{text}"
    );
    assert!(text.contains("; r3 zext32"), "{text}");
}

#[test]
fn unprivileged_rejects_addresses_that_become_numbers() {
    // Packet parsing behind bounds checks and map lookups behind NULL
    // checks verify for a loader without allow_ptr_leaks too.
    for name in ["xdp_drop_icmp", "xdp_proto_count", "tc_rewrite"] {
        let out = waggle(&[
            "verify",
            &format!("examples/c/{name}.bpf.o"),
            "--unprivileged",
        ]);
        assert!(
            out.status.success(),
            "{name}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    // xdp_lb computes the packet length as `data_end - data`, which Linux
    // allows only privileged loaders.
    let lb = "examples/c/xdp_lb.bpf.o";
    assert!(waggle(&["verify", lb]).status.success());
    let out = waggle(&["verify", lb, "--unprivileged"]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    for expected in [
        "error: subtraction on the pointers in r6 and r7 would turn an address into a number",
        "(__u64)(data_end - data)",
        "= r6: pkt_end",
        "= rule: without allow_ptr_leaks (an unprivileged loader) pointers allow only 64-bit copies",
    ] {
        assert!(err.contains(expected), "missing `{expected}` in:\n{err}");
    }
    let out = waggle(&["verify", lb, "--unprivileged", "--json"]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v[0]["verified"], false);
    assert_eq!(v[0]["error"]["kind"], "pointer_leak");
    let help = String::from_utf8_lossy(&waggle(&["verify", "--help"]).stdout).into_owned();
    assert!(help.contains("--unprivileged"), "{help}");
}
