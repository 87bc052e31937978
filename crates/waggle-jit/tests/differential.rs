//! The JIT against the interpreter on thousands of random programs that are
//! safe by construction: every register is written before it is read, memory
//! accesses go to the stack at fixed valid offsets or to the input memory at
//! the end, jumps go forward except the back edge of counted loops, and
//! subprograms only call later ones. Registers start from random input
//! memory, not constants, so that Cranelift cannot fold the program away and
//! the generated machine code is what runs. Every program runs in the checked
//! interpreter first (which would catch a generator mistake) and then through
//! the JIT; the results must agree on `r0`, on every register at the end,
//! and on every byte of the stack, which the program's epilogue copies out.

use std::sync::Arc;
use waggle_isa::{
    encode_program, AluOp, AtomicOp, CallTarget, EndianOp, Insn, JmpCond, LdImm64, MemSize, Reg,
    Source, Width,
};
use waggle_jit::JitProgram;
use waggle_vm::{HelperRegistry, Input, Program, RunError, RunOptions};

/// xorshift64*: deterministic, so a failure reproduces from its seed.
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
    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
    fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.below(items.len() as u64) as usize]
    }
    /// Mostly values near the edges of arithmetic.
    fn value(&mut self) -> u64 {
        match self.below(6) {
            0 => self.below(8),
            1 => (self.below(8) as i64 - 8) as u64,
            2 => self.pick(&[
                i64::MIN as u64,
                i64::MAX as u64,
                0x8000_0000,
                0x7fff_ffff,
                0xffff_ffff,
                0x1_0000_0000,
                u64::MAX,
            ]),
            3 => 1 << self.below(64),
            _ => self.next(),
        }
    }
    fn imm(&mut self) -> i32 {
        match self.below(4) {
            0 => self.below(66) as i32 - 1,
            1 => -(self.below(8) as i32),
            2 => self.pick(&[i32::MIN, i32::MAX, -1, 0, 1, 31, 32, 63, 64]),
            _ => self.next() as i32,
        }
    }
}

/// Bytes of the stack the random code uses: `[r10 - 424, r10)`. Below it,
/// `[r10 - 512]` holds the input memory pointer and `[r10 - 504 + 8k]` the
/// final value of `rk`, written by the epilogue.
const FREE_STACK: i64 = 424;
/// Input memory: random words the program reads its starting values from,
/// then overwritten with the 63 dwords of the stack above the saved pointer.
const MEM_LEN: usize = 504;

/// An instruction whose branch or call target is another instruction's
/// index, resolved to a slot offset once the program is laid out.
#[derive(Clone, Copy)]
enum Item {
    Plain(Insn),
    Jump(Insn, usize),
    Call(usize),
}

struct Gen<'r> {
    rng: &'r mut Rng,
    items: Vec<Item>,
    /// Placeholders for calls: (item index, subprogram number).
    calls: Vec<(usize, usize)>,
    /// Registers random code must not write (loop counters).
    reserved: Vec<Reg>,
    /// Subprograms this code may call (those after the current one).
    callable: std::ops::Range<usize>,
    helpers: bool,
    /// Whether this is the main function (whose frame holds the input
    /// memory pointer).
    main: bool,
}

const GPRS: [Reg; 10] = [
    Reg::R0,
    Reg::R1,
    Reg::R2,
    Reg::R3,
    Reg::R4,
    Reg::R5,
    Reg::R6,
    Reg::R7,
    Reg::R8,
    Reg::R9,
];

impl Gen<'_> {
    fn push(&mut self, insn: Insn) {
        self.items.push(Item::Plain(insn));
    }

    fn dst(&mut self) -> Reg {
        loop {
            let r = self.rng.pick(&GPRS);
            if !self.reserved.contains(&r) {
                return r;
            }
        }
    }

    fn src(&mut self) -> Reg {
        self.rng.pick(&GPRS)
    }

    /// Gives `dst` a new value: a constant, or in main (which can reach the
    /// input memory through `[r10 - 512]`) a value loaded from the input,
    /// which Cranelift cannot fold away at compile time.
    fn set(&mut self, dst: Reg) {
        let v = self.rng.value();
        if self.main && self.rng.chance(60) {
            self.push(Insn::Load {
                size: MemSize::DW,
                sign_extend: false,
                dst,
                src: Reg::R10,
                off: -512,
            });
            let word = self.rng.below((MEM_LEN / 8) as u64) as i16;
            self.push(Insn::Load {
                size: MemSize::DW,
                sign_extend: false,
                dst,
                src: dst,
                off: 8 * word,
            });
        } else if self.rng.chance(50) {
            self.push(Insn::LdImm64 {
                dst,
                value: LdImm64::Imm(v),
            });
        } else {
            self.push(Insn::Alu {
                width: Width::W64,
                op: AluOp::Mov,
                dst,
                src: Source::Imm(v as i32),
            });
        }
    }

    /// A stack offset for an access of `size` bytes, aligned if `align`.
    fn stack_off(&mut self, size: MemSize, align: bool) -> i16 {
        let bytes = size.bytes() as i64;
        let mut off = -(self.rng.below((FREE_STACK - bytes + 1) as u64) as i64) - bytes;
        if align {
            off -= off.rem_euclid(bytes);
        }
        off as i16
    }

    /// One random straight-line instruction.
    fn simple(&mut self) {
        let width = if self.rng.chance(50) {
            Width::W64
        } else {
            Width::W32
        };
        match self.rng.below(100) {
            0..=44 => {
                let op = self.rng.pick(&[
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
                    AluOp::Arsh,
                    AluOp::MovSx8,
                    AluOp::MovSx16,
                    AluOp::MovSx32,
                ]);
                let sx = matches!(op, AluOp::MovSx8 | AluOp::MovSx16 | AluOp::MovSx32);
                let width = if op == AluOp::MovSx32 {
                    Width::W64
                } else {
                    width
                };
                let src = if sx || self.rng.chance(50) {
                    Source::Reg(self.src())
                } else {
                    Source::Imm(self.rng.imm())
                };
                let dst = self.dst();
                self.push(Insn::Alu {
                    width,
                    op,
                    dst,
                    src,
                });
            }
            45..=47 => {
                let dst = self.dst();
                self.push(Insn::Neg { width, dst });
            }
            48..=51 => {
                let op = self
                    .rng
                    .pick(&[EndianOp::ToLe, EndianOp::ToBe, EndianOp::Swap]);
                let bits = self.rng.pick(&[16, 32, 64]);
                let dst = self.dst();
                self.push(Insn::Endian { op, bits, dst });
            }
            52..=55 => {
                let dst = self.dst();
                self.set(dst);
            }
            56..=67 => {
                let size = self
                    .rng
                    .pick(&[MemSize::B, MemSize::H, MemSize::W, MemSize::DW]);
                let off = self.stack_off(size, false);
                let src = if self.rng.chance(70) {
                    Source::Reg(self.src())
                } else {
                    Source::Imm(self.rng.imm())
                };
                self.push(Insn::Store {
                    size,
                    dst: Reg::R10,
                    off,
                    src,
                });
            }
            68..=79 => {
                let size = self
                    .rng
                    .pick(&[MemSize::B, MemSize::H, MemSize::W, MemSize::DW]);
                let sign_extend = size != MemSize::DW && self.rng.chance(40);
                let off = self.stack_off(size, false);
                let dst = self.dst();
                self.push(Insn::Load {
                    size,
                    sign_extend,
                    dst,
                    src: Reg::R10,
                    off,
                });
            }
            80..=87 => {
                let size = self.rng.pick(&[MemSize::W, MemSize::DW]);
                let op = self.rng.pick(&[
                    AtomicOp::Add { fetch: false },
                    AtomicOp::Add { fetch: true },
                    AtomicOp::Or { fetch: true },
                    AtomicOp::And { fetch: false },
                    AtomicOp::And { fetch: true },
                    AtomicOp::Xor { fetch: true },
                    AtomicOp::Or { fetch: false },
                    AtomicOp::Xor { fetch: false },
                    AtomicOp::Xchg,
                    AtomicOp::Cmpxchg,
                ]);
                // Fetching ops write the source register (cmpxchg writes r0).
                let src = self.dst();
                if op == AtomicOp::Cmpxchg && self.reserved.contains(&Reg::R0) {
                    return;
                }
                let off = self.stack_off(size, true);
                self.push(Insn::Atomic {
                    size,
                    op,
                    dst: Reg::R10,
                    src,
                    off,
                });
            }
            88..=92 if self.helpers && !self.reserved.contains(&Reg::R0) => {
                self.push(Insn::Call(CallTarget::Helper(MIX_HELPER as i32)));
            }
            93..=96 if !self.callable.is_empty() => {
                let callee =
                    self.callable.start + self.rng.below(self.callable.len() as u64) as usize;
                self.calls.push((self.items.len(), callee));
                self.items.push(Item::Call(0));
                // r1..r5 are undefined after a call (the verifier's rule):
                // set them again before anything reads them.
                for r in [Reg::R1, Reg::R2, Reg::R3, Reg::R4, Reg::R5] {
                    if !self.reserved.contains(&r) {
                        self.set(r);
                    }
                }
            }
            _ => {
                let dst = self.dst();
                self.set(dst);
            }
        }
    }

    /// `len` instructions of random code, with forward jumps inside it and
    /// counted loops; control leaves only at the end.
    fn block(&mut self, len: usize, depth: usize) {
        let start = self.items.len();
        let mut pending_jumps: Vec<(usize, usize)> = Vec::new(); // (item, target position)
        for n in 0..len {
            let here = self.items.len();
            // Resolve jumps aimed at this point.
            for &(item, at) in &pending_jumps {
                if at == n {
                    if let Item::Jump(insn, _) = self.items[item] {
                        self.items[item] = Item::Jump(insn, here);
                    }
                }
            }
            match self.rng.below(100) {
                0..=11 if n + 1 < len => {
                    let width = if self.rng.chance(50) {
                        Width::W64
                    } else {
                        Width::W32
                    };
                    let cond = self.rng.pick(&JmpCond::ALL);
                    let src = if self.rng.chance(50) {
                        Source::Reg(self.src())
                    } else {
                        Source::Imm(self.rng.imm())
                    };
                    let dst = self.src();
                    let insn = Insn::Jump {
                        width,
                        cond,
                        dst,
                        src,
                        off: 0,
                    };
                    let at = n + 1 + self.rng.below((len - n) as u64) as usize;
                    pending_jumps.push((self.items.len(), at));
                    self.items.push(Item::Jump(insn, usize::MAX));
                }
                12..=13 if n + 1 < len => {
                    let at = n + 1 + self.rng.below((len - n) as u64) as usize;
                    pending_jumps.push((self.items.len(), at));
                    let insn = if self.rng.chance(50) {
                        Insn::Ja { off: 0 }
                    } else {
                        Insn::JaLong { imm: 0 }
                    };
                    self.items.push(Item::Jump(insn, usize::MAX));
                }
                14..=16 if depth < 2 && len - n > 6 => {
                    // A counted loop: counter = k; body; counter -= 1; loop while != 0.
                    let counter = if depth == 0 { Reg::R9 } else { Reg::R8 };
                    if self.reserved.contains(&counter) {
                        self.simple();
                        continue;
                    }
                    let k = 1 + self.rng.below(4) as i32;
                    self.push(Insn::Alu {
                        width: Width::W64,
                        op: AluOp::Mov,
                        dst: counter,
                        src: Source::Imm(k),
                    });
                    self.reserved.push(counter);
                    let top = self.items.len();
                    let body = 1 + self.rng.below(8) as usize;
                    self.block(body, depth + 1);
                    self.push(Insn::Alu {
                        width: Width::W64,
                        op: AluOp::Sub,
                        dst: counter,
                        src: Source::Imm(1),
                    });
                    self.items.push(Item::Jump(
                        Insn::Jump {
                            width: Width::W64,
                            cond: JmpCond::Ne,
                            dst: counter,
                            src: Source::Imm(0),
                            off: 0,
                        },
                        top,
                    ));
                    self.reserved.pop();
                }
                _ => self.simple(),
            }
        }
        // Jumps to the end of the block land on whatever follows it.
        let end = self.items.len();
        for &(item, at) in &pending_jumps {
            if at >= len {
                if let Item::Jump(insn, _) = self.items[item] {
                    self.items[item] = Item::Jump(insn, end);
                }
            }
        }
        debug_assert!(self.items[start..]
            .iter()
            .all(|i| !matches!(i, Item::Jump(_, usize::MAX))));
    }
}

const MIX_HELPER: u32 = 1;

fn registry() -> Arc<HelperRegistry> {
    let mut reg = HelperRegistry::new();
    reg.register(MIX_HELPER, "mix", |_, a| {
        Ok(a.iter().fold(0x9e37_79b9_7f4a_7c15u64, |h, &x| {
            (h ^ x).wrapping_mul(0x100_0000_01b3)
        }))
    });
    Arc::new(reg)
}

/// A random program: main (saves the memory pointer, sets every register,
/// runs random code, copies registers and stack out), then subprograms.
fn random_program(rng: &mut Rng) -> Vec<Insn> {
    let subprograms = rng.below(3) as usize;
    let helpers = rng.chance(50);
    let mut bodies: Vec<Vec<Item>> = Vec::new();
    let mut calls: Vec<Vec<(usize, usize)>> = Vec::new();
    for f in 0..=subprograms {
        let mut g = Gen {
            rng,
            items: Vec::new(),
            calls: Vec::new(),
            reserved: Vec::new(),
            callable: f + 1..subprograms + 1,
            helpers,
            main: f == 0,
        };
        if f == 0 {
            g.push(Insn::Store {
                size: MemSize::DW,
                dst: Reg::R10,
                off: -512,
                src: Source::Reg(Reg::R1),
            });
            for r in GPRS {
                g.set(r);
            }
        } else {
            // A callee gets r1..r5; r0 and r6..r9 start undefined.
            for r in [Reg::R0, Reg::R6, Reg::R7, Reg::R8, Reg::R9] {
                g.set(r);
            }
        }
        let len = 5 + g.rng.below(if f == 0 { 60 } else { 25 }) as usize;
        g.block(len, 0);
        if f == 0 {
            for (k, r) in GPRS.iter().enumerate() {
                g.push(Insn::Store {
                    size: MemSize::DW,
                    dst: Reg::R10,
                    off: -504 + 8 * k as i16,
                    src: Source::Reg(*r),
                });
            }
            g.push(Insn::Load {
                size: MemSize::DW,
                sign_extend: false,
                dst: Reg::R1,
                src: Reg::R10,
                off: -512,
            });
            for k in 0..(MEM_LEN / 8) as i16 {
                g.push(Insn::Load {
                    size: MemSize::DW,
                    sign_extend: false,
                    dst: Reg::R2,
                    src: Reg::R10,
                    off: -504 + 8 * k,
                });
                g.push(Insn::Store {
                    size: MemSize::DW,
                    dst: Reg::R1,
                    off: 8 * k,
                    src: Source::Reg(Reg::R2),
                });
            }
            // r0 as the random code left it, saved above, is returned.
            g.push(Insn::Load {
                size: MemSize::DW,
                sign_extend: false,
                dst: Reg::R0,
                src: Reg::R10,
                off: -504,
            });
        }
        g.push(Insn::Exit);
        calls.push(std::mem::take(&mut g.calls));
        bodies.push(g.items);
    }
    // Lay out: function starts in item indices, then slots.
    let mut starts = Vec::new();
    let mut items = Vec::new();
    for (f, body) in bodies.into_iter().enumerate() {
        let base = items.len();
        starts.push(base);
        for item in body {
            items.push(match item {
                Item::Jump(insn, t) => Item::Jump(insn, base + t),
                other => other,
            });
        }
        for &(at, callee) in &calls[f] {
            items[base + at] = Item::Call(callee);
        }
    }
    let mut slot = Vec::with_capacity(items.len() + 1);
    let mut s = 0usize;
    for item in &items {
        slot.push(s);
        s += match item {
            Item::Plain(i) | Item::Jump(i, _) => i.slots(),
            Item::Call(_) => 1,
        };
    }
    slot.push(s);
    items
        .iter()
        .enumerate()
        .map(|(i, item)| {
            let rel = |target: usize| slot[target] as i64 - (slot[i] as i64 + 1);
            match *item {
                Item::Plain(insn) => insn,
                Item::Call(f) => Insn::Call(CallTarget::Local(rel(starts[f]) as i32)),
                Item::Jump(
                    Insn::Jump {
                        width,
                        cond,
                        dst,
                        src,
                        ..
                    },
                    t,
                ) => Insn::Jump {
                    width,
                    cond,
                    dst,
                    src,
                    off: rel(t) as i16,
                },
                Item::Jump(Insn::Ja { .. }, t) => Insn::Ja { off: rel(t) as i16 },
                Item::Jump(_, t) => Insn::JaLong { imm: rel(t) as i32 },
            }
        })
        .collect()
}

#[test]
fn random_programs_agree_between_the_jit_and_the_interpreter() {
    let reg = registry();
    let opts = RunOptions {
        budget: Some(1_000_000),
    };
    let mut rng = Rng(0x7a11_5eed_0000_0001);
    let (mut programs, mut insns, mut with_calls, mut with_loops) = (0, 0, 0, 0);
    let mut compile = std::time::Duration::ZERO;
    for n in 0..5000 {
        let program = random_program(&mut rng);
        let bytes = encode_program(&program);
        let interp = Program::from_bytes(&bytes, reg.clone()).expect("prepares");
        // Random input, which the program's registers start from.
        let input: Vec<u8> = (0..MEM_LEN / 8)
            .flat_map(|_| rng.value().to_le_bytes())
            .collect();
        let mut mem = input.clone();
        let want = interp.run_checked(Input::memory(&mut mem), &opts);
        let want = match want {
            Ok(out) => out,
            Err(e @ (RunError::OutOfBounds { .. } | RunError::MisalignedAtomic { .. })) => {
                panic!("program {n}: the generator made an unsafe program: {e}\n{program:?}")
            }
            Err(e) => panic!("program {n}: interpreter failed: {e}\n{program:?}"),
        };
        let jit = JitProgram::from_bytes(&bytes, reg.clone())
            .unwrap_or_else(|e| panic!("program {n}: does not compile: {e}\n{program:?}"));
        compile += jit.compile_time();
        let mut jit_mem = input;
        // SAFETY: the checked run of this deterministic program stayed inside
        // its stack and `mem`.
        let got = unsafe { jit.run(Input::memory(&mut jit_mem), &opts) }
            .unwrap_or_else(|e| panic!("program {n}: JIT failed: {e}\n{program:?}"));
        if got.r0 != want.r0 || jit_mem != mem {
            let differ: Vec<usize> = (0..MEM_LEN / 8)
                .filter(|&k| mem[k * 8..k * 8 + 8] != jit_mem[k * 8..k * 8 + 8])
                .collect();
            panic!(
                "program {n}: r0 {:#x} (JIT) vs {:#x} (interpreter); stack dwords differing: {differ:?}\n{}",
                got.r0,
                want.r0,
                program
                    .iter()
                    .map(|i| waggle_isa::format_insn(i, waggle_isa::Syntax::Ubpf))
                    .collect::<Vec<_>>()
                    .join("\n")
            );
        }
        programs += 1;
        insns += want.insns;
        with_calls += program
            .iter()
            .any(|i| matches!(i, Insn::Call(CallTarget::Local(_)))) as usize;
        with_loops += program
            .iter()
            .any(|i| matches!(i, Insn::Jump { off, .. } if *off < 0))
            as usize;
    }
    println!(
        "differential: {programs} programs agree ({with_calls} with local calls, {with_loops} with loops; \
         {insns} instructions run by the interpreter; JIT compile time {:.1} ms in total)",
        compile.as_secs_f64() * 1e3
    );
    assert!(
        with_calls > 1000 && with_loops > 1000,
        "{with_calls} {with_loops}"
    );
}
