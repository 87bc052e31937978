//! `BPF_MAP_TYPE_RINGBUF`: a multi-producer, single-consumer byte ring.
//!
//! Same layout and accounting as Linux's `kernel/bpf/ringbuf.c`: the ring
//! has `max_entries` bytes (a power of two, a multiple of the 4096-byte
//! page); producer and consumer positions grow forever and wrap modulo the
//! size; each record is an 8-byte header (`u32` length with a BUSY bit while
//! reserved and a DISCARD bit, then a `u32` page offset) followed by the
//! data, the whole rounded up to 8 bytes. A reservation fails when it would
//! put the producer more than `size - 1` bytes ahead of the consumer, or of
//! the oldest record still reserved.
//!
//! Linux maps the data pages twice in a row so that a record crossing the
//! end of the ring is contiguous; Waggle allocates twice the size instead
//! and lets such a record run into the second half. Records are only ever
//! read through their own start offset (as the consumer here does), so the
//! second half never has to mirror the first.
//!
//! Producers (`reserve`, `output`) serialise on a short mutex, like Linux's
//! spinlock; `submit`/`discard` flip the header's bits atomically and never
//! fail. The consumer (`consume`, `drain`) reads committed records in order,
//! stops at the first one still reserved (records behind it wait, as in
//! Linux), skips discarded ones, and frees space as it goes. `wait` blocks
//! until data is ready; producers wake it following Linux's rules
//! (`BPF_RB_NO_WAKEUP`, `BPF_RB_FORCE_WAKEUP`, otherwise only when the
//! consumer has caught up with the committed record).
//!
//! Map operations by key are `EOPNOTSUPP`, as in Linux.

use crate::check::{self, invalid, round8};
use crate::region::Region;
use crate::{
    Map, MapError, MapFlags, MapOptions, MapSpec, MapType, BPF_RB_AVAIL_DATA, BPF_RB_CONS_POS,
    BPF_RB_FORCE_WAKEUP, BPF_RB_NO_WAKEUP, BPF_RB_PROD_POS, BPF_RB_RING_SIZE,
};
use std::any::Any;
use std::ptr::NonNull;
use std::sync::atomic::{AtomicU32, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Condvar, Mutex};
use std::time::{Duration, Instant};

/// Record header size.
pub const BPF_RINGBUF_HDR_SZ: u64 = 8;
const BUSY_BIT: u32 = 1 << 31;
const DISCARD_BIT: u32 = 1 << 30;
/// Largest record Linux accepts (`RINGBUF_MAX_RECORD_SZ`).
const MAX_RECORD: u64 = (u32::MAX >> 2) as u64;
const PAGE_SIZE: u32 = 4096;

pub struct RingBuf {
    spec: MapSpec,
    size: u64,
    mask: u64,
    /// `2 * size` bytes: the ring, and room for a record crossing its end.
    data: Region,
    consumer_pos: AtomicU64,
    producer_pos: AtomicU64,
    /// The producer lock; holds Linux's `pending_pos` (oldest record that
    /// may still be reserved).
    pending_pos: Mutex<u64>,
    /// Serialises consumers (Linux supports one consumer at a time).
    consumer: Mutex<()>,
    waiters: AtomicUsize,
    wake_lock: Mutex<()>,
    wake: Condvar,
}

impl RingBuf {
    /// Validates `spec` as Linux's `ringbuf_map_alloc` does and returns the
    /// bytes the map will take.
    pub(crate) fn check(spec: &MapSpec, opts: MapOptions) -> Result<u64, MapError> {
        check::common(spec, opts)?;
        check::flags_within(spec, MapFlags::NUMA_NODE)?;
        if spec.key_size != 0 || spec.value_size != 0 {
            return Err(invalid(format!(
                "{}: ring buffers need key_size 0 and value_size 0",
                spec.name
            )));
        }
        if !spec.max_entries.is_power_of_two() || spec.max_entries % PAGE_SIZE != 0 {
            return Err(invalid(format!(
                "{}: ring buffer size (max_entries) must be a power of 2 and a multiple of {PAGE_SIZE}, not {}",
                spec.name, spec.max_entries
            )));
        }
        Ok(u64::from(spec.max_entries) * 2)
    }

    pub fn new(spec: &MapSpec, opts: MapOptions) -> Result<RingBuf, MapError> {
        if spec.map_type != MapType::RingBuf {
            return Err(invalid(format!("{}: not a ring buffer", spec.name)));
        }
        let bytes = Self::check(spec, opts)?;
        check::cap(bytes)?;
        let size = u64::from(spec.max_entries);
        Ok(RingBuf {
            spec: spec.clone(),
            size,
            mask: size - 1,
            data: Region::zeroed(bytes)?,
            consumer_pos: AtomicU64::new(0),
            producer_pos: AtomicU64::new(0),
            pending_pos: Mutex::new(0),
            consumer: Mutex::new(()),
            waiters: AtomicUsize::new(0),
            wake_lock: Mutex::new(()),
            wake: Condvar::new(),
        })
    }

    /// The header at ring offset `off` (< size, 8-aligned): (length word, page-offset word).
    fn header(&self, off: u64) -> Option<(&AtomicU32, &AtomicU32)> {
        if off >= self.size || off % 8 != 0 {
            return None;
        }
        let ptr = self.data.at(off as usize, 8)?;
        // SAFETY: `ptr` is 8-aligned, 8 bytes inside the region, which
        // outlives `&self`; header words are only accessed atomically.
        unsafe {
            Some((
                AtomicU32::from_ptr(ptr.cast::<u32>()),
                AtomicU32::from_ptr(ptr.add(4).cast::<u32>()),
            ))
        }
    }

    /// `bpf_ringbuf_reserve`: room for `size` bytes, or `None` when the ring
    /// lacks space, `size` is too large, or `flags` is not 0. The memory
    /// stays valid while the map lives; hand it back with
    /// [`RingBuf::submit`] or [`RingBuf::discard`].
    pub fn reserve(&self, size: u64, flags: u64) -> Option<NonNull<u8>> {
        if flags != 0 || size > MAX_RECORD {
            return None;
        }
        let len = round8(size + BPF_RINGBUF_HDR_SZ);
        if len > self.size {
            return None;
        }
        let cons = self.consumer_pos.load(Ordering::Acquire);
        let mut pending = check::lock(&self.pending_pos);
        let prod = self.producer_pos.load(Ordering::Relaxed);
        let new_prod = prod + len;
        // Move pending_pos past records already committed.
        let mut pend = *pending;
        while pend < prod {
            let Some((hlen, _)) = self.header(pend & self.mask) else {
                break;
            };
            let h = hlen.load(Ordering::Acquire);
            if h & BUSY_BIT != 0 {
                break;
            }
            let rec = round8(u64::from(h & !DISCARD_BIT) + BPF_RINGBUF_HDR_SZ);
            if rec > prod - pend {
                break;
            }
            pend += rec;
        }
        *pending = pend;
        if new_prod - cons > self.mask || new_prod - pend > self.mask {
            return None;
        }
        let off = prod & self.mask;
        let (hlen, hpg) = self.header(off)?;
        hlen.store(size as u32 | BUSY_BIT, Ordering::Relaxed);
        hpg.store((off / 8) as u32, Ordering::Relaxed);
        // Publishes the header to the consumer.
        self.producer_pos.store(new_prod, Ordering::Release);
        drop(pending);
        let data = self.data.at(off as usize + 8, size as usize)?;
        NonNull::new(data)
    }

    /// `bpf_ringbuf_submit`: makes the record at `sample` visible to the consumer.
    pub fn submit(&self, sample: NonNull<u8>, flags: u64) {
        self.commit(sample, flags, false)
    }

    /// `bpf_ringbuf_discard`: releases the record at `sample` unread.
    pub fn discard(&self, sample: NonNull<u8>, flags: u64) {
        self.commit(sample, flags, true)
    }

    /// Flips the record's header from reserved to committed. Pointers that
    /// are not a reserved record of this ring are ignored (Linux trusts its
    /// verifier; Waggle checks, so a bad pointer cannot corrupt the ring).
    fn commit(&self, sample: NonNull<u8>, flags: u64, discard: bool) {
        let base = self.data.base() as usize;
        let Some(off) = (sample.as_ptr() as usize).checked_sub(base + BPF_RINGBUF_HDR_SZ as usize)
        else {
            return;
        };
        let off = off as u64;
        let Some((hlen, hpg)) = self.header(off) else {
            return;
        };
        if u64::from(hpg.load(Ordering::Relaxed)) != off / 8 {
            return;
        }
        let cur = hlen.load(Ordering::Relaxed);
        if cur & BUSY_BIT == 0 {
            return;
        }
        let new = (cur ^ BUSY_BIT) | if discard { DISCARD_BIT } else { 0 };
        if hlen
            .compare_exchange(cur, new, Ordering::SeqCst, Ordering::Relaxed)
            .is_err()
        {
            return;
        }
        let cons = self.consumer_pos.load(Ordering::Acquire) & self.mask;
        if flags & BPF_RB_FORCE_WAKEUP != 0 || (flags & BPF_RB_NO_WAKEUP == 0 && cons == off) {
            self.notify();
        }
    }

    fn notify(&self) {
        if self.waiters.load(Ordering::SeqCst) > 0 {
            let _g = check::lock(&self.wake_lock);
            self.wake.notify_all();
        }
    }

    /// `bpf_ringbuf_output`: reserve, copy `data`, submit. `EAGAIN` when the
    /// ring lacks space, `EINVAL` for flags other than the wakeup ones.
    pub fn output(&self, data: &[u8], flags: u64) -> Result<(), MapError> {
        if flags & !(BPF_RB_NO_WAKEUP | BPF_RB_FORCE_WAKEUP) != 0 {
            return Err(invalid(format!(
                "{}: unknown ring buffer output flags {flags:#x}",
                self.spec.name
            )));
        }
        let rec = self
            .reserve(data.len() as u64, 0)
            .ok_or(MapError::TryAgain)?;
        // SAFETY: `rec` has room for `data.len()` bytes, reserved for us.
        unsafe { crate::lock::store_bytes(rec.as_ptr(), data) };
        self.commit(rec, flags, false);
        Ok(())
    }

    /// `bpf_ringbuf_query`: available data, ring size, consumer or producer
    /// position; 0 for an unknown selector.
    pub fn query(&self, flag: u64) -> u64 {
        match flag {
            BPF_RB_AVAIL_DATA => self
                .producer_pos
                .load(Ordering::Acquire)
                .saturating_sub(self.consumer_pos.load(Ordering::Acquire)),
            BPF_RB_RING_SIZE => self.size,
            BPF_RB_CONS_POS => self.consumer_pos.load(Ordering::Acquire),
            BPF_RB_PROD_POS => self.producer_pos.load(Ordering::Acquire),
            _ => 0,
        }
    }

    /// Calls `f` with each committed record in order, skipping discarded
    /// ones and freeing their space, until the ring is empty or the next
    /// record is still reserved. Returns the number of records passed to `f`.
    /// The slice is the ring's memory, valid during the call.
    pub fn consume(&self, mut f: impl FnMut(&[u8])) -> usize {
        let _consumer = check::lock(&self.consumer);
        let mut cons = self.consumer_pos.load(Ordering::Relaxed);
        let mut delivered = 0;
        loop {
            let prod = self.producer_pos.load(Ordering::Acquire);
            let mut progressed = false;
            while cons < prod {
                let off = cons & self.mask;
                let Some((hlen, _)) = self.header(off) else {
                    return delivered;
                };
                let h = hlen.load(Ordering::Acquire);
                if h & BUSY_BIT != 0 {
                    return delivered;
                }
                let size = u64::from(h & !DISCARD_BIT);
                let total = round8(size + BPF_RINGBUF_HDR_SZ);
                if total > prod - cons {
                    return delivered;
                }
                if h & DISCARD_BIT == 0 {
                    if let Some(ptr) = self.data.at(off as usize + 8, size as usize) {
                        // SAFETY: the record is committed (its header was
                        // published with release ordering after the data
                        // was written and we loaded it with acquire);
                        // producers do not touch it until `consumer_pos`
                        // moves past it, below, after `f` returns.
                        let record = unsafe { std::slice::from_raw_parts(ptr, size as usize) };
                        f(record);
                        delivered += 1;
                    }
                }
                cons += total;
                self.consumer_pos.store(cons, Ordering::Release);
                progressed = true;
            }
            if !progressed {
                return delivered;
            }
        }
    }

    /// Copies of every record [`RingBuf::consume`] would deliver, in order.
    pub fn drain(&self) -> Vec<Vec<u8>> {
        let mut out = Vec::new();
        self.consume(|r| out.push(r.to_vec()));
        out
    }

    /// Whether the record at the consumer position is committed.
    fn ready(&self) -> bool {
        let cons = self.consumer_pos.load(Ordering::SeqCst);
        let prod = self.producer_pos.load(Ordering::SeqCst);
        if cons >= prod {
            return false;
        }
        self.header(cons & self.mask)
            .is_some_and(|(h, _)| h.load(Ordering::SeqCst) & BUSY_BIT == 0)
    }

    /// Blocks until a committed record is ready to consume or `timeout`
    /// passes (like `epoll` on the ring's fd); returns whether data is ready.
    pub fn wait(&self, timeout: Duration) -> bool {
        let deadline = Instant::now().checked_add(timeout);
        self.waiters.fetch_add(1, Ordering::SeqCst);
        let mut guard = check::lock(&self.wake_lock);
        let ready = loop {
            if self.ready() {
                break true;
            }
            let left = match deadline {
                Some(d) => match d.checked_duration_since(Instant::now()) {
                    Some(left) if !left.is_zero() => left,
                    _ => break false,
                },
                None => Duration::from_secs(3600),
            };
            guard = match self.wake.wait_timeout(guard, left) {
                Ok((g, _)) => g,
                Err(e) => e.into_inner().0,
            };
        };
        drop(guard);
        self.waiters.fetch_sub(1, Ordering::SeqCst);
        ready
    }
}

impl Map for RingBuf {
    fn spec(&self) -> &MapSpec {
        &self.spec
    }

    fn lookup_ptr(&self, _key: &[u8], _cpu: u32) -> Option<NonNull<u8>> {
        None
    }

    fn update(&self, _key: &[u8], _value: &[u8], _flags: u64, _cpu: u32) -> Result<(), MapError> {
        Err(MapError::NotSupported(self.spec.map_type.name()))
    }

    fn delete(&self, _key: &[u8]) -> Result<(), MapError> {
        Err(MapError::NotSupported(self.spec.map_type.name()))
    }

    fn lookup(&self, _key: &[u8]) -> Result<Vec<u8>, MapError> {
        Err(MapError::NotSupported(self.spec.map_type.name()))
    }

    fn update_all(&self, _key: &[u8], _value: &[u8], _flags: u64) -> Result<(), MapError> {
        Err(MapError::NotSupported(self.spec.map_type.name()))
    }

    fn next_key(&self, _key: Option<&[u8]>) -> Result<Vec<u8>, MapError> {
        Err(MapError::NotSupported(self.spec.map_type.name()))
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}
