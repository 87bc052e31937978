//! Programs the verifier is likely to accept, generated from fuzzer input,
//! shared by the `verifier_soundness` and `jit_differential` targets (each
//! uses part of it, hence no dead-code warnings).
#![allow(dead_code)]

use std::sync::atomic::{AtomicU64, Ordering};
use waggle_isa::{decode_slots, format_insn, RawInsn, Syntax};
use waggle_object::{MapData, MapDef, Object, ProgramDef, ProgramType};
use waggle_runtime::{Engine, LoadOptions, LoadedObject, RunConfig, RunError, RunResult};
use waggle_verifier::{verify, VerifyOptions};

pub static TRIED: AtomicU64 = AtomicU64::new(0);
pub static ACCEPTED: AtomicU64 = AtomicU64::new(0);
pub static RAN: AtomicU64 = AtomicU64::new(0);

/// The input, read a byte at a time; zeroes once it is used up.
struct Bytes<'a> {
    pub data: &'a [u8],
    pub pos: usize,
}

impl Bytes<'_> {
    fn u8(&mut self) -> u8 {
        let b = self.data.get(self.pos).copied().unwrap_or(0);
        self.pos += 1;
        b
    }
    fn below(&mut self, n: u32) -> u32 {
        (u32::from(self.u8()) | u32::from(self.u8()) << 8) % n.max(1)
    }
    fn range(&mut self, lo: i32, hi: i32) -> i32 {
        lo + self.below((hi - lo + 1) as u32) as i32
    }
    fn pick<T: Copy>(&mut self, v: &[T]) -> T {
        v[self.below(v.len() as u32) as usize]
    }
    fn rest(&self) -> &[u8] {
        self.data.get(self.pos..).unwrap_or(&[])
    }
}

/// Map 0: hash (4-byte keys, 8-byte values); 1: `.bss` (64 bytes of global
/// data); 2: ring buffer; 3: array of 4 16-byte values.
fn maps() -> Vec<MapDef> {
    let mut bss = MapDef::with_sizes(".bss", 2, 4, 64, 1);
    bss.data = Some(MapData {
        bytes: vec![0; 64],
        read_only: false,
    });
    vec![
        MapDef::with_sizes("h", 1, 4, 8, 16),
        bss,
        MapDef::with_sizes("rb", 27, 0, 0, 4096),
        MapDef::with_sizes("arr", 2, 4, 16, 4),
    ]
}

const R0: u8 = 0;
const R1: u8 = 1;
const R2: u8 = 2;
const R3: u8 = 3;
const R4: u8 = 4;
const R6: u8 = 6;
const R7: u8 = 7;
const R8: u8 = 8;
const FP: u8 = 10;

fn ins(op: u8, dst: u8, src: u8, off: i16, imm: i32) -> RawInsn {
    RawInsn::new(op, dst, src, off, imm)
}
fn mov_imm(dst: u8, imm: i32) -> RawInsn {
    ins(0xb7, dst, 0, 0, imm)
}
fn mov_reg(dst: u8, src: u8) -> RawInsn {
    ins(0xbf, dst, src, 0, 0)
}
fn add_imm(dst: u8, imm: i32) -> RawInsn {
    ins(0x07, dst, 0, 0, imm)
}
fn call(id: i32) -> RawInsn {
    ins(0x85, 0, 0, 0, id)
}
const EXIT: RawInsn = RawInsn {
    opcode: 0x95,
    dst: 0,
    src: 0,
    off: 0,
    imm: 0,
};

/// Load/store size bits and byte counts.
const SIZES: [(u8, i32); 4] = [(0x18, 8), (0x00, 4), (0x08, 2), (0x10, 1)];

struct Gen<'a, 'b> {
    b: &'a mut Bytes<'b>,
    slots: Vec<RawInsn>,
    prog_type: ProgramType,
    /// (slot of a `call local` or `lddw func`, function number) to patch.
    fixups: Vec<(usize, usize)>,
    /// Bodies of the subprograms and callbacks, appended after main.
    functions: Vec<Vec<RawInsn>>,
}

impl Gen<'_, '_> {
    fn push(&mut self, i: RawInsn) {
        self.slots.push(i);
    }

    fn lddw(&mut self, dst: u8, src: u8, imm: i32, imm2: i32) {
        self.push(ins(0x18, dst, src, 0, imm));
        self.push(ins(0, 0, 0, 0, imm2));
    }

    /// A conditional jump over the next `n` slots.
    fn skip_if(&mut self, op: u8, dst: u8, src: Option<u8>, imm: i32, n: usize) {
        match src {
            Some(s) => self.push(ins(op | 0x08, dst, s, n as i16, 0)),
            None => self.push(ins(op, dst, 0, n as i16, imm)),
        }
    }

    /// r1-r5 after a call: mostly set again.
    fn reset_args(&mut self) {
        for r in 1..=5u8 {
            if self.b.below(8) != 0 {
                let v = self.b.range(0, 16);
                self.push(mov_imm(r, v));
            }
        }
    }

    fn scratch(&mut self) -> u8 {
        self.b.pick(&[0u8, 1, 2, 3, 4, 5, 9])
    }

    fn small_off(&mut self, span: i32) -> i16 {
        // Mostly inside, sometimes just outside.
        match self.b.below(8) {
            7 => self.b.range(-8, span + 8) as i16,
            _ => self.b.range(0, span.max(1) - 1) as i16,
        }
    }

    fn alu(&mut self) {
        let op = self.b.pick(&[
            0x00u8, 0x10, 0x20, 0x30, 0x40, 0x50, 0x60, 0x70, 0x90, 0xa0, 0xb0, 0xc0,
        ]);
        let class = self.b.pick(&[0x07u8, 0x04]);
        let dst = if self.b.below(16) == 15 {
            self.b.pick(&[R6, R7, R8, FP])
        } else {
            self.scratch()
        };
        if self.b.below(2) == 0 {
            let src = if self.b.below(8) == 7 {
                self.b.pick(&[R6, R7, R8, FP])
            } else {
                self.scratch()
            };
            self.push(ins(class | op | 0x08, dst, src, 0, 0));
        } else {
            let imm = match op {
                0x60 | 0x70 | 0xc0 => self.b.range(0, 40),
                0x30 | 0x90 => self.b.range(0, 9),
                _ => self.b.range(-16, 300),
            };
            self.push(ins(class | op, dst, 0, 0, imm));
        }
    }

    fn stack(&mut self) {
        let (size, bytes) = self.b.pick(&SIZES);
        let off = -(self.b.range(1, 64 / bytes) * bytes) as i16 - (self.b.below(24) == 23) as i16;
        match self.b.below(3) {
            0 => {
                let v = self.b.range(-3, 20);
                self.push(ins(0x62 | size, FP, 0, off, v));
            }
            1 => {
                let src = self.b.pick(&[0u8, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
                self.push(ins(0x63 | size, FP, src, off, 0));
            }
            _ => {
                let dst = self.scratch();
                self.push(ins(0x61 | size, dst, FP, off, 0));
            }
        }
    }

    /// A packet access behind a bounds check: `r2 = data + k; if r2 > end
    /// skip; access data + off`. r7 is data, r8 data_end.
    fn packet(&mut self) {
        if !matches!(self.prog_type, ProgramType::Xdp | ProgramType::SchedCls) {
            return self.stack();
        }
        let k = self.b.range(1, 64);
        let (size, bytes) = self.b.pick(&SIZES);
        let off = self.small_off(k - bytes + 1);
        let variable = self.b.below(3) == 0;
        let base = if variable {
            // r4 = data + (byte & mask), checked separately.
            let mask = self.b.pick(&[1, 3, 7, 15, 31, 63, 255]);
            self.push(ins(0x71, R3, R7, 0, 0));
            self.push(ins(0x57, R3, 0, 0, mask));
            self.push(mov_reg(R4, R7));
            self.push(ins(0x0f, R4, R3, 0, 0));
            R4
        } else {
            R7
        };
        // The byte load above reads data[0]: it needs a check of its own,
        // which the check below (on r7) gives only when variable is false;
        // the verifier must reject the unchecked load otherwise.
        self.push(mov_reg(R2, base));
        self.push(add_imm(R2, k));
        let op = self.b.pick(&[0x2du8, 0x3d, 0xad, 0xbd]); // jgt, jge, jlt, jle (reg)
        let store = self.b.below(3) == 0;
        let access = if store {
            // An immediate: a register may hold a pointer, whose bits
            // differ between the engines a differential run compares.
            let value = self.b.range(-3, 300);
            ins(0x62 | size, base, 0, off, value)
        } else {
            ins(0x61 | size, R0, base, off, 0)
        };
        match op {
            // r2 > end / r2 >= end: skip the access
            0x2d | 0x3d => {
                self.push(ins(op, R2, R8, 1, 0));
                self.push(access);
            }
            // end < r2 / end <= r2: skip (operands swapped)
            0xad | 0xbd => {
                self.push(ins(op, R8, R2, 1, 0));
                self.push(access);
            }
            _ => unreachable!(),
        }
    }

    /// A packet field read a byte at a time, as clang reads one it cannot
    /// prove aligned (`p[0] << 24 | p[1] << 16 | ...`): 2, 4 or 8 bytes,
    /// either byte order, the bytes in any order, 32- or 64-bit operations,
    /// into r0 behind a bounds check.
    fn byte_field(&mut self) {
        if !matches!(self.prog_type, ProgramType::Xdp | ProgramType::SchedCls) {
            return self.stack();
        }
        let n = self.b.pick(&[2i32, 4, 8]);
        let k = self.b.range(n, 64);
        let at = self.b.range(0, k - n);
        let big_endian = self.b.below(2) == 0;
        let class = if n == 8 || self.b.below(2) == 0 { 0x07 } else { 0x04 };
        let mut order: Vec<i32> = (0..n).collect();
        for i in (1..order.len()).rev() {
            let j = self.b.below(i as u32 + 1) as usize;
            order.swap(i, j);
        }
        let mut body = Vec::new();
        for (idx, &byte) in order.iter().enumerate() {
            let dst = if idx == 0 { R0 } else { R3 };
            body.push(ins(0x71, dst, R7, (at + byte) as i16, 0));
            let shift = 8 * if big_endian { n - 1 - byte } else { byte };
            if shift > 0 {
                body.push(ins(class | 0x60, dst, 0, 0, shift)); // lsh
            }
            if idx > 0 {
                body.push(ins(class | 0x48, R0, R3, 0, 0)); // or r0, r3
            }
        }
        self.push(mov_reg(R2, R7));
        self.push(add_imm(R2, k));
        self.push(ins(0x2d, R2, R8, body.len() as i16, 0)); // jgt r2, r8
        self.slots.extend(body);
    }

    fn ctx(&mut self) {
        let (size, bytes) = self.b.pick(&SIZES);
        let span = match self.prog_type {
            ProgramType::Xdp => 24,
            ProgramType::Kprobe => 168,
            _ => 192,
        };
        let off = (self.b.range(0, span / bytes) * bytes) as i16 + (self.b.below(16) == 15) as i16;
        if self.b.below(6) == 5 {
            self.push(ins(0x63 | size, R6, R0, off, 0));
        } else {
            let dst = self.scratch();
            self.push(ins(0x61 | size, dst, R6, off, 0));
        }
    }

    /// `r0 = lookup(map, &key); if r0 == 0 skip; access r0 + off`.
    fn map_lookup(&mut self) {
        let map = self.b.pick(&[0, 3]);
        let key = self.b.range(0, 5);
        let stw = self.b.pick(&[-4i16, -8]);
        self.push(ins(0x62, FP, 0, stw, key));
        self.push(mov_reg(R2, FP));
        self.push(add_imm(R2, stw as i32));
        self.lddw(R1, 5, map, 0);
        self.push(call(1));
        let value = if map == 0 { 8 } else { 16 };
        let (size, bytes) = self.b.pick(&SIZES);
        let off = self.small_off(value - bytes + 1);
        let check = self.b.below(8) != 0;
        let atomic = self.b.below(4) == 0 && bytes >= 4;
        let access = if atomic {
            ins(0xc3 | size, R0, R1, off, 0)
        } else if self.b.below(3) == 0 {
            ins(0x7a | size, R0, 0, off, 7)
        } else {
            ins(0x61 | size, R3, R0, off, 0)
        };
        if atomic {
            self.push(mov_imm(R1, 1));
        }
        if check {
            self.skip_if(0x15, R0, None, 0, 1); // jeq r0, 0, +1
        }
        self.push(access);
        self.reset_args();
    }

    /// Global data indexed by a masked number.
    fn global(&mut self) {
        let mask = self.b.pick(&[7, 15, 31, 56, 63, 127]);
        let off = self.b.range(0, 72);
        let (size, _) = self.b.pick(&SIZES);
        self.push(call(7));
        self.push(ins(0x57, R0, 0, 0, mask));
        self.lddw(R1, 6, 1, off);
        self.push(ins(0x0f, R1, R0, 0, 0));
        if self.b.below(2) == 0 {
            self.push(ins(0x61 | size, R3, R1, 0, 0));
        } else {
            // A number, never a pointer's bits: those differ between the
            // engines a differential run compares.
            let value = self.b.range(0, 0xffff);
            self.push(ins(0xb7, R3, 0, 0, value));
            self.push(ins(0x63 | size, R1, R3, 0, 0));
        }
        self.reset_args();
    }

    /// Reserve, write, submit or discard (or forget to, sometimes).
    fn ringbuf(&mut self) {
        let size = self.b.pick(&[8, 16, 24]);
        self.lddw(R1, 5, 2, 0);
        self.push(mov_imm(R2, size));
        self.push(mov_imm(R3, 0));
        self.push(call(131));
        let (st, bytes) = self.b.pick(&SIZES);
        let off = self.small_off(size - bytes + 1);
        let release = self.b.below(16) != 0;
        let n = 2 + 3 * release as usize;
        self.skip_if(0x15, R0, None, 0, n); // jeq r0, 0
        self.push(ins(0x7a | st, R0, 0, off, 1));
        self.push(mov_reg(R6, R6));
        if release {
            self.push(mov_reg(R1, R0));
            self.push(mov_imm(R2, 0));
            let helper = self.b.pick(&[132, 133]);
            self.push(call(helper));
        }
        self.reset_args();
    }

    /// A helper writing into a stack buffer of a given size.
    fn helper_buffer(&mut self) {
        let at = -(self.b.range(1, 8) * 8);
        let len = self.b.range(0, 72);
        self.push(mov_reg(R1, FP));
        self.push(add_imm(R1, at));
        self.push(mov_imm(R2, len));
        self.push(mov_imm(R3, 0));
        self.push(call(113)); // bpf_probe_read_kernel
        self.reset_args();
    }

    /// A bounded loop: `r9 = 0; loop: body; r9 += 1; if r9 < n goto loop`.
    fn bounded_loop(&mut self) {
        let n = self.b.range(1, 12);
        self.push(mov_imm(9, 0));
        let start = self.slots.len();
        let at = self.b.range(1, 8) * 8;
        self.push(mov_reg(R3, FP));
        self.push(add_imm(R3, -at));
        self.push(ins(0x7a, R3, 0, 0, 1));
        self.push(add_imm(9, 1));
        let back = start as i32 - self.slots.len() as i32 - 1;
        self.push(ins(0xa5, 9, 0, back as i16, n)); // jlt r9, n
    }

    /// `bpf_loop(n, cb, &stack, 0)`; the callback writes the caller's
    /// stack at an index it may or may not check.
    fn bpf_loop(&mut self) {
        let n = self.b.range(0, 8);
        self.push(ins(0x7a, FP, 0, -8, 0));
        self.push(ins(0x7a, FP, 0, -16, 0));
        self.push(mov_imm(R1, n));
        let f = self.function(true);
        self.fixups.push((self.slots.len(), f));
        self.lddw(R2, 4, 0, 0);
        self.push(mov_reg(R3, FP));
        self.push(add_imm(R3, -16));
        self.push(mov_imm(R4, 0));
        self.push(call(181));
        self.reset_args();
    }

    /// A bpf-to-bpf call of a subprogram reading a stack pointer argument.
    fn local_call(&mut self) {
        self.push(ins(0x7a, FP, 0, -8, 3));
        self.push(mov_reg(R1, FP));
        self.push(add_imm(R1, -8));
        let f = self.function(false);
        self.fixups.push((self.slots.len(), f));
        self.push(ins(0x85, 0, 1, 0, 0));
        self.reset_args();
    }

    /// A function body: `r1` (a callback's index, or a stack pointer) and
    /// `r2` (a callback's context) used as the input says.
    fn function(&mut self, callback: bool) -> usize {
        let mut body = Vec::new();
        let (size, bytes) = self.b.pick(&SIZES);
        if callback {
            // r2: the caller's 16-byte buffer; index r1, maybe checked.
            let mask = self.b.pick(&[0, 1, 3, 7, 15]);
            body.push(mov_reg(R3, R1));
            body.push(ins(0x57, R3, 0, 0, mask));
            if self.b.below(2) == 0 {
                body.push(ins(0x35, R3, 0, 1, 16 - bytes + 1)); // jge r3, .., +1
                body.push(ins(0x0f, R2, R3, 0, 0));
            }
            body.push(ins(0x63 | size, R2, R0, 0, 0));
            let ret = self.b.pick(&[0, 0, 1, 2]);
            body.push(mov_imm(R0, ret));
        } else {
            let off = self.small_off(8 - bytes + 1);
            body.push(ins(0x61 | size, R0, R1, off, 0));
        }
        body.push(EXIT);
        // The callback stores r0 before setting it: make it initialised.
        body.insert(0, mov_imm(R0, 0));
        self.functions.push(body);
        self.functions.len() - 1
    }

    fn branch(&mut self) {
        let op = self.b.pick(&[
            0x15u8, 0x25, 0x35, 0x45, 0x55, 0x65, 0x75, 0xa5, 0xb5, 0xc5, 0xd5,
        ]);
        let class = if self.b.below(3) == 0 { 0x06 } else { 0x05 };
        let dst = self.scratch();
        let off = self.b.range(0, 4) as i16;
        if self.b.below(2) == 0 {
            let src = self.scratch();
            self.push(ins((op & 0xf0) | class | 0x08, dst, src, off, 0));
        } else {
            let imm = self.b.range(-2, 64);
            self.push(ins((op & 0xf0) | class, dst, 0, off, imm));
        }
    }

    /// A `switch` as clang compiles it for BPF: jumps comparing one
    /// register with constants, each to its case, which adds to `r0` and
    /// jumps to the common end; the register's other values go to the
    /// default case. Sometimes a first signed comparison splits the values
    /// in two (a binary search), and sometimes a comparison is not an
    /// equality, so the tree's leaves cover ranges.
    fn switch(&mut self) {
        let reg = self.scratch();
        let class = if self.b.below(2) == 0 { 0x06 } else { 0x05 };
        let cases = self.b.range(3, 8) as usize;
        let split = self.b.below(2) == 0;
        let base = self.slots.len();
        let first = base + split as usize;
        // compares, the default's jump to the end, two slots per case
        let bodies = first + cases + 1;
        let end = bodies + 2 * cases;
        if split {
            let half = cases / 2;
            let mid = self.b.range(0, 6);
            self.push(ins(0x60 | class, reg, 0, half as i16, mid)); // jsgt
        }
        for case in 0..cases {
            let op = match self.b.below(8) {
                0 => self.b.pick(&[0x20u8, 0x30, 0x50, 0x60, 0xa0, 0xc0]),
                _ => 0x10,
            };
            let at = first + case;
            let off = (bodies + 2 * case) as i32 - at as i32 - 1;
            let imm = self.b.range(-3, 12);
            self.push(ins(op | class, reg, 0, off as i16, imm));
        }
        self.push(ins(0x05, 0, 0, (end - bodies) as i16, 0));
        for _ in 0..cases {
            let v = self.b.range(1, 1000);
            self.push(ins(0x07, R0, 0, 0, v));
            let here = self.slots.len();
            self.push(ins(0x05, 0, 0, (end - here - 1) as i16, 0));
        }
    }

    fn generate(&mut self) -> Vec<RawInsn> {
        // r6 = ctx; r7/r8 = data/data_end where there is a packet.
        self.push(mov_reg(R6, R1));
        match self.prog_type {
            ProgramType::Xdp => {
                self.push(ins(0x61, R7, R1, 0, 0));
                self.push(ins(0x61, R8, R1, 4, 0));
            }
            ProgramType::SchedCls => {
                self.push(ins(0x61, R7, R1, 76, 0));
                self.push(ins(0x61, R8, R1, 80, 0));
            }
            _ => {
                self.push(mov_imm(R7, 0));
                self.push(mov_imm(R8, 0));
            }
        }
        for r in [0u8, 1, 2, 3, 4, 5, 9] {
            let v = self.b.range(-4, 40);
            self.push(mov_imm(r, v));
        }
        if self.b.below(4) != 3 {
            for k in 1..=8 {
                let v = self.b.range(0, 3);
                self.push(ins(0x7a, FP, 0, -8 * k, v));
            }
        }
        let n = self.b.range(2, 24);
        for _ in 0..n {
            match self.b.below(22) {
                0..=3 => self.alu(),
                4..=5 => self.stack(),
                6..=8 => self.packet(),
                9 => self.ctx(),
                10..=11 => self.map_lookup(),
                12 => self.global(),
                13 => self.ringbuf(),
                14 => self.helper_buffer(),
                15 => self.bounded_loop(),
                16 => self.bpf_loop(),
                17 => self.local_call(),
                18 => self.switch(),
                19 => self.byte_field(),
                _ => self.branch(),
            }
        }
        let ret = self.b.range(0, 3);
        self.push(mov_imm(R0, ret));
        self.push(EXIT);
        // Functions after the main program; patch the references.
        let mut starts = Vec::new();
        for f in std::mem::take(&mut self.functions) {
            starts.push(self.slots.len());
            self.slots.extend(f);
        }
        for (at, f) in std::mem::take(&mut self.fixups) {
            self.slots[at].imm = starts[f] as i32 - at as i32 - 1;
        }
        // Mutations: a few fields of a few instructions.
        let mutations = self.b.below(4);
        for _ in 0..mutations {
            let at = self.b.below(self.slots.len() as u32) as usize;
            let s = &mut self.slots[at];
            match self.b.below(5) {
                0 => s.off = s.off.wrapping_add(self.b.range(-9, 9) as i16),
                1 => s.imm = s.imm.wrapping_add(self.b.range(-9, 9)),
                2 => s.dst = self.b.below(11) as u8,
                3 => s.src = self.b.below(11) as u8,
                _ => s.opcode ^= 1 << self.b.below(8),
            }
        }
        std::mem::take(&mut self.slots)
    }
}

/// Raw instruction slots from the input, LD_IMM64 map references pointed
/// at the maps.
fn raw_program(b: &mut Bytes<'_>) -> Vec<RawInsn> {
    let mut slots: Vec<RawInsn> = b
        .rest()
        .chunks_exact(8)
        .take(64)
        .map(|c| {
            let mut s = RawInsn::new(
                c[0],
                c[1] & 0x0f,
                c[1] >> 4,
                i16::from_le_bytes([c[2], c[3]]),
                i32::from_le_bytes([c[4], c[5], c[6], c[7]]),
            );
            if s.opcode == 0x18 && matches!(s.src, 1..=6) {
                s.src = [5, 6, 4][s.src as usize % 3];
                if s.src != 4 {
                    s.imm = s.imm.rem_euclid(4);
                }
            }
            s
        })
        .collect();
    b.pos += slots.len() * 8;
    slots.push(EXIT);
    slots
}

pub fn disassembly(slots: &[RawInsn]) -> String {
    match decode_slots(slots) {
        Ok(d) => d
            .iter()
            .map(|(pc, i)| format!("{pc:3}: {}", format_insn(i, Syntax::Llvm)))
            .collect::<Vec<_>>()
            .join("\n"),
        Err(e) => format!("(does not decode: {e})"),
    }
}

pub fn report(target: &str) {
    let tried = TRIED.load(Ordering::Relaxed);
    if tried.is_power_of_two() || tried % 10_000 == 0 {
        eprintln!(
            "{target}: {tried} programs tried, {} accepted, {} run",
            ACCEPTED.load(Ordering::Relaxed),
            RAN.load(Ordering::Relaxed)
        );
    }
}

/// What one fuzzer input becomes: a program, its type, and the rest of the
/// input, from which its run takes its packet or context.
pub struct Case {
    pub prog_type: ProgramType,
    pub slots: Vec<RawInsn>,
    pub rest: Vec<u8>,
}

pub fn case(data: &[u8]) -> Case {
    let mut b = Bytes { data, pos: 0 };
    let prog_type = [
        ProgramType::Xdp,
        ProgramType::SchedCls,
        ProgramType::SocketFilter,
        ProgramType::Kprobe,
    ][b.u8() as usize % 4];
    let slots = if b.u8() % 4 == 3 {
        raw_program(&mut b)
    } else {
        let mut g = Gen {
            b: &mut b,
            slots: Vec::new(),
            prog_type,
            fixups: Vec::new(),
            functions: Vec::new(),
        };
        g.generate()
    };
    Case {
        prog_type,
        slots,
        rest: b.rest().to_vec(),
    }
}

/// The verifier's options for generated programs: a small complexity
/// limit, Linux's privileged rules.
pub fn options() -> VerifyOptions {
    VerifyOptions {
        max_insns: 20_000,
        ..VerifyOptions::default()
    }
}

/// The case's program loaded into the runtime (hash entries filled so
/// lookups find values), if the verifier accepts it with `opts` and the
/// runtime loads it.
pub fn accept(case: &Case, opts: &VerifyOptions) -> Option<LoadedObject> {
    TRIED.fetch_add(1, Ordering::Relaxed);
    let prog = program(case);
    let maps = maps();
    if verify(&prog, &maps, opts).is_err() {
        return None;
    }
    ACCEPTED.fetch_add(1, Ordering::Relaxed);
    load(prog, maps)
}

/// Another copy of an accepted case's program, with maps of its own.
pub fn reload(case: &Case) -> Option<LoadedObject> {
    load(program(case), maps())
}

/// The case's program as an object would define it.
fn program(case: &Case) -> ProgramDef {
    ProgramDef {
        name: "fuzz".into(),
        section: case.prog_type.name().into(),
        prog_type: case.prog_type,
        insns: case.slots.clone(),
        lines: vec![],
        func_info: vec![],
        line_info: vec![],
    }
}

fn load(prog: ProgramDef, maps: Vec<MapDef>) -> Option<LoadedObject> {
    let object = Object {
        name: "fuzz.o".into(),
        license: "GPL".into(),
        kernel_version: None,
        maps,
        programs: vec![prog],
        btf: None,
    };
    let opts = LoadOptions {
        cpus: 1,
        ..LoadOptions::default()
    };
    let loaded = LoadedObject::load(object, &opts).ok()?;
    if let Some(h) = loaded.map("h") {
        for k in 0..3u32 {
            let _ = h.update_all(&k.to_le_bytes(), &[0x5a; 8], 0);
        }
    }
    Some(loaded)
}

/// Whether the program uses `bpf_loop` (whose callbacks may legitimately
/// run long enough to exhaust a budget).
pub fn uses_callbacks(case: &Case) -> bool {
    case.slots.iter().any(|s| s.opcode == 0x85 && s.imm == 181)
}

/// Runs the accepted program on the case's packet or context with `engine`.
///
/// # Safety
/// For engines other than the checked interpreter, the program must have
/// been accepted by the verifier ([`accept`] guarantees it).
pub unsafe fn run(
    loaded: &LoadedObject,
    case: &Case,
    engine: Engine,
) -> Result<RunResult, RunError> {
    let cfg = RunConfig {
        budget: Some(2_000_000),
        cpu: Some(0),
        // The same random numbers for every engine's run.
        prandom_seed: Some(0x5eed),
        ..RunConfig::default()
    };
    let prog = &loaded.programs()[0];
    let result = if case.prog_type == ProgramType::Kprobe {
        let mut regs = [0u8; 168];
        for (d, s) in regs.iter_mut().zip(&case.rest) {
            *d = *s;
        }
        loaded.run_raw_with(prog, &mut regs, &cfg, engine)
    } else {
        let len = 14 + case.rest.first().map_or(0, |&l| l as usize % 120);
        let mut packet: Vec<u8> = case.rest.iter().copied().take(len).collect();
        packet.resize(len, 0xab);
        loaded.run_packet_with(prog, &packet, &cfg, engine)
    };
    RAN.fetch_add(1, Ordering::Relaxed);
    result
}
