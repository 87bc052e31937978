//! The functions compiled code calls into Rust: helper calls (by table slot
//! and, for `callx`, by id) and faults.
//!
//! Compiled code cannot build a [`HelperContext`] or handle a Rust `Result`,
//! so each helper call goes through an `extern "C"` trampoline that does
//! both: it invokes the helper, returns its value as the new `r0`, and turns
//! every interrupt into the run's status (see [`crate::frames::status`]),
//! which compiled code checks right after the call. Panics are caught here,
//! since unwinding through JIT frames is not possible, and resumed once the
//! run has returned to Rust. A tail call's target is looked up here too, so
//! that a missing one fails the call at its instruction.

use crate::frames::{run_function, status, RunCtx, RunParts, Stack};
use crate::functions::{Functions, Layout};
use std::any::Any;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Arc;
use waggle_isa::{CallTarget, Insn};
use waggle_vm::helpers::Helper;
use waggle_vm::{HelperContext, Interrupt, Program, RunError, MAX_CALL_FRAMES};

/// Why compiled code stopped on its own (the `code` argument of [`fault()`]).
pub(crate) mod fault {
    /// Execution ran past the last instruction.
    pub const FELL_OFF: u64 = 0;
    /// A local call would need a ninth frame.
    pub const CALL_DEPTH: u64 = 1;
    /// LD_ABS/LD_IND outside the packet (ends the program with 0), or with no
    /// packet at all (an error).
    pub const PACKET: u64 = 2;
}

/// Helper call by table slot. `site` packs the instruction's slot index (for
/// errors) above the helper's slot in [`crate::program::Compiled`]'s table.
///
/// # Safety
/// `ctx` is the live context of the running program; called only by
/// compiled code.
pub(crate) unsafe extern "C" fn call_helper(
    ctx: *mut RunCtx<'_, '_>,
    site: u64,
    r1: u64,
    r2: u64,
    r3: u64,
    r4: u64,
    r5: u64,
) -> u64 {
    // SAFETY: compiled code passes the context it was given, which lives for
    // the run and which nothing else touches during the call.
    let ctx = unsafe { &mut *ctx };
    let pc = (site >> 32) as usize;
    let compiled = ctx.compiled;
    match compiled.program.helpers().get(site as u32 as usize) {
        Some(helper) => invoke(ctx, helper, pc, [r1, r2, r3, r4, r5]),
        // Slots come from the translator's own table: cannot happen.
        None => fail(
            ctx,
            RunError::Unsupported {
                pc,
                what: "a helper slot outside the table (a bug in waggle-jit)",
            },
        ),
    }
}

/// `callx`: helper call by an id in a register, looked up at run time as the
/// interpreter does.
///
/// # Safety
/// As for [`call_helper`].
#[allow(clippy::too_many_arguments)]
pub(crate) unsafe extern "C" fn call_helper_by_id(
    ctx: *mut RunCtx<'_, '_>,
    pc: u64,
    id: u64,
    r1: u64,
    r2: u64,
    r3: u64,
    r4: u64,
    r5: u64,
) -> u64 {
    // SAFETY: as in `call_helper`.
    let ctx = unsafe { &mut *ctx };
    let pc = pc as usize;
    let compiled = ctx.compiled;
    let helper = u32::try_from(id)
        .ok()
        .and_then(|id| compiled.program.registry().get(id));
    match helper {
        Some(helper) => invoke(ctx, helper, pc, [r1, r2, r3, r4, r5]),
        None => fail(ctx, RunError::UnknownHelper { pc, id }),
    }
}

/// Records why compiled code stopped by itself; compiled code returns next.
///
/// # Safety
/// As for [`call_helper`].
pub(crate) unsafe extern "C" fn fault(ctx: *mut RunCtx<'_, '_>, code: u64, pc: u64) {
    // SAFETY: as in `call_helper`.
    let ctx = unsafe { &mut *ctx };
    let pc = pc as usize;
    match code {
        fault::PACKET if ctx.has_packet => {
            // Linux ends the program with 0 on an out-of-packet legacy load.
            ctx.status = status::EXITED;
            ctx.exit_value = 0;
        }
        fault::PACKET => {
            fail(ctx, RunError::NoPacket { pc });
        }
        fault::CALL_DEPTH => {
            fail(ctx, RunError::CallDepth { pc });
        }
        _ => {
            fail(ctx, RunError::FellOffEnd { pc });
        }
    }
}

/// Which function each helper call belongs to, by slot index: a tail call
/// is made only from the function its run started at, as the interpreter
/// makes it only at call depth 0, and compiled code does not tell the
/// trampoline its depth. The verifier keeps every instruction in one
/// function; an instruction that several functions reach (code the
/// verifier rejects) belongs to none, so tail calls from it are refused.
pub(crate) struct HelperSites(Box<[(usize, Option<usize>)]>);

impl HelperSites {
    pub fn new(layout: &Layout<'_>, functions: &Functions) -> HelperSites {
        let mut sites: Vec<(usize, Option<usize>)> = Vec::new();
        for f in &functions.list {
            for &i in &f.body {
                if let Insn::Call(CallTarget::Helper(_)) | Insn::CallX { .. } = layout.insn(i) {
                    sites.push((layout.slot(i), Some(f.entry)));
                }
            }
        }
        sites.sort_unstable();
        sites.dedup_by(|later, first| {
            let shared = later.0 == first.0;
            if shared {
                first.1 = None;
            }
            shared
        });
        HelperSites(sites.into_boxed_slice())
    }

    /// The entry of the one function the helper call at slot `pc` belongs to.
    fn owner(&self, pc: usize) -> Option<usize> {
        let i = self.0.binary_search_by_key(&pc, |&(slot, _)| slot).ok()?;
        self.0[i].1
    }
}

fn fail(ctx: &mut RunCtx<'_, '_>, error: RunError) -> u64 {
    ctx.status = status::FAILED;
    ctx.error = Some(error);
    0
}

/// Calls `helper` with a [`HelperContext`] whose callbacks run compiled code,
/// and turns its result into `r0` or the run's status.
fn invoke(ctx: &mut RunCtx<'_, '_>, helper: &Helper, pc: usize, args: [u64; 5]) -> u64 {
    let compiled = ctx.compiled;
    let opts = ctx.opts;
    let targets = ctx.targets;
    let tail_calls = ctx.tail_calls;
    // Callbacks (bpf_loop and friends) run their compiled function on a
    // stack of their own, without the packet, as the interpreter runs them
    // (tail calls included, counted from 0).
    let mut callbacks = |start: usize, args: [u64; 5], env: Option<&mut dyn Any>| {
        let mut stack = Stack::uninit();
        stack.zero_frames(MAX_CALL_FRAMES);
        let parts = RunParts {
            env,
            packet: None,
            opts,
            targets,
        };
        // SAFETY: the callback is part of the program whose run the caller
        // of `JitProgram::run` vouched for.
        unsafe { run_function(compiled, start, args, parts, &mut stack) }
    };
    let env = ctx.env.as_deref_mut();
    let result = catch_unwind(AssertUnwindSafe(|| {
        let mut cx = HelperContext::for_engine(
            &compiled.program,
            env,
            opts,
            tail_calls,
            Some(&mut callbacks),
        );
        (helper.func)(&mut cx, args)
    }));
    match result {
        Ok(Ok(r0)) => r0,
        Ok(Err(Interrupt::Exit(r0))) => {
            ctx.status = status::EXITED;
            ctx.exit_value = r0;
            0
        }
        Ok(Err(Interrupt::Fault(message))) => fail(
            ctx,
            RunError::HelperFault {
                pc,
                id: helper.id,
                name: helper.name.to_string(),
                message,
            },
        ),
        Ok(Err(Interrupt::TailCall(target))) => tail_call(ctx, helper, pc, &target, args[0]),
        Err(payload) => {
            ctx.status = status::PANICKED;
            ctx.panic = Some(payload);
            0
        }
    }
}

/// A tail call the helper at `pc` allowed (it enforces the limit): records
/// the target's compiled code and `r1` for the run's loop, which starts it
/// once compiled code has returned, or fails the run as the interpreter
/// does.
fn tail_call(
    ctx: &mut RunCtx<'_, '_>,
    helper: &Helper,
    pc: usize,
    target: &Arc<Program>,
    r1: u64,
) -> u64 {
    if ctx.compiled.helper_sites.owner(pc) != Some(ctx.entry) {
        return fail(ctx, RunError::TailCallInSubprogram { pc });
    }
    // Without targets (`JitProgram::run`) no program can be found to go on in.
    let Some(targets) = ctx.targets else {
        return fail(
            ctx,
            RunError::Unsupported {
                pc,
                what: "a tail call",
            },
        );
    };
    match targets(target) {
        Ok(next) => {
            ctx.status = status::TAIL_CALL;
            ctx.tail_call = Some((&next.compiled, r1));
            0
        }
        Err(e) => fail(
            ctx,
            RunError::HelperFault {
                pc,
                id: helper.id,
                name: helper.name.to_string(),
                message: e.to_string(),
            },
        ),
    }
}
