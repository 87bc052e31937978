//! Raw instruction streams in the kernel: `load_raw` of hand-written
//! programs (accepted and rejected), and ISA conformance suite programs
//! through the XDP conformance loader.
//!
//! Every test first calls `availability()` and returns early, printing the
//! reason, when the kernel cannot be used.

use std::path::PathBuf;
use waggle_conformance::{Expected, TestCase};
use waggle_isa::{assemble, Insn, RawInsn, Syntax};
use waggle_kernel::{
    availability, load_conformance, load_raw, load_raw_with_maps, KernelError, KernelMaps, TestRun,
    VerifierLog, VerifierStats,
};
use waggle_object::{MapData, MapDef, ProgramType};

macro_rules! require_kernel {
    () => {
        if let Err(reason) = availability() {
            println!("skipped: {reason}");
            return;
        }
    };
}

fn raw(insns: &[Insn]) -> Vec<RawInsn> {
    let mut slots = Vec::new();
    for i in insns {
        i.encode_into(&mut slots);
    }
    slots
}

fn asm(text: &str) -> Vec<RawInsn> {
    raw(&assemble(text, Syntax::Ubpf).expect("assembles"))
}

#[test]
fn raw_programs_load_run_and_are_rejected_with_a_log() {
    require_kernel!();
    // r0 = 7 * 6, past a branch.
    let insns = asm("mov %r0, 7\njeq %r0, 0, +1\nmul %r0, 6\nexit\n");
    let prog = load_raw(&insns, ProgramType::Xdp, "raw_mul").expect("loads");
    assert!(prog.fd >= 0);
    assert!(
        prog.verifier_log.contains("processed"),
        "level-1 log: {}",
        prog.verifier_log
    );
    let frame = [0u8; 14];
    let out = prog.test_run(&TestRun::packet(&frame)).unwrap();
    assert_eq!(out.retval, 42);
    assert_eq!(out.data_out, frame);
    let many = prog
        .test_run(&TestRun {
            data_in: &frame,
            ctx_in: None,
            repeat: 100,
            data_out_capacity: 0,
        })
        .unwrap();
    assert_eq!(many.retval, 42);
    assert!(many.data_out.is_empty());

    // Socket filters run on skbs too.
    let filter = load_raw(
        &asm("mov %r0, 1\nexit\n"),
        ProgramType::SocketFilter,
        "raw_one",
    )
    .expect("loads");
    let frame = [0u8; 64];
    assert_eq!(filter.test_run(&TestRun::packet(&frame)).unwrap().retval, 1);

    // Reading r0 before writing it: the verifier refuses, with its log.
    match load_raw(&asm("exit\n"), ProgramType::Xdp, "raw_bad") {
        Err(KernelError::Verifier {
            program,
            errno,
            log,
        }) => {
            println!("rejected as expected (errno {errno}):\n{log}");
            assert_eq!(program, "raw_bad");
            assert!(!log.is_empty());
            assert!(log.contains("R0"), "{log}");
        }
        Ok(_) => panic!("the verifier accepted a program returning an unset r0"),
        Err(e) => panic!("unexpected error: {e}"),
    }

    // An out-of-bounds packet read: rejected, and the message names it.
    let err = load_raw(
        &asm("ldxw %r2, [%r1]\nldxw %r0, [%r2]\nexit\n"),
        ProgramType::Xdp,
        "raw_oob",
    )
    .unwrap_err();
    let text = err.to_string();
    println!("{text}");
    assert!(text.contains("rejected program `raw_oob`"), "{text}");

    assert!(matches!(
        load_raw(&[], ProgramType::Xdp, "empty"),
        Err(KernelError::InvalidInput(_))
    ));
}

#[test]
fn raw_programs_with_maps_from_definitions() {
    require_kernel!();
    let mut rodata = MapDef::with_sizes(".rodata", 2, 4, 8, 1);
    rodata.flags = 1 << 7; // BPF_F_RDONLY_PROG
    rodata.data = Some(MapData {
        bytes: 40u64.to_le_bytes().to_vec(),
        read_only: true,
    });
    let maps = KernelMaps::create(
        "raw_test",
        &[MapDef::with_sizes("counts", 1, 4, 8, 16), rodata],
    )
    .unwrap();
    assert_eq!(maps.len(), 2);
    assert!(maps.fd(0).unwrap() >= 0 && maps.fd(2).is_none());
    // r0 = *(.rodata + 0) + 2, after a hash lookup the program checks.
    let prog = asm("stw [%r10-4], 0\n\
                    mov %r2, %r10\n\
                    add %r2, -4\n\
                    lddw %r1, map_idx 0\n\
                    call 1\n\
                    lddw %r1, map_idx_value 1, 0\n\
                    ldxdw %r0, [%r1+0]\n\
                    add %r0, 2\n\
                    exit\n");
    let bound = maps.bind("p", &prog).unwrap();
    assert_eq!(bound[3].src, 1, "BPF_PSEUDO_MAP_FD");
    assert_eq!(bound[3].imm, maps.fd(0).unwrap());
    assert_eq!(bound[6].src, 2, "BPF_PSEUDO_MAP_VALUE");
    for log in [VerifierLog::Keep, VerifierLog::Skip] {
        let loaded =
            load_raw_with_maps(&prog, ProgramType::Xdp, "raw_maps", &maps, log).expect("loads");
        assert_eq!(loaded.verifier_log.is_empty(), log == VerifierLog::Skip);
        let out = loaded.test_run(&TestRun::packet(&[0u8; 14])).unwrap();
        assert_eq!(out.retval, 42, "the frozen .rodata value, plus 2");
    }
    // The kernel's statistics alone.
    let stats = load_raw_with_maps(&prog, ProgramType::Xdp, "stats", &maps, VerifierLog::Stats)
        .expect("loads");
    let parsed = VerifierStats::parse(&stats.verifier_log).expect("statistics");
    assert!(parsed.insns_processed > 0, "{}", stats.verifier_log);
    assert!(stats.verifier_log.contains("verification time"));
    // Several functions: the callback gets the BTF function info the
    // kernel wants for it.
    let looped = asm("mov %r1, 3\n\
                      lddw %r2, func cb\n\
                      mov %r3, 0\n\
                      mov %r4, 0\n\
                      call 181\n\
                      exit\n\
                      cb:\n\
                      mov %r0, 0\n\
                      exit\n");
    let out = load_raw_with_maps(&looped, ProgramType::Xdp, "loop", &maps, VerifierLog::Keep)
        .expect("a bpf_loop callback loads")
        .test_run(&TestRun::packet(&[0u8; 14]))
        .unwrap();
    assert_eq!(out.retval, 3, "bpf_loop returns the number of iterations");
    // A write to the read-only map is the verifier's to refuse, with its
    // log even when none was asked for.
    let write = asm("lddw %r1, map_idx_value 1, 0\nstdw [%r1+0], 1\nmov %r0, 0\nexit\n");
    match load_raw_with_maps(&write, ProgramType::Xdp, "ro", &maps, VerifierLog::Skip) {
        Err(KernelError::Verifier { log, .. }) => assert!(log.contains("write into map"), "{log}"),
        other => panic!("expected a rejection, got {other:?}"),
    }
    // A map index with no map cannot be bound.
    let bad = asm("lddw %r1, map_idx 2\nmov %r0, 0\nexit\n");
    assert!(matches!(
        load_raw_with_maps(&bad, ProgramType::Xdp, "bad", &maps, VerifierLog::Keep),
        Err(KernelError::InvalidInput(_))
    ));
}

fn suite_dir() -> Option<PathBuf> {
    waggle_conformance::default_suite_dir()
}

/// Loads and runs one conformance case; `Ok(Some(r0))` when it ran,
/// `Ok(None)` when the verifier rejected it (the log's last line printed).
fn run_case(name: &str, case: &TestCase) -> Result<Option<u32>, String> {
    let insns = assemble(&case.asm, Syntax::Ubpf).map_err(|e| format!("{name}: {e}"))?;
    let prog = match load_conformance(&raw(&insns)) {
        Ok(p) => p,
        Err(KernelError::Verifier { log, .. }) => {
            let last = log
                .lines()
                .rev()
                .find(|l| !l.starts_with("processed") && !l.trim().is_empty())
                .unwrap_or("");
            println!("{name}: rejected by the verifier: {last}");
            return Ok(None);
        }
        Err(e) => return Err(format!("{name}: {e}")),
    };
    let mut mem = case.mem.clone();
    let out = prog
        .run_conformance(&mem)
        .map_err(|e| format!("{name}: {e}"))?;
    assert_eq!(out.data_out.len(), mem.len(), "{name}: memory comes back");
    mem.copy_from_slice(&out.data_out);
    Ok(Some(out.retval))
}

#[test]
fn conformance_programs_through_the_xdp_loader() {
    require_kernel!();
    let Some(dir) = suite_dir() else {
        println!("skipped: no bpf_conformance suite beside the repository");
        return;
    };
    // Known to pass: no memory, and 8 bytes of memory (padded to the 14
    // bytes XDP needs) whose true length the program returns from r2.
    for (file, want) in [("add.data", 3u32), ("mem-len.data", 8)] {
        let text = std::fs::read_to_string(dir.join(file)).unwrap();
        let case = TestCase::parse(&text).unwrap();
        assert_eq!(case.expected, Expected::Result(want as u64));
        assert_eq!(run_case(file, &case).unwrap(), Some(want), "{file}");
    }

    // The whole suite, for the record: how many the kernel accepts and
    // agrees on (low 32 bits of r0: all a test run reports).
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "data"))
        .collect();
    files.sort();
    let (mut agree, mut rejected, mut differ, mut other) = (0, 0, 0, 0);
    for path in &files {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let Ok(case) = TestCase::parse(&std::fs::read_to_string(path).unwrap()) else {
            other += 1;
            continue;
        };
        match (run_case(&name, &case), &case.expected) {
            (Ok(Some(r0)), Expected::Result(want)) if r0 == *want as u32 => agree += 1,
            (Ok(Some(r0)), Expected::Result(want)) => {
                println!("{name}: r0 (low 32 bits) {r0:#x}, expected {want:#x}");
                differ += 1;
            }
            (Ok(Some(r0)), Expected::Error(e)) => {
                println!("{name}: ran (r0 {r0:#x}) where the suite expects `{e}`");
                differ += 1;
            }
            (Ok(None), Expected::Error(_)) => agree += 1,
            (Ok(None), Expected::Result(_)) => rejected += 1,
            (Err(e), _) => {
                println!("{e}");
                other += 1;
            }
        }
    }
    println!(
        "conformance on the kernel: {agree} agree, {rejected} rejected by the verifier, \
         {differ} differ, {other} not run, of {}",
        files.len()
    );
    assert!(agree >= 2);
}
