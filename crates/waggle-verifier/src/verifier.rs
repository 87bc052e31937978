//! Path exploration: every path of the program is followed from the entry
//! with an abstract state, depth first, until it exits, is proven covered by
//! an explored state (pruning), or breaks a rule.

use crate::error::*;
use crate::facts::{Facts, FactsBuilder, RegFact, Region};
use crate::helpers::{self, map_type, Arg, Ret};
use crate::liveness;
use crate::precision::{self, Hist, Masks};
use crate::scalar::{self, Scalar};
use crate::state::*;
use crate::taint::Seed;
use crate::tnum::Tnum;
use std::collections::HashSet;
use std::rc::Rc;
use std::time::{Duration, Instant};
use waggle_analysis::cfg::{Cfg, Flow};
use waggle_analysis::context::{self, layout, CtxAccess, CtxKind, Field, PacketField};
use waggle_isa::{
    decode_slots, format_insn, AluOp, AtomicOp, CallTarget, EndianOp, Insn, JmpCond, LdImm64,
    MemSize, Source, Syntax, Width,
};
use waggle_object::{MapDef, ProgramDef, ProgramType};

type IReg = waggle_isa::Reg;

/// `sizeof(struct pt_regs)`, a kprobe program's context, on this machine's
/// architecture (the kernel's own: Linux checks kprobe context accesses
/// against it).
const PT_REGS_SIZE: usize = if cfg!(target_arch = "aarch64") {
    272 // struct user_pt_regs: x0-x30, sp, pc, pstate
} else if cfg!(target_arch = "riscv64") {
    256 // struct user_regs_struct: pc, x1-x31
} else {
    168 // x86-64: 21 registers
};

/// Linux's `MAX_PACKET_OFF`: variable packet offsets beyond it get no range.
const MAX_PACKET_OFF: u64 = 0xffff;
/// Linux's `BPF_MAX_VAR_OFF`: pointer offsets must stay well inside this.
const MAX_VAR_OFF: i64 = 1 << 29;
/// Largest size a helper memory argument may have (`BPF_MAX_VAR_SIZ`).
const MAX_VAR_SIZE: u64 = 1 << 29;
const BPF_F_RDONLY_PROG: u32 = 1 << 7;
const BPF_F_WRONLY_PROG: u32 = 1 << 8;
const BPF_F_INNER_MAP: u32 = 1 << 12;

/// Settings of a verification.
#[derive(Debug, Clone)]
pub struct VerifyOptions {
    /// Instructions processed over all paths before giving up (Linux's
    /// `BPF_COMPLEXITY_LIMIT_INSNS`).
    pub max_insns: u64,
    /// Whether a pointer may become a number the program can see, as Linux
    /// allows a loader with `CAP_PERFMON` (its `env->allow_ptr_leaks`).
    ///
    /// `true` (the default): the privileged rules. A 32-bit copy or
    /// subtraction, a negation or a byte swap of a pointer gives a number
    /// made of its address; pointers into one region may be subtracted and
    /// compared with each other and with numbers; a pointer may be stored
    /// into a map value, packet data, the context or a ring buffer record,
    /// passed to a helper as a number, and a spilled pointer read back as
    /// bytes of the stack.
    ///
    /// `false`: Linux's rules for a loader without `allow_ptr_leaks`: no
    /// address ever becomes a number. Pointers allow only 64-bit copies and
    /// 64-bit addition and subtraction of numbers; they are compared only
    /// in a NULL check (a pointer that may be NULL, or one the verifier
    /// knows is not, against 0 with `==`/`!=`) or in a packet bounds check
    /// (a packet pointer against `data_end`, a metadata pointer against
    /// `data`, with `<`, `<=`, `>`, `>=`); they are stored only to the
    /// stack, whole, and a spilled pointer is never overwritten in part,
    /// read at a variable offset, updated atomically, or passed to a helper
    /// inside stack memory; helper arguments that take any value take no
    /// pointer. Every such rejection has [`ErrorKind::PointerLeak`].
    pub allow_ptr_leaks: bool,
}

impl Default for VerifyOptions {
    fn default() -> Self {
        VerifyOptions {
            max_insns: 1_000_000,
            allow_ptr_leaks: true,
        }
    }
}

/// What a successful verification cost.
#[derive(Debug, Clone, serde::Serialize)]
pub struct VerifyStats {
    /// Instructions processed over all explored paths.
    pub insns_processed: u64,
    /// Most explored states kept at once (for pruning).
    pub peak_states: usize,
    /// Explored states kept over the whole run.
    pub total_states: usize,
    /// Most bytes the kept states occupied at once (each state's registers,
    /// stack slots and references, inline and on the heap).
    pub peak_state_bytes: usize,
    pub duration: Duration,
}

/// Verifies `prog`, whose map references (`LD_IMM64` map indices) point into
/// `maps`.
pub fn verify(
    prog: &ProgramDef,
    maps: &[MapDef],
    opts: &VerifyOptions,
) -> Result<VerifyStats, VerifyError> {
    verify_inner(prog, maps, opts, false).map(|(stats, _)| stats)
}

/// Verifies `prog` as [`verify`] does and returns, with the statistics, what
/// it proved about each instruction ([`Facts`]): the registers each reads
/// that hold known constants or zero-extended 32-bit values on every
/// execution, the region each memory access is proven to stay inside, and
/// the instructions no execution reaches. Collecting them costs a little
/// time per instruction processed; [`verify`] does not.
pub fn verify_with_facts(
    prog: &ProgramDef,
    maps: &[MapDef],
    opts: &VerifyOptions,
) -> Result<(VerifyStats, Facts), VerifyError> {
    verify_inner(prog, maps, opts, true)
        .map(|(stats, facts)| (stats, facts.expect("facts are collected when asked for")))
}

fn verify_inner(
    prog: &ProgramDef,
    maps: &[MapDef],
    opts: &VerifyOptions,
    with_facts: bool,
) -> Result<(VerifyStats, Option<Facts>), VerifyError> {
    let start = Instant::now();
    let decoded = decode_slots(&prog.insns).map_err(|e| VerifyError {
        kind: ErrorKind::Malformed,
        message: format!("instruction {} does not decode: {}", e.pc, e.kind),
        pc: Some(e.pc),
        insn: None,
        source: source_line(prog, e.pc),
        registers: vec![],
        path: vec![],
        path_omitted: 0,
        rule: "every instruction must be a valid eBPF instruction".into(),
        help: None,
        program: prog.name.clone(),
    })?;
    if decoded.is_empty() {
        return Err(whole_program(
            prog,
            ErrorKind::Malformed,
            "the program has no instructions".into(),
            "a program ends with `exit`".into(),
        ));
    }
    let cfg = Cfg::new(&decoded);
    let mut v = Verifier::new(prog, maps, opts, cfg);
    if with_facts {
        v.facts = Some(FactsBuilder::new(v.cfg.len()));
    }
    v.check_structure()?;
    v.run()?;
    v.check_stack_chains()?;
    let facts = v.facts.take().map(|f| f.finish(&v.cfg, prog.insns.len()));
    Ok((
        VerifyStats {
            insns_processed: v.processed,
            peak_states: v.peak_states,
            total_states: v.total_states,
            peak_state_bytes: v.peak_bytes,
            duration: start.elapsed(),
        },
        facts,
    ))
}

/// One visit of instruction `i` in state `st` (before the instruction runs).
fn record_facts(facts: &mut FactsBuilder, i: usize, insn: &Insn, st: &State) {
    let regs = &st.cur().regs;
    let mask = liveness::reads(insn);
    let read = (0..=10u8)
        .filter(|r| mask & (1 << r) != 0)
        .map(|r| (r, reg_fact(&regs[r as usize])));
    let base = match *insn {
        Insn::Load { src, .. } => Some(src),
        Insn::Store { dst, .. } | Insn::Atomic { dst, .. } => Some(dst),
        _ => None,
    };
    let access = base.and_then(|r| match regs[r.index()] {
        Val::Ptr(p) => region_of(p.kind),
        _ => None,
    });
    facts.visit(i, read, access);
}

/// A pruning at instruction `i` for the facts: the places where the pruned
/// state `cur` may hold numbers the explored state `old` did not (imprecise
/// ones), as seeds of `crate::taint`. A caller frame's places matter from
/// where it resumes: after the call, or at a callback's helper call.
fn note_pruning(facts: &mut FactsBuilder, old: &State, cur: &State, masks: &[FrameLive], i: usize) {
    let diff = imprecise_differences(old, cur, masks);
    let last = cur.frames.len() - 1;
    for (k, &(regs, slots)) in diff.iter().enumerate() {
        if regs == 0 && slots == 0 {
            continue;
        }
        let insn = if k == last {
            i
        } else {
            let callee = &cur.frames[k + 1];
            callee.callsite as usize + usize::from(!callee.callback)
        };
        facts.pruned(Seed {
            insn,
            regs,
            slots,
            other_stack: k != last && slots != 0,
        });
    }
}

fn reg_fact(v: &Val) -> RegFact {
    match v {
        Val::Scalar { val, .. } => RegFact {
            constant: val.const_value(),
            zext32: val.b64.umax <= u32::MAX as u64 || (val.var.value | val.var.mask) >> 32 == 0,
        },
        _ => RegFact::UNKNOWN,
    }
}

/// The region a dereference of a pointer of this kind stays in, for the
/// kinds that may be dereferenced (the others fail the access).
fn region_of(kind: PtrKind) -> Option<Region> {
    Some(match kind {
        PtrKind::Stack { .. } => Region::Stack,
        PtrKind::Ctx => Region::Ctx,
        PtrKind::Packet => Region::Packet,
        PtrKind::PacketMeta => Region::PacketMeta,
        PtrKind::MapValue { map, .. } => Region::MapValue {
            map: (map & INNER_MAP == 0).then_some(map),
        },
        PtrKind::Mem { .. } => Region::RingbufRecord,
        PtrKind::MapKey { .. } => Region::MapKey,
        PtrKind::PacketEnd
        | PtrKind::Map { .. }
        | PtrKind::MapOrNull { .. }
        | PtrKind::Func { .. } => return None,
    })
}

fn whole_program(prog: &ProgramDef, kind: ErrorKind, message: String, rule: String) -> VerifyError {
    VerifyError {
        kind,
        message,
        pc: None,
        insn: None,
        source: None,
        registers: vec![],
        path: vec![],
        path_omitted: 0,
        rule,
        help: None,
        program: prog.name.clone(),
    }
}

/// The source line of slot `pc`: the line entry at or before it.
fn source_line(prog: &ProgramDef, pc: usize) -> Option<Box<SourceLocation>> {
    let upto = pc.min(prog.lines.len().checked_sub(1)?);
    prog.lines[..=upto].iter().rev().flatten().next().map(|l| {
        Box::new(SourceLocation {
            file: l.file.clone(),
            line: l.line,
            column: l.column,
            text: l.text.clone(),
        })
    })
}

/// An error without its location, which the exploration loop adds.
struct Failure {
    kind: ErrorKind,
    message: String,
    registers: Vec<RegisterNote>,
    rule: String,
    help: Option<String>,
}

type Res<T> = Result<T, Failure>;

fn failure(kind: ErrorKind, message: impl Into<String>, rule: impl Into<String>) -> Failure {
    Failure {
        kind,
        message: message.into(),
        registers: vec![],
        rule: rule.into(),
        help: None,
    }
}

impl Failure {
    fn help(mut self, h: impl Into<String>) -> Failure {
        self.help = Some(h.into());
        self
    }
}

struct PathNode {
    step: PathStep,
    prev: Option<Rc<PathNode>>,
    len: usize,
}

type Path = Option<Rc<PathNode>>;

fn extend(path: &Path, pc: usize, event: PathEvent) -> Path {
    Some(Rc::new(PathNode {
        step: PathStep { pc, event },
        len: path.as_ref().map_or(0, |p| p.len) + 1,
        prev: path.clone(),
    }))
}

/// A path to explore: its state, the instruction it is at, and the explored
/// state it descends from (for completion counting).
struct Work {
    state: State,
    insn: usize,
    node: usize,
    path: Path,
    /// The path is back at a callback's callsite after the callback
    /// returned (the helper may call it again).
    from_callback: bool,
    /// The instructions run since `node`'s state (for precision
    /// backtracking).
    hist: Vec<Hist>,
}

struct Stored {
    state: State,
    node: usize,
    hits: u32,
    misses: u32,
}

/// Room for the instructions a path runs before its history next grows.
const HIST_ROOM: usize = 32;

/// A copy of a path's history for the other side of a fork.
fn fork_hist(hist: &[Hist]) -> Vec<Hist> {
    let mut h = Vec::with_capacity(hist.len() + HIST_ROOM);
    h.extend_from_slice(hist);
    h
}

/// The live masks of each frame of a state, by depth (see
/// [`Verifier::live_masks`]).
#[derive(Clone, Copy)]
struct LiveMasks {
    frames: [FrameLive; MAX_FRAMES],
    len: usize,
}

impl std::ops::Deref for LiveMasks {
    type Target = [FrameLive];
    fn deref(&self) -> &[FrameLive] {
        &self.frames[..self.len]
    }
}

impl std::ops::DerefMut for LiveMasks {
    fn deref_mut(&mut self) -> &mut [FrameLive] {
        &mut self.frames[..self.len]
    }
}

/// Completion bookkeeping of an explored state: how many paths below it are
/// still being explored. Only complete states (no paths left) may prune: an
/// incomplete one is an ancestor of the current path, and matching it means
/// a loop, not a proof.
///
/// It also keeps what precision backtracking needs: the instructions run
/// from the parent's state to this one, and which places of this state hold
/// numbers and which of them are precise (`crate::precision`).
struct Node {
    parent: usize,
    branches: u32,
    hist: Vec<Hist>,
    /// By frame depth: scalar registers and stack slots of the state.
    scalars: Vec<(u16, u64)>,
    /// By frame depth: the precise ones among them.
    precise: Vec<(u16, u64)>,
}

impl Node {
    fn new(parent: usize) -> Node {
        Node {
            parent,
            branches: 1,
            hist: Vec::new(),
            scalars: Vec::new(),
            precise: Vec::new(),
        }
    }
}

const ROOT: usize = 0;
/// A complete explored state is dropped once it failed to prune more than
/// `EVICT * (hits + 1)` paths that then kept a state of their own (as
/// Linux's `miss_cnt > hit_cnt * 3 + 3`).
const EVICT: u32 = 3;

/// Marks a map number as the inner map of the map of maps it names (what a
/// lookup in a map of maps returns).
const INNER_MAP: u32 = 1 << 31;

/// Bytes of a kept state's bookkeeping beyond the state itself.
const STORED_EXTRA: usize =
    std::mem::size_of::<Stored>() - std::mem::size_of::<State>() + std::mem::size_of::<Node>();

/// The outcome of one instruction.
enum Step {
    Goto(usize),
    Branch {
        target: usize,
        taken: Option<State>,
        fall: Option<State>,
    },
    Call(usize),
    /// A helper that calls a callback: the state after the call (the
    /// callback not called, or called for the last time), and the state
    /// entering the callback.
    Callback {
        after: State,
        entry: usize,
        callee: State,
    },
    /// A callback returned: back to its callsite.
    CallbackReturn(usize),
    Done,
}

/// Where a memory access goes and what it does.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Access {
    Read,
    Write,
    Atomic,
}

impl Access {
    fn verb(self) -> &'static str {
        match self {
            Access::Read => "read",
            Access::Write => "write",
            Access::Atomic => "atomic update",
        }
    }
}

struct Verifier<'a> {
    prog: &'a ProgramDef,
    maps: &'a [MapDef],
    ctx: CtxKind,
    cfg: Cfg,
    live: Vec<u16>,
    /// Live stack slots of the current frame before each instruction.
    live_slots: Vec<u64>,
    /// Places whose numbers the instruction being run needs (see
    /// `crate::precision`), marked once it ran.
    pending: Option<Masks>,
    /// Comparisons' place groups spanning several frames.
    groups: precision::Groups,
    prune: Vec<bool>,
    explored: Vec<Vec<Stored>>,
    nodes: Vec<Node>,
    work: Vec<Work>,
    next_id: u32,
    processed: u64,
    max_insns: u64,
    cur_states: usize,
    peak_states: usize,
    total_states: usize,
    cur_bytes: usize,
    peak_bytes: usize,
    jmps: u64,
    prev_jmps: u64,
    prev_insns: u64,
    /// Deepest stack access of each function, by entry instruction.
    depth: Vec<u32>,
    /// Call chains seen (function entries, outermost first).
    chains: HashSet<Vec<u32>>,
    /// Call chains at tail calls made from subprograms.
    tail_chains: HashSet<Vec<u32>>,
    /// Slot of the instruction being processed (for invalidation records).
    pc: usize,
    /// What each instruction's visits proved, when asked for.
    facts: Option<FactsBuilder>,
    /// [`VerifyOptions::allow_ptr_leaks`].
    allow_ptr_leaks: bool,
}

impl<'a> Verifier<'a> {
    fn new(
        prog: &'a ProgramDef,
        maps: &'a [MapDef],
        opts: &VerifyOptions,
        cfg: Cfg,
    ) -> Verifier<'a> {
        let n = cfg.len();
        let live = liveness::live_in(&cfg, opts.allow_ptr_leaks);
        let live_slots = liveness::live_slots_in(&cfg);
        let mut prune = vec![false; n];
        for f in cfg.functions() {
            prune[f] = true;
        }
        for i in 0..n {
            match cfg.flow(i) {
                Flow::Jump(t) => prune[t] = true,
                // A conditional jump itself (a state kept there covers both
                // of its sides) and its target, not its fall-through, as
                // Linux: fewer states, kept where paths fork and meet.
                Flow::Branch(t) => {
                    prune[t] = true;
                    prune[i] = true;
                }
                Flow::Call(_) if i + 1 < n => prune[i + 1] = true,
                _ => {}
            }
            if let Insn::Call(CallTarget::Helper(id)) = cfg.insns[i] {
                if helpers::takes_callback(id as u32) {
                    prune[i] = true;
                    if i + 1 < n {
                        prune[i + 1] = true;
                    }
                }
            }
        }
        Verifier {
            prog,
            maps,
            ctx: CtxKind::of(prog.prog_type),
            live,
            live_slots,
            pending: None,
            groups: precision::Groups::default(),
            prune,
            explored: (0..n).map(|_| Vec::new()).collect(),
            nodes: vec![Node::new(ROOT)],
            work: Vec::new(),
            next_id: 1,
            processed: 0,
            max_insns: opts.max_insns,
            cur_states: 0,
            peak_states: 0,
            total_states: 0,
            cur_bytes: 0,
            peak_bytes: 0,
            jmps: 0,
            prev_jmps: 0,
            prev_insns: 0,
            depth: vec![0; n],
            chains: HashSet::new(),
            tail_chains: HashSet::new(),
            pc: 0,
            facts: None,
            allow_ptr_leaks: opts.allow_ptr_leaks,
            cfg,
        }
    }

    fn fresh_id(&mut self) -> u32 {
        self.next_id += 1;
        self.next_id
    }

    fn map_name(&self, m: u32) -> String {
        let outer = self.maps.get((m & !INNER_MAP) as usize);
        match (outer, m & INNER_MAP != 0) {
            (Some(d), false) => format!("`{}`", d.name),
            (Some(d), true) => format!("`{}`'s inner map", d.name),
            (None, _) => format!("#{m}"),
        }
    }

    /// The definition of map `m`: one of the object's, or (with
    /// [`INNER_MAP`]) the inner-map template of a map of maps.
    fn map_at(&self, m: u32) -> &'a MapDef {
        let d = &self.maps[(m & !INNER_MAP) as usize];
        if m & INNER_MAP != 0 {
            d.inner
                .as_deref()
                .expect("only maps of maps with a template give inner maps")
        } else {
            d
        }
    }

    fn show(&self, v: &Val) -> String {
        fmt_reg(v, &|m| self.map_name(m))
    }

    fn note(&self, st: &State, r: IReg) -> RegisterNote {
        RegisterNote {
            name: format!("r{}", r.num()),
            value: self.show(&st.cur().regs[r.index()]),
        }
    }

    fn with_regs(&self, mut f: Failure, st: &State, regs: &[IReg]) -> Failure {
        for &r in regs {
            let n = self.note(st, r);
            if !f.registers.contains(&n) {
                f.registers.push(n);
            }
        }
        f
    }

    /// An error at instruction `i` on `path`.
    fn locate(&self, f: Failure, i: usize, path: &Path) -> VerifyError {
        let pc = self.cfg.pcs[i];
        let mut steps = Vec::new();
        let mut total = 0;
        let mut p = path.clone();
        if let Some(n) = &p {
            total = n.len;
        }
        while let Some(n) = p {
            if steps.len() == 32 {
                break;
            }
            steps.push(n.step);
            p = n.prev.clone();
        }
        steps.reverse();
        VerifyError {
            kind: f.kind,
            message: f.message,
            pc: Some(pc),
            insn: Some(format_insn(&self.cfg.insns[i], Syntax::Llvm)),
            source: source_line(self.prog, pc),
            registers: f.registers,
            path_omitted: total - steps.len(),
            path: steps,
            rule: f.rule,
            help: f.help,
            program: self.prog.name.clone(),
        }
    }

    fn at(&self, i: usize, f: Failure) -> VerifyError {
        self.locate(f, i, &None)
    }

    // ----------------------------------------------------------------------
    // Structure: functions, jumps within them, no fall-through, reachability.

    fn check_structure(&self) -> Result<(), VerifyError> {
        let n = self.cfg.len();
        let funcs = self.cfg.functions();
        let func_end = |f: usize| funcs.iter().find(|&&g| g > f).copied().unwrap_or(n);
        for (k, &f) in funcs.iter().enumerate() {
            let end = func_end(f);
            let _ = k;
            for i in f..end {
                let unsupported = match self.cfg.insns[i] {
                    Insn::LdImm64 {
                        value: LdImm64::MapFd(_) | LdImm64::MapValue { .. },
                        ..
                    } => Some("maps referenced by file descriptor are not supported: the verifier takes map indices (BPF_PSEUDO_MAP_IDX) from waggle-object"),
                    Insn::LdImm64 {
                        value: LdImm64::BtfId { .. },
                        ..
                    } => Some("kernel variables (BPF_PSEUDO_BTF_ID) are not supported by the verifier yet"),
                    Insn::Call(CallTarget::Kfunc { .. }) => Some("kernel function calls (kfuncs) are not supported by the verifier yet"),
                    Insn::CallX { .. } => Some("calls through a register are not allowed (Linux rejects BPF_CALL|BPF_X)"),
                    _ => None,
                };
                if let Some(msg) = unsupported {
                    let kind = if matches!(self.cfg.insns[i], Insn::CallX { .. }) {
                        ErrorKind::InvalidInstruction
                    } else {
                        ErrorKind::Unsupported
                    };
                    return Err(self.at(
                        i,
                        failure(
                            kind,
                            msg,
                            "only constructs the verifier can check are accepted",
                        ),
                    ));
                }
                let target = match self.cfg.flow(i) {
                    Flow::Jump(t) | Flow::Branch(t) => Some(t),
                    _ => None,
                };
                if let Some(t) = target {
                    if t < f || t >= end {
                        return Err(self.at(
                            i,
                            failure(
                                ErrorKind::Malformed,
                                format!("jump from {} to {} leaves its function (instructions {}..{})", self.cfg.pcs[i], self.cfg.pcs[t], self.cfg.pcs[f], self.cfg.pcs.get(end).copied().unwrap_or(self.prog.insns.len())),
                                "jumps stay inside the function they are in; other functions are entered by calls",
                            ),
                        ));
                    }
                }
            }
            let last = end - 1;
            if !self.cfg.insns[last].is_terminator() {
                return Err(self.at(
                    last,
                    failure(
                        ErrorKind::Malformed,
                        if end == n {
                            "the program can run past its last instruction".to_string()
                        } else {
                            "the function can fall through into the next function".to_string()
                        },
                        "the last instruction of every function is `exit` or an unconditional jump",
                    ),
                ));
            }
        }
        // Reachability from the entry (calls reach their targets).
        let mut seen = vec![false; n];
        let mut stack = vec![0usize];
        while let Some(i) = stack.pop() {
            if i >= n || seen[i] {
                continue;
            }
            seen[i] = true;
            if let Some(t) = self.func_ref(i) {
                stack.push(t); // a callback is reached through its reference
            }
            match self.cfg.flow(i) {
                Flow::Next => stack.push(i + 1),
                Flow::Jump(t) => stack.push(t),
                Flow::Branch(t) | Flow::Call(t) => {
                    stack.push(i + 1);
                    stack.push(t);
                }
                Flow::Exit => {}
            }
        }
        if let Some(i) = seen.iter().position(|s| !s) {
            return Err(self.at(
                i,
                failure(
                    ErrorKind::Unreachable,
                    format!("instruction {} is unreachable", self.cfg.pcs[i]),
                    "every instruction must be reachable from the entry (Linux rejects dead code)",
                )
                .help("remove the dead code, or check that the jumps around it go where you meant"),
            ));
        }
        Ok(())
    }

    // ----------------------------------------------------------------------
    // Exploration.

    fn run(&mut self) -> Result<(), VerifyError> {
        let mut frame = Frame::new(0, u32::MAX, 0);
        frame.regs[1] = Val::Ptr(Ptr::new(PtrKind::Ctx));
        self.chains.insert(vec![0]);
        self.work.push(Work {
            state: State {
                frames: vec![frame],
                refs: vec![],
            },
            insn: 0,
            node: ROOT,
            path: None,
            from_callback: false,
            hist: Vec::new(),
        });
        while let Some(w) = self.work.pop() {
            self.run_path(w)?;
        }
        Ok(())
    }

    fn finish(&mut self, mut node: usize) {
        while node != ROOT {
            let n = &mut self.nodes[node];
            n.branches -= 1;
            if n.branches > 0 {
                break;
            }
            // No path will backtrack through it again.
            n.hist = Vec::new();
            node = n.parent;
        }
    }

    fn run_path(&mut self, mut w: Work) -> Result<(), VerifyError> {
        loop {
            let i = w.insn;
            self.processed += 1;
            if self.processed > self.max_insns {
                return Err(self.locate(
                    failure(
                        ErrorKind::TooComplex,
                        format!("the program is too complex: {} instructions processed without finishing", self.max_insns),
                        "verification explores every path; it stops after a fixed number of instructions",
                    )
                    .help("bound loops with small constants, or split the work with bpf-to-bpf calls or tail calls"),
                    i,
                    &w.path,
                ));
            }
            if self.prune[i] {
                match self.visit(&mut w) {
                    Ok(true) => {
                        self.finish(w.node);
                        return Ok(());
                    }
                    Ok(false) => {}
                    Err(f) => return Err(self.locate(f, i, &w.path)),
                }
            }
            if let Some(facts) = &mut self.facts {
                record_facts(facts, i, &self.cfg.insns[i], &w.state);
            }
            self.pc = self.cfg.pcs[i];
            let entry = precision::entry(&self.cfg, &mut self.groups, i, &w.state);
            let step = match self.step(&mut w) {
                Ok(s) => s,
                Err(f) => return Err(self.locate(f, i, &w.path)),
            };
            if let Some(m) = self.pending.take() {
                self.mark_precise(&w.hist, w.node, m);
            }
            w.hist.push(entry);
            if matches!(
                self.cfg.insns[i],
                Insn::Ja { .. } | Insn::JaLong { .. } | Insn::Call(_) | Insn::Exit
            ) {
                // Linux counts every jump-class instruction for its
                // state-keeping heuristic; conditional ones count below.
                self.jmps += 1;
            }
            match step {
                Step::Goto(j) => w.insn = j,
                Step::Call(t) => {
                    w.path = extend(&w.path, self.pc, PathEvent::Call);
                    w.insn = t;
                }
                Step::Callback {
                    after,
                    entry,
                    callee,
                } => {
                    // The callback first: its returns widen the callsite's
                    // state, which the continuation after the call then
                    // covers.
                    self.nodes[w.node].branches += 1;
                    self.work.push(Work {
                        state: after,
                        insn: i + 1,
                        node: w.node,
                        path: w.path.clone(),
                        from_callback: false,
                        hist: fork_hist(&w.hist),
                    });
                    w.state = callee;
                    w.path = extend(&w.path, self.pc, PathEvent::Call);
                    w.insn = entry;
                }
                Step::CallbackReturn(t) => {
                    w.insn = t;
                    w.from_callback = true;
                }
                Step::Done => {
                    self.finish(w.node);
                    return Ok(());
                }
                Step::Branch {
                    target,
                    taken,
                    fall,
                } => {
                    self.jmps += 1;
                    match (taken, fall) {
                        (Some(t), Some(f)) => {
                            self.nodes[w.node].branches += 1;
                            self.work.push(Work {
                                state: t,
                                insn: target,
                                node: w.node,
                                path: extend(&w.path, self.pc, PathEvent::Taken),
                                from_callback: false,
                                hist: fork_hist(&w.hist),
                            });
                            w.state = f;
                            w.path = extend(&w.path, self.pc, PathEvent::NotTaken);
                            w.insn = i + 1;
                        }
                        (Some(t), None) => {
                            w.state = t;
                            w.insn = target;
                        }
                        (None, Some(f)) => {
                            w.state = f;
                            w.insn = i + 1;
                        }
                        (None, None) => {
                            self.finish(w.node);
                            return Ok(());
                        }
                    }
                }
            }
        }
    }

    /// Live register and stack masks of each frame of `st` at instruction
    /// `i`, every place precise (see [`Self::precise_masks`]).
    fn live_masks(&self, st: &State, i: usize) -> LiveMasks {
        let mut masks = LiveMasks {
            frames: [FrameLive::regs_only(0); MAX_FRAMES],
            len: st.frames.len(),
        };
        for (k, m) in masks.frames.iter_mut().enumerate().take(st.frames.len()) {
            *m = if k + 1 == st.frames.len() {
                FrameLive {
                    regs: self.live[i],
                    slots: self.live_slots[i],
                    precise_regs: u16::MAX,
                    precise_slots: u64::MAX,
                }
            } else if st.frames[k + 1].callback {
                // A callback returns to its callsite, which reads the
                // caller's registers again.
                FrameLive::regs_only(self.live[st.frames[k + 1].callsite as usize])
            } else {
                let ret = st.frames[k + 1].callsite as usize + 1;
                // The caller's r6-r9 survive the call; r0-r5 do not.
                FrameLive::regs_only(self.live.get(ret).copied().unwrap_or(0x3c0) & 0x3c0)
            };
        }
        masks
    }

    /// Sets `masks` (the live masks of a visit) to the precision of the
    /// explored state of `node`: only the places some path from it marked
    /// precise are compared as numbers.
    fn precise_masks(nodes: &[Node], masks: &mut [FrameLive], node: usize) {
        let precise = &nodes[node].precise;
        for (k, m) in masks.iter_mut().enumerate() {
            let (r, s) = precise.get(k).copied().unwrap_or((u16::MAX, u64::MAX));
            m.precise_regs = r;
            m.precise_slots = s;
        }
    }

    /// Marks precise, in the explored states the current path went through,
    /// the places the places `m` (before the current instruction) depend
    /// on. `hist`: the instructions since `node`'s state.
    fn mark_precise(&mut self, hist: &[Hist], mut node: usize, mut m: Masks) {
        if !precision::backtrack(&self.cfg, &self.groups, hist, &mut m) {
            return self.mark_all(node);
        }
        while node != ROOT {
            let n = &mut self.nodes[node];
            let mut more = false;
            for k in 0..m.len() {
                let (sr, ss) = n.scalars.get(k).copied().unwrap_or((0, 0));
                let (pr, ps) = n.precise.get(k).copied().unwrap_or((0, 0));
                let (r, s) = (m[k].0 & sr, m[k].1 & ss);
                if k < n.precise.len() {
                    n.precise[k] = (pr | r, ps | s);
                }
                // What was precise already was followed further then.
                m[k] = (r & !pr, s & !ps);
                more |= m[k] != (0, 0);
            }
            if !more {
                return;
            }
            let parent = n.parent;
            let hist = std::mem::take(&mut n.hist);
            let ok = precision::backtrack(&self.cfg, &self.groups, &hist, &mut m);
            self.nodes[node].hist = hist;
            if !ok {
                return self.mark_all(parent);
            }
            node = parent;
        }
    }

    /// Every number of `node`'s state and of its ancestors precise: what
    /// backtracking cannot follow.
    fn mark_all(&mut self, mut node: usize) {
        while node != ROOT {
            let n = &mut self.nodes[node];
            if n.precise == n.scalars {
                return;
            }
            n.precise = n.scalars.clone();
            node = n.parent;
        }
    }

    /// A number of register `r` of the current frame decides something at
    /// the instruction being run.
    fn need_reg(&mut self, st: &State, r: IReg) {
        if r.index() < 10 && matches!(st.cur().regs[r.index()], Val::Scalar { .. }) {
            let d = st.frames.len() - 1;
            self.pending.get_or_insert(precision::NONE)[d].0 |= 1 << r.index();
        }
    }

    /// A helper's number arguments: sizes, flags, constants it checks.
    fn need_args(&mut self, st: &State, id: u32) {
        let n = helpers::proto(id).map_or(5, |p| p.args.len());
        for r in [IReg::R1, IReg::R2, IReg::R3, IReg::R4, IReg::R5]
            .into_iter()
            .take(n)
        {
            self.need_reg(st, r);
        }
    }

    /// Compares the state at a prune point with the explored ones: `true`
    /// when one covers it (the path needs no more work).
    fn visit(&mut self, w: &mut Work) -> Res<bool> {
        let i = w.insn;
        let live = self.live_masks(&w.state, i);
        let from_callback = std::mem::take(&mut w.from_callback);
        if from_callback {
            // Back at a callback's callsite: the helper bounds how often it
            // calls the callback, so a state an earlier visit of this
            // callsite on this path covers needs no more work (that visit
            // explores both another call and the continuation). Otherwise
            // widen it against that visit, so the loop converges. Those
            // visits are still being explored, so their precision is not
            // final: every live number is compared.
            let (mut latest, mut rounds) = (None, 0);
            let mut covered = None;
            for (k, s) in self.explored[i].iter_mut().enumerate() {
                if self.nodes[s.node].branches == 0 {
                    continue;
                }
                if state_covers(&s.state, &w.state, &live, false) {
                    s.hits += 1;
                    covered = Some(k);
                    break;
                }
                latest = Some(k);
                rounds += 1;
            }
            if covered.is_some() {
                let mut m = precision::NONE;
                for (k, l) in live.iter().enumerate() {
                    m[k] = (l.regs & 0x3ff, l.slots);
                }
                self.mark_precise(&w.hist, w.node, m);
                return Ok(true);
            }
            if let Some(k) = latest {
                // Hulls first (a callback storing one of a few constants
                // converges with them), unknown numbers after two rounds (a
                // counter never would).
                let hull = rounds <= 2;
                widen(
                    &self.explored[i][k].state,
                    &mut w.state,
                    &live,
                    hull,
                    self.allow_ptr_leaks,
                );
            }
        }
        // Whether this path keeps its state here if nothing prunes it:
        // always outside loops; inside one (an ancestor kept here is still
        // being explored) only 20 jumps or 100 instructions after the last
        // state kept, as Linux (different iterations rarely prune each
        // other). Newest states first, as Linux's list: a miss counts
        // against a state only when this path keeps one (otherwise a few
        // iterations of a loop would evict the states other paths need).
        let force = from_callback || self.is_callback_call(i);
        let sparse =
            !force && self.jmps - self.prev_jmps < 20 && self.processed - self.prev_insns < 100;
        let mut add = true;
        let mut pruned = None;
        let mut masks = live;
        let mut k = self.explored[i].len();
        while k > 0 {
            k -= 1;
            let node = self.explored[i][k].node;
            if self.nodes[node].branches > 0 {
                // Still being explored, so an ancestor of this path.
                if state_covers(&self.explored[i][k].state, &w.state, &live, true) {
                    return Err(failure(
                        ErrorKind::InfiniteLoop,
                        format!("infinite loop: this path comes back to instruction {} in the same state", self.cfg.pcs[i]),
                        "every loop must be proven to end: each time around, some value the exit condition tests must change",
                    )
                    .help("make the loop's exit condition depend on a counter that changes every iteration, and bound it with a constant"));
                }
                if sparse {
                    add = false;
                }
            } else {
                Self::precise_masks(&self.nodes, &mut masks, node);
                let s = &mut self.explored[i][k];
                if state_covers(&s.state, &w.state, &masks, false) {
                    s.hits += 1;
                    if let Some(facts) = &mut self.facts {
                        note_pruning(facts, &s.state, &w.state, &masks, i);
                    }
                    pruned = Some(node);
                    break;
                }
            }
            let s = &mut self.explored[i][k];
            if add {
                s.misses += 1;
            }
            // Ancestors go too (only loop detection used them), except at a
            // callback's callsite, whose widening needs them.
            if s.misses > (s.hits + 1) * EVICT && !(force && self.nodes[node].branches > 0) {
                let s = self.explored[i].remove(k);
                self.cur_states -= 1;
                self.cur_bytes -= s.state.bytes() + STORED_EXTRA;
            }
        }
        if let Some(node) = pruned {
            // This path goes on as the explored one's paths did: the numbers
            // they needed precise are needed here.
            let mut m = precision::NONE;
            for (k, (l, p)) in live.iter().zip(&self.nodes[node].precise).enumerate() {
                m[k] = (l.regs & p.0 & 0x3ff, l.slots & p.1);
            }
            self.mark_precise(&w.hist, w.node, m);
            return Ok(true);
        }
        if !add {
            return Ok(false);
        }
        self.prev_jmps = self.jmps;
        self.prev_insns = self.processed;
        let mut node = Node::new(w.node);
        node.hist = std::mem::replace(&mut w.hist, Vec::with_capacity(HIST_ROOM));
        node.scalars = precision::scalars(&w.state);
        node.precise = vec![(0, 0); w.state.frames.len()];
        self.nodes.push(node);
        w.node = self.nodes.len() - 1;
        let state = w.state.clone();
        self.cur_bytes += state.bytes() + STORED_EXTRA;
        self.explored[i].push(Stored {
            state,
            node: w.node,
            hits: 0,
            misses: 0,
        });
        self.cur_states += 1;
        self.total_states += 1;
        self.peak_states = self.peak_states.max(self.cur_states);
        self.peak_bytes = self.peak_bytes.max(self.cur_bytes);
        Ok(false)
    }

    // ----------------------------------------------------------------------
    // Registers.

    fn read(&self, st: &State, r: IReg) -> Res<Val> {
        let v = st.cur().regs[r.index()];
        match v {
            Val::NotInit => Err(self.with_regs(
                failure(
                    ErrorKind::UninitRegister,
                    format!("r{} is read before it is written", r.num()),
                    "a register must be written before it is read (at entry only r1, the context, and r10, the frame pointer, are set; a call leaves r1-r5 unset)",
                ),
                st,
                &[r],
            )),
            Val::Dead(d) => {
                let help = match d {
                    Dead::PacketChanged { .. } => "load ctx->data and ctx->data_end again after the call, and check the bounds again",
                    Dead::Released { .. } => "the record belongs to the ring buffer once submitted or discarded; do not use it afterwards",
                };
                Err(self
                    .with_regs(
                        failure(
                            ErrorKind::UninitRegister,
                            format!("r{} is used after it was invalidated", r.num()),
                            "packet pointers are invalid after a helper that can move packet data; a released reference is invalid after its release",
                        ),
                        st,
                        &[r],
                    )
                    .help(help))
            }
            _ => Ok(v),
        }
    }

    fn set(st: &mut State, r: IReg, v: Val) {
        st.cur_mut().regs[r.index()] = v;
    }

    fn scalar_of(&self, st: &State, r: IReg, what: &str) -> Res<Scalar> {
        match self.read(st, r)? {
            Val::Scalar { val, .. } => Ok(val),
            v => Err(self.with_regs(
                failure(
                    ErrorKind::PointerArithmetic,
                    format!(
                        "{what} needs a number, but r{} is a pointer ({})",
                        r.num(),
                        self.show(&v)
                    ),
                    "this operation is only defined on numbers",
                ),
                st,
                &[r],
            )),
        }
    }

    fn ptr_of(&self, st: &State, r: IReg) -> Res<Ptr> {
        match self.read(st, r)? {
            Val::Ptr(p) => Ok(p),
            v => Err(self.with_regs(
                failure(
                    ErrorKind::InvalidAccess,
                    format!("r{} is not a pointer ({}), so it cannot be dereferenced", r.num(), self.show(&v)),
                    "memory is accessed only through pointers the verifier knows: the context, the stack, packet data, map values and helper-returned memory",
                ),
                st,
                &[r],
            )),
        }
    }

    /// Gives a scalar register an id shared with its copies.
    fn link(&mut self, st: &mut State, r: IReg) -> u32 {
        if let Val::Scalar { id, .. } = &mut st.cur_mut().regs[r.index()] {
            if *id == 0 {
                self.next_id += 1;
                *id = self.next_id;
            }
            return *id;
        }
        0
    }

    /// Sets every copy of scalar `id` (registers and spills, every frame).
    fn propagate(st: &mut State, id: u32, val: Scalar) {
        if id == 0 {
            return;
        }
        st.for_each_reg(|v| {
            if let Val::Scalar { val: x, id: i } = v {
                if *i == id {
                    *x = val;
                }
            }
        });
    }

    // ----------------------------------------------------------------------
    // One instruction.

    fn step(&mut self, w: &mut Work) -> Res<Step> {
        let i = w.insn;
        let insn = self.cfg.insns[i];
        let next = i + 1;
        let st = &mut w.state;
        match insn {
            Insn::Alu {
                width,
                op,
                dst,
                src,
            } => {
                self.alu(st, width, op, dst, src)?;
                Ok(Step::Goto(next))
            }
            // Negating or byte-swapping a pointer gives a number (the
            // address's bits), as Linux gives privileged programs.
            Insn::Neg { width, dst } => {
                self.check_writable(st, dst)?;
                let v = match self.read(st, dst)? {
                    Val::Scalar { val, .. } => val.neg(width),
                    _ => {
                        self.address_number(st, "negation of", &[dst], Scalar::UNKNOWN.neg(width))?
                    }
                };
                Self::set(st, dst, Val::scalar(v));
                Ok(Step::Goto(next))
            }
            Insn::Endian { op, bits, dst } => {
                self.check_writable(st, dst)?;
                let _: EndianOp = op;
                let v = match self.read(st, dst)? {
                    Val::Scalar { val, .. } => val.endian(op, bits),
                    _ => self.address_number(
                        st,
                        "byte swap of",
                        &[dst],
                        Scalar::UNKNOWN.endian(op, bits),
                    )?,
                };
                Self::set(st, dst, Val::scalar(v));
                Ok(Step::Goto(next))
            }
            Insn::LdImm64 { dst, value } => {
                self.check_writable(st, dst)?;
                let v = self.ld_imm64(i, value)?;
                Self::set(st, dst, v);
                Ok(Step::Goto(next))
            }
            Insn::Load {
                size,
                sign_extend,
                dst,
                src,
                off,
            } => {
                self.check_writable(st, dst)?;
                let p = self.ptr_of(st, src)?;
                let v = self.mem_access(
                    st,
                    src,
                    p,
                    off as i64,
                    size,
                    Access::Read,
                    None,
                    sign_extend,
                )?;
                let v = match v {
                    Some(Val::Scalar { val, id }) if sign_extend => Val::Scalar {
                        val: val.truncate(size.bytes()).sext(size.bytes() as u32 * 8),
                        id: if val.b64.umax < (1u64 << (size.bytes() * 8 - 1)) {
                            id
                        } else {
                            0
                        },
                    },
                    Some(v) => v,
                    None => Val::unknown(),
                };
                Self::set(st, dst, v);
                Ok(Step::Goto(next))
            }
            Insn::Store {
                size,
                dst,
                off,
                src,
            } => {
                let p = self.ptr_of(st, dst)?;
                // Immediate stores (BPF_ST) into the context are checked
                // like register stores, as Linux does since 6.3.
                let value = match src {
                    Source::Imm(k) => Val::scalar(Scalar::constant(k as i64 as u64)),
                    Source::Reg(r) => self.read(st, r)?,
                };
                let src_reg = match src {
                    Source::Reg(r) => Some(r),
                    Source::Imm(_) => None,
                };
                self.store(st, dst, p, off as i64, size, value, src_reg)?;
                Ok(Step::Goto(next))
            }
            Insn::Atomic {
                size,
                op,
                dst,
                src,
                off,
            } => {
                self.atomic(st, size, op, dst, src, off as i64)?;
                Ok(Step::Goto(next))
            }
            Insn::LdAbs { size, .. } | Insn::LdInd { size, .. } => {
                self.ld_abs(st, insn, size)?;
                Ok(Step::Goto(next))
            }
            Insn::Ja { .. } | Insn::JaLong { .. } => match self.cfg.flow(i) {
                Flow::Jump(t) => Ok(Step::Goto(t)),
                _ => unreachable!("ja jumps"),
            },
            Insn::Jump {
                width,
                cond,
                dst,
                src,
                ..
            } => {
                let Flow::Branch(target) = self.cfg.flow(i) else {
                    unreachable!("conditional jumps branch")
                };
                let state = std::mem::replace(
                    st,
                    State {
                        frames: vec![],
                        refs: vec![],
                    },
                );
                let checked = self
                    .cond_jump(&state, width, cond, dst, src)
                    .and_then(|r| self.compare_leak(&state, width, cond, dst, src).map(|()| r));
                let (taken, fall) = match checked {
                    Ok(r) => r,
                    Err(e) => {
                        *st = state;
                        return Err(e);
                    }
                };
                // A comparison decides something when the numbers' ranges
                // rule out one side, or when a number is compared with a
                // pointer (a NULL check); when both sides are explored, each
                // has the refined numbers, which backtracking follows.
                let src_reg = match src {
                    Source::Reg(r) => Some(r),
                    Source::Imm(_) => None,
                };
                let is_ptr = |r: IReg| matches!(state.cur().regs[r.index()], Val::Ptr(_));
                if taken.is_none() || fall.is_none() || is_ptr(dst) || src_reg.is_some_and(is_ptr) {
                    self.need_reg(&state, dst);
                    if let Some(r) = src_reg {
                        self.need_reg(&state, r);
                    }
                }
                let (taken, fall) = match (taken, fall) {
                    (Some(t), Some(f)) => (Some(t(state.clone())), Some(f(state))),
                    (Some(t), None) => (Some(t(state)), None),
                    (None, f) => (None, f.map(|f| f(state))),
                };
                Ok(Step::Branch {
                    target,
                    taken,
                    fall,
                })
            }
            Insn::Call(CallTarget::Helper(id)) if helpers::takes_callback(id as u32) => {
                self.need_args(st, id as u32);
                self.callback_call(st, i, id as u32)
            }
            Insn::Call(CallTarget::Helper(id)) => {
                self.need_args(st, id as u32);
                if self.helper_call(st, id as u32)? {
                    Ok(Step::Goto(next))
                } else {
                    Ok(Step::Done)
                }
            }
            Insn::Call(CallTarget::Local(_)) => {
                let Flow::Call(t) = self.cfg.flow(i) else {
                    unreachable!("local calls call")
                };
                self.local_call(st, i, t)?;
                Ok(Step::Call(t))
            }
            Insn::Exit => self.exit(st),
            Insn::Call(CallTarget::Kfunc { .. }) | Insn::CallX { .. } => Err(failure(
                ErrorKind::Unsupported,
                "this call form is not supported by the verifier",
                "only helper calls and bpf-to-bpf calls are checked",
            )),
        }
    }

    fn check_writable(&self, st: &State, r: IReg) -> Res<()> {
        if r.index() == 10 {
            return Err(self.with_regs(
                failure(
                    ErrorKind::ReadOnlyRegister,
                    "r10 is written",
                    "r10 is the frame pointer and is read-only",
                )
                .help("copy r10 to another register (`r1 = r10`) and change the copy"),
                st,
                &[],
            ));
        }
        Ok(())
    }

    // ----------------------------------------------------------------------
    // ALU.

    fn alu(&mut self, st: &mut State, width: Width, op: AluOp, dst: IReg, src: Source) -> Res<()> {
        self.check_writable(st, dst)?;
        let bits = if width == Width::W64 { 64 } else { 32 };
        if let Source::Imm(k) = src {
            match op {
                AluOp::Div | AluOp::Sdiv | AluOp::Mod | AluOp::Smod if k == 0 => {
                    return Err(failure(
                        ErrorKind::InvalidInstruction,
                        "division by the constant zero",
                        "division and modulo by an immediate zero are rejected (Linux: `div by zero`)",
                    ));
                }
                AluOp::Lsh | AluOp::Rsh | AluOp::Arsh if k < 0 || k >= bits => {
                    return Err(failure(
                        ErrorKind::InvalidInstruction,
                        format!("shift by {k} is out of range for a {bits}-bit operation"),
                        "constant shift amounts must be below the operation's width",
                    ));
                }
                _ => {}
            }
        }
        let b = match src {
            Source::Imm(k) => Val::scalar(Scalar::constant(k as i64 as u64)),
            Source::Reg(r) => self.read(st, r)?,
        };
        let is_mov = matches!(
            op,
            AluOp::Mov | AluOp::MovSx8 | AluOp::MovSx16 | AluOp::MovSx32
        );
        if is_mov {
            let v = match (op, b) {
                (AluOp::Mov, Val::Scalar { val, .. }) => {
                    match (width, src) {
                        (_, Source::Imm(_)) => Val::scalar(if width == Width::W64 {
                            val
                        } else {
                            val.zext32()
                        }),
                        (Width::W64, Source::Reg(r)) => {
                            let id = self.link(st, r);
                            Val::Scalar { val, id }
                        }
                        (Width::W32, Source::Reg(r)) => {
                            // The copy equals the source only if the source
                            // already fits in 32 bits.
                            if val.fits_unsigned(32) {
                                let id = self.link(st, r);
                                Val::Scalar {
                                    val: val.zext32(),
                                    id,
                                }
                            } else {
                                Val::scalar(val.zext32())
                            }
                        }
                    }
                }
                (AluOp::Mov, Val::Ptr(p)) => {
                    if width == Width::W64 {
                        Val::Ptr(p)
                    } else {
                        let Source::Reg(r) = src else {
                            unreachable!("immediates are numbers")
                        };
                        // The low half of an address.
                        let low = Scalar::unsigned_bytes(4);
                        Val::scalar(self.address_number(st, "32-bit copy of", &[r], low)?)
                    }
                }
                (_, Val::Scalar { val, .. }) => {
                    Val::scalar(Scalar::constant(0).alu(op, &val, width))
                }
                (_, v) => {
                    return Err(self.with_regs(
                        failure(
                            ErrorKind::PointerArithmetic,
                            format!("sign extension of a pointer ({})", self.show(&v)),
                            "pointers may only be copied whole",
                        ),
                        st,
                        &[],
                    ))
                }
            };
            Self::set(st, dst, v);
            return Ok(());
        }
        let a = self.read(st, dst)?;
        let both = [dst, if let Source::Reg(r) = src { r } else { dst }];
        let src_reg = match src {
            Source::Reg(_) => &both[..],
            Source::Imm(_) => &both[..1],
        };
        // A number added to a pointer becomes its offset, checked at every
        // access.
        match (a, b, src) {
            (Val::Ptr(_), Val::Scalar { .. }, Source::Reg(r)) => self.need_reg(st, r),
            (Val::Scalar { .. }, Val::Ptr(_), _) => self.need_reg(st, dst),
            _ => {}
        }
        let v = match (a, b) {
            (Val::Scalar { val: x, .. }, Val::Scalar { val: y, .. }) => {
                Val::scalar(x.alu(op, &y, width))
            }
            (Val::Ptr(p), Val::Scalar { val: s, .. }) => match (width, op) {
                (Width::W64, AluOp::Add) => self.ptr_add(st, p, s, false, src_reg)?,
                (Width::W64, AluOp::Sub) => self.ptr_add(st, p, s, true, src_reg)?,
                (Width::W32, AluOp::Sub) => Val::scalar(self.address_number(
                    st,
                    "32-bit subtraction on",
                    src_reg,
                    Scalar::unsigned_bytes(4),
                )?),
                _ => return Err(self.bad_ptr_op(st, op, width, src_reg, "on a pointer")),
            },
            (Val::Scalar { val: s, .. }, Val::Ptr(p)) => match (width, op) {
                (Width::W64, AluOp::Add) => self.ptr_add(st, p, s, false, src_reg)?,
                (Width::W32, AluOp::Sub) => Val::scalar(self.address_number(
                    st,
                    "32-bit subtraction on",
                    src_reg,
                    Scalar::unsigned_bytes(4),
                )?),
                _ => return Err(self.bad_ptr_op(st, op, width, src_reg, "with a pointer operand")),
            },
            (Val::Ptr(p), Val::Ptr(q)) => {
                if op != AluOp::Sub {
                    return Err(self.bad_ptr_op(st, op, width, src_reg, "on two pointers"));
                }
                if !same_region(&p, &q) {
                    return Err(self.with_regs(
                        failure(
                            ErrorKind::PointerArithmetic,
                            format!("subtraction of pointers into different regions ({} and {})", p.kind.describe(), q.kind.describe()),
                            "the difference of two pointers is defined only within one region (packet data and data_end, one stack frame, one map)",
                        ),
                        st,
                        src_reg,
                    ));
                }
                let (what, diff) = match width {
                    Width::W64 => ("subtraction on", Scalar::UNKNOWN),
                    Width::W32 => ("32-bit subtraction on", Scalar::unsigned_bytes(4)),
                };
                Val::scalar(self.address_number(st, what, src_reg, diff)?)
            }
            _ => unreachable!("read() returns initialised values"),
        };
        Self::set(st, dst, v);
        Ok(())
    }

    /// `what` would let a spilled pointer's bytes be read as a number, which
    /// only `allow_ptr_leaks` allows.
    fn spill_leak(&self, what: String) -> Failure {
        failure(
            ErrorKind::PointerLeak,
            format!("{what}, which would leak its address"),
            "without allow_ptr_leaks (an unprivileged loader) a pointer spilled to the stack is overwritten only whole (an 8-byte store to its slot) and read back only whole, as a pointer: never in part, at a variable offset, by an atomic operation or by a helper",
        )
        .help("keep pointers and data in different stack slots")
    }

    /// A number made of an address: `op` (`"negation of"`, `"32-bit
    /// subtraction on"`) applied to the pointers among `regs` gives
    /// `number` with `allow_ptr_leaks`, as Linux gives privileged programs;
    /// without, it is a leak.
    fn address_number(&self, st: &State, op: &str, regs: &[IReg], number: Scalar) -> Res<Scalar> {
        if self.allow_ptr_leaks {
            return Ok(number);
        }
        let ptrs: Vec<IReg> = regs
            .iter()
            .copied()
            .filter(|r| matches!(st.cur().regs[r.index()], Val::Ptr(_)))
            .collect();
        let named: Vec<String> = ptrs.iter().map(|r| format!("r{}", r.num())).collect();
        let whose = if ptrs.len() == 1 {
            format!("the pointer in {}", named[0])
        } else {
            format!("the pointers in {}", named.join(" and "))
        };
        Err(self.with_regs(
            failure(
                ErrorKind::PointerLeak,
                format!("{op} {whose} would turn an address into a number"),
                "without allow_ptr_leaks (an unprivileged loader) pointers allow only 64-bit copies and 64-bit addition and subtraction of numbers, so that no address becomes a number",
            )
            .help("compute with offsets (numbers) and add them to the pointer instead"),
            st,
            &ptrs,
        ))
    }

    fn bad_ptr_op(
        &self,
        st: &State,
        op: AluOp,
        width: Width,
        regs: &[IReg],
        what: &str,
    ) -> Failure {
        let w = if width == Width::W32 { "32-bit " } else { "" };
        self.with_regs(
            failure(
                ErrorKind::PointerArithmetic,
                format!("{w}{} {what} is not allowed", alu_name(op)),
                "pointers allow only 64-bit addition and subtraction of numbers (and the difference of two pointers into one region)",
            ),
            st,
            regs,
        )
    }

    /// `p + s` (or `p - s`).
    fn ptr_add(&mut self, st: &State, p: Ptr, s: Scalar, sub: bool, regs: &[IReg]) -> Res<Val> {
        if p.kind.maybe_null() {
            return Err(self
                .with_regs(
                    failure(
                        ErrorKind::MaybeNull,
                        format!("arithmetic on {}, which may be NULL", p.kind.describe()),
                        "a pointer that may be NULL must be compared with 0 before it is used",
                    ),
                    st,
                    regs,
                )
                .help("check `if (ptr == NULL)` (or `if r0 == 0`) first"));
        }
        if matches!(
            p.kind,
            PtrKind::Map { .. } | PtrKind::PacketEnd | PtrKind::Func { .. }
        ) {
            return Err(self.with_regs(
                failure(
                    ErrorKind::PointerArithmetic,
                    format!(
                        "arithmetic on a pointer to {} is not allowed",
                        p.kind.describe()
                    ),
                    "map pointers, function references and data_end may only be passed and compared, not moved",
                ),
                st,
                regs,
            ));
        }
        let mut q = p;
        if let Some(c) = s.const_value() {
            let d = if sub {
                -(c as i64 as i128)
            } else {
                c as i64 as i128
            };
            let off = p.off as i128 + d;
            if off.abs() >= MAX_VAR_OFF as i128 || d.abs() >= MAX_VAR_OFF as i128 {
                return Err(self.with_regs(
                    failure(
                        ErrorKind::PointerArithmetic,
                        format!("pointer offset {off} is out of bounds"),
                        "pointer offsets must stay within 2^29 of their base",
                    ),
                    st,
                    regs,
                ));
            }
            q.off = off as i32;
            return Ok(Val::Ptr(q));
        }
        // A variable offset on the context pointer is allowed (as Linux
        // does): such a pointer can no longer be dereferenced or passed as
        // the context (`ctx_access`, `Arg::Ctx`).
        q.var = p
            .var
            .alu(if sub { AluOp::Sub } else { AluOp::Add }, &s, Width::W64);
        if p.kind.is_packet() {
            q.id = self.fresh_id();
            q.range = 0;
        }
        Ok(Val::Ptr(q))
    }

    fn ld_imm64(&self, i: usize, value: LdImm64) -> Res<Val> {
        match value {
            LdImm64::Imm(v) => Ok(Val::scalar(Scalar::constant(v))),
            LdImm64::Func(_) => {
                let t = self
                    .func_ref(i)
                    .expect("decoded function references land on instructions");
                Ok(Val::Ptr(Ptr::new(PtrKind::Func { insn: t as u32 })))
            }
            LdImm64::MapIdx(m) => {
                self.map_def(m)?;
                Ok(Val::Ptr(Ptr::new(PtrKind::Map { map: m as u32 })))
            }
            LdImm64::MapIdxValue { map_idx, offset } => {
                let d = self.map_def(map_idx)?;
                if d.map_type != map_type::ARRAY || d.max_entries != 1 {
                    return Err(failure(
                        ErrorKind::InvalidInstruction,
                        format!("direct value access into map `{}`, which is not a single-element array", d.name),
                        "LD_IMM64 of a map value address works for array maps of one element (global data)",
                    ));
                }
                if offset >= d.value_size || offset as i64 >= MAX_VAR_OFF {
                    return Err(failure(
                        ErrorKind::InvalidAccess,
                        format!(
                            "direct value offset {offset} is past the {}-byte value of `{}`",
                            d.value_size, d.name
                        ),
                        "an address inside a map value must be inside the value",
                    ));
                }
                let mut p = Ptr::new(PtrKind::MapValue {
                    map: map_idx as u32,
                    maybe_null: false,
                });
                p.off = offset as i32;
                Ok(Val::Ptr(p))
            }
            _ => Err(failure(
                ErrorKind::Unsupported,
                "this LD_IMM64 form is not supported by the verifier",
                "only constants, map indices and map value addresses are checked",
            )),
        }
    }

    fn map_def(&self, m: i32) -> Res<&'a MapDef> {
        usize::try_from(m)
            .ok()
            .and_then(|m| self.maps.get(m))
            .ok_or_else(|| {
                failure(
                    ErrorKind::InvalidInstruction,
                    format!(
                        "map index {m} does not exist (the object has {} maps)",
                        self.maps.len()
                    ),
                    "map references must name one of the object's maps",
                )
            })
    }

    // ----------------------------------------------------------------------
    // Memory.

    /// Checks an access through `p` (held in `reg`) at `insn_off` and
    /// returns the value loaded (for reads of stack, context and memory).
    #[allow(clippy::too_many_arguments)]
    fn mem_access(
        &mut self,
        st: &mut State,
        reg: IReg,
        p: Ptr,
        insn_off: i64,
        size: MemSize,
        access: Access,
        value: Option<(Val, Option<IReg>)>,
        sign_extend: bool,
    ) -> Res<Option<Val>> {
        let n = size.bytes() as u64;
        match p.kind {
            PtrKind::Stack { frame } => self.stack_access(st, reg, p, frame as usize, insn_off, n, access, value),
            PtrKind::Ctx => self.ctx_access(st, reg, p, insn_off, n, access, sign_extend).map(Some),
            PtrKind::Packet | PtrKind::PacketMeta => {
                if access == Access::Atomic {
                    return Err(self.with_regs(
                        failure(
                            ErrorKind::InvalidAccess,
                            "atomic operation on packet data",
                            "atomic operations work on the stack, map values and ring buffer records only",
                        ),
                        st,
                        &[reg],
                    ));
                }
                self.packet_check(st, reg, &p, insn_off, n)?;
                Ok(Some(Val::scalar(Scalar::unsigned_bytes(n as usize))))
            }
            PtrKind::MapValue { map, maybe_null: false } => {
                self.map_value_check(st, reg, &p, map, insn_off, n, access)?;
                Ok(Some(Val::scalar(Scalar::unsigned_bytes(n as usize))))
            }
            PtrKind::Mem { size: msize, maybe_null: false } => {
                self.region_check(st, reg, &p, insn_off, n, msize as u64, "ring buffer record", access)?;
                if access == Access::Atomic {
                    self.atomic_alignment(st, reg, &p, insn_off, n)?;
                }
                Ok(Some(Val::scalar(Scalar::unsigned_bytes(n as usize))))
            }
            PtrKind::MapValue { maybe_null: true, .. } | PtrKind::Mem { maybe_null: true, .. } | PtrKind::MapOrNull { .. } => Err(self
                .with_regs(
                    failure(
                        ErrorKind::MaybeNull,
                        format!("r{} may be NULL when it is dereferenced ({})", reg.num(), p.kind.describe()),
                        "the result of bpf_map_lookup_elem and bpf_ringbuf_reserve may be NULL and must be compared with 0 before use",
                    ),
                    st,
                    &[reg],
                )
                .help(format!("add `if (r{} == 0) goto <exit path>` before this access", reg.num()))),
            PtrKind::PacketEnd => Err(self.with_regs(
                failure(
                    ErrorKind::InvalidAccess,
                    "dereference of data_end",
                    "data_end marks the end of the packet; it may only be compared with packet pointers",
                ),
                st,
                &[reg],
            )),
            PtrKind::Map { map } => Err(self.with_regs(
                failure(
                    ErrorKind::Unsupported,
                    format!("reading the fields of map {} is not supported by the verifier yet", self.map_name(map)),
                    "a map pointer is passed to helpers, not dereferenced",
                ),
                st,
                &[reg],
            )),
            PtrKind::MapKey { map } => {
                if access != Access::Read {
                    return Err(self.with_regs(
                        failure(
                            ErrorKind::InvalidAccess,
                            format!("{} of the key of map {}", access.verb(), self.map_name(map)),
                            "the key a bpf_for_each_map_elem callback gets is read-only",
                        ),
                        st,
                        &[reg],
                    ));
                }
                let d = self.map_at(map);
                let what = format!("key of map {}", self.map_name(map));
                self.region_check(st, reg, &p, insn_off, n, d.key_size as u64, &what, access)?;
                Ok(Some(Val::scalar(Scalar::unsigned_bytes(n as usize))))
            }
            PtrKind::Func { .. } => Err(self.with_regs(
                failure(
                    ErrorKind::InvalidAccess,
                    "dereference of a function reference",
                    "a function reference is passed to helpers that call it, not dereferenced",
                ),
                st,
                &[reg],
            )),
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn store(
        &mut self,
        st: &mut State,
        reg: IReg,
        p: Ptr,
        off: i64,
        size: MemSize,
        value: Val,
        src: Option<IReg>,
    ) -> Res<()> {
        self.mem_access(
            st,
            reg,
            p,
            off,
            size,
            Access::Write,
            Some((value, src)),
            false,
        )?;
        // Without allow_ptr_leaks a pointer is stored only to the stack,
        // where the verifier keeps it a pointer (Linux: `R%d leaks addr
        // into map` / `mem` / `ctx` / `packet`).
        if let (Val::Ptr(q), Some(r), false) = (value, src, self.allow_ptr_leaks) {
            let into = match p.kind {
                PtrKind::Stack { .. } => return Ok(()),
                PtrKind::MapValue { map, .. } => format!("the map value of {}", self.map_name(map)),
                PtrKind::Ctx => "the context".to_string(),
                PtrKind::Packet | PtrKind::PacketMeta => "packet data".to_string(),
                PtrKind::Mem { .. } => "a ring buffer record".to_string(),
                k => k.describe().to_string(),
            };
            return Err(self.with_regs(
                failure(
                    ErrorKind::PointerLeak,
                    format!("r{} (a pointer to {}) is stored into {into}, which would leak its address", r.num(), q.kind.describe()),
                    "without allow_ptr_leaks (an unprivileged loader) pointers are stored only to the stack, never into memory that others read as numbers (map values, packet data, the context, ring buffer records)",
                )
                .help("store the data it points to, or an offset, instead of the pointer"),
                st,
                &[reg, r],
            ));
        }
        Ok(())
    }

    /// `[lo, hi)`: the bytes an access may touch, relative to the region.
    fn span(p: &Ptr, insn_off: i64, n: u64) -> (i128, i128) {
        let base = p.off as i128 + insn_off as i128;
        (
            base + p.var.b64.smin as i128,
            base + p.var.b64.smax as i128 + n as i128,
        )
    }

    #[allow(clippy::too_many_arguments)]
    fn region_check(
        &self,
        st: &State,
        reg: IReg,
        p: &Ptr,
        insn_off: i64,
        n: u64,
        size: u64,
        what: &str,
        access: Access,
    ) -> Res<()> {
        let (lo, hi) = Self::span(p, insn_off, n);
        if lo >= 0 && hi <= size as i128 {
            return Ok(());
        }
        let mut f = if p.has_var() {
            failure(
                ErrorKind::InvalidAccess,
                format!(
                    "invalid {} of {what}: the {n}-byte access at offset {}{} may touch bytes {lo}..{hi}, outside the {size} bytes",
                    access.verb(),
                    p.off as i64 + insn_off,
                    format_args!(" + {}", fmt_scalar(&p.var)),
                ),
                format!("accesses through a pointer into {what} must stay inside its {size} bytes for every value of the variable offset"),
            )
        } else {
            failure(
                ErrorKind::InvalidAccess,
                format!(
                    "invalid {} of {what}: offset {lo}, size {n}, but it is {size} bytes long",
                    access.verb()
                ),
                format!("accesses through a pointer into {what} must stay inside its {size} bytes"),
            )
        };
        if p.has_var()
            && hi > size as i128
            && size as i128 >= n as i128 + p.off as i128 + insn_off as i128
        {
            let max = size as i128 - n as i128 - p.off as i128 - insn_off as i128;
            f = f.help(format!(
                "bound the variable offset before adding it: `if (idx > {max}) return ...;`"
            ));
        } else if p.has_var() && lo < 0 {
            f = f.help("the variable offset may be negative: compare it as unsigned, or check `idx >= 0` first");
        }
        Err(self.with_regs(f, st, &[reg]))
    }

    #[allow(clippy::too_many_arguments)]
    fn map_value_check(
        &self,
        st: &State,
        reg: IReg,
        p: &Ptr,
        map: u32,
        insn_off: i64,
        n: u64,
        access: Access,
    ) -> Res<()> {
        let d = self.map_at(map);
        let what = format!("map value of {}", self.map_name(map));
        self.region_check(st, reg, p, insn_off, n, d.value_size as u64, &what, access)?;
        if access != Access::Read && d.flags & BPF_F_RDONLY_PROG != 0 {
            return Err(self.with_regs(
                failure(
                    ErrorKind::InvalidAccess,
                    format!("write into read-only map {}", self.map_name(map)),
                    "maps created read-only for programs (`.rodata`, BPF_F_RDONLY_PROG) cannot be written by them",
                ),
                st,
                &[reg],
            ));
        }
        if access != Access::Write && d.flags & BPF_F_WRONLY_PROG != 0 {
            return Err(self.with_regs(
                failure(
                    ErrorKind::InvalidAccess,
                    format!("read from write-only map {}", self.map_name(map)),
                    "maps created write-only for programs (BPF_F_WRONLY_PROG) cannot be read by them",
                ),
                st,
                &[reg],
            ));
        }
        if let Some(lock) = d.spin_lock_offset {
            let (lo, hi) = Self::span(p, insn_off, n);
            if lo < lock as i128 + 4 && hi > lock as i128 {
                return Err(self.with_regs(
                    failure(
                        ErrorKind::Unsupported,
                        format!("access to the bpf_spin_lock at offset {lock} of {}", self.map_name(map)),
                        "a bpf_spin_lock field is only touched by bpf_spin_lock/unlock, which this verifier does not support yet",
                    ),
                    st,
                    &[reg],
                ));
            }
        }
        if access == Access::Atomic {
            self.atomic_alignment(st, reg, p, insn_off, n)?;
        }
        Ok(())
    }

    fn atomic_alignment(&self, st: &State, reg: IReg, p: &Ptr, insn_off: i64, n: u64) -> Res<()> {
        let addr = p
            .var
            .var
            .add(Tnum::constant((p.off as i64 + insn_off) as u64));
        if addr.is_aligned(n) {
            return Ok(());
        }
        Err(self.with_regs(
            failure(
                ErrorKind::InvalidAccess,
                format!(
                    "misaligned atomic access: {n} bytes at offset {}",
                    p.off as i64 + insn_off
                ),
                "atomic operations must be naturally aligned",
            ),
            st,
            &[reg],
        ))
    }

    fn packet_check(&self, st: &State, reg: IReg, p: &Ptr, insn_off: i64, n: u64) -> Res<()> {
        let o = p.off as i64 + insn_off;
        if p.var.b64.smin < 0 {
            return Err(self
                .with_regs(
                    failure(
                        ErrorKind::InvalidAccess,
                        "invalid access to packet: the variable offset may be negative",
                        "packet offsets must be proven non-negative",
                    ),
                    st,
                    &[reg],
                )
                .help("use an unsigned offset, or check `if (off < 0)` first"));
        }
        if o >= 0 && (o as u64) + n <= p.range as u64 {
            return Ok(());
        }
        let (base, end) = if p.kind == PtrKind::PacketMeta {
            ("data_meta", "data")
        } else {
            ("data", "data_end")
        };
        let need = o + n as i64;
        let help = if p.has_var() {
            format!(
                "compare `r{} + {} > {end}` and return before this access",
                reg.num(),
                insn_off + n as i64
            )
        } else {
            format!("compare `{base} + {need} > {end}` and return before this access")
        };
        let message = if o < 0 {
            format!(
                "invalid access to packet: offset {o} is before the start of the {}",
                if p.kind == PtrKind::PacketMeta {
                    "metadata"
                } else {
                    "packet"
                }
            )
        } else {
            format!(
                "invalid access to packet: offset {o}, size {n}, but only {} bytes are proven in bounds",
                p.range
            )
        };
        let mut f = self.with_regs(
            failure(
                ErrorKind::InvalidAccess,
                message,
                format!("packet bytes may be accessed only after a comparison with {end} proves they are inside the packet"),
            ),
            st,
            &[reg],
        );
        if o >= 0 {
            f = f.help(help);
        }
        Err(f)
    }

    #[allow(clippy::too_many_arguments)]
    fn ctx_access(
        &self,
        st: &State,
        reg: IReg,
        p: Ptr,
        insn_off: i64,
        n: u64,
        access: Access,
        sign_extend: bool,
    ) -> Res<Val> {
        if access == Access::Atomic {
            return Err(self.with_regs(
                failure(
                    ErrorKind::InvalidAccess,
                    "atomic operation on the context",
                    "atomic operations work on the stack, map values and ring buffer records only",
                ),
                st,
                &[reg],
            ));
        }
        if p.off != 0 || p.has_var() {
            return Err(self
                .with_regs(
                    failure(
                        ErrorKind::InvalidAccess,
                        format!("dereference of a modified context pointer (r{} is ctx{:+})", reg.num(), p.off),
                        "context fields are accessed at constant offsets from the unmodified context pointer",
                    ),
                    st,
                    &[reg],
                )
                .help(format!("access `*(r{} + {})` through the original context pointer instead", reg.num(), p.off as i64 + insn_off)));
        }
        if self.prog.prog_type == ProgramType::Kprobe {
            return self.pt_regs_access(st, reg, insn_off, n, access);
        }
        if self.ctx == CtxKind::Xdp
            && insn_off == layout::XDP_MD_EGRESS_IFINDEX as i64
            && !self.prog.section.contains("devmap")
        {
            return Err(self.with_regs(
                failure(
                    ErrorKind::InvalidAccess,
                    "invalid load of the context: egress_ifindex (offset 20) is only set for XDP programs run from a devmap",
                    "XDP programs may read egress_ifindex only when attached to a devmap (SEC(\"xdp/devmap\"))",
                ),
                st,
                &[reg],
            ));
        }
        let ca = match access {
            Access::Read => CtxAccess::Load { sign_extend },
            _ => CtxAccess::Store,
        };
        match context::check_access(self.ctx, insn_off, n as usize, ca) {
            Ok((_, Field::Pointer { packet, .. })) if self.ctx.direct_packet_access() => {
                Ok(Val::Ptr(Ptr::new(match packet {
                    PacketField::Data => PtrKind::Packet,
                    PacketField::DataEnd => PtrKind::PacketEnd,
                    PacketField::DataMeta => PtrKind::PacketMeta,
                })))
            }
            Ok((_, Field::Value { .. })) => Ok(Val::scalar(Scalar::unsigned_bytes(n as usize))),
            Ok((start, Field::Pointer { .. })) => Err(self.with_regs(
                failure(
                    ErrorKind::InvalidAccess,
                    format!("the packet pointer at offset {start} of the context is not available to {} programs", self.prog.prog_type),
                    "direct packet access is for XDP and TC programs",
                ),
                st,
                &[reg],
            )),
            Err(d) => {
                if self.ctx == CtxKind::Raw {
                    return Err(self.with_regs(
                        failure(
                            ErrorKind::Unsupported,
                            format!("context access for {} programs is not supported by the verifier yet", self.prog.prog_type),
                            "the verifier knows the context layouts of XDP, TC and socket filter programs",
                        ),
                        st,
                        &[reg],
                    ));
                }
                let mut f = failure(
                    ErrorKind::InvalidAccess,
                    format!(
                        "invalid {} of the context: {} bytes at offset {insn_off}: {}",
                        if access == Access::Read { "load" } else { "store" },
                        n,
                        d.reason
                    ),
                    format!("{} programs may access only the fields of {} their type allows, whole or in aligned parts", self.prog.prog_type, self.ctx.struct_name()),
                );
                if self.ctx == CtxKind::SkbSocket && (76..84).contains(&insn_off) {
                    f = f.help("socket filters have no direct packet access: read packet bytes with bpf_skb_load_bytes");
                }
                Err(self.with_regs(f, st, &[reg]))
            }
        }
    }

    /// A kprobe program's context: the probed task's `struct pt_regs`,
    /// read-only, any naturally aligned access inside it (Linux's
    /// `kprobe_prog_is_valid_access`).
    fn pt_regs_access(&self, st: &State, reg: IReg, off: i64, n: u64, access: Access) -> Res<Val> {
        let size = PT_REGS_SIZE as i64;
        let why = if access != Access::Read {
            Some("the registers of the probed task are read-only".to_string())
        } else if off < 0 || off + n as i64 > size {
            Some(format!(
                "bytes {off}..{} are outside struct pt_regs ({size} bytes)",
                off + n as i64
            ))
        } else if off % n as i64 != 0 {
            Some(format!(
                "a {n}-byte access at offset {off} is not aligned to its size"
            ))
        } else {
            None
        };
        match why {
            None => Ok(Val::scalar(Scalar::unsigned_bytes(n as usize))),
            Some(why) => Err(self.with_regs(
                failure(
                    ErrorKind::InvalidAccess,
                    format!(
                        "invalid {} of the context: {n} bytes at offset {off}: {why}",
                        if access == Access::Read { "load" } else { "store" }
                    ),
                    "kprobe programs read the probed registers (struct pt_regs) at aligned offsets inside it, and never write them",
                ),
                st,
                &[reg],
            )),
        }
    }

    // ----------------------------------------------------------------------
    // The stack.

    fn note_depth(&mut self, st: &State, frame: usize, lowest: i64) {
        let func = st.frames[frame].func as usize;
        let d = (-lowest).max(0) as u32;
        if d > self.depth[func] {
            self.depth[func] = d;
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn stack_access(
        &mut self,
        st: &mut State,
        reg: IReg,
        p: Ptr,
        frame: usize,
        insn_off: i64,
        n: u64,
        access: Access,
        value: Option<(Val, Option<IReg>)>,
    ) -> Res<Option<Val>> {
        let (lo, hi) = Self::span(&p, insn_off, n);
        if lo < -(STACK_SIZE as i128) || hi > 0 {
            let f = failure(
                ErrorKind::InvalidAccess,
                if p.has_var() {
                    format!("invalid {} of the stack: bytes {lo}..{hi} from the frame pointer may be touched, outside the frame (-512..0)", access.verb())
                } else {
                    format!("invalid {} of the stack: offset {lo}, size {n} is outside the frame (-512..0)", access.verb())
                },
                "stack accesses stay within the 512 bytes below the frame pointer",
            );
            return Err(self.with_regs(f, st, &[reg]));
        }
        let addr = p
            .var
            .var
            .add(Tnum::constant((p.off as i64 + insn_off) as u64));
        if !addr.is_aligned(n) {
            return Err(self.with_regs(
                failure(
                    ErrorKind::InvalidAccess,
                    format!(
                        "misaligned stack access: {n} bytes at offset {}",
                        p.off as i64 + insn_off
                    ),
                    "stack accesses must be aligned to their size",
                ),
                st,
                &[reg],
            ));
        }
        self.note_depth(st, frame, lo as i64);
        if let Some((Val::Ptr(q), src)) = &value {
            if let PtrKind::Stack { frame: f } = q.kind {
                if (f as usize) > frame {
                    return Err(self.with_regs(
                        failure(
                            ErrorKind::InvalidAccess,
                            "a pointer to a callee's stack is stored into its caller's stack",
                            "a function's stack ends when it returns, so pointers to it must not outlive it",
                        ),
                        st,
                        &src.map_or(vec![reg], |s| vec![reg, s]),
                    ));
                }
            }
        }
        if p.has_var() {
            return self.stack_var(st, reg, frame, lo as i64, hi as i64, n, access, value);
        }
        let o = lo as i64;
        let slot_i = ((-o - 1) / 8) as usize;
        let b = (o + 8 * (slot_i as i64 + 1)) as usize;
        let n = n as usize;
        match access {
            Access::Read => self.stack_read(st, reg, frame, slot_i, b, n, o).map(Some),
            Access::Write => {
                let (v, src) = value.expect("writes carry a value");
                self.stack_write(st, frame, slot_i, b, n, v, src)?;
                Ok(None)
            }
            Access::Atomic => {
                self.stack_read(st, reg, frame, slot_i, b, n, o)?;
                if !self.allow_ptr_leaks && st.frames[frame].slot(slot_i).holds_pointer() {
                    return Err(self.with_regs(
                        self.spill_leak(format!("atomic update of the pointer spilled at fp{o:+}")),
                        st,
                        &[reg],
                    ));
                }
                let slot = st.frames[frame].slot_mut(slot_i);
                slot.scrub();
                for m in &mut slot.marks[b..b + n] {
                    *m = Mark::Misc;
                }
                Ok(None)
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn stack_read(
        &self,
        st: &State,
        reg: IReg,
        frame: usize,
        slot_i: usize,
        b: usize,
        n: usize,
        o: i64,
    ) -> Res<Val> {
        let slot = st.frames[frame].slot(slot_i);
        let spill_size = slot.spill_size();
        if n == 8 && slot.is_full_spill() {
            return Ok(slot.spill);
        }
        let touches_spill = b < spill_size;
        if touches_spill {
            if slot.holds_pointer() {
                return Err(self.with_regs(
                    failure(
                        ErrorKind::InvalidAccess,
                        format!("partial read of a spilled pointer: {n} bytes at fp{o:+}"),
                        "a pointer spilled to the stack must be read back whole (8 bytes)",
                    ),
                    st,
                    &[reg],
                ));
            }
            if b == 0 && n <= spill_size {
                if let Val::Scalar { val, id } = slot.spill {
                    let fits = val.fits_unsigned(n as u32 * 8);
                    return Ok(Val::Scalar {
                        val: val.truncate(n),
                        id: if fits { id } else { 0 },
                    });
                }
            }
        }
        let marks = &slot.marks[b..b + n];
        if let Some(k) = marks.iter().position(|m| *m == Mark::Invalid) {
            return Err(self
                .with_regs(
                    failure(
                        ErrorKind::UninitStack,
                        format!("read of uninitialised stack: {n} bytes at fp{o:+}, but byte fp{:+} was never written", o + k as i64),
                        "stack bytes must be written before they are read",
                    ),
                    st,
                    &[reg],
                )
                .help("initialise the variable (`= {}` for structs and arrays) before reading or passing it"));
        }
        if marks.iter().all(|m| *m == Mark::Zero) {
            return Ok(Val::scalar(Scalar::constant(0)));
        }
        Ok(Val::scalar(Scalar::unsigned_bytes(n)))
    }

    #[allow(clippy::too_many_arguments)]
    fn stack_write(
        &mut self,
        st: &mut State,
        frame: usize,
        slot_i: usize,
        b: usize,
        n: usize,
        v: Val,
        src: Option<IReg>,
    ) -> Res<()> {
        // Give the source an id so the spilled copy follows its refinements.
        let (v, linkable) = match (v, src) {
            (Val::Scalar { val, .. }, Some(r)) if val.fits_unsigned(n as u32 * 8) => {
                let id = self.link(st, r);
                (Val::Scalar { val, id }, true)
            }
            (v, _) => (v, false),
        };
        let slot = st.frames[frame].slot_mut(slot_i);
        if n == 8 {
            match v {
                Val::Ptr(_) | Val::Scalar { .. } => {
                    slot.marks = [Mark::Spill; 8];
                    slot.spill = v;
                }
                _ => unreachable!("stored values are initialised"),
            }
            return Ok(());
        }
        if let Val::Ptr(_) = v {
            return Err(failure(
                ErrorKind::InvalidAccess,
                format!("partial store of a pointer: {n} bytes"),
                "pointers are stored to the stack whole (8 bytes)",
            ));
        }
        if !self.allow_ptr_leaks && slot.holds_pointer() {
            let at = -8 * (slot_i as i64 + 1);
            return Err(self.spill_leak(format!(
                "a {n}-byte store at fp{:+} overwrites part of the pointer spilled at fp{at:+}",
                at + b as i64
            )));
        }
        slot.scrub();
        let Val::Scalar { val, id } = v else {
            unreachable!("stored values are initialised")
        };
        if b == 0 {
            slot.marks[..n].fill(Mark::Spill);
            slot.spill = Val::Scalar {
                val: val.truncate(n),
                id: if linkable { id } else { 0 },
            };
        } else {
            let mark = if val.is_zero() {
                Mark::Zero
            } else {
                Mark::Misc
            };
            slot.marks[b..b + n].fill(mark);
        }
        Ok(())
    }

    /// A stack access at a variable offset, touching bytes `lo..hi`.
    #[allow(clippy::too_many_arguments)]
    fn stack_var(
        &mut self,
        st: &mut State,
        reg: IReg,
        frame: usize,
        lo: i64,
        hi: i64,
        n: u64,
        access: Access,
        value: Option<(Val, Option<IReg>)>,
    ) -> Res<Option<Val>> {
        if access != Access::Write {
            self.stack_range_initialised(st, reg, frame, lo, hi)?;
        }
        if !self.allow_ptr_leaks {
            if let Some(at) = spilled_pointer(st, frame, lo, hi, (0, 0)) {
                return Err(self.with_regs(
                    self.spill_leak(format!(
                        "a variable-offset {} of stack bytes fp{lo:+}..fp{hi:+} may touch the pointer spilled at fp{at:+}",
                        access.verb()
                    )),
                    st,
                    &[reg],
                ));
            }
        }
        if access == Access::Read {
            let all_zero = (lo..hi).all(|a| {
                let (s, b) = slot_byte(a);
                st.frames[frame].slot(s).marks[b] == Mark::Zero
            });
            return Ok(Some(Val::scalar(if all_zero {
                Scalar::constant(0)
            } else {
                Scalar::unsigned_bytes(n as usize)
            })));
        }
        if let Some((Val::Ptr(_), _)) = value {
            return Err(self.with_regs(
                failure(
                    ErrorKind::InvalidAccess,
                    "a pointer is stored to the stack at a variable offset",
                    "pointers are spilled to the stack at constant offsets only, so the verifier can track them",
                ),
                st,
                &[reg],
            ));
        }
        let zero = matches!(value, Some((Val::Scalar { val, .. }, _)) if val.is_zero());
        Self::stack_maybe_written(st, frame, lo, hi, zero);
        Ok(None)
    }

    /// Bytes `lo..hi` may have been written with unknown (or zero) data:
    /// spills there are forgotten; unwritten bytes stay unwritten (the
    /// write may have missed them).
    fn stack_maybe_written(st: &mut State, frame: usize, lo: i64, hi: i64, zero: bool) {
        for a in lo..hi {
            let (s, b) = slot_byte(a);
            let slot = st.frames[frame].slot_mut(s);
            slot.scrub();
            let m = &mut slot.marks[b];
            if *m == Mark::Zero && !zero {
                *m = Mark::Misc;
            }
        }
    }

    /// Bytes `lo..hi` are certainly written with unknown data.
    fn stack_written(st: &mut State, frame: usize, lo: i64, hi: i64) {
        for a in lo..hi {
            let (s, b) = slot_byte(a);
            let slot = st.frames[frame].slot_mut(s);
            slot.scrub();
            slot.marks[b] = Mark::Misc;
        }
    }

    fn stack_range_initialised(
        &self,
        st: &State,
        reg: IReg,
        frame: usize,
        lo: i64,
        hi: i64,
    ) -> Res<()> {
        for a in lo..hi {
            let (s, b) = slot_byte(a);
            if st.frames[frame].slot(s).marks[b] == Mark::Invalid {
                return Err(self
                    .with_regs(
                        failure(
                            ErrorKind::UninitStack,
                            format!("read of uninitialised stack: bytes fp{lo:+}..fp{hi:+} may be read, but fp{a:+} was never written"),
                            "stack bytes must be written before they are read",
                        ),
                        st,
                        &[reg],
                    )
                    .help("initialise the whole buffer (`= {}`) before reading or passing it"));
            }
        }
        Ok(())
    }

    // ----------------------------------------------------------------------
    // Atomics and legacy packet loads.

    fn atomic(
        &mut self,
        st: &mut State,
        size: MemSize,
        op: AtomicOp,
        dst: IReg,
        src: IReg,
        off: i64,
    ) -> Res<()> {
        let p = self.ptr_of(st, dst)?;
        let sv = self.read(st, src)?;
        if let Val::Ptr(_) = sv {
            return Err(self.with_regs(
                failure(
                    ErrorKind::InvalidAccess,
                    "atomic operation with a pointer operand",
                    "atomic operations combine memory with numbers",
                ),
                st,
                &[src],
            ));
        }
        if op == AtomicOp::Cmpxchg {
            let r0 = self.read(st, IReg::R0)?;
            if let Val::Ptr(_) = r0 {
                return Err(self.with_regs(
                    failure(
                        ErrorKind::InvalidAccess,
                        "cmpxchg compares with a pointer in r0",
                        "atomic operations combine memory with numbers",
                    ),
                    st,
                    &[IReg::R0],
                ));
            }
        }
        self.mem_access(st, dst, p, off, size, Access::Atomic, None, false)?;
        let result = Val::scalar(Scalar::unsigned_bytes(size.bytes()));
        match op {
            AtomicOp::Cmpxchg => Self::set(st, IReg::R0, result),
            AtomicOp::Xchg
            | AtomicOp::Add { fetch: true }
            | AtomicOp::Or { fetch: true }
            | AtomicOp::And { fetch: true }
            | AtomicOp::Xor { fetch: true } => {
                self.check_writable(st, src)?;
                Self::set(st, src, result)
            }
            _ => {}
        }
        Ok(())
    }

    fn ld_abs(&mut self, st: &mut State, insn: Insn, size: MemSize) -> Res<()> {
        if !matches!(self.ctx, CtxKind::SkbTc | CtxKind::SkbSocket) {
            return Err(failure(
                ErrorKind::InvalidInstruction,
                format!(
                    "legacy packet loads (LD_ABS/LD_IND) are not allowed in {} programs",
                    self.prog.prog_type
                ),
                "LD_ABS and LD_IND work on socket buffers only (TC and socket filter programs)",
            ));
        }
        if size == MemSize::DW {
            return Err(failure(
                ErrorKind::InvalidInstruction,
                "8-byte legacy packet load",
                "LD_ABS and LD_IND load 1, 2 or 4 bytes",
            ));
        }
        match self.read(st, IReg::R6)? {
            Val::Ptr(p) if p.kind == PtrKind::Ctx && p.off == 0 && !p.has_var() => {}
            _ => {
                return Err(self.with_regs(
                    failure(
                        ErrorKind::InvalidInstruction,
                        "LD_ABS/LD_IND needs the context pointer in r6",
                        "legacy packet loads read the socket buffer through r6, which must hold the unmodified context",
                    ),
                    st,
                    &[IReg::R6],
                ))
            }
        }
        if let Insn::LdInd { src, .. } = insn {
            self.scalar_of(st, src, "the offset of LD_IND")?;
        }
        if let Some(r) = st.refs.first() {
            return Err(failure(
                ErrorKind::ReferenceLeak,
                format!(
                    "legacy packet load while holding the reference acquired at {}",
                    r.pc
                ),
                "LD_ABS and LD_IND may end the program, so no reference may be held across them",
            ));
        }
        let cur = st.cur_mut();
        for r in &mut cur.regs[1..6] {
            *r = Val::NotInit;
        }
        cur.regs[0] = Val::scalar(Scalar::unsigned_bytes(size.bytes()));
        Ok(())
    }

    // ----------------------------------------------------------------------
    // Conditional jumps.

    /// The states after a conditional jump: taken and not taken, each `None`
    /// when impossible. Returned as builders so the caller clones once.
    #[allow(clippy::type_complexity)]
    fn cond_jump(
        &mut self,
        st: &State,
        width: Width,
        cond: JmpCond,
        dst: IReg,
        src: Source,
    ) -> Res<(
        Option<Box<dyn FnOnce(State) -> State>>,
        Option<Box<dyn FnOnce(State) -> State>>,
    )> {
        let a = self.read(st, dst)?;
        let (b, src_reg) = match src {
            Source::Imm(k) => {
                let v = match width {
                    Width::W64 => k as i64 as u64,
                    Width::W32 => k as u32 as u64,
                };
                (Val::scalar(Scalar::constant(v)), None)
            }
            Source::Reg(r) => (self.read(st, r)?, Some(r)),
        };
        let ident = |s: State| s;
        type B = Box<dyn FnOnce(State) -> State>;
        let both = || -> (Option<B>, Option<B>) { (Some(Box::new(ident)), Some(Box::new(ident))) };
        match (a, b) {
            (Val::Scalar { val: x, id: xi }, Val::Scalar { val: y, id: yi }) => {
                let mk = |r: Option<(Scalar, Scalar)>| -> Option<B> {
                    let (x2, y2) = r?;
                    Some(Box::new(move |mut s: State| {
                        if let Val::Scalar { val, .. } = &mut s.cur_mut().regs[dst.index()] {
                            *val = x2;
                        }
                        Self::propagate(&mut s, xi, x2);
                        if let Some(r) = src_reg {
                            if let Val::Scalar { val, .. } = &mut s.cur_mut().regs[r.index()] {
                                *val = y2;
                            }
                            Self::propagate(&mut s, yi, y2);
                        }
                        s
                    }))
                };
                Ok((
                    mk(scalar::refine(cond, true, &x, &y, width)),
                    mk(scalar::refine(cond, false, &x, &y, width)),
                ))
            }
            (Val::Ptr(p), Val::Ptr(q)) => {
                let regs: Vec<IReg> = [Some(dst), src_reg].into_iter().flatten().collect();
                if width == Width::W32 {
                    return Err(self.ptr_cmp32(st, &regs));
                }
                if let Some(r) = self.packet_compare(cond, &p, &q) {
                    return Ok(r);
                }
                if !same_region(&p, &q) {
                    return Err(self.with_regs(
                        failure(
                            ErrorKind::PointerComparison,
                            format!("comparison of pointers into different regions ({} and {})", p.kind.describe(), q.kind.describe()),
                            "pointers are compared only with pointers into the same region (packet pointers with data_end, for bounds checks), or with 0",
                        ),
                        st,
                        &regs,
                    ));
                }
                Ok(both())
            }
            (Val::Ptr(p), Val::Scalar { val, .. }) | (Val::Scalar { val, .. }, Val::Ptr(p)) => {
                if width == Width::W32 {
                    let regs: Vec<IReg> = [Some(dst), src_reg].into_iter().flatten().collect();
                    return Err(self.ptr_cmp32(st, &regs));
                }
                let ptr_is_dst = matches!(a, Val::Ptr(_));
                if !val.is_zero() {
                    return Ok(both());
                }
                // A comparison with NULL; normalise to `ptr cond 0`.
                let c = if ptr_is_dst { cond } else { flip(cond) };
                // Whether the condition holds exactly when the pointer is NULL.
                let null_when = match c {
                    JmpCond::Eq | JmpCond::Le => Some(true),
                    JmpCond::Ne | JmpCond::Gt => Some(false),
                    JmpCond::Ge => return Ok((Some(Box::new(ident)), None)),
                    JmpCond::Lt => return Ok((None, Some(Box::new(ident)))),
                    _ => None,
                };
                let Some(null_when) = null_when else {
                    return Ok(both());
                };
                if p.kind.maybe_null() {
                    let id = p.id;
                    let ref_id = p.ref_id;
                    let null: B = Box::new(move |mut s: State| {
                        s.for_each_reg(|v| {
                            if let Val::Ptr(x) = v {
                                if x.kind.maybe_null() && x.id == id {
                                    *v = Val::scalar(Scalar::constant(0));
                                }
                            }
                        });
                        if ref_id != 0 {
                            s.refs.retain(|r| r.id != ref_id);
                        }
                        s
                    });
                    let nonnull: B = Box::new(move |mut s: State| {
                        s.for_each_reg(|v| {
                            if let Val::Ptr(x) = v {
                                if x.kind.maybe_null() && x.id == id {
                                    x.kind = x.kind.non_null();
                                    x.id = 0;
                                }
                            }
                        });
                        s
                    });
                    return Ok(if null_when {
                        (Some(null), Some(nonnull))
                    } else {
                        (Some(nonnull), Some(null))
                    });
                }
                if never_null(&p) {
                    // Never NULL.
                    return Ok(if null_when {
                        (None, Some(Box::new(ident)))
                    } else {
                        (Some(Box::new(ident)), None)
                    });
                }
                Ok(both())
            }
            _ => unreachable!("read() returns initialised values"),
        }
    }

    /// Without `allow_ptr_leaks`, a comparison involving a pointer is
    /// allowed only when its outcome tells nothing about an address, as
    /// Linux's `check_cond_jmp_op` for unprivileged loaders: a 64-bit NULL
    /// check (`==` or `!=` against 0, as an immediate or a register known
    /// to be 0) of a pointer that may be NULL or is known not to be, and a
    /// packet bounds check (`<`, `<=`, `>`, `>=` of a packet pointer and
    /// data_end, or of a metadata pointer and data). Called once the
    /// comparison passed the other checks; the message is made only for a
    /// rejection.
    fn compare_leak(
        &self,
        st: &State,
        width: Width,
        cond: JmpCond,
        dst: IReg,
        src: Source,
    ) -> Res<()> {
        if self.allow_ptr_leaks {
            return Ok(());
        }
        let regs = &st.cur().regs;
        let (b, src_reg) = match src {
            Source::Imm(k) => (Val::scalar(Scalar::constant(k as i64 as u64)), None),
            Source::Reg(r) => (regs[r.index()], Some(r)),
        };
        let wide = width == Width::W64;
        let what = match (regs[dst.index()], b) {
            (Val::Ptr(p), Val::Ptr(q)) => {
                let ordered = matches!(cond, JmpCond::Gt | JmpCond::Ge | JmpCond::Lt | JmpCond::Le);
                if wide && ordered && (bounds_pair(&p, &q) || bounds_pair(&q, &p)) {
                    return Ok(());
                }
                format!(
                    "comparison of the pointers in r{} and r{}",
                    dst.num(),
                    src_reg.map_or(0, |r| r.num())
                )
            }
            (Val::Ptr(p), Val::Scalar { val, .. }) => {
                let null_check = matches!(cond, JmpCond::Eq | JmpCond::Ne) && val.is_zero();
                if wide && null_check && (p.kind.maybe_null() || never_null(&p)) {
                    return Ok(());
                }
                format!("comparison of the pointer in r{} with a number", dst.num())
            }
            (Val::Scalar { .. }, Val::Ptr(_)) => format!(
                "comparison of a number with the pointer in r{}",
                src_reg.map_or(0, |r| r.num())
            ),
            _ => return Ok(()),
        };
        let involved: Vec<IReg> = [Some(dst), src_reg].into_iter().flatten().collect();
        Err(self.with_regs(
            failure(
                ErrorKind::PointerLeak,
                format!("{what} would tell the program about an address"),
                "without allow_ptr_leaks (an unprivileged loader) a pointer is compared only with 0 to check it for NULL (64-bit `==` or `!=`), and a packet pointer with data_end (a metadata pointer with data) to check bounds (`<`, `<=`, `>`, `>=`)",
            )
            .help("compare offsets (numbers) instead of pointers"),
            st,
            &involved,
        ))
    }

    fn ptr_cmp32(&self, st: &State, regs: &[IReg]) -> Failure {
        self.with_regs(
            failure(
                ErrorKind::PointerComparison,
                "32-bit comparison involving a pointer",
                "pointers are compared with 64-bit jumps only",
            ),
            st,
            regs,
        )
    }

    /// Bounds checks: a packet pointer compared with data_end (or a
    /// metadata pointer with data), in either order and with any unsigned
    /// comparison, proves a range in the branch where it is below the end.
    #[allow(clippy::type_complexity)]
    fn packet_compare(
        &self,
        cond: JmpCond,
        a: &Ptr,
        b: &Ptr,
    ) -> Option<(
        Option<Box<dyn FnOnce(State) -> State>>,
        Option<Box<dyn FnOnce(State) -> State>>,
    )> {
        let is_end_for = bounds_pair;
        // Normalise to `p c e`.
        let (p, c) = if is_end_for(a, b) {
            (a, cond)
        } else if is_end_for(b, a) {
            (b, flip(cond))
        } else {
            return None;
        };
        // (range given when the condition holds, when it does not).
        let k = p.off as i64;
        let below = |strict: bool| -> Option<u32> {
            let r = k + strict as i64;
            let ok = p.off >= 0
                && r >= 1
                && p.var.b64.smin >= 0
                && p.var.b64.umax <= MAX_PACKET_OFF
                && p.var.b64.umax + (p.off as u64) <= MAX_PACKET_OFF;
            ok.then_some(r as u32)
        };
        let (when_true, when_false) = match c {
            JmpCond::Gt => (None, below(false)), // p > e / p <= e
            JmpCond::Ge => (None, below(true)),  // p >= e / p < e
            JmpCond::Lt => (below(true), None),  // p < e / p >= e
            JmpCond::Le => (below(false), None), // p <= e / p > e
            JmpCond::Eq => (below(false), None), // p == e implies p <= e
            JmpCond::Ne => (None, below(false)),
            _ => (None, None),
        };
        let (kind, id) = (p.kind, p.id);
        let mk = |range: Option<u32>| -> Option<Box<dyn FnOnce(State) -> State>> {
            Some(Box::new(move |mut s: State| {
                if let Some(range) = range {
                    s.for_each_reg(|v| {
                        if let Val::Ptr(x) = v {
                            if x.kind == kind && x.id == id && x.range < range {
                                x.range = range;
                            }
                        }
                    });
                }
                s
            }))
        };
        Some((mk(when_true), mk(when_false)))
    }

    // ----------------------------------------------------------------------
    // Calls and exits.

    fn local_call(&mut self, st: &mut State, i: usize, target: usize) -> Res<()> {
        if st.frames.iter().any(|f| f.func as usize == target) {
            return Err(failure(
                ErrorKind::CallDepth,
                format!("recursive call of the function at {}", self.cfg.pcs[target]),
                "bpf-to-bpf calls may not recurse",
            ));
        }
        if st.frames.len() >= MAX_FRAMES {
            return Err(failure(
                ErrorKind::CallDepth,
                format!("call stack too deep: {} nested calls", st.frames.len()),
                "calls nest at most 8 frames deep (the program's and 7 calls)",
            ));
        }
        let depth = st.frames.len() as u8;
        let mut frame = Frame::new(target as u32, i as u32, depth);
        frame.regs[1..6].copy_from_slice(&st.cur().regs[1..6]);
        st.frames.push(frame);
        self.chains
            .insert(st.frames.iter().map(|f| f.func).collect());
        Ok(())
    }

    fn exit(&mut self, st: &mut State) -> Res<Step> {
        let r0 = match st.cur().regs[0] {
            Val::NotInit => {
                return Err(failure(
                    ErrorKind::ReturnValue,
                    "r0 is not set at exit",
                    "a function returns its value in r0, which must be written before `exit`",
                )
                .help("set r0 (`r0 = 0`) before `exit`"))
            }
            _ => self.read(st, IReg::R0)?,
        };
        if st.cur().callback {
            return self.callback_exit(st, r0);
        }
        if st.frames.len() > 1 {
            if let Val::Ptr(Ptr {
                kind: PtrKind::Stack { .. },
                ..
            }) = r0
            {
                return Err(self.with_regs(
                    failure(
                        ErrorKind::ReturnValue,
                        "a function returns a stack pointer",
                        "a function's stack ends when it returns, so it may not return pointers to a stack",
                    ),
                    st,
                    &[IReg::R0],
                ));
            }
            let callee = st.frames.pop().expect("more than one frame");
            let caller = st.cur_mut();
            caller.regs[0] = callee.regs[0];
            for r in &mut caller.regs[1..6] {
                *r = Val::NotInit;
            }
            return Ok(Step::Goto(callee.callsite as usize + 1));
        }
        if !matches!(r0, Val::Scalar { .. }) {
            return Err(self.with_regs(
                failure(
                    ErrorKind::ReturnValue,
                    "the program returns a pointer",
                    "a program returns a number in r0",
                ),
                st,
                &[IReg::R0],
            ));
        }
        if let Some(r) = st.refs.first() {
            return Err(failure(
                ErrorKind::ReferenceLeak,
                format!("the ring buffer record reserved at {} is neither submitted nor discarded on this path", r.pc),
                "every record from bpf_ringbuf_reserve must be released with bpf_ringbuf_submit or bpf_ringbuf_discard on every path",
            )
            .help(match source_line(self.prog, r.pc as usize) {
                Some(s) => format!(
                    "it was reserved by `{}` ({}:{}); call bpf_ringbuf_discard(record, 0) on the paths that do not submit it",
                    s.text.trim(),
                    s.file.strip_prefix("./").unwrap_or(&s.file),
                    s.line
                ),
                None => "call bpf_ringbuf_discard(record, 0) on the paths that do not submit it".into(),
            }));
        }
        Ok(Step::Done)
    }

    /// The function a `BPF_PSEUDO_FUNC` LD_IMM64 at instruction `i` refers
    /// to (its first instruction), if `i` is one.
    fn func_ref(&self, i: usize) -> Option<usize> {
        match self.cfg.insns[i] {
            Insn::LdImm64 {
                value: LdImm64::Func(off),
                ..
            } => self
                .cfg
                .index_of((self.cfg.pcs[i] as i64 + 1 + off as i64) as usize),
            _ => None,
        }
    }

    fn is_callback_call(&self, i: usize) -> bool {
        matches!(self.cfg.insns[i], Insn::Call(CallTarget::Helper(id)) if helpers::takes_callback(id as u32))
    }

    /// `bpf_loop(nr_loops, callback, ctx, flags)` and
    /// `bpf_for_each_map_elem(map, callback, ctx, flags)`: the arguments
    /// checked, then two successors, the state after the call and the
    /// callback entered with its own frame (`bpf_loop`: r1 the index, r2
    /// `ctx`; `bpf_for_each_map_elem`: r1 the map, r2 the key, r3 the
    /// value, r4 `ctx`). The callback returns to this call, which may call
    /// it again: exploration goes round until the callsite's state covers
    /// what the callback does to it (`visit`).
    fn callback_call(&mut self, st: &mut State, i: usize, id: u32) -> Res<Step> {
        let name = helpers::name(id);
        let arg = |this: &Self, st: &State, k: u8| -> Res<Val> {
            let r = IReg::new(k).expect("argument registers");
            match st.cur().regs[r.index()] {
                Val::NotInit => Err(this.with_regs(
                    failure(
                        ErrorKind::UninitRegister,
                        format!("argument {k} of {name} (r{k}) is not set"),
                        "helper arguments are passed in r1-r5, which must be written before the call",
                    ),
                    st,
                    &[r],
                )),
                _ => this.read(st, r),
            }
        };
        let wrong = |this: &Self, st: &State, k: u8, what: &str, v: &Val| {
            let r = IReg::new(k).expect("argument registers");
            this.with_regs(
                failure(
                    ErrorKind::HelperArgument,
                    format!("argument {k} of {name} (r{k}) must be {what}, but it is {}", this.show(v)),
                    if id == helpers::LOOP {
                        "bpf_loop takes r1: the number of iterations, r2: a callback function, r3: a pointer to the stack or NULL, r4: flags"
                    } else {
                        "bpf_for_each_map_elem takes r1: a map, r2: a callback function, r3: a pointer to the stack or NULL, r4: flags"
                    },
                ),
                st,
                &[r],
            )
        };
        let r1 = arg(self, st, 1)?;
        let map = if id == helpers::FOR_EACH_MAP_ELEM {
            let Val::Ptr(Ptr {
                kind: PtrKind::Map { map: m },
                ..
            }) = r1
            else {
                return Err(wrong(self, st, 1, "a map", &r1));
            };
            let d = self.map_at(m);
            if !helpers::FOR_EACH_MAPS.contains(&d.map_type) {
                let names: Vec<String> = helpers::FOR_EACH_MAPS
                    .iter()
                    .map(|&t| map_type::name(t))
                    .collect();
                return Err(self.with_regs(
                    failure(
                        ErrorKind::HelperArgument,
                        format!(
                            "{name} cannot be used with {} map `{}`",
                            map_type::name(d.map_type),
                            d.name
                        ),
                        format!("{name} works on {} maps", names.join(", ")),
                    ),
                    st,
                    &[IReg::R1],
                ));
            }
            Some(m)
        } else {
            None
        };
        let r2 = arg(self, st, 2)?;
        let Val::Ptr(Ptr {
            kind: PtrKind::Func { insn: entry },
            ..
        }) = r2
        else {
            return Err(wrong(self, st, 2, "a callback function (`r2 = <function>` LD_IMM64)", &r2)
                .help("load the callback's address with an LD_IMM64 function reference (in C: pass the function's name)"));
        };
        if id == helpers::LOOP {
            self.helper_number(st, IReg::R1, &name, 0)?;
        }
        let r3 = arg(self, st, 3)?;
        match r3 {
            Val::Scalar { val, .. } if val.is_zero() => {}
            Val::Ptr(Ptr {
                kind: PtrKind::Stack { .. },
                ..
            }) => {}
            v => return Err(wrong(self, st, 3, "a pointer to the stack or NULL", &v)),
        }
        arg(self, st, 4)?;
        self.helper_number(st, IReg::R4, &name, 3)?;
        let entry = entry as usize;
        if st.frames.iter().any(|f| f.func as usize == entry) {
            return Err(failure(
                ErrorKind::CallDepth,
                format!(
                    "recursive call of the function at {} (as a callback)",
                    self.cfg.pcs[entry]
                ),
                "bpf-to-bpf calls and callbacks may not recurse",
            ));
        }
        if st.frames.len() >= MAX_FRAMES {
            return Err(failure(
                ErrorKind::CallDepth,
                format!("call stack too deep: {} nested calls", st.frames.len()),
                "calls and callbacks nest at most 8 frames deep (the program's and 7 calls)",
            ));
        }
        let mut callee = std::mem::replace(
            st,
            State {
                frames: vec![],
                refs: vec![],
            },
        );
        let mut after = callee.clone();
        {
            let cur = after.cur_mut();
            for r in &mut cur.regs[1..6] {
                *r = Val::NotInit;
            }
            cur.regs[0] = Val::unknown();
        }
        let depth = callee.frames.len() as u8;
        let mut frame = Frame::new(entry as u32, i as u32, depth);
        frame.callback = true;
        match map {
            None => {
                frame.regs[1] = Val::unknown(); // the iteration's index
                frame.regs[2] = r3;
            }
            Some(m) => {
                frame.regs[1] = Val::Ptr(Ptr::new(PtrKind::Map { map: m }));
                frame.regs[2] = Val::Ptr(Ptr::new(PtrKind::MapKey { map: m }));
                frame.regs[3] = Val::Ptr(Ptr::new(PtrKind::MapValue {
                    map: m,
                    maybe_null: false,
                }));
                frame.regs[4] = r3;
            }
        }
        callee.frames.push(frame);
        self.chains
            .insert(callee.frames.iter().map(|f| f.func).collect());
        Ok(Step::Callback {
            after,
            entry,
            callee,
        })
    }

    /// A callback's `exit`: r0 must be 0 (continue) or 1 (stop), the
    /// references it acquired released; back to the helper call.
    fn callback_exit(&mut self, st: &mut State, r0: Val) -> Res<Step> {
        self.need_reg(st, IReg::R0);
        let ok = matches!(r0, Val::Scalar { val, .. } if val.b64.umax <= 1);
        if !ok {
            return Err(self
                .with_regs(
                    failure(
                        ErrorKind::ReturnValue,
                        format!("a callback returns {}, not 0 or 1", self.show(&r0)),
                        "a bpf_loop or bpf_for_each_map_elem callback returns 0 (go on) or 1 (stop)",
                    ),
                    st,
                    &[IReg::R0],
                )
                .help("end the callback with `return 0;` or `return 1;`"));
        }
        let depth = (st.frames.len() - 1) as u8;
        if let Some(r) = st.refs.iter().find(|r| r.frame >= depth) {
            return Err(failure(
                ErrorKind::ReferenceLeak,
                format!(
                    "the callback returns holding the reference acquired at {} ({})",
                    r.pc,
                    helpers::name(r.helper)
                ),
                "a callback releases every reference it acquires before it returns",
            ));
        }
        let callee = st.frames.pop().expect("a callback has a caller");
        st.cur_mut().cb_returns += 1;
        Ok(Step::CallbackReturn(callee.callsite as usize))
    }

    /// Checks and applies a helper call; `false` when control does not
    /// continue (never, for now: a failed tail call falls through).
    fn helper_call(&mut self, st: &mut State, id: u32) -> Res<bool> {
        let name = helpers::name(id);
        let Some(proto) = helpers::proto(id) else {
            if let Some(why) = helpers::unsupported_reason(id) {
                return Err(failure(
                    ErrorKind::Unsupported,
                    why,
                    "only helpers with known prototypes can be checked",
                ));
            }
            return Err(
                if waggle_analysis::helper_names::helper_name(id).is_some() {
                    failure(
                        ErrorKind::Unsupported,
                        format!("helper {name} (id {id}) is not supported by the verifier yet"),
                        "only helpers with known prototypes can be checked",
                    )
                } else {
                    failure(
                        ErrorKind::Helper,
                        format!("unknown helper id {id}"),
                        "calls name one of Linux's helper functions",
                    )
                },
            );
        };
        if !proto.avail.allows(self.ctx) {
            return Err(failure(
                ErrorKind::Helper,
                format!(
                    "{name} is not available to {} programs (it is for {})",
                    self.prog.prog_type,
                    proto.avail.describe()
                ),
                "each program type may call only the helpers Linux gives it",
            ));
        }
        let arg_reg = |k: usize| IReg::new(k as u8 + 1).expect("five arguments");
        if id == helpers::TRACE_PRINTK {
            // The arguments the format prints, unchecked by Linux (whose
            // bpf_trace_printk is for CAP_PERFMON loaders only).
            for k in 2..5 {
                self.helper_number(st, arg_reg(k), &name, k)?;
            }
        }
        let mut map: Option<u32> = None;
        let mut release: Option<u32> = None;
        let key_arg = st.cur().regs[2];
        let mut alloc = 0u32;
        for (k, arg) in proto.args.iter().enumerate() {
            let r = arg_reg(k);
            if let Arg::Size { .. } = arg {
                continue; // checked with its memory argument
            }
            let v = self.helper_arg(st, r, &name, k)?;
            let wrong = |this: &Self, what: &str| {
                this.with_regs(
                    failure(
                        ErrorKind::HelperArgument,
                        format!(
                            "argument {} of {name} (r{}) must be {what}, but it is {}",
                            k + 1,
                            r.num(),
                            this.show(&v)
                        ),
                        format!("{name} takes {}", describe_args(proto.args)),
                    ),
                    st,
                    &[r],
                )
            };
            match *arg {
                Arg::Anything => self.helper_number(st, r, &name, k)?,
                Arg::MapPtr => {
                    if let Val::Ptr(Ptr {
                        kind: PtrKind::MapOrNull { .. },
                        ..
                    }) = v
                    {
                        return Err(self
                            .with_regs(
                                failure(
                                    ErrorKind::MaybeNull,
                                    format!("argument {} of {name} (r{}) is a map that may be NULL", k + 1, r.num()),
                                    "a lookup in a map of maps may find no map; check the result against 0 before using it",
                                ),
                                st,
                                &[r],
                            )
                            .help(format!("check `if (r{} == 0)` first", r.num())));
                    }
                    let Val::Ptr(Ptr {
                        kind: PtrKind::Map { map: m },
                        ..
                    }) = v
                    else {
                        return Err(wrong(self, "a map"));
                    };
                    let d = self.map_at(m);
                    let of_maps = matches!(d.map_type, map_type::ARRAY_OF_MAPS | map_type::HASH_OF_MAPS);
                    if of_maps && id == 1 {
                        // A lookup in a map of maps gives an inner map.
                        let nested = d.inner.as_deref().is_none_or(|i| {
                            matches!(i.map_type, map_type::ARRAY_OF_MAPS | map_type::HASH_OF_MAPS)
                        });
                        if nested || m & INNER_MAP != 0 {
                            return Err(failure(
                                ErrorKind::Unsupported,
                                format!("maps of maps of maps (`{}`) are not supported by the verifier yet", d.name),
                                "a map of maps holds maps of plain values",
                            ));
                        }
                        map = Some(m);
                        continue;
                    }
                    if !proto.maps.contains(&d.map_type) {
                        let names: Vec<String> = proto.maps.iter().map(|&t| map_type::name(t)).collect();
                        return Err(self.with_regs(
                            failure(
                                ErrorKind::HelperArgument,
                                format!("{name} cannot be used with {} map `{}`", map_type::name(d.map_type), d.name),
                                format!("{name} works on {} maps", names.join(", ")),
                            ),
                            st,
                            &[r],
                        ));
                    }
                    map = Some(m);
                }
                Arg::MapKey | Arg::MapValue | Arg::MapValueOut => {
                    let d = self.map_at(map.expect("a map argument comes first"));
                    let (size, write) = match arg {
                        Arg::MapKey => (d.key_size, false),
                        Arg::MapValue => (d.value_size, false),
                        _ => (d.value_size, true),
                    };
                    self.helper_mem(st, r, &v, size as u64, size as u64, write, false, &name, k)?;
                }
                Arg::Ctx => match v {
                    Val::Ptr(p) if p.kind == PtrKind::Ctx && p.off == 0 && !p.has_var() => {}
                    _ => return Err(wrong(self, "the unmodified context pointer")),
                },
                Arg::Mem { write, nullable } => {
                    let Some(Arg::Size { zero_ok }) = proto.args.get(k + 1) else {
                        unreachable!("memory arguments are followed by their size")
                    };
                    let sr = arg_reg(k + 1);
                    let (lo, hi) = self.helper_size(st, sr, *zero_ok, &name, k + 1)?;
                    self.helper_mem(st, r, &v, lo, hi, write, nullable, &name, k)?;
                }
                Arg::Size { .. } => {}
                Arg::AllocSize => match v {
                    Val::Scalar { val, .. } if val.is_const() && val.b64.umax <= u32::MAX as u64 => alloc = val.b64.umax as u32,
                    _ => return Err(wrong(self, "a known constant size").help("pass the size as a constant (`sizeof(*e)`)")),
                },
                Arg::RingbufRecord => match v {
                    Val::Ptr(p) if matches!(p.kind, PtrKind::Mem { maybe_null: false, .. }) && p.ref_id != 0 => {
                        if p.off != 0 || p.has_var() {
                            return Err(wrong(self, "the record as bpf_ringbuf_reserve returned it (offset 0)"));
                        }
                        release = Some(p.ref_id);
                    }
                    Val::Ptr(p) if p.kind.maybe_null() => {
                        return Err(self
                            .with_regs(
                                failure(
                                    ErrorKind::MaybeNull,
                                    format!("argument {} of {name} (r{}) may be NULL", k + 1, r.num()),
                                    "bpf_ringbuf_reserve may return NULL; check the record against 0 before using it",
                                ),
                                st,
                                &[r],
                            )
                            .help("add `if (!e) return ...;` after bpf_ringbuf_reserve"))
                    }
                    _ => return Err(wrong(self, "a record from bpf_ringbuf_reserve")),
                },
            }
        }
        let pc = self.pc as u32;
        if let Some(ref_id) = release {
            let held = st.refs.iter().find(|r| r.id == ref_id).map(|r| r.frame);
            if let Some(f) = held {
                if st.frames[f as usize + 1..].iter().any(|fr| fr.callback) {
                    return Err(failure(
                        ErrorKind::ReferenceLeak,
                        format!("{name} releases, in a callback, a reference acquired outside it"),
                        "a callback may run any number of times: it releases only the references it acquires",
                    ));
                }
            }
            st.refs.retain(|r| r.id != ref_id);
            st.for_each_reg(|v| {
                if let Val::Ptr(p) = v {
                    if p.ref_id == ref_id {
                        *v = Val::Dead(Dead::Released { pc, helper: id });
                    }
                }
            });
        }
        if proto.changes_packet {
            st.for_each_reg(|v| {
                if let Val::Ptr(p) = v {
                    if matches!(
                        p.kind,
                        PtrKind::Packet | PtrKind::PacketMeta | PtrKind::PacketEnd
                    ) {
                        *v = Val::Dead(Dead::PacketChanged { pc, helper: id });
                    }
                }
            });
        }
        if id == 12 && st.frames.iter().any(|f| f.callback) {
            return Err(failure(
                ErrorKind::Helper,
                "bpf_tail_call in a callback",
                "a tail call replaces the program, which a callback cannot do from inside the helper calling it",
            ));
        }
        if id == 12 {
            // bpf_tail_call: on success the program is replaced, on failure
            // it continues here.
            if let Some(r) = st.refs.first() {
                return Err(failure(
                    ErrorKind::ReferenceLeak,
                    format!(
                        "tail call while holding the ring buffer record reserved at {}",
                        r.pc
                    ),
                    "a tail call ends this program, so every reference must be released before it",
                ));
            }
            if st.frames.len() > 1 {
                self.tail_chains
                    .insert(st.frames.iter().map(|f| f.func).collect());
            }
        }
        let r0 = match proto.ret {
            Ret::Integer => Val::unknown(),
            Ret::Void => Val::NotInit,
            Ret::MapValueOrNull
                if matches!(
                    self.map_at(map.expect("lookups take a map")).map_type,
                    map_type::ARRAY_OF_MAPS | map_type::HASH_OF_MAPS
                ) =>
            {
                let mut p = Ptr::new(PtrKind::MapOrNull {
                    map: map.expect("lookups take a map") | INNER_MAP,
                });
                p.id = self.fresh_id();
                Val::Ptr(p)
            }
            Ret::MapValueOrNull => {
                let m = map.expect("lookups take a map");
                let d = self.map_at(m);
                // As Linux (6.14): an array lookup with a constant key
                // below max_entries cannot fail.
                // Inner maps of one map of maps have the template's size
                // only for arrays without BPF_F_INNER_MAP (the check Linux
                // and the runtime make when a map is put in).
                let sized = m & INNER_MAP == 0
                    || (d.map_type == map_type::ARRAY && d.flags & BPF_F_INNER_MAP == 0);
                let array = matches!(d.map_type, map_type::ARRAY | map_type::PERCPU_ARRAY);
                let key = const_stack_key(st, key_arg, d.key_size);
                if let (true, Some(_), Val::Ptr(p)) = (array, key, key_arg) {
                    // The key's number decides whether the lookup can fail.
                    if let PtrKind::Stack { frame } = p.kind {
                        let off = p.var.const_value().unwrap_or(0) as i64;
                        let (slot, _) = slot_byte(p.off as i64 + off);
                        self.pending.get_or_insert(precision::NONE)[frame as usize].1 |= 1 << slot;
                    }
                }
                let never_null =
                    id == 1 && sized && array && key.is_some_and(|k| k < d.max_entries as u64);
                let mut p = Ptr::new(PtrKind::MapValue {
                    map: m,
                    maybe_null: !never_null,
                });
                if !never_null {
                    p.id = self.fresh_id();
                }
                Val::Ptr(p)
            }
            Ret::RingbufRecordOrNull => {
                let mut p = Ptr::new(PtrKind::Mem {
                    size: alloc,
                    maybe_null: true,
                });
                p.id = self.fresh_id();
                p.ref_id = p.id;
                st.refs.push(Ref {
                    id: p.id,
                    pc,
                    helper: id,
                    frame: (st.frames.len() - 1) as u8,
                });
                Val::Ptr(p)
            }
        };
        let cur = st.cur_mut();
        for r in &mut cur.regs[1..6] {
            *r = Val::NotInit;
        }
        cur.regs[0] = r0;
        Ok(true)
    }

    /// Helper argument `k` (in `r`), which must have been written: a helper
    /// argument left unset gets its own message, naming the helper.
    fn helper_arg(&self, st: &State, r: IReg, name: &str, k: usize) -> Res<Val> {
        if let Val::NotInit = st.cur().regs[r.index()] {
            return Err(self.with_regs(
                failure(
                    ErrorKind::UninitRegister,
                    format!("argument {} of {name} (r{}) is not set", k + 1, r.num()),
                    "helper arguments are passed in r1-r5, which must be written before the call",
                ),
                st,
                &[r],
            ));
        }
        self.read(st, r)
    }

    /// Without `allow_ptr_leaks`: argument `k` (in `r`), one the helper
    /// takes as a number (Linux's `ARG_ANYTHING`), is not a pointer, whose
    /// address the helper would see (Linux: `R%d leaks addr into helper
    /// function`).
    fn helper_number(&self, st: &State, r: IReg, name: &str, k: usize) -> Res<()> {
        let v = st.cur().regs[r.index()];
        if self.allow_ptr_leaks || !v.is_pointer() {
            return Ok(());
        }
        Err(self.with_regs(
            failure(
                ErrorKind::PointerLeak,
                format!(
                    "argument {} of {name} (r{}) is a pointer ({}), which would leak its address into the helper",
                    k + 1,
                    r.num(),
                    self.show(&v)
                ),
                "without allow_ptr_leaks (an unprivileged loader) the helper arguments that take any value (numbers, flags, indices, what a format prints) take no pointer",
            )
            .help("pass a number: the data the pointer points to, or an offset"),
            st,
            &[r],
        ))
    }

    /// A size argument: returns its bounds.
    fn helper_size(
        &self,
        st: &State,
        r: IReg,
        zero_ok: bool,
        name: &str,
        k: usize,
    ) -> Res<(u64, u64)> {
        let v = self.helper_arg(st, r, name, k)?;
        let Val::Scalar { val, .. } = v else {
            return Err(self.with_regs(
                failure(
                    ErrorKind::HelperArgument,
                    format!(
                        "argument {} of {name} (r{}) is a size, but it is a pointer",
                        k + 1,
                        r.num()
                    ),
                    "memory arguments are followed by their size in bytes",
                ),
                st,
                &[r],
            ));
        };
        let mut f = None;
        if val.b64.smin < 0 {
            f = Some(
                failure(
                    ErrorKind::HelperArgument,
                    format!(
                        "argument {} of {name} (r{}) is a size that may be negative",
                        k + 1,
                        r.num()
                    ),
                    "memory sizes passed to helpers must be proven non-negative and bounded",
                )
                .help("use an unsigned size, or check `if (size < 0)` first"),
            );
        } else if val.b64.umax >= MAX_VAR_SIZE {
            f = Some(
                failure(
                    ErrorKind::HelperArgument,
                    format!(
                        "argument {} of {name} (r{}) is an unbounded size",
                        k + 1,
                        r.num()
                    ),
                    "memory sizes passed to helpers must be proven non-negative and bounded",
                )
                .help("bound it first: `if (size > sizeof(buf)) return ...;`"),
            );
        } else if val.b64.umin == 0 && !zero_ok {
            f = Some(
                failure(
                    ErrorKind::HelperArgument,
                    format!(
                        "argument {} of {name} (r{}) is a size that may be zero",
                        k + 1,
                        r.num()
                    ),
                    format!("{name} needs a size of at least one byte"),
                )
                .help("check `if (size == 0)` (or `size < 1`) first"),
            );
        }
        match f {
            Some(f) => Err(self.with_regs(f, st, &[r])),
            None => Ok((val.b64.umin, val.b64.umax)),
        }
    }

    /// A memory argument of `lo..=hi` bytes, read or written by the helper.
    #[allow(clippy::too_many_arguments)]
    fn helper_mem(
        &mut self,
        st: &mut State,
        r: IReg,
        v: &Val,
        lo: u64,
        hi: u64,
        write: bool,
        nullable: bool,
        name: &str,
        k: usize,
    ) -> Res<()> {
        let p = match v {
            Val::Scalar { val, .. } if nullable && val.is_zero() => {
                if hi == 0 {
                    return Ok(());
                }
                return Err(self.with_regs(
                    failure(
                        ErrorKind::HelperArgument,
                        format!("argument {} of {name} (r{}) is NULL with a size that may be non-zero", k + 1, r.num()),
                        "NULL memory arguments need a size of 0",
                    ),
                    st,
                    &[r],
                ));
            }
            Val::Ptr(p) => *p,
            _ => {
                return Err(self.with_regs(
                    failure(
                        ErrorKind::HelperArgument,
                        format!("argument {} of {name} (r{}) must point to memory, but it is {}", k + 1, r.num(), self.show(v)),
                        "memory arguments point to the stack, packet data, a map value or a ring buffer record",
                    ),
                    st,
                    &[r],
                ))
            }
        };
        let access = if write { Access::Write } else { Access::Read };
        match p.kind {
            PtrKind::Stack { frame } => {
                let frame = frame as usize;
                let (min, max) = Self::span(&p, 0, hi);
                if min < -(STACK_SIZE as i128) || max > 0 {
                    return Err(self.with_regs(
                        failure(
                            ErrorKind::InvalidAccess,
                            format!("argument {} of {name} (r{}) covers stack bytes fp{min:+}..fp{max:+}, outside the frame (-512..0)", k + 1, r.num()),
                            "memory passed to helpers must lie inside it for its whole size",
                        ),
                        st,
                        &[r],
                    ));
                }
                if hi == 0 {
                    return Ok(());
                }
                self.note_depth(st, frame, min as i64);
                let (min, max) = (min as i64, max as i64);
                if !self.allow_ptr_leaks {
                    // Bytes the helper certainly writes replace whole
                    // spills; any other spilled pointer it may read or
                    // write in part.
                    let whole = if write && !p.has_var() {
                        (min, min + lo as i64)
                    } else {
                        (0, 0)
                    };
                    if let Some(at) = spilled_pointer(st, frame, min, max, whole) {
                        let what = if write {
                            format!("may write part of the pointer spilled at fp{at:+}")
                        } else {
                            format!("would read the pointer spilled at fp{at:+} as bytes")
                        };
                        return Err(self.with_regs(
                            self.spill_leak(format!(
                                "argument {} of {name} (r{}) covers stack bytes fp{min:+}..fp{max:+}: the helper {what}",
                                k + 1,
                                r.num()
                            )),
                            st,
                            &[r],
                        ));
                    }
                }
                if write {
                    if p.has_var() {
                        Self::stack_maybe_written(st, frame, min, max, false);
                    } else {
                        Self::stack_written(st, frame, min, min + lo as i64);
                        Self::stack_maybe_written(st, frame, min + lo as i64, max, false);
                    }
                } else {
                    self.stack_range_initialised(st, r, frame, min, max)?;
                }
                Ok(())
            }
            PtrKind::Packet | PtrKind::PacketMeta => self.packet_check(st, r, &p, 0, hi),
            PtrKind::MapValue { map, maybe_null: false } => self.map_value_check(st, r, &p, map, 0, hi, access),
            PtrKind::Mem { size, maybe_null: false } => self.region_check(st, r, &p, 0, hi, size as u64, "ring buffer record", access),
            PtrKind::MapKey { map } if !write => {
                let d = self.map_at(map);
                let what = format!("key of map {}", self.map_name(map));
                self.region_check(st, r, &p, 0, hi, d.key_size as u64, &what, access)
            }
            PtrKind::MapValue { maybe_null: true, .. } | PtrKind::Mem { maybe_null: true, .. } => Err(self
                .with_regs(
                    failure(
                        ErrorKind::MaybeNull,
                        format!("argument {} of {name} (r{}) may be NULL", k + 1, r.num()),
                        "pointers that may be NULL must be compared with 0 before use",
                    ),
                    st,
                    &[r],
                )
                .help(format!("check `if (r{} == 0)` first", r.num()))),
            _ => Err(self.with_regs(
                failure(
                    ErrorKind::HelperArgument,
                    format!("argument {} of {name} (r{}) must point to memory, but it points to {}", k + 1, r.num(), p.kind.describe()),
                    "memory arguments point to the stack, packet data, a map value or a ring buffer record",
                ),
                st,
                &[r],
            )),
        }
    }

    // ----------------------------------------------------------------------
    // After exploration.

    fn check_stack_chains(&self) -> Result<(), VerifyError> {
        let round = |d: u32| d.div_ceil(16) * 16;
        let mut chains: Vec<&Vec<u32>> = self.chains.iter().collect();
        chains.sort();
        for chain in chains {
            let total: u32 = chain.iter().map(|&f| round(self.depth[f as usize])).sum();
            if total as usize > STACK_SIZE {
                let parts: Vec<String> = chain
                    .iter()
                    .map(|&f| {
                        format!(
                            "{} bytes at {}",
                            round(self.depth[f as usize]),
                            self.cfg.pcs[f as usize]
                        )
                    })
                    .collect();
                let f = *chain.last().expect("chains are not empty") as usize;
                return Err(self.at(
                    f,
                    failure(
                        ErrorKind::StackSize,
                        format!("combined stack of {} nested calls is {total} bytes, over 512 ({})", chain.len(), parts.join(" + ")),
                        "the stacks of all functions active at once must fit in 512 bytes (each rounded up to 16)",
                    )
                    .help("move large buffers into a per-CPU array map"),
                ));
            }
        }
        for chain in &self.tail_chains {
            let callers: u32 = chain[..chain.len() - 1]
                .iter()
                .map(|&f| round(self.depth[f as usize]))
                .sum();
            if callers > 256 {
                let f = *chain.last().expect("chains are not empty") as usize;
                return Err(self.at(
                    f,
                    failure(
                        ErrorKind::StackSize,
                        format!("tail call from a function whose callers use {callers} bytes of stack, over 256"),
                        "tail calls from bpf-to-bpf callees are allowed only while the callers' stacks total at most 256 bytes",
                    ),
                ));
            }
        }
        Ok(())
    }
}

/// The key a map key argument points to, when it is a constant Linux can
/// see (`get_constant_map_key`): `key_size` bytes at a constant stack
/// offset, either all written with zeroes, or exactly a spilled constant
/// scalar of `key_size` bytes.
fn const_stack_key(st: &State, key: Val, key_size: u32) -> Option<u64> {
    let Val::Ptr(p) = key else { return None };
    let PtrKind::Stack { frame } = p.kind else {
        return None;
    };
    let off = p.off as i64 + p.var.const_value()? as i64;
    if !(1..=8).contains(&key_size) || off >= 0 || off < -(STACK_SIZE as i64) {
        return None;
    }
    let (s, b) = slot_byte(off);
    let n = key_size as usize;
    if b + n > 8 {
        return None;
    }
    let slot = st.frames.get(frame as usize)?.slot(s);
    if slot.marks[b..b + n].iter().all(|m| *m == Mark::Zero) {
        return Some(0);
    }
    match slot.spill {
        Val::Scalar { val, .. } if b == 0 && slot.spill_size() == n => val.const_value(),
        _ => None,
    }
}

/// The slot and byte of stack address `a` (negative, from the frame pointer).
fn slot_byte(a: i64) -> (usize, usize) {
    let s = ((-a - 1) / 8) as usize;
    (s, (a + 8 * (s as i64 + 1)) as usize)
}

/// The offset of a slot of `frame` holding a spilled pointer that bytes
/// `lo..hi` touch, leaving out the slots wholly inside `whole` (bytes
/// certainly overwritten).
fn spilled_pointer(st: &State, frame: usize, lo: i64, hi: i64, whole: (i64, i64)) -> Option<i64> {
    if lo >= hi {
        return None;
    }
    let (top, _) = slot_byte(hi - 1);
    let (bottom, _) = slot_byte(lo);
    (top..=bottom).find_map(|s| {
        let start = -8 * (s as i64 + 1);
        let replaced = whole.0 <= start && start + 8 <= whole.1;
        (st.frames[frame].slot(s).holds_pointer() && !replaced).then_some(start)
    })
}

/// Whether `e` is the end `p` is checked against in a packet bounds check:
/// data_end for a packet pointer, the unmoved data pointer for a metadata
/// pointer.
fn bounds_pair(p: &Ptr, e: &Ptr) -> bool {
    match (p.kind, e.kind) {
        (PtrKind::Packet, PtrKind::PacketEnd) => true,
        (PtrKind::PacketMeta, PtrKind::Packet) => e.off == 0 && !e.has_var(),
        _ => false,
    }
}

/// A pointer the verifier knows is not NULL, so that comparing it with 0
/// decides the branch: a map value or a record, checked or never NULL, at
/// a constant offset.
fn never_null(p: &Ptr) -> bool {
    !p.kind.maybe_null()
        && matches!(p.kind, PtrKind::MapValue { .. } | PtrKind::Mem { .. })
        && !p.has_var()
}

/// Whether two pointers point into the same region, so that comparing or
/// subtracting them is meaningful.
fn same_region(a: &Ptr, b: &Ptr) -> bool {
    use PtrKind::*;
    match (a.kind, b.kind) {
        (Packet | PacketMeta | PacketEnd, Packet | PacketMeta | PacketEnd) => true,
        (Stack { frame: x }, Stack { frame: y }) => x == y,
        (MapValue { map: x, .. }, MapValue { map: y, .. }) => x == y,
        (Mem { .. }, Mem { .. }) => a.ref_id == b.ref_id,
        (Ctx, Ctx) => true,
        (Map { map: x } | MapOrNull { map: x }, Map { map: y } | MapOrNull { map: y }) => x == y,
        (MapKey { map: x }, MapKey { map: y }) => x == y,
        (Func { .. }, Func { .. }) => true,
        _ => false,
    }
}

/// `cond` with its operands swapped (`a > b` is `b < a`).
fn flip(cond: JmpCond) -> JmpCond {
    use JmpCond::*;
    match cond {
        Gt => Lt,
        Lt => Gt,
        Ge => Le,
        Le => Ge,
        Sgt => Slt,
        Slt => Sgt,
        Sge => Sle,
        Sle => Sge,
        c => c,
    }
}

fn alu_name(op: AluOp) -> &'static str {
    match op {
        AluOp::Add => "addition",
        AluOp::Sub => "subtraction",
        AluOp::Mul => "multiplication",
        AluOp::Div | AluOp::Sdiv => "division",
        AluOp::Mod | AluOp::Smod => "modulo",
        AluOp::Or => "bitwise or",
        AluOp::And => "bitwise and",
        AluOp::Xor => "bitwise xor",
        AluOp::Lsh | AluOp::Rsh | AluOp::Arsh => "shift",
        AluOp::Mov | AluOp::MovSx8 | AluOp::MovSx16 | AluOp::MovSx32 => "move",
    }
}

fn describe_args(args: &[Arg]) -> String {
    let parts: Vec<String> = args
        .iter()
        .enumerate()
        .map(|(k, a)| {
            let d = match a {
                Arg::Anything => "any value",
                Arg::MapPtr => "a map",
                Arg::MapKey => "a pointer to a key",
                Arg::MapValue => "a pointer to a value",
                Arg::MapValueOut => "a pointer to space for a value",
                Arg::Ctx => "the context",
                Arg::Mem { write: false, .. } => "a pointer to memory it reads",
                Arg::Mem { write: true, .. } => "a pointer to memory it writes",
                Arg::Size { .. } => "its size",
                Arg::AllocSize => "a constant size",
                Arg::RingbufRecord => "a reserved ring buffer record",
            };
            format!("r{}: {d}", k + 1)
        })
        .collect();
    parts.join(", ")
}
