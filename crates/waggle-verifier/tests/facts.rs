//! The facts `verify_with_facts` gives a JIT: concrete facts on the bundled
//! examples, read off their disassembly; and every constant and zext32 fact
//! of the accepted corpus programs the interpreter can run checked against
//! the registers of concrete runs (`common/trace.rs`).

mod common;

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use waggle_isa::{assemble, encode_program, RawInsn, Reg, Syntax};
use waggle_object::{Object, ProgramDef, ProgramType};
use waggle_verifier::{
    verify, verify_with_facts, AccessFact, Facts, RegFact, Region, VerifyOptions,
};
use waggle_vm::{
    HelperContext, HelperRegistry, HelperResult, Input, Region as VmRegion, RunOptions,
};

fn object(name: &str) -> Object {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../examples/c")
        .join(name);
    let data = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    Object::parse(name, &data).unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn facts_of(file: &str, prog: &str) -> Facts {
    let obj = object(file);
    let p = obj.programs.iter().find(|p| p.name == prog).unwrap();
    let (_, facts) = verify_with_facts(p, &obj.maps, &VerifyOptions::default())
        .unwrap_or_else(|e| panic!("{file}: {e}"));
    facts
}

const fn konst(v: u64) -> RegFact {
    RegFact {
        constant: Some(v),
        zext32: true,
    }
}

const ZEXT: RegFact = RegFact {
    constant: None,
    zext32: true,
};

fn region(facts: &Facts, pc: usize) -> Region {
    facts
        .access(pc)
        .unwrap_or_else(|| panic!("slot {pc} has no access fact"))
        .region
}

#[test]
fn xdp_lb_facts() {
    let f = facts_of("xdp_lb.bpf.o", "xdp_lb");
    //   1: w6 = *(u32 *)(r1 + 0x4)       data_end from the context
    assert_eq!(region(&f, 1), Region::Ctx);
    assert_eq!(f.register(1, Reg::R1), RegFact::UNKNOWN, "a pointer");
    //   6: w1 = *(u8 *)(r7 + 0xd)        after `if r2 > r6` proved 14 bytes
    assert_eq!(region(&f, 6), Region::Packet);
    //   7: w1 <<= 0x8                    r1 a zero-extending byte load
    assert_eq!(f.register(7, Reg::R1), ZEXT);
    //   9: w1 |= w3                      both 32-bit values
    assert_eq!(f.register(9, Reg::R3), ZEXT);
    //  10: if w1 != 0x8                  a 32-bit ALU result
    assert_eq!(f.register(10, Reg::R1), ZEXT);
    //  21: w3 = *(u32 *)(r3 + 0x0)       .rodata (map 1) through LD_IMM64
    assert_eq!(region(&f, 21), Region::MapValue { map: Some(1) });
    //  51: *(u32 *)(r10 - 0x18) = w1; 52: spill r5; 77: fill
    assert_eq!(region(&f, 51), Region::Stack);
    assert_eq!(region(&f, 52), Region::Stack);
    assert_eq!(region(&f, 77), Region::Stack);
    assert_eq!(f.register(52, Reg::R10), RegFact::UNKNOWN);
    //  38: exit                          r0 is 2 (XDP_PASS) or 0/1/3: not
    //                                    constant, but always 32-bit
    assert_eq!(f.register(38, Reg::R0), ZEXT);
    // 113: *(u8 *)(r7 + 0x5) = w1        a packet write of a backend's byte
    assert_eq!(region(&f, 113), Region::Packet);
    assert_eq!(region(&f, 112), Region::MapValue { map: Some(2) });
    // 204: r2 = 0x1; 205: lock *(u64 *)(r1 + 0x0) += r2   the stats map
    assert_eq!(f.register(205, Reg::R2), konst(1));
    assert_eq!(region(&f, 205), Region::MapValue { map: Some(0) });
    // Not memory accesses.
    assert_eq!(f.access(10), None);
    assert_eq!(f.access(19), None);
    assert!(f.unreachable().is_empty());
    assert!(!f.is_reachable(20), "the second slot of an LD_IMM64");
}

#[test]
fn ringbuf_events_facts() {
    let f = facts_of("ringbuf_events.bpf.o", "ringbuf_events");
    //  42: w1 = 0x2; 43: *(u32 *)(r10 - 0x14) = w1
    assert_eq!(f.register(43, Reg::R1), konst(2));
    assert_eq!(region(&f, 43), Region::Stack);
    //  34: r2 = 0x14; 35: r3 = 0x0; 36: call bpf_ringbuf_output
    assert_eq!(f.register(36, Reg::R2), konst(20));
    assert_eq!(f.register(36, Reg::R3), konst(0));
    //  65: w1 = 0x1; 66: *(u32 *)(r0 + 0x0) = w1   into the reserved record
    assert_eq!(f.register(66, Reg::R1), konst(1));
    assert_eq!(region(&f, 66), Region::RingbufRecord);
    //  20: w9 -= w8                      w9 = w7 (data_end as a number)
    assert_eq!(f.register(20, Reg::R9), ZEXT);
    //  90: w0 = 0x2; 91: exit
    assert_eq!(f.register(91, Reg::R0), konst(2));
}

#[test]
fn every_example_has_facts() {
    let mut total = BTreeMap::new();
    for file in [
        "xdp_drop_icmp.bpf.o",
        "xdp_proto_count.bpf.o",
        "xdp_lb.bpf.o",
        "tc_rewrite.bpf.o",
        "ringbuf_events.bpf.o",
        "tail_calls.bpf.o",
        "subprog_globals.bpf.o",
        "core_read.bpf.o",
    ] {
        let obj = object(file);
        for p in &obj.programs {
            let (_, facts) = verify_with_facts(p, &obj.maps, &VerifyOptions::default()).unwrap();
            let s = summary(&facts);
            println!("{file:24} {:16} {s:?}", p.name);
            // Every load and store of an accepted program has a region.
            for (pc, insn) in waggle_isa::decode_slots(&p.insns).unwrap() {
                let mem = matches!(
                    insn,
                    waggle_isa::Insn::Load { .. }
                        | waggle_isa::Insn::Store { .. }
                        | waggle_isa::Insn::Atomic { .. }
                );
                if facts.is_reachable(pc) {
                    assert_eq!(facts.access(pc).is_some(), mem, "{file} slot {pc}");
                }
            }
            for (k, v) in s {
                *total.entry(k).or_insert(0) += v;
            }
        }
    }
    println!("all examples: {total:?}");
}

/// Counts: register reads, constant ones, zext32 ones, accesses by region.
fn summary(f: &Facts) -> BTreeMap<String, usize> {
    let mut s = BTreeMap::new();
    for (_, i) in f.iter() {
        for (_, r) in &i.regs {
            *s.entry("reads".to_string()).or_insert(0) += 1;
            if r.constant.is_some() {
                *s.entry("reads_constant".to_string()).or_insert(0) += 1;
            }
            if r.zext32 {
                *s.entry("reads_zext32".to_string()).or_insert(0) += 1;
            }
        }
        if let Some(a) = i.access {
            *s.entry(format!("access_{}", a.region.name())).or_insert(0) += 1;
        }
    }
    s.insert("unreachable".into(), f.unreachable().len());
    s
}

#[test]
fn xdp_lb_summary() {
    let f = facts_of("xdp_lb.bpf.o", "xdp_lb");
    let s = summary(&f);
    println!("xdp_lb: {s:?}");
    assert!(s["reads_zext32"] > 50 && s["reads_constant"] >= 1);
    assert!(s["access_packet"] > 20 && s["access_stack"] >= 5 && s["access_ctx"] == 2);
}

fn program(text: &str, prog_type: ProgramType) -> ProgramDef {
    let insns = assemble(text, Syntax::Ubpf).unwrap();
    ProgramDef {
        name: "t".into(),
        section: prog_type.name().into(),
        prog_type,
        insns: RawInsn::slice_from_bytes(&encode_program(&insns)).unwrap(),
        lines: vec![],
        func_info: vec![],
        line_info: vec![],
    }
}

#[test]
fn dead_code_and_joins() {
    // Slot 3 is reachable in the program's structure, but r0 is 0.
    let p = program(
        "mov32 %r0, 0
         mov %r2, -1
         jeq %r0, 0, +1
         mov %r0, 1
         exit",
        ProgramType::Kprobe,
    );
    let (_, f) = verify_with_facts(&p, &[], &VerifyOptions::default()).unwrap();
    assert_eq!(f.unreachable(), &[3]);
    assert!(!f.is_reachable(3));
    assert_eq!(f.register(2, Reg::R0), konst(0));
    assert_eq!(f.register(4, Reg::R0), konst(0));
    // Two paths with different constants: zero-extended, not constant; a
    // 64-bit -1 is constant but not zero-extended.
    let p = program(
        "call 7
         mov %r1, -1
         mov %r2, 5
         jgt %r0, 100, +1
         mov %r2, 7
         stxdw [%r10-8], %r1
         mov %r0, %r2
         exit",
        ProgramType::Kprobe,
    );
    let (_, f) = verify_with_facts(&p, &[], &VerifyOptions::default()).unwrap();
    assert_eq!(f.register(7, Reg::R0), ZEXT);
    assert_eq!(
        f.register(5, Reg::R1),
        RegFact {
            constant: Some(u64::MAX),
            zext32: false
        }
    );
    assert_eq!(
        f.access(5),
        Some(AccessFact {
            region: Region::Stack
        })
    );
    // verify and verify_with_facts agree.
    assert!(verify(&p, &[], &VerifyOptions::default()).is_ok());
}

#[test]
fn no_facts_about_numbers_pruning_let_differ() {
    // At slot 4, the join, r6 is 7 on the path explored first and 5 on the
    // other; r6 is only returned, so it is imprecise and the second path is
    // pruned there without its 5 ever being visited. Claiming the constant 7
    // would be false on that path: r6 and the r0 copied from it get no
    // constant, only the zero-extension both moves of small constants give.
    let p = program(
        "call 7
         mov %r6, 5
         jgt %r0, 100, +1
         mov %r6, 7
         mov %r0, %r6
         exit",
        ProgramType::Kprobe,
    );
    let (stats, f) = verify_with_facts(&p, &[], &VerifyOptions::default()).unwrap();
    let plain = verify(&p, &[], &VerifyOptions::default()).unwrap();
    assert_eq!(stats.insns_processed, plain.insns_processed, "same pruning");
    assert_eq!(
        stats.insns_processed, 7,
        "the second path is pruned at slot 4"
    );
    assert_eq!(f.register(4, Reg::R6), ZEXT);
    assert_eq!(f.register(5, Reg::R0), ZEXT);
    // Before the join, the constant holds.
    assert_eq!(f.register(2, Reg::R0).constant, None);
}

#[test]
fn facts_serialise() {
    let f = facts_of("xdp_lb.bpf.o", "xdp_lb");
    let json = serde_json::to_string(&f).unwrap();
    let back: Facts = serde_json::from_str(&json).unwrap();
    assert_eq!(back, f);
    assert!(json.contains(r#""region":"packet""#), "{}", &json[..300]);
    assert!(json.contains(r#""region":{"map_value":{"map":1}}"#));
}

// --------------------------------------------------------------------------
// Facts against concrete runs of the corpus.

#[test]
fn the_tracer_catches_a_false_fact() {
    let p = program(
        "mov32 %r0, 2
         mov %r1, 7
         add %r1, %r0
         exit",
        ProgramType::Kprobe,
    );
    let (_, f) = verify_with_facts(&p, &[], &VerifyOptions::default()).unwrap();
    assert_eq!(f.register(2, Reg::R1), konst(7));
    let registry = registry();
    let mut run = |program: &waggle_vm::Program, _: usize| {
        common::trace::run_on(program, &mut [0u8; 64]);
    };
    let t = common::trace::check_facts("ok", &p.insns, &f, &registry, 1, &mut run).unwrap();
    assert_eq!((t.arrivals, t.constants), (2, 3));
    // r1 claimed 8 at slot 2: caught.
    let json = serde_json::to_string(&f).unwrap();
    let lie: Facts =
        serde_json::from_str(&json.replace(r#""constant":7"#, r#""constant":8"#)).unwrap();
    let e = common::trace::check_facts("lie", &p.insns, &lie, &registry, 1, &mut run).unwrap_err();
    assert!(
        e.contains("slot 2: r1 is claimed constant 0x8 but holds 0x7"),
        "{e}"
    );
}

/// xorshift64*, as random_programs.rs.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
}

thread_local! {
    static HELPER_RNG: std::cell::RefCell<Rng> = const { std::cell::RefCell::new(Rng(0x4e1f_3000_0000_0001)) };
}

fn random_helper(_: &mut HelperContext<'_>, _: [u64; 5]) -> HelperResult {
    Ok(HELPER_RNG.with(|r| r.borrow_mut().next()))
}

fn random_u32_helper(_: &mut HelperContext<'_>, _: [u64; 5]) -> HelperResult {
    Ok(HELPER_RNG.with(|r| r.borrow_mut().next()) >> 32)
}

fn zero_helper(_: &mut HelperContext<'_>, _: [u64; 5]) -> HelperResult {
    Ok(0)
}

fn einval_helper(_: &mut HelperContext<'_>, _: [u64; 5]) -> HelperResult {
    Ok(-22i64 as u64)
}

/// The helpers the runnable corpus programs call, returning what Linux's
/// may return (the verifier knows nothing of their results but the type).
fn registry() -> Arc<HelperRegistry> {
    let mut r = HelperRegistry::new();
    r.register(5, "bpf_ktime_get_ns", random_helper);
    r.register(6, "bpf_trace_printk", zero_helper);
    r.register(7, "bpf_get_prandom_u32", random_u32_helper);
    r.register(8, "bpf_get_smp_processor_id", zero_helper);
    r.register(14, "bpf_get_current_pid_tgid", random_helper);
    r.register(16, "bpf_get_current_comm", zero_helper);
    r.register(26, "bpf_skb_load_bytes", einval_helper);
    r.register(28, "bpf_csum_diff", random_u32_helper);
    r.register(44, "bpf_xdp_adjust_head", einval_helper);
    r.register(113, "bpf_probe_read_kernel", einval_helper);
    common::trace::tracing_registry(&r)
}

/// XDP programs read `struct xdp_md` through Waggle's rewrite in the
/// runtime; here the context's 4-byte fields are laid out as 8-byte ones
/// (`data` at 0, `data_end` at 8, `data_meta` at 16, then the indices),
/// and each context load the facts name becomes an 8-byte load at twice the
/// offset.
fn rewrite_xdp_ctx(slots: &mut [RawInsn], facts: &Facts) {
    for (pc, s) in slots.iter_mut().enumerate() {
        if facts.access(pc).map(|a| a.region) == Some(Region::Ctx) {
            assert_eq!(s.opcode, 0x61, "XDP context accesses are 4-byte loads");
            *s = RawInsn::new(0x79, s.dst, s.src, s.off * 2, 0);
        }
    }
}

#[test]
fn facts_hold_on_corpus_runs() {
    let registry = registry();
    let mut rng = Rng(0xfac7_5000_0000_0001);
    let (mut traced, mut skipped) = (0, Vec::new());
    let mut tally = common::trace::Tally::default();
    for path in common::files() {
        let case = common::parse(&path).unwrap();
        if !matches!(case.expect, common::Expect::Accept) {
            continue;
        }
        let name = case.prog.name.clone();
        let (_, facts) = verify_with_facts(&case.prog, &case.maps, &case.opts).unwrap();
        let mut slots = case.prog.insns.clone();
        let ctx_access = facts
            .iter()
            .any(|(_, f)| f.access.is_some_and(|a| a.region == Region::Ctx));
        // Maps need a runtime to bind them; skb contexts its rewrite.
        let maps = slots.iter().any(|s| s.opcode == 0x18 && s.src != 0);
        let skb = matches!(
            case.prog.prog_type,
            ProgramType::SchedCls | ProgramType::SocketFilter
        ) && ctx_access;
        if maps || skb || !common::trace::traceable(&slots) {
            skipped.push(name);
            continue;
        }
        let xdp = case.prog.prog_type == ProgramType::Xdp;
        if xdp {
            rewrite_xdp_ctx(&mut slots, &facts);
        }
        let inputs: Vec<(Vec<u8>, usize, usize)> = (0..6)
            .map(|k| {
                let mut bytes: Vec<u8> = (0..280).map(|_| rng.next() as u8).collect();
                if k == 0 {
                    bytes.fill(0);
                }
                let meta = [0, 8][k % 2];
                let len = [0, 14, 34, 60, 100, 200][k];
                (bytes, meta, len)
            })
            .collect();
        let mut run = |program: &waggle_vm::Program, k: usize| {
            let (bytes, meta, len) = &inputs[k];
            let mut mem = bytes.clone();
            if !xdp {
                common::trace::run_on(program, &mut mem);
                return;
            }
            // Packet: metadata then data, in `mem` past the context.
            let (ctx, pkt) = mem.split_at_mut(48);
            let base = pkt.as_ptr() as u64;
            let data = base + *meta as u64;
            let fields = [data, data + *len as u64, base, 1, 0, 0];
            for (i, v) in fields.iter().enumerate() {
                ctx[i * 8..i * 8 + 8].copy_from_slice(&v.to_le_bytes());
            }
            let region = VmRegion::new(base, (meta + len) as u64, true);
            // SAFETY: `pkt` outlives the run and is not otherwise touched.
            let input = unsafe { Input::memory(ctx).grant(region) };
            let _ = program.run_checked(
                input,
                &RunOptions {
                    budget: Some(100_000),
                },
            );
        };
        match common::trace::check_facts(&name, &slots, &facts, &registry, inputs.len(), &mut run) {
            Ok(t) => tally += t,
            Err(e) => panic!("{e}"),
        }
        traced += 1;
    }
    println!(
        "corpus facts: {traced} programs traced ({} skipped: maps, skb contexts, calls), {tally:?}",
        skipped.len()
    );
    assert!(traced >= 50, "only {traced} programs traced");
    assert!(tally.constants > 100 && tally.zext32 > 100, "{tally:?}");
}
