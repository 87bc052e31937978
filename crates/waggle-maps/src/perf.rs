//! `BPF_MAP_TYPE_PERF_EVENT_ARRAY`.
//!
//! In Linux each element is a perf event fd (one per CPU, usually) whose
//! mmapped ring receives what `bpf_perf_event_output` writes. Waggle has no
//! perf events: each index owns a bounded event queue instead, and
//! [`PerfEventArray::drain`] plays the role of libbpf's `perf_buffer`
//! consumer. The application may still store "fds" with `update_all` (they
//! are kept, so `delete` behaves, but otherwise ignored) and outputs do not
//! require one, where Linux answers `ENOENT` for an empty slot.
//!
//! Space is accounted as in a perf ring: a record takes an 8-byte
//! `perf_event_header` plus the raw sample (a `u32` size and the data)
//! padded to 8 bytes. When an index's buffer lacks room the event is lost:
//! the output fails with `ENOSPC`, as Linux's, and the index's lost counter
//! grows (libbpf reports it through its lost-events callback). Linux pads
//! the sample so the consumer sees `round_up(size + 4, 8) - 4` bytes; Waggle
//! returns exactly the bytes written.

use crate::check::{self, invalid, round8};
use crate::fd_slots::FdSlots;
use crate::{Map, MapError, MapOptions, MapSpec, MapType, BPF_F_CURRENT_CPU, BPF_F_INDEX_MASK};
use std::any::Any;
use std::collections::VecDeque;
use std::ptr::NonNull;
use std::sync::Mutex;

/// Default buffer per index: 64 pages, a common `perf_buffer__new` size.
pub const PERF_BUFFER_BYTES: usize = 64 * 4096;

struct Events {
    queue: VecDeque<(u32, Vec<u8>)>,
    /// Bytes accounted per index.
    used: Vec<usize>,
    lost: Vec<u64>,
}

pub struct PerfEventArray {
    spec: MapSpec,
    buffer_bytes: usize,
    fds: FdSlots,
    events: Mutex<Events>,
}

impl PerfEventArray {
    pub(crate) fn check(
        spec: &MapSpec,
        opts: MapOptions,
        buffer_bytes: usize,
    ) -> Result<u64, MapError> {
        check::common(spec, opts)?;
        check::fd_array(spec)?;
        Ok(u64::from(spec.max_entries).saturating_mul(buffer_bytes as u64 + 24))
    }

    /// A perf event array whose indexes buffer [`PERF_BUFFER_BYTES`] each.
    pub fn new(spec: &MapSpec, opts: MapOptions) -> Result<PerfEventArray, MapError> {
        Self::with_buffer_bytes(spec, opts, PERF_BUFFER_BYTES)
    }

    /// A perf event array whose indexes buffer `buffer_bytes` each (the
    /// size of the per-CPU ring an application would mmap).
    pub fn with_buffer_bytes(
        spec: &MapSpec,
        opts: MapOptions,
        buffer_bytes: usize,
    ) -> Result<PerfEventArray, MapError> {
        if spec.map_type != MapType::PerfEventArray {
            return Err(invalid(format!("{}: not a perf event array", spec.name)));
        }
        let bytes = Self::check(spec, opts, buffer_bytes)?;
        check::cap(bytes)?;
        let n = spec.max_entries as usize;
        let fds = FdSlots::new(spec)?;
        Ok(PerfEventArray {
            spec: spec.clone(),
            buffer_bytes,
            fds,
            events: Mutex::new(Events {
                queue: VecDeque::new(),
                used: crate::hash::try_vec(n, 0)?,
                lost: crate::hash::try_vec(n, 0)?,
            }),
        })
    }

    /// Space a sample of `len` bytes takes in a perf ring.
    fn record_bytes(len: usize) -> usize {
        8 + round8(len as u64 + 4) as usize
    }

    /// Appends an event to index `cpu`'s buffer (`bpf_perf_event_output`
    /// with `BPF_F_CURRENT_CPU` from CPU `cpu`).
    pub fn output(&self, cpu: u32, data: &[u8]) -> Result<(), MapError> {
        self.output_with_flags(cpu, BPF_F_CURRENT_CPU, data)
    }

    /// `bpf_perf_event_output` from CPU `cpu`: the low 32 bits of `flags`
    /// select the index (`BPF_F_CURRENT_CPU` for `cpu`'s); other bits are
    /// `EINVAL`; an index past `max_entries` is `E2BIG`; a full buffer loses
    /// the event (`ENOSPC`).
    pub fn output_with_flags(&self, cpu: u32, flags: u64, data: &[u8]) -> Result<(), MapError> {
        if flags & !BPF_F_INDEX_MASK != 0 {
            return Err(invalid(format!(
                "{}: unknown perf event output flags {flags:#x}",
                self.spec.name
            )));
        }
        let index = match flags & BPF_F_INDEX_MASK {
            BPF_F_CURRENT_CPU => cpu,
            i => i as u32,
        };
        if index >= self.spec.max_entries {
            return Err(MapError::TooBig);
        }
        let need = Self::record_bytes(data.len());
        let mut ev = check::lock(&self.events);
        let used = ev.used.get(index as usize).copied().unwrap_or(usize::MAX);
        if used.saturating_add(need) > self.buffer_bytes {
            if let Some(l) = ev.lost.get_mut(index as usize) {
                *l += 1;
            }
            return Err(MapError::NoSpace);
        }
        if let Some(u) = ev.used.get_mut(index as usize) {
            *u += need;
        }
        ev.queue.push_back((index, data.to_vec()));
        Ok(())
    }

    /// Every buffered event as (index, data), in output order, freeing the space.
    pub fn drain(&self) -> Vec<(u32, Vec<u8>)> {
        let mut ev = check::lock(&self.events);
        ev.used.iter_mut().for_each(|u| *u = 0);
        ev.queue.drain(..).collect()
    }

    /// Events lost so far on `index` because its buffer was full.
    pub fn lost(&self, index: u32) -> u64 {
        check::lock(&self.events)
            .lost
            .get(index as usize)
            .copied()
            .unwrap_or(0)
    }
}

impl Map for PerfEventArray {
    fn spec(&self) -> &MapSpec {
        &self.spec
    }

    /// Programs cannot look up perf event arrays (Linux returns NULL).
    fn lookup_ptr(&self, _key: &[u8], _cpu: u32) -> Option<NonNull<u8>> {
        None
    }

    fn update(&self, key: &[u8], value: &[u8], flags: u64, _cpu: u32) -> Result<(), MapError> {
        self.fds.update(&self.spec, key, value, flags)
    }

    fn delete(&self, key: &[u8]) -> Result<(), MapError> {
        self.fds.delete(&self.spec, key)
    }

    /// Linux has no syscall lookup for perf event arrays (`ENOTSUPP`).
    fn lookup(&self, _key: &[u8]) -> Result<Vec<u8>, MapError> {
        Err(MapError::NotSupported(self.spec.map_type.name()))
    }

    fn update_all(&self, key: &[u8], value: &[u8], flags: u64) -> Result<(), MapError> {
        self.update(key, value, flags, 0)
    }

    fn next_key(&self, key: Option<&[u8]>) -> Result<Vec<u8>, MapError> {
        check::array_next_key(&self.spec, key)
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}
