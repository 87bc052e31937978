//! BTF.ext function and line info re-addressed to linked programs, as
//! `BPF_PROG_LOAD` takes them: one function record per function the
//! program contains (itself first, at 0), line records in order.

use waggle_btf::BtfType;
use waggle_object::Object;

fn example(name: &str) -> Object {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../examples/c")
        .join(name);
    Object::parse(name, &std::fs::read(path).unwrap()).unwrap()
}

#[test]
fn func_and_line_info_follow_the_linked_layout() {
    let obj = example("subprog_globals.bpf.o");
    let btf = obj.btf.as_ref().unwrap();
    let prog = obj.program("subprog_globals").unwrap();
    let len = prog.insns.len() as u32 * 8;

    // The program, then each subprogram it calls, each once.
    let names: Vec<&str> = prog
        .func_info
        .iter()
        .map(|f| match btf.type_by_id(f.type_id) {
            Ok(BtfType::Func(func)) => btf.string_at(func.name_off).unwrap(),
            other => panic!("func_info names {other:?}"),
        })
        .collect();
    assert_eq!(names[0], "subprog_globals");
    assert_eq!(prog.func_info[0].insn_off, 0);
    assert_eq!(names.len(), 6, "{names:?}");
    // Every subprogram starts where some call lands.
    let targets: Vec<u32> = prog
        .insns
        .iter()
        .enumerate()
        .filter(|(_, i)| i.opcode == 0x85 && i.src == 1)
        .map(|(pc, i)| ((pc as i64 + 1 + i.imm as i64) * 8) as u32)
        .collect();
    for f in &prog.func_info[1..] {
        assert!(targets.contains(&f.insn_off), "{f:?} is no call target");
    }

    assert_eq!(prog.line_info[0].insn_off, 0);
    assert!(prog
        .line_info
        .windows(2)
        .all(|w| w[0].insn_off < w[1].insn_off));
    assert!(prog.line_info.iter().all(|l| l.insn_off < len));
    // Each function's first instruction has a line (the kernel insists).
    for f in &prog.func_info {
        assert!(prog.line_info.iter().any(|l| l.insn_off == f.insn_off));
    }

    // Several programs in one section: each its own records, from 0.
    let tail = example("tail_calls.bpf.o");
    for p in &tail.programs {
        assert_eq!(p.func_info.len(), 1, "{}", p.name);
        assert_eq!(p.func_info[0].insn_off, 0);
        assert_eq!(p.line_info[0].insn_off, 0);
    }
}
