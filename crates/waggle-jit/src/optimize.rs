//! The optimisation pipeline between translation and code generation:
//! Cranelift's e-graph pass, then the JIT's own corrections to what it
//! leaves.
//!
//! The module's ISA is built with `opt_level=none` ([`crate::program::flags`]),
//! so that `define_function` lowers the IR as [`optimize`] leaves it instead
//! of running the e-graph pass again over the corrections.

use crate::alu;
use cranelift_codegen::control::ControlPlane;
use cranelift_codegen::cursor::{Cursor, FuncCursor};
use cranelift_codegen::ir::condcodes::IntCC;
use cranelift_codegen::ir::{types, InstBuilder, Type};
use cranelift_codegen::ir::{
    Block, Function, Inst, InstructionData, Opcode, SourceLoc, Value, ValueDef,
};
use cranelift_codegen::isa::TargetIsa;
use cranelift_codegen::{CodegenResult, Context};
use std::collections::HashSet;

/// Runs Cranelift's mid-end (unreachable code removal, constant block
/// parameters, the e-graph: GVN, LICM, constant folding, alias analysis,
/// algebraic rewrites) over `ctx.func`, then the JIT's corrections:
/// [`restore_counter_compares`], [`move_unlikely_equalities_out_of_loops`],
/// [`keep_wide_constants_in_registers`] and [`mark_innermost_loop_head`].
pub(crate) fn optimize(ctx: &mut Context, isa: &dyn TargetIsa) -> CodegenResult<()> {
    ctx.compute_cfg();
    ctx.compute_domtree();
    ctx.eliminate_unreachable_code(isa)?;
    ctx.remove_constant_phis(isa)?;
    ctx.func.dfg.resolve_all_aliases();
    ctx.egraph_pass(isa, &mut ControlPlane::default())?;
    restore_counter_compares(&mut ctx.func);
    ctx.compute_loop_analysis();
    move_unlikely_equalities_out_of_loops(ctx);
    keep_wide_constants_in_registers(ctx);
    mark_innermost_loop_head(ctx);
    Ok(())
}

/// How many wide constants a function keeps in registers (each one a
/// register taken from its loops for their whole run).
const MAX_WIDE_CONSTANTS: usize = 4;

/// Computes once, at the function's entry, the 64-bit constants that loops
/// use and that do not fit a sign-extended 32-bit immediate, and the
/// constants that loops select with `select` (a `cmov`, which takes no
/// immediate: CRC's `bit ? poly : 0`).
///
/// x86-64 instructions take at most a 32-bit immediate, so Cranelift
/// lowers `x * 0x9e3779b185ebca87` as a multiply with a memory operand
/// from its constant pool: a load on every use, and a hash loop such as
/// xxhash64's (two constants, eight multiplies per iteration) then issues
/// three times the loads its data needs. aarch64 builds such a constant
/// with up to four instructions per use. An `iconst` is rematerialised at
/// every use, so the entry computes `K | 0` instead: a value like any
/// other, which the register allocator keeps in a register (or spills,
/// when the loop has no register left: then one load per use, as before).
/// Only the constants of loops, most used first, and at most
/// [`MAX_WIDE_CONSTANTS`].
fn keep_wide_constants_in_registers(ctx: &mut Context) {
    let func = &mut ctx.func;
    let Some(entry) = func.layout.entry_block() else {
        return;
    };
    // Each constant (value and type) with its uses: (instruction, operand).
    type Sites = Vec<(Inst, usize)>;
    let mut uses: Vec<(i64, Type, Sites)> = Vec::new();
    for block in func.layout.blocks() {
        if ctx.loop_analysis.innermost_loop(block).is_none() {
            continue;
        }
        for inst in func.layout.block_insts(block) {
            let opcode = func.dfg.insts[inst].opcode();
            if opcode == Opcode::Iconst {
                continue;
            }
            for (k, &arg) in func.dfg.inst_args(inst).iter().enumerate() {
                let Some(c) = alu::constant(&func.dfg, arg) else {
                    continue;
                };
                let ty = func.dfg.value_type(arg);
                let wide = ty == types::I64 && i32::try_from(c).is_err();
                // `cmov` takes no immediate: a constant it selects is read
                // from the constant pool, whatever its size.
                let selected = opcode == Opcode::Select && k > 0 && c != 0;
                if !wide && !selected {
                    continue;
                }
                match uses.iter_mut().find(|(v, t, _)| *v == c && *t == ty) {
                    Some((_, _, sites)) => sites.push((inst, k)),
                    None => uses.push((c, ty, vec![(inst, k)])),
                }
            }
        }
    }
    uses.sort_by_key(|(_, _, sites)| std::cmp::Reverse(sites.len()));
    uses.truncate(MAX_WIDE_CONSTANTS);
    let Some(first) = func.layout.first_inst(entry) else {
        return;
    };
    for (c, ty, sites) in uses {
        let mut cursor = FuncCursor::new(func).at_inst(first);
        let k = cursor.ins().iconst(ty, c);
        let zero = cursor.ins().iconst(ty, 0);
        let kept = cursor.ins().bor(k, zero);
        for (inst, arg) in sites {
            func.dfg.inst_args_mut(inst)[arg] = kept;
        }
    }
}

/// The source location that marks the instructions of the innermost loop's
/// first block (see `loop_alignment.rs`); no other instruction has one.
pub(crate) fn loop_head() -> SourceLoc {
    SourceLoc::new(1)
}

/// Marks the instructions of the head of the most deeply nested loop (the
/// first such loop found) with [`loop_head`], so that the machine
/// code's start can be padded to put it at the start of a cache line.
fn mark_innermost_loop_head(ctx: &mut Context) {
    let loops = &ctx.loop_analysis;
    let mut innermost: Option<(usize, Block)> = None;
    for lp in loops.loops() {
        let head = loops.loop_header(lp);
        let level = loops.loop_level(head).level();
        if innermost.is_none_or(|(deepest, _)| level > deepest) {
            innermost = Some((level, head));
        }
    }
    let Some((_, head)) = innermost else { return };
    let insts: Vec<Inst> = ctx.func.layout.block_insts(head).collect();
    for inst in insts {
        ctx.func.set_srcloc(inst, loop_head());
    }
}

/// Lays out the code a loop runs only when a value equals another after
/// the loop's hot code.
///
/// Cranelift lays out blocks in reverse postorder, which puts every block
/// before its successors, except that cold blocks go last. In a loop such as
/// `for (...) { if (p[i] == 'X') { rare } }`, the rare block then sits
/// between the test and the loop's next block, and every iteration jumps
/// over it. Following Ball and Larus's opcode heuristic (an equality
/// between integers is more often false), the successor on the `==` side
/// of a branch inside a loop is marked cold when the branch is its only way
/// in, with every block reached only from cold blocks; loops' exits are
/// already cold (see `translate.rs`).
fn move_unlikely_equalities_out_of_loops(ctx: &mut Context) {
    let func = &mut ctx.func;
    let mut cold = Vec::new();
    for block in func.layout.blocks() {
        let Some(lp) = ctx.loop_analysis.innermost_loop(block) else {
            continue;
        };
        let Some(last) = func.layout.last_inst(block) else {
            continue;
        };
        let InstructionData::Brif { arg, blocks, .. } = func.dfg.insts[last] else {
            continue;
        };
        let ValueDef::Result(test, _) = func.dfg.value_def(func.dfg.resolve_aliases(arg)) else {
            continue;
        };
        let equal_side = match func.dfg.insts[test] {
            InstructionData::IntCompare {
                cond: IntCC::Equal, ..
            } => 0,
            InstructionData::IntCompare {
                cond: IntCC::NotEqual,
                ..
            } => 1,
            _ => continue,
        };
        let target = blocks[equal_side].block(&func.dfg.value_lists);
        let only_way_in = ctx.cfg.pred_iter(target).count() == 1;
        if only_way_in
            && target != ctx.loop_analysis.loop_header(lp)
            && ctx.loop_analysis.is_in_loop(target, lp)
        {
            cold.push(target);
        }
    }
    if cold.is_empty() {
        return;
    }
    for &block in &cold {
        func.layout.set_cold(block);
    }
    let entry = func.layout.entry_block();
    let blocks: Vec<_> = func.layout.blocks().collect();
    let mut changed = true;
    while changed {
        changed = false;
        for &block in &blocks {
            if func.layout.is_cold(block) || Some(block) == entry {
                continue;
            }
            let mut preds = ctx.cfg.pred_iter(block).peekable();
            if preds.peek().is_some() && preds.all(|p| func.layout.is_cold(p.block)) {
                func.layout.set_cold(block);
                changed = true;
            }
        }
    }
}

/// Compares a loop counter's new value again where Cranelift rewrote the
/// compare to the old one.
///
/// clang ends counted loops with `i += 1; if i != N goto loop`. The e-graph
/// folds the constant into the compare, `if i_old != N - 1`, which keeps the
/// old and the new counter alive at once: x86-64 then computes the new one
/// into a second register and moves it back on the loop's back edge, a move
/// and an extra jump per iteration. Equality is unchanged by adding the same
/// constant to both sides (modulo 2^n), so `x == K` becomes `x + c == K + c`
/// wherever the block computes `x + c` and passes it on to another block
/// (elsewhere the old form costs nothing, and keeps the program's own
/// constant in the compare).
fn restore_counter_compares(func: &mut Function) {
    let carried = escaping(func);
    let mut rewrites = Vec::new();
    for block in func.layout.blocks() {
        // `x + c` computed in this block, by `x`, where the block passes
        // `x + c` on: the next value of something the code carries.
        let mut sums: Vec<(Value, Inst, i64)> = Vec::new();
        for inst in func.layout.block_insts(block) {
            if let Some((x, c)) = add_constant(func, inst) {
                if carried.contains(&func.dfg.first_result(inst)) {
                    sums.push((x, inst, c));
                }
            }
        }
        if sums.is_empty() {
            continue;
        }
        for inst in func.layout.block_insts(block) {
            let InstructionData::IntCompare {
                opcode: Opcode::Icmp,
                cond: IntCC::Equal | IntCC::NotEqual,
                args: [x, k],
            } = func.dfg.insts[inst]
            else {
                continue;
            };
            let x = func.dfg.resolve_aliases(x);
            let Some(k) = alu::constant(&func.dfg, k) else {
                continue;
            };
            if let Some(&(_, sum, c)) = sums.iter().find(|(v, _, _)| *v == x) {
                rewrites.push((inst, sum, k.wrapping_add(c)));
            }
        }
    }
    for (compare, sum, k) in rewrites {
        // The sum may come after the compare in the block: move it (and its
        // constant, if that comes after too) in front. Both are pure, and
        // `x` is defined before the compare, which reads it.
        if func.layout.pp_cmp(sum, compare).is_gt() {
            func.layout.remove_inst(sum);
            func.layout.insert_inst(sum, compare);
            let operands: [Value; 2] = [func.dfg.inst_args(sum)[0], func.dfg.inst_args(sum)[1]];
            for operand in operands {
                if let ValueDef::Result(def, _) = func.dfg.value_def(operand) {
                    if func.layout.inst_block(def) == func.layout.inst_block(sum)
                        && func.layout.pp_cmp(def, sum).is_gt()
                    {
                        func.layout.remove_inst(def);
                        func.layout.insert_inst(def, sum);
                    }
                }
            }
        }
        let new_value = func.dfg.first_result(sum);
        let ty = func.dfg.value_type(new_value);
        let bits = ty.bits();
        let k = if bits == 64 {
            k
        } else {
            k & ((1i64 << bits) - 1)
        };
        let k_inst = func.dfg.make_inst(InstructionData::UnaryImm {
            opcode: Opcode::Iconst,
            imm: k.into(),
        });
        func.dfg.make_inst_results(k_inst, ty);
        func.layout.insert_inst(k_inst, compare);
        let k_value = func.dfg.first_result(k_inst);
        let args = func.dfg.inst_args_mut(compare);
        args[0] = new_value;
        args[1] = k_value;
    }
}

/// The values used outside the block that defines them or passed to a
/// block (a loop passes its next values to its own first block), and the
/// 32-bit values zero-extended to be.
fn escaping(func: &Function) -> HashSet<Value> {
    let dfg = &func.dfg;
    let def_block = |v: Value| match dfg.value_def(v) {
        ValueDef::Result(inst, _) => func.layout.inst_block(inst),
        ValueDef::Param(block, _) => Some(block),
        _ => None,
    };
    let mut values = HashSet::new();
    for block in func.layout.blocks() {
        for inst in func.layout.block_insts(block) {
            let operands = dfg.inst_args(inst).iter().copied();
            let operands = operands.filter(|&v| def_block(dfg.resolve_aliases(v)) != Some(block));
            let passed = dfg.insts[inst]
                .branch_destination(&dfg.jump_tables, &dfg.exception_tables)
                .iter()
                .flat_map(|call| call.args(&dfg.value_lists))
                .filter_map(|arg| arg.as_value());
            for v in operands.chain(passed) {
                let v = dfg.resolve_aliases(v);
                values.insert(v);
                if let ValueDef::Result(def, _) = dfg.value_def(v) {
                    if let InstructionData::Unary {
                        opcode: Opcode::Uextend,
                        arg,
                    } = dfg.insts[def]
                    {
                        values.insert(dfg.resolve_aliases(arg));
                    }
                }
            }
        }
    }
    values
}

/// `(x, c)` if `inst` computes `x + c` with `c` a constant: `iadd` in
/// either order, or `isub x, -c` (the optimiser's form of a negative
/// increment).
fn add_constant(func: &Function, inst: Inst) -> Option<(Value, i64)> {
    let InstructionData::Binary { opcode, args } = func.dfg.insts[inst] else {
        return None;
    };
    let [a, b] = args.map(|v| func.dfg.resolve_aliases(v));
    match (
        opcode,
        alu::constant(&func.dfg, a),
        alu::constant(&func.dfg, b),
    ) {
        (Opcode::Iadd, None, Some(c)) => Some((a, c)),
        (Opcode::Iadd, Some(c), None) => Some((b, c)),
        (Opcode::Isub, None, Some(c)) => Some((a, c.wrapping_neg())),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cranelift_codegen::ir::types::I64;
    use cranelift_codegen::ir::{AbiParam, Block, InstBuilder, MemFlagsData, Signature};
    use cranelift_codegen::isa::CallConv;
    use cranelift_frontend::{FunctionBuilder, FunctionBuilderContext};

    /// `for (i = p; i != 100; i++) if (i <cond> 88) *p = i;` optimised;
    /// returns the function and its blocks: header, the store's block, the
    /// latch.
    fn loop_with_test(cond: IntCC) -> (Context, [Block; 3]) {
        let mut sig = Signature::new(CallConv::SystemV);
        sig.params.push(AbiParam::new(I64));
        let mut ctx = Context::for_function(Function::with_name_signature(Default::default(), sig));
        let mut fctx = FunctionBuilderContext::new();
        let mut b = FunctionBuilder::new(&mut ctx.func, &mut fctx);
        let [entry, head, rare, latch, done] = [(); 5].map(|_| b.create_block());
        b.append_block_params_for_function_params(entry);
        b.append_block_param(head, I64);
        b.switch_to_block(entry);
        let p = b.block_params(entry)[0];
        b.ins().jump(head, &[p.into()]);
        b.switch_to_block(head);
        let i = b.block_params(head)[0];
        let test = b.ins().icmp_imm_s(cond, i, 88);
        b.ins().brif(test, rare, &[], latch, &[]);
        b.switch_to_block(rare);
        b.ins().store(MemFlagsData::trusted(), i, p, 0);
        b.ins().jump(latch, &[]);
        b.switch_to_block(latch);
        close_counted_loop(b, i, head, done);
        optimize_built(&mut ctx);
        (ctx, [head, rare, latch])
    }

    /// Ends the current block with `i + 1 != 100 ? head(i + 1) : done` and
    /// `done` with a return, and finishes the function.
    fn close_counted_loop(mut b: FunctionBuilder<'_>, i: Value, head: Block, done: Block) {
        let next = b.ins().iadd_imm_s(i, 1);
        let more = b.ins().icmp_imm_s(IntCC::NotEqual, next, 100);
        b.ins().brif(more, head, &[next.into()], done, &[]);
        b.switch_to_block(done);
        b.ins().return_(&[]);
        b.seal_all_blocks();
        let isa = crate::program::host_isa().unwrap();
        b.finalize(isa.frontend_config());
    }

    fn optimize_built(ctx: &mut Context) {
        let isa = crate::program::host_isa().unwrap();
        optimize(ctx, &*isa).unwrap();
    }

    #[test]
    fn the_equal_side_of_a_test_in_a_loop_is_laid_out_after_it() {
        let (ctx, [head, rare, latch]) = loop_with_test(IntCC::Equal);
        assert!(ctx.func.layout.is_cold(rare), "{}", ctx.func.display());
        assert!(!ctx.func.layout.is_cold(head) && !ctx.func.layout.is_cold(latch));
        // On the `!=` side, the store is the likely way.
        let (ctx, [_, rare, latch]) = loop_with_test(IntCC::NotEqual);
        assert!(!ctx.func.layout.is_cold(rare), "{}", ctx.func.display());
        assert!(!ctx.func.layout.is_cold(latch));
    }

    #[test]
    fn a_counted_loop_compares_its_new_counter() {
        let (ctx, [_, _, latch]) = loop_with_test(IntCC::Equal);
        let func = &ctx.func;
        let compares: Vec<Inst> = func
            .layout
            .block_insts(latch)
            .filter(|&inst| func.dfg.insts[inst].opcode() == Opcode::Icmp)
            .collect();
        assert_eq!(compares.len(), 1, "{}", func.display());
        let [x, k] = [0, 1].map(|n| func.dfg.inst_args(compares[0])[n]);
        // `i + 1 != 100`, not `i != 99`
        assert_eq!(alu::constant(&func.dfg, k), Some(100), "{}", func.display());
        assert!(add_constant(func, func.dfg.value_def(x).unwrap_inst()).is_some());
    }

    /// `for (i = 0; i != 100; i++) *p = *p * K + 7`: a `K` too wide for an
    /// immediate is computed once at the entry and the loop's multiply
    /// reads that value; the small constant stays an immediate.
    #[test]
    fn loops_read_wide_constants_from_a_value_computed_once() {
        const K: i64 = 0x9e37_79b1_85eb_ca87u64 as i64;
        let mut sig = Signature::new(CallConv::SystemV);
        sig.params.push(AbiParam::new(I64));
        let mut ctx = Context::for_function(Function::with_name_signature(Default::default(), sig));
        let mut fctx = FunctionBuilderContext::new();
        let mut b = FunctionBuilder::new(&mut ctx.func, &mut fctx);
        let [entry, body, done] = [(); 3].map(|_| b.create_block());
        b.append_block_params_for_function_params(entry);
        b.append_block_param(body, I64);
        b.switch_to_block(entry);
        let p = b.block_params(entry)[0];
        let zero = b.ins().iconst(I64, 0);
        b.ins().jump(body, &[zero.into()]);
        b.switch_to_block(body);
        let i = b.block_params(body)[0];
        let x = b.ins().load(I64, MemFlagsData::trusted(), p, 0);
        let k = b.ins().iconst(I64, K);
        let y = b.ins().imul(x, k);
        let y = b.ins().iadd_imm_s(y, 7);
        b.ins().store(MemFlagsData::trusted(), y, p, 0);
        close_counted_loop(b, i, body, done);
        optimize_built(&mut ctx);
        let func = &ctx.func;
        let in_body = |op: Opcode| {
            func.layout
                .block_insts(body)
                .find(|&inst| func.dfg.insts[inst].opcode() == op)
                .unwrap_or_else(|| panic!("no {op} in\n{}", func.display()))
        };
        let factor = func.dfg.inst_args(in_body(Opcode::Imul))[1];
        let def = func.dfg.value_def(factor).unwrap_inst();
        assert_eq!(
            func.dfg.insts[def].opcode(),
            Opcode::Bor,
            "{}",
            func.display()
        );
        assert_eq!(func.layout.inst_block(def), Some(entry));
        let [a, c] = [0, 1].map(|n| alu::constant(&func.dfg, func.dfg.inst_args(def)[n]));
        assert_eq!((a, c), (Some(K), Some(0)));
        // 7 fits an immediate: still an `iconst` where it is used.
        let seven = func.dfg.inst_args(in_body(Opcode::Iadd))[1];
        assert_eq!(
            alu::constant(&func.dfg, seven),
            Some(7),
            "{}",
            func.display()
        );
    }
}
