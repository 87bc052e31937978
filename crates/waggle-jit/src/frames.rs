//! The run-time side of compiled code: the state a run shares with it
//! ([`RunCtx`]), the BPF stack, and how a run starts and how its end is read.
//!
//! Compiled functions keep BPF registers in Cranelift variables (machine
//! registers or spill slots), so the only memory they share with Rust is the
//! BPF stack and the few fields at the start of [`RunCtx`], which they address
//! by fixed offsets. Everything that can end a run early (a helper's `Exit`,
//! a fault, an out-of-packet LD_ABS, a call too deep, a tail call) is
//! recorded in the context by Rust code (see `helpers.rs`), and compiled code
//! then returns frame by frame: a status load after each call that can stop,
//! and no unwinding through JIT frames. A tail call is then made here, by the
//! run's loop, on the same stack frame.

use crate::program::{Compiled, JitProgram};
use std::any::Any;
use std::mem::{offset_of, MaybeUninit};
use std::sync::Arc;
use thiserror::Error;
use waggle_vm::{Outcome, Program, Region, RunError, RunOptions, MAX_CALL_FRAMES, STACK_SIZE};

/// The signature of every compiled BPF function: the run's context, the
/// frame pointer of the function's own 512-byte frame (`r10`), and `r1`..`r5`;
/// returns `r0`.
pub(crate) type JitFn =
    unsafe extern "C" fn(*mut RunCtx<'_, '_>, u64, u64, u64, u64, u64, u64) -> u64;

/// Values of [`RunCtx::status`]. Anything but `RUNNING` makes compiled code
/// return to its caller at once.
pub(crate) mod status {
    pub const RUNNING: u64 = 0;
    /// The program ended with `exit_value` (helper `Exit`, out-of-packet LD_ABS).
    pub const EXITED: u64 = 1;
    /// The run failed with `error`.
    pub const FAILED: u64 = 2;
    /// A helper panicked; the panic resumes once compiled code has returned.
    pub const PANICKED: u64 = 3;
    /// A tail call succeeded: the run goes on in [`super::RunCtx::tail_call`]'s
    /// program once compiled code has returned.
    pub const TAIL_CALL: u64 = 4;
}

/// Where a run finds the compiled code of the programs it tail-calls: the
/// JIT compiles one program at a time and does not know the embedder's
/// programs, so the embedder maps each tail call's target (the program the
/// tail-call helper returned in [`waggle_vm::Interrupt::TailCall`]) to its
/// compiled code, compiling it if need be.
pub type TailCallTargets<'a> =
    dyn Fn(&Arc<Program>) -> Result<&'a JitProgram, TailCallTargetError> + 'a;

/// Why a tail call's target has no compiled code; the run fails with it, as
/// a fault of the tail-call helper.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum TailCallTargetError {
    /// The target is not one of the embedder's programs.
    #[error("the target program is unknown to this runtime")]
    Unknown,
    /// The target program could not be compiled.
    #[error("cannot compile the target program `{program}`: {error}")]
    Compile {
        program: String,
        error: crate::JitError,
    },
}

/// State of one run (or one callback), shared with compiled code.
///
/// `repr(C)` because compiled code reads the first fields by offset
/// ([`offsets`]); the rest is for the Rust side only. `'t` is the lifetime of
/// the embedder's tail-call targets, which outlive a callback's shorter run
/// (`'a`).
#[repr(C)]
pub(crate) struct RunCtx<'a, 't> {
    pub status: u64,
    pub exit_value: u64,
    /// The packet LD_ABS/LD_IND read: start address and length (0 and 0 when
    /// the run has none; `has_packet` tells the two apart for the error).
    pub packet_start: u64,
    pub packet_len: u64,
    /// The lowest frame pointer a local call may create: deeper is a
    /// `CallDepth` error (checked only when a call chain can get that deep).
    pub min_fp: u64,
    pub has_packet: bool,
    /// The running program: the one the run started with, or the last one
    /// it tail-called.
    pub compiled: &'t Compiled,
    /// The function the running program started at (0, or a callback's
    /// entry): tail calls are made from its frame only, as in the
    /// interpreter.
    pub entry: usize,
    pub env: Option<&'a mut dyn Any>,
    pub opts: &'a RunOptions,
    /// `None`: tail calls fail the run with [`RunError::Unsupported`].
    pub targets: Option<&'t TailCallTargets<'t>>,
    /// Tail calls made so far (the tail-call helper enforces the limit).
    pub tail_calls: u32,
    /// With status `TAIL_CALL`: the program to go on in and its `r1`.
    pub tail_call: Option<(&'t Compiled, u64)>,
    pub error: Option<RunError>,
    pub panic: Option<Box<dyn Any + Send>>,
}

/// What a run starts with besides its program, entry and arguments.
pub(crate) struct RunParts<'a, 't> {
    pub env: Option<&'a mut dyn Any>,
    pub packet: Option<Region>,
    pub opts: &'a RunOptions,
    pub targets: Option<&'t TailCallTargets<'t>>,
}

/// Offsets of the fields compiled code touches.
pub(crate) mod offsets {
    use super::*;
    pub const STATUS: i32 = offset_of!(RunCtx<'static, 'static>, status) as i32;
    pub const PACKET_START: i32 = offset_of!(RunCtx<'static, 'static>, packet_start) as i32;
    pub const PACKET_LEN: i32 = offset_of!(RunCtx<'static, 'static>, packet_len) as i32;
    pub const MIN_FP: i32 = offset_of!(RunCtx<'static, 'static>, min_fp) as i32;
}

/// The BPF stack of every frame: 8 × 512 bytes, 8-byte aligned for atomics,
/// laid out as the interpreter lays it out (frame `d` ends `d × 512` bytes
/// below the top), so programs see the same addresses relative to `r10`.
///
/// As in the interpreter, only the frames a program can enter are zeroed
/// before the run, and frames are not cleared between calls: a program that
/// reads stack it never wrote sees what the interpreter would.
pub(crate) struct Stack {
    mem: MaybeUninit<[u64; STACK_SIZE * MAX_CALL_FRAMES / 8]>,
}

impl Stack {
    /// An uninitialised stack, built where it will live: returning a 4 KiB
    /// value from a constructor that also initialises it costs a copy per run.
    #[inline(always)]
    pub fn uninit() -> Stack {
        Stack {
            mem: MaybeUninit::uninit(),
        }
    }

    /// Zeroes the top `frames` frames (the ones the program can enter).
    pub fn zero_frames(&mut self, frames: usize) {
        let bytes = frames.min(MAX_CALL_FRAMES) * STACK_SIZE;
        let top = self.top();
        // SAFETY: the top `bytes` bytes lie inside `mem`.
        unsafe { std::ptr::write_bytes((top - bytes as u64) as *mut u8, 0, bytes) };
    }

    /// The frame pointer of the outermost frame (one past its last byte).
    pub fn top(&mut self) -> u64 {
        self.mem.as_mut_ptr() as u64 + (STACK_SIZE * MAX_CALL_FRAMES) as u64
    }
}

/// Runs the compiled function that starts at instruction `start` with `args`
/// in `r1`..`r5`, on `stack`, and then every program it tail-calls on the
/// same frame; reads how the last one ended.
///
/// # Safety
/// As for [`crate::JitProgram::run`]: the program, and every program it
/// tail-calls, only touches valid memory.
pub(crate) unsafe fn run_function<'t>(
    compiled: &'t Compiled,
    start: usize,
    args: [u64; 5],
    parts: RunParts<'_, 't>,
    stack: &mut Stack,
) -> Result<Outcome, RunError> {
    let top = stack.top();
    let mut ctx = RunCtx::new(compiled, start, parts, top);
    // SAFETY: forwarded from the caller.
    unsafe { ctx.run(compiled, start, args, top) }
}

/// [`run_function`] from instruction 0, `repeat` times on one run context
/// and stack (a test run with Linux's `repeat`). The packet bounds come from
/// `packet`, asked again before each run of a program that reads the packet
/// (LD_ABS/LD_IND), since the run before may have moved it; the others never
/// read them. Returns the last run's outcome, or the first failure.
///
/// # Safety
/// As for [`run_function`].
pub(crate) unsafe fn run_repeated<'t>(
    compiled: &'t Compiled,
    repeat: u32,
    args: [u64; 5],
    parts: RunParts<'_, 't>,
    packet: &dyn Fn() -> Option<Region>,
    stack: &mut Stack,
) -> Result<Outcome, RunError> {
    let top = stack.top();
    let mut ctx = RunCtx::new(compiled, 0, parts, top);
    ctx.set_packet(packet());
    let Some(entry) = compiled.function(0) else {
        return Err(RunError::BadCallback(waggle_vm::FUNC_REF_TAG));
    };
    let mut out = Outcome { r0: 0, insns: 0 };
    for run in 0..repeat.max(1) {
        if run > 0 && compiled.reads_packet {
            ctx.set_packet(packet());
        }
        // The common case first, without `run`'s set-up: the entry function
        // returns with nothing to do after it (no tail call, no early end).
        ctx.compiled = compiled;
        ctx.entry = 0;
        ctx.tail_calls = 0;
        // SAFETY: as in `run`: compiled with the `JitFn` signature, memory
        // accesses vouched for by the caller, `ctx` and the stack live on.
        let r0 = unsafe { entry(&mut ctx, top, args[0], args[1], args[2], args[3], args[4]) };
        out = match ctx.after_call(r0)? {
            Ok(done) => done,
            // SAFETY: forwarded from the caller.
            Err(next_args) => unsafe { ctx.run_from(next_args, top) }?,
        };
    }
    Ok(out)
}

impl<'a, 't> RunCtx<'a, 't> {
    fn new(compiled: &'t Compiled, start: usize, parts: RunParts<'a, 't>, top: u64) -> Self {
        let mut ctx = RunCtx {
            status: status::RUNNING,
            exit_value: 0,
            packet_start: 0,
            packet_len: 0,
            min_fp: top - ((MAX_CALL_FRAMES - 1) * STACK_SIZE) as u64,
            has_packet: false,
            compiled,
            entry: start,
            env: parts.env,
            opts: parts.opts,
            targets: parts.targets,
            tail_calls: 0,
            tail_call: None,
            error: None,
            panic: None,
        };
        ctx.set_packet(parts.packet);
        ctx
    }

    fn set_packet(&mut self, packet: Option<Region>) {
        self.packet_start = packet.map_or(0, |p| p.start);
        self.packet_len = packet.map_or(0, |p| p.end - p.start);
        self.has_packet = packet.is_some();
    }

    /// One run: `compiled` from `start`, then whatever it tail-calls.
    ///
    /// # Safety
    /// As for [`run_function`]; `top` is the stack's top.
    unsafe fn run(
        &mut self,
        compiled: &'t Compiled,
        start: usize,
        args: [u64; 5],
        top: u64,
    ) -> Result<Outcome, RunError> {
        self.status = status::RUNNING;
        self.compiled = compiled;
        self.entry = start;
        self.tail_calls = 0;
        // SAFETY: forwarded from the caller.
        unsafe { self.run_from(args, top) }
    }

    /// Runs `self.compiled` from `self.entry` with `args`, then whatever it
    /// tail-calls.
    ///
    /// # Safety
    /// As for [`run_function`]; `top` is the stack's top.
    unsafe fn run_from(&mut self, mut args: [u64; 5], top: u64) -> Result<Outcome, RunError> {
        loop {
            let Some(func) = self.compiled.function(self.entry) else {
                return Err(RunError::BadCallback(
                    waggle_vm::FUNC_REF_TAG | self.entry as u64,
                ));
            };
            // SAFETY: `func` was compiled with the `JitFn` signature; the
            // caller vouches for the memory accesses of the program and of
            // those it tail-calls; `self` and the stack outlive the call.
            let r0 = unsafe { func(self, top, args[0], args[1], args[2], args[3], args[4]) };
            match self.after_call(r0)? {
                Ok(done) => return Ok(done),
                Err(next_args) => args = next_args,
            }
        }
    }

    /// How a run goes on after compiled code returned `r0`: it ended
    /// (`Ok(Ok(outcome))`), failed, or tail-called the program now in
    /// `self.compiled`, which starts with the returned arguments
    /// (`Ok(Err(args))`). A helper's panic resumes here.
    fn after_call(&mut self, r0: u64) -> Result<Result<Outcome, [u64; 5]>, RunError> {
        if self.status == status::RUNNING {
            return Ok(Ok(Outcome { r0, insns: 0 }));
        }
        if let Some(payload) = self.panic.take() {
            // A helper panicked: the panic goes on in the embedder's code,
            // as it does from the interpreter, now that no JIT frame is left
            // to unwind.
            std::panic::resume_unwind(payload);
        }
        match (self.status, self.tail_call.take()) {
            (status::EXITED, _) => {
                self.status = status::RUNNING;
                Ok(Ok(Outcome {
                    r0: self.exit_value,
                    insns: 0,
                }))
            }
            (status::TAIL_CALL, Some((next, r1))) => {
                // The new program starts with only its context, in r1, on
                // the same stack frame, as in Linux and the interpreter.
                self.status = status::RUNNING;
                self.compiled = next;
                self.entry = 0;
                self.tail_calls += 1;
                Ok(Err([r1, 0, 0, 0, 0]))
            }
            _ => Err(self.error.take().unwrap_or(RunError::Unsupported {
                pc: 0,
                what: "a failure without an error (a bug in waggle-jit)",
            })),
        }
    }
}
