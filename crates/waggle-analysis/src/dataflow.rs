//! A forward dataflow engine: the state before every instruction, as the join
//! over all paths, iterated to a fixpoint.
//!
//! Interprocedural in the simplest sound way: a function's entry state is the
//! join of the states its call sites pass it ([`Domain::call_entry`]); after a
//! call, the caller continues from its own state at the call with what the
//! call clobbers removed ([`Domain::after_call`]). Callback functions (reached
//! through function references, not calls) start from
//! [`Domain::callback_entry`].

use crate::cfg::{Cfg, Flow};
use std::collections::VecDeque;
use waggle_isa::Insn;

/// An abstract state with a join of finite height.
pub trait Domain: Clone {
    /// The state at the program's first instruction.
    fn program_entry() -> Self;
    /// The state at the first instruction of a callback function.
    fn callback_entry() -> Self;
    /// Joins `other` into `self`; returns whether `self` changed.
    fn join(&mut self, other: &Self) -> bool;
    /// The effect of an instruction other than a local call or exit.
    fn transfer(&mut self, insn: &Insn);
    /// The callee's entry state, given the caller's state at the call.
    fn call_entry(&self) -> Self;
    /// The caller's state after the call returns, from its state at the call.
    fn after_call(&mut self);
}

/// The state before each instruction; `None` where no path reaches.
pub struct Solution<D> {
    pub before: Vec<Option<D>>,
}

/// States and the instructions whose state changed since last visited.
struct Worklist<D> {
    before: Vec<Option<D>>,
    queued: Vec<bool>,
    work: VecDeque<usize>,
}

impl<D: Domain> Worklist<D> {
    /// Joins `state` into the state before `at`, queueing `at` if it grew.
    fn propagate(&mut self, at: usize, state: D) {
        let changed = match &mut self.before[at] {
            Some(existing) => existing.join(&state),
            slot @ None => {
                *slot = Some(state);
                true
            }
        };
        if changed && !self.queued[at] {
            self.queued[at] = true;
            self.work.push_back(at);
        }
    }
}

/// Solves `cfg` for domain `D`.
pub fn solve<D: Domain>(cfg: &Cfg) -> Solution<D> {
    let n = cfg.len();
    let mut w = Worklist {
        before: vec![None; n],
        queued: vec![false; n],
        work: VecDeque::new(),
    };
    if n == 0 {
        return Solution { before: w.before };
    }
    w.propagate(0, D::program_entry());
    for f in callback_functions(cfg) {
        w.propagate(f, D::callback_entry());
    }
    while let Some(i) = w.work.pop_front() {
        w.queued[i] = false;
        let state = w.before[i]
            .clone()
            .expect("queued instructions have a state");
        match cfg.flow(i) {
            Flow::Exit => {}
            Flow::Call(target) => {
                w.propagate(target, state.call_entry());
                if i + 1 < n {
                    let mut after = state;
                    after.after_call();
                    w.propagate(i + 1, after);
                }
            }
            flow => {
                let mut out = state;
                out.transfer(&cfg.insns[i]);
                match flow {
                    Flow::Jump(t) => w.propagate(t, out),
                    Flow::Branch(t) => {
                        if i + 1 < n {
                            w.propagate(i + 1, out.clone());
                        }
                        w.propagate(t, out);
                    }
                    _ if i + 1 < n => w.propagate(i + 1, out),
                    _ => {}
                }
            }
        }
    }
    Solution { before: w.before }
}

/// Functions reached only as callbacks (through function references).
fn callback_functions(cfg: &Cfg) -> Vec<usize> {
    let mut called = vec![false; cfg.len()];
    for i in 0..cfg.len() {
        if let Flow::Call(t) = cfg.flow(i) {
            called[t] = true;
        }
    }
    cfg.functions()
        .into_iter()
        .filter(|&f| f != 0 && !called[f])
        .collect()
}
