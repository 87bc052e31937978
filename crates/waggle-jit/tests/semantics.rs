//! The JIT against the interpreter, instruction by instruction at the edges
//! of each operation's semantics, and the run-level behaviour compiled code
//! must share with it: calls and frames, helpers and their interrupts,
//! callbacks, packet loads, errors.

use std::sync::{Arc, Mutex};
use waggle_isa::{
    assemble, decode_program, encode_program, AluOp, AtomicOp, CallTarget, EndianOp, Insn, JmpCond,
    LdImm64, MemSize, Reg, Source, Syntax, Width,
};
use waggle_jit::{JitOptions, JitProgram, TailCallTargetError};
use waggle_vm::{HelperRegistry, Input, Interrupt, Outcome, Program, RunError, RunOptions};

fn opts() -> RunOptions {
    RunOptions::default()
}

/// Runs `insns` on `mem` in the checked interpreter and, if that stayed in
/// bounds, through the JIT on a copy; asserts both agree on r0 (or the
/// error) and on the memory left behind. Returns the JIT's result.
fn both_engines(
    insns: &[Insn],
    mem: &mut [u8],
    reg: &Arc<HelperRegistry>,
) -> Result<Outcome, RunError> {
    let bytes = encode_program(insns);
    let interp = Program::from_bytes(&bytes, reg.clone()).expect("prepares");
    let jit = JitProgram::from_bytes(&bytes, reg.clone()).expect("compiles");
    let mut copy = mem.to_vec();
    let expected = interp.run_checked(Input::memory(&mut copy), &opts());
    assert!(
        !matches!(expected, Err(RunError::OutOfBounds { .. })),
        "test program out of bounds: {expected:?}"
    );
    // SAFETY: the checked run of this deterministic program stayed in bounds.
    let got = unsafe { jit.run(Input::memory(mem), &opts()) };
    match (&expected, &got) {
        (Ok(e), Ok(g)) => assert_eq!(e.r0, g.r0, "r0 differs for {insns:?}"),
        (e, g) => assert_eq!(
            e.clone().map(|o| o.r0),
            g.clone().map(|o| o.r0),
            "{insns:?}"
        ),
    }
    assert_eq!(mem, &copy[..], "memory differs for {insns:?}");
    got
}

fn r0_of(insns: &[Insn]) -> u64 {
    let reg = Arc::new(HelperRegistry::new());
    both_engines(insns, &mut [], &reg).expect("runs").r0
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

fn mov(dst: Reg, v: i32) -> Insn {
    alu(Width::W64, AluOp::Mov, dst, Source::Imm(v))
}

/// Values where operations change behaviour: zero, one, minus one, the
/// signed extremes of both widths, and bit patterns with both halves set.
const EDGES: [u64; 12] = [
    0,
    1,
    2,
    7,
    u64::MAX,
    i64::MIN as u64,
    i64::MAX as u64,
    0x8000_0000,
    0x7fff_ffff,
    0xffff_ffff,
    0xdead_beef_8765_4321,
    0xffff_ffff_ffff_fff9,
];
const IMMS: [i32; 10] = [0, 1, -1, 2, -2, 7, 31, 63, i32::MIN, i32::MAX];

const ALU_OPS: [AluOp; 17] = [
    AluOp::Add,
    AluOp::Sub,
    AluOp::Mul,
    AluOp::Div,
    AluOp::Sdiv,
    AluOp::Or,
    AluOp::And,
    AluOp::Lsh,
    AluOp::Rsh,
    AluOp::Mod,
    AluOp::Smod,
    AluOp::Xor,
    AluOp::Mov,
    AluOp::MovSx8,
    AluOp::MovSx16,
    AluOp::MovSx32,
    AluOp::Arsh,
];

#[test]
fn every_alu_operation_agrees_on_edge_values() {
    let mut cases = 0;
    for width in [Width::W64, Width::W32] {
        for op in ALU_OPS {
            if width == Width::W32 && op == AluOp::MovSx32 {
                continue; // no encoding
            }
            let sign_extending = matches!(op, AluOp::MovSx8 | AluOp::MovSx16 | AluOp::MovSx32);
            for a in EDGES {
                for b in EDGES.iter().copied().chain(IMMS.map(|i| i as i64 as u64)) {
                    let insns = [
                        imm64(Reg::R0, a),
                        imm64(Reg::R1, b),
                        alu(width, op, Reg::R0, Source::Reg(Reg::R1)),
                        Insn::Exit,
                    ];
                    r0_of(&insns);
                    cases += 1;
                }
                if sign_extending {
                    continue; // register source only
                }
                for imm in IMMS {
                    let insns = [
                        imm64(Reg::R0, a),
                        alu(width, op, Reg::R0, Source::Imm(imm)),
                        Insn::Exit,
                    ];
                    r0_of(&insns);
                    cases += 1;
                }
            }
        }
    }
    assert!(cases > 5000, "{cases}");
}

#[test]
fn the_documented_edges_have_the_documented_values() {
    use AluOp::*;
    use Width::*;
    let ri = |w, op, a: u64, b: i32| {
        r0_of(&[
            imm64(Reg::R0, a),
            alu(w, op, Reg::R0, Source::Imm(b)),
            Insn::Exit,
        ])
    };
    let rr = |w, op, a: u64, b: u64| {
        r0_of(&[
            imm64(Reg::R0, a),
            imm64(Reg::R1, b),
            alu(w, op, Reg::R0, Source::Reg(Reg::R1)),
            Insn::Exit,
        ])
    };
    assert_eq!(rr(W64, Div, 7, 0), 0);
    assert_eq!(rr(W64, Mod, 7, 0), 7);
    assert_eq!(rr(W32, Mod, 0x1_0000_0007, 0), 7);
    assert_eq!(rr(W64, Sdiv, i64::MIN as u64, u64::MAX), i64::MIN as u64);
    assert_eq!(rr(W64, Smod, i64::MIN as u64, u64::MAX), 0);
    assert_eq!(ri(W32, Sdiv, 0x8000_0000, -1), 0x8000_0000);
    assert_eq!(ri(W32, Smod, 0xffff_ffff_ffff_fff9, 0), 0xffff_fff9);
    assert_eq!(ri(W64, Lsh, 1, 65), 2);
    assert_eq!(rr(W32, Lsh, 1, 33), 2);
    assert_eq!(ri(W32, Arsh, 0x8000_0000, 31), 0xffff_ffff);
    assert_eq!(ri(W32, Add, 0xdead_0000_0000_0001, 1), 2);
    assert_eq!(ri(W64, Add, 5, -6), u64::MAX);
}

#[test]
fn negation_and_byte_order_agree() {
    for a in EDGES {
        for width in [Width::W64, Width::W32] {
            r0_of(&[
                imm64(Reg::R0, a),
                Insn::Neg {
                    width,
                    dst: Reg::R0,
                },
                Insn::Exit,
            ]);
        }
        for op in [EndianOp::ToLe, EndianOp::ToBe, EndianOp::Swap] {
            for bits in [16, 32, 64] {
                r0_of(&[
                    imm64(Reg::R0, a),
                    Insn::Endian {
                        op,
                        bits,
                        dst: Reg::R0,
                    },
                    Insn::Exit,
                ]);
            }
        }
    }
    assert_eq!(
        r0_of(&[
            imm64(Reg::R0, 0x1122_3344_5566_7788),
            Insn::Endian {
                op: EndianOp::ToBe,
                bits: 32,
                dst: Reg::R0
            },
            Insn::Exit
        ]),
        0x8877_6655
    );
}

#[test]
fn every_jump_condition_agrees_on_edge_values() {
    for width in [Width::W64, Width::W32] {
        for cond in JmpCond::ALL {
            for a in EDGES {
                for b in EDGES {
                    // r0 = 1 if taken, else 2.
                    let jump = |src| Insn::Jump {
                        width,
                        cond,
                        dst: Reg::R1,
                        src,
                        off: 2,
                    };
                    let tail = [mov(Reg::R0, 2), Insn::Exit, mov(Reg::R0, 1), Insn::Exit];
                    let mut insns = vec![imm64(Reg::R1, a), imm64(Reg::R2, b)];
                    insns.push(jump(Source::Reg(Reg::R2)));
                    insns.extend(tail);
                    r0_of(&insns);
                    let mut insns = vec![imm64(Reg::R1, a)];
                    insns.push(jump(Source::Imm(b as i32)));
                    insns.extend(tail);
                    r0_of(&insns);
                }
            }
        }
    }
}

#[test]
fn loads_stores_and_sign_extending_loads_of_every_size_unaligned() {
    for size in [MemSize::B, MemSize::H, MemSize::W, MemSize::DW] {
        for sign_extend in [false, true] {
            if size == MemSize::DW && sign_extend {
                continue; // no encoding
            }
            for off in [0i16, 1, 3] {
                let mut mem: Vec<u8> = (0..24u8).map(|i| i.wrapping_mul(37) | 0x80).collect();
                let reg = Arc::new(HelperRegistry::new());
                let insns = [
                    Insn::Load {
                        size,
                        sign_extend,
                        dst: Reg::R0,
                        src: Reg::R1,
                        off,
                    },
                    Insn::Store {
                        size,
                        dst: Reg::R1,
                        off: off + 8,
                        src: Source::Reg(Reg::R0),
                    },
                    Insn::Store {
                        size,
                        dst: Reg::R10,
                        off: -16 + off,
                        src: Source::Imm(-3),
                    },
                    Insn::Load {
                        size: MemSize::DW,
                        sign_extend: false,
                        dst: Reg::R2,
                        src: Reg::R10,
                        off: -16,
                    },
                    Insn::Store {
                        size: MemSize::DW,
                        dst: Reg::R1,
                        off: 16,
                        src: Source::Reg(Reg::R2),
                    },
                    Insn::Exit,
                ];
                both_engines(&insns, &mut mem, &reg).unwrap();
            }
        }
    }
}

#[test]
fn atomics_of_both_sizes_agree() {
    let ops = [
        AtomicOp::Add { fetch: false },
        AtomicOp::Add { fetch: true },
        AtomicOp::Or { fetch: false },
        AtomicOp::Or { fetch: true },
        AtomicOp::And { fetch: false },
        AtomicOp::And { fetch: true },
        AtomicOp::Xor { fetch: false },
        AtomicOp::Xor { fetch: true },
        AtomicOp::Xchg,
        AtomicOp::Cmpxchg,
    ];
    let reg = Arc::new(HelperRegistry::new());
    for size in [MemSize::W, MemSize::DW] {
        for op in ops {
            for (init, v, r0) in [
                (5u64, 3u64, 5u64),
                (0xaaaa_aaaa_ffff_ffff, 1, 0xffff_ffff),
                (7, 9, 8),
                (
                    0xffff_ffff_0000_0001,
                    0xffff_ffff_0000_0002,
                    0xffff_ffff_0000_0001,
                ),
            ] {
                let mut mem = [0u8; 24];
                mem[..8].copy_from_slice(&init.to_le_bytes());
                let store = |off: i16, src| Insn::Store {
                    size: MemSize::DW,
                    dst: Reg::R6,
                    off,
                    src: Source::Reg(src),
                };
                let insns = [
                    alu(Width::W64, AluOp::Mov, Reg::R6, Source::Reg(Reg::R1)),
                    imm64(Reg::R1, v),
                    imm64(Reg::R0, r0),
                    Insn::Atomic {
                        size,
                        op,
                        dst: Reg::R6,
                        src: Reg::R1,
                        off: 0,
                    },
                    store(8, Reg::R0),
                    store(16, Reg::R1),
                    Insn::Exit,
                ];
                both_engines(&insns, &mut mem, &reg).unwrap();
            }
        }
    }
}

fn program(src: &str, reg: &Arc<HelperRegistry>) -> (Program, JitProgram) {
    let bytes = encode_program(&assemble(src, Syntax::Ubpf).expect("assembles"));
    (
        Program::from_bytes(&bytes, reg.clone()).expect("prepares"),
        JitProgram::from_bytes(&bytes, reg.clone()).expect("compiles"),
    )
}

fn jit_run(jit: &JitProgram, input: Input<'_>) -> Result<Outcome, RunError> {
    // SAFETY: every program of these tests touches only its stack and the
    // memory of its input (their checked interpreter runs show it).
    unsafe { jit.run(input, &opts()) }
}

#[test]
fn local_calls_keep_callee_saved_registers_and_frames_apart() {
    // main: r6 = 42; [r10-8] = 1; call f; r0 += r6 + [r10-8]
    // f: r6 = 0; [r10-8] = 100; r0 = 7 + g(5); g doubles r1 on its frame.
    let src = "
        mov %r6, 42
        stdw [%r10-8], 1
        call local f
        add %r0, %r6
        ldxdw %r1, [%r10-8]
        add %r0, %r1
        exit
    f:
        mov %r6, 0
        stdw [%r10-8], 100
        mov %r1, 5
        call local g
        add %r0, 7
        exit
    g:
        stxdw [%r10-8], %r1
        ldxdw %r0, [%r10-8]
        add %r0, %r0
        exit";
    let reg = Arc::new(HelperRegistry::new());
    let (interp, jit) = program(src, &reg);
    let want = interp.run_checked(Input::empty(), &opts()).unwrap().r0;
    assert_eq!(want, 10 + 7 + 42 + 1);
    assert_eq!(jit_run(&jit, Input::empty()).unwrap().r0, want);
    assert_eq!(jit.function_count(), 3);
}

#[test]
fn call_depth_is_limited_to_eight_frames() {
    let reg = Arc::new(HelperRegistry::new());
    let recursive = [Insn::Call(CallTarget::Local(-1)), Insn::Exit];
    let jit = JitProgram::from_bytes(&encode_program(&recursive), reg.clone()).unwrap();
    assert_eq!(
        jit_run(&jit, Input::empty()).unwrap_err(),
        RunError::CallDepth { pc: 0 }
    );
    // Bounded recursion: f(n) = n == 0 ? 0 : n + f(n - 1), within 8 frames.
    let src = "
        mov %r1, 6
        call local f
        exit
    f:
        mov %r0, 0
        jeq %r1, 0, +5
        mov %r6, %r1
        sub %r1, 1
        call local f
        add %r0, %r6
        exit
        exit";
    let (interp, jit) = program(src, &reg);
    assert_eq!(interp.run_checked(Input::empty(), &opts()).unwrap().r0, 21);
    assert_eq!(jit_run(&jit, Input::empty()).unwrap().r0, 21);
    // A static chain of exactly eight frames needs no check and runs.
    let mut chain = Vec::new();
    for _ in 0..7 {
        chain.push(Insn::Call(CallTarget::Local(1)));
        chain.push(Insn::Exit);
    }
    chain.push(mov(Reg::R0, 3));
    chain.push(Insn::Exit);
    assert_eq!(r0_of(&chain), 3);
    // One more frame is one too many.
    chain.insert(0, Insn::Exit);
    chain.insert(0, Insn::Call(CallTarget::Local(1)));
    let jit = JitProgram::from_bytes(&encode_program(&chain), reg).unwrap();
    assert_eq!(
        jit_run(&jit, Input::empty()).unwrap_err(),
        RunError::CallDepth { pc: 14 }
    );
}

fn helper_registry() -> Arc<HelperRegistry> {
    let mut reg = HelperRegistry::new();
    reg.register(1, "sum", |_, a| Ok(a.iter().sum()));
    reg.register(2, "sum_bytes", |cx, a| {
        Ok(cx.read(a[0], a[1])?.iter().map(|&b| b as u64).sum())
    });
    reg.register(3, "stop", |_, a| Err(Interrupt::Exit(a[0] * 2)));
    reg.register(4, "fail", |_, _| Err(Interrupt::Fault("bad input".into())));
    reg.register(5, "boom", |_, _| panic!("helper panicked"));
    Arc::new(reg)
}

#[test]
fn helpers_get_their_arguments_and_interrupts_stop_the_program() {
    let reg = helper_registry();
    let run = |src: &str, mem: &mut [u8]| {
        let (_, jit) = program(src, &reg);
        jit_run(&jit, Input::memory(mem))
    };
    let sum = "mov %r1, 1\nmov %r2, 2\nmov %r3, 3\nmov %r4, 4\nmov %r5, 5\ncall 1\nexit";
    assert_eq!(run(sum, &mut []).unwrap().r0, 15);
    // callx through a register; helper 3 ends the program from a subprogram.
    let callx =
        "mov %r1, 20\ncall local f\nmov %r0, 1\nexit\nf:\nmov %r7, 3\ncall %r7\nmov %r0, 5\nexit";
    assert_eq!(run(callx, &mut []).unwrap().r0, 40);
    let mut mem = [1, 2, 3, 4];
    assert_eq!(run("call 2\nexit", &mut mem).unwrap().r0, 10);
    assert_eq!(
        run("call 4\nexit", &mut []).unwrap_err().to_string(),
        "instruction 0: helper fail (4) failed: bad input"
    );
    assert_eq!(
        run("mov %r1, 99\ncall %r1\nexit", &mut []).unwrap_err(),
        RunError::UnknownHelper { pc: 1, id: 99 }
    );
    // Unknown direct helpers are refused before compiling.
    let err = JitProgram::from_bytes(
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
fn a_helper_panic_reaches_the_caller_of_run() {
    let reg = helper_registry();
    let (_, jit) = program("mov %r6, 1\ncall 5\nexit", &reg);
    let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        jit_run(&jit, Input::empty())
    }));
    let payload = caught.unwrap_err();
    assert_eq!(payload.downcast_ref::<&str>(), Some(&"helper panicked"));
}

#[derive(Default)]
struct Trace(Vec<u64>);

#[test]
fn helpers_reach_the_state_of_their_run() {
    let mut reg = HelperRegistry::new();
    reg.register(6, "record", |cx, a| {
        let trace = cx
            .env::<Trace>()
            .ok_or(Interrupt::Fault("no trace".into()))?;
        trace.0.push(a[0]);
        Ok(0)
    });
    let reg = Arc::new(reg);
    let (_, jit) = program("mov %r1, 7\ncall 6\nmov %r1, 9\ncall 6\nexit", &reg);
    let mut trace = Trace::default();
    jit_run(&jit, Input::empty().with_env(&mut trace)).unwrap();
    assert_eq!(trace.0, [7, 9]);
    let err = jit_run(&jit, Input::empty()).unwrap_err();
    assert!(err.to_string().contains("no trace"), "{err}");
}

/// `loop(n, callback, ctx)` like `bpf_loop`, plus a helper that records which
/// engine ran the callback's helpers (none: the JIT runs callbacks itself).
fn loop_registry() -> Arc<HelperRegistry> {
    let mut reg = HelperRegistry::new();
    reg.register(181, "loop", |cx, a| {
        for i in 0..a[0] {
            if cx.call_function(a[1], [i, a[2], 0, 0, 0])? == 1 {
                return Ok(i + 1);
            }
        }
        Ok(a[0])
    });
    reg.register(3, "stop", |_, a| Err(Interrupt::Exit(a[0] * 2)));
    Arc::new(reg)
}

const LOOP_PROGRAM: &str = "
    stdw [%r10-8], 0
    mov %r1, 10
    lddw %r2, func add
    mov %r3, %r10
    add %r3, -8
    call 181
    ldxdw %r6, [%r10-8]
    mul %r6, 1000
    add %r0, %r6
    exit
add:
    ldxdw %r3, [%r2]
    add %r3, %r1
    stxdw [%r2], %r3
    mov %r0, 0
    jne %r1, 4, +1
    mov %r0, 1
    exit
";

#[test]
fn callbacks_run_compiled_on_their_own_stack_and_reach_the_callers() {
    let reg = loop_registry();
    let (interp, jit) = program(LOOP_PROGRAM, &reg);
    let want = interp.run_checked(Input::empty(), &opts()).unwrap().r0;
    assert_eq!(want, 10 * 1000 + 5);
    assert_eq!(jit_run(&jit, Input::empty()).unwrap().r0, want);
    // An Exit inside a callback ends the callback only, as in the interpreter.
    let src = "
        mov %r1, 3
        lddw %r2, func cb
        mov %r3, 0
        call 181
        add %r0, 100
        exit
    cb:
        mov %r1, 21
        call 3
        exit";
    let (interp, jit) = program(src, &reg);
    let want = interp.run_checked(Input::empty(), &opts()).unwrap().r0;
    // Each callback returned 42 (not 1, so the loop went on): 3 iterations.
    assert_eq!(want, 3 + 100);
    assert_eq!(jit_run(&jit, Input::empty()).unwrap().r0, want);
    // A reference that names no function fails the helper.
    let (_, jit) = program(
        "mov %r1, 1\nlddw %r2, 0xbf00000000000003\nmov %r3, 0\ncall 181\nexit",
        &reg,
    );
    let err = jit_run(&jit, Input::empty()).unwrap_err();
    assert!(err.to_string().contains("names no function"), "{err}");
}

#[test]
fn tail_calls_are_refused_with_an_explicit_error() {
    let table: Arc<Mutex<Vec<Arc<Program>>>> = Arc::default();
    let mut reg = HelperRegistry::new();
    let t = table.clone();
    reg.register(12, "tail_call", move |_, a| {
        match t.lock().unwrap().get(a[1] as usize).cloned() {
            Some(p) => Err(Interrupt::TailCall(p)),
            None => Ok((-2i64) as u64),
        }
    });
    let reg = Arc::new(reg);
    let (p0, jit) = program("mov %r2, 0\ncall 12\nmov %r0, 77\nexit", &reg);
    table.lock().unwrap().push(Arc::new(p0));
    assert_eq!(
        jit_run(&jit, Input::empty()).unwrap_err(),
        RunError::Unsupported {
            pc: 1,
            what: "a tail call"
        }
    );
    // A failed tail call is an ordinary helper call.
    let (_, jit) = program("mov %r2, 5\ncall 12\nmov %r0, 77\nexit", &reg);
    assert_eq!(jit_run(&jit, Input::empty()).unwrap().r0, 77);
}

#[test]
fn legacy_packet_loads_read_network_order_and_stop_outside_the_packet() {
    let reg = Arc::new(HelperRegistry::new());
    let ld = |insns: &[Insn]| {
        let mut pkt = [0x12, 0x34, 0x56, 0x78, 0x9a];
        both_engines(insns, &mut pkt, &reg).unwrap().r0
    };
    let abs = |size, imm| Insn::LdAbs { size, imm };
    let ind = |size, imm| Insn::LdInd {
        size,
        src: Reg::R3,
        imm,
    };
    assert_eq!(ld(&[abs(MemSize::H, 1), Insn::Exit]), 0x3456);
    assert_eq!(ld(&[abs(MemSize::W, 1), Insn::Exit]), 0x3456_789a);
    assert_eq!(ld(&[abs(MemSize::B, 4), Insn::Exit]), 0x9a);
    for (r3, imm) in [(3, 1), (-1, 1), (0, -1), (5, 0), (0x7fff_ffff, 1), (4, 0)] {
        for size in [MemSize::B, MemSize::H, MemSize::W] {
            ld(&[mov(Reg::R3, r3), ind(size, imm), Insn::Exit]);
        }
    }
    // Outside the packet the program ends with 0, from a subprogram too.
    let out = ld(&[
        Insn::Call(CallTarget::Local(2)),
        mov(Reg::R0, 9),
        Insn::Exit,
        abs(MemSize::W, 2),
        Insn::Exit,
    ]);
    assert_eq!(out, 0);
    // Without a packet, an error.
    let jit = JitProgram::from_bytes(
        &encode_program(&[abs(MemSize::B, 0), Insn::Exit]),
        reg.clone(),
    )
    .unwrap();
    assert_eq!(
        jit_run(&jit, Input::empty()).unwrap_err(),
        RunError::NoPacket { pc: 0 }
    );
}

#[test]
fn falling_off_the_end_is_an_error() {
    let reg = Arc::new(HelperRegistry::new());
    for insns in [
        vec![mov(Reg::R0, 1)],
        vec![Insn::Jump {
            width: Width::W64,
            cond: JmpCond::Eq,
            dst: Reg::R1,
            src: Source::Imm(0),
            off: -1,
        }],
    ] {
        let jit = JitProgram::from_bytes(&encode_program(&insns), reg.clone()).unwrap();
        assert_eq!(
            jit_run(&jit, Input::empty().with_args([1, 0, 0, 0, 0])).unwrap_err(),
            RunError::FellOffEnd { pc: 1 }
        );
    }
}

#[test]
fn function_references_are_the_interpreters_handles() {
    let src = "lddw %r0, func f\nexit\nf:\nmov %r0, 1\nexit";
    let reg = Arc::new(HelperRegistry::new());
    let (interp, jit) = program(src, &reg);
    let want = interp.run_checked(Input::empty(), &opts()).unwrap().r0;
    assert_eq!(want, waggle_vm::FUNC_REF_TAG | 2);
    assert_eq!(jit_run(&jit, Input::empty()).unwrap().r0, want);
}

#[test]
fn compiled_code_is_never_writable_and_executable() {
    let reg = loop_registry();
    let (_, jit) = program(LOOP_PROGRAM, &reg);
    assert!(jit.compile_time() > std::time::Duration::ZERO);
    assert!(jit.code_size() > 0);
    // No mapping of this process is both writable and executable.
    let maps = std::fs::read_to_string("/proc/self/maps").unwrap_or_default();
    let wx: Vec<&str> = maps
        .lines()
        .filter(|l| {
            let perms = l.split_whitespace().nth(1).unwrap_or("");
            perms.contains('w') && perms.contains('x')
        })
        .collect();
    assert!(wx.is_empty(), "writable and executable mappings: {wx:?}");
    assert_eq!(jit_run(&jit, Input::empty()).unwrap().r0, 10 * 1000 + 5);
}

#[test]
fn a_call_past_the_last_instruction_runs_off_the_end() {
    // The decoder refuses this; hand-built instructions can still say it.
    let reg = Arc::new(HelperRegistry::new());
    let insns = [(0, mov(Reg::R0, 1)), (1, Insn::Call(CallTarget::Local(0)))];
    let interp = Program::new(&insns, reg.clone()).unwrap();
    let jit = JitProgram::new(&insns, reg).unwrap();
    let want = interp.run_checked(Input::empty(), &opts()).unwrap_err();
    assert_eq!(want, RunError::FellOffEnd { pc: 2 });
    assert_eq!(jit_run(&jit, Input::empty()).unwrap_err(), want);
}

/// A helper with a direct entry point is called through it, with `r1`..`r5`,
/// and the registers the program keeps survive the call. The interpreter
/// calls the registered function; here it returns something else, so the
/// two tell which one ran.
#[test]
fn helpers_with_a_native_entry_point_are_called_directly() {
    extern "C" fn weighted(a: u64, b: u64, c: u64, d: u64, e: u64) -> u64 {
        a + 10 * b + 100 * c + 1000 * d + 10000 * e
    }
    let mut reg = HelperRegistry::new();
    reg.register_native(9, "weighted", |_, _| Ok(7), weighted);
    let reg = Arc::new(reg);
    let src = "mov %r6, 40000\nmov %r1, 1\nmov %r2, 2\nmov %r3, 3\nmov %r4, 4\nmov %r5, 5\n\
               call 9\nadd %r0, %r6\nexit";
    let (interp, jit) = program(src, &reg);
    assert_eq!(jit_run(&jit, Input::empty()).unwrap().r0, 54321 + 40000);
    assert_eq!(
        interp.run_checked(Input::empty(), &opts()).unwrap().r0,
        7 + 40000
    );
}

/// With constant blinding, no immediate of the program is in the machine
/// code (without it, they are), and results do not change: ALU, jump, store
/// and LD_IMM64 immediates, and a constant divisor, whose zero test the
/// blinded code keeps. The constants meet a value read from memory, so
/// that the code generator cannot fold them away.
#[test]
fn blinded_constants_are_absent_from_the_code_and_change_nothing() {
    let reg = Arc::new(HelperRegistry::new());
    let src = "ldxdw %r6, [%r1]\n\
               mov %r0, %r6\n\
               add %r0, 0x5a3c1e2f\n\
               xor %r0, 0x7c5e3f4b\n\
               lddw %r3, 0x1234567890abcdef\n\
               add %r0, %r3\n\
               stw [%r10-8], 0x4e6d8ca1\n\
               ldxw %r2, [%r10-8]\n\
               mul %r0, %r2\n\
               jeq %r6, 0x3b2a1908, +1\n\
               add %r0, 1\n\
               div %r0, 0x1d3b5a79\n\
               exit";
    let insns = decode_program(&encode_program(&assemble(src, Syntax::Ubpf).unwrap())).unwrap();
    let compile = |blind_constants| {
        let opts = JitOptions {
            blind_constants,
            ..JitOptions::default()
        };
        JitProgram::compile(&insns, reg.clone(), &opts).unwrap()
    };
    let (plain, blinded) = (compile(false), compile(true));
    let (interp, _) = program(src, &reg);
    for input in [0x3b2a1908u64, 7, u64::MAX] {
        let mut mem = input.to_le_bytes();
        let expected = interp
            .run_checked(Input::memory(&mut mem), &opts())
            .unwrap()
            .r0;
        for jit in [&plain, &blinded] {
            let got = jit_run(jit, Input::memory(&mut mem)).unwrap().r0;
            assert_eq!(got, expected, "input {input:#x}");
        }
    }
    let contains = |jit: &JitProgram, v: u32| {
        jit.native_code()
            .any(|(_, code)| code.windows(4).any(|w| w == v.to_le_bytes()))
    };
    for imm in [0x5a3c1e2f, 0x7c5e3f4b, 0x90abcdef, 0x4e6d8ca1, 0x3b2a1908] {
        assert!(contains(&plain, imm), "{imm:#x} is in the plain code");
        assert!(!contains(&blinded, imm), "{imm:#x} is in the blinded code");
    }
}

/// A registry whose helper 12 tail-calls `table[r2]` (at most 33 times in a
/// chain, as Linux) and whose helper 13 records the chain's count so far.
fn tail_call_registry(
    table: &Arc<Mutex<Vec<Arc<Program>>>>,
    counts: &Arc<Mutex<Vec<u32>>>,
) -> Arc<HelperRegistry> {
    let mut reg = HelperRegistry::new();
    let t = table.clone();
    reg.register(12, "tail_call", move |cx, a| {
        match t.lock().unwrap().get(a[1] as usize).cloned() {
            Some(p) if cx.tail_calls() < 33 => Err(Interrupt::TailCall(p)),
            _ => Ok((-2i64) as u64),
        }
    });
    let c = counts.clone();
    reg.register(13, "count", move |cx, _| {
        c.lock().unwrap().push(cx.tail_calls());
        Ok(0)
    });
    Arc::new(reg)
}

#[test]
fn tail_calls_go_on_in_the_targets_code_on_the_same_frame() {
    let table: Arc<Mutex<Vec<Arc<Program>>>> = Arc::default();
    let counts: Arc<Mutex<Vec<u32>>> = Arc::default();
    let reg = tail_call_registry(&table, &counts);
    // 0: writes its frame, then tail-calls 1 with r1 = 5 and r6 = 99.
    let (p0, j0) = program(
        "stdw [%r10-8], 7\nmov %r6, 99\nmov %r1, 5\nmov %r2, 1\ncall 12\nmov %r0, 77\nexit",
        &reg,
    );
    // 1: r1 * 100 + what 0 left on the frame + r6 (cleared): 507.
    let (p1, j1) = program(
        "mov %r0, %r1\nmul %r0, 100\nldxdw %r2, [%r10-8]\nadd %r0, %r2\nadd %r0, %r6\nexit",
        &reg,
    );
    // 2: counts and tail-calls itself until the helper refuses.
    let (p2, j2) = program("call 13\nmov %r2, 2\ncall 12\nmov %r0, 1\nexit", &reg);
    let progs: Vec<Arc<Program>> = [p0, p1, p2].into_iter().map(Arc::new).collect();
    *table.lock().unwrap() = progs.clone();
    let jits = [&j0, &j1, &j2];
    let targets = |target: &Arc<Program>| {
        progs
            .iter()
            .position(|p| Arc::ptr_eq(p, target))
            .map(|i| jits[i])
            .ok_or(TailCallTargetError::Unknown)
    };
    let run = |i: usize| {
        // SAFETY: the programs touch only their stack.
        let jit =
            unsafe { jits[i].run_verified(1, [0; 5], &|| None, None, &opts(), Some(&targets)) };
        // SAFETY: as above.
        let interp = unsafe { progs[i].run_unchecked(Input::empty(), &opts()) };
        // Compiled code counts no instructions.
        let r0 = |r: Result<Outcome, RunError>| r.map(|o| o.r0);
        assert_eq!(r0(jit.clone()), r0(interp), "program {i}");
        jit
    };
    assert_eq!(run(0).unwrap().r0, 507);
    assert_eq!(run(2).unwrap().r0, 1);
    // Both engines saw the counts 0..=33, each in its own run.
    let seen = std::mem::take(&mut *counts.lock().unwrap());
    let chain: Vec<u32> = (0..=33).collect();
    assert_eq!(seen, [chain.clone(), chain].concat());
    // Without targets, a tail call is refused as before; with targets that
    // do not know the program, it fails the helper.
    // SAFETY: as above.
    let err = unsafe { j0.run_verified(1, [0; 5], &|| None, None, &opts(), None) }.unwrap_err();
    assert!(matches!(err, RunError::Unsupported { pc: 4, .. }), "{err}");
    let nothing = |_: &Arc<Program>| Err(TailCallTargetError::Unknown);
    // SAFETY: as above.
    let err =
        unsafe { j0.run_verified(1, [0; 5], &|| None, None, &opts(), Some(&nothing)) }.unwrap_err();
    assert!(err.to_string().contains("unknown to this runtime"), "{err}");
}

#[test]
fn tail_calls_from_bpf_to_bpf_functions_are_refused_as_in_the_interpreter() {
    let table: Arc<Mutex<Vec<Arc<Program>>>> = Arc::default();
    let counts: Arc<Mutex<Vec<u32>>> = Arc::default();
    let reg = tail_call_registry(&table, &counts);
    let (p, jit) = program(
        "call local f\nmov %r0, 0\nexit\nf:\nmov %r2, 0\ncall 12\nexit",
        &reg,
    );
    let p = Arc::new(p);
    table.lock().unwrap().push(p.clone());
    let targets = |_: &Arc<Program>| Ok(&jit);
    // SAFETY: the program touches nothing.
    let got = unsafe { jit.run_verified(1, [0; 5], &|| None, None, &opts(), Some(&targets)) };
    // SAFETY: as above.
    let want = unsafe { p.run_unchecked(Input::empty(), &opts()) };
    assert_eq!(want, Err(RunError::TailCallInSubprogram { pc: 4 }));
    assert_eq!(got, want);
}

/// A product with a factor that is 0 or 1 (`x & 1`, compiled as a
/// selection rather than a multiplication) gives the multiplication's
/// result, in both widths and with the bit on either side.
#[test]
fn products_with_a_single_bit_factor_agree() {
    for width in ["", "32"] {
        for (x, c) in [
            (0u64, -0x12477ce0i64),
            (1, -0x12477ce0),
            (3, 7),
            (2, -1),
            (u64::MAX, 0x7fff_ffff),
        ] {
            for bit_first in [true, false] {
                let (a, b) = if bit_first {
                    ("%r1", "%r2")
                } else {
                    ("%r2", "%r1")
                };
                let src = format!(
                    "lddw %r1, {x:#x}\nand{width} %r1, 1\nlddw %r2, {c:#x}\nmov{width} %r0, {a}\nmul{width} %r0, {b}\nexit"
                );
                let insns = assemble(&src, Syntax::Ubpf).unwrap();
                let expected = {
                    let bit = x & 1;
                    let p = bit.wrapping_mul(c as u64);
                    if width == "32" {
                        p as u32 as u64
                    } else {
                        p
                    }
                };
                assert_eq!(r0_of(&insns), expected, "{src}");
            }
        }
    }
}

/// CRC-32 bit by bit, as clang compiles it for BPF (`crc >> 1 ^ poly *
/// (crc & 1)`): the products become conditional moves of the polynomial,
/// which the loop keeps in a register, and the check value of "123456789"
/// comes out.
#[test]
fn bitwise_crc32_gives_the_check_value() {
    let src = "mov32 %r0, -1\n\
               mov %r2, 0\n\
               byte:\n\
               mov %r3, %r1\n\
               add %r3, %r2\n\
               ldxb %r4, [%r3]\n\
               xor32 %r0, %r4\n\
               mov %r5, 0\n\
               bit:\n\
               mov32 %r6, %r0\n\
               and32 %r6, 1\n\
               mul32 %r6, 0xedb88320\n\
               rsh32 %r0, 1\n\
               xor32 %r0, %r6\n\
               add %r5, 1\n\
               jne %r5, 8, bit\n\
               add %r2, 1\n\
               jne %r2, 9, byte\n\
               xor32 %r0, -1\n\
               exit";
    let reg = Arc::new(HelperRegistry::new());
    let insns = assemble(src, Syntax::Ubpf).unwrap();
    let mut mem = *b"123456789";
    assert_eq!(
        both_engines(&insns, &mut mem, &reg).unwrap().r0,
        0xcbf4_3926
    );
    // `cmov` (0f 40+cc, then ModRM) from a register, never from the
    // constant pool (ModRM mod 00, r/m 101: RIP-relative).
    let (_, jit) = program(src, &reg);
    let cmov_operands: Vec<u8> = jit
        .native_code()
        .flat_map(|(_, code)| {
            code.windows(3)
                .filter(|w| w[0] == 0x0f && (0x40..=0x4f).contains(&w[1]))
                .map(|w| w[2])
                .collect::<Vec<_>>()
        })
        .collect();
    assert!(
        cmov_operands.iter().any(|m| m >> 6 == 3),
        "no cmov from a register"
    );
    assert!(
        !cmov_operands.iter().any(|m| m & 0xc7 == 0x05),
        "a cmov reads the constant pool"
    );
}

/// With `verified`, a frame nothing points into lives in registers: stores
/// and loads of every size at every position inside a slot, overlapping,
/// sign-extending, across a loop and alone in their slot give what the
/// interpreter gives; a
/// program that copies `r10` keeps its stack in memory and agrees too.
#[test]
fn stack_slots_in_registers_agree_with_the_stack_in_memory() {
    let reg = Arc::new(HelperRegistry::new());
    // Every byte is written before it is read, as the verifier requires
    // (the stack is not zeroed for verified programs).
    let body = "ldxdw %r6, [%r1]\n\
                stxdw [%r10-8], %r6\n\
                stxdw [%r10-16], %r6\n\
                stdw [%r10-24], 0x5a5a\n\
                stxb [%r10-7], %r6\n\
                stxh [%r10-12], %r6\n\
                stw [%r10-16], -2\n\
                stxw [%r10-24], %r6\n\
                sth [%r10-18], 0x7f01\n\
                mov %r2, 0\n\
                loop:\n\
                ldxdw %r3, [%r10-8]\n\
                add %r3, %r2\n\
                stxdw [%r10-8], %r3\n\
                ldxb %r4, [%r10-5]\n\
                stxb [%r10-6], %r4\n\
                add %r2, 1\n\
                jlt %r2, 5, loop\n\
                ldxdw %r0, [%r10-8]\n\
                ldxsh %r5, [%r10-12]\n\
                xor %r0, %r5\n\
                ldxsw %r5, [%r10-16]\n\
                add %r0, %r5\n\
                ldxdw %r5, [%r10-24]\n\
                mul %r0, %r5\n\
                ldxsb %r5, [%r10-17]\n\
                add %r0, %r5\n\
                ldxw %r5, [%r10-20]\n\
                add %r0, %r5\n\
                stxh [%r10-30], %r6\n\
                ldxh %r5, [%r10-30]\n\
                add %r0, %r5\n\
                stxw [%r10-36], %r0\n\
                ldxsw %r5, [%r10-36]\n\
                add %r0, %r5\n";
    for src in [
        format!("{body}exit"),
        // A copy of r10: the frame stays memory.
        format!("{body}mov %r7, %r10\nldxdw %r5, [%r7-8]\nadd %r0, %r5\nexit"),
    ] {
        let insns =
            decode_program(&encode_program(&assemble(&src, Syntax::Ubpf).unwrap())).unwrap();
        let jit_opts = JitOptions {
            verified: true,
            ..JitOptions::default()
        };
        let jit = JitProgram::compile(&insns, reg.clone(), &jit_opts).unwrap();
        let (interp, _) = program(&src, &reg);
        for input in [0x8877_6655_4433_2211u64, 0, u64::MAX, 0x80] {
            let mut mem = input.to_le_bytes();
            let want = interp
                .run_checked(Input::memory(&mut mem), &opts())
                .unwrap()
                .r0;
            let region = waggle_vm::Region::of_slice(&mem, true);
            // SAFETY: the program reads its 8 input bytes and its stack.
            let got = unsafe {
                jit.run_verified(1, [region.start, 8, 0, 0, 0], &|| None, None, &opts(), None)
            }
            .unwrap()
            .r0;
            assert_eq!(got, want, "input {input:#x}\n{src}");
        }
    }
}

/// Bytes put together with shifts and ors (one 16-, 32- or 64-bit load on
/// the JIT) give the interpreter's value in both byte orders, both widths
/// and both operand orders, with the byte loads used again elsewhere, after
/// a store to one of the bytes, with a store between the loads and with a
/// shift that drops a byte.
#[test]
fn byte_pairs_read_as_one_load_agree() {
    let reg = Arc::new(HelperRegistry::new());
    let programs = [
        // Big-endian, 32-bit: p[2] << 8 | p[3].
        "ldxb %r2, [%r1+3]\nldxb %r0, [%r1+2]\nlsh32 %r0, 8\nor32 %r0, %r2\nexit",
        // Little-endian, 64-bit, operands the other way round.
        "ldxb %r0, [%r1+4]\nldxb %r2, [%r1+5]\nlsh %r2, 8\nor %r2, %r0\nmov %r0, %r2\nexit",
        // The low byte changes in memory after it was read.
        "ldxb %r2, [%r1+1]\nstb [%r1+1], 0x77\nldxb %r0, [%r1]\nlsh32 %r0, 8\nor32 %r0, %r2\nexit",
        // Not adjacent: no pair.
        "ldxb %r2, [%r1+3]\nldxb %r0, [%r1+1]\nlsh32 %r0, 8\nor32 %r0, %r2\nexit",
        // The byte loads used again after the or.
        "ldxb %r2, [%r1+7]\nldxb %r3, [%r1+6]\nmov %r0, %r3\nlsh %r0, 8\nor %r0, %r2\nadd %r0, %r3\nadd %r0, %r2\nexit",
        // clang's big-endian u32 (`p[0] << 24 | ... | p[3]`).
        BE32,
        // Little-endian u32 at an odd offset, 32-bit operations.
        "ldxb %r3, [%r1+8]\nlsh32 %r3, 24\nldxb %r0, [%r1+7]\nlsh32 %r0, 16\nor32 %r0, %r3\nldxb %r3, [%r1+6]\nlsh32 %r3, 8\nor32 %r0, %r3\nldxb %r1, [%r1+5]\nor32 %r0, %r1\nexit",
        // clang's big-endian u64: a 32-bit half shifted up, bytes below.
        "ldxb %r2, [%r1+4]\nlsh %r2, 24\nldxb %r0, [%r1+5]\nlsh %r0, 16\nor %r0, %r2\nldxb %r2, [%r1]\nlsh32 %r2, 24\nldxb %r3, [%r1+1]\nlsh32 %r3, 16\nor32 %r3, %r2\nldxb %r2, [%r1+2]\nlsh32 %r2, 8\nor32 %r3, %r2\nldxb %r2, [%r1+3]\nor32 %r3, %r2\nlsh %r3, 32\nor %r0, %r3\nldxb %r2, [%r1+6]\nlsh %r2, 8\nor %r0, %r2\nldxb %r1, [%r1+7]\nor %r0, %r1\nexit",
        // A 32-bit shift drops the top byte of a 64-bit pair: no u32.
        "ldxh %r2, [%r1+1]\nlsh32 %r2, 24\nldxb %r0, [%r1]\nlsh %r0, 16\nor %r0, %r2\nldxb %r3, [%r1+2]\nlsh %r3, 8\nor %r0, %r3\nldxb %r3, [%r1+3]\nor %r0, %r3\nexit",
        // Loads used again, one of them after a store to its byte.
        "ldxb %r2, [%r1+3]\nldxb %r3, [%r1+2]\nldxb %r4, [%r1+1]\nldxb %r5, [%r1]\nmov %r0, %r5\nlsh %r0, 8\nor %r0, %r4\nlsh %r0, 8\nor %r0, %r3\nlsh %r0, 8\nor %r0, %r2\nstb [%r1+2], 0x55\nadd %r0, %r3\nlsh %r4, 40\nadd %r0, %r4\nexit",
        // A store between the loads: no wide load.
        "ldxb %r3, [%r1]\nlsh32 %r3, 24\nldxb %r0, [%r1+1]\nlsh32 %r0, 16\nor32 %r0, %r3\nstb [%r1+3], 0x11\nldxb %r3, [%r1+2]\nlsh32 %r3, 8\nor32 %r0, %r3\nldxb %r1, [%r1+3]\nor32 %r0, %r1\nexit",
    ];
    for src in programs {
        let insns = assemble(src, Syntax::Ubpf).unwrap();
        for fill in [
            [0x12u8, 0x34, 0x56, 0x78, 0x9a, 0xbc, 0xde, 0xf0, 0x11],
            [0xff; 9],
            [0; 9],
        ] {
            let mut mem = fill;
            both_engines(&insns, &mut mem, &reg).unwrap();
        }
    }
    // And the values themselves, for the two pairs.
    let mut mem = [0x12u8, 0x34, 0x56, 0x78, 0x9a, 0xbc, 0xde, 0xf0];
    let be = assemble(programs[0], Syntax::Ubpf).unwrap();
    assert_eq!(both_engines(&be, &mut mem, &reg).unwrap().r0, 0x5678);
    let le = assemble(programs[1], Syntax::Ubpf).unwrap();
    assert_eq!(both_engines(&le, &mut mem, &reg).unwrap().r0, 0xbc9a);
    let mut mem = [0x12u8, 0x34, 0, 0, 0, 0, 0, 0];
    let stored = assemble(programs[2], Syntax::Ubpf).unwrap();
    assert_eq!(both_engines(&stored, &mut mem, &reg).unwrap().r0, 0x1234);
    let mut mem = [0x12u8, 0x34, 0x56, 0x78, 0x9a, 0xbc, 0xde, 0xf0, 0x11];
    let be32 = assemble(BE32, Syntax::Ubpf).unwrap();
    assert_eq!(both_engines(&be32, &mut mem, &reg).unwrap().r0, 0x1234_5678);
    let le32 = assemble(programs[6], Syntax::Ubpf).unwrap();
    assert_eq!(both_engines(&le32, &mut mem, &reg).unwrap().r0, 0x11f0_debc);
    let be64 = assemble(programs[7], Syntax::Ubpf).unwrap();
    assert_eq!(
        both_engines(&be64, &mut mem, &reg).unwrap().r0,
        0x1234_5678_9abc_def0
    );
    // The u32 is one load and a byte swap: `bswap r32` (0f c8+r), with or
    // without a REX prefix, and one byte load at most (the others gone).
    let (_, jit) = program(BE32, &reg);
    let code: Vec<u8> = jit.native_code().flat_map(|(_, c)| c.to_vec()).collect();
    assert!(
        code.windows(2)
            .any(|w| w[0] == 0x0f && (0xc8..=0xcf).contains(&w[1])),
        "no bswap in {code:02x?}"
    );
}

/// clang's big-endian u32 read of `p[0..4]`.
const BE32: &str = "ldxb %r3, [%r1]\nlsh %r3, 24\nldxb %r2, [%r1+1]\nlsh %r2, 16\nor %r2, %r3\nldxb %r3, [%r1+2]\nlsh %r3, 8\nor %r2, %r3\nldxb %r3, [%r1+3]\nor %r2, %r3\nmov %r0, %r2\nexit";

/// Counted loops (`i += 1; if i != N`) compare the new counter with `N`,
/// not the old one with `N - 1` as Cranelift's optimiser rewrites it (which
/// keeps both counters alive and costs a move and a jump per iteration);
/// the results stay the interpreter's, for 64- and 32-bit counters, counting
/// up or down, and for counters that wrap. (The loops are made too long to
/// be emitted twice, which changes which compares there are.)
#[test]
fn counted_loops_compare_the_new_counter() {
    let reg = Arc::new(HelperRegistry::new());
    let contains = |jit: &JitProgram, v: u32| {
        jit.native_code()
            .any(|(_, code)| code.windows(4).any(|w| w == v.to_le_bytes()))
    };
    let filler = "xor %r5, %r0\n".repeat(14);
    let counted = |start: &str, step: &str, compare: &str| {
        format!("mov %r0, 0\n{start}\nloop:\nadd %r0, %r4\n{filler}{step}\n{compare}, loop\nexit")
    };
    let cases = [
        // sum of 0..0x1234 with a 64-bit counter
        (
            counted("mov %r4, 0", "add %r4, 1", "jne %r4, 0x1234"),
            0x1234,
            0x1233,
        ),
        // the same with a 32-bit counter that starts high and wraps to 0x1234
        (
            counted("mov32 %r4, -16", "add32 %r4, 1", "jne32 %r4, 0x1234"),
            0x1234,
            0x1233,
        ),
        // counting down
        (
            counted("mov %r4, 0x2345", "add %r4, -1", "jne %r4, 0x1111"),
            0x1111,
            0x1112,
        ),
    ];
    for (src, new_k, old_k) in cases {
        let src = src.as_str();
        let (interp, jit) = program(src, &reg);
        let expected = interp
            .run_checked(Input::memory(&mut []), &opts())
            .unwrap()
            .r0;
        assert_eq!(
            jit_run(&jit, Input::memory(&mut [])).unwrap().r0,
            expected,
            "{src}"
        );
        assert!(contains(&jit, new_k), "{new_k:#x} is not compared in {src}");
        assert!(!contains(&jit, old_k), "{old_k:#x} is compared in {src}");
    }
}

/// Compiled functions start on 64-byte lines and are padded so that their
/// innermost loop starts a line; the padding changes no result.
#[test]
fn functions_start_on_cache_lines() {
    let reg = Arc::new(HelperRegistry::new());
    // main sums f(i) for i in 0..100; f loops i times.
    let src = "mov %r6, 0\n\
               mov %r7, 0\n\
               mov %r1, %r6\n\
               call local +5\n\
               add %r7, %r0\n\
               add %r6, 1\n\
               jne %r6, 100, -5\n\
               mov %r0, %r7\n\
               exit\n\
               mov %r0, 0\n\
               jeq %r1, 0, +3\n\
               add %r0, %r1\n\
               sub %r1, 1\n\
               ja -4\n\
               exit";
    let (interp, jit) = program(src, &reg);
    let expected = interp
        .run_checked(Input::memory(&mut []), &opts())
        .unwrap()
        .r0;
    assert_eq!(expected, (0..100u64).map(|i| i * (i + 1) / 2).sum::<u64>());
    assert_eq!(jit_run(&jit, Input::memory(&mut [])).unwrap().r0, expected);
    assert_eq!(jit.function_count(), 2);
    for (entry, code) in jit.native_code() {
        assert_eq!(code.as_ptr() as usize % 64, 0, "function {entry}");
        // Each function has one loop: some backward jump (`jcc rel32` or
        // `jmp rel32`) goes to a line start.
        let backward_targets: Vec<usize> = (0..code.len())
            .filter_map(|at| {
                let (len, rel_at) = match code[at..] {
                    [0x0f, 0x80..=0x8f, ..] => (6, at + 2),
                    [0xe9, ..] => (5, at + 1),
                    _ => return None,
                };
                let rel = i32::from_le_bytes(code.get(rel_at..rel_at + 4)?.try_into().ok()?);
                let target = (at + len) as i64 + i64::from(rel);
                (0..at as i64).contains(&target).then_some(target as usize)
            })
            .collect();
        assert!(
            backward_targets.iter().any(|t| t % 64 == 0),
            "function {entry}: no loop head on a line: {backward_targets:x?}"
        );
    }
}

/// A jump over one or two ALU instructions becomes conditional moves (no
/// branch for the data to mispredict), with the interpreter's results for
/// both outcomes; a skipped load keeps the branch.
#[test]
fn short_forward_jumps_over_alu_code_become_conditional_moves() {
    let reg = Arc::new(HelperRegistry::new());
    let has_cmov = |jit: &JitProgram| {
        jit.native_code().any(|(_, code)| {
            code.windows(2)
                .any(|w| w[0] == 0x0f && (0x40..=0x4f).contains(&w[1]))
        })
    };
    // max(r6, r7) and a second register moved with it
    let cases = [
        ("ldxdw %r6, [%r1]\nldxdw %r7, [%r1+8]\nmov %r0, %r6\nmov %r2, 1\njgt %r6, %r7, +2\nmov %r0, %r7\nmov %r2, 2\nlsh %r2, 8\nadd %r0, %r2\nexit", true),
        ("ldxdw %r6, [%r1]\nldxdw %r7, [%r1+8]\nmov %r0, %r6\njsgt %r6, %r7, +1\nadd32 %r0, %r7\nexit", true),
        // a load keeps its branch (it may not run where the program
        // would not run it)
        ("ldxdw %r6, [%r1]\nldxdw %r7, [%r1+8]\nmov %r0, %r6\njgt %r6, %r7, +1\nldxdw %r0, [%r1+8]\nexit", false),
    ];
    for (src, converted) in cases {
        let (interp, jit) = program(src, &reg);
        assert_eq!(has_cmov(&jit), converted, "{src}");
        for (a, b) in [(1u64, 2u64), (2, 1), (5, 5), (u64::MAX, 3), (3, u64::MAX)] {
            let mut mem = [a.to_le_bytes(), b.to_le_bytes()].concat();
            let expected = interp
                .run_checked(Input::memory(&mut mem), &opts())
                .unwrap()
                .r0;
            assert_eq!(
                jit_run(&jit, Input::memory(&mut mem)).unwrap().r0,
                expected,
                "{src} {a} {b}"
            );
        }
    }
}

/// Whether some compiled function jumps indirectly (`jmp *%reg`, with or
/// without a REX prefix): only jump tables do.
fn jumps_indirectly(jit: &JitProgram) -> bool {
    jit.native_code().any(|(_, code)| {
        code.windows(2)
            .any(|w| w[0] == 0xff && (0xe0..=0xe7).contains(&w[1]))
    })
}

/// A state machine whose `switch` clang would compile into a tree of
/// jumps (BPF has no indirect jump) runs through one jump table, with the
/// interpreter's results for states inside and outside the table; a
/// 64-bit tree with negative cases wraps its table around zero; three
/// cases stay compares.
#[test]
fn trees_of_jumps_on_one_register_become_jump_tables() {
    let reg = Arc::new(HelperRegistry::new());
    // r7 is the state: 0..=4 are cases, anything else resets to 0.
    let machine = "mov %r0, 0\n\
                   mov32 %r7, 0\n\
                   mov %r6, 0\n\
                   loop:\n\
                   mov %r3, %r1\n\
                   add %r3, %r6\n\
                   ldxb %r2, [%r3]\n\
                   jsgt32 %r7, 1, high\n\
                   jeq32 %r7, 0, s0\n\
                   jeq32 %r7, 1, s1\n\
                   ja other\n\
                   high:\n\
                   jeq32 %r7, 2, s2\n\
                   jeq32 %r7, 3, s3\n\
                   jeq32 %r7, 4, s4\n\
                   other:\n\
                   add %r0, 1000\n\
                   mov32 %r7, 0\n\
                   ja next\n\
                   s0:\n\
                   mov32 %r7, %r2\n\
                   and32 %r7, 7\n\
                   ja next\n\
                   s1:\n\
                   add %r0, %r2\n\
                   mov32 %r7, %r2\n\
                   rsh32 %r7, 5\n\
                   ja next\n\
                   s2:\n\
                   mul %r0, 3\n\
                   mov32 %r7, 4\n\
                   ja next\n\
                   s3:\n\
                   xor %r0, %r2\n\
                   mov32 %r7, 1\n\
                   ja next\n\
                   s4:\n\
                   lsh %r0, 1\n\
                   mov32 %r7, -1\n\
                   next:\n\
                   add %r6, 1\n\
                   jne %r6, 32, loop\n\
                   lsh %r7, 56\n\
                   or %r0, %r7\n\
                   exit";
    let (interp, jit) = program(machine, &reg);
    assert!(jumps_indirectly(&jit), "no jump table");
    let mut seed = 0x9e37_79b9_7f4a_7c15u64;
    for _ in 0..200 {
        let mut mem = [0u8; 32];
        for byte in &mut mem {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            *byte = seed as u8;
        }
        let expected = interp
            .run_checked(Input::memory(&mut mem), &opts())
            .unwrap()
            .r0;
        assert_eq!(jit_run(&jit, Input::memory(&mut mem)).unwrap().r0, expected);
    }
    // r0 = 10 + case for r2 in -2..=2, else 99.
    let signed = "ldxdw %r2, [%r1]\n\
                  jeq %r2, -2, m2\n\
                  jeq %r2, -1, m1\n\
                  jeq %r2, 0, z\n\
                  jeq %r2, 1, p1\n\
                  jeq %r2, 2, p2\n\
                  mov %r0, 99\nexit\n\
                  m2:\nmov %r0, 8\nexit\n\
                  m1:\nmov %r0, 9\nexit\n\
                  z:\nmov %r0, 10\nexit\n\
                  p1:\nmov %r0, 11\nexit\n\
                  p2:\nmov %r0, 12\nexit";
    let (interp, jit) = program(signed, &reg);
    assert!(jumps_indirectly(&jit), "no jump table");
    let values = [
        -4i64,
        -3,
        -2,
        -1,
        0,
        1,
        2,
        3,
        4,
        i64::MIN,
        i64::MAX,
        0xffff_fffe,
        1 << 32,
    ];
    for v in values {
        let mut mem = v.to_le_bytes();
        let expected = interp
            .run_checked(Input::memory(&mut mem), &opts())
            .unwrap()
            .r0;
        let got = jit_run(&jit, Input::memory(&mut mem)).unwrap().r0;
        assert_eq!(got, expected, "value {v:#x}");
        let case = if (-2..=2).contains(&v) {
            (10 + v) as u64
        } else {
            99
        };
        assert_eq!(got, case, "value {v:#x}");
    }
    let three = "ldxdw %r2, [%r1]\n\
                 jeq %r2, 1, a\n\
                 jeq %r2, 2, b\n\
                 jeq %r2, 3, c\n\
                 mov %r0, 0\nexit\n\
                 a:\nmov %r0, 1\nexit\n\
                 b:\nmov %r0, 2\nexit\n\
                 c:\nmov %r0, 3\nexit";
    let (_, jit) = program(three, &reg);
    assert!(!jumps_indirectly(&jit), "a jump table for three cases");
    // Cases before the tree, and a default that runs off the end.
    let off_the_end = "ja start\n\
                       one:\nmov %r0, 1\nexit\n\
                       two:\nmov %r0, 2\nexit\n\
                       three:\nmov %r0, 3\nexit\n\
                       four:\nmov %r0, 4\nexit\n\
                       start:\n\
                       ldxdw %r2, [%r1]\n\
                       jeq %r2, 1, one\n\
                       jeq %r2, 2, two\n\
                       jeq %r2, 3, three\n\
                       jeq %r2, 4, four";
    let (_, jit) = program(off_the_end, &reg);
    assert!(jumps_indirectly(&jit), "no jump table");
    let insns = assemble(off_the_end, Syntax::Ubpf).unwrap();
    for v in 0u64..6 {
        let mut mem = v.to_le_bytes();
        let got = both_engines(&insns, &mut mem, &reg);
        assert_eq!(got.is_ok(), (1..=4).contains(&v), "value {v}: {got:?}");
    }
}

/// Small loops are emitted twice (one backward jump per two iterations):
/// the interpreter's results whichever copy leaves the loop, by the loop's
/// own test or by a break, whatever the trip count's parity.
#[test]
fn loops_emitted_twice_agree_whichever_copy_leaves() {
    let reg = Arc::new(HelperRegistry::new());
    // Sum p[1..=p[0]], stopping at a zero byte.
    let src = "ldxb %r2, [%r1]\n\
               mov %r0, 0\n\
               mov %r3, 1\n\
               loop:\n\
               jgt %r3, %r2, done\n\
               mov %r4, %r1\n\
               add %r4, %r3\n\
               ldxb %r4, [%r4]\n\
               jeq %r4, 0, done\n\
               add %r0, %r4\n\
               add %r3, 1\n\
               ja loop\n\
               done:\n\
               exit";
    let insns = assemble(src, Syntax::Ubpf).unwrap();
    for n in 0..16u8 {
        for zero in [None, Some(1), Some(4), Some(7), Some(15)] {
            let mut mem: [u8; 16] = std::array::from_fn(|k| (k as u8) * 3 + 1);
            mem[0] = n;
            if let Some(z) = zero {
                mem[z] = 0;
            }
            let stop = zero.filter(|&z| z <= n as usize).unwrap_or(n as usize + 1);
            let want: u64 = mem[1..stop].iter().map(|&b| u64::from(b)).sum();
            let got = both_engines(&insns, &mut mem, &reg).unwrap().r0;
            assert_eq!(got, want, "n {n}, zero at {zero:?}");
        }
    }
    // The loop's byte load appears twice, besides the load of p[0].
    let (_, jit) = program(src, &reg);
    let byte_loads: usize = jit
        .native_code()
        .map(|(_, code)| code.windows(2).filter(|w| w == &[0x0f, 0xb6]).count())
        .sum();
    assert_eq!(byte_loads, 3);
}
