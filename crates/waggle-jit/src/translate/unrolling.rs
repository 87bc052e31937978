//! Which loops the translator emits twice.
//!
//! A small loop such as `for (i = 0; i < n; i++) { if (p + i + 1 > end)
//! break; sum += p[i]; }` costs a taken jump back to its head on every
//! iteration besides its work, and on x86-64 a core takes at most one or
//! two jumps per cycle. Emitted twice, with the first copy's backward jump
//! going to the second copy's head (laid out right after it, so the jump
//! becomes a fall-through) and the second's back to the first, the loop
//! takes one backward jump per two iterations; every test of the body stays
//! in both copies, so the program is the same. Cranelift's SSA construction
//! from the BPF registers joins the copies' values wherever they meet (the
//! heads and the exits), so the translator only has to send jumps to the
//! right copy (`Translator::block`).
//!
//! Only innermost loops that are one contiguous range of instructions,
//! entered at their first instruction and closed by a jump at their last,
//! of [`MIN_INSNS`] to [`MAX_INSNS`] instructions, with no call (whose cost would hide the
//! jump's) and no jump table.

use super::{Function, Index, Layout};
use std::collections::HashMap;
use waggle_isa::Insn;

/// The longest loop body emitted twice, in instructions: the loops whose
/// backward jump is a noticeable part of an iteration.
const MAX_INSNS: usize = 16;
/// The shortest: in a loop of two or three instructions (a counter and one
/// operation), Cranelift's optimiser merges the two copies' counter updates
/// into `i + 1` and `i + 2`, which keeps the old and the new counter alive
/// and costs a move and two more instructions per two iterations than the
/// loop emitted once (`count_loop`, three instructions: 1250 ns twice
/// against 925 once, runs interleaved).
const MIN_INSNS: usize = 4;

/// The loops of `f` to emit twice: the last instruction of each by its
/// first. `component` is each instruction's strongly connected component,
/// `entered` where control enters one from another
/// (`super::entered_from_outside`), `switch_roots` the instructions that
/// become jump tables.
pub(super) fn loops_to_unroll(
    layout: &Layout<'_>,
    f: &Function,
    component: &[usize],
    entered: &[bool],
    switch_roots: &dyn Fn(Index) -> bool,
) -> HashMap<Index, Index> {
    let mut members: HashMap<usize, Vec<Index>> = HashMap::new();
    for &i in &f.body {
        members.entry(component[i]).or_default().push(i);
    }
    // Where a jump goes (calls and function references are no jumps).
    let jump = |i: Index| match layout.insn(i) {
        Insn::Jump { .. } | Insn::Ja { .. } | Insn::JaLong { .. } => layout.targets[i],
        _ => None,
    };
    let mut found = HashMap::new();
    for body in members.values() {
        // `f.body` is ascending, so each component's list is too.
        let (head, end) = (body[0], body[body.len() - 1]);
        if !(MIN_INSNS..=MAX_INSNS).contains(&body.len()) || end - head + 1 != body.len() {
            continue;
        }
        let closes = jump(end) == Some(head);
        let simple = (head..=end).all(|i| {
            let backward_to_head_only = jump(i).is_none_or(|t| t > i || t == head);
            let plain = !matches!(
                layout.insn(i),
                Insn::Call(_) | Insn::CallX { .. } | Insn::LdAbs { .. } | Insn::LdInd { .. }
            );
            backward_to_head_only && plain && !switch_roots(i)
        });
        // Entered only at the head: nothing outside jumps into the body
        // (the body is exactly its component).
        let one_entry = !(head + 1..=end).any(|t| entered[t]);
        if closes && simple && one_entry {
            found.insert(head, end);
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::functions::testing::with_first_function;
    use crate::translate::{entered_from_outside, strongly_connected};

    fn unrolled(src: &str) -> Vec<(Index, Index)> {
        let mut found: Vec<_> = with_first_function(src, |layout, f| {
            let component = strongly_connected(layout, f);
            let entered = entered_from_outside(layout, f, &component);
            loops_to_unroll(layout, f, &component, &entered, &|_| false)
        })
        .into_iter()
        .collect();
        found.sort_unstable();
        found
    }

    #[test]
    fn small_simple_loops_are_unrolled() {
        // A sum with a break: entered at 2, closed by the `ja` at 7.
        let sum = "mov %r0, 0\n\
                   mov %r2, 0\n\
                   jge %r2, 10, +5\n\
                   mov %r3, %r1\n\
                   add %r3, %r2\n\
                   ldxb %r3, [%r3]\n\
                   add %r0, %r3\n\
                   ja -6\n\
                   exit";
        // (The loop never advances r2; only its shape matters here.)
        assert_eq!(unrolled(sum), vec![(2, 7)]);
    }

    #[test]
    fn loops_with_calls_second_entries_or_inner_loops_or_tiny_ones_are_not() {
        let call = "mov %r6, 0\n\
                    call 5\n\
                    add %r7, 1\n\
                    add %r6, 1\n\
                    jne %r6, 4, -4\n\
                    exit";
        assert_eq!(unrolled(call), vec![]);
        // The jump at 1 enters the loop (2..=5) at 5.
        let second_entry = "mov %r0, 0\n\
                            jeq %r1, 0, +3\n\
                            mov %r0, 1\n\
                            add %r7, 1\n\
                            add %r0, 1\n\
                            jne %r0, 9, -4\n\
                            exit";
        assert_eq!(unrolled(second_entry), vec![]);
        // Three instructions: a counter and one operation.
        let tiny = "mov %r0, 0\n\
                    mov %r1, 0\n\
                    add %r0, %r1\n\
                    add %r1, 1\n\
                    jlt %r1, 3000, -3\n\
                    exit";
        assert_eq!(unrolled(tiny), vec![]);
        // An inner loop (3..=4) inside the outer one (1..=6): neither is
        // one contiguous innermost loop closed at its end.
        let nested = "mov %r6, 0\n\
                      mov %r7, 0\n\
                      mov %r8, 0\n\
                      add %r8, 1\n\
                      jne %r8, 3, -2\n\
                      add %r6, 1\n\
                      jne %r6, 3, -6\n\
                      exit";
        assert_eq!(unrolled(nested), vec![]);
    }
}
