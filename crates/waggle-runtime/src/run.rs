//! Running a loaded program once, as Linux's `BPF_PROG_TEST_RUN` does: on a
//! packet for XDP and skb programs, on raw memory for the others, with the
//! engine of the caller's choice ([`Engine`]).

use crate::context::{layout, CtxKind};
use crate::env::{PacketState, Redirect, RunEnv};
use crate::loader::{LoadedObject, LoadedProgram};
use std::sync::Arc;
use std::time::{Duration, Instant};
use thiserror::Error;
use waggle_jit::{JitProgram, TailCallTargetError};
use waggle_vm::{Input, Program, Region, RunOptions};

/// Room before the packet, as Linux's `XDP_PACKET_HEADROOM`, so programs can
/// grow the packet at its head.
pub const HEADROOM: usize = 256;
/// Room Linux keeps after the packet for `skb_shared_info`, which programs
/// may not grow into.
pub const TAILROOM: usize = 320;
/// The smallest frame, as Linux's test run allocates a page: what lies
/// between the packet's end and the tailroom is where
/// `bpf_xdp_adjust_tail` may grow the packet.
pub const FRAME_SIZE: usize = 4096;
/// Ethernet header length: socket filters see the packet from the network
/// header on, as in Linux.
const ETH_HLEN: usize = 14;

/// Which engine runs a program.
///
/// All three give the same results (return value, output packet, trace,
/// redirect, map and ring buffer contents: helpers are shared) on programs
/// the verifier accepted; they differ in what they stand behind. Only
/// [`Engine::Interp`] is safe for any program, which is why
/// [`LoadedObject::run_packet`] and [`LoadedObject::run_raw`] use it and the
/// entry points taking another engine are `unsafe`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum Engine {
    /// The interpreter in checked mode: every load, store and helper
    /// pointer is checked against the run's memory, and a bad access stops
    /// the run with an error. Counts instructions and enforces the budget.
    #[default]
    Interp,
    /// The interpreter without checks, as verified programs may run. Counts
    /// instructions and enforces the budget.
    InterpUnchecked,
    /// Native code compiled by `waggle-jit` (Cranelift), compiled once per
    /// program on its first JIT run and kept in the [`LoadedProgram`]. No
    /// checks, no instruction count ([`RunResult::insns`] is 0) and no
    /// budget (verified programs terminate). Tail calls go on in the
    /// target's compiled code, compiled on the JIT's first tail call into it.
    Jit,
}

impl Engine {
    /// Every engine.
    pub const ALL: [Engine; 3] = [Engine::Interp, Engine::InterpUnchecked, Engine::Jit];

    /// `interp`, `interp-unchecked` or `jit`.
    pub const fn name(self) -> &'static str {
        match self {
            Engine::Interp => "interp",
            Engine::InterpUnchecked => "interp-unchecked",
            Engine::Jit => "jit",
        }
    }
}

impl std::fmt::Display for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// How to run.
#[derive(Debug, Clone, Copy)]
pub struct RunConfig {
    /// Stop after this many instructions.
    pub budget: Option<u64>,
    /// The per-CPU slot this run uses; `None`: the calling thread's own slot
    /// (threads are numbered as they first run a program, modulo the
    /// object's CPU count, so up to that many threads never share one).
    pub cpu: Option<u32>,
    /// `ingress_ifindex` (and `ifindex` for skb programs).
    pub ifindex: u32,
    /// `rx_queue_index` of XDP programs.
    pub rx_queue: u32,
    /// How many times to run the program, as `repeat` in Linux's
    /// `BPF_PROG_TEST_RUN`: the packet, context and run environment are set
    /// up once and every run sees what the previous one left (a packet it
    /// rewrote, pointers `bpf_xdp_adjust_head` moved); the result is the
    /// last run's, [`RunResult::duration`] the mean per run, and the trace
    /// holds every run's lines. 0 counts as 1.
    pub repeat: u32,
    /// Seeds `bpf_get_prandom_u32`'s generator (one per thread) before the
    /// runs, so that a program that draws random numbers gives the same
    /// results on every engine and every time: for tests. `None`: the
    /// thread's generator goes on where it was.
    pub prandom_seed: Option<u64>,
}

impl Default for RunConfig {
    fn default() -> Self {
        RunConfig {
            budget: Some(100_000_000),
            cpu: None,
            ifindex: 1,
            rx_queue: 0,
            repeat: 1,
            prandom_seed: None,
        }
    }
}

/// The outcome of one run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunResult {
    /// `r0`: the verdict of XDP and TC programs, the bytes to keep for socket
    /// filters.
    pub retval: u64,
    /// Instructions executed (0 on the JIT, which does not count them).
    pub insns: u64,
    /// The engine that ran the program (the one asked for).
    pub engine: Engine,
    /// The packet after the run (XDP and skb programs), as Linux's test run
    /// returns it.
    pub packet: Option<Vec<u8>>,
    /// `bpf_trace_printk` lines, in order.
    pub trace: Vec<String>,
    /// Where the program redirected the packet, if it did.
    pub redirect: Option<Redirect>,
    /// Wall time of the run itself (the mean per run when
    /// [`RunConfig::repeat`] is above 1); setup is not included.
    pub duration: Duration,
}

/// Why a run failed.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum RunError {
    #[error("program `{program}`: {error}")]
    Vm {
        program: String,
        error: waggle_vm::RunError,
    },
    #[error("program `{program}`: the JIT cannot compile it: {error}")]
    Jit {
        program: String,
        error: waggle_jit::JitError,
    },
    #[error("program `{program}` takes a packet (it is a {kind} program); give it packet data")]
    NeedsPacket { program: String, kind: &'static str },
    #[error(
        "program `{program}` is a {kind} program and runs on raw context memory, not a packet"
    )]
    NotPacket { program: String, kind: &'static str },
    #[error("packet of {len} bytes is too short for a {kind} program (at least {min})")]
    PacketTooShort {
        len: usize,
        min: usize,
        kind: &'static str,
    },
}

/// The calling thread's per-CPU slot number, fixed for the thread's life.
fn thread_slot() -> u32 {
    use std::sync::atomic::{AtomicU32, Ordering};
    static NEXT: AtomicU32 = AtomicU32::new(0);
    thread_local! {
        static SLOT: u32 = NEXT.fetch_add(1, Ordering::Relaxed);
    }
    SLOT.with(|s| *s)
}

impl LoadedObject {
    fn env(&self, cfg: &RunConfig, packet: Option<PacketState>) -> RunEnv {
        let cpu = cfg.cpu.unwrap_or_else(thread_slot);
        let mut env = RunEnv::new(self.shared.clone(), cpu % self.cpus.max(1));
        env.packet = packet;
        env
    }

    /// Runs `prog` on a copy of `packet` (an Ethernet frame) in the
    /// interpreter's checked mode ([`Engine::Interp`]), which is safe for any
    /// program. XDP programs see the whole frame; TC programs too; socket
    /// filters see it from the network header on, as in Linux's test run.
    pub fn run_packet(
        &self,
        prog: &LoadedProgram,
        packet: &[u8],
        cfg: &RunConfig,
    ) -> Result<RunResult, RunError> {
        // SAFETY: the checked interpreter needs no guarantee.
        unsafe { self.run_packet_with(prog, packet, cfg, Engine::Interp) }
    }

    /// [`LoadedObject::run_packet`] on the engine of the caller's choice.
    ///
    /// # Safety
    /// With [`Engine::InterpUnchecked`] or [`Engine::Jit`], nothing checks the
    /// program's memory accesses: `prog`, and every program of this object it
    /// can tail-call, must have been accepted by the verifier
    /// (`waggle_verifier::verify` on the object's `ProgramDef` and maps).
    /// With [`Engine::Interp`] there is no requirement.
    pub unsafe fn run_packet_with(
        &self,
        prog: &LoadedProgram,
        packet: &[u8],
        cfg: &RunConfig,
        engine: Engine,
    ) -> Result<RunResult, RunError> {
        let jit = self.jit_for(prog, engine)?;
        let kind = prog.prog_type.name();
        let skip = match prog.ctx {
            CtxKind::Raw => {
                return Err(RunError::NotPacket {
                    program: prog.name.clone(),
                    kind,
                })
            }
            CtxKind::SkbSocket => ETH_HLEN,
            CtxKind::Xdp | CtxKind::SkbTc => 0,
        };
        if packet.len() < ETH_HLEN {
            return Err(RunError::PacketTooShort {
                len: packet.len(),
                min: ETH_HLEN,
                kind,
            });
        }
        let mut frame = vec![0u8; FRAME_SIZE.max(HEADROOM + packet.len() + TAILROOM)];
        frame[HEADROOM..HEADROOM + packet.len()].copy_from_slice(packet);
        let buf = frame.as_mut_ptr() as u64;
        let data = buf + (HEADROOM + skip) as u64;
        let data_end = buf + (HEADROOM + packet.len()) as u64;

        // The context: the UAPI structure, then the packet pointers.
        let size = match prog.ctx {
            CtxKind::Xdp => layout::XDP_SIZE,
            _ => layout::SKB_SIZE,
        };
        let mut ctx = vec![0u64; size / 8];
        let ctx_addr = ctx.as_mut_ptr() as u64;
        {
            // SAFETY: `ctx` is `size` bytes, viewed as bytes to fill fields.
            let bytes = unsafe { std::slice::from_raw_parts_mut(ctx_addr as *mut u8, size) };
            let put32 = |b: &mut [u8], off: usize, v: u32| {
                b[off..off + 4].copy_from_slice(&v.to_le_bytes())
            };
            let put64 = |b: &mut [u8], off: usize, v: u64| {
                b[off..off + 8].copy_from_slice(&v.to_le_bytes())
            };
            match prog.ctx {
                CtxKind::Xdp => {
                    put32(bytes, layout::XDP_MD_INGRESS_IFINDEX, cfg.ifindex);
                    put32(bytes, layout::XDP_MD_RX_QUEUE_INDEX, cfg.rx_queue);
                    put64(bytes, layout::XDP_DATA, data);
                    put64(bytes, layout::XDP_DATA_END, data_end);
                    put64(bytes, layout::XDP_DATA_META, data);
                }
                _ => {
                    let len = (data_end - data) as u32;
                    put32(bytes, layout::SKB_LEN, len);
                    put32(bytes, layout::SKB_WIRE_LEN, packet.len() as u32);
                    // skb->protocol is the EtherType in network byte order.
                    let proto = u16::from_ne_bytes([packet[12], packet[13]]);
                    put32(bytes, layout::SKB_PROTOCOL, proto as u32);
                    put32(bytes, layout::SKB_INGRESS_IFINDEX, cfg.ifindex);
                    put32(bytes, layout::SKB_IFINDEX, cfg.ifindex);
                    put64(bytes, layout::SKB_DATA, data);
                    put64(bytes, layout::SKB_DATA_END, data_end);
                    put64(bytes, layout::SKB_DATA_META, data);
                }
            }
        }

        // Regions, in the order the run's region indices follow: 0 the
        // stack, 1 the context, 2 the packet, then global data.
        let ctx_writable = prog.ctx != CtxKind::Xdp;
        let packet_state = PacketState {
            kind: prog.ctx,
            ctx: ctx_addr,
            buf,
            buf_len: frame.len() as u64,
            region: 2,
        };
        let mut env = self.env(cfg, Some(packet_state));
        // Regions matter to the checked mode only (the packet's is region
        // 2, as `PacketState::region` says, granted by `execute`).
        let mut grants = Vec::new();
        if engine == Engine::Interp {
            grants.push(Region::new(ctx_addr, size as u64, ctx_writable));
            grants.extend(&self.static_regions);
        }
        let packet_of = || {
            // SAFETY: `ctx` holds the packet pointers, kept inside `frame`
            // by the helpers that move them.
            let (start, end) = unsafe { packet_bounds(prog.ctx, ctx_addr) };
            Region::new(start, end.saturating_sub(start), true)
        };
        // SAFETY: `ctx` and `frame` live until the run ends, global-data
        // values as long as `self`; the rest is forwarded from the caller.
        let result = unsafe {
            self.execute(
                prog,
                [ctx_addr, 0, 0, 0, 0],
                Some(&packet_of),
                &grants,
                &mut env,
                cfg,
                engine,
                jit,
            )
        };
        crate::helpers::end_run(&mut env);
        let result = result?;

        // The packet as the program left it.
        // SAFETY: as above.
        let (start, end) = unsafe { packet_bounds(prog.ctx, ctx_addr) };
        let lo = (start.saturating_sub(buf) as usize).min(frame.len());
        let hi = (end.saturating_sub(buf) as usize).clamp(lo, frame.len());
        let mut out = frame[lo..hi].to_vec();
        if prog.ctx == CtxKind::SkbSocket {
            // Linux returns the frame with the link-layer header it skipped,
            // zeroed.
            let mut full = vec![0u8; ETH_HLEN];
            full.append(&mut out);
            out = full;
        }
        drop(frame);
        Ok(RunResult {
            packet: Some(out),
            trace: std::mem::take(&mut env.trace),
            redirect: env.redirect.take(),
            ..result
        })
    }

    /// Runs `prog` with `r1` pointing at `ctx` (tracing and other programs
    /// whose context is raw memory) in the interpreter's checked mode
    /// ([`Engine::Interp`]), which is safe for any program.
    pub fn run_raw(
        &self,
        prog: &LoadedProgram,
        ctx: &mut [u8],
        cfg: &RunConfig,
    ) -> Result<RunResult, RunError> {
        // SAFETY: the checked interpreter needs no guarantee.
        unsafe { self.run_raw_with(prog, ctx, cfg, Engine::Interp) }
    }

    /// [`LoadedObject::run_raw`] on the engine of the caller's choice.
    ///
    /// # Safety
    /// As for [`LoadedObject::run_packet_with`]: with any engine but
    /// [`Engine::Interp`], the verifier must have accepted `prog` (and the
    /// programs it can tail-call) for a context of `ctx`'s size.
    pub unsafe fn run_raw_with(
        &self,
        prog: &LoadedProgram,
        ctx: &mut [u8],
        cfg: &RunConfig,
        engine: Engine,
    ) -> Result<RunResult, RunError> {
        if prog.ctx != CtxKind::Raw {
            return Err(RunError::NeedsPacket {
                program: prog.name.clone(),
                kind: prog.prog_type.name(),
            });
        }
        let jit = self.jit_for(prog, engine)?;
        let mut env = self.env(cfg, None);
        let region = Region::of_slice(ctx, true);
        let args = [if ctx.is_empty() { 0 } else { region.start }, 0, 0, 0, 0];
        let mut grants = Vec::new();
        if engine == Engine::Interp {
            grants.push(region);
            grants.extend(&self.static_regions);
        }
        // SAFETY: `ctx` is borrowed for the whole run, global data lives as
        // long as `self`; the rest is forwarded from the caller.
        let result = unsafe { self.execute(prog, args, None, &grants, &mut env, cfg, engine, jit) };
        crate::helpers::end_run(&mut env);
        let result = result?;
        Ok(RunResult {
            trace: std::mem::take(&mut env.trace),
            redirect: env.redirect.take(),
            ..result
        })
    }

    /// The compiled program when `engine` is the JIT, compiling it on first use:
    /// before the run is set up, so that compiling is never timed as part
    /// of a run.
    fn jit_for<'p>(
        &self,
        prog: &'p LoadedProgram,
        engine: Engine,
    ) -> Result<Option<&'p JitProgram>, RunError> {
        if engine != Engine::Jit {
            return Ok(None);
        }
        prog.jit().map(Some).map_err(|error| RunError::Jit {
            program: prog.name.clone(),
            error,
        })
    }

    /// Runs `prog` [`RunConfig::repeat`] times with `engine` (`jit` is its
    /// compiled code when `engine` is the JIT): `r1`..`r5` from `args`, the
    /// packet of each run from `packet` (read anew before each run, since a
    /// run may move the packet's bounds), and in checked mode `grants` as
    /// the run's regions after the packet. Times the runs only.
    ///
    /// # Safety
    /// As for [`LoadedObject::run_packet_with`]; `grants` and the packet
    /// stay valid until the runs end.
    #[allow(clippy::too_many_arguments)]
    unsafe fn execute(
        &self,
        prog: &LoadedProgram,
        args: [u64; 5],
        packet: Option<&dyn Fn() -> Region>,
        grants: &[Region],
        env: &mut RunEnv,
        cfg: &RunConfig,
        engine: Engine,
        jit: Option<&JitProgram>,
    ) -> Result<RunResult, RunError> {
        let opts = RunOptions { budget: cfg.budget };
        let targets = |target: &Arc<Program>| self.tail_call_target(target);
        let repeat = cfg.repeat.max(1);
        if let Some(seed) = cfg.prandom_seed {
            crate::helpers::seed_prandom(seed);
        }
        let start = Instant::now();
        let out = match (engine, jit) {
            // The JIT runs the repeats itself, on one run context and stack
            // and with no `Input` to build or stack to zero.
            // SAFETY: the caller vouches that the verifier accepted the
            // program and the programs of this object it can tail-call,
            // which are all `targets` returns.
            (Engine::Jit, Some(jit)) => unsafe {
                let packet = || packet.map(|p| p());
                jit.run_verified(
                    repeat,
                    args,
                    &packet,
                    Some(&mut *env),
                    &opts,
                    Some(&targets),
                )
            },
            _ => {
                let mut out = Ok(waggle_vm::Outcome { r0: 0, insns: 0 });
                for _ in 0..repeat {
                    // SAFETY: forwarded from the caller.
                    out = unsafe { self.interpret(prog, args, packet, grants, env, engine, &opts) };
                    if out.is_err() {
                        break;
                    }
                }
                out
            }
        }
        .map_err(|error| RunError::Vm {
            program: prog.name.clone(),
            error,
        })?;
        Ok(RunResult {
            retval: out.r0,
            insns: out.insns,
            engine,
            packet: None,
            trace: Vec::new(),
            redirect: None,
            duration: start.elapsed() / repeat,
        })
    }

    /// The compiled code of the program a JIT run tail-calls, compiling it on
    /// first use, as [`LoadedObject::jit_for`] does for the program a run
    /// starts with.
    fn tail_call_target(&self, target: &Arc<Program>) -> Result<&JitProgram, TailCallTargetError> {
        let prog = self
            .programs
            .iter()
            .find(|p| Arc::ptr_eq(&p.program, target))
            .ok_or(TailCallTargetError::Unknown)?;
        prog.jit().map_err(|error| TailCallTargetError::Compile {
            program: prog.name.clone(),
            error,
        })
    }

    /// One run of `prog` in the interpreter (`engine` says whether
    /// checked), with the input [`LoadedObject::execute`] describes.
    ///
    /// # Safety
    /// As for [`LoadedObject::execute`].
    #[allow(clippy::too_many_arguments)]
    unsafe fn interpret(
        &self,
        prog: &LoadedProgram,
        args: [u64; 5],
        packet: Option<&dyn Fn() -> Region>,
        grants: &[Region],
        env: &mut RunEnv,
        engine: Engine,
        opts: &RunOptions,
    ) -> Result<waggle_vm::Outcome, waggle_vm::RunError> {
        let mut input = Input::empty().with_args(args);
        if let Some(packet) = packet {
            let region = packet();
            // SAFETY: forwarded from the caller. In checked mode the packet
            // is region 2, after the stack and the context.
            input = unsafe { input.with_packet(region) };
            if engine == Engine::Interp {
                // SAFETY: as above.
                input = unsafe { input.grant(grants[0]).grant(region) };
                for r in &grants[1..] {
                    // SAFETY: as above.
                    input = unsafe { input.grant(*r) };
                }
            }
        } else {
            for r in grants {
                // SAFETY: forwarded from the caller.
                input = unsafe { input.grant(*r) };
            }
        }
        let input = input.with_env(env);
        if engine == Engine::InterpUnchecked {
            // SAFETY: the caller vouches that the verifier accepted the
            // program.
            unsafe { prog.program.run_unchecked(input, opts) }
        } else {
            prog.program.run_checked(input, opts)
        }
    }
}

/// The packet's start and end as the context of `kind` at `ctx` holds them.
///
/// # Safety
/// `ctx` points at a live context of `kind` (XDP or skb).
unsafe fn packet_bounds(kind: CtxKind, ctx: u64) -> (u64, u64) {
    let (d, e) = match kind {
        CtxKind::Xdp => (layout::XDP_DATA, layout::XDP_DATA_END),
        _ => (layout::SKB_DATA, layout::SKB_DATA_END),
    };
    let p = ctx as *const u8;
    // SAFETY: both fields lie inside the context.
    unsafe {
        (
            (p.add(d) as *const u64).read_unaligned(),
            (p.add(e) as *const u64).read_unaligned(),
        )
    }
}
