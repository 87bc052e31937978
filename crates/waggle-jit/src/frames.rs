//! The run-time side of compiled code: the state a run shares with it
//! ([`RunCtx`]), the BPF stack, and how a run starts and how its end is read.
//!
//! Compiled functions keep BPF registers in Cranelift variables (machine
//! registers or spill slots), so the only memory they share with Rust is the
//! BPF stack and the few fields at the start of [`RunCtx`], which they address
//! by fixed offsets. Everything that can end a run early (a helper's `Exit`,
//! a fault, an out-of-packet LD_ABS, a call too deep) is recorded in the
//! context by Rust code (see `helpers.rs`), and compiled code then returns
//! frame by frame: a status load after each call that can stop, and no
//! unwinding through JIT frames.

use crate::program::Compiled;
use std::any::Any;
use std::mem::{offset_of, MaybeUninit};
use waggle_vm::{Outcome, Region, RunError, RunOptions, MAX_CALL_FRAMES, STACK_SIZE};

/// The signature of every compiled BPF function: the run's context, the
/// frame pointer of the function's own 512-byte frame (`r10`), and `r1`..`r5`;
/// returns `r0`.
pub(crate) type JitFn = unsafe extern "C" fn(*mut RunCtx<'_>, u64, u64, u64, u64, u64, u64) -> u64;

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
}

/// State of one run (or one callback), shared with compiled code.
///
/// `repr(C)` because compiled code reads the first fields by offset
/// ([`offsets`]); the rest is for the Rust side only.
#[repr(C)]
pub(crate) struct RunCtx<'a> {
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
    pub compiled: &'a Compiled,
    pub env: Option<&'a mut dyn Any>,
    pub opts: &'a RunOptions,
    pub error: Option<RunError>,
    pub panic: Option<Box<dyn Any + Send>>,
}

/// Offsets of the fields compiled code touches.
pub(crate) mod offsets {
    use super::*;
    pub const STATUS: i32 = offset_of!(RunCtx<'static>, status) as i32;
    pub const PACKET_START: i32 = offset_of!(RunCtx<'static>, packet_start) as i32;
    pub const PACKET_LEN: i32 = offset_of!(RunCtx<'static>, packet_len) as i32;
    pub const MIN_FP: i32 = offset_of!(RunCtx<'static>, min_fp) as i32;
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
/// in `r1`..`r5`, on `stack`, and reads how it ended.
///
/// # Safety
/// As for [`crate::JitProgram::run`]: the program only touches valid memory.
pub(crate) unsafe fn run_function(
    compiled: &Compiled,
    start: usize,
    args: [u64; 5],
    env: Option<&mut dyn Any>,
    packet: Option<Region>,
    opts: &RunOptions,
    stack: &mut Stack,
) -> Result<Outcome, RunError> {
    let Some(func) = compiled.function(start) else {
        return Err(RunError::BadCallback(
            waggle_vm::FUNC_REF_TAG | start as u64,
        ));
    };
    let top = stack.top();
    let mut ctx = RunCtx {
        status: status::RUNNING,
        exit_value: 0,
        packet_start: packet.map_or(0, |p| p.start),
        packet_len: packet.map_or(0, |p| p.end - p.start),
        min_fp: top - ((MAX_CALL_FRAMES - 1) * STACK_SIZE) as u64,
        has_packet: packet.is_some(),
        compiled,
        env,
        opts,
        error: None,
        panic: None,
    };
    // SAFETY: `func` was compiled with the `JitFn` signature; the caller
    // vouches for the program's memory accesses; `ctx` and `stack` outlive
    // the call.
    let r0 = unsafe { func(&mut ctx, top, args[0], args[1], args[2], args[3], args[4]) };
    if let Some(payload) = ctx.panic.take() {
        // A helper panicked: the panic goes on in the embedder's code, as it
        // does from the interpreter, now that no JIT frame is left to unwind.
        std::panic::resume_unwind(payload);
    }
    match ctx.status {
        status::RUNNING => Ok(Outcome { r0, insns: 0 }),
        status::EXITED => Ok(Outcome {
            r0: ctx.exit_value,
            insns: 0,
        }),
        _ => Err(ctx.error.take().unwrap_or(RunError::Unsupported {
            pc: 0,
            what: "a failure without an error (a bug in waggle-jit)",
        })),
    }
}
