//! The interpreter: runs a prepared [`Program`] on host memory.
//!
//! One loop, monomorphised twice: checked mode tests every memory access
//! against the run's [`Regions`]; unchecked mode (for verified programs) tests
//! nothing. Semantics follow RFC 9669 and Linux exactly: division by zero
//! yields 0, modulo by zero keeps the dividend, shift amounts are masked to the
//! width, 32-bit results are zero-extended, signed division of the minimum by
//! -1 wraps.

use crate::helpers::{HelperContext, Interrupt};
use crate::memory::{Access, Region, Regions};
use crate::program::FUNC_REF_TAG;
use crate::program::{Kind, Op, Program};
use std::any::Any;
use std::marker::PhantomData;
use std::mem::MaybeUninit;
use std::ptr;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::Arc;
use thiserror::Error;

/// Bytes of stack per call frame, as in Linux.
pub const STACK_SIZE: usize = 512;
/// Deepest chain of bpf-to-bpf calls, counting the entry function, as in Linux.
pub const MAX_CALL_FRAMES: usize = 8;

/// Why a run stopped without returning.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum RunError {
    #[error("instruction {pc}: {access} of {size} bytes at {addr:#x} is outside the memory the program may touch")]
    OutOfBounds {
        pc: usize,
        access: Access,
        addr: u64,
        size: u64,
    },
    #[error("instruction {pc}: atomic access of {size} bytes at {addr:#x} is not aligned")]
    MisalignedAtomic { pc: usize, addr: u64, size: u64 },
    #[error("instruction {pc}: call exceeds the limit of {max} nested frames", max = MAX_CALL_FRAMES)]
    CallDepth { pc: usize },
    #[error("instruction {pc}: instruction budget of {budget} exhausted")]
    BudgetExhausted { pc: usize, budget: u64 },
    #[error("instruction {pc}: callx to unknown helper {id}")]
    UnknownHelper { pc: usize, id: u64 },
    #[error("instruction {pc}: helper {name} ({id}) failed: {message}")]
    HelperFault {
        pc: usize,
        id: u32,
        name: String,
        message: String,
    },
    #[error("instruction {pc}: LD_ABS/LD_IND needs a packet, and this run has none")]
    NoPacket { pc: usize },
    #[error("instruction {pc}: execution ran past the last instruction")]
    FellOffEnd { pc: usize },
    #[error("instruction {pc}: tail calls are supported from the main program only, not from a subprogram")]
    TailCallInSubprogram { pc: usize },
    #[error("callback reference {0:#x} names no function of this program")]
    BadCallback(u64),
    /// The execution engine cannot do this (the JIT run without a way to
    /// find tail-call targets, for instance).
    #[error("instruction {pc}: {what} is not supported by this execution engine")]
    Unsupported { pc: usize, what: &'static str },
}

/// A finished run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Outcome {
    /// The program's return value.
    pub r0: u64,
    /// Instructions executed (an LD_IMM64 counts once).
    pub insns: u64,
}

/// Limits of a run.
#[derive(Debug, Clone, Copy, Default)]
pub struct RunOptions {
    /// Stop with [`RunError::BudgetExhausted`] once more than this many
    /// instructions have executed. Checked at every taken branch and call, so a
    /// run may exceed it by at most one straight-line stretch of code.
    pub budget: Option<u64>,
}

/// What a run starts with: argument registers, the memory it may touch, and
/// the packet that LD_ABS/LD_IND read.
///
/// The lifetime ties the input to the memory it points at, so the memory stays
/// borrowed for the whole run.
pub struct Input<'a> {
    args: [u64; 5],
    /// State of the embedding runtime that its helpers reach through
    /// [`HelperContext::env`] (trace output, the packet being processed, ...).
    env: Option<&'a mut dyn Any>,
    /// The memory of [`Input::memory`], apart from `granted` so that the
    /// common input costs no allocation.
    memory: Option<Region>,
    granted: Vec<Region>,
    packet: Option<Region>,
    _mem: PhantomData<&'a mut [u8]>,
}

impl std::fmt::Debug for Input<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Input")
            .field("args", &self.args)
            .field("memory", &self.memory)
            .field("granted", &self.granted)
            .field("packet", &self.packet)
            .field("env", &self.env.is_some())
            .finish()
    }
}

impl Default for Input<'_> {
    #[inline]
    fn default() -> Self {
        Input {
            args: [0; 5],
            env: None,
            memory: None,
            granted: Vec::new(),
            packet: None,
            _mem: PhantomData,
        }
    }
}

impl<'a> Input<'a> {
    /// No arguments and no memory beyond the stack.
    #[inline]
    pub fn empty() -> Input<'static> {
        Input::default()
    }

    /// The bpf_conformance convention: `r1` points at `mem`, `r2` holds its
    /// length, and `mem` is also the packet of LD_ABS/LD_IND. An empty `mem`
    /// gives `r1 = r2 = 0`.
    #[inline]
    pub fn memory(mem: &'a mut [u8]) -> Input<'a> {
        let region = Region::of_slice(mem, true);
        let mut input = Input::default();
        if !mem.is_empty() {
            input.args[0] = region.start;
            input.args[1] = mem.len() as u64;
            input.memory = Some(region);
            input.packet = Some(region);
        }
        input
    }

    /// Hands `env` to the run's helpers (see [`HelperContext::env`]).
    #[inline]
    pub fn with_env(mut self, env: &'a mut dyn Any) -> Input<'a> {
        self.env = Some(env);
        self
    }

    /// Sets argument registers `r1`..`r5`.
    #[inline]
    pub fn with_args(mut self, args: [u64; 5]) -> Input<'a> {
        self.args = args;
        self
    }

    /// Lets the program touch `region` (in checked mode).
    ///
    /// # Safety
    /// The memory must stay valid, and if writable not otherwise accessed,
    /// until the run ends.
    #[inline]
    pub unsafe fn grant(mut self, region: Region) -> Input<'a> {
        self.granted.push(region);
        self
    }

    /// Sets the packet read by LD_ABS/LD_IND.
    ///
    /// # Safety
    /// As for [`Input::grant`].
    #[inline]
    pub unsafe fn with_packet(mut self, packet: Region) -> Input<'a> {
        self.packet = Some(packet);
        self
    }

    /// The argument registers `r1`..`r5` (for other execution engines).
    #[inline]
    pub fn args(&self) -> [u64; 5] {
        self.args
    }

    /// The packet LD_ABS/LD_IND read, if any (for other execution engines).
    #[inline]
    pub fn packet(&self) -> Option<Region> {
        self.packet
    }

    /// The environment handed to helpers, if any (for other execution
    /// engines, which pass it on to [`HelperContext`]s).
    #[inline]
    pub fn env_mut(&mut self) -> Option<&mut dyn Any> {
        self.env.as_deref_mut()
    }
}

/// What the two modes do differently, resolved at compile time.
trait Mode {
    fn regions(&mut self) -> Option<&mut Regions>;
    fn allows(&self, addr: u64, size: u64, access: Access) -> bool;
    fn set_stack_floor(&mut self, floor: u64);
}

struct Unchecked;

impl Mode for Unchecked {
    #[inline(always)]
    fn regions(&mut self) -> Option<&mut Regions> {
        None
    }
    #[inline(always)]
    fn allows(&self, _: u64, _: u64, _: Access) -> bool {
        true
    }
    #[inline(always)]
    fn set_stack_floor(&mut self, _: u64) {}
}

struct Checked(Regions);

impl Mode for Checked {
    fn regions(&mut self) -> Option<&mut Regions> {
        Some(&mut self.0)
    }
    #[inline(always)]
    fn allows(&self, addr: u64, size: u64, access: Access) -> bool {
        self.0.allows(addr, size, access)
    }
    fn set_stack_floor(&mut self, floor: u64) {
        self.0.set_stack_floor(floor);
    }
}

/// Registers saved by a bpf-to-bpf call.
#[derive(Clone, Copy, Default)]
struct Frame {
    ret: usize,
    callee_saved: [u64; 4],
}

impl Program {
    /// Runs the program, bounds-checking every memory access. Safe for any
    /// program: a violation stops the run with [`RunError::OutOfBounds`].
    pub fn run_checked(
        &self,
        mut input: Input<'_>,
        opts: &RunOptions,
    ) -> Result<Outcome, RunError> {
        let mut stack = Stack::uninit();
        stack.zero_frames(self.frames);
        let mut regions = Regions::new(stack.frame_region(0));
        for r in input.memory.iter().chain(&input.granted) {
            // SAFETY: `Input` holds the borrow of this memory for the run.
            unsafe { regions.grant(*r) };
        }
        run(self, 0, &mut input, opts, &mut stack, Checked(regions))
    }

    /// Runs the program with no memory checks.
    ///
    /// # Safety
    /// The program must only touch memory that is valid: its stack, the input
    /// regions and what helpers hand out. That is what the verifier proves.
    pub unsafe fn run_unchecked(
        &self,
        mut input: Input<'_>,
        opts: &RunOptions,
    ) -> Result<Outcome, RunError> {
        let mut stack = Stack::uninit();
        stack.zero_frames(self.frames);
        run(self, 0, &mut input, opts, &mut stack, Unchecked)
    }
}

/// The stack of every frame, 8-byte aligned for atomics.
///
/// Only the frames a program can enter are zeroed, before the run: one frame
/// for a program without local calls (512 bytes, not 4 KiB, per run). The
/// rest is never reachable: the checked mode's stack region follows the call
/// depth, and the verifier confines verified code likewise, so no
/// uninitialised byte is ever read.
struct Stack {
    mem: MaybeUninit<[u64; STACK_SIZE * MAX_CALL_FRAMES / 8]>,
}

impl Stack {
    /// An uninitialised stack, built where it will live: returning a 4 KiB
    /// value from a constructor costs a copy per run.
    #[inline(always)]
    fn uninit() -> Stack {
        Stack {
            mem: MaybeUninit::uninit(),
        }
    }

    /// Zeroes the top `frames` frames.
    fn zero_frames(&mut self, frames: usize) {
        let bytes = frames.min(MAX_CALL_FRAMES) * STACK_SIZE;
        let top = self.top();
        // SAFETY: the top `bytes` bytes lie inside `mem`.
        unsafe { ptr::write_bytes((top - bytes as u64) as *mut u8, 0, bytes) };
    }

    fn top(&mut self) -> u64 {
        self.mem.as_mut_ptr() as u64 + (STACK_SIZE * MAX_CALL_FRAMES) as u64
    }

    /// The stack accessible from call depth `depth`: its frame and its callers'.
    fn frame_region(&mut self, depth: usize) -> Region {
        let top = self.top();
        let floor = top - ((depth + 1) * STACK_SIZE) as u64;
        Region::new(floor, top - floor, true)
    }
}

#[inline(always)]
unsafe fn load<T: Copy>(addr: u64) -> T {
    ptr::read_unaligned(addr as *const T)
}

#[inline(always)]
unsafe fn store<T>(addr: u64, v: T) {
    ptr::write_unaligned(addr as *mut T, v)
}

/// Runs `prog` from op `start` (0 for the program, a subprogram's first op
/// for callbacks).
fn run<M: Mode>(
    prog: &Program,
    start: usize,
    input: &mut Input<'_>,
    opts: &RunOptions,
    stack: &mut Stack,
    mut mode: M,
) -> Result<Outcome, RunError> {
    // A tail call replaces the running program; `tail_target` keeps the new
    // one alive while `prog` and `ops` borrow from it.
    let mut tail_target: Option<Arc<Program>>;
    let mut tail_calls = 0u32;
    let mut prog = prog;
    let mut ops: &[Op] = &prog.ops;
    let budget = opts.budget.unwrap_or(u64::MAX);
    let stack_top = stack.top();
    // 16 entries so that masking a register number with 0xf needs no bounds
    // check; numbers above 10 never reach here (the decoder rejects them).
    let mut regs = [0u64; 16];
    regs[1..6].copy_from_slice(&input.args);
    regs[10] = stack_top;
    let mut frames = [Frame::default(); MAX_CALL_FRAMES];
    let mut depth = 0usize;
    let mut pc = start;
    // Instructions are counted per straight-line stretch, not one by one:
    // `block` is the op index where the current stretch began, and `count`
    // holds the instructions of the stretches before it. This keeps a
    // per-instruction counter out of the dispatch loop.
    let mut count = 0u64;
    let mut block = start;

    macro_rules! d {
        ($op:expr) => {
            regs[($op.dst & 0xf) as usize]
        };
    }
    macro_rules! s {
        ($op:expr) => {
            regs[($op.src & 0xf) as usize]
        };
    }
    // Slot index of the executing instruction; only errors need it.
    macro_rules! here {
        () => {
            slot_of(prog, pc)
        };
    }
    // Taken branch: enforce the budget, then move.
    macro_rules! branch {
        ($op:expr) => {{
            count += (pc - block) as u64;
            if count > budget {
                return Err(RunError::BudgetExhausted {
                    pc: here!(),
                    budget,
                });
            }
            pc = $op.off as usize;
            block = pc;
        }};
    }
    // Instructions executed so far, for a run that ends here.
    macro_rules! executed {
        () => {
            count + (pc - block) as u64
        };
    }
    macro_rules! check {
        ($addr:expr, $size:expr, $access:expr) => {
            if !mode.allows($addr, $size, $access) {
                return Err(out_of_bounds(here!(), $access, $addr, $size));
            }
        };
    }
    macro_rules! jmp64 {
        ($op:expr, $b:expr, $cmp:expr) => {{
            let cmp: fn(u64, u64) -> bool = $cmp;
            if cmp(d!($op), $b) {
                branch!($op)
            }
        }};
    }
    macro_rules! jmp32 {
        ($op:expr, $b:expr, $cmp:expr) => {{
            let cmp: fn(u32, u32) -> bool = $cmp;
            if cmp(d!($op) as u32, $b as u32) {
                branch!($op)
            }
        }};
    }
    macro_rules! ldx {
        ($op:expr, $t:ty, $conv:expr) => {{
            let addr = s!($op).wrapping_add($op.off as i64 as u64);
            check!(addr, size_of::<$t>() as u64, Access::Read);
            // SAFETY: checked above in checked mode; proven by the verifier otherwise.
            let v: $t = unsafe { load(addr) };
            let conv: fn($t) -> u64 = $conv;
            d!($op) = conv(v);
        }};
    }
    macro_rules! st {
        ($op:expr, $t:ty, $v:expr) => {{
            let addr = d!($op).wrapping_add($op.off as i64 as u64);
            check!(addr, size_of::<$t>() as u64, Access::Write);
            // SAFETY: as for loads.
            unsafe { store::<$t>(addr, $v as $t) };
        }};
    }
    // Atomic read-modify-write: yields the old value.
    macro_rules! atomic {
        ($op:expr, $atomic:ty, $t:ty, |$a:ident, $v:ident| $body:expr) => {{
            let addr = d!($op).wrapping_add($op.off as i64 as u64);
            let size = size_of::<$t>() as u64;
            check!(addr, size, Access::Write);
            if addr % size != 0 {
                return Err(RunError::MisalignedAtomic {
                    pc: here!(),
                    addr,
                    size,
                });
            }
            // SAFETY: in bounds (checked or proven) and aligned (checked above).
            let $a = unsafe { <$atomic>::from_ptr(addr as *mut $t) };
            let $v = s!($op) as $t;
            $body
        }};
    }
    macro_rules! ld_packet {
        ($op:expr, $t:ty, $off:expr) => {{
            let Some(packet) = input.packet else {
                return Err(RunError::NoPacket { pc: here!() });
            };
            let off = $off as i32;
            let size = size_of::<$t>() as u64;
            let len = packet.end - packet.start;
            if off < 0 || off as u64 + size > len {
                // Linux ends the program with 0 on an out-of-packet legacy load.
                return Ok(Outcome {
                    r0: 0,
                    insns: executed!(),
                });
            }
            // SAFETY: inside the packet, which the input keeps borrowed.
            let v: $t = unsafe { load(packet.start + off as u64) };
            regs[0] = <$t>::from_be(v) as u64;
        }};
    }

    loop {
        // SAFETY: every branch target and return address is an op index below
        // `ops.len()` (targets validated by the decoder and mapped by
        // `Program::new`), and straight-line execution ends at the `FellOff`
        // sentinel, which never advances `pc`.
        let op = unsafe { *ops.get_unchecked(pc) };
        pc += 1;
        match op.kind {
            Kind::Add64I => d!(op) = d!(op).wrapping_add(op.imm),
            Kind::Add64R => d!(op) = d!(op).wrapping_add(s!(op)),
            Kind::Sub64I => d!(op) = d!(op).wrapping_sub(op.imm),
            Kind::Sub64R => d!(op) = d!(op).wrapping_sub(s!(op)),
            Kind::Mul64I => d!(op) = d!(op).wrapping_mul(op.imm),
            Kind::Mul64R => d!(op) = d!(op).wrapping_mul(s!(op)),
            Kind::Div64I => d!(op) = div64(d!(op), op.imm),
            Kind::Div64R => d!(op) = div64(d!(op), s!(op)),
            Kind::Sdiv64I => d!(op) = sdiv64(d!(op), op.imm),
            Kind::Sdiv64R => d!(op) = sdiv64(d!(op), s!(op)),
            Kind::Or64I => d!(op) |= op.imm,
            Kind::Or64R => d!(op) |= s!(op),
            Kind::And64I => d!(op) &= op.imm,
            Kind::And64R => d!(op) &= s!(op),
            Kind::Lsh64I => d!(op) = d!(op).wrapping_shl(op.imm as u32),
            Kind::Lsh64R => d!(op) = d!(op).wrapping_shl(s!(op) as u32),
            Kind::Rsh64I => d!(op) = d!(op).wrapping_shr(op.imm as u32),
            Kind::Rsh64R => d!(op) = d!(op).wrapping_shr(s!(op) as u32),
            Kind::Mod64I => d!(op) = mod64(d!(op), op.imm),
            Kind::Mod64R => d!(op) = mod64(d!(op), s!(op)),
            Kind::Smod64I => d!(op) = smod64(d!(op), op.imm),
            Kind::Smod64R => d!(op) = smod64(d!(op), s!(op)),
            Kind::Xor64I => d!(op) ^= op.imm,
            Kind::Xor64R => d!(op) ^= s!(op),
            Kind::Mov64I => d!(op) = op.imm,
            Kind::Mov64R => d!(op) = s!(op),
            Kind::Arsh64I => d!(op) = (d!(op) as i64).wrapping_shr(op.imm as u32) as u64,
            Kind::Arsh64R => d!(op) = (d!(op) as i64).wrapping_shr(s!(op) as u32) as u64,
            Kind::MovSx8_64 => d!(op) = s!(op) as i8 as i64 as u64,
            Kind::MovSx16_64 => d!(op) = s!(op) as i16 as i64 as u64,
            Kind::MovSx32_64 => d!(op) = s!(op) as i32 as i64 as u64,
            Kind::Neg64 => d!(op) = d!(op).wrapping_neg(),

            Kind::Add32I => d!(op) = (d!(op) as u32).wrapping_add(op.imm as u32) as u64,
            Kind::Add32R => d!(op) = (d!(op) as u32).wrapping_add(s!(op) as u32) as u64,
            Kind::Sub32I => d!(op) = (d!(op) as u32).wrapping_sub(op.imm as u32) as u64,
            Kind::Sub32R => d!(op) = (d!(op) as u32).wrapping_sub(s!(op) as u32) as u64,
            Kind::Mul32I => d!(op) = (d!(op) as u32).wrapping_mul(op.imm as u32) as u64,
            Kind::Mul32R => d!(op) = (d!(op) as u32).wrapping_mul(s!(op) as u32) as u64,
            Kind::Div32I => d!(op) = div32(d!(op), op.imm),
            Kind::Div32R => d!(op) = div32(d!(op), s!(op)),
            Kind::Sdiv32I => d!(op) = sdiv32(d!(op), op.imm),
            Kind::Sdiv32R => d!(op) = sdiv32(d!(op), s!(op)),
            Kind::Or32I => d!(op) = (d!(op) as u32 | op.imm as u32) as u64,
            Kind::Or32R => d!(op) = (d!(op) as u32 | s!(op) as u32) as u64,
            Kind::And32I => d!(op) = (d!(op) as u32 & op.imm as u32) as u64,
            Kind::And32R => d!(op) = (d!(op) as u32 & s!(op) as u32) as u64,
            Kind::Lsh32I => d!(op) = (d!(op) as u32).wrapping_shl(op.imm as u32) as u64,
            Kind::Lsh32R => d!(op) = (d!(op) as u32).wrapping_shl(s!(op) as u32) as u64,
            Kind::Rsh32I => d!(op) = (d!(op) as u32).wrapping_shr(op.imm as u32) as u64,
            Kind::Rsh32R => d!(op) = (d!(op) as u32).wrapping_shr(s!(op) as u32) as u64,
            Kind::Mod32I => d!(op) = mod32(d!(op), op.imm),
            Kind::Mod32R => d!(op) = mod32(d!(op), s!(op)),
            Kind::Smod32I => d!(op) = smod32(d!(op), op.imm),
            Kind::Smod32R => d!(op) = smod32(d!(op), s!(op)),
            Kind::Xor32I => d!(op) = (d!(op) as u32 ^ op.imm as u32) as u64,
            Kind::Xor32R => d!(op) = (d!(op) as u32 ^ s!(op) as u32) as u64,
            Kind::Mov32I => d!(op) = op.imm as u32 as u64,
            Kind::Mov32R => d!(op) = s!(op) as u32 as u64,
            Kind::Arsh32I => d!(op) = (d!(op) as i32).wrapping_shr(op.imm as u32) as u32 as u64,
            Kind::Arsh32R => d!(op) = (d!(op) as i32).wrapping_shr(s!(op) as u32) as u32 as u64,
            Kind::MovSx8_32 => d!(op) = s!(op) as i8 as i32 as u32 as u64,
            Kind::MovSx16_32 => d!(op) = s!(op) as i16 as i32 as u32 as u64,
            Kind::Neg32 => d!(op) = (d!(op) as u32).wrapping_neg() as u64,

            Kind::Le16 => d!(op) = (d!(op) as u16).to_le() as u64,
            Kind::Le32 => d!(op) = (d!(op) as u32).to_le() as u64,
            Kind::Le64 => d!(op) = d!(op).to_le(),
            Kind::Be16 => d!(op) = (d!(op) as u16).to_be() as u64,
            Kind::Be32 => d!(op) = (d!(op) as u32).to_be() as u64,
            Kind::Be64 => d!(op) = d!(op).to_be(),
            Kind::Swap16 => d!(op) = (d!(op) as u16).swap_bytes() as u64,
            Kind::Swap32 => d!(op) = (d!(op) as u32).swap_bytes() as u64,
            Kind::Swap64 => d!(op) = d!(op).swap_bytes(),

            Kind::Ja => branch!(op),
            Kind::Jeq64I => jmp64!(op, op.imm, |a, b| a == b),
            Kind::Jeq64R => jmp64!(op, s!(op), |a, b| a == b),
            Kind::Jgt64I => jmp64!(op, op.imm, |a, b| a > b),
            Kind::Jgt64R => jmp64!(op, s!(op), |a, b| a > b),
            Kind::Jge64I => jmp64!(op, op.imm, |a, b| a >= b),
            Kind::Jge64R => jmp64!(op, s!(op), |a, b| a >= b),
            Kind::Jset64I => jmp64!(op, op.imm, |a, b| a & b != 0),
            Kind::Jset64R => jmp64!(op, s!(op), |a, b| a & b != 0),
            Kind::Jne64I => jmp64!(op, op.imm, |a, b| a != b),
            Kind::Jne64R => jmp64!(op, s!(op), |a, b| a != b),
            Kind::Jsgt64I => jmp64!(op, op.imm, |a, b| (a as i64) > (b as i64)),
            Kind::Jsgt64R => jmp64!(op, s!(op), |a, b| (a as i64) > (b as i64)),
            Kind::Jsge64I => jmp64!(op, op.imm, |a, b| (a as i64) >= (b as i64)),
            Kind::Jsge64R => jmp64!(op, s!(op), |a, b| (a as i64) >= (b as i64)),
            Kind::Jlt64I => jmp64!(op, op.imm, |a, b| a < b),
            Kind::Jlt64R => jmp64!(op, s!(op), |a, b| a < b),
            Kind::Jle64I => jmp64!(op, op.imm, |a, b| a <= b),
            Kind::Jle64R => jmp64!(op, s!(op), |a, b| a <= b),
            Kind::Jslt64I => jmp64!(op, op.imm, |a, b| (a as i64) < (b as i64)),
            Kind::Jslt64R => jmp64!(op, s!(op), |a, b| (a as i64) < (b as i64)),
            Kind::Jsle64I => jmp64!(op, op.imm, |a, b| (a as i64) <= (b as i64)),
            Kind::Jsle64R => jmp64!(op, s!(op), |a, b| (a as i64) <= (b as i64)),
            Kind::Jeq32I => jmp32!(op, op.imm, |a, b| a == b),
            Kind::Jeq32R => jmp32!(op, s!(op), |a, b| a == b),
            Kind::Jgt32I => jmp32!(op, op.imm, |a, b| a > b),
            Kind::Jgt32R => jmp32!(op, s!(op), |a, b| a > b),
            Kind::Jge32I => jmp32!(op, op.imm, |a, b| a >= b),
            Kind::Jge32R => jmp32!(op, s!(op), |a, b| a >= b),
            Kind::Jset32I => jmp32!(op, op.imm, |a, b| a & b != 0),
            Kind::Jset32R => jmp32!(op, s!(op), |a, b| a & b != 0),
            Kind::Jne32I => jmp32!(op, op.imm, |a, b| a != b),
            Kind::Jne32R => jmp32!(op, s!(op), |a, b| a != b),
            Kind::Jsgt32I => jmp32!(op, op.imm, |a, b| (a as i32) > (b as i32)),
            Kind::Jsgt32R => jmp32!(op, s!(op), |a, b| (a as i32) > (b as i32)),
            Kind::Jsge32I => jmp32!(op, op.imm, |a, b| (a as i32) >= (b as i32)),
            Kind::Jsge32R => jmp32!(op, s!(op), |a, b| (a as i32) >= (b as i32)),
            Kind::Jlt32I => jmp32!(op, op.imm, |a, b| a < b),
            Kind::Jlt32R => jmp32!(op, s!(op), |a, b| a < b),
            Kind::Jle32I => jmp32!(op, op.imm, |a, b| a <= b),
            Kind::Jle32R => jmp32!(op, s!(op), |a, b| a <= b),
            Kind::Jslt32I => jmp32!(op, op.imm, |a, b| (a as i32) < (b as i32)),
            Kind::Jslt32R => jmp32!(op, s!(op), |a, b| (a as i32) < (b as i32)),
            Kind::Jsle32I => jmp32!(op, op.imm, |a, b| (a as i32) <= (b as i32)),
            Kind::Jsle32R => jmp32!(op, s!(op), |a, b| (a as i32) <= (b as i32)),

            Kind::LdxB => ldx!(op, u8, |v| v as u64),
            Kind::LdxH => ldx!(op, u16, |v| v as u64),
            Kind::LdxW => ldx!(op, u32, |v| v as u64),
            Kind::LdxDW => ldx!(op, u64, |v| v),
            Kind::LdxsB => ldx!(op, i8, |v| v as i64 as u64),
            Kind::LdxsH => ldx!(op, i16, |v| v as i64 as u64),
            Kind::LdxsW => ldx!(op, i32, |v| v as i64 as u64),
            Kind::StB => st!(op, u8, op.imm),
            Kind::StH => st!(op, u16, op.imm),
            Kind::StW => st!(op, u32, op.imm),
            Kind::StDW => st!(op, u64, op.imm),
            Kind::StxB => st!(op, u8, s!(op)),
            Kind::StxH => st!(op, u16, s!(op)),
            Kind::StxW => st!(op, u32, s!(op)),
            Kind::StxDW => st!(op, u64, s!(op)),

            Kind::AtomicAdd32 => atomic!(op, AtomicU32, u32, |a, v| {
                a.fetch_add(v, Ordering::SeqCst);
            }),
            Kind::AtomicFetchAdd32 => atomic!(op, AtomicU32, u32, |a, v| {
                s!(op) = a.fetch_add(v, Ordering::SeqCst) as u64;
            }),
            Kind::AtomicOr32 => atomic!(op, AtomicU32, u32, |a, v| {
                a.fetch_or(v, Ordering::SeqCst);
            }),
            Kind::AtomicFetchOr32 => atomic!(op, AtomicU32, u32, |a, v| {
                s!(op) = a.fetch_or(v, Ordering::SeqCst) as u64;
            }),
            Kind::AtomicAnd32 => atomic!(op, AtomicU32, u32, |a, v| {
                a.fetch_and(v, Ordering::SeqCst);
            }),
            Kind::AtomicFetchAnd32 => atomic!(op, AtomicU32, u32, |a, v| {
                s!(op) = a.fetch_and(v, Ordering::SeqCst) as u64;
            }),
            Kind::AtomicXor32 => atomic!(op, AtomicU32, u32, |a, v| {
                a.fetch_xor(v, Ordering::SeqCst);
            }),
            Kind::AtomicFetchXor32 => atomic!(op, AtomicU32, u32, |a, v| {
                s!(op) = a.fetch_xor(v, Ordering::SeqCst) as u64;
            }),
            Kind::Xchg32 => atomic!(op, AtomicU32, u32, |a, v| {
                s!(op) = a.swap(v, Ordering::SeqCst) as u64;
            }),
            Kind::Cmpxchg32 => atomic!(op, AtomicU32, u32, |a, v| {
                let expected = regs[0] as u32;
                regs[0] = match a.compare_exchange(expected, v, Ordering::SeqCst, Ordering::SeqCst)
                {
                    Ok(old) | Err(old) => old as u64,
                };
            }),
            Kind::AtomicAdd64 => atomic!(op, AtomicU64, u64, |a, v| {
                a.fetch_add(v, Ordering::SeqCst);
            }),
            Kind::AtomicFetchAdd64 => atomic!(op, AtomicU64, u64, |a, v| {
                s!(op) = a.fetch_add(v, Ordering::SeqCst);
            }),
            Kind::AtomicOr64 => atomic!(op, AtomicU64, u64, |a, v| {
                a.fetch_or(v, Ordering::SeqCst);
            }),
            Kind::AtomicFetchOr64 => atomic!(op, AtomicU64, u64, |a, v| {
                s!(op) = a.fetch_or(v, Ordering::SeqCst);
            }),
            Kind::AtomicAnd64 => atomic!(op, AtomicU64, u64, |a, v| {
                a.fetch_and(v, Ordering::SeqCst);
            }),
            Kind::AtomicFetchAnd64 => atomic!(op, AtomicU64, u64, |a, v| {
                s!(op) = a.fetch_and(v, Ordering::SeqCst);
            }),
            Kind::AtomicXor64 => atomic!(op, AtomicU64, u64, |a, v| {
                a.fetch_xor(v, Ordering::SeqCst);
            }),
            Kind::AtomicFetchXor64 => atomic!(op, AtomicU64, u64, |a, v| {
                s!(op) = a.fetch_xor(v, Ordering::SeqCst);
            }),
            Kind::Xchg64 => atomic!(op, AtomicU64, u64, |a, v| {
                s!(op) = a.swap(v, Ordering::SeqCst);
            }),
            Kind::Cmpxchg64 => atomic!(op, AtomicU64, u64, |a, v| {
                let expected = regs[0];
                regs[0] = match a.compare_exchange(expected, v, Ordering::SeqCst, Ordering::SeqCst)
                {
                    Ok(old) | Err(old) => old,
                };
            }),

            Kind::LdImm64 => d!(op) = op.imm,
            Kind::LdAbsB => ld_packet!(op, u8, op.imm),
            Kind::LdAbsH => ld_packet!(op, u16, op.imm),
            Kind::LdAbsW => ld_packet!(op, u32, op.imm),
            Kind::LdIndB => ld_packet!(op, u8, (op.imm as i32).wrapping_add(s!(op) as i32)),
            Kind::LdIndH => ld_packet!(op, u16, (op.imm as i32).wrapping_add(s!(op) as i32)),
            Kind::LdIndW => ld_packet!(op, u32, (op.imm as i32).wrapping_add(s!(op) as i32)),

            Kind::CallHelper | Kind::CallX => {
                let helper = if op.kind == Kind::CallHelper {
                    &prog.helpers[op.off as usize]
                } else {
                    let id = d!(op);
                    u32::try_from(id)
                        .ok()
                        .and_then(|id| prog.registry.get(id))
                        .ok_or(RunError::UnknownHelper { pc: here!(), id })?
                };
                let mut cx = HelperContext {
                    regions: mode.regions(),
                    env: input.env.as_deref_mut(),
                    prog,
                    tail_calls,
                    opts,
                    callback_insns: 0,
                    callbacks: None,
                };
                let result = (helper.func)(&mut cx, [regs[1], regs[2], regs[3], regs[4], regs[5]]);
                count += cx.callback_insns;
                match result {
                    Ok(v) => regs[0] = v,
                    Err(Interrupt::Exit(r0)) => {
                        return Ok(Outcome {
                            r0,
                            insns: executed!(),
                        })
                    }
                    Err(Interrupt::TailCall(next)) => {
                        if depth != 0 {
                            return Err(RunError::TailCallInSubprogram { pc: here!() });
                        }
                        count += (pc - block) as u64;
                        tail_calls += 1;
                        tail_target = Some(next);
                        prog = tail_target.as_deref().expect("just set");
                        ops = &prog.ops;
                        pc = 0;
                        block = 0;
                        // The new program starts with only its context, in r1,
                        // on the same stack frame, as in Linux.
                        regs[2..10].fill(0);
                        mode.set_stack_floor(stack_top - STACK_SIZE as u64);
                    }
                    Err(Interrupt::Fault(message)) => {
                        return Err(RunError::HelperFault {
                            pc: here!(),
                            id: helper.id,
                            name: helper.name.to_string(),
                            message,
                        })
                    }
                }
            }
            Kind::CallLocal => {
                if depth + 1 >= MAX_CALL_FRAMES {
                    return Err(RunError::CallDepth { pc: here!() });
                }
                frames[depth] = Frame {
                    ret: pc,
                    callee_saved: [regs[6], regs[7], regs[8], regs[9]],
                };
                depth += 1;
                regs[10] = stack_top - (depth * STACK_SIZE) as u64;
                mode.set_stack_floor(regs[10] - STACK_SIZE as u64);
                branch!(op);
            }
            Kind::Exit => {
                if depth == 0 {
                    return Ok(Outcome {
                        r0: regs[0],
                        insns: executed!(),
                    });
                }
                depth -= 1;
                let frame = frames[depth];
                count += (pc - block) as u64;
                pc = frame.ret;
                block = pc;
                regs[6..10].copy_from_slice(&frame.callee_saved);
                regs[10] = stack_top - (depth * STACK_SIZE) as u64;
                mode.set_stack_floor(regs[10] - STACK_SIZE as u64);
            }
            Kind::FellOff => return Err(RunError::FellOffEnd { pc: here!() }),
        }
    }
}

impl HelperContext<'_> {
    /// Runs the program's function `func` (a function reference the program
    /// loaded with LD_IMM64, as `bpf_loop` and `bpf_for_each_map_elem`
    /// receive it) with `args` in `r1`..`r5`, on a stack of its own, in the
    /// mode of the calling run; returns its `r0`.
    pub fn call_function(&mut self, func: u64, args: [u64; 5]) -> Result<u64, Interrupt> {
        let start = func
            .checked_sub(FUNC_REF_TAG)
            .filter(|&i| self.prog.func_entries.contains(&(i as u32)))
            .ok_or_else(|| Interrupt::Fault(RunError::BadCallback(func).to_string()))?
            as usize;
        if let Some(run_callback) = self.callbacks.as_mut() {
            return match run_callback(start, args, self.env.as_deref_mut()) {
                Ok(out) => {
                    self.callback_insns += out.insns;
                    Ok(out.r0)
                }
                Err(e) => Err(Interrupt::Fault(format!("in callback: {e}"))),
            };
        }
        let mut stack = Stack::uninit();
        stack.zero_frames(MAX_CALL_FRAMES);
        let mut input = Input {
            args,
            env: self.env.as_deref_mut(),
            ..Input::default()
        };
        let result = match self.regions.as_deref_mut() {
            Some(outer) => {
                // The callback may touch what its caller may: pointers to the
                // caller's stack are its usual argument.
                // Same region numbers as the caller's, so that helpers can
                // replace regions by number in callbacks too.
                let regions = outer.for_callback(stack.frame_region(0));
                run(
                    self.prog,
                    start,
                    &mut input,
                    self.opts,
                    &mut stack,
                    Checked(regions),
                )
            }
            // The calling run is unchecked: the verifier vouched for the whole
            // program, callbacks included.
            None => run(
                self.prog, start, &mut input, self.opts, &mut stack, Unchecked,
            ),
        };
        match result {
            Ok(out) => {
                self.callback_insns += out.insns;
                Ok(out.r0)
            }
            Err(e) => Err(Interrupt::Fault(format!("in callback: {e}"))),
        }
    }
}

/// Slot index of the op before `pc`. Out of line: only errors need it, and
/// inlined it would tie up a register across the whole dispatch loop.
#[cold]
#[inline(never)]
fn slot_of(prog: &Program, pc: usize) -> usize {
    prog.slot_of_op[pc - 1] as usize
}

/// Built out of line: the error is large, and the hot path should not carry it.
#[cold]
#[inline(never)]
fn out_of_bounds(pc: usize, access: Access, addr: u64, size: u64) -> RunError {
    RunError::OutOfBounds {
        pc,
        access,
        addr,
        size,
    }
}

#[inline(always)]
fn div64(a: u64, b: u64) -> u64 {
    a.checked_div(b).unwrap_or(0)
}

#[inline(always)]
fn sdiv64(a: u64, b: u64) -> u64 {
    if b == 0 {
        0
    } else {
        (a as i64).wrapping_div(b as i64) as u64
    }
}

#[inline(always)]
fn mod64(a: u64, b: u64) -> u64 {
    a.checked_rem(b).unwrap_or(a)
}

#[inline(always)]
fn smod64(a: u64, b: u64) -> u64 {
    if b == 0 {
        a
    } else {
        (a as i64).wrapping_rem(b as i64) as u64
    }
}

#[inline(always)]
fn div32(a: u64, b: u64) -> u64 {
    (a as u32).checked_div(b as u32).unwrap_or(0) as u64
}

#[inline(always)]
fn sdiv32(a: u64, b: u64) -> u64 {
    if b as u32 == 0 {
        0
    } else {
        (a as i32).wrapping_div(b as i32) as u32 as u64
    }
}

#[inline(always)]
fn mod32(a: u64, b: u64) -> u64 {
    (a as u32).checked_rem(b as u32).unwrap_or(a as u32) as u64
}

#[inline(always)]
fn smod32(a: u64, b: u64) -> u64 {
    if b as u32 == 0 {
        a as u32 as u64
    } else {
        (a as i32).wrapping_rem(b as i32) as u32 as u64
    }
}
