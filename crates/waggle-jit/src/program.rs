//! [`JitProgram`]: a program compiled to native code, and how it runs.

use crate::frames::{run_function, run_repeated, JitFn, RunParts, Stack, TailCallTargets};
use crate::functions::{Functions, Layout};
use crate::helpers::HelperSites;
use crate::loop_alignment;
use crate::maps::{MapAccess, MapCallSites, MapTable};
use crate::translate::{bpf_signature, translate, Blinding, ProgramFacts};
use cranelift_codegen::control::ControlPlane;
use cranelift_codegen::ir::UserFuncName;
use cranelift_codegen::isa::OwnedTargetIsa;
use cranelift_codegen::settings::{self, Configurable};
use cranelift_frontend::FunctionBuilderContext;
use cranelift_jit::{JITBuilder, JITModule};
use cranelift_module::{
    default_libcall_names, FuncId, Linkage, Module, ModuleReloc, ModuleRelocTarget,
};
use std::any::Any;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};
use thiserror::Error;
use waggle_isa::{decode_program, Insn, LdImm64};
use waggle_vm::{
    HelperRegistry, Input, Outcome, PrepareError, Program, Region, RunError, RunOptions,
};

/// Why a program could not be compiled.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum JitError {
    /// The program cannot run at all (the interpreter refuses it too).
    #[error(transparent)]
    Prepare(#[from] PrepareError),
    /// Cranelift has no backend for this machine.
    #[error("the JIT does not support this host: {0}")]
    Host(String),
    /// Cranelift cannot generate code for `target`
    /// ([`crate::compile_for_target`]).
    #[error("cannot compile for {target}: {message}")]
    Target { target: String, message: String },
    /// Code generation failed for the function starting at slot `pc`.
    #[error("instruction {pc}: code generation failed: {message}")]
    Codegen { pc: usize, message: String },
    /// The compiled code could not be made executable.
    #[error("cannot make the compiled code executable: {0}")]
    Memory(String),
}

/// How [`JitProgram::compile`] compiles a program.
#[derive(Default)]
pub struct JitOptions<'a> {
    /// Map helper calls on known maps compiled without the helper (see
    /// [`MapAccess`]): asked about every 64-bit constant the program loads
    /// with LD_IMM64, it describes those that are map addresses. The
    /// compiled program keeps their keepalives. `None`: every map call goes
    /// through its helper.
    pub maps: Option<&'a dyn Fn(u64) -> Option<MapAccess>>,
    /// Constant blinding, as Linux's `bpf_jit_harden`: every immediate of
    /// ALU, jump, store and 64-bit load instructions is xored with a random
    /// key chosen for this program, and unxored at run time, so no constant
    /// the program chose appears in executable memory. For programs from
    /// untrusted sources; it costs an xor per constant and the division
    /// shortcuts for constant divisors.
    pub blind_constants: bool,
    /// The program passed Waggle's verifier (which rejects reads of stack
    /// never written), and will only run through
    /// [`JitProgram::run_verified`]: a function whose frame nothing can
    /// point into keeps its stack slots in registers, where a one-to-one
    /// translation (Linux's JIT) loads and stores them. Off, the stack is
    /// memory, as the interpreter's (for unverified programs on
    /// [`JitProgram::run`]).
    pub verified: bool,
}

/// A program compiled to native code by Cranelift, ready to run.
///
/// Each BPF function is one native function; registers live in machine
/// registers; helpers are called through a trampoline that gives them the
/// same [`waggle_vm::HelperContext`] the interpreter gives them (unchecked
/// mode), and callbacks they start run compiled code too.
///
/// Code pages are never writable and executable at once: cranelift-jit
/// writes code into read-write pages and then switches them to read+execute
/// (`mprotect`) before any of it runs.
pub struct JitProgram {
    pub(crate) compiled: Compiled,
    /// Owns the code pages; frees them when the program is dropped.
    #[allow(dead_code)]
    code: CodeMemory,
    /// Keeps alive the maps compiled code reaches without helpers.
    #[allow(dead_code)]
    maps: Box<[Box<dyn Any + Send + Sync>]>,
    /// The constant-blinding key compiled code reads, if blinded.
    #[allow(dead_code)]
    blinding_key: Option<Box<u64>>,
    map_call_sites: MapCallSites,
    compile_time: Duration,
    /// Each function's entry instruction, code address and code size.
    functions: Box<[(usize, usize, usize)]>,
}

impl std::fmt::Debug for JitProgram {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JitProgram")
            .field("functions", &self.compiled.entries.len())
            .field("compile_time", &self.compile_time)
            .finish_non_exhaustive()
    }
}

// Compiled programs can be shared between threads and run concurrently:
// each run has its own context and stack, and code pages are read-only.
const _: () = {
    const fn shareable<T: Send + Sync>() {}
    shareable::<JitProgram>();
};

/// What running compiled code needs, shared with the trampolines.
pub(crate) struct Compiled {
    /// The program as the interpreter prepares it: validation, the helper
    /// registry for `callx`, what `HelperContext::call_function` checks
    /// callback references against, and the helpers named by direct calls
    /// (`Program::helpers`), by the slot compiled code passes.
    pub program: Program,
    /// Compiled functions by entry instruction, ascending.
    entries: Box<[(usize, JitFn)]>,
    /// Frames to zero before a run: 1 without local calls, else all.
    frames: usize,
    /// The function of each helper call, for tail calls.
    pub helper_sites: HelperSites,
    /// Whether the program reads the packet with LD_ABS/LD_IND, the only
    /// instructions that use the run's packet bounds.
    pub reads_packet: bool,
}

impl Compiled {
    /// The compiled function starting at instruction `start`.
    pub fn function(&self, start: usize) -> Option<JitFn> {
        self.entries
            .binary_search_by_key(&start, |&(e, _)| e)
            .ok()
            .map(|i| self.entries[i].1)
    }
}

/// The JIT module, kept only to free its memory.
struct CodeMemory(Option<JITModule>);

// SAFETY: `JITModule` is `Send`, and nothing ever reaches it through a
// shared reference (it is only taken out in `drop`), so sharing the wrapper
// between threads shares nothing.
unsafe impl Sync for CodeMemory {}

impl Drop for CodeMemory {
    fn drop(&mut self) {
        if let Some(module) = self.0.take() {
            // SAFETY: no compiled code runs any more: runs borrow the
            // `JitProgram`, which is being dropped.
            unsafe { module.free_memory() };
        }
    }
}

impl JitProgram {
    /// Decodes and compiles raw bytecode.
    pub fn from_bytes(bytes: &[u8], helpers: Arc<HelperRegistry>) -> Result<JitProgram, JitError> {
        let insns = decode_program(bytes).map_err(PrepareError::from)?;
        JitProgram::new(&insns, helpers)
    }

    /// Compiles decoded instructions, each with its slot index, as
    /// [`waggle_vm::Program::new`] takes them; fails on what that refuses.
    /// Every helper call goes through the registry; constants are not
    /// blinded ([`JitOptions::default`]).
    pub fn new(
        insns: &[(usize, Insn)],
        registry: Arc<HelperRegistry>,
    ) -> Result<JitProgram, JitError> {
        JitProgram::compile(insns, registry, &JitOptions::default())
    }

    /// As [`JitProgram::new`], with the choices of `opts`.
    pub fn compile(
        insns: &[(usize, Insn)],
        registry: Arc<HelperRegistry>,
        opts: &JitOptions<'_>,
    ) -> Result<JitProgram, JitError> {
        let started = Instant::now();
        let prepared = Prepared::new(insns, registry, opts)?;
        // Owned by `code` from the start, so that its pages are freed on
        // every error path too.
        let mut code = CodeMemory(None);
        let module = code.0.insert(JITModule::new(JITBuilder::with_isa(
            host_isa()?,
            default_libcall_names(),
        )));
        let mut sizes = Vec::with_capacity(prepared.functions.list.len());
        let defined = prepared.define(module, |_, code| sizes.push(code.len()))?;
        module
            .finalize_definitions()
            .map_err(|e| JitError::Memory(e.to_string()))?;
        let Prepared {
            program,
            layout,
            functions,
            maps,
            blinding_key,
            ..
        } = prepared;
        let native: Box<[(usize, usize, usize)]> = functions
            .list
            .iter()
            .zip(&defined.ids)
            .zip(&sizes)
            .map(|((f, &id), &size)| (f.entry, module.get_finalized_function(id) as usize, size))
            .collect();
        let entries = native
            .iter()
            .map(|&(entry, address, _)| {
                // SAFETY: the function was compiled with `bpf_signature`,
                // the C calling convention of `JitFn`.
                (entry, unsafe {
                    std::mem::transmute::<*const u8, JitFn>(address as *const u8)
                })
            })
            .collect();
        Ok(JitProgram {
            compiled: Compiled {
                entries,
                frames: program.frames(),
                program,
                helper_sites: HelperSites::new(&layout, &functions),
                reads_packet: insns
                    .iter()
                    .any(|(_, i)| matches!(i, Insn::LdAbs { .. } | Insn::LdInd { .. })),
            },
            code,
            maps: maps.into_keepalives(),
            blinding_key,
            map_call_sites: defined.map_call_sites,
            compile_time: started.elapsed(),
            functions: native,
        })
    }

    /// Runs the compiled program.
    ///
    /// Outcomes and errors are the interpreter's, with these differences:
    /// - `Outcome::insns` is 0: compiled code does not count instructions,
    ///   and `opts.budget` is not enforced (verified programs terminate).
    /// - Tail calls end the run with [`RunError::Unsupported`]: the run
    ///   has no way to find their targets' compiled code (see
    ///   [`JitProgram::run_verified`]).
    /// - After a bpf-to-bpf call, `r1`..`r5` keep the caller's values (the
    ///   interpreter leaves the callee's); a callee starts with `r0` and
    ///   `r6`..`r9` at zero (the interpreter leaves the caller's). The
    ///   verifier lets programs read none of these, so verified programs
    ///   cannot tell.
    ///
    /// # Safety
    /// As for [`waggle_vm::Program::run_unchecked`]: the program must only
    /// touch valid memory (its stack, the input's memory, what helpers hand
    /// out), as the verifier proves. Nothing is checked. The [`MapAccess`]
    /// descriptions given to [`JitProgram::compile`] must be right (see
    /// there).
    pub unsafe fn run(&self, mut input: Input<'_>, opts: &RunOptions) -> Result<Outcome, RunError> {
        let mut stack = Stack::uninit();
        stack.zero_frames(self.compiled.frames);
        let args = input.args();
        let packet = input.packet();
        // SAFETY: forwarded from the caller.
        unsafe {
            let parts = RunParts {
                env: input.env_mut(),
                packet,
                opts,
                targets: None,
            };
            run_function(&self.compiled, 0, args, parts, &mut stack)
        }
    }

    /// Runs a program the verifier accepted `repeat` times (at least once),
    /// with `args` in `r1`..`r5`, `packet` for LD_ABS/LD_IND (asked before
    /// each run, since a run may move the packet) and `env` for helpers,
    /// and returns the last run's outcome or the first failure: as
    /// [`JitProgram::run`], but the stack is not zeroed first (the verifier
    /// proved that the program reads no stack byte it has not written, as
    /// Linux's JIT relies on too), no [`Input`] is built, and the runs share
    /// one run context and stack, as Linux's test run with `repeat` shares
    /// its setup. For runtimes that run a program many times, where these
    /// are a measurable part of a short program's run.
    ///
    /// With `targets`, tail calls run as in the interpreter: the target's
    /// compiled code (`targets` finds it) starts with only `r1`, on the same
    /// stack frame; the tail-call helper sees the number made so far
    /// ([`waggle_vm::HelperContext::tail_calls`]) and enforces the limit; a
    /// tail call from a bpf-to-bpf function fails the run with
    /// [`RunError::TailCallInSubprogram`]. Without, they fail it as in
    /// [`JitProgram::run`].
    ///
    /// # Safety
    /// As for [`JitProgram::run`], for this program and every program
    /// `targets` returns, and they must have passed a verifier that rejects
    /// reads of unwritten stack (Waggle's does).
    #[allow(clippy::too_many_arguments)]
    pub unsafe fn run_verified<'t>(
        &'t self,
        repeat: u32,
        args: [u64; 5],
        packet: &dyn Fn() -> Option<Region>,
        env: Option<&mut dyn Any>,
        opts: &RunOptions,
        targets: Option<&'t TailCallTargets<'t>>,
    ) -> Result<Outcome, RunError> {
        let mut stack = Stack::uninit();
        let parts = RunParts {
            env,
            packet: None,
            opts,
            targets,
        };
        // SAFETY: forwarded from the caller.
        unsafe { run_repeated(&self.compiled, repeat, args, parts, packet, &mut stack) }
    }

    /// How long compilation took (translation, code generation, making the
    /// code executable).
    pub fn compile_time(&self) -> Duration {
        self.compile_time
    }

    /// Number of native functions (one per BPF function).
    pub fn function_count(&self) -> usize {
        self.compiled.entries.len()
    }

    /// The program as the interpreter runs it, for side-by-side runs.
    pub fn interpreter_program(&self) -> &Program {
        &self.compiled.program
    }

    /// What became of the program's map helper calls: inlined, called
    /// directly, or left to the helper.
    pub fn map_call_sites(&self) -> MapCallSites {
        self.map_call_sites
    }

    /// Bytes of native code, all functions together.
    pub fn code_size(&self) -> usize {
        self.functions.iter().map(|&(_, _, size)| size).sum()
    }

    /// The machine code of each function, by its entry instruction (as
    /// `bpftool prog dump jited` shows a kernel program's): for
    /// disassemblers and inspection.
    pub fn native_code(&self) -> impl Iterator<Item = (usize, &[u8])> {
        self.functions.iter().map(|&(entry, address, size)| {
            // SAFETY: the code pages are readable (read+execute) and live as
            // long as `self`; `size` bytes were emitted at `address`.
            (entry, unsafe {
                std::slice::from_raw_parts(address as *const u8, size)
            })
        })
    }
}

/// A program ready for code generation: everything translating its
/// functions needs except the Cranelift module, so that the same
/// translation can be defined in the JIT's module or, for another target,
/// in an object file ([`crate::compile_for_target`]).
pub(crate) struct Prepared<'a> {
    /// The program as the interpreter prepares it (its validation is what
    /// translation relies on).
    pub program: Program,
    pub layout: Layout<'a>,
    pub functions: Functions,
    /// Table slot of each helper call instruction (by instruction index):
    /// its helper's index in `program.helpers()`.
    helper_slot: Vec<u32>,
    pub maps: MapTable,
    /// The constant-blinding key compiled code reads, if blinded.
    pub blinding_key: Option<Box<u64>>,
    verified: bool,
}

/// What [`Prepared::define`] defined.
pub(crate) struct Defined {
    /// Each function's id in the module, in `Functions::list` order.
    pub ids: Vec<FuncId>,
    pub map_call_sites: MapCallSites,
}

impl<'a> Prepared<'a> {
    /// Validates the program ([`Program::new`]), finds its functions and
    /// helpers, asks `opts.maps` about its constants and draws the
    /// blinding key.
    pub fn new(
        insns: &'a [(usize, Insn)],
        registry: Arc<HelperRegistry>,
        opts: &JitOptions<'_>,
    ) -> Result<Prepared<'a>, JitError> {
        let program = Program::new(insns, registry.clone())?;
        let layout = Layout::new(insns);
        let functions = Functions::discover(&layout);
        // The interpreter's helper table, so that both engines number
        // helper calls alike.
        let helper_slot = (0..insns.len())
            .map(|i| program.helper_index(i).unwrap_or(0) as u32)
            .collect();
        let constants = insns.iter().filter_map(|(_, insn)| match insn {
            Insn::LdImm64 {
                value: LdImm64::Imm(v),
                ..
            } => Some(*v),
            _ => None,
        });
        let maps = MapTable::resolve(constants, opts.maps.unwrap_or(&|_| None));
        // The key lives on the heap, where compiled code reads it, for as
        // long as the program.
        let blinding_key = opts.blind_constants.then(|| Box::new(random_key()));
        Ok(Prepared {
            program,
            layout,
            functions,
            helper_slot,
            maps,
            blinding_key,
            verified: opts.verified,
        })
    }

    /// Translates every function and defines it in `module`, calling
    /// `compiled` with each one's entry and machine code as it is
    /// generated (the module does not keep it).
    pub fn define<M: Module>(
        &self,
        module: &mut M,
        mut compiled: impl FnMut(usize, &[u8]),
    ) -> Result<Defined, JitError> {
        let (layout, functions) = (&self.layout, &self.functions);
        let call_conv = module.isa().default_call_conv();
        let sig = bpf_signature(call_conv);
        let codegen = |pc: usize, e: &dyn std::fmt::Display| JitError::Codegen {
            pc,
            message: e.to_string(),
        };
        let ids: Vec<FuncId> = functions
            .list
            .iter()
            .map(|f| {
                // Preemptible: calls between functions go through absolute
                // addresses, never 32-bit displacements, which could not
                // reach between code pages mapped far apart.
                module
                    .declare_function(&format!("bpf_fn_{}", f.entry), Linkage::Preemptible, &sig)
                    .map_err(|e| codegen(layout.slot(f.entry), &e))
            })
            .collect::<Result<_, _>>()?;
        let may_stop = |entry: usize| {
            functions
                .position(entry)
                .is_some_and(|p| functions.list[p].may_stop)
        };
        let blinding = self.blinding_key.as_deref().map(|key| Blinding {
            key: *key,
            address: key as *const u64 as u64,
        });
        let facts = ProgramFacts {
            layout,
            helper_slot: &self.helper_slot,
            maps: &self.maps,
            helpers: self.program.helpers(),
            blinding,
            verified: self.verified,
            check_depth: functions.check_depth,
            may_stop: &may_stop,
            call_conv,
            frontend: module.target_config(),
        };
        let mut ctx = module.make_context();
        let mut fctx = FunctionBuilderContext::new();
        let mut map_call_sites = MapCallSites::default();
        for (f, &id) in functions.list.iter().zip(&ids) {
            let pc = layout.slot(f.entry);
            ctx.func.signature = sig.clone();
            ctx.func.name = UserFuncName::user(0, id.as_u32());
            let mut callees = HashMap::new();
            for &callee in &f.callees {
                if let Some(p) = functions.position(callee) {
                    callees.insert(callee, module.declare_func_in_func(ids[p], &mut ctx.func));
                }
            }
            map_call_sites +=
                translate(&mut ctx.func, &mut fctx, &facts, f, &callees).map_err(|e| {
                    JitError::Codegen {
                        pc: e.pc,
                        message: format!("cannot translate {}", e.what),
                    }
                })?;
            crate::optimize::optimize(&mut ctx, module.isa()).map_err(|err| JitError::Codegen {
                pc,
                message: cranelift_codegen::print_errors::pretty_error(&ctx.func, err),
            })?;
            ctx.compile(module.isa(), &mut ControlPlane::default())
                .map_err(|e| JitError::Codegen {
                    pc,
                    message: cranelift_codegen::print_errors::pretty_error(e.func, e.inner),
                })?;
            let code = ctx.compiled_code().ok_or_else(|| JitError::Codegen {
                pc,
                message: "compilation kept no code".into(),
            })?;
            // On x86-64, the function starts at a 64-byte boundary with the
            // padding that puts its innermost loop on the fewest cache lines
            // (see `loop_alignment.rs`).
            let x86 = module.isa().name() == "x64";
            let pad = if x86 {
                loop_alignment::padding(code)
            } else {
                0
            };
            let mut bytes = loop_alignment::x86_padding(pad);
            bytes.extend_from_slice(code.code_buffer());
            let relocs: Vec<ModuleReloc> = code
                .buffer
                .relocs()
                .iter()
                .map(|reloc| {
                    let mut reloc = ModuleReloc::from_mach_reloc(reloc, &ctx.func, id);
                    reloc.offset += pad as u32;
                    if let ModuleRelocTarget::FunctionOffset(_, offset) = &mut reloc.name {
                        *offset += pad as u32;
                    }
                    reloc
                })
                .collect();
            let alignment = if x86 {
                loop_alignment::FUNCTION_ALIGNMENT
            } else {
                u64::from(code.buffer.alignment)
            };
            module
                .define_function_bytes(id, alignment, &bytes, &relocs)
                .map_err(|e| codegen(pc, &e))?;
            compiled(f.entry, &bytes);
            module.clear_context(&mut ctx);
        }
        Ok(Defined {
            ids,
            map_call_sites,
        })
    }
}

/// The flags the JIT compiles with, for any target: absolute addressing
/// (cranelift-jit does not support PIC), and the IR verifier if `verify`.
/// `opt_level` is `none` because [`crate::optimize::optimize`] runs the
/// optimiser itself before `define_function` lowers the function: at any
/// other level, `define_function` would optimise again and undo its
/// corrections.
pub(crate) fn flags(verify: bool) -> Result<settings::Flags, settings::SetError> {
    let mut flags = settings::builder();
    for (name, value) in [
        ("opt_level", "none"),
        ("use_colocated_libcalls", "false"),
        ("is_pic", "false"),
        ("enable_verifier", if verify { "true" } else { "false" }),
    ] {
        flags.set(name, value)?;
    }
    Ok(settings::Flags::new(flags))
}

/// The host's ISA with the JIT's [`flags`], the IR verifier in debug builds
/// only (it roughly doubles compile time).
pub(crate) fn host_isa() -> Result<OwnedTargetIsa, JitError> {
    let host = |e: &dyn std::fmt::Display| JitError::Host(e.to_string());
    let flags = flags(cfg!(debug_assertions)).map_err(|e| host(&e))?;
    let builder = cranelift_native::builder().map_err(|e| host(&e))?;
    builder.finish(flags).map_err(|e| host(&e))
}

/// A key for constant blinding: random per program, from the standard
/// library's per-process random hashing keys mixed with the clock and a
/// counter, so that two programs never share one. Not cryptographic, as
/// Linux's `get_random_u32` for `bpf_jit_harden` need not be either: it only
/// has to be unknown to the program's author.
fn random_key() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
    if let Ok(t) = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH) {
        h.write_u128(t.as_nanos());
    }
    h.finish()
}
