//! `BPF_MAP_TYPE_QUEUE` (FIFO) and `BPF_MAP_TYPE_STACK` (LIFO).
//!
//! No keys (`key_size` 0): programs use push, pop and peek; values are
//! copied in and out, never pointed to. A ring of `max_entries` values
//! behind a mutex. Pushing onto a full map fails with `E2BIG` unless the
//! flags are `BPF_EXIST`, which drops the oldest element to make room — for
//! a stack too, as Linux does (it advances the tail in both cases).
//!
//! Key-based operations behave as Linux's: `lookup_ptr` finds nothing,
//! `update`, `delete` and `next_key` are `EINVAL`. The application's
//! `lookup` and `update_all` are the `bpf()` syscall's, which Linux maps to
//! peek and push for these types.

use crate::check::{self, invalid};
use crate::{Map, MapError, MapFlags, MapOptions, MapSpec, MapType, BPF_EXIST, BPF_NOEXIST};
use std::any::Any;
use std::ptr::NonNull;
use std::sync::Mutex;

struct Ring {
    buf: Vec<u8>,
    /// Index of the oldest element.
    head: usize,
    len: usize,
}

pub struct QueueStack {
    spec: MapSpec,
    stack: bool,
    value_size: usize,
    capacity: usize,
    ring: Mutex<Ring>,
}

impl QueueStack {
    /// Validates `spec` as Linux's `queue_stack_map_alloc_check` does and
    /// returns the bytes the map will take.
    pub(crate) fn check(spec: &MapSpec, opts: MapOptions) -> Result<u64, MapError> {
        check::common(spec, opts)?;
        check::max_entries_nonzero(spec)?;
        check::key_size_is(spec, 0)?;
        check::value_size_nonzero(spec)?;
        check::flags_within(spec, MapFlags::NUMA_NODE | MapFlags::ACCESS_MASK)?;
        if u64::from(spec.value_size) > check::KMALLOC_MAX_SIZE {
            return Err(MapError::TooBig);
        }
        Ok(u64::from(spec.value_size).saturating_mul(u64::from(spec.max_entries)))
    }

    pub fn new(spec: &MapSpec, opts: MapOptions) -> Result<QueueStack, MapError> {
        if !matches!(spec.map_type, MapType::Queue | MapType::Stack) {
            return Err(invalid(format!("{}: not a queue or stack", spec.name)));
        }
        let bytes = Self::check(spec, opts)?;
        check::cap(bytes)?;
        Ok(QueueStack {
            spec: spec.clone(),
            stack: spec.map_type == MapType::Stack,
            value_size: spec.value_size as usize,
            capacity: spec.max_entries as usize,
            ring: Mutex::new(Ring {
                buf: crate::hash::try_vec(bytes as usize, 0u8)?,
                head: 0,
                len: 0,
            }),
        })
    }

    /// Number of elements.
    pub fn len(&self) -> usize {
        check::lock(&self.ring).len
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn slot(&self, ring: &Ring, pos: usize) -> std::ops::Range<usize> {
        let at = (ring.head + pos) % self.capacity * self.value_size;
        at..at + self.value_size
    }

    /// Removes (`pop`) or copies (`peek`) the next element.
    fn take(&self, remove: bool) -> Result<Vec<u8>, MapError> {
        let mut ring = check::lock(&self.ring);
        if ring.len == 0 {
            return Err(MapError::NotFound);
        }
        let pos = if self.stack { ring.len - 1 } else { 0 };
        let range = self.slot(&ring, pos);
        let out = ring.buf.get(range).ok_or(MapError::NotFound)?.to_vec();
        if remove {
            if !self.stack {
                ring.head = (ring.head + 1) % self.capacity;
            }
            ring.len -= 1;
        }
        Ok(out)
    }
}

impl Map for QueueStack {
    fn spec(&self) -> &MapSpec {
        &self.spec
    }

    fn lookup_ptr(&self, _key: &[u8], _cpu: u32) -> Option<NonNull<u8>> {
        None
    }

    fn update(&self, _key: &[u8], _value: &[u8], _flags: u64, _cpu: u32) -> Result<(), MapError> {
        Err(invalid(format!(
            "{}: {} maps have no keys; push instead",
            self.spec.name,
            self.spec.map_type.name()
        )))
    }

    fn delete(&self, _key: &[u8]) -> Result<(), MapError> {
        Err(invalid(format!(
            "{}: {} maps have no keys; pop instead",
            self.spec.name,
            self.spec.map_type.name()
        )))
    }

    /// `bpf(BPF_MAP_LOOKUP_ELEM)` on a queue or stack: a peek.
    fn lookup(&self, key: &[u8]) -> Result<Vec<u8>, MapError> {
        check::key_len(&self.spec, key)?;
        self.peek(None)
    }

    /// `bpf(BPF_MAP_UPDATE_ELEM)` on a queue or stack: a push.
    fn update_all(&self, key: &[u8], value: &[u8], flags: u64) -> Result<(), MapError> {
        check::key_len(&self.spec, key)?;
        self.push(value, flags)
    }

    fn next_key(&self, _key: Option<&[u8]>) -> Result<Vec<u8>, MapError> {
        Err(invalid(format!(
            "{}: {} maps cannot be iterated",
            self.spec.name,
            self.spec.map_type.name()
        )))
    }

    fn push(&self, value: &[u8], flags: u64) -> Result<(), MapError> {
        if flags & BPF_NOEXIST != 0 || flags > BPF_EXIST {
            return Err(invalid(format!(
                "{}: push flags must be BPF_ANY or BPF_EXIST, not {flags:#x}",
                self.spec.name
            )));
        }
        check::value_len(&self.spec, value, self.value_size)?;
        let mut ring = check::lock(&self.ring);
        if ring.len == self.capacity {
            if flags & BPF_EXIST == 0 {
                return Err(MapError::TooBig);
            }
            // Make room by dropping the oldest element.
            ring.head = (ring.head + 1) % self.capacity;
            ring.len -= 1;
        }
        let range = self.slot(&ring, ring.len);
        if let Some(dst) = ring.buf.get_mut(range) {
            dst.copy_from_slice(value);
        }
        ring.len += 1;
        Ok(())
    }

    fn pop(&self) -> Result<Vec<u8>, MapError> {
        self.take(true)
    }

    fn peek(&self, _value: Option<&[u8]>) -> Result<Vec<u8>, MapError> {
        self.take(false)
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}
