//! Checked mode holds on arbitrary programs: tens of thousands of random,
//! decodable programs run without crashing the host, and every access outside
//! the stack and the input ends the run with an error. (The `interp_checked`
//! fuzz target explores the same property without a bound.)

use std::sync::Arc;
use waggle_isa::{decode_program, Insn, RawInsn};
use waggle_vm::{HelperRegistry, Input, Program, RunError, RunOptions};

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
}

/// Opcodes that decode with some field values, so random programs are mostly
/// valid and exercise the interpreter rather than the decoder.
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

fn random_slot(rng: &mut Rng, opcodes: &[u8]) -> RawInsn {
    let opcode = opcodes[rng.below(opcodes.len() as u64) as usize];
    let class = opcode & 7;
    let is_jump = class == 5 || class == 6;
    let off = match rng.below(3) {
        0 => 0,
        1 if opcode & 0xf0 == 0xb0 => [8, 16, 32][rng.below(3) as usize], // movsx
        _ if is_jump => rng.range(-4, 4),
        // Around the stack frame and the input memory.
        _ => rng.range(-520, 72),
    } as i16;
    let imm = match rng.below(5) {
        0 => 0,
        1 => rng.range(-2, 2) as i32,
        2 => [16, 32, 64, 1, 0xe1, 0xf1, 0x41][rng.below(7) as usize],
        3 => rng.range(-600, 600) as i32,
        _ => rng.next() as i32,
    };
    let reg = |rng: &mut Rng| {
        if rng.below(3) == 0 {
            0
        } else {
            rng.below(11) as u8
        }
    };
    RawInsn::new(opcode, reg(rng), reg(rng), off, imm)
}

/// A random program of valid instructions (retrying each slot until it
/// decodes), ending in `exit`; branch targets may still fall outside.
fn random_program(rng: &mut Rng, opcodes: &[u8]) -> Vec<u8> {
    let len = rng.range(2, 24) as usize;
    let mut slots = Vec::with_capacity(len + 2);
    while slots.len() < len {
        let slot = random_slot(rng, opcodes);
        let second = RawInsn::new(0, 0, 0, 0, rng.next() as i32);
        if let Ok(insn) = Insn::decode(&[slot, second]) {
            slots.push(slot);
            if insn.slots() == 2 {
                slots.push(second);
            }
        }
    }
    slots.push(RawInsn::new(0x95, 0, 0, 0, 0));
    RawInsn::slice_to_bytes(&slots)
}

#[test]
fn random_programs_never_escape_checked_mode() {
    let opcodes = valid_opcodes();
    assert!(
        opcodes.len() >= 120,
        "only {} opcodes found valid",
        opcodes.len()
    );
    let mut rng = Rng(0x5eed_1234_abcd_0001);
    let registry = Arc::new(HelperRegistry::new());
    let (mut decoded, mut finished, mut stopped_oob, mut other_errors) = (0, 0, 0, 0);
    for _ in 0..30_000 {
        let code = random_program(&mut rng, &opcodes);
        if decode_program(&code).is_err() {
            continue;
        }
        let Ok(prog) = Program::from_bytes(&code, registry.clone()) else {
            continue;
        };
        decoded += 1;
        let mut mem = [0xa5u8; 64];
        match prog.run_checked(
            Input::memory(&mut mem),
            &RunOptions {
                budget: Some(5_000),
            },
        ) {
            Ok(_) => finished += 1,
            Err(RunError::OutOfBounds { .. } | RunError::MisalignedAtomic { .. }) => {
                stopped_oob += 1
            }
            Err(_) => other_errors += 1,
        }
    }
    println!(
        "random programs: {decoded} prepared, {finished} finished, {stopped_oob} stopped at a bad access, {other_errors} other errors"
    );
    // The property is that we got here; these bounds keep the test meaningful.
    assert!(decoded > 3_000, "too few programs prepared: {decoded}");
    assert!(
        finished > 500 && stopped_oob > 500,
        "{finished} finished, {stopped_oob} stopped"
    );
}
