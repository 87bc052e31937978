//! Kernel agreement: every corpus program is loaded into the running Linux
//! kernel and the kernel's verdict (accepted or rejected) is compared with
//! Waggle's. Programs with `# maps:` get real maps, created from the same
//! definitions, with their map-index references rewritten to the maps' fds.
//!
//! Each corpus program type is loaded as the kernel type the verifier
//! checks it as (`common/mod.rs`): `xdp` as `BPF_PROG_TYPE_XDP`, `tc` as
//! `BPF_PROG_TYPE_SCHED_CLS`, `socket` as `BPF_PROG_TYPE_SOCKET_FILTER`,
//! `raw` as `BPF_PROG_TYPE_KPROBE`, all under the GPL license (every helper
//! allowed) with root's privileges (Waggle verifies as Linux does for
//! privileged loaders).
//!
//! A disagreement is either fixed or listed, with its reason, in
//! `tests/kernel_allowlist.txt` (`file.s  reason`). The test prints
//! `kernel agreement: N agree, N allowlisted, N disagree` and fails on any
//! disagreement the allowlist does not name. It is skipped, with the
//! reason, when the kernel cannot be used (`waggle_kernel::availability`).
//! With `WAGGLE_AGREEMENT_VERBOSE=1` it prints both verdicts, with the
//! reasons, of every program.

mod common;

use common::{files, parse};
use std::collections::BTreeMap;
use std::path::Path;
use waggle_kernel::{availability, load_raw_with_maps, KernelError, KernelMaps, VerifierLog};
use waggle_verifier::verify;

/// The allowlist: file name to reason.
fn allowlist() -> BTreeMap<String, String> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/kernel_allowlist.txt");
    let text = std::fs::read_to_string(&path).expect("tests/kernel_allowlist.txt");
    let mut out = BTreeMap::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (file, reason) = line
            .split_once(char::is_whitespace)
            .unwrap_or_else(|| panic!("kernel_allowlist.txt:{}: `file.s  reason`", n + 1));
        assert!(
            file.ends_with(".s") && !reason.trim().is_empty(),
            "kernel_allowlist.txt:{}: `file.s  reason`",
            n + 1
        );
        assert!(
            out.insert(file.to_string(), reason.trim().to_string())
                .is_none(),
            "kernel_allowlist.txt:{}: {file} listed twice",
            n + 1
        );
    }
    out
}

/// The last meaningful line of a kernel verifier log (its reason).
fn log_reason(log: &str) -> String {
    log.lines()
        .rev()
        .map(str::trim)
        .find(|l| {
            !l.is_empty()
                && !l.starts_with("processed ")
                && !l.starts_with("verification time")
                && !l.starts_with("stack depth")
        })
        .unwrap_or("(empty log)")
        .to_string()
}

#[test]
fn corpus_verdicts_agree_with_the_kernel() {
    if let Err(reason) = availability() {
        println!("skipped: {reason}");
        return;
    }
    let allow = allowlist();
    // WAGGLE_AGREEMENT_VERBOSE=1: both verdicts of every program.
    let verbose = std::env::var_os("WAGGLE_AGREEMENT_VERBOSE").is_some();
    let (mut agree, mut allowed, mut disagree) = (0, 0, 0);
    let mut failures = Vec::new();
    let mut stale = Vec::new();
    let files = files();
    for path in &files {
        let file = path.file_name().unwrap().to_string_lossy().into_owned();
        let case = parse(path).unwrap_or_else(|e| panic!("{file}: {e}"));
        let waggle = verify(&case.prog, &case.maps, &case.opts);
        let maps = KernelMaps::create("corpus", &case.maps)
            .unwrap_or_else(|e| panic!("{file}: creating its maps: {e}"));
        let kernel = load_raw_with_maps(
            &case.prog.insns,
            case.prog.prog_type,
            &case.prog.name,
            &maps,
            VerifierLog::Keep,
        );
        let kernel = match kernel {
            Ok(_) => Ok(()),
            Err(KernelError::Verifier { log, errno, .. }) => {
                Err(format!("{} (errno {errno})", log_reason(&log)))
            }
            // A map index with no map: no fd to bind, so no loader gets
            // the program into the kernel.
            Err(e @ KernelError::InvalidInput(_)) => Err(format!("not loadable: {e}")),
            Err(e) => panic!("{file}: loading into the kernel: {e}"),
        };
        let same = waggle.is_ok() == kernel.is_ok();
        let describe = || {
            format!(
                "{file}: Waggle {}, Linux {}",
                match &waggle {
                    Ok(_) => "accepts".to_string(),
                    Err(e) => format!("rejects ({})", e.message),
                },
                match &kernel {
                    Ok(()) => "accepts".to_string(),
                    Err(e) => format!("rejects ({e})"),
                }
            )
        };
        if verbose {
            println!("{}", describe());
        }
        match (same, allow.get(&file)) {
            (true, None) => agree += 1,
            (true, Some(_)) => {
                agree += 1;
                stale.push(file.clone());
            }
            (false, Some(reason)) => {
                allowed += 1;
                println!("allowlisted {}\n    reason: {reason}", describe());
            }
            (false, None) => {
                disagree += 1;
                failures.push(describe());
            }
        }
    }
    for f in allow.keys() {
        assert!(
            files
                .iter()
                .any(|p| p.file_name().unwrap().to_string_lossy() == *f),
            "kernel_allowlist.txt names {f}, which is not in the corpus"
        );
    }
    for f in &stale {
        println!("note: {f} is allowlisted but agrees with this kernel");
    }
    for f in &failures {
        println!("DISAGREE {f}");
    }
    println!("kernel agreement: {agree} agree, {allowed} allowlisted, {disagree} disagree");
    assert!(
        failures.is_empty(),
        "{disagree} corpus programs disagree with the kernel:\n{}",
        failures.join("\n")
    );
}
