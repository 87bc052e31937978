//! Diagnostics on real programs: each example broken in one instruction is
//! rejected with the error, source line, registers, path and hint that say
//! what is wrong; errors serialise to JSON.

use std::path::Path;
use waggle_isa::{format_insn, Insn, Syntax};
use waggle_object::{Object, ProgramDef};
use waggle_verifier::{verify, ErrorKind, VerifyError, VerifyOptions};

fn object(name: &str) -> Object {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../examples/c")
        .join(name);
    Object::parse(name, &std::fs::read(path).unwrap()).unwrap()
}

/// The program with the instruction at slot `pc` (which must read `was`)
/// replaced by `now` (one slot, in LLVM syntax).
fn mutate(prog: &ProgramDef, pc: usize, was: &str, now: &str) -> ProgramDef {
    let insn = Insn::decode(&prog.insns[pc..]).unwrap();
    assert_eq!(
        format_insn(&insn, Syntax::Llvm),
        was,
        "slot {pc} of {}",
        prog.name
    );
    let new = waggle_isa::assemble(now, Syntax::Llvm).unwrap();
    let mut p = prog.clone();
    p.insns[pc] = new[0].encode()[0];
    p
}

fn reject(file: &str, pc: usize, was: &str, now: &str) -> VerifyError {
    let obj = object(file);
    let prog = mutate(&obj.programs[0], pc, was, now);
    let err = verify(&prog, &obj.maps, &VerifyOptions::default())
        .expect_err("the broken program is rejected");
    println!("{err}");
    err
}

#[test]
fn missing_ip_header_check() {
    // Without `if r3 > r2` at 14 only the Ethernet header is proven.
    let e = reject("xdp_drop_icmp.bpf.o", 14, "if r3 > r2 goto +0xb", "r3 = r3");
    assert_eq!(e.kind, ErrorKind::InvalidAccess);
    assert_eq!(
        e.message,
        "invalid access to packet: offset 23, size 1, but only 14 bytes are proven in bounds"
    );
    assert_eq!(e.pc, Some(16));
    assert_eq!(e.insn.as_deref(), Some("w1 = *(u8 *)(r1 + 0x17)"));
    let src = e.source.as_ref().unwrap();
    assert_eq!(src.line, 44);
    assert!(
        src.text.contains("iph->protocol == IPPROTO_ICMP"),
        "{}",
        src.text
    );
    assert_eq!(e.registers[0].name, "r1");
    assert_eq!(e.registers[0].value, "pkt(off=0, range=14)");
    assert_eq!(
        e.help.as_deref(),
        Some("compare `data + 24 > data_end` and return before this access")
    );
    let path: Vec<String> = e
        .path
        .iter()
        .map(|s| format!("{} {:?}", s.pc, s.event))
        .collect();
    assert_eq!(path, ["5 NotTaken", "10 NotTaken", "11 NotTaken"]);
    let text = e.render();
    assert!(
        text.starts_with("error: invalid access to packet"),
        "{text}"
    );
    assert!(text.contains("  --> xdp_drop_icmp.bpf.c:44\n"), "{text}");
    assert!(
        text.contains("44 |         if (iph->protocol == IPPROTO_ICMP)\n"),
        "{text}"
    );
    assert!(
        text.contains("= path: 5 not taken, 10 not taken, 11 not taken"),
        "{text}"
    );
    // JSON carries the same data.
    let json: serde_json::Value = serde_json::from_str(&e.to_json()).unwrap();
    assert_eq!(json["kind"], "invalid_access");
    assert_eq!(json["pc"], 16);
    assert_eq!(json["source"]["line"], 44);
    assert_eq!(json["path"][0]["event"], "not_taken");
}

#[test]
fn missing_ethernet_check() {
    let e = reject("xdp_drop_icmp.bpf.o", 5, "if r3 > r2 goto +0x14", "r3 = r3");
    assert_eq!(
        e.message,
        "invalid access to packet: offset 12, size 1, but only 0 bytes are proven in bounds"
    );
    assert_eq!(
        e.help.as_deref(),
        Some("compare `data + 13 > data_end` and return before this access")
    );
}

#[test]
fn ring_buffer_record_checked_through_the_wrong_register() {
    // `if r0 != 0` made to test r6 (a packet pointer): on the fall-through
    // path the record may be non-NULL and is never released.
    let e = reject(
        "ringbuf_events.bpf.o",
        37,
        "if r0 != 0x0 goto +0x1b",
        "if r6 != 0x0 goto +0x1b",
    );
    assert_eq!(e.kind, ErrorKind::ReferenceLeak);
    assert_eq!(
        e.path.last().map(|s| (s.pc, s.event)),
        Some((37, waggle_verifier::PathEvent::NotTaken))
    );
}

#[test]
fn ring_buffer_record_not_submitted() {
    // bpf_ringbuf_submit replaced: the record is never released on that path.
    let e = reject("ringbuf_events.bpf.o", 94, "call 0x84", "r0 = 0");
    assert_eq!(e.kind, ErrorKind::ReferenceLeak);
    assert!(e.message.contains("reserved at 36"), "{}", e.message);
}

#[test]
fn missing_backend_index_check() {
    // Without `if w1 > 3` the index into backends[4] is unbounded (0..255).
    let e = reject("xdp_lb.bpf.o", 106, "if w1 > 0x3 goto -0x45", "w1 = w1");
    assert_eq!(e.kind, ErrorKind::InvalidAccess);
    assert!(e.message.contains("map value of `.data`"), "{}", e.message);
    assert!(
        e.help
            .as_deref()
            .unwrap_or("")
            .starts_with("bound the variable offset"),
        "{:?}",
        e.help
    );
}

#[test]
fn missing_lookup_null_check() {
    // The key is the packet's protocol byte, so the lookup may fail.
    let e = reject(
        "xdp_proto_count.bpf.o",
        28,
        "if r0 == 0x0 goto +0x3",
        "r0 = r0",
    );
    assert_eq!(e.kind, ErrorKind::MaybeNull);
}

#[test]
fn constant_key_array_lookups_need_no_null_check() {
    // tc_rewrite looks up a constant index of an array: never NULL (as
    // Linux 6.14+ knows), so its NULL check can go.
    let obj = object("tc_rewrite.bpf.o");
    let prog = mutate(&obj.programs[0], 37, "if r0 == 0x0 goto +0x2", "r0 = r0");
    verify(&prog, &obj.maps, &VerifyOptions::default()).expect("no NULL check needed");
}

#[test]
fn subprogram_errors_show_the_call_path() {
    // csum_words reads the caller's buffer; give it an out-of-frame offset.
    let obj = object("subprog_globals.bpf.o");
    let prog = &obj.programs[0];
    let at = (0..prog.insns.len())
        .find(|&pc| {
            Insn::decode(&prog.insns[pc..])
                .map(|i| format_insn(&i, Syntax::Llvm) == "w4 = *(u16 *)(r1 + 0x0)")
                .unwrap_or(false)
        })
        .expect("csum_words's load");
    let broken = mutate(
        prog,
        at,
        "w4 = *(u16 *)(r1 + 0x0)",
        "w4 = *(u16 *)(r1 + 0x40)",
    );
    let e = verify(&broken, &obj.maps, &VerifyOptions::default()).unwrap_err();
    println!("{e}");
    assert_eq!(e.kind, ErrorKind::InvalidAccess);
    assert!(e.message.contains("outside the frame"), "{}", e.message);
    assert!(e
        .path
        .iter()
        .any(|s| s.event == waggle_verifier::PathEvent::Call));
}
