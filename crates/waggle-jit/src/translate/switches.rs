//! `switch` statements, recovered from the trees of jumps clang compiles
//! them into.
//!
//! BPF has no indirect jump, so clang compiles a C `switch` for BPF into a
//! binary search: jumps that compare one register with constants
//! (`if w7 s> 3`, `if w7 s> 1`, `if w7 == 0`, ...). A state machine then
//! pays three or four data-dependent branches per step, where the same
//! switch compiled for x86 costs one bounds check and one indirect jump
//! through a table. This module finds such trees and describes each as a
//! table from the register's value to the instruction the tree would reach;
//! the translator emits it as Cranelift's `br_table`.
//!
//! A tree is a conditional jump (the root) whose taken and fall-through
//! successors are, after any chain of plain `goto`s, either leaves or again
//! blocks made of nothing but a conditional jump on the same register, of
//! the same width, against a constant. Since nothing in the tree changes a
//! register, jumping from the root straight to the leaf the tree would
//! reach is the same program. The tree's outcome only changes where some
//! comparison changes, so it is constant between the points `c` and `c + 1`
//! of its constants (and `0` and the sign boundary, for signed
//! comparisons); evaluating it once per such interval gives the exact map
//! from every value of the register to a leaf. The table covers the
//! shortest cyclic range of values outside which every value goes to one
//! leaf, the default.

use super::{Function, Index, Layout};
use std::collections::HashMap;
use waggle_isa::{Insn, JmpCond, Reg, Source, Width};

/// Fewest distinct leaves, besides the default, that make a table worth its
/// bounds check and indirect jump (LLVM's threshold for jump tables, too):
/// with fewer, a couple of compares is as quick.
const MIN_CASES: usize = 4;
/// Most entries in a table.
const MAX_TABLE: u64 = 256;
/// Most conditional jumps in one tree.
const MAX_NODES: usize = 64;

/// A recovered switch: jump to `table[value - low]` (wrapping at the
/// width) if that is in the table, else to `default`.
#[derive(Debug, PartialEq, Eq)]
pub(super) struct Switch {
    pub reg: Reg,
    pub width: Width,
    pub low: u64,
    pub table: Vec<Index>,
    pub default: Index,
}

impl Switch {
    /// Every instruction the switch jumps to.
    pub fn leaves(&self) -> impl Iterator<Item = Index> + '_ {
        self.table.iter().copied().chain([self.default])
    }
}

/// The switches of `f`, by the instruction of their root jump. A jump that
/// lies inside an earlier root's tree (of at least [`MIN_CASES`] jumps) is
/// not itself a root.
pub(super) fn switches(layout: &Layout<'_>, f: &Function) -> HashMap<Index, Switch> {
    let mut found = HashMap::new();
    let mut inside = vec![false; layout.len()];
    for &i in &f.body {
        if inside[i] {
            continue;
        }
        let Some(tree) = Tree::rooted_at(layout, f, i) else {
            continue;
        };
        // A tree big enough to look at is looked at once, from its root,
        // whether it becomes a table or not: trying each of its nodes as a
        // root again would cost the square of its size per tree.
        if tree.nodes.len() >= MIN_CASES {
            for &node in tree.nodes.keys() {
                inside[node] = true;
            }
        }
        if let Some(switch) = tree.switch() {
            found.insert(i, switch);
        }
    }
    found
}

/// One comparison of a tree and where it leads (after `goto` chains).
#[derive(Clone, Copy)]
struct Node {
    cond: JmpCond,
    /// The constant, as a value of the tree's width.
    constant: u64,
    taken: Index,
    fall: Index,
}

struct Tree {
    reg: Reg,
    width: Width,
    root: Index,
    nodes: HashMap<Index, Node>,
}

impl Tree {
    fn rooted_at(layout: &Layout<'_>, f: &Function, root: Index) -> Option<Tree> {
        let Insn::Jump {
            width, dst: reg, ..
        } = layout.insn(root)
        else {
            return None;
        };
        let mut tree = Tree {
            reg,
            width,
            root,
            nodes: HashMap::new(),
        };
        let mut work = vec![root];
        while let Some(at) = work.pop() {
            if tree.nodes.contains_key(&at) {
                continue;
            }
            if tree.nodes.len() == MAX_NODES {
                return None;
            }
            let node = tree.node(layout, f, at)?;
            tree.nodes.insert(at, node);
            for next in [node.taken, node.fall] {
                // A block that is nothing but a comparison of the same
                // register is part of the tree; anything else is a leaf.
                if next < layout.len() && f.leader[next] && tree.node(layout, f, next).is_some() {
                    work.push(next);
                }
            }
        }
        Some(tree)
    }

    /// The comparison at `at`, if it compares the tree's register at its
    /// width with a constant.
    fn node(&self, layout: &Layout<'_>, f: &Function, at: Index) -> Option<Node> {
        let Insn::Jump {
            width,
            cond,
            dst,
            src: Source::Imm(imm),
            ..
        } = layout.insn(at)
        else {
            return None;
        };
        if width != self.width || dst != self.reg || cond == JmpCond::Set {
            return None;
        }
        let constant = match width {
            Width::W64 => imm as i64 as u64,
            Width::W32 => imm as u32 as u64,
        };
        Some(Node {
            cond,
            constant,
            taken: through_gotos(layout, f, layout.targets[at]?),
            fall: through_gotos(layout, f, at + 1),
        })
    }

    /// The leaf the tree reaches for `value`, or `None` if it would loop.
    fn leaf(&self, value: u64) -> Option<Index> {
        let mut at = self.root;
        for _ in 0..=self.nodes.len() {
            let node = self.nodes[&at];
            let taken = match self.width {
                Width::W64 => node.cond.eval64(value, node.constant),
                Width::W32 => node.cond.eval32(value as u32, node.constant as u32),
            };
            at = if taken { node.taken } else { node.fall };
            if !self.nodes.contains_key(&at) {
                return Some(at);
            }
        }
        None
    }

    /// The tree as a table, if it is worth one.
    fn switch(&self) -> Option<Switch> {
        if self.nodes.len() < MIN_CASES {
            return None;
        }
        let bits = match self.width {
            Width::W64 => 64,
            Width::W32 => 32,
        };
        let span: u128 = 1 << bits;
        let mask = (span - 1) as u64;
        // Where the outcome may change: each constant and the value after
        // it, and where signed order wraps.
        let mut starts = vec![0, 1 << (bits - 1)];
        for node in self.nodes.values() {
            starts.push(node.constant);
            starts.push(node.constant.wrapping_add(1) & mask);
        }
        starts.sort_unstable();
        starts.dedup();
        // The intervals [start, next start) with the leaf of each.
        let mut intervals = Vec::with_capacity(starts.len());
        for (k, &start) in starts.iter().enumerate() {
            let end = starts.get(k + 1).map_or(span, |&s| s as u128);
            intervals.push((start, end - start as u128, self.leaf(start)?));
        }
        let (default, low, size) = cheapest_default(&intervals, span)?;
        if size > MAX_TABLE as u128 {
            return None;
        }
        let table: Vec<Index> = (0..size as u64)
            .map(|k| self.leaf(low.wrapping_add(k) & mask))
            .collect::<Option<_>>()?;
        let mut cases: Vec<Index> = table.iter().copied().filter(|&t| t != default).collect();
        cases.sort_unstable();
        cases.dedup();
        (cases.len() >= MIN_CASES).then_some(Switch {
            reg: self.reg,
            width: self.width,
            low,
            table,
            default,
        })
    }
}

/// Follows `goto`s from `at` (at most a few, so a loop of them ends).
fn through_gotos(layout: &Layout<'_>, f: &Function, mut at: Index) -> Index {
    for _ in 0..8 {
        match (
            (at < layout.len()).then(|| layout.insn(at)),
            layout.targets.get(at),
        ) {
            (Some(Insn::Ja { .. } | Insn::JaLong { .. }), Some(&Some(next))) if f.leader[at] => {
                at = next
            }
            _ => break,
        }
    }
    at
}

/// The default leaf that leaves the smallest table, with the table's first
/// value and size: the values outside the table are the longest cyclic run
/// of intervals going to the default. `intervals` are (start, length, leaf)
/// in order, covering `0..span`.
fn cheapest_default(intervals: &[(u64, u128, Index)], span: u128) -> Option<(Index, u64, u128)> {
    let mut leaves: Vec<Index> = intervals.iter().map(|&(_, _, leaf)| leaf).collect();
    leaves.sort_unstable();
    leaves.dedup();
    let n = intervals.len();
    let mut best: Option<(Index, u64, u128)> = None;
    for &default in &leaves {
        // The longest run of default intervals, going around once more to
        // join a run at the end with one at the start.
        let (mut run, mut run_start) = (0u128, 0usize);
        let (mut longest, mut longest_end) = (0u128, None);
        for k in 0..2 * n {
            let (_, len, leaf) = intervals[k % n];
            if leaf == default {
                if run == 0 {
                    run_start = k;
                }
                run += len;
                if run > longest && k - run_start < n {
                    (longest, longest_end) = (run, Some(k));
                }
            } else {
                run = 0;
            }
        }
        let Some(end) = longest_end else { continue };
        if longest == span {
            // Every value goes to the default: no switch at all.
            continue;
        }
        let (low, _, _) = intervals[(end + 1) % n];
        let size = span - longest;
        if best.is_none_or(|(_, _, s)| size < s) {
            best = Some((default, low, size));
        }
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::functions::testing::with_first_function;

    fn switches_of(src: &str) -> HashMap<Index, Switch> {
        with_first_function(src, switches)
    }

    /// The dispatch of a state machine with states 0..=4, as clang lays it
    /// out: a binary search on signed comparisons, then equalities, with
    /// `goto`s to the shared default.
    #[test]
    fn a_binary_search_on_one_register_becomes_a_table() {
        let src = "jsgt32 %r7, 1, +3\n\
                   jeq32 %r7, 0, +8\n\
                   jeq32 %r7, 1, +9\n\
                   ja +4\n\
                   jeq32 %r7, 2, +9\n\
                   jeq32 %r7, 3, +10\n\
                   jeq32 %r7, 4, +11\n\
                   ja +0\n\
                   mov %r0, 9\n\
                   exit\n\
                   mov %r0, 10\n\
                   exit\n\
                   mov %r0, 11\n\
                   exit\n\
                   mov %r0, 12\n\
                   exit\n\
                   mov %r0, 13\n\
                   exit\n\
                   mov %r0, 14\n\
                   exit";
        let found = switches_of(src);
        assert_eq!(found.len(), 1, "{found:?}");
        let switch = &found[&0];
        assert_eq!(switch.reg, Reg::R7);
        assert_eq!(switch.width, Width::W32);
        assert_eq!(switch.low, 0);
        // Values 0..=4 go to 10, 12, 14, 16, 18; everything else, through
        // the `goto` at 7, to 8.
        assert_eq!(switch.table, vec![10, 12, 14, 16, 18]);
        assert_eq!(switch.default, 8);
        // Every value agrees with running the jumps.
        let tree = with_first_function(src, |layout, f| Tree::rooted_at(layout, f, 0)).unwrap();
        for v in [
            0u64,
            1,
            2,
            3,
            4,
            5,
            6,
            0x7fff_ffff,
            0x8000_0000,
            0xffff_ffff,
        ] {
            let via_table = usize::try_from(v.wrapping_sub(switch.low) & 0xffff_ffff)
                .ok()
                .and_then(|k| switch.table.get(k).copied())
                .unwrap_or(switch.default);
            assert_eq!(Some(via_table), tree.leaf(v), "value {v:#x}");
        }
    }

    /// A chain of `jeq` on `(register, constant)`, each to its own case
    /// (`r0 = k + 1; exit`), after a default case (`r0 = 0; exit`): with `n`
    /// compares, the default is at `n` and case `k` at `n + 2 + 2k`.
    fn chain(compares: &[(&str, i32)]) -> String {
        let n = compares.len();
        let mut src = String::new();
        for (i, (reg, value)) in compares.iter().enumerate() {
            let off = n + 2 + 2 * i - i - 1;
            src += &format!("jeq %{reg}, {value}, +{off}\n");
        }
        for k in 0..=n {
            src += &format!("mov %r0, {k}\nexit\n");
        }
        src
    }

    /// Negative cases: the table wraps around zero.
    #[test]
    fn tables_wrap_around_zero() {
        let src = chain(&[("r1", -2), ("r1", -1), ("r1", 0), ("r1", 1), ("r1", 2)]);
        let found = switches_of(&src);
        let switch = &found[&0];
        assert_eq!(switch.width, Width::W64);
        assert_eq!(switch.low, -2i64 as u64);
        assert_eq!(switch.table, vec![7, 9, 11, 13, 15]);
        assert_eq!(switch.default, 5);
    }

    /// Three cases are quicker as compares; a comparison of another
    /// register ends the tree.
    #[test]
    fn small_or_mixed_trees_stay_jumps() {
        assert!(switches_of(&chain(&[("r1", 1), ("r1", 2), ("r1", 3)])).is_empty());
        let mixed = chain(&[("r1", 1), ("r1", 2), ("r2", 3), ("r1", 4)]);
        assert!(switches_of(&mixed).is_empty());
    }

    /// Values far apart make no table.
    #[test]
    fn sparse_cases_stay_jumps() {
        let src = chain(&[
            ("r1", 1),
            ("r1", 1000),
            ("r1", 2000),
            ("r1", 3000),
            ("r1", 4000),
        ]);
        assert!(switches_of(&src).is_empty());
    }
}
