//! The optimisation pipeline between translation and code generation:
//! Cranelift's e-graph pass, then the JIT's own corrections to what it
//! leaves.
//!
//! The module's ISA is built with `opt_level=none` ([`crate::program::flags`]),
//! so that `define_function` lowers the IR as [`optimize`] leaves it instead
//! of running the e-graph pass again over the corrections.

use cranelift_codegen::control::ControlPlane;
use cranelift_codegen::ir::condcodes::IntCC;
use cranelift_codegen::ir::{Function, Inst, InstructionData, Opcode, Value, ValueDef};
use cranelift_codegen::isa::TargetIsa;
use cranelift_codegen::{CodegenResult, Context};
use std::collections::HashSet;

/// Runs Cranelift's mid-end (unreachable code removal, constant block
/// parameters, the e-graph: GVN, LICM, constant folding, alias analysis,
/// algebraic rewrites) over `ctx.func`, then [`restore_counter_compares`].
pub(crate) fn optimize(ctx: &mut Context, isa: &dyn TargetIsa) -> CodegenResult<()> {
    ctx.compute_cfg();
    ctx.compute_domtree();
    ctx.eliminate_unreachable_code(isa)?;
    ctx.remove_constant_phis(isa)?;
    ctx.func.dfg.resolve_all_aliases();
    ctx.egraph_pass(isa, &mut ControlPlane::default())?;
    restore_counter_compares(&mut ctx.func);
    Ok(())
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
            let Some(k) = constant(func, k) else { continue };
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
    match (opcode, constant(func, a), constant(func, b)) {
        (Opcode::Iadd, None, Some(c)) => Some((a, c)),
        (Opcode::Iadd, Some(c), None) => Some((b, c)),
        (Opcode::Isub, None, Some(c)) => Some((a, c.wrapping_neg())),
        _ => None,
    }
}

/// The value of `v` if an `iconst` defines it.
fn constant(func: &Function, v: Value) -> Option<i64> {
    let ValueDef::Result(inst, _) = func.dfg.value_def(func.dfg.resolve_aliases(v)) else {
        return None;
    };
    match func.dfg.insts[inst] {
        InstructionData::UnaryImm {
            opcode: Opcode::Iconst,
            imm,
        } => Some(imm.bits()),
        _ => None,
    }
}
