//! Control: `bpf_tail_call`, `bpf_loop`, `bpf_spin_lock`/`bpf_spin_unlock`.
//!
//! A failed tail call returns `-ENOENT` and the program goes on, as in Linux
//! (where the value of `r0` after a failed tail call is not defined). Spin
//! locks use `waggle_maps`'s lock word protocol, shared with `BPF_F_LOCK`
//! map operations; Linux's verifier lets a program hold one lock at a time
//! and forbids ending with it held, so Waggle stops a run that locks twice
//! or unlocks a lock it does not hold, and releases a lock a run left held
//! when it ends.

use super::{errno, map_at, neg, refused, HelperState};
use crate::env::env;
use waggle_maps::ProgArray;
use waggle_vm::{HelperContext, HelperResult, Interrupt};

/// Linux's `MAX_TAIL_CALL_CNT`: tail calls in one chain.
pub(crate) const MAX_TAIL_CALLS: u32 = 33;
/// Linux's `BPF_MAX_LOOPS`.
pub(crate) const MAX_LOOPS: u64 = 1 << 23;

/// `bpf_tail_call(ctx, prog_array, index)`: continues in the program at
/// `index`, or returns `-ENOENT` if there is none or the chain already made
/// 33 tail calls.
pub(crate) fn tail_call(cx: &mut HelperContext<'_>, a: [u64; 5]) -> HelperResult {
    let map = map_at(cx, a[1])?;
    let Some(progs) = map.as_any().downcast_ref::<ProgArray>() else {
        return Err(refused(format_args!(
            "bpf_tail_call on {} map {}",
            map.spec().map_type.name(),
            map.spec().name
        )));
    };
    let Some(id) = progs.get(a[2] as u32) else {
        return Ok(neg(errno::ENOENT));
    };
    if cx.tail_calls() >= MAX_TAIL_CALLS {
        return Ok(neg(errno::ENOENT));
    }
    let shared = env(cx)?.shared.clone();
    let programs = shared.programs.read().unwrap_or_else(|e| e.into_inner());
    match programs.get(id as usize) {
        Some(prog) => Err(Interrupt::TailCall(prog.clone())),
        None => Ok(neg(errno::ENOENT)),
    }
}

/// `bpf_loop(nr_loops, callback, ctx, flags)`: calls `callback(i, ctx)` for
/// i = 0.. until it returns non-zero; returns the number of calls made,
/// `-EINVAL` for flags other than 0, `-E2BIG` past 2^23 iterations.
pub(crate) fn bpf_loop(cx: &mut HelperContext<'_>, a: [u64; 5]) -> HelperResult {
    let [nr_loops, callback, ctx, flags, _] = a;
    let nr_loops = u64::from(nr_loops as u32);
    if flags != 0 {
        return Ok(neg(errno::EINVAL));
    }
    if nr_loops > MAX_LOOPS {
        return Ok(neg(errno::E2BIG));
    }
    for i in 0..nr_loops {
        if cx.call_function(callback, [i, ctx, 0, 0, 0])? != 0 {
            return Ok(i + 1);
        }
    }
    Ok(nr_loops)
}

/// The lock word at `addr`, checked: 4 bytes the program may write, aligned.
fn lock_word(cx: &mut HelperContext<'_>, addr: u64) -> Result<*mut u32, Interrupt> {
    let word = cx.write(addr, 4)?.as_mut_ptr();
    if addr % 4 != 0 {
        return Err(refused(format_args!(
            "bpf_spin_lock at unaligned {addr:#x}"
        )));
    }
    Ok(word.cast())
}

/// A lock a run holds.
#[derive(Clone, Copy)]
pub(crate) struct HeldLock {
    addr: u64,
    /// Whether the word is known to outlive the run, so that
    /// [`release_lock`] may release it: always for verified (unchecked)
    /// programs, whose locks Linux's verifier keeps in map values; in checked
    /// mode only for words inside a map value the run looked up (a checked
    /// program could lock a word on its stack, gone when the run ends).
    release_at_end: bool,
}

/// `bpf_spin_lock(lock)`.
pub(crate) fn spin_lock(cx: &mut HelperContext<'_>, a: [u64; 5]) -> HelperResult {
    let addr = a[0];
    let word = lock_word(cx, addr)?;
    let checked = cx.is_checked();
    let state = &mut env(cx)?.helper_state;
    if let Some(held) = state.held_lock {
        return Err(refused(format_args!(
            "bpf_spin_lock of {addr:#x} while holding {:#x}",
            held.addr
        )));
    }
    let in_map_value = state
        .map_values
        .iter()
        .any(|&(start, end)| addr >= start && addr.saturating_add(4) <= end);
    // SAFETY: `word` is 4 aligned bytes of the program's memory (a map
    // value's lock field), valid for the run and, being a lock word, only
    // accessed atomically.
    unsafe { waggle_maps::spin_lock(word) };
    state.held_lock = Some(HeldLock {
        addr,
        release_at_end: !checked || in_map_value,
    });
    Ok(0)
}

/// `bpf_spin_unlock(lock)`.
pub(crate) fn spin_unlock(cx: &mut HelperContext<'_>, a: [u64; 5]) -> HelperResult {
    let word = lock_word(cx, a[0])?;
    let state = &mut env(cx)?.helper_state;
    if state.held_lock.map(|h| h.addr) != Some(a[0]) {
        return Err(refused(format_args!(
            "bpf_spin_unlock of {:#x}, which the program does not hold",
            a[0]
        )));
    }
    state.held_lock = None;
    // SAFETY: as in `spin_lock`; this run holds the lock.
    unsafe { waggle_maps::spin_unlock(word) };
    Ok(0)
}

/// Releases the lock a run left held, if its word is known to be valid
/// still (see [`HeldLock`]); otherwise it stays held.
pub(crate) fn release_lock(state: &mut HelperState) {
    if let Some(held) = state.held_lock.take() {
        if held.release_at_end {
            // SAFETY: the word lies in a map value, which lives as long as
            // its map, which the run's `Shared` holds.
            unsafe { waggle_maps::spin_unlock(held.addr as *mut u32) };
        }
    }
    state.map_values.clear();
}
