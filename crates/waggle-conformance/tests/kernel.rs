//! Every conformance file under Waggle and under the Linux kernel: the
//! kernel runs what its verifier accepts (loaded as XDP behind a prologue
//! that passes the memory in r1 and its length in r2), and every accepted
//! program must return the same r0 (its low 32 bits: all a kernel test run
//! reports) as Waggle's interpreter. Skips with a reason without root.

use std::fs;
use waggle_conformance::{default_suite_dir, run_bytecode, Engine, TestCase};
use waggle_isa::{assemble, encode_program, RawInsn, Syntax};

#[test]
fn conformance_suite_agrees_with_the_kernel() {
    if let Err(why) = waggle_kernel::availability() {
        println!("skipped: kernel backend unavailable: {why}");
        return;
    }
    let Some(dir) = default_suite_dir() else {
        println!("skipped: ../shared/bpf_conformance/tests is absent");
        return;
    };
    let mut files: Vec<_> = fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.retain(|p| p.extension().is_some_and(|e| e == "data"));
    files.sort();
    let (mut agree, mut rejected, mut differ) = (0, 0, Vec::new());
    for path in &files {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let case = TestCase::parse(&fs::read_to_string(path).unwrap()).unwrap();
        let bytes = encode_program(&assemble(&case.asm, Syntax::Ubpf).unwrap());
        let mut mem = case.mem.clone();
        let ours = run_bytecode(&bytes, &mut mem, Engine::InterpChecked)
            .expect("conformance passes in Waggle");
        let insns = RawInsn::slice_from_bytes(&bytes).unwrap();
        let prog = match waggle_kernel::load_conformance(&insns) {
            Ok(p) => p,
            Err(waggle_kernel::KernelError::Verifier { .. }) => {
                rejected += 1;
                continue;
            }
            Err(e) => panic!("{name}: {e}"),
        };
        let theirs = prog
            .run_conformance(&case.mem)
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        if theirs.retval == ours as u32 {
            agree += 1;
        } else {
            differ.push(format!(
                "{name}: Waggle r0 {ours:#x}, kernel {:#x}",
                theirs.retval
            ));
        }
    }
    println!(
        "conformance vs kernel: {agree} agree, {} differ, {rejected} rejected by the kernel verifier",
        differ.len()
    );
    assert!(differ.is_empty(), "{}", differ.join("\n"));
    assert!(agree > 200, "the kernel ran too few programs: {agree}");
}
