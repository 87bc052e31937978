//! One BPF function to Cranelift IR.
//!
//! BPF registers are Cranelift [`Variable`]s: the frontend builds SSA form
//! from them, so values live in machine registers across straight-line code
//! and loops instead of in a register file in memory. Each basic block of the
//! BPF function (see [`crate::functions`]) is one Cranelift block. Semantics
//! follow the interpreter exactly; where Cranelift's instruction would trap
//! (division by zero, `MIN / -1`) the divisor is replaced by a harmless one
//! and the BPF result selected afterwards (see [`crate::alu`]). Map helper
//! calls on maps known at compile time skip the helper (`map_calls.rs`).

mod map_calls;
mod stack_slots;
mod switches;
mod unrolling;
mod zero_extended;

use crate::alu;
use crate::frames::offsets;
use crate::functions::{Function, Index, Layout};
use crate::helpers::{self, fault};
use crate::maps::{MapCallSites, MapTable};
use crate::wide_loads;
use cranelift_codegen::ir::condcodes::IntCC;
use cranelift_codegen::ir::types::{I16, I32, I64, I8};
use cranelift_codegen::ir::{
    AbiParam, AtomicRmwOp, Block, FuncRef, InstBuilder, JumpTableData, MemFlagsData, SigRef,
    Signature, Type, Value,
};
use cranelift_codegen::isa::{CallConv, TargetFrontendConfig};
use cranelift_frontend::{FunctionBuilder, FunctionBuilderContext, Variable};
use map_calls::KnownRegs;
use stack_slots::StackSlots;
use std::collections::HashMap;
use switches::Switch;
use waggle_isa::{
    AluOp, AtomicOp, CallTarget, Insn, JmpCond, LdImm64, MemSize, Reg, Source, Width,
};
use waggle_vm::helpers::{Helper, NativeHelper};
use waggle_vm::{FUNC_REF_TAG, STACK_SIZE};

/// Program memory: unaligned accesses are allowed, and none traps (the
/// verifier proved every access valid).
const MEM: MemFlagsData = MemFlagsData::new().with_notrap();
/// The run context: aligned, valid for the whole run.
const CTX: MemFlagsData = MemFlagsData::trusted();

/// What translating a function needs to know about the whole program.
pub(crate) struct ProgramFacts<'a> {
    pub layout: &'a Layout<'a>,
    /// Table slot of each helper call instruction (by instruction index).
    pub helper_slot: &'a [u32],
    /// The maps compiled code may reach without the map helpers.
    pub maps: &'a MapTable,
    /// The helpers, by table slot.
    pub helpers: &'a [Helper],
    /// Constant blinding: the random key and where compiled code reads it
    /// (see [`Blinding`]); `None` leaves immediates as they are.
    pub blinding: Option<Blinding>,
    /// The program passed the verifier: stack slots may live in registers
    /// (see [`StackSlots`]).
    pub verified: bool,
    /// Whether local calls check the call depth (see
    /// [`crate::functions::Functions::check_depth`]).
    pub check_depth: bool,
    /// Whether calling the function at an entry can stop the program.
    pub may_stop: &'a dyn Fn(Index) -> bool,
    pub call_conv: CallConv,
    pub frontend: TargetFrontendConfig,
}

/// Constant blinding, as Linux's `bpf_jit_harden`: no immediate of the
/// program appears in the native code. Each one becomes `imm ^ key` in the
/// code, xored at run time with `key`, read from memory (`address`) so that
/// the code generator cannot fold the two back into `imm`. An attacker who
/// chooses a program's constants then cannot plant chosen bytes in
/// executable memory (JIT spraying).
#[derive(Clone, Copy)]
pub(crate) struct Blinding {
    pub key: u64,
    pub address: u64,
}

/// The signature of compiled BPF functions (see [`crate::frames::JitFn`]).
pub(crate) fn bpf_signature(call_conv: CallConv) -> Signature {
    signature(call_conv, 7, true)
}

fn signature(call_conv: CallConv, params: usize, ret: bool) -> Signature {
    let mut sig = Signature::new(call_conv);
    sig.params.extend((0..params).map(|_| AbiParam::new(I64)));
    if ret {
        sig.returns.push(AbiParam::new(I64));
    }
    sig
}

/// Why a function could not be translated: instructions that preparation
/// (`waggle_vm::Program::new`) already rejects, so never for a program that
/// got this far.
#[derive(Debug)]
pub(crate) struct Untranslatable {
    pub pc: usize,
    pub what: &'static str,
}

/// Translates `f` into `func` (whose signature is already set), with
/// `callees` the function references of its local calls, by entry; returns
/// what became of its map helper calls.
pub(crate) fn translate(
    func: &mut cranelift_codegen::ir::Function,
    fctx: &mut FunctionBuilderContext,
    facts: &ProgramFacts<'_>,
    f: &Function,
    callees: &HashMap<Index, FuncRef>,
) -> Result<MapCallSites, Untranslatable> {
    let mut b = FunctionBuilder::new(func, fctx);
    let regs: [Variable; Reg::COUNT] = std::array::from_fn(|_| b.declare_var(I64));
    let entry = b.create_block();
    b.append_block_params_for_function_params(entry);
    b.switch_to_block(entry);
    let params = b.block_params(entry).to_vec();
    let (ctx, frame_fp) = (params[0], params[1]);
    let zero = b.ins().iconst(I64, 0);
    for (r, var) in regs.iter().enumerate() {
        let v = match r {
            1..=5 => params[r + 1],
            10 => frame_fp,
            // r0 and r6..r9 start at zero (the interpreter's values for a
            // program's entry; a callee's are unspecified to the verifier).
            _ => zero,
        };
        b.def_var(*var, v);
    }
    let sigs = Signatures {
        helper: b.import_signature(signature(facts.call_conv, 7, true)),
        helper_by_id: b.import_signature(signature(facts.call_conv, 8, true)),
        fault: b.import_signature(signature(facts.call_conv, 3, false)),
        map2: b.import_signature(signature(facts.call_conv, 2, true)),
        map4: b.import_signature(signature(facts.call_conv, 4, true)),
        native: b.import_signature(signature(facts.call_conv, 5, true)),
    };
    let blinding = facts.blinding.map(|bl| {
        let address = b.ins().iconst(I64, bl.address as i64);
        let key = b.ins().load(I64, CTX.with_readonly(), address, 0);
        (key, bl.key)
    });
    let bail = b.create_block();
    b.set_cold_block(bail);
    let component = strongly_connected(facts.layout, f);
    let loops = loop_spans(facts.layout, f, &component);
    let stack = if facts.verified {
        StackSlots::of(facts.layout, f, &component, &mut b)
    } else {
        None
    };
    let zero_extended = zero_extended::zero_extended(facts.layout, f);
    // Blinded programs keep their trees: a table's bounds are constants too.
    let switches = if facts.blinding.is_none() {
        switches::switches(facts.layout, f)
    } else {
        HashMap::new()
    };
    let mut jumped_to = f.jumped_to.clone();
    for leaf in switches.values().flat_map(Switch::leaves) {
        jumped_to[leaf] = true;
    }
    let entered = entered_from_outside(facts.layout, f, &component);
    let unroll = unrolling::loops_to_unroll(facts.layout, f, &component, &entered, &|i| {
        switches.contains_key(&i)
    });
    let mut t = Translator {
        b,
        zero_extended,
        jumped_to,
        switches,
        unroll,
        copy: None,
        converted: vec![false; facts.layout.len()],
        facts,
        regs,
        ctx,
        frame_fp,
        bail,
        blocks: vec![None; facts.layout.len() + 1],
        sigs,
        callees,
        open: false,
        known: KnownRegs::new(),
        sites: MapCallSites::default(),
        cold_fall_through: cold_fall_throughs(facts.layout, f, &loops, &entered),
        loops,
        component,
        blinding,
        stack,
    };
    let first = t.block(f.entry);
    t.b.ins().jump(first, &[]);
    let mut k = 0;
    while k < f.body.len() {
        let i = f.body[k];
        let Some(&end) = t.unroll.get(&i) else {
            t.step(f, i)?;
            k += 1;
            continue;
        };
        // A loop emitted twice (`unrolling.rs`): its body is `f.body[k..]`
        // up to `end`, contiguous.
        let n = end - i + 1;
        for second in [false, true] {
            let blocks = t.copy.take().map_or_else(|| vec![None; n], |c| c.blocks);
            t.copy = Some(Copy {
                head: i,
                end,
                second,
                blocks,
            });
            for &j in &f.body[k..k + n] {
                t.step(f, j)?;
            }
        }
        t.copy = None;
        k += n;
    }
    if t.open {
        // The last instruction of the program falls through.
        let end = t.block(facts.layout.len());
        t.b.ins().jump(end, &[]);
    }
    // Past the end: the interpreter's `FellOff` sentinel.
    if let Some(end) = t.blocks[facts.layout.len()] {
        t.b.switch_to_block(end);
        t.b.set_cold_block(end);
        t.stop(fault::FELL_OFF, facts.layout.end_slot);
    }
    // Something stopped the program: return at once (the value is unused).
    t.b.switch_to_block(bail);
    let zero = t.b.ins().iconst(I64, 0);
    t.b.ins().return_(&[zero]);
    t.b.seal_all_blocks();
    t.b.finalize(facts.frontend);
    Ok(t.sites)
}

/// The copy of a loop being emitted (see `unrolling.rs`): instructions
/// `head..=end`, the first copy in the program's blocks, the second in
/// `blocks` (by instruction minus `head`).
struct Copy {
    head: Index,
    end: Index,
    second: bool,
    blocks: Vec<Option<Block>>,
}

struct Signatures {
    helper: SigRef,
    helper_by_id: SigRef,
    fault: SigRef,
    /// Direct map operations: (map, key) and (map, key, value, flags).
    map2: SigRef,
    map4: SigRef,
    /// A helper's direct entry point (`waggle_vm::helpers::NativeHelper`).
    native: SigRef,
}

struct Translator<'a, 'b> {
    b: FunctionBuilder<'b>,
    facts: &'a ProgramFacts<'a>,
    regs: [Variable; Reg::COUNT],
    /// The run context and the function's own frame pointer (entry block
    /// parameters, so they dominate every block).
    ctx: Value,
    frame_fp: Value,
    /// Returns from the function after the program was stopped.
    bail: Block,
    /// The block of each instruction that starts one; the extra last entry
    /// is the block that reports running off the end.
    blocks: Vec<Option<Block>>,
    sigs: Signatures,
    callees: &'a HashMap<Index, FuncRef>,
    /// Whether the current block still needs a terminator.
    open: bool,
    /// Constants in registers, to find the map a map helper call names.
    known: KnownRegs,
    sites: MapCallSites,
    /// The instruction ranges of the function's loops: from a backward
    /// jump's target to the jump, inclusive.
    loops: Vec<(Index, Index)>,
    /// By instruction: its strongly connected component (see
    /// [`strongly_connected`]).
    component: Vec<usize>,
    /// By instruction: a conditional jump that stays in its loop when taken
    /// and whose fall-through leaves it (see [`cold_fall_throughs`]).
    cold_fall_through: Vec<bool>,
    /// The blinding key, read once at the function's entry, with the key
    /// the code was generated for.
    blinding: Option<(Value, u64)>,
    /// The frame's slots as variables, when nothing can point into it.
    stack: Option<StackSlots>,
    /// By instruction: the registers whose upper 32 bits are zero before
    /// it (see `zero_extended.rs`).
    zero_extended: Vec<u16>,
    /// By instruction: whether a jump goes to it ([`Function::jumped_to`],
    /// and the leaves of `switches`).
    jumped_to: Vec<bool>,
    /// The trees of jumps translated as jump tables, by root jump (see
    /// `switches.rs`).
    switches: HashMap<Index, Switch>,
    /// By instruction: translated as part of a conditional move.
    converted: Vec<bool>,
    /// The loops emitted twice: the last instruction of each by its first
    /// (see `unrolling.rs`).
    unroll: HashMap<Index, Index>,
    /// The copy of such a loop being emitted, while it is.
    copy: Option<Copy>,
}

/// The loops of `f`, as ranges of instructions from a backward jump's target
/// to the jump. A backward jump whose target cannot reach it again is no
/// loop (clang shares a function's return code between paths, and a late
/// path may jump back to it).
fn loop_spans(layout: &Layout<'_>, f: &Function, component: &[usize]) -> Vec<(Index, Index)> {
    f.body
        .iter()
        .filter_map(|&i| match (layout.insn(i), layout.targets[i]) {
            (Insn::Jump { .. } | Insn::Ja { .. } | Insn::JaLong { .. }, Some(t))
                if t <= i && component[t] == component[i] =>
            {
                Some((t, i))
            }
            _ => None,
        })
        .collect()
}

/// Whether the jump at `i` to `target` leaves a loop that contains `i`
/// (`loops` as [`loop_spans`] finds them). A backward jump inside its
/// strongly connected component goes back to a loop's head, so it stays in
/// the loop, even where the loop has several backward jumps and the spans
/// from their targets to them overlap (a `continue` that jumps back to the
/// loop's increment).
fn leaves_loop(loops: &[(Index, Index)], component: &[usize], i: Index, target: Index) -> bool {
    if target <= i && component.get(target) == Some(&component[i]) {
        return false;
    }
    loops
        .iter()
        .any(|&(head, end)| head <= i && i <= end && (target < head || target > end))
}

/// The strongly connected component of each instruction of `f` in its
/// control-flow graph (Tarjan's algorithm, iterative: bodies can be long),
/// as an index per instruction; instructions outside `f` get `usize::MAX`.
fn strongly_connected(layout: &Layout<'_>, f: &Function) -> Vec<usize> {
    const UNSEEN: usize = usize::MAX;
    let n = layout.len();
    let mut index = vec![UNSEEN; n];
    let mut low = vec![0; n];
    let mut on_stack = vec![false; n];
    let mut component = vec![UNSEEN; n];
    let mut stack = Vec::new();
    let mut next_index = 0;
    let mut components = 0;
    let successors = |i: Index| -> Vec<Index> { layout.successors(i).filter(|&s| s < n).collect() };
    for &root in &f.body {
        if index[root] != UNSEEN {
            continue;
        }
        // (instruction, its successors, how many of them are done)
        let mut work = vec![(root, successors(root), 0usize)];
        index[root] = next_index;
        low[root] = next_index;
        next_index += 1;
        stack.push(root);
        on_stack[root] = true;
        while let Some((v, succ, done)) = work.last_mut() {
            let v = *v;
            if let Some(&w) = succ.get(*done) {
                *done += 1;
                if index[w] == UNSEEN {
                    index[w] = next_index;
                    low[w] = next_index;
                    next_index += 1;
                    stack.push(w);
                    on_stack[w] = true;
                    work.push((w, successors(w), 0));
                } else if on_stack[w] {
                    low[v] = low[v].min(index[w]);
                }
                continue;
            }
            work.pop();
            if let Some(&(parent, _, _)) = work.last() {
                low[parent] = low[parent].min(low[v]);
            }
            if low[v] == index[v] {
                while let Some(w) = stack.pop() {
                    on_stack[w] = false;
                    component[w] = components;
                    if w == v {
                        break;
                    }
                }
                components += 1;
            }
        }
    }
    component
}

/// For each instruction of `f`: whether control enters it from another
/// strongly connected component (or it is the function's entry): where a
/// loop is entered.
fn entered_from_outside(layout: &Layout<'_>, f: &Function, component: &[usize]) -> Vec<bool> {
    let mut entered = vec![false; layout.len()];
    entered[f.entry] = true;
    for &i in &f.body {
        for s in layout.successors(i).filter(|&s| s < layout.len()) {
            entered[s] |= component[s] != component[i];
        }
    }
    entered
}

/// For each instruction of `f`: whether it is a forward conditional jump
/// inside a loop whose target stays in the loop and whose fall-through is
/// straight code that leaves it (by `exit` or a jump out of the loop), as
/// clang lays out `for (...) { if (done) break; ... }`. That code runs once;
/// keeping it in line would make the loop take this branch on every
/// iteration. A jump back to where the loop is entered is not one, forward
/// or backward: Cranelift lays blocks out in reverse postorder, so the
/// loop's entry comes first and the jump goes backward anyway; the code
/// after it is where the loop ends, and laying that out elsewhere would only
/// add a jump to every iteration.
fn cold_fall_throughs(
    layout: &Layout<'_>,
    f: &Function,
    loops: &[(Index, Index)],
    entered: &[bool],
) -> Vec<bool> {
    let mut cold = vec![false; layout.len()];
    for &i in &f.body {
        let (Insn::Jump { .. }, Some(target)) = (layout.insn(i), layout.targets[i]) else {
            continue;
        };
        if target <= i || entered[target] {
            continue;
        }
        let Some(&(head, end)) = loops
            .iter()
            .find(|&&(head, end)| head <= i && i <= end && (head..=end).contains(&target))
        else {
            continue;
        };
        let outside = |t: Index| t < head || t > end;
        let mut j = i + 1;
        cold[i] = loop {
            if j >= layout.len() || (j > i + 1 && f.leader[j]) {
                break false;
            }
            match (layout.insn(j), layout.targets[j]) {
                (Insn::Exit, _) => break true,
                (Insn::Ja { .. } | Insn::JaLong { .. }, Some(t)) => break outside(t),
                (Insn::Jump { .. } | Insn::Ja { .. } | Insn::JaLong { .. }, _) => break false,
                _ => j += 1,
            }
        };
    }
    cold
}

impl Translator<'_, '_> {
    /// Translates instruction `i` of `f` where it starts a block or follows
    /// the one before.
    fn step(&mut self, f: &Function, i: Index) -> Result<(), Untranslatable> {
        if self.converted[i] {
            // Translated into a conditional move by the jump before it: its
            // register holds one of two values.
            self.known.forget_all();
            return Ok(());
        }
        if f.leader[i] {
            let block = self.here(i);
            if self.open {
                self.b.ins().jump(block, &[]);
            }
            self.b.switch_to_block(block);
            self.open = true;
            self.known.forget_all();
        }
        self.insn(i)?;
        self.known.step(self.facts.layout.insn(i));
        Ok(())
    }

    /// Where a jump to instruction `i` goes: its block, in the copy being
    /// emitted for a loop emitted twice, except that a jump to the loop's
    /// head goes round to the other copy's.
    fn block(&mut self, i: Index) -> Block {
        match &self.copy {
            Some(c) if (c.head..=c.end).contains(&i) => {
                let second = c.second != (i == c.head);
                self.copy_block(i, second)
            }
            _ => self.program_block(i),
        }
    }

    /// The block instruction `i` starts in the code being emitted.
    fn here(&mut self, i: Index) -> Block {
        match &self.copy {
            Some(c) if (c.head..=c.end).contains(&i) => {
                let second = c.second;
                self.copy_block(i, second)
            }
            _ => self.program_block(i),
        }
    }

    fn copy_block(&mut self, i: Index, second: bool) -> Block {
        let c = self.copy.as_mut().expect("emitting a copy");
        if !second {
            return self.program_block(i);
        }
        let at = i - c.head;
        match c.blocks[at] {
            Some(b) => b,
            None => {
                let b = self.b.create_block();
                c.blocks[at] = Some(b);
                b
            }
        }
    }

    fn program_block(&mut self, i: Index) -> Block {
        match self.blocks[i] {
            Some(b) => b,
            None => {
                let b = self.b.create_block();
                self.blocks[i] = Some(b);
                b
            }
        }
    }

    fn get(&mut self, r: Reg) -> Value {
        self.b.use_var(self.regs[r.index()])
    }

    fn set(&mut self, r: Reg, v: Value) {
        self.b.def_var(self.regs[r.index()], v);
    }

    /// Register `r` as a value of type `ty` (its low bits for I32).
    fn get_as(&mut self, r: Reg, ty: Type) -> Value {
        let v = self.get(r);
        if ty == I64 {
            v
        } else {
            self.b.ins().ireduce(ty, v)
        }
    }

    /// The second operand of an ALU or jump instruction as a `ty` value: a
    /// register, or the immediate sign-extended to 64 bits (truncated to 32).
    fn operand(&mut self, src: Source, ty: Type) -> Value {
        match src {
            Source::Reg(r) => self.get_as(r, ty),
            Source::Imm(imm) => self.constant(ty, imm as i64),
        }
    }

    /// The constant `v` as a `ty` value, blinded if the program is
    /// compiled with [`Blinding`].
    fn constant(&mut self, ty: Type, v: i64) -> Value {
        let Some((key, k)) = self.blinding else {
            return alu::iconst(&mut self.b, ty, v);
        };
        let key = if ty == I64 {
            key
        } else {
            self.b.ins().ireduce(ty, key)
        };
        let masked = alu::iconst(&mut self.b, ty, v ^ k as i64);
        self.b.ins().bxor(masked, key)
    }

    fn insn(&mut self, i: Index) -> Result<(), Untranslatable> {
        let layout = self.facts.layout;
        let pc = layout.slot(i);
        match layout.insn(i) {
            Insn::Alu {
                width,
                op,
                dst,
                src,
            } => {
                let v = match (width, op, src) {
                    // A 32-bit copy of a zero-extended value is the value.
                    (Width::W32, AluOp::Mov, Source::Reg(r))
                        if r != Reg::R10 && self.zero_extended[i] & 1 << r.index() != 0 =>
                    {
                        self.get(r)
                    }
                    _ => self.alu(width, op, dst, src),
                };
                self.set(dst, v);
            }
            Insn::Neg { width, dst } => {
                let ty = ty_of(width);
                let a = self.get_as(dst, ty);
                let r = self.b.ins().ineg(a);
                let r = alu::widen(&mut self.b, r);
                self.set(dst, r);
            }
            Insn::Endian { op, bits, dst } => {
                let v = self.get(dst);
                let r = alu::endian(&mut self.b, op, bits, v);
                self.set(dst, r);
            }
            Insn::Jump {
                width,
                cond,
                dst,
                src,
                ..
            } => {
                if let Some(switch) = self.switches.remove(&i) {
                    self.switch(&switch);
                    return Ok(());
                }
                let target = self.target(i)?;
                let c = self.condition(width, cond, dst, src);
                if let Some(skipped) = self.conditional_moves(i, target) {
                    self.translate_conditional_moves(c, skipped)?;
                    return Ok(());
                }
                let taken = self.block(target);
                let next = self.block(i + 1);
                if taken == next {
                    self.b.ins().jump(next, &[]);
                } else if self.leaves_loop(i, target) {
                    // Leaving a loop: the exit is the rare way, so it goes
                    // through a stub laid out after the hot code. Without
                    // it, the moves the exit's block parameters need are
                    // placed right after the branch, which then has to jump
                    // over them into the loop body on every iteration.
                    let exit = self.b.create_block();
                    self.b.set_cold_block(exit);
                    self.b.ins().brif(c, exit, &[], next, &[]);
                    self.b.switch_to_block(exit);
                    self.b.ins().jump(taken, &[]);
                } else {
                    if self.cold_fall_through[i] {
                        // Staying in the loop is the taken way: the code
                        // that leaves it goes after the hot code, so the
                        // branch falls through into the loop instead.
                        self.b.set_cold_block(next);
                    }
                    self.b.ins().brif(c, taken, &[], next, &[]);
                }
                self.open = false;
            }
            Insn::Ja { .. } | Insn::JaLong { .. } => {
                let target = self.target(i)?;
                let block = self.block(target);
                self.b.ins().jump(block, &[]);
                self.open = false;
            }
            Insn::Load {
                size,
                sign_extend,
                dst,
                src: Reg::R10,
                off,
            } if self.stack.as_ref().is_some_and(|s| s.holds(off, size)) => {
                let stack = self.stack.as_ref().expect("checked");
                let v = stack
                    .load(&mut self.b, size, sign_extend, off)
                    .ok_or(Untranslatable {
                        pc,
                        what: "a stack access outside the slots found",
                    })?;
                self.set(dst, v);
            }
            Insn::Store {
                size,
                dst: Reg::R10,
                off,
                src,
            } if self.stack.as_ref().is_some_and(|s| s.holds(off, size)) => {
                let v = self.operand(src, I64);
                let stack = self.stack.as_ref().expect("checked");
                if !stack.store(&mut self.b, i, size, off, v) {
                    return Err(Untranslatable {
                        pc,
                        what: "a stack access outside the slots found",
                    });
                }
            }
            Insn::Load {
                size,
                sign_extend,
                dst,
                src,
                off,
            } => {
                let base = self.get(src);
                let off = off as i32;
                let ins = self.b.ins();
                let v = match (size, sign_extend) {
                    (MemSize::B, false) => ins.uload8(I64, MEM, base, off),
                    (MemSize::H, false) => ins.uload16(I64, MEM, base, off),
                    (MemSize::W, false) => ins.uload32(MEM, base, off),
                    (MemSize::DW, _) => ins.load(I64, MEM, base, off),
                    (MemSize::B, true) => ins.sload8(I64, MEM, base, off),
                    (MemSize::H, true) => ins.sload16(I64, MEM, base, off),
                    (MemSize::W, true) => ins.sload32(MEM, base, off),
                };
                self.set(dst, v);
            }
            Insn::Store {
                size,
                dst,
                off,
                src,
            } => {
                let base = self.get(dst);
                let v = self.operand(src, I64);
                let off = off as i32;
                let ins = self.b.ins();
                match size {
                    MemSize::B => ins.istore8(MEM, v, base, off),
                    MemSize::H => ins.istore16(MEM, v, base, off),
                    MemSize::W => ins.istore32(MEM, v, base, off),
                    MemSize::DW => ins.store(MEM, v, base, off),
                };
            }
            Insn::Atomic {
                size,
                op,
                dst,
                src,
                off,
            } => self.atomic(size, op, dst, src, off),
            Insn::LdImm64 { dst, value } => {
                let v = match value {
                    LdImm64::Imm(v) => v,
                    // The interpreter's handle: tag plus the function's
                    // instruction index, which `call_function` resolves.
                    LdImm64::Func(_) => FUNC_REF_TAG | self.target(i)? as u64,
                    _ => {
                        return Err(Untranslatable {
                            pc,
                            what: "an unresolved LD_IMM64 reference",
                        })
                    }
                };
                let v = self.constant(I64, v as i64);
                self.set(dst, v);
            }
            Insn::LdAbs { size, imm } => {
                let off = alu::iconst(&mut self.b, I32, imm as i64);
                self.packet_load(size, off, pc);
            }
            Insn::LdInd { size, src, imm } => {
                let base = self.get_as(src, I32);
                let off = self.b.ins().iadd_imm_s(base, imm as i64);
                self.packet_load(size, off, pc);
            }
            Insn::Call(CallTarget::Helper(id)) => {
                let slot = self.facts.helper_slot[i];
                // Map helpers on a known map are compiled without the helper.
                if !self.map_call(id) {
                    match self.facts.helpers[slot as usize].native {
                        Some(native) => self.call_native(native),
                        None => {
                            let site = (pc as u64) << 32 | slot as u64;
                            let site = self.b.ins().iconst(I64, site as i64);
                            let f = helpers::call_helper as *const () as usize;
                            self.call_rust(self.sigs.helper, f, &[site]);
                        }
                    }
                }
            }
            Insn::CallX { dst } => {
                let pc = self.b.ins().iconst(I64, pc as i64);
                let id = self.get(dst);
                let f = helpers::call_helper_by_id as *const () as usize;
                self.call_rust(self.sigs.helper_by_id, f, &[pc, id]);
            }
            Insn::Call(CallTarget::Local(_)) => self.call_local(i, pc)?,
            Insn::Call(CallTarget::Kfunc { .. }) => {
                return Err(Untranslatable {
                    pc,
                    what: "a kernel function call",
                })
            }
            Insn::Exit => {
                let r0 = self.get(Reg::R0);
                self.b.ins().return_(&[r0]);
                self.open = false;
            }
        }
        Ok(())
    }

    /// The instructions a forward jump at `i` to `target` skips, if they
    /// can run as conditional moves instead: at most two ALU instructions
    /// that nothing else jumps to, with no division (whose zero check
    /// would cost more than the branch) and no write to `r10`. Running them
    /// unconditionally is harmless (they only compute registers), and
    /// selecting their results by the jump's condition replaces a branch
    /// that data decides, which mispredicts, with `cmov`s.
    fn conditional_moves(&self, i: Index, target: Index) -> Option<std::ops::Range<Index>> {
        if target <= i + 1 || target > i + 3 || self.blinding.is_some() {
            return None;
        }
        let layout = self.facts.layout;
        let skipped = i + 1..target;
        let movable = skipped.clone().all(|j| {
            !self.jumped_to[j]
                && matches!(
                    layout.insn(j),
                    Insn::Alu { op, dst, .. } if dst != Reg::R10
                        && !matches!(op, AluOp::Div | AluOp::Sdiv | AluOp::Mod | AluOp::Smod)
                )
        });
        movable.then_some(skipped)
    }

    /// Translates `skipped` unconditionally, then keeps each register they
    /// define at its old value where the jump's condition `c` holds.
    fn translate_conditional_moves(
        &mut self,
        c: Value,
        skipped: std::ops::Range<Index>,
    ) -> Result<(), Untranslatable> {
        let layout = self.facts.layout;
        let mut old = Vec::new();
        for j in skipped.clone() {
            if let Insn::Alu { dst, .. } = layout.insn(j) {
                if !old.iter().any(|&(r, _)| r == dst) {
                    old.push((dst, self.get(dst)));
                }
            }
        }
        for j in skipped {
            self.insn(j)?;
            self.converted[j] = true;
        }
        for (r, before) in old {
            let after = self.get(r);
            let v = self.b.ins().select(c, before, after);
            self.set(r, v);
        }
        Ok(())
    }

    /// Jumps through a table to where the tree of jumps `switch` replaces
    /// would go.
    fn switch(&mut self, switch: &Switch) {
        let ty = ty_of(switch.width);
        let v = self.get_as(switch.reg, ty);
        let index = if switch.low == 0 {
            v
        } else {
            self.b.ins().iadd_imm_s(v, switch.low.wrapping_neg() as i64)
        };
        let default = self.block(switch.default);
        // `br_table` takes a 32-bit index: a 64-bit one is range-checked
        // first (the table's own check then never fails).
        let index = if ty == I64 {
            let inside =
                self.b
                    .ins()
                    .icmp_imm_u(IntCC::UnsignedLessThan, index, switch.table.len() as i64);
            let table = self.b.create_block();
            self.b.ins().brif(inside, table, &[], default, &[]);
            self.b.switch_to_block(table);
            self.b.ins().ireduce(I32, index)
        } else {
            index
        };
        let default = self.b.func.dfg.block_call(default, &[]);
        let entries: Vec<_> = switch
            .table
            .iter()
            .map(|&t| {
                let block = self.block(t);
                self.b.func.dfg.block_call(block, &[])
            })
            .collect();
        let table = self
            .b
            .create_jump_table(JumpTableData::new(default, &entries));
        self.b.ins().br_table(index, table);
        self.open = false;
    }

    fn leaves_loop(&self, i: Index, target: Index) -> bool {
        leaves_loop(&self.loops, &self.component, i, target)
    }

    fn target(&self, i: Index) -> Result<Index, Untranslatable> {
        self.facts.layout.targets[i].ok_or(Untranslatable {
            pc: self.facts.layout.slot(i),
            what: "a branch outside the program",
        })
    }

    fn alu(&mut self, width: Width, op: AluOp, dst: Reg, src: Source) -> Value {
        let ty = ty_of(width);
        let b = self.operand(src, ty);
        // A known divisor spares the division its zero test; a blinded one
        // is not known to the code generator.
        let imm = match src {
            Source::Imm(imm) if self.blinding.is_none() => Some(imm as i64),
            _ => None,
        };
        let r = match op {
            AluOp::Mov => b,
            AluOp::MovSx8 | AluOp::MovSx16 => {
                let narrow = if op == AluOp::MovSx8 { I8 } else { I16 };
                let n = self.b.ins().ireduce(narrow, b);
                self.b.ins().sextend(ty, n)
            }
            AluOp::MovSx32 if ty == I64 => {
                let n = self.b.ins().ireduce(I32, b);
                self.b.ins().sextend(I64, n)
            }
            // Sign-extending 32 bits into 32 bits is a plain 32-bit move, as
            // in the interpreter (no encoding has it).
            AluOp::MovSx32 => b,
            _ => {
                let a = self.get_as(dst, ty);
                let ins = self.b.ins();
                match op {
                    AluOp::Add => ins.iadd(a, b),
                    AluOp::Sub => ins.isub(a, b),
                    AluOp::Mul => alu::mul(&mut self.b, a, b),
                    AluOp::Or => wide_loads::or(&mut self.b, a, b, MEM),
                    AluOp::And => ins.band(a, b),
                    AluOp::Xor => ins.bxor(a, b),
                    // Cranelift masks shift amounts to the operand width, as
                    // BPF does.
                    AluOp::Lsh => ins.ishl(a, b),
                    AluOp::Rsh => ins.ushr(a, b),
                    AluOp::Arsh => ins.sshr(a, b),
                    AluOp::Div => alu::div(&mut self.b, alu::DivKind::Div, a, b, imm),
                    AluOp::Sdiv => alu::div(&mut self.b, alu::DivKind::Sdiv, a, b, imm),
                    AluOp::Mod => alu::div(&mut self.b, alu::DivKind::Mod, a, b, imm),
                    AluOp::Smod => alu::div(&mut self.b, alu::DivKind::Smod, a, b, imm),
                    AluOp::Mov | AluOp::MovSx8 | AluOp::MovSx16 | AluOp::MovSx32 => b,
                }
            }
        };
        alu::widen(&mut self.b, r)
    }

    fn condition(&mut self, width: Width, cond: JmpCond, dst: Reg, src: Source) -> Value {
        let ty = ty_of(width);
        let a = self.get_as(dst, ty);
        let b = self.operand(src, ty);
        let cc = match cond {
            JmpCond::Set => {
                let both = self.b.ins().band(a, b);
                return self.b.ins().icmp_imm_s(IntCC::NotEqual, both, 0);
            }
            JmpCond::Eq => IntCC::Equal,
            JmpCond::Ne => IntCC::NotEqual,
            JmpCond::Gt => IntCC::UnsignedGreaterThan,
            JmpCond::Ge => IntCC::UnsignedGreaterThanOrEqual,
            JmpCond::Lt => IntCC::UnsignedLessThan,
            JmpCond::Le => IntCC::UnsignedLessThanOrEqual,
            JmpCond::Sgt => IntCC::SignedGreaterThan,
            JmpCond::Sge => IntCC::SignedGreaterThanOrEqual,
            JmpCond::Slt => IntCC::SignedLessThan,
            JmpCond::Sle => IntCC::SignedLessThanOrEqual,
        };
        self.b.ins().icmp(cc, a, b)
    }

    fn atomic(&mut self, size: MemSize, op: AtomicOp, dst: Reg, src: Reg, off: i16) {
        let ty = if size == MemSize::DW { I64 } else { I32 };
        let base = self.get(dst);
        let addr = self.b.ins().iadd_imm_s(base, off as i64);
        let x = self.get_as(src, ty);
        let (rmw, fetch) = match op {
            AtomicOp::Add { fetch } => (AtomicRmwOp::Add, fetch),
            AtomicOp::Or { fetch } => (AtomicRmwOp::Or, fetch),
            AtomicOp::And { fetch } => (AtomicRmwOp::And, fetch),
            AtomicOp::Xor { fetch } => (AtomicRmwOp::Xor, fetch),
            AtomicOp::Xchg => (AtomicRmwOp::Xchg, true),
            AtomicOp::Cmpxchg => {
                let expected = self.get_as(Reg::R0, ty);
                let old = self.b.ins().atomic_cas(MEM, addr, expected, x);
                let old = alu::widen(&mut self.b, old);
                self.set(Reg::R0, old);
                return;
            }
        };
        let old = self.b.ins().atomic_rmw(ty, MEM, rmw, addr, x);
        if fetch {
            let old = alu::widen(&mut self.b, old);
            self.set(src, old);
        }
    }

    /// LD_ABS/LD_IND: `r0` = the big-endian value at offset `off` (an i32)
    /// of the packet, or the program ends with 0 if it lies outside.
    fn packet_load(&mut self, size: MemSize, off: Value, pc: usize) {
        let ty = match size {
            MemSize::B => I8,
            MemSize::H => I16,
            // The interpreter reads a word for anything else (the decoder
            // admits no double-word form).
            _ => I32,
        };
        let bytes = ty.bytes() as i64;
        let off = self.b.ins().sextend(I64, off);
        let len = self.b.ins().load(I64, CTX, self.ctx, offsets::PACKET_LEN);
        let negative = self.b.ins().icmp_imm_s(IntCC::SignedLessThan, off, 0);
        let end = self.b.ins().iadd_imm_s(off, bytes);
        let past = self.b.ins().icmp(IntCC::UnsignedGreaterThan, end, len);
        let outside = self.b.ins().bor(negative, past);
        let (fail, ok) = (self.b.create_block(), self.b.create_block());
        self.b.set_cold_block(fail);
        self.b.ins().brif(outside, fail, &[], ok, &[]);
        self.b.switch_to_block(fail);
        self.stop(fault::PACKET, pc);
        self.b.switch_to_block(ok);
        let start = self.b.ins().load(I64, CTX, self.ctx, offsets::PACKET_START);
        let addr = self.b.ins().iadd(start, off);
        let v = self.b.ins().load(ty, MEM, addr, 0);
        let v = if ty != I8 && cfg!(target_endian = "little") {
            self.b.ins().bswap(v)
        } else {
            v
        };
        let v = self.b.ins().uextend(I64, v);
        self.set(Reg::R0, v);
    }

    /// Calls a Rust trampoline at address `f` with the context, `extra`
    /// arguments, and `r1`..`r5`; `r0` gets its result, and the program
    /// stops here if the call stopped it.
    fn call_rust(&mut self, sig: SigRef, f: usize, extra: &[Value]) {
        let mut args = vec![self.ctx];
        args.extend_from_slice(extra);
        for r in [Reg::R1, Reg::R2, Reg::R3, Reg::R4, Reg::R5] {
            args.push(self.get(r));
        }
        let callee = self.b.ins().iconst(I64, f as i64);
        let call = self.b.ins().call_indirect(sig, callee, &args);
        let r0 = self.b.inst_results(call)[0];
        self.set(Reg::R0, r0);
        self.check_status();
    }

    /// A helper call through the helper's direct entry point, as Linux's
    /// JIT calls helpers: `r1`..`r5` in, `r0` out, and nothing that can
    /// stop the program, so no status check after it.
    fn call_native(&mut self, native: NativeHelper) {
        let args: Vec<Value> = [Reg::R1, Reg::R2, Reg::R3, Reg::R4, Reg::R5]
            .into_iter()
            .map(|r| self.get(r))
            .collect();
        let callee = self.b.ins().iconst(I64, native as usize as i64);
        let call = self.b.ins().call_indirect(self.sigs.native, callee, &args);
        let r0 = self.b.inst_results(call)[0];
        self.set(Reg::R0, r0);
    }

    /// Returns at once if the run's status says the program stopped.
    fn check_status(&mut self) {
        let status = self.b.ins().load(I64, CTX, self.ctx, offsets::STATUS);
        let go_on = self.b.create_block();
        self.b.ins().brif(status, self.bail, &[], go_on, &[]);
        self.b.switch_to_block(go_on);
    }

    /// Records a fault (see [`helpers::fault()`]) and returns: ends the block.
    fn stop(&mut self, code: u64, pc: usize) {
        let code = self.b.ins().iconst(I64, code as i64);
        let pc = self.b.ins().iconst(I64, pc as i64);
        let f = helpers::fault as *const () as usize;
        let callee = self.b.ins().iconst(I64, f as i64);
        self.b
            .ins()
            .call_indirect(self.sigs.fault, callee, &[self.ctx, code, pc]);
        self.b.ins().jump(self.bail, &[]);
    }

    /// A bpf-to-bpf call: the callee runs on the next 512-byte frame below
    /// this function's, gets `r1`..`r5` and returns `r0`; `r6`..`r9` are this
    /// function's variables, untouched by the call, and `r10` is restored.
    fn call_local(&mut self, i: Index, pc: usize) -> Result<(), Untranslatable> {
        let target = self.target(i)?;
        let callee_fp = self.b.ins().iadd_imm_s(self.frame_fp, -(STACK_SIZE as i64));
        if self.facts.check_depth {
            let min_fp = self.b.ins().load(I64, CTX, self.ctx, offsets::MIN_FP);
            let too_deep = self
                .b
                .ins()
                .icmp(IntCC::UnsignedLessThan, callee_fp, min_fp);
            let (fail, ok) = (self.b.create_block(), self.b.create_block());
            self.b.set_cold_block(fail);
            self.b.ins().brif(too_deep, fail, &[], ok, &[]);
            self.b.switch_to_block(fail);
            self.stop(fault::CALL_DEPTH, pc);
            self.b.switch_to_block(ok);
        }
        let Some(&callee) = self.callees.get(&target) else {
            // A call to just past the last instruction: the interpreter
            // enters its `FellOff` sentinel.
            self.stop(fault::FELL_OFF, self.facts.layout.end_slot);
            let dead = self.b.create_block();
            self.b.switch_to_block(dead);
            return Ok(());
        };
        let mut args = vec![self.ctx, callee_fp];
        for r in [Reg::R1, Reg::R2, Reg::R3, Reg::R4, Reg::R5] {
            args.push(self.get(r));
        }
        let call = self.b.ins().call(callee, &args);
        let r0 = self.b.inst_results(call)[0];
        self.set(Reg::R0, r0);
        self.set(Reg::R10, self.frame_fp);
        if (self.facts.may_stop)(target) {
            self.check_status();
        }
        Ok(())
    }
}

fn ty_of(width: Width) -> Type {
    match width {
        Width::W64 => I64,
        Width::W32 => I32,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::functions::testing::with_first_function;

    /// A backward jump is a loop only if its target can reach it again:
    /// clang's jumps back to return code shared between paths are not.
    #[test]
    fn loops_are_cycles_not_backward_jumps() {
        let src = "mov %r0, 0\n\
                   jeq %r1, 0, +3\n\
                   add %r0, 1\n\
                   jne %r0, 10, -2\n\
                   ja +2\n\
                   mov %r0, 7\n\
                   exit\n\
                   add %r0, 2\n\
                   ja -4";
        with_first_function(src, |layout, f| {
            let component = strongly_connected(layout, f);
            assert_eq!(loop_spans(layout, f, &component), vec![(2, 3)]);
        });
    }

    /// A loop with two backward jumps (the loop's own, and a `continue`
    /// that jumps back to its increment) has two overlapping spans; its own
    /// backward jump leaves neither, and its exit leaves it.
    #[test]
    fn backward_jumps_to_the_head_stay_in_the_loop() {
        let src = "mov %r6, 0\n\
                   mov %r4, 0\n\
                   jeq %r6, 30, +7\n\
                   jeq %r4, 0, +4\n\
                   sub %r4, 1\n\
                   add %r6, 1\n\
                   jne %r6, 40, -5\n\
                   ja +2\n\
                   mov %r4, 3\n\
                   ja -5\n\
                   exit";
        let (loops, component) = with_first_function(src, |layout, f| {
            let component = strongly_connected(layout, f);
            (loop_spans(layout, f, &component), component)
        });
        assert_eq!(loops, vec![(2, 6), (5, 9)]);
        assert!(!leaves_loop(&loops, &component, 6, 2));
        assert!(!leaves_loop(&loops, &component, 9, 5));
        assert!(leaves_loop(&loops, &component, 2, 10));
        assert!(leaves_loop(&loops, &component, 7, 10));
    }
}
