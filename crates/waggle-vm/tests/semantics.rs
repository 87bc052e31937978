//! Per-opcode semantics at their edges, run in both modes, built from typed
//! instructions so that these tests depend on nothing but the interpreter.

use std::sync::Arc;
use waggle_isa::{
    encode_program, AluOp, AtomicOp, CallTarget, EndianOp, Insn, JmpCond, LdImm64, MemSize, Reg,
    Source, Width,
};
use waggle_vm::{HelperRegistry, Input, Interrupt, Program, RunError, RunOptions};

use Reg as R;

fn prog(insns: &[Insn], helpers: HelperRegistry) -> Program {
    Program::from_bytes(&encode_program(insns), Arc::new(helpers)).expect("prepares")
}

/// Runs in checked and unchecked mode, asserts both agree, returns r0.
fn run_mem(insns: &[Insn], mem: &mut [u8]) -> u64 {
    let p = prog(insns, HelperRegistry::new());
    let mut copy = mem.to_vec();
    let checked = p
        .run_checked(Input::memory(mem), &RunOptions::default())
        .expect("checked run");
    // SAFETY: the checked run above succeeded on the same input, so every
    // access of this deterministic program is in bounds.
    let unchecked = unsafe { p.run_unchecked(Input::memory(&mut copy), &RunOptions::default()) }
        .expect("unchecked run");
    assert_eq!(checked, unchecked, "modes disagree");
    assert_eq!(mem, &copy[..], "modes left different memory");
    checked.r0
}

fn run(insns: &[Insn]) -> u64 {
    run_mem(insns, &mut [])
}

fn imm64(dst: Reg, v: u64) -> Insn {
    Insn::LdImm64 {
        dst,
        value: LdImm64::Imm(v),
    }
}

fn alu(width: Width, op: AluOp, dst: Reg, src: Source) -> Insn {
    Insn::Alu {
        width,
        op,
        dst,
        src,
    }
}

/// r0 = a; r0 = r0 op imm; exit
fn binop_ri(width: Width, op: AluOp, a: u64, b: i32) -> u64 {
    run(&[
        imm64(R::R0, a),
        alu(width, op, R::R0, Source::Imm(b)),
        Insn::Exit,
    ])
}

fn binop_rr(width: Width, op: AluOp, a: u64, b: u64) -> u64 {
    run(&[
        imm64(R::R0, a),
        imm64(R::R1, b),
        alu(width, op, R::R0, Source::Reg(R::R1)),
        Insn::Exit,
    ])
}

/// Both source forms must agree whenever `b` fits an immediate.
fn both(width: Width, op: AluOp, a: u64, b: i32) -> u64 {
    let via_reg = binop_rr(width, op, a, b as i64 as u64);
    let via_imm = binop_ri(width, op, a, b);
    assert_eq!(via_reg, via_imm, "{op:?} {width:?} {a:#x} {b}");
    via_imm
}

use AluOp::*;
use Width::{W32, W64};

#[test]
fn add_sub_mul_wrap_and_32bit_zero_extends() {
    assert_eq!(both(W64, Add, u64::MAX, 1), 0);
    assert_eq!(both(W32, Add, 0xffff_ffff, 1), 0);
    assert_eq!(
        both(W32, Add, 0xdead_0000_0000_0001, 1),
        2,
        "upper half cleared"
    );
    assert_eq!(
        both(W64, Add, 5, -6),
        u64::MAX,
        "64-bit immediates sign-extend"
    );
    assert_eq!(both(W32, Sub, 0, 1), 0xffff_ffff);
    assert_eq!(both(W64, Sub, 0, 1), u64::MAX);
    assert_eq!(both(W64, Mul, 1 << 63, 2), 0);
    assert_eq!(both(W32, Mul, 0x8000_0000, -1), 0x8000_0000);
    assert_eq!(both(W64, Mul, i64::MIN as u64, -1), i64::MIN as u64);
}

#[test]
fn division_and_modulo_edges() {
    // Division by zero yields zero; modulo by zero keeps the dividend.
    assert_eq!(both(W64, Div, 7, 0), 0);
    assert_eq!(both(W32, Div, 7, 0), 0);
    assert_eq!(both(W64, Sdiv, 7, 0), 0);
    assert_eq!(both(W32, Sdiv, 7, 0), 0);
    assert_eq!(both(W64, Mod, 7, 0), 7);
    assert_eq!(both(W64, Smod, u64::MAX, 0), u64::MAX);
    assert_eq!(
        both(W32, Mod, 0x1_0000_0007, 0),
        7,
        "32-bit keeps only the low half"
    );
    assert_eq!(both(W32, Smod, 0xffff_ffff_ffff_fff9, 0), 0xffff_fff9);
    // Unsigned division: the 64-bit immediate -1 is u64::MAX.
    assert_eq!(both(W64, Div, u64::MAX, -1), 1);
    assert_eq!(both(W32, Div, 0xffff_ffff, -1), 1);
    // Signed: truncation toward zero, remainder takes the dividend's sign.
    assert_eq!(both(W64, Sdiv, (-7i64) as u64, 2), (-3i64) as u64);
    assert_eq!(both(W64, Smod, (-7i64) as u64, 2), (-1i64) as u64);
    assert_eq!(both(W64, Smod, 7, -2), 1);
    assert_eq!(
        both(W32, Sdiv, (-7i32) as u32 as u64, 2),
        (-3i32) as u32 as u64
    );
    // Overflow: MIN / -1 wraps to MIN, MIN % -1 is 0.
    assert_eq!(both(W64, Sdiv, i64::MIN as u64, -1), i64::MIN as u64);
    assert_eq!(both(W64, Smod, i64::MIN as u64, -1), 0);
    assert_eq!(both(W32, Sdiv, 0x8000_0000, -1), 0x8000_0000);
    assert_eq!(both(W32, Smod, 0x8000_0000, -1), 0);
}

#[test]
fn shifts_mask_the_amount_to_the_width() {
    assert_eq!(both(W64, Lsh, 1, 64), 1);
    assert_eq!(both(W64, Lsh, 1, 65), 2);
    assert_eq!(both(W32, Lsh, 1, 32), 1);
    assert_eq!(both(W32, Lsh, 1, 31), 0x8000_0000);
    assert_eq!(
        both(W32, Lsh, 0x1_0000_0001, 1),
        2,
        "32-bit clears the upper half"
    );
    assert_eq!(both(W64, Rsh, 1 << 63, 63), 1);
    assert_eq!(both(W64, Rsh, 4, 66), 1);
    assert_eq!(both(W32, Rsh, 0xffff_ffff_8000_0000, 31), 1);
    assert_eq!(both(W64, Arsh, 1 << 63, 63), u64::MAX);
    assert_eq!(both(W32, Arsh, 0x8000_0000, 31), 0xffff_ffff);
    assert_eq!(both(W32, Arsh, 0x8000_0000, 32), 0x8000_0000);
    assert_eq!(
        binop_rr(W64, Lsh, 1, 0xffff_ffff_0000_0003),
        8,
        "register amount masked"
    );
}

#[test]
fn bitwise_moves_and_negation() {
    assert_eq!(both(W64, Or, 0xf0, -256), 0xffff_ffff_ffff_fff0);
    assert_eq!(both(W32, Or, 0xffff_ffff_0000_0000, 1), 1);
    assert_eq!(both(W64, And, u64::MAX, -1), u64::MAX);
    assert_eq!(both(W32, And, u64::MAX, -1), 0xffff_ffff);
    assert_eq!(both(W64, Xor, 0xff, -1), !0xffu64);
    assert_eq!(both(W32, Xor, 0xff, -1), 0xffff_ff00);
    assert_eq!(both(W64, Mov, 0, -1), u64::MAX);
    assert_eq!(both(W32, Mov, 0, -1), 0xffff_ffff);
    assert_eq!(binop_rr(W32, Mov, 0, 0x1234_5678_9abc_def0), 0x9abc_def0);
    let neg = |width, v| run(&[imm64(R::R0, v), Insn::Neg { width, dst: R::R0 }, Insn::Exit]);
    assert_eq!(neg(W64, 1), u64::MAX);
    assert_eq!(neg(W64, i64::MIN as u64), i64::MIN as u64);
    assert_eq!(neg(W32, 1), 0xffff_ffff);
    assert_eq!(neg(W32, 0x8000_0000), 0x8000_0000);
    assert_eq!(neg(W32, 0x1_0000_0000), 0);
}

#[test]
fn sign_extending_moves() {
    assert_eq!(binop_rr(W64, MovSx8, 0, 0x80), 0xffff_ffff_ffff_ff80);
    assert_eq!(binop_rr(W64, MovSx8, 0, 0x17f), 0x7f);
    assert_eq!(binop_rr(W64, MovSx16, 0, 0x8001), 0xffff_ffff_ffff_8001);
    assert_eq!(
        binop_rr(W64, MovSx32, 0, 0x8000_0000),
        0xffff_ffff_8000_0000
    );
    assert_eq!(binop_rr(W32, MovSx8, 0, 0x80), 0xffff_ff80);
    assert_eq!(
        binop_rr(W32, MovSx16, 0, 0xffff_ffff_0000_8000),
        0xffff_8000
    );
}

#[test]
fn byte_order_conversions() {
    let v = 0x1122_3344_5566_7788u64;
    let end = |op, bits| {
        run(&[
            imm64(R::R0, v),
            Insn::Endian {
                op,
                bits,
                dst: R::R0,
            },
            Insn::Exit,
        ])
    };
    assert_eq!(end(EndianOp::ToLe, 16), 0x7788);
    assert_eq!(end(EndianOp::ToLe, 32), 0x5566_7788);
    assert_eq!(end(EndianOp::ToLe, 64), v);
    assert_eq!(end(EndianOp::ToBe, 16), 0x8877);
    assert_eq!(end(EndianOp::ToBe, 32), 0x8877_6655);
    assert_eq!(end(EndianOp::ToBe, 64), 0x8877_6655_4433_2211);
    assert_eq!(end(EndianOp::Swap, 16), 0x8877);
    assert_eq!(end(EndianOp::Swap, 32), 0x8877_6655);
    assert_eq!(end(EndianOp::Swap, 64), 0x8877_6655_4433_2211);
}

/// r0 = 1 if `r1 cond src` is taken, else 0, with r1 = a and r2 = b.
fn taken(width: Width, cond: JmpCond, a: u64, b: u64, src: Source) -> bool {
    let mov0 = |v| Insn::Alu {
        width: W64,
        op: Mov,
        dst: R::R0,
        src: Source::Imm(v),
    };
    let insns = [
        imm64(R::R1, a),
        imm64(R::R2, b),
        mov0(1),
        Insn::Jump {
            width,
            cond,
            dst: R::R1,
            src,
            off: 1,
        },
        mov0(0),
        Insn::Exit,
    ];
    run(&insns) == 1
}

fn taken_both(width: Width, cond: JmpCond, a: u64, b: i32) -> bool {
    let b64 = b as i64 as u64;
    let imm = taken(width, cond, a, b64, Source::Imm(b));
    let reg = taken(width, cond, a, b64, Source::Reg(R::R2));
    assert_eq!(imm, reg, "{cond:?} {width:?} {a:#x} {b}");
    imm
}

#[test]
fn every_jump_condition_at_its_boundary() {
    // For each condition, compare against the Rust reference at the values
    // around every signed and unsigned boundary, in both widths.
    let values: [u64; 10] = [
        0,
        1,
        2,
        0x7fff_ffff,
        0x8000_0000,
        0xffff_ffff,
        0x1_0000_0000,
        i64::MAX as u64,
        i64::MIN as u64,
        u64::MAX,
    ];
    let imms = [0, 1, 2, -1, -2, i32::MAX, i32::MIN];
    for cond in JmpCond::ALL {
        for &a in &values {
            for &b in &imms {
                let b64 = b as i64 as u64;
                assert_eq!(
                    taken_both(W64, cond, a, b),
                    cond.eval64(a, b64),
                    "{cond:?} 64 {a:#x} {b}"
                );
                assert_eq!(
                    taken_both(W32, cond, a, b),
                    cond.eval32(a as u32, b as u32),
                    "{cond:?} 32 {a:#x} {b}"
                );
            }
        }
    }
    // Spot checks of the reference itself, so a wrong reference cannot hide a
    // wrong interpreter.
    assert!(JmpCond::Sgt.eval64(0, u64::MAX));
    assert!(!JmpCond::Gt.eval64(0, u64::MAX));
    assert!(JmpCond::Slt.eval32(0x8000_0000, 0));
    assert!(JmpCond::Set.eval64(0x1_0000_0000, 0x1_0000_0000));
    assert!(!JmpCond::Set.eval32(0x1_0000_0000u64 as u32, 0x1_0000_0000u64 as u32));
    // JMP32 ignores the upper halves.
    assert!(taken_both(W32, JmpCond::Eq, 0xffff_ffff_0000_0005, 5));
    assert!(!taken_both(W64, JmpCond::Eq, 0xffff_ffff_0000_0005, 5));
}

#[test]
fn loads_and_stores_of_every_size() {
    let mut mem = [
        0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x91, 0, 0, 0, 0, 0, 0, 0, 0,
    ];
    let load = |size, sign_extend, mem: &mut [u8]| {
        run_mem(
            &[
                Insn::Load {
                    size,
                    sign_extend,
                    dst: R::R0,
                    src: R::R1,
                    off: 0,
                },
                Insn::Exit,
            ],
            mem,
        )
    };
    assert_eq!(load(MemSize::B, false, &mut mem), 0x88);
    assert_eq!(load(MemSize::H, false, &mut mem), 0x7788);
    assert_eq!(load(MemSize::W, false, &mut mem), 0x5566_7788);
    assert_eq!(load(MemSize::DW, false, &mut mem), 0x9122_3344_5566_7788);
    assert_eq!(load(MemSize::B, true, &mut mem), 0xffff_ffff_ffff_ff88);
    assert_eq!(load(MemSize::H, true, &mut mem), 0x7788);
    assert_eq!(load(MemSize::W, true, &mut mem), 0x5566_7788);
    // Unaligned 8-byte load.
    let r0 = run_mem(
        &[
            Insn::Load {
                size: MemSize::DW,
                sign_extend: false,
                dst: R::R0,
                src: R::R1,
                off: 1,
            },
            Insn::Exit,
        ],
        &mut mem,
    );
    assert_eq!(r0, 0x0091_2233_4455_6677);
    // Stores: ST DW sign-extends its immediate; STX writes the low bytes.
    let mut out = [0u8; 16];
    run_mem(
        &[
            Insn::Store {
                size: MemSize::DW,
                dst: R::R1,
                off: 0,
                src: Source::Imm(-2),
            },
            imm64(R::R2, 0x0102_0304_0506_0708),
            Insn::Store {
                size: MemSize::H,
                dst: R::R1,
                off: 8,
                src: Source::Reg(R::R2),
            },
            Insn::Store {
                size: MemSize::B,
                dst: R::R1,
                off: 11,
                src: Source::Imm(0x1ab),
            },
            Insn::Exit,
        ],
        &mut out,
    );
    assert_eq!(
        out,
        [0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x08, 0x07, 0, 0xab, 0, 0, 0, 0]
    );
}

/// Runs `atomic [r10-8] op r1` with memory `init`, operand `v` and `r0 = r0_in`;
/// returns (memory after, r0 after, r1 after).
fn atomic(size: MemSize, op: AtomicOp, init: u64, v: u64, r0_in: u64) -> (u64, u64, u64) {
    let mut out = [0u8; 24];
    let store = |off: i16, src| Insn::Store {
        size: MemSize::DW,
        dst: R::R6,
        off,
        src: Source::Reg(src),
    };
    run_mem(
        &[
            Insn::Alu {
                width: W64,
                op: Mov,
                dst: R::R6,
                src: Source::Reg(R::R1),
            },
            imm64(R::R2, init),
            Insn::Store {
                size: MemSize::DW,
                dst: R::R10,
                off: -8,
                src: Source::Reg(R::R2),
            },
            imm64(R::R1, v),
            imm64(R::R0, r0_in),
            Insn::Atomic {
                size,
                op,
                dst: R::R10,
                src: R::R1,
                off: -8,
            },
            Insn::Load {
                size: MemSize::DW,
                sign_extend: false,
                dst: R::R3,
                src: R::R10,
                off: -8,
            },
            store(0, R::R3),
            store(8, R::R0),
            store(16, R::R1),
            Insn::Exit,
        ],
        &mut out,
    );
    let word = |i: usize| u64::from_le_bytes(out[i * 8..i * 8 + 8].try_into().unwrap());
    (word(0), word(1), word(2))
}

#[test]
fn atomics_update_memory_and_fetch_old_values() {
    const HI: u64 = 0xaaaa_aaaa_0000_0000;
    let dw = MemSize::DW;
    let w = MemSize::W;
    // Without fetch the source register is untouched.
    assert_eq!(
        atomic(dw, AtomicOp::Add { fetch: false }, 5, 3, 0),
        (8, 0, 3)
    );
    assert_eq!(
        atomic(dw, AtomicOp::Add { fetch: true }, 5, 3, 0),
        (8, 0, 5)
    );
    assert_eq!(
        atomic(dw, AtomicOp::Or { fetch: true }, 0b1010, 0b0101, 0),
        (0b1111, 0, 0b1010)
    );
    assert_eq!(
        atomic(dw, AtomicOp::And { fetch: true }, 0b1110, 0b0111, 0),
        (0b0110, 0, 0b1110)
    );
    assert_eq!(
        atomic(dw, AtomicOp::Xor { fetch: false }, 0b1100, 0b1010, 0),
        (0b0110, 0, 0b1010)
    );
    assert_eq!(atomic(dw, AtomicOp::Xchg, 7, 9, 0), (9, 0, 7));
    // cmpxchg: r0 gets the old value whether or not the exchange happened.
    assert_eq!(atomic(dw, AtomicOp::Cmpxchg, 7, 9, 7), (9, 7, 9));
    assert_eq!(atomic(dw, AtomicOp::Cmpxchg, 7, 9, 8), (7, 7, 9));
    // 32-bit: only the low word changes; fetched values are zero-extended.
    assert_eq!(
        atomic(w, AtomicOp::Add { fetch: true }, HI | 0xffff_ffff, 1, 0),
        (HI, 0, 0xffff_ffff)
    );
    assert_eq!(
        atomic(w, AtomicOp::Xchg, HI | 1, 0xffff_ffff_0000_0002, 0),
        (HI | 2, 0, 1)
    );
    assert_eq!(
        atomic(w, AtomicOp::Cmpxchg, HI | 1, 2, 0xffff_ffff_0000_0001),
        (HI | 2, 1, 2)
    );
    assert_eq!(atomic(w, AtomicOp::Cmpxchg, HI | 1, 2, 3), (HI | 1, 1, 2));
}

#[test]
fn local_calls_save_callee_saved_registers_and_get_their_own_frame() {
    // main: r6 = 42; *(r10-8) = 1; call f; r0 += r6; r0 += *(r10-8); exit
    // f:    r6 = 0; *(r10-8) = 100; r0 = 7; exit
    let insns = [
        Insn::Alu {
            width: W64,
            op: Mov,
            dst: R::R6,
            src: Source::Imm(42),
        },
        Insn::Store {
            size: MemSize::DW,
            dst: R::R10,
            off: -8,
            src: Source::Imm(1),
        },
        Insn::Call(CallTarget::Local(4)),
        alu(W64, Add, R::R0, Source::Reg(R::R6)),
        Insn::Load {
            size: MemSize::DW,
            sign_extend: false,
            dst: R::R1,
            src: R::R10,
            off: -8,
        },
        alu(W64, Add, R::R0, Source::Reg(R::R1)),
        Insn::Exit,
        alu(W64, Mov, R::R6, Source::Imm(0)),
        Insn::Store {
            size: MemSize::DW,
            dst: R::R10,
            off: -8,
            src: Source::Imm(100),
        },
        alu(W64, Mov, R::R0, Source::Imm(7)),
        Insn::Exit,
    ];
    assert_eq!(run(&insns), 7 + 42 + 1);
}

#[test]
fn call_depth_is_limited_to_eight_frames() {
    // f calls itself forever.
    let p = prog(
        &[Insn::Call(CallTarget::Local(-1)), Insn::Exit],
        HelperRegistry::new(),
    );
    let err = p
        .run_checked(Input::empty(), &RunOptions::default())
        .unwrap_err();
    assert_eq!(err, RunError::CallDepth { pc: 0 });
    // Exactly seven nested calls (eight frames) are fine: a chain f0 -> f1 -> ... -> f7.
    let mut insns = Vec::new();
    for _ in 0..7 {
        insns.push(Insn::Call(CallTarget::Local(1)));
        insns.push(Insn::Exit);
    }
    insns.push(alu(W64, Mov, R::R0, Source::Imm(3)));
    insns.push(Insn::Exit);
    assert_eq!(run(&insns), 3);
}

#[test]
fn checked_mode_stops_out_of_bounds_accesses_with_the_instruction_and_address() {
    let p = prog(
        &[
            Insn::Load {
                size: MemSize::W,
                sign_extend: false,
                dst: R::R0,
                src: R::R1,
                off: 2,
            },
            Insn::Exit,
        ],
        HelperRegistry::new(),
    );
    let mut mem = [0u8; 5];
    let base = mem.as_ptr() as u64;
    let err = p
        .run_checked(Input::memory(&mut mem), &RunOptions::default())
        .unwrap_err();
    assert_eq!(
        err,
        RunError::OutOfBounds {
            pc: 0,
            access: waggle_vm::Access::Read,
            addr: base + 2,
            size: 4
        }
    );
    assert!(err
        .to_string()
        .starts_with("instruction 0: read of 4 bytes at 0x"));
    // Below the stack frame, and a write through a null pointer.
    for insns in [
        vec![
            Insn::Load {
                size: MemSize::DW,
                sign_extend: false,
                dst: R::R0,
                src: R::R10,
                off: -520,
            },
            Insn::Exit,
        ],
        vec![
            Insn::Store {
                size: MemSize::B,
                dst: R::R2,
                off: 0,
                src: Source::Imm(1),
            },
            Insn::Exit,
        ],
        // Reading the stack top itself (r10 points one past the frame).
        vec![
            Insn::Load {
                size: MemSize::B,
                sign_extend: false,
                dst: R::R0,
                src: R::R10,
                off: 0,
            },
            Insn::Exit,
        ],
    ] {
        let err = prog(&insns, HelperRegistry::new())
            .run_checked(Input::empty(), &RunOptions::default())
            .unwrap_err();
        assert!(matches!(err, RunError::OutOfBounds { pc: 0, .. }), "{err}");
    }
    // A callee may not touch the frame below its own (no frame there yet), but
    // reaching 512 bytes down from its r10 is its own frame and fine.
    let ok = prog(
        &[
            Insn::Call(CallTarget::Local(1)),
            Insn::Exit,
            Insn::Load {
                size: MemSize::DW,
                sign_extend: false,
                dst: R::R0,
                src: R::R10,
                off: -512,
            },
            Insn::Exit,
        ],
        HelperRegistry::new(),
    );
    assert_eq!(
        ok.run_checked(Input::empty(), &RunOptions::default())
            .unwrap()
            .r0,
        0
    );
}

#[test]
fn misaligned_atomics_are_refused_in_checked_mode() {
    let p = prog(
        &[
            Insn::Atomic {
                size: MemSize::DW,
                op: AtomicOp::Add { fetch: false },
                dst: R::R10,
                src: R::R1,
                off: -12,
            },
            Insn::Exit,
        ],
        HelperRegistry::new(),
    );
    let err = p
        .run_checked(Input::empty(), &RunOptions::default())
        .unwrap_err();
    assert!(
        matches!(err, RunError::MisalignedAtomic { pc: 0, size: 8, .. }),
        "{err}"
    );
}

#[test]
fn budget_stops_runaway_loops_and_counts_instructions() {
    let p = prog(&[Insn::Ja { off: -1 }], HelperRegistry::new());
    let err = p
        .run_checked(Input::empty(), &RunOptions { budget: Some(1000) })
        .unwrap_err();
    assert_eq!(
        err,
        RunError::BudgetExhausted {
            pc: 0,
            budget: 1000
        }
    );
    // r0 = 0; loop 10 times: r0 += 1 — 1 + 10 * 3 + 1 instructions.
    let p = prog(
        &[
            alu(W64, Mov, R::R0, Source::Imm(0)),
            alu(W64, Add, R::R0, Source::Imm(1)),
            Insn::Jump {
                width: W64,
                cond: JmpCond::Lt,
                dst: R::R0,
                src: Source::Imm(10),
                off: -2,
            },
            Insn::Exit,
        ],
        HelperRegistry::new(),
    );
    let out = p
        .run_checked(Input::empty(), &RunOptions::default())
        .unwrap();
    assert_eq!((out.r0, out.insns), (10, 1 + 10 * 2 + 1));
}

#[test]
fn helpers_are_called_by_id_and_checked_by_their_context() {
    let mut reg = HelperRegistry::new();
    reg.register(1, "sum", |_, a| Ok(a.iter().sum()));
    // Reads r2 bytes at r1 through the context, which checks them.
    reg.register(2, "sum_bytes", |cx, a| {
        Ok(cx.read(a[0], a[1])?.iter().map(|&b| b as u64).sum())
    });
    reg.register(3, "stop", |_, a| Err(Interrupt::Exit(a[0] * 2)));
    reg.register(4, "fail", |_, _| Err(Interrupt::Fault("bad input".into())));
    let reg = Arc::new(reg);
    let run_with = |insns: &[Insn], mem: &mut [u8]| {
        Program::from_bytes(&encode_program(insns), reg.clone())
            .unwrap()
            .run_checked(Input::memory(mem), &RunOptions::default())
    };
    let mov = |dst, v| alu(W64, Mov, dst, Source::Imm(v));
    let sum = [
        mov(R::R1, 1),
        mov(R::R2, 2),
        mov(R::R3, 3),
        mov(R::R4, 4),
        mov(R::R5, 5),
        Insn::Call(CallTarget::Helper(1)),
        Insn::Exit,
    ];
    assert_eq!(run_with(&sum, &mut []).unwrap().r0, 15);
    // callx through a register.
    let callx = [
        mov(R::R1, 20),
        mov(R::R7, 3),
        Insn::CallX { dst: R::R7 },
        Insn::Exit,
    ];
    assert_eq!(
        run_with(&callx, &mut []).unwrap().r0,
        40,
        "helper 3 ended the program"
    );
    let mut mem = [1, 2, 3, 4];
    let bytes = [Insn::Call(CallTarget::Helper(2)), Insn::Exit];
    assert_eq!(run_with(&bytes, &mut mem).unwrap().r0, 10);
    // The same helper with a length past the memory is refused.
    let past = [mov(R::R2, 5), Insn::Call(CallTarget::Helper(2)), Insn::Exit];
    let err = run_with(&past, &mut mem).unwrap_err();
    assert!(
        matches!(err, RunError::HelperFault { pc: 1, id: 2, .. }),
        "{err}"
    );
    assert!(err.to_string().contains("sum_bytes"));
    let fail = [Insn::Call(CallTarget::Helper(4)), Insn::Exit];
    assert_eq!(
        run_with(&fail, &mut []).unwrap_err().to_string(),
        "instruction 0: helper fail (4) failed: bad input"
    );
    let unknown = [mov(R::R1, 99), Insn::CallX { dst: R::R1 }, Insn::Exit];
    assert_eq!(
        run_with(&unknown, &mut []).unwrap_err(),
        RunError::UnknownHelper { pc: 1, id: 99 }
    );
    // Direct calls to unknown helpers are refused before running.
    let err = Program::from_bytes(
        &encode_program(&[Insn::Call(CallTarget::Helper(77)), Insn::Exit]),
        reg.clone(),
    )
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        "instruction 0: program calls unknown helper 77"
    );
}

#[test]
fn legacy_packet_loads_read_network_order_and_end_the_program_out_of_bounds() {
    let mut pkt = [0x12, 0x34, 0x56, 0x78, 0x9a];
    let ld = |insns: &[Insn], pkt: &mut [u8]| run_mem(insns, pkt);
    assert_eq!(
        ld(
            &[
                Insn::LdAbs {
                    size: MemSize::H,
                    imm: 1
                },
                Insn::Exit
            ],
            &mut pkt
        ),
        0x3456
    );
    assert_eq!(
        ld(
            &[
                Insn::LdAbs {
                    size: MemSize::W,
                    imm: 1
                },
                Insn::Exit
            ],
            &mut pkt
        ),
        0x3456_789a
    );
    assert_eq!(
        ld(
            &[
                alu(W64, Mov, R::R3, Source::Imm(3)),
                Insn::LdInd {
                    size: MemSize::B,
                    src: R::R3,
                    imm: 1
                },
                Insn::Exit
            ],
            &mut pkt
        ),
        0x9a
    );
    // Out of the packet: the program ends with 0, skipping the rest.
    assert_eq!(
        ld(
            &[
                Insn::LdAbs {
                    size: MemSize::W,
                    imm: 2
                },
                alu(W64, Mov, R::R0, Source::Imm(9)),
                Insn::Exit
            ],
            &mut pkt
        ),
        0
    );
}

#[test]
fn preparation_rejects_what_cannot_run() {
    let p = |insns: &[Insn]| {
        Program::from_bytes(&encode_program(insns), Arc::new(HelperRegistry::new())).unwrap_err()
    };
    assert!(p(&[
        Insn::LdImm64 {
            dst: R::R1,
            value: LdImm64::MapFd(3)
        },
        Insn::Exit
    ])
    .to_string()
    .contains("map fd reference must be resolved"));
    assert_eq!(
        Program::from_bytes(&[], Arc::new(HelperRegistry::new())).unwrap_err(),
        waggle_vm::PrepareError::Empty
    );
}

#[test]
fn falling_off_the_end_is_an_error() {
    let p = prog(
        &[alu(W64, Mov, R::R0, Source::Imm(1))],
        HelperRegistry::new(),
    );
    assert_eq!(
        p.run_checked(Input::empty(), &RunOptions::default())
            .unwrap_err(),
        RunError::FellOffEnd { pc: 1 }
    );
}
