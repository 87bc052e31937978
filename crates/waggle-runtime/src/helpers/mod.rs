//! Linux helper functions, by Linux id and with Linux semantics.
//!
//! Each helper is a `fn(&mut HelperContext, [u64; 5]) -> HelperResult`
//! registered under its Linux id and name (`bpf_map_lookup_elem` is 1). They
//! return what Linux returns, negative errnos included; they stop the run
//! with [`Interrupt::Fault`] only for what Linux's verifier would have
//! refused to load (a pointer the program may not pass, a map of the wrong
//! type, a packet helper in a program without a packet).
//!
//! Pointer arguments are read and written through the [`HelperContext`],
//! which bounds-checks them in checked mode. Memory a helper hands to the
//! program (map values, ring buffer records, callback arguments) is granted
//! to the run; memory lent only for a while (a callback's key and value, a
//! ring buffer record until it is submitted) is taken back afterwards by
//! replacing its region (see [`lend`]).
//!
//! Where Waggle departs from Linux, the helper's module says so.
//! `jit_maps.rs` is not a helper: it describes the map helpers' fast path
//! to the JIT, which compiles them without a helper call where it can.

mod control;
mod csum;
mod format;
mod jit_maps;
mod maps;
mod misc;
mod packet;
mod probe;
mod ring;
mod strings;
mod time;
mod trace;

#[cfg(test)]
mod tests;
#[cfg(test)]
mod testutil;

use crate::env::env;
use crate::helper_names::helper_name;
pub(crate) use jit_maps::JitMaps;
use std::sync::Arc;
use waggle_maps::{ArrayOfMaps, HashOfMaps, Map};
use waggle_vm::helpers::{BadPointer, NativeHelper};
use waggle_vm::{HelperContext, HelperRegistry, HelperResult, Interrupt, Region};

pub(crate) use misc::seed_prandom;

/// Every helper Waggle provides.
pub(crate) fn registry() -> HelperRegistry {
    type H = fn(&mut HelperContext<'_>, [u64; 5]) -> HelperResult;
    let helpers: &[(&str, H)] = &[
        // Maps.
        ("bpf_map_lookup_elem", maps::lookup_elem),
        ("bpf_map_update_elem", maps::update_elem),
        ("bpf_map_delete_elem", maps::delete_elem),
        ("bpf_map_push_elem", maps::push_elem),
        ("bpf_map_pop_elem", maps::pop_elem),
        ("bpf_map_peek_elem", maps::peek_elem),
        ("bpf_for_each_map_elem", maps::for_each_map_elem),
        // The running thread.
        ("bpf_get_smp_processor_id", misc::get_smp_processor_id),
        ("bpf_get_current_comm", misc::get_current_comm),
        // Output.
        ("bpf_trace_printk", trace::trace_printk),
        ("bpf_trace_vprintk", trace::trace_vprintk),
        ("bpf_snprintf", trace::snprintf),
        ("bpf_perf_event_output", ring::perf_event_output),
        ("bpf_ringbuf_output", ring::ringbuf_output),
        ("bpf_ringbuf_reserve", ring::ringbuf_reserve),
        ("bpf_ringbuf_submit", ring::ringbuf_submit),
        ("bpf_ringbuf_discard", ring::ringbuf_discard),
        ("bpf_ringbuf_query", ring::ringbuf_query),
        // Reading memory.
        ("bpf_probe_read", probe::probe_read),
        ("bpf_probe_read_user", probe::probe_read),
        ("bpf_probe_read_kernel", probe::probe_read),
        ("bpf_probe_read_str", probe::probe_read_str),
        ("bpf_probe_read_user_str", probe::probe_read_str),
        ("bpf_probe_read_kernel_str", probe::probe_read_str),
        // Strings.
        ("bpf_strncmp", strings::strncmp),
        ("bpf_strtol", strings::strtol),
        ("bpf_strtoul", strings::strtoul),
        // Control.
        ("bpf_tail_call", control::tail_call),
        ("bpf_loop", control::bpf_loop),
        ("bpf_spin_lock", control::spin_lock),
        ("bpf_spin_unlock", control::spin_unlock),
        // Packets.
        ("bpf_xdp_adjust_head", packet::xdp_adjust_head),
        ("bpf_xdp_adjust_tail", packet::xdp_adjust_tail),
        ("bpf_xdp_adjust_meta", packet::xdp_adjust_meta),
        ("bpf_xdp_get_buff_len", packet::xdp_get_buff_len),
        ("bpf_xdp_load_bytes", packet::xdp_load_bytes),
        ("bpf_xdp_store_bytes", packet::xdp_store_bytes),
        ("bpf_redirect", packet::redirect),
        ("bpf_redirect_map", packet::redirect_map),
        ("bpf_skb_load_bytes", packet::skb_load_bytes),
        ("bpf_skb_store_bytes", packet::skb_store_bytes),
        ("bpf_l3_csum_replace", csum::l3_csum_replace),
        ("bpf_l4_csum_replace", csum::l4_csum_replace),
    ];
    // Helpers that need nothing of the run: their direct entry point for
    // native code is the whole helper, for every engine.
    let pure: &[(&str, NativeHelper)] = &[
        ("bpf_ktime_get_ns", time::ktime_get_ns),
        ("bpf_ktime_get_boot_ns", time::ktime_get_boot_ns),
        ("bpf_ktime_get_coarse_ns", time::ktime_get_coarse_ns),
        ("bpf_ktime_get_tai_ns", time::ktime_get_tai_ns),
        ("bpf_jiffies64", time::jiffies64),
        ("bpf_get_prandom_u32", misc::get_prandom_u32),
        ("bpf_get_numa_node_id", misc::get_numa_node_id),
        ("bpf_get_current_pid_tgid", misc::get_current_pid_tgid),
        ("bpf_get_current_uid_gid", misc::get_current_uid_gid),
    ];
    let mut registry = HelperRegistry::new();
    for &(name, func) in helpers {
        registry.register(helper_id(name), name, func);
    }
    for &(name, native) in pure {
        let func = move |_: &mut HelperContext<'_>, a: [u64; 5]| {
            // SAFETY: these helpers take no pointer.
            Ok(unsafe { native(a[0], a[1], a[2], a[3], a[4]) })
        };
        registry.register_native(helper_id(name), name, func, native);
    }
    // Checked in the interpreter, direct for verified native code.
    registry.register_native(
        helper_id("bpf_csum_diff"),
        "bpf_csum_diff",
        csum::csum_diff,
        csum::csum_diff_native,
    );
    registry
}

/// Linux's id of the helper called `name`.
fn helper_id(name: &str) -> u32 {
    (1..1000)
        .find(|&id| helper_name(id) == Some(name))
        .unwrap_or_else(|| panic!("{name} is not a Linux helper name"))
}

/// Linux errnos, as helpers return them (negated).
pub(crate) mod errno {
    pub const ENOENT: i64 = 2;
    pub const E2BIG: i64 = 7;
    pub const EFAULT: i64 = 14;
    pub const EACCES: i64 = 13;
    pub const EINVAL: i64 = 22;
    pub const ENOSPC: i64 = 28;
    pub const ERANGE: i64 = 34;
}

/// `-errno` as a helper's return value.
pub(crate) const fn neg(errno: i64) -> u64 {
    (-errno) as u64
}

/// What a helper returns for a map operation's result.
pub(crate) fn map_result(r: Result<(), waggle_maps::MapError>) -> u64 {
    match r {
        Ok(()) => 0,
        Err(e) => e.errno() as u64,
    }
}

/// The helpers' bookkeeping for one run.
#[derive(Default)]
pub(crate) struct HelperState {
    /// Ring buffer records reserved and not yet submitted or discarded.
    reservations: Vec<ring::Reservation>,
    /// The `bpf_spin_lock` this run holds (Linux's verifier allows one at a
    /// time).
    held_lock: Option<control::HeldLock>,
    /// Map values looked up by a checked run, as `[start, end)`: where
    /// `bpf_spin_lock` words may be released when the run ends.
    map_values: Vec<(u64, u64)>,
}

/// Cleans up after a run, whichever way it ended: discards the ring buffer
/// records it reserved and did not submit (a record left reserved would
/// block the ring's consumer forever) and releases the spin lock it holds.
/// Linux's verifier refuses programs that could leave either behind; Waggle
/// may run unverified programs, and runs can stop midway (faults, budget),
/// so the run functions call this after every run.
pub(crate) fn end_run(env: &mut crate::env::RunEnv) {
    ring::discard_pending(&mut env.helper_state);
    control::release_lock(&mut env.helper_state);
}

/// The map a program passed as `addr`: one of the object's maps, or an inner
/// map of a map-in-map (whose address a lookup returned).
pub(crate) fn map_at(cx: &mut HelperContext<'_>, addr: u64) -> Result<Arc<dyn Map>, Interrupt> {
    let env = env(cx)?;
    let maps = env.shared.maps.read().unwrap_or_else(|e| e.into_inner());
    if let Some(map) = maps.get(&addr) {
        return Ok(map.clone());
    }
    for outer in maps.values() {
        let any = outer.as_any();
        let inner = if let Some(a) = any.downcast_ref::<ArrayOfMaps>() {
            a.inner_by_address(addr)
        } else if let Some(h) = any.downcast_ref::<HashOfMaps>() {
            h.inner_by_address(addr)
        } else {
            None
        };
        if let Some(map) = inner {
            return Ok(map);
        }
    }
    Err(Interrupt::Fault(format!("{addr:#x} is not a map")))
}

/// The calling thread's per-CPU slot.
pub(crate) fn cpu(cx: &mut HelperContext<'_>) -> Result<u32, Interrupt> {
    Ok(env(cx)?.cpu)
}

/// A fault for a helper Linux's verifier would not let the program call
/// like this.
pub(crate) fn refused(what: impl std::fmt::Display) -> Interrupt {
    Interrupt::Fault(format!("{what} (Linux's verifier refuses this)"))
}

/// A region that allows no access: what lent regions become when taken back.
const NOTHING: Region = Region {
    start: 0,
    end: 0,
    writable: false,
};

/// Lets the program touch `region` for the rest of the run, unless it already
/// may (so that repeated lookups of one value do not pile up regions). A
/// no-op in unchecked mode.
///
/// # Safety
/// The memory must stay valid until the run ends.
pub(crate) unsafe fn grant(cx: &mut HelperContext<'_>, region: Region) {
    let Some(count) = cx.region_count() else {
        return;
    };
    if (0..count).any(|i| cx.region(i) == Some(region)) {
        return;
    }
    // SAFETY: the caller's guarantee.
    unsafe { reuse_or_grant(cx, count, region) };
}

/// Lets the program touch `region` until [`take_back`] is called with the
/// number returned (`None` in unchecked mode, where there is nothing to
/// take back).
///
/// # Safety
/// The memory must stay valid until `take_back` (or the end of the run).
pub(crate) unsafe fn lend(cx: &mut HelperContext<'_>, region: Region) -> Option<usize> {
    let count = cx.region_count()?;
    // SAFETY: the caller's guarantee.
    Some(unsafe { reuse_or_grant(cx, count, region) })
}

/// Puts `region` in a region taken back earlier, or adds it; returns its number.
///
/// # Safety
/// As for [`grant`].
unsafe fn reuse_or_grant(cx: &mut HelperContext<'_>, count: usize, region: Region) -> usize {
    // SAFETY (both calls): the caller's guarantee.
    for i in 1..count {
        if cx.region(i) == Some(NOTHING) && unsafe { cx.regrant(i, region) } {
            return i;
        }
    }
    unsafe { cx.grant(region) };
    count
}

/// Takes back what [`lend`] lent under number `slot`.
pub(crate) fn take_back(cx: &mut HelperContext<'_>, slot: Option<usize>) {
    if let Some(i) = slot {
        // SAFETY: a region that allows nothing needs no memory.
        unsafe { cx.regrant(i, NOTHING) };
    }
}

/// Replaces region `slot` (a region lent earlier) with `region`.
///
/// # Safety
/// As for [`lend`].
pub(crate) unsafe fn relend(cx: &mut HelperContext<'_>, slot: Option<usize>, region: Region) {
    if let Some(i) = slot {
        // SAFETY: the caller's guarantee.
        unsafe { cx.regrant(i, region) };
    }
}

/// The `len` bytes at `addr` in the program's memory; nothing is checked for
/// `len` 0, where Linux accepts any pointer (NULL included).
pub(crate) fn read_mem<'c>(
    cx: &'c HelperContext<'_>,
    addr: u64,
    len: u64,
) -> Result<&'c [u8], BadPointer> {
    if len == 0 {
        return Ok(&[]);
    }
    cx.read(addr, len)
}

/// As [`read_mem`], for writing.
pub(crate) fn write_mem<'c>(
    cx: &'c mut HelperContext<'_>,
    addr: u64,
    len: u64,
) -> Result<&'c mut [u8], BadPointer> {
    if len == 0 {
        return Ok(&mut []);
    }
    cx.write(addr, len)
}

/// The NUL-terminated string at `addr` in the program's memory (without its
/// NUL), as `ARG_PTR_TO_CONST_STR` arguments are: a fault if it runs out of
/// the program's memory, or past `max` bytes, before its NUL.
pub(crate) fn read_cstr(cx: &HelperContext<'_>, addr: u64, max: u64) -> Result<Vec<u8>, Interrupt> {
    let mut out = Vec::new();
    for i in 0..max {
        let at = addr.checked_add(i).ok_or_else(|| unterminated(addr))?;
        match cx.read(at, 1)?.first() {
            Some(0) => return Ok(out),
            Some(&b) => out.push(b),
            None => break,
        }
    }
    Err(unterminated(addr))
}

fn unterminated(addr: u64) -> Interrupt {
    Interrupt::Fault(format!(
        "the string at {addr:#x} is not NUL-terminated in the program's memory"
    ))
}

#[cfg(test)]
mod registry_tests {
    use super::*;

    #[test]
    fn every_helper_has_its_linux_id() {
        let r = registry();
        for (id, name) in [
            (1, "bpf_map_lookup_elem"),
            (6, "bpf_trace_printk"),
            (12, "bpf_tail_call"),
            (28, "bpf_csum_diff"),
            (51, "bpf_redirect_map"),
            (131, "bpf_ringbuf_reserve"),
            (164, "bpf_for_each_map_elem"),
            (165, "bpf_snprintf"),
            (181, "bpf_loop"),
            (182, "bpf_strncmp"),
        ] {
            assert_eq!(r.get(id).map(|h| h.name.as_ref()), Some(name));
        }
        for h in r.iter() {
            assert_eq!(helper_name(h.id), Some(h.name.as_ref()));
        }
    }
}
