//! Ring buffers and perf event arrays: `bpf_ringbuf_*` and
//! `bpf_perf_event_output`.
//!
//! A reserved ring buffer record is lent to the program until it submits or
//! discards it, so in checked mode a program cannot write a record the
//! consumer may already be reading. Records a run leaves reserved are
//! discarded when the run ends ([`super::end_run`]).
//!
//! `bpf_perf_event_output` from an XDP or skb program may append packet
//! bytes to the sample, as Linux's `bpf_skb_event_output` and
//! `bpf_xdp_event_output` do: the upper 32 bits of `flags`
//! (`BPF_F_CTXLEN_MASK`) say how many, from the packet's start.

use super::{cpu, errno, lend, map_at, map_result, neg, read_mem, refused, take_back, HelperState};
use crate::env::env;
use std::ptr::NonNull;
use std::sync::Arc;
use waggle_maps::{Map, PerfEventArray, RingBuf, BPF_F_INDEX_MASK};
use waggle_vm::{HelperContext, HelperResult, Interrupt, Region};

/// `BPF_F_CTXLEN_MASK`: packet bytes to append to a perf event sample.
const CTXLEN_MASK: u64 = 0xfffff << 32;

/// A ring buffer record reserved by the run.
pub(crate) struct Reservation {
    addr: u64,
    ring: Arc<dyn Map>,
    /// The record's region (checked mode), taken back on submit or discard.
    slot: Option<usize>,
}

/// The ring buffer a program passed.
fn ring_at(cx: &mut HelperContext<'_>, addr: u64, helper: &str) -> Result<Arc<dyn Map>, Interrupt> {
    let map = map_at(cx, addr)?;
    if map.as_any().downcast_ref::<RingBuf>().is_none() {
        return Err(refused(format_args!(
            "{helper} on {} map {}",
            map.spec().map_type.name(),
            map.spec().name
        )));
    }
    Ok(map)
}

fn as_ring(map: &Arc<dyn Map>) -> Option<&RingBuf> {
    map.as_any().downcast_ref::<RingBuf>()
}

/// `bpf_ringbuf_output(ringbuf, data, size, flags)`: 0, `-EAGAIN` when the
/// ring is full, `-EINVAL` for unknown flags.
pub(crate) fn ringbuf_output(cx: &mut HelperContext<'_>, a: [u64; 5]) -> HelperResult {
    let map = ring_at(cx, a[0], "bpf_ringbuf_output")?;
    let data = read_mem(cx, a[1], a[2])?;
    Ok(map_result(
        as_ring(&map).map_or(Ok(()), |r| r.output(data, a[3])),
    ))
}

/// `bpf_ringbuf_reserve(ringbuf, size, flags)`: the record's address, or
/// NULL (no room, size too large, flags not 0).
pub(crate) fn ringbuf_reserve(cx: &mut HelperContext<'_>, a: [u64; 5]) -> HelperResult {
    let map = ring_at(cx, a[0], "bpf_ringbuf_reserve")?;
    let Some(ptr) = as_ring(&map).and_then(|r| r.reserve(a[1], a[2])) else {
        return Ok(0);
    };
    let addr = ptr.as_ptr() as u64;
    // SAFETY: the record lies in the ring's memory, which lives as long as
    // the map, and this reservation holds the map.
    let slot = unsafe { lend(cx, Region::new(addr, a[1], true)) };
    env(cx)?.helper_state.reservations.push(Reservation {
        addr,
        ring: map,
        slot,
    });
    Ok(addr)
}

/// Ends the reservation of the record at `addr`.
fn release(
    cx: &mut HelperContext<'_>,
    addr: u64,
    flags: u64,
    discard: bool,
    helper: &str,
) -> HelperResult {
    let list = &mut env(cx)?.helper_state.reservations;
    let Some(i) = list.iter().position(|r| r.addr == addr) else {
        return Err(refused(format_args!(
            "{helper} of {addr:#x}, which is no ring buffer record this run reserved"
        )));
    };
    let r = list.swap_remove(i);
    take_back(cx, r.slot);
    commit(&r, flags, discard);
    Ok(0)
}

fn commit(r: &Reservation, flags: u64, discard: bool) {
    let (Some(ring), Some(ptr)) = (as_ring(&r.ring), NonNull::new(r.addr as *mut u8)) else {
        return;
    };
    if discard {
        ring.discard(ptr, flags);
    } else {
        ring.submit(ptr, flags);
    }
}

/// `bpf_ringbuf_submit(data, flags)`.
pub(crate) fn ringbuf_submit(cx: &mut HelperContext<'_>, a: [u64; 5]) -> HelperResult {
    release(cx, a[0], a[1], false, "bpf_ringbuf_submit")
}

/// `bpf_ringbuf_discard(data, flags)`.
pub(crate) fn ringbuf_discard(cx: &mut HelperContext<'_>, a: [u64; 5]) -> HelperResult {
    release(cx, a[0], a[1], true, "bpf_ringbuf_discard")
}

/// `bpf_ringbuf_query(ringbuf, flags)`.
pub(crate) fn ringbuf_query(cx: &mut HelperContext<'_>, a: [u64; 5]) -> HelperResult {
    let map = ring_at(cx, a[0], "bpf_ringbuf_query")?;
    Ok(as_ring(&map).map_or(0, |r| r.query(a[1])))
}

/// Discards the records a run left reserved.
pub(crate) fn discard_pending(state: &mut HelperState) {
    for r in state.reservations.drain(..) {
        commit(&r, 0, true);
    }
}

/// `bpf_perf_event_output(ctx, map, flags, data, size)`: 0, `-E2BIG` for an
/// index past the map, `-ENOSPC` when the index's buffer is full (the event
/// is lost), `-EINVAL` for unknown flags, `-EFAULT` when more packet bytes
/// are asked for than the packet has.
pub(crate) fn perf_event_output(cx: &mut HelperContext<'_>, a: [u64; 5]) -> HelperResult {
    let [_, map_addr, mut flags, data, size] = a;
    let map = map_at(cx, map_addr)?;
    let Some(perf) = map.as_any().downcast_ref::<PerfEventArray>() else {
        return Err(refused(format_args!(
            "bpf_perf_event_output on {} map {}",
            map.spec().map_type.name(),
            map.spec().name
        )));
    };
    let cpu = cpu(cx)?;
    let mut sample = read_mem(cx, data, size)?.to_vec();
    if let Some(packet) = super::packet::packet(cx)? {
        if flags & !(CTXLEN_MASK | BPF_F_INDEX_MASK) != 0 {
            return Ok(neg(errno::EINVAL));
        }
        let ctx_len = (flags & CTXLEN_MASK) >> 32;
        if ctx_len > 0 {
            let Some(bytes) = packet.copy_out(0, ctx_len) else {
                return Ok(neg(errno::EFAULT));
            };
            sample.extend_from_slice(&bytes);
        }
        flags &= BPF_F_INDEX_MASK;
    }
    Ok(map_result(perf.output_with_flags(cpu, flags, &sample)))
}
