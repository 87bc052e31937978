//! The helper-call interface: how programs reach functions of the host.
//!
//! A helper is a Rust function registered under its Linux helper id. Programs
//! name helpers by id (`call 1` is `bpf_map_lookup_elem`); ids are resolved
//! once when a program is prepared, so a call costs one indirect jump.

use crate::memory::{Access, Region, Regions};
use std::any::Any;
use std::borrow::Cow;
use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;
use thiserror::Error;

/// Why a helper did not return a value to the program.
#[derive(Debug, Clone, Error)]
pub enum Interrupt {
    /// End the whole program now, as if it returned this value.
    #[error("program ended by helper with {0:#x}")]
    Exit(u64),
    /// The helper could not do its work (bad argument, bad pointer); the run
    /// stops with this message.
    #[error("{0}")]
    Fault(String),
    /// Continue in another program, on the same context and stack frame
    /// (`bpf_tail_call` succeeded). The helper decides whether the call may
    /// happen (Linux allows 33 in a chain: see [`HelperContext::tail_calls`]).
    #[error("tail call")]
    TailCall(Arc<crate::Program>),
}

/// What a helper returns: the program's new `r0`, or an interrupt.
pub type HelperResult = Result<u64, Interrupt>;

/// The signature of a helper: the call context and `r1`..`r5`.
pub type HelperFn = dyn Fn(&mut HelperContext<'_>, [u64; 5]) -> HelperResult + Send + Sync;

/// A helper's direct entry point for native code running a verified
/// program: `r1`..`r5` in, the new `r0` out, with no [`HelperContext`].
///
/// Only helpers that need nothing of the run have one: no run environment,
/// no callbacks, no memory they must check, nothing that stops the program.
/// It computes exactly what the helper's [`HelperFn`] computes in unchecked
/// mode, and must not panic (a panic cannot unwind out of it). A JIT calls
/// it the way Linux's JIT calls a helper: one direct call.
pub type NativeHelper = unsafe extern "C" fn(u64, u64, u64, u64, u64) -> u64;

/// A registered helper.
#[derive(Clone)]
pub struct Helper {
    pub id: u32,
    pub name: Cow<'static, str>,
    pub func: Arc<HelperFn>,
    /// The direct entry point for verified programs, if the helper has one.
    pub native: Option<NativeHelper>,
}

impl fmt::Debug for Helper {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Helper({} {})", self.id, self.name)
    }
}

/// The helpers a program may call, by id. Embedders extend it with their own.
#[derive(Clone, Default, Debug)]
pub struct HelperRegistry {
    by_id: HashMap<u32, Helper>,
}

impl HelperRegistry {
    pub fn new() -> HelperRegistry {
        HelperRegistry::default()
    }

    /// Registers `func` as helper `id`, replacing and returning any previous one.
    pub fn register<F>(
        &mut self,
        id: u32,
        name: impl Into<Cow<'static, str>>,
        func: F,
    ) -> Option<Helper>
    where
        F: Fn(&mut HelperContext<'_>, [u64; 5]) -> HelperResult + Send + Sync + 'static,
    {
        self.insert(id, name.into(), Arc::new(func), None)
    }

    /// Registers `func` as helper `id`, with `native` as its direct entry
    /// point for native code (see [`NativeHelper`] for what it must
    /// guarantee); replaces and returns any previous helper `id`.
    pub fn register_native<F>(
        &mut self,
        id: u32,
        name: impl Into<Cow<'static, str>>,
        func: F,
        native: NativeHelper,
    ) -> Option<Helper>
    where
        F: Fn(&mut HelperContext<'_>, [u64; 5]) -> HelperResult + Send + Sync + 'static,
    {
        self.insert(id, name.into(), Arc::new(func), Some(native))
    }

    fn insert(
        &mut self,
        id: u32,
        name: Cow<'static, str>,
        func: Arc<HelperFn>,
        native: Option<NativeHelper>,
    ) -> Option<Helper> {
        let helper = Helper {
            id,
            name,
            func,
            native,
        };
        self.by_id.insert(id, helper)
    }

    pub fn get(&self, id: u32) -> Option<&Helper> {
        self.by_id.get(&id)
    }

    pub fn iter(&self) -> impl Iterator<Item = &Helper> {
        self.by_id.values()
    }
}

/// A helper's view of the running program: its memory (checked when the
/// program runs in checked mode), the embedding runtime's state for this run,
/// and the program itself, for callbacks.
pub struct HelperContext<'a> {
    /// `None` in unchecked mode, where the verifier vouched for every pointer.
    pub(crate) regions: Option<&'a mut Regions>,
    pub(crate) env: Option<&'a mut dyn Any>,
    pub(crate) prog: &'a crate::Program,
    pub(crate) tail_calls: u32,
    pub(crate) opts: &'a crate::RunOptions,
    /// Instructions run by callbacks during this helper call.
    pub(crate) callback_insns: u64,
    /// How another execution engine runs callbacks; `None`: the interpreter
    /// runs them, in the mode of the calling run.
    pub(crate) callbacks: Option<&'a mut CallbackRunner<'a>>,
}

/// How [`HelperContext::call_function`] runs a callback for an execution
/// engine other than the interpreter (the JIT runs its own compiled code).
///
/// Arguments: the op index where the function starts (already validated
/// against the program's function entries), `r1`..`r5`, and the run's
/// environment to hand to the callback's own helpers. The callback runs on a
/// stack of its own; an `Exit` interrupt inside it ends only the callback, as
/// in the interpreter.
pub type CallbackRunner<'a> = dyn FnMut(usize, [u64; 5], Option<&mut dyn Any>) -> Result<crate::Outcome, crate::RunError>
    + 'a;

/// A pointer argument that does not point into memory the program may touch.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("helper {access} of {size} bytes at {addr:#x} is outside the program's memory")]
pub struct BadPointer {
    pub addr: u64,
    pub size: u64,
    pub access: Access,
}

impl From<BadPointer> for Interrupt {
    fn from(e: BadPointer) -> Interrupt {
        Interrupt::Fault(e.to_string())
    }
}

impl<'a> HelperContext<'a> {
    /// A helper context for a call made by an execution engine other than
    /// the interpreter (the JIT), which runs verified code: memory is not
    /// checked. `prog` is the program as the interpreter prepared it (for
    /// [`call_function`](Self::call_function)'s validation of function
    /// references), `tail_calls` the chain's count so far, and `callbacks`
    /// how the engine runs callbacks itself (`None`: the interpreter runs
    /// them, unchecked).
    pub fn for_engine(
        prog: &'a crate::Program,
        env: Option<&'a mut dyn Any>,
        opts: &'a crate::RunOptions,
        tail_calls: u32,
        callbacks: Option<&'a mut CallbackRunner<'a>>,
    ) -> HelperContext<'a> {
        HelperContext {
            regions: None,
            env,
            prog,
            tail_calls,
            opts,
            callback_insns: 0,
            callbacks,
        }
    }

    /// Instructions that callbacks ran during this helper call (the caller
    /// adds them to its own count).
    pub fn callback_insns(&self) -> u64 {
        self.callback_insns
    }

    /// The runtime state handed to the run with [`crate::Input::with_env`],
    /// if it is a `T`.
    pub fn env<T: 'static>(&mut self) -> Option<&mut T> {
        self.env.as_deref_mut()?.downcast_mut()
    }

    /// How many tail calls the running chain has made so far.
    pub fn tail_calls(&self) -> u32 {
        self.tail_calls
    }

    /// Whether the program runs in checked mode.
    pub fn is_checked(&self) -> bool {
        self.regions.is_some()
    }

    fn check(&self, addr: u64, size: u64, access: Access) -> Result<(), BadPointer> {
        match &self.regions {
            Some(r) if !r.allows(addr, size, access) => Err(BadPointer { addr, size, access }),
            _ => Ok(()),
        }
    }

    /// The `len` bytes at program address `addr`.
    pub fn read(&self, addr: u64, len: u64) -> Result<&[u8], BadPointer> {
        self.check(addr, len, Access::Read)?;
        if len == 0 {
            return Ok(&[]);
        }
        // SAFETY: in checked mode the range lies inside a granted region, valid
        // for the run; in unchecked mode the verifier proved it.
        Ok(unsafe { std::slice::from_raw_parts(addr as *const u8, len as usize) })
    }

    /// The `len` bytes at program address `addr`, for writing.
    pub fn write(&mut self, addr: u64, len: u64) -> Result<&mut [u8], BadPointer> {
        self.check(addr, len, Access::Write)?;
        if len == 0 {
            return Ok(&mut []);
        }
        // SAFETY: as in `read`, and the region was granted writable.
        Ok(unsafe { std::slice::from_raw_parts_mut(addr as *mut u8, len as usize) })
    }

    /// Lets the program touch `region` for the rest of the run (memory a helper
    /// hands out, such as a map value). A no-op in unchecked mode.
    ///
    /// # Safety
    /// The memory must stay valid until the run ends.
    pub unsafe fn grant(&mut self, region: Region) {
        if let Some(r) = self.regions.as_deref_mut() {
            r.grant(region);
        }
    }

    /// Number of regions the program may touch (the number the next
    /// [`grant`](Self::grant) will get; see [`Regions`] for the numbering),
    /// or `None` in unchecked mode.
    pub fn region_count(&self) -> Option<usize> {
        self.regions.as_deref().map(Regions::count)
    }

    /// Region number `index`, or `None` (no such region, or unchecked mode).
    pub fn region(&self, index: usize) -> Option<Region> {
        self.regions.as_deref()?.get(index)
    }

    /// Replaces region number `index` (never the stack, number 0) with
    /// `region`: for helpers that move memory the program may touch (the
    /// packet's bounds after `bpf_xdp_adjust_head`) or take it back (memory
    /// lent to a callback). Returns whether the region was replaced; always
    /// `false` in unchecked mode, where regions do not exist.
    ///
    /// # Safety
    /// As for [`grant`](Self::grant): the memory must stay valid until the
    /// run ends.
    pub unsafe fn regrant(&mut self, index: usize, region: Region) -> bool {
        match self.regions.as_deref_mut() {
            Some(r) => r.replace(index, region),
            None => false,
        }
    }
}
