//! Malformed and arbitrary input never panics the verifier, and it stays
//! fast with a small complexity limit. Programs it accepts are then run in
//! the interpreter's checked mode, which must never find an access outside
//! the stack, a misaligned atomic, or a run that does not end: a soundness
//! check of the verifier against the interpreter on thousands of programs.

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};
use waggle_isa::{decode_slots, Insn, RawInsn};
use waggle_object::{MapDef, ProgramDef, ProgramType};
use waggle_verifier::{verify, verify_with_facts, ErrorKind, VerifyOptions};
use waggle_vm::{
    HelperContext, HelperRegistry, HelperResult, Input, Program, RunError, RunOptions,
};

/// xorshift64*: deterministic, so a failure reproduces.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn range(&mut self, lo: i64, hi: i64) -> i64 {
        lo + self.below((hi - lo + 1) as u64) as i64
    }
    fn pick<T: Copy>(&mut self, v: &[T]) -> T {
        v[self.below(v.len() as u64) as usize]
    }
}

fn prog(slots: Vec<RawInsn>, prog_type: ProgramType) -> ProgramDef {
    ProgramDef {
        name: "random".into(),
        section: prog_type.name().into(),
        prog_type,
        insns: slots,
        lines: vec![],
        func_info: vec![],
        line_info: vec![],
    }
}

fn maps() -> Vec<MapDef> {
    let def = MapDef::with_sizes;
    vec![
        def("h", 1, 4, 8, 16),
        def(".bss", 2, 4, 16, 1),
        def("rb", 27, 0, 0, 4096),
    ]
}

/// Opcodes that decode with some field values.
fn valid_opcodes() -> Vec<u8> {
    (0..=255u8)
        .filter(|&op| {
            [
                (0, 0, 0, 0),
                (1, 2, 0, 0),
                (1, 0, 0, 16),
                (1, 2, 1, 0),
                (1, 2, 8, 0),
                (1, 2, 0, 1),
            ]
            .iter()
            .any(|&(d, s, off, imm)| {
                Insn::decode(&[RawInsn::new(op, d, s, off, imm), RawInsn::default()]).is_ok()
            })
        })
        .collect()
}

/// A program of arbitrary valid instructions, ending in `exit`.
fn arbitrary(rng: &mut Rng, opcodes: &[u8]) -> Vec<RawInsn> {
    let len = rng.range(1, 40) as usize;
    let mut slots = Vec::new();
    while slots.len() < len {
        let op = rng.pick(opcodes);
        let is_jump = matches!(op & 7, 5 | 6);
        let off = match rng.below(3) {
            0 => 0,
            _ if is_jump => rng.range(-6, 6),
            _ => rng.range(-520, 72),
        } as i16;
        let imm = match rng.below(5) {
            0 => 0,
            1 => rng.range(-2, 2) as i32,
            2 => rng.pick(&[1, 5, 7, 12, 26, 28, 130, 131, 132, 16, 32, 64]),
            3 => rng.range(-600, 600) as i32,
            _ => rng.next() as i32,
        };
        let reg = |rng: &mut Rng| {
            if rng.below(4) == 0 {
                10
            } else {
                rng.below(11) as u8
            }
        };
        let slot = RawInsn::new(op, reg(rng), reg(rng), off, imm);
        // LD_IMM64 second slots; map pseudo sources index the three maps.
        let second = RawInsn::new(0, 0, 0, 0, rng.next() as i32);
        let slot = if op == 0x18 && slot.src != 0 {
            RawInsn::new(
                op,
                slot.dst,
                rng.pick(&[0, 5, 6]),
                0,
                rng.range(0, 3) as i32,
            )
        } else {
            slot
        };
        if let Ok(insn) = Insn::decode(&[slot, second]) {
            slots.push(slot);
            if insn.slots() == 2 {
                slots.push(second);
            }
        }
    }
    slots.push(RawInsn::new(0x95, 0, 0, 0, 0));
    slots
}

/// A program more likely to verify: registers initialised, stack accesses
/// near the frame, small constants, short jumps (some backwards), helper
/// calls with simple arguments.
fn structured(rng: &mut Rng) -> Vec<RawInsn> {
    let mut slots = Vec::new();
    for r in 0..10u8 {
        slots.push(RawInsn::new(0xb7, r, 0, 0, rng.range(-4, 40) as i32)); // mov rN, imm
    }
    // Most programs start with their 64 bytes of stack written.
    if rng.below(4) != 0 {
        for k in 1..=8 {
            slots.push(RawInsn::new(0x7a, 10, 0, -8 * k, rng.range(0, 3) as i32));
            // *(u64 *)(r10 - 8k) = imm
        }
    }
    let len = rng.range(3, 30);
    for _ in 0..len {
        let dst = rng.below(10) as u8;
        let src = rng.below(10) as u8;
        let kind = rng.below(16);
        let slot = match kind {
            // ALU64 / ALU32, immediate or register
            0..=4 => {
                let op = rng.pick(&[
                    0x00, 0x10, 0x20, 0x30, 0x40, 0x50, 0x60, 0x70, 0x90, 0xa0, 0xb0, 0xc0,
                ]);
                let class = rng.pick(&[0x07u8, 0x04]);
                let x = rng.below(2) as u8 * 8;
                let imm = match op {
                    0x60 | 0x70 | 0xc0 => rng.range(0, 31) as i32,
                    0x30 | 0x90 => rng.range(1, 9) as i32,
                    _ => rng.range(-8, 64) as i32,
                };
                if x == 8 {
                    RawInsn::new(class | op | 8, dst, src, 0, 0)
                } else {
                    RawInsn::new(class | op, dst, 0, 0, imm)
                }
            }
            // r = r10 + off
            5 => {
                slots.push(RawInsn::new(0xbf, dst, 10, 0, 0));
                RawInsn::new(0x07, dst, 0, 0, -8 * rng.range(1, 8) as i32)
            }
            // stores to the stack
            6 | 7 => {
                let (size, bytes) = rng.pick(&[(0x18u8, 8), (0x00, 4), (0x08, 2), (0x10, 1)]);
                let off =
                    -(rng.range(1, 66 / bytes) as i16) * bytes as i16 - (rng.below(20) == 0) as i16;
                if rng.below(2) == 0 {
                    RawInsn::new(0x62 | size, 10, 0, off, rng.range(-3, 3) as i32)
                } else {
                    RawInsn::new(0x63 | size, 10, src, off, 0)
                }
            }
            // loads from the stack or through a register
            8 | 9 => {
                let (size, bytes) = rng.pick(&[(0x18u8, 8), (0x00, 4), (0x08, 2), (0x10, 1)]);
                let base = if rng.below(4) == 0 { src } else { 10 };
                let off =
                    -(rng.range(1, 66 / bytes) as i16) * bytes as i16 - (rng.below(20) == 0) as i16;
                RawInsn::new(0x61 | size, dst, base, off, 0)
            }
            // conditional jumps, sometimes backwards
            10..=12 => {
                let op = rng.pick(&[
                    0x10u8, 0x20, 0x30, 0x40, 0x50, 0x60, 0x70, 0xa0, 0xb0, 0xc0, 0xd0,
                ]);
                let class = rng.pick(&[0x05u8, 0x06]);
                let off = if rng.below(6) == 0 {
                    -(rng.range(1, 6) as i16)
                } else {
                    rng.range(0, 5) as i16
                };
                if rng.below(2) == 0 {
                    RawInsn::new(class | op, dst, 0, off, rng.range(-2, 40) as i32)
                } else {
                    RawInsn::new(class | op | 8, dst, src, off, 0)
                }
            }
            // helpers: ktime, prandom, map lookup with a stack key
            13 => RawInsn::new(0x85, 0, 0, 0, rng.pick(&[5, 7])),
            14 => {
                slots.push(RawInsn::new(0x62, 10, 0, -4, rng.range(0, 3) as i32));
                slots.push(RawInsn::new(0xbf, 2, 10, 0, 0));
                slots.push(RawInsn::new(0x07, 2, 0, 0, -4));
                slots.push(RawInsn::new(0x18, 1, 5, 0, 0));
                slots.push(RawInsn::new(0, 0, 0, 0, 0));
                RawInsn::new(0x85, 0, 0, 0, 1)
            }
            // atomics on the stack
            _ => RawInsn::new(
                rng.pick(&[0xdbu8, 0xc3]),
                10,
                src,
                -8 * rng.range(1, 4) as i16 - (rng.below(10) == 0) as i16,
                0,
            ),
        };
        slots.push(slot);
        if slot.opcode == 0x85 {
            // Calls leave r1-r5 unset; mostly set them again.
            for r in 1..=5u8 {
                if rng.below(8) != 0 {
                    slots.push(RawInsn::new(0xb7, r, 0, 0, rng.range(0, 20) as i32));
                }
            }
        }
    }
    slots.push(RawInsn::new(0x95, 0, 0, 0, 0));
    slots
}

fn registry() -> Arc<HelperRegistry> {
    fn ktime(_: &mut HelperContext<'_>, _: [u64; 5]) -> HelperResult {
        Ok(123_456_789)
    }
    fn prandom(_: &mut HelperContext<'_>, _: [u64; 5]) -> HelperResult {
        Ok(0x1234_5678)
    }
    fn lookup(_: &mut HelperContext<'_>, _: [u64; 5]) -> HelperResult {
        Ok(0) // not found: programs must handle NULL
    }
    let mut r = HelperRegistry::new();
    r.register(5, "bpf_ktime_get_ns", ktime);
    r.register(7, "bpf_get_prandom_u32", prandom);
    r.register(1, "bpf_map_lookup_elem", lookup);
    Arc::new(r)
}

#[test]
fn arbitrary_programs_never_panic() {
    let opcodes = valid_opcodes();
    let maps = maps();
    let opts = VerifyOptions {
        max_insns: 5_000,
        ..VerifyOptions::default()
    };
    let mut rng = Rng(0x5eed_0f0e_71f1_e5aa);
    let types = [
        ProgramType::Xdp,
        ProgramType::SchedCls,
        ProgramType::SocketFilter,
        ProgramType::Kprobe,
    ];
    let (mut accepted, mut rejected) = (0, 0);
    let mut slowest = Duration::ZERO;
    for n in 0..6_000 {
        let slots = arbitrary(&mut rng, &opcodes);
        let t = types[n % types.len()];
        let start = Instant::now();
        match verify(&prog(slots, t), &maps, &opts) {
            Ok(_) => accepted += 1,
            Err(e) => {
                // Every error renders and serialises.
                assert!(!e.render().is_empty() && e.to_json().starts_with('{'));
                rejected += 1;
            }
        }
        slowest = slowest.max(start.elapsed());
    }
    println!("arbitrary programs: {accepted} accepted, {rejected} rejected, slowest {slowest:?}");
    assert!(
        slowest < Duration::from_secs(2),
        "a verification took {slowest:?}"
    );
    // Truncated and garbage slot sequences are errors, not panics.
    for _ in 0..2_000 {
        let len = rng.range(0, 12) as usize;
        let slots: Vec<RawInsn> = (0..len)
            .map(|_| {
                RawInsn::new(
                    rng.next() as u8,
                    rng.below(16) as u8,
                    rng.below(16) as u8,
                    rng.next() as i16,
                    rng.next() as i32,
                )
            })
            .collect();
        let _ = verify(&prog(slots, ProgramType::Xdp), &maps, &opts);
    }
}

#[test]
fn accepted_programs_run_safely() {
    let maps = maps();
    let opts = VerifyOptions {
        max_insns: 4_000,
        ..VerifyOptions::default()
    };
    let registry = registry();
    let mut rng = Rng(0xacce_97ed_0000_0001);
    let (mut accepted, mut ran, mut rejected) = (0, 0, 0);
    let mut kinds = std::collections::BTreeMap::new();
    for _ in 0..10_000 {
        let slots = structured(&mut rng);
        if decode_slots(&slots).is_err() {
            continue;
        }
        let p = prog(slots.clone(), ProgramType::Kprobe);
        match verify(&p, &maps, &opts) {
            Ok(_) => accepted += 1,
            Err(e) => {
                rejected += 1;
                *kinds.entry(format!("{:?}", e.kind)).or_insert(0) += 1;
                assert_ne!(e.kind, ErrorKind::Malformed, "{e}");
                continue;
            }
        }
        // Map references need a runtime to bind them; run the others.
        let bytes = RawInsn::slice_to_bytes(&slots);
        let Ok(program) = Program::from_bytes(&bytes, registry.clone()) else {
            continue;
        };
        if slots.iter().any(|s| s.opcode == 0x18 && s.src != 0) {
            continue;
        }
        // Kprobe programs read `struct pt_regs` (168 bytes on x86-64).
        let mut mem = [0u8; 168];
        let result = program.run_checked(
            Input::memory(&mut mem),
            &RunOptions {
                budget: Some(1_000_000),
            },
        );
        match result {
            Ok(_) => ran += 1,
            Err(
                e @ (RunError::OutOfBounds { .. }
                | RunError::MisalignedAtomic { .. }
                | RunError::BudgetExhausted { .. }
                | RunError::FellOffEnd { .. }),
            ) => {
                let text: Vec<String> = decode_slots(&slots)
                    .unwrap()
                    .iter()
                    .map(|(pc, i)| {
                        format!(
                            "{pc:3}: {}",
                            waggle_isa::format_insn(i, waggle_isa::Syntax::Llvm)
                        )
                    })
                    .collect();
                panic!(
                    "the verifier accepted a program that fails in checked mode: {e}\n{}",
                    text.join("\n")
                );
            }
            Err(_) => ran += 1,
        }
    }
    println!("structured programs: {accepted} accepted ({ran} run without fault), {rejected} rejected: {kinds:?}");
    assert!(
        accepted > 800 && ran > 500,
        "too few programs accepted: {accepted}, run: {ran}"
    );
}

/// The constant and zext32 facts of accepted structured programs hold on
/// concrete runs (registers observed at each slot's first arrival; see
/// `common/trace.rs`), on a few random contexts each.
#[test]
fn facts_hold_on_random_programs() {
    let maps = maps();
    let opts = VerifyOptions {
        max_insns: 4_000,
        ..VerifyOptions::default()
    };
    let registry = common::trace::tracing_registry(&registry());
    let mut rng = Rng(0xfac7_5000_0000_0002);
    let (mut accepted, mut traced) = (0, 0);
    let mut tally = common::trace::Tally::default();
    for _ in 0..8_000 {
        let slots = structured(&mut rng);
        if decode_slots(&slots).is_err() {
            continue;
        }
        let Ok((_, facts)) =
            verify_with_facts(&prog(slots.clone(), ProgramType::Kprobe), &maps, &opts)
        else {
            continue;
        };
        accepted += 1;
        if slots.iter().any(|s| s.opcode == 0x18 && s.src != 0) {
            continue;
        }
        let contexts: Vec<[u8; 168]> = (0..3)
            .map(|_| std::array::from_fn(|_| rng.next() as u8))
            .collect();
        let mut run = |program: &Program, k: usize| {
            common::trace::run_on(program, &mut contexts[k].clone());
        };
        match common::trace::check_facts(
            "random",
            &slots,
            &facts,
            &registry,
            contexts.len(),
            &mut run,
        ) {
            Ok(t) => tally += t,
            Err(e) => {
                let text: Vec<String> = decode_slots(&slots)
                    .unwrap()
                    .iter()
                    .map(|(pc, i)| {
                        format!(
                            "{pc:3}: {}",
                            waggle_isa::format_insn(i, waggle_isa::Syntax::Llvm)
                        )
                    })
                    .collect();
                panic!("{e}\n{}", text.join("\n"));
            }
        }
        traced += 1;
    }
    println!("random facts: {accepted} accepted, {traced} traced, {tally:?}");
    assert!(
        traced > 400 && tally.constants > 5_000 && tally.zext32 > 5_000,
        "{traced} {tally:?}"
    );
}

/// Without `allow_ptr_leaks` the verifier only adds rejections, each a
/// pointer leak: on arbitrary and structured programs of every type, what
/// it accepts the privileged rules accept too, and what only the
/// privileged rules accept it rejects with `ErrorKind::PointerLeak`.
#[test]
fn unprivileged_rules_only_add_pointer_leaks() {
    let opcodes = valid_opcodes();
    let maps = maps();
    let privileged = VerifyOptions {
        max_insns: 4_000,
        ..VerifyOptions::default()
    };
    let unprivileged = VerifyOptions {
        allow_ptr_leaks: false,
        ..privileged.clone()
    };
    let types = [
        ProgramType::Xdp,
        ProgramType::SchedCls,
        ProgramType::SocketFilter,
        ProgramType::Kprobe,
    ];
    let mut rng = Rng(0x1ea4_0000_0000_0003);
    let (mut both, mut leaks, mut neither) = (0, 0, 0);
    for n in 0..12_000 {
        let (slots, t) = if n % 2 == 0 {
            (arbitrary(&mut rng, &opcodes), types[n / 2 % types.len()])
        } else {
            (structured(&mut rng), ProgramType::Kprobe)
        };
        let p = prog(slots, t);
        match (
            verify(&p, &maps, &privileged),
            verify(&p, &maps, &unprivileged),
        ) {
            (Ok(_), Ok(_)) => both += 1,
            (Ok(_), Err(e)) => {
                assert_eq!(e.kind, ErrorKind::PointerLeak, "{e}");
                leaks += 1;
            }
            (Err(_), Err(_)) => neither += 1,
            (Err(e), Ok(_)) => panic!("accepted only without allow_ptr_leaks; with it:\n{e}"),
        }
    }
    println!("random programs: {both} accepted by both rule sets, {leaks} only with allow_ptr_leaks, {neither} by neither");
    assert!(both > 500 && leaks >= 10, "{both} {leaks}");
}
