//! The Waggle verifier: proves eBPF programs safe before they run, the way
//! Linux's verifier does, and explains clearly when it cannot.
//!
//! [`verify`] follows every path of a program from its entry with an
//! abstract state — what each register and stack byte may hold — depth
//! first, forking at conditional jumps, and stops a path when it exits, when
//! an already explored state covers it (pruning), or when it breaks a rule.
//!
//! [`verify_with_facts`] does the same and also returns [`Facts`]: per
//! instruction, the registers it reads that hold known constants or
//! zero-extended 32-bit values on every execution, the region its memory
//! access is proven to stay inside, and which instructions no path reaches
//! — what a JIT needs to emit no checks.
//!
//! # What is checked
//!
//! - Registers: every read is of an initialised register; `r10` is never
//!   written; after a call `r1`-`r5` are unset.
//! - Numbers: each scalar is a tnum (known bits) with unsigned and signed
//!   bounds of its 64 bits and of its low 32, refined by every conditional
//!   jump; copies share an id so a check on one refines them all.
//! - Memory: stack accesses inside the 512-byte frame, aligned, reading only
//!   written bytes (spilled registers are tracked, whole or as 1/2/4-byte
//!   scalars); context fields by program type (offset, size, alignment,
//!   writability); packet data only within bytes proven by a comparison with
//!   `data_end` (in both orders, every unsigned operator, through copies);
//!   map values within `value_size`, respecting read-only maps; ring buffer
//!   records within their reserved size; atomics aligned and only on stack,
//!   map values and records. Contexts: `struct xdp_md` (whole 4-byte
//!   fields), `struct __sk_buff` (TC, socket filters), and a kprobe's
//!   `struct pt_regs` (read-only); immediate stores (`BPF_ST`) are checked
//!   like register stores.
//! - Pointer arithmetic: 64-bit addition and subtraction of numbers on
//!   stack, packet, map value and record pointers (a context pointer moved
//!   by anything can no longer be dereferenced; none on map pointers,
//!   function references and `data_end`); pointer differences only within a
//!   region; no other operation on pointers (a 32-bit move or subtraction, a
//!   negation or a byte swap turns a pointer into a number, as Linux allows
//!   privileged programs; see Privilege).
//! - Comparisons: NULL checks refine every copy of a nullable pointer;
//!   pointers are compared only within a region or with numbers (only in
//!   NULL and packet bounds checks without `allow_ptr_leaks`).
//! - Helpers: a prototype table (maps, keys and values of the map's sizes,
//!   memory with its size argument, the context, constant allocation sizes,
//!   ring buffer records) with the program types and map types each allows;
//!   helpers that move packet data invalidate packet pointers. An array
//!   lookup with a constant key below `max_entries` cannot fail (as Linux
//!   6.14). A lookup in a map of maps gives the inner map (its template's
//!   definition), or NULL.
//! - Callbacks: `bpf_loop` and `bpf_for_each_map_elem` take a function
//!   reference (LD_IMM64 `BPF_PSEUDO_FUNC`); the callback is verified in its
//!   own frame with its arguments (`bpf_loop`: the index, the context;
//!   `bpf_for_each_map_elem`: the map, a read-only key, the value, the
//!   context), returns 0 or 1, releases what it acquires, and returns to the
//!   helper call, which may call it again: exploration goes round until the
//!   callsite's state covers what the callback does (numbers widened to
//!   their hull, then to unknown).
//! - References: every ring buffer record reserved is submitted or discarded
//!   on every path; none is held across a tail call; a callback releases
//!   only what it acquired.
//! - Calls: bpf-to-bpf calls verified in the caller's context with their own
//!   frames (at most 8, no recursion, combined stack at most 512 bytes);
//!   tail calls.
//! - Termination: loops are followed until they end; a path that returns to
//!   an instruction in the same state is an infinite loop; exploration is
//!   bounded by [`VerifyOptions::max_insns`].
//! - Structure: every instruction decodes and is reachable; jumps stay in
//!   their function; no function falls off its end.
//!
//! # Privilege
//!
//! By default Waggle verifies as Linux does for a privileged loader
//! (`CAP_BPF`, `CAP_PERFMON`, whose verifier runs with `allow_ptr_leaks`):
//! pointers may become numbers. A 32-bit copy or subtraction, a negation
//! or a byte swap of a pointer is a number made of its address; pointers
//! into one region may be subtracted and compared with each other and with
//! any number; a pointer may be stored into a map value, packet data, the
//! context or a ring buffer record, passed to a helper as a number, and a
//! spilled pointer partly overwritten and its other bytes read as a number.
//!
//! With [`VerifyOptions::allow_ptr_leaks`] off, Waggle applies Linux's
//! rules for a loader without `allow_ptr_leaks` instead: no address ever
//! becomes a number the program (or whoever reads its maps and output) can
//! see. Every operation above is rejected as [`ErrorKind::PointerLeak`]
//! (Linux: `R%d 32-bit pointer arithmetic prohibited`, `R%d partial copy of
//! pointer`, `R%d pointer arithmetic prohibited`, `R%d pointer -= pointer
//! prohibited`, `R%d pointer comparison prohibited`, `R%d leaks addr into
//! map` / `mem` / `ctx` / `packet` / `helper function`, `attempt to corrupt
//! spilled pointer on stack`, `spilled ptr in range of var-offset stack
//! write`, `invalid indirect read from stack`). What remains: 64-bit copies
//! of pointers and 64-bit addition and subtraction of numbers; comparisons
//! of a pointer only in a NULL check (64-bit `==`/`!=` against 0, of a
//! pointer that may be NULL or is known not to be) or a packet bounds check
//! (`<`, `<=`, `>`, `>=` of a packet pointer and data_end, or of a metadata
//! pointer and data); pointers stored only to the stack, whole, and read
//! back whole; helper arguments that take any value (flags, indices,
//! `bpf_loop`'s count, what `bpf_trace_printk` prints) take no pointer, and
//! stack memory passed to a helper holds no spilled pointer. Linux's other
//! rules for unprivileged loaders (Spectre masking, the program types and
//! helpers they may use) are not applied in either mode.
//!
//! In both modes Waggle is stricter than privileged Linux in three ways: no
//! read of a stack byte never written, no comparison or subtraction of
//! pointers into different regions, no pointer as a program's return
//! value; and it rejects a loop around a `bpf_loop` call that never ends,
//! which Linux prunes.
//!
//! # Not checked yet (reported as [`ErrorKind::Unsupported`])
//!
//! Other callback helpers (timers, `bpf_user_ringbuf_drain`, ...), kfuncs,
//! BTF-typed pointers, spin locks, maps of maps of maps, helpers outside the
//! prototype table, context accesses of program types other than XDP, TC,
//! socket filters and kprobes, and reading map pointers' fields.

// A verification returns one error, once; `VerifyError` carries the whole
// diagnostic by value, as the API promises.
#![allow(clippy::result_large_err)]

mod error;
mod facts;
mod helpers;
mod liveness;
mod precision;
mod scalar;
mod state;
mod taint;
mod tnum;
mod verifier;

pub use error::{ErrorKind, PathEvent, PathStep, RegisterNote, SourceLocation, VerifyError};
pub use facts::{AccessFact, Facts, InsnFacts, RegFact, Region};
pub use verifier::{verify, verify_with_facts, VerifyOptions, VerifyStats};
