//! Which BPF functions a program has, which instructions each one runs, and
//! what their calls can do: the structure the translator needs before it
//! emits any code.
//!
//! Each BPF function (the program's entry, every bpf-to-bpf call target, and
//! every function reference a callback helper may receive) becomes one
//! Cranelift function. Its body is everything reachable from its entry along
//! jumps and fall-through, without following calls: exactly the instructions
//! the interpreter can execute in that frame, even for code that jumps across
//! function boundaries (the verifier forbids it; the interpreter runs it, so
//! the JIT does too, duplicating the shared code).

use waggle_isa::{CallTarget, Insn, LdImm64};
use waggle_vm::MAX_CALL_FRAMES;

/// Instruction indices (op indices: one per instruction, LD_IMM64 included
/// once), as the interpreter numbers them, so function references loaded by
/// LD_IMM64 carry the same values in both engines.
pub(crate) type Index = usize;

/// The program's control-flow facts, resolved from slot offsets to
/// instruction indices.
pub(crate) struct Layout<'a> {
    pub insns: &'a [(usize, Insn)],
    /// Slot index of the slot after the last instruction (the interpreter
    /// reports running off the end there).
    pub end_slot: usize,
    /// Branch, call or function-reference target of each instruction.
    pub targets: Vec<Option<Index>>,
}

impl<'a> Layout<'a> {
    /// `insns` as [`waggle_isa::decode_program`] returns them: every target
    /// lands on an instruction start or just past the end.
    pub fn new(insns: &'a [(usize, Insn)]) -> Layout<'a> {
        let (last_pc, last) = insns.last().map_or((0, None), |&(pc, i)| (pc, Some(i)));
        let end_slot = last_pc + last.map_or(0, |i| i.slots());
        let mut index_of_slot = vec![usize::MAX; end_slot + 1];
        for (i, &(pc, _)) in insns.iter().enumerate() {
            index_of_slot[pc] = i;
        }
        index_of_slot[end_slot] = insns.len();
        let targets = insns
            .iter()
            .map(|&(pc, insn)| {
                let off = insn.branch_offset()?;
                let slot = usize::try_from(pc as i64 + 1 + off).ok()?;
                index_of_slot
                    .get(slot)
                    .copied()
                    .filter(|&i| i != usize::MAX)
            })
            .collect();
        Layout {
            insns,
            end_slot,
            targets,
        }
    }

    pub fn len(&self) -> usize {
        self.insns.len()
    }

    pub fn insn(&self, i: Index) -> Insn {
        self.insns[i].1
    }

    /// Slot index of instruction `i`, as errors report it.
    pub fn slot(&self, i: Index) -> usize {
        self.insns[i].0
    }

    /// Where control may go after instruction `i` inside its function
    /// (`len()` stands for "past the end"). Calls return, so they fall through.
    pub fn successors(&self, i: Index) -> impl Iterator<Item = Index> {
        let (jump, fall) = match self.insn(i) {
            Insn::Exit => (None, false),
            Insn::Ja { .. } | Insn::JaLong { .. } => (self.targets[i], false),
            Insn::Jump { .. } => (self.targets[i], true),
            _ => (None, true),
        };
        jump.into_iter().chain(fall.then_some(i + 1))
    }

    /// Function entries: the program's start, call targets, function
    /// references; sorted, no duplicates (the interpreter's `func_entries`).
    pub fn function_entries(&self) -> Vec<Index> {
        let mut entries = vec![0];
        for (i, &(_, insn)) in self.insns.iter().enumerate() {
            if let Insn::Call(CallTarget::Local(_))
            | Insn::LdImm64 {
                value: LdImm64::Func(_),
                ..
            } = insn
            {
                entries.extend(self.targets[i].filter(|&t| t < self.len()));
            }
        }
        entries.sort_unstable();
        entries.dedup();
        entries
    }
}

/// One BPF function's body.
pub(crate) struct Function {
    pub entry: Index,
    /// Instructions the function can execute, ascending.
    pub body: Vec<Index>,
    /// Whether an instruction of `body` starts a basic block.
    pub leader: Vec<bool>,
    /// Whether a jump of `body` goes to an instruction (not only the
    /// instruction before it falling through).
    pub jumped_to: Vec<bool>,
    /// Entries of the functions this one calls.
    pub callees: Vec<Index>,
    /// Whether running this function can stop the whole program (a helper
    /// call, a packet load, running off the end, a call that can): calls to
    /// it are followed by a status check only if so.
    pub may_stop: bool,
}

impl Function {
    fn discover(layout: &Layout<'_>, entry: Index) -> Function {
        let n = layout.len();
        let mut reached = vec![false; n + 1];
        let mut is_target = vec![false; n + 1];
        let mut work = vec![entry];
        reached[entry] = true;
        while let Some(i) = work.pop() {
            if i == n {
                continue;
            }
            let jumps = matches!(
                layout.insn(i),
                Insn::Jump { .. } | Insn::Ja { .. } | Insn::JaLong { .. }
            );
            for s in layout.successors(i) {
                if jumps && Some(s) == layout.targets[i] {
                    is_target[s] = true;
                }
                if !reached[s] {
                    reached[s] = true;
                    work.push(s);
                }
            }
        }
        let body: Vec<Index> = (0..n).filter(|&i| reached[i]).collect();
        let mut leader = vec![false; n];
        let mut callees = Vec::new();
        let mut may_stop = reached[n];
        for &i in &body {
            let after_branch = i > 0
                && reached[i - 1]
                && matches!(
                    layout.insn(i - 1),
                    Insn::Jump { .. } | Insn::Ja { .. } | Insn::JaLong { .. } | Insn::Exit
                );
            leader[i] = i == entry || is_target[i] || i == 0 || !reached[i - 1] || after_branch;
            match layout.insn(i) {
                Insn::Call(CallTarget::Local(_)) => match layout.targets[i] {
                    Some(t) if t < n => callees.push(t),
                    // A call to just past the end runs off the end.
                    _ => may_stop = true,
                },
                Insn::Call(_) | Insn::CallX { .. } | Insn::LdAbs { .. } | Insn::LdInd { .. } => {
                    may_stop = true
                }
                _ => {}
            }
        }
        callees.sort_unstable();
        callees.dedup();
        Function {
            entry,
            body,
            leader,
            jumped_to: is_target,
            callees,
            may_stop,
        }
    }
}

/// Every function of a program, and whether calls need a depth check.
pub(crate) struct Functions {
    pub list: Vec<Function>,
    /// Whether some chain of calls can go deeper than [`MAX_CALL_FRAMES`]
    /// (recursion, or a static chain that deep): then every local call checks
    /// the depth at run time, as the interpreter does; otherwise none needs to.
    pub check_depth: bool,
}

impl Functions {
    pub fn discover(layout: &Layout<'_>) -> Functions {
        let mut list: Vec<Function> = layout
            .function_entries()
            .into_iter()
            .map(|e| Function::discover(layout, e))
            .collect();
        // Callees by position in `list` (every call target below the end is
        // a function entry, so none is dropped).
        let calls: Vec<Vec<usize>> = list
            .iter()
            .map(|f| {
                f.callees
                    .iter()
                    .filter_map(|&c| list.binary_search_by_key(&c, |g| g.entry).ok())
                    .collect()
            })
            .collect();
        // A call can stop the program if its callee can: propagate to a fixed
        // point (the call graph may have cycles).
        let mut changed = true;
        while changed {
            changed = false;
            for f in 0..list.len() {
                if !list[f].may_stop && calls[f].iter().any(|&c| list[c].may_stop) {
                    list[f].may_stop = true;
                    changed = true;
                }
            }
        }
        // Frames each function needs, itself included, by rounds that only
        // raise them: after round k every value is at least min(true depth,
        // k + 1), and a cycle keeps raising its members, so MAX_CALL_FRAMES + 1
        // rounds tell whether any chain needs more frames than there are.
        let mut frames = vec![1usize; list.len()];
        for _ in 0..=MAX_CALL_FRAMES {
            let mut changed = false;
            for f in 0..list.len() {
                let need = 1 + calls[f].iter().map(|&c| frames[c]).max().unwrap_or(0);
                if need > frames[f] {
                    frames[f] = need;
                    changed = true;
                }
            }
            if !changed {
                break;
            }
        }
        let check_depth = frames.iter().any(|&d| d > MAX_CALL_FRAMES);
        if check_depth {
            // A depth check can fail in any function that calls.
            for f in &mut list {
                if !f.callees.is_empty() {
                    f.may_stop = true;
                }
            }
        }
        Functions { list, check_depth }
    }

    /// Position in `list` of the function starting at `entry`.
    pub fn position(&self, entry: Index) -> Option<usize> {
        self.list.binary_search_by_key(&entry, |f| f.entry).ok()
    }
}

/// Unit tests' programs, in uBPF assembly.
#[cfg(test)]
pub(crate) mod testing {
    use super::{Function, Functions, Layout};
    use waggle_isa::{assemble, decode_program, encode_program, Syntax};

    /// `check` applied to the layout and first function of the program
    /// `src`.
    pub(crate) fn with_first_function<R>(
        src: &str,
        check: impl FnOnce(&Layout<'_>, &Function) -> R,
    ) -> R {
        let insns = decode_program(&encode_program(&assemble(src, Syntax::Ubpf).unwrap())).unwrap();
        let layout = Layout::new(&insns);
        let functions = Functions::discover(&layout);
        check(&layout, &functions.list[0])
    }
}
