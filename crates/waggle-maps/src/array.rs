//! `BPF_MAP_TYPE_ARRAY` and `BPF_MAP_TYPE_PERCPU_ARRAY`.
//!
//! Every element exists from creation, zeroed: the key is a `u32` index
//! below `max_entries`. Values live in one fixed region, each padded to 8
//! bytes (per-CPU: `cpus` consecutive copies per element), so the pointer a
//! program gets from a lookup is valid for the map's lifetime. Programs read
//! and write values without locks, as in Linux; map updates copy in place.

use crate::check::{self, invalid, round8};
use crate::lock::ValueLayout;
use crate::region::Region;
use crate::{
    Map, MapError, MapFlags, MapOptions, MapSpec, MapType, BPF_EXIST, BPF_F_LOCK, BPF_NOEXIST,
};
use std::any::Any;
use std::ptr::NonNull;

/// Where an array keeps its values, for code that computes value addresses
/// itself instead of calling [`Map::lookup_ptr`] (a JIT inlining lookups).
///
/// The value of element `index` (below `max_entries`) for `cpu` (below
/// `cpus`; always 0 for a plain array) is at `base + (index * cpus + cpu) *
/// stride`, exactly the address `lookup_ptr` returns. The memory is the map's
/// for its whole lifetime: the layout stays valid as long as the map lives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ArrayLayout {
    pub base: NonNull<u8>,
    pub max_entries: u32,
    /// Copies of each element: the CPU slots of a per-CPU array, else 1.
    pub cpus: u32,
    /// Bytes between consecutive values: the value size rounded up to 8.
    pub stride: usize,
}

pub struct ArrayMap {
    spec: MapSpec,
    percpu: bool,
    cpus: u32,
    /// Bytes between consecutive values (value size rounded up to 8).
    stride: usize,
    layout: ValueLayout,
    values: Region,
}

impl ArrayMap {
    /// Validates `spec` as Linux's `array_map_alloc_check` does and
    /// returns the bytes the map will take.
    pub(crate) fn check(spec: &MapSpec, opts: MapOptions) -> Result<u64, MapError> {
        check::common(spec, opts)?;
        check::array_like_flags(spec)?;
        check::max_entries_nonzero(spec)?;
        check::key_size_is(spec, 4)?;
        check::value_size_nonzero(spec)?;
        let percpu = spec.map_type == MapType::PercpuArray;
        if percpu && spec.flags & MapFlags::NUMA_NODE != 0 {
            return Err(invalid(format!(
                "{}: BPF_F_NUMA_NODE is not supported by per-CPU arrays",
                spec.name
            )));
        }
        if u64::from(spec.value_size) > i32::MAX as u64 {
            return Err(MapError::TooBig);
        }
        if percpu && round8(u64::from(spec.value_size)) > check::PCPU_MIN_UNIT_SIZE {
            return Err(MapError::TooBig);
        }
        let copies = if percpu { u64::from(opts.cpus) } else { 1 };
        Ok(round8(u64::from(spec.value_size))
            .saturating_mul(copies)
            .saturating_mul(u64::from(spec.max_entries)))
    }

    pub fn new(spec: &MapSpec, opts: MapOptions) -> Result<ArrayMap, MapError> {
        if !matches!(spec.map_type, MapType::Array | MapType::PercpuArray) {
            return Err(invalid(format!("{}: not an array map", spec.name)));
        }
        let bytes = Self::check(spec, opts)?;
        check::cap(bytes)?;
        let percpu = spec.map_type == MapType::PercpuArray;
        Ok(ArrayMap {
            spec: spec.clone(),
            percpu,
            cpus: if percpu { opts.cpus } else { 1 },
            stride: round8(u64::from(spec.value_size)) as usize,
            layout: ValueLayout {
                size: spec.value_size as usize,
                lock: spec.spin_lock_offset.map(|o| o as usize),
            },
            values: Region::zeroed(bytes)?,
        })
    }

    /// Where the values are (see [`ArrayLayout`]).
    pub fn layout(&self) -> ArrayLayout {
        ArrayLayout {
            base: self.values.start(),
            max_entries: self.spec.max_entries,
            cpus: self.cpus,
            stride: self.stride,
        }
    }

    /// The value of element `index` for `cpu` (per-CPU) or the only copy.
    fn value_ptr(&self, index: u32, cpu: u32) -> Option<*mut u8> {
        if index >= self.spec.max_entries || cpu >= self.cpus {
            return None;
        }
        let slot = index as usize * self.cpus as usize + cpu as usize;
        self.values.at(slot * self.stride, self.stride)
    }

    /// Linux's flag checks for an update of element `index`: unknown flags,
    /// then the index (E2BIG: elements cannot be added), then `BPF_NOEXIST`
    /// (every element exists), then `BPF_F_LOCK` without a lock.
    fn check_update(&self, index: u32, flags: u64, allow_lock: bool) -> Result<(), MapError> {
        let lock_bit = if allow_lock { BPF_F_LOCK } else { 0 };
        if flags & !lock_bit > BPF_EXIST {
            return Err(invalid(format!(
                "{}: unknown update flags {flags:#x}",
                self.spec.name
            )));
        }
        if index >= self.spec.max_entries {
            return Err(MapError::TooBig);
        }
        if flags & BPF_NOEXIST != 0 {
            return Err(MapError::Exists);
        }
        if flags & BPF_F_LOCK != 0 && self.layout.lock.is_none() {
            return Err(invalid(format!(
                "{}: BPF_F_LOCK on a value without a bpf_spin_lock",
                self.spec.name
            )));
        }
        Ok(())
    }

    /// The application's lookup with `bpf(BPF_MAP_LOOKUP_ELEM)` flags: 0, or
    /// `BPF_F_LOCK` to copy the value while holding its spin lock.
    pub fn lookup_with_flags(&self, key: &[u8], flags: u64) -> Result<Vec<u8>, MapError> {
        if flags & !BPF_F_LOCK != 0 {
            return Err(invalid(format!(
                "{}: unknown lookup flags {flags:#x}",
                self.spec.name
            )));
        }
        if flags & BPF_F_LOCK == 0 {
            return self.lookup(key);
        }
        if self.layout.lock.is_none() {
            return Err(invalid(format!(
                "{}: BPF_F_LOCK on a value without a bpf_spin_lock",
                self.spec.name
            )));
        }
        let index = check::index_key(&self.spec, key)?;
        let ptr = self.value_ptr(index, 0).ok_or(MapError::NotFound)?;
        let mut out = vec![0u8; self.layout.size];
        // SAFETY: `ptr` is a value of this layout inside the region.
        unsafe { self.layout.read_locked(ptr, &mut out) };
        Ok(out)
    }
}

impl Map for ArrayMap {
    fn spec(&self) -> &MapSpec {
        &self.spec
    }

    fn lookup_ptr(&self, key: &[u8], cpu: u32) -> Option<NonNull<u8>> {
        let index = check::index_key(&self.spec, key).ok()?;
        let cpu = if self.percpu { cpu } else { 0 };
        NonNull::new(self.value_ptr(index, cpu)?)
    }

    fn update(&self, key: &[u8], value: &[u8], flags: u64, cpu: u32) -> Result<(), MapError> {
        let index = check::index_key(&self.spec, key)?;
        check::value_len(&self.spec, value, self.layout.size)?;
        self.check_update(index, flags, true)?;
        let cpu = if self.percpu { cpu } else { 0 };
        let ptr = self
            .value_ptr(index, cpu)
            .ok_or_else(|| invalid(format!("{}: cpu {cpu} out of range", self.spec.name)))?;
        if flags & BPF_F_LOCK != 0 {
            // SAFETY: `ptr` is a value of this layout inside the region.
            unsafe { self.layout.write_locked(ptr, value) };
        } else {
            // SAFETY: as above.
            unsafe { self.layout.write(ptr, value) };
        }
        Ok(())
    }

    fn delete(&self, _key: &[u8]) -> Result<(), MapError> {
        Err(invalid(format!(
            "{}: array elements cannot be deleted",
            self.spec.name
        )))
    }

    fn lookup(&self, key: &[u8]) -> Result<Vec<u8>, MapError> {
        let index = check::index_key(&self.spec, key)?;
        if index >= self.spec.max_entries {
            return Err(MapError::NotFound);
        }
        let mut out = vec![0u8; self.stride * self.cpus as usize];
        for (cpu, chunk) in out.chunks_exact_mut(self.stride).enumerate() {
            let ptr = self
                .value_ptr(index, cpu as u32)
                .ok_or(MapError::NotFound)?;
            if let Some(dst) = chunk.get_mut(..self.layout.size) {
                // SAFETY: `ptr` is a value of this layout inside the region.
                unsafe { self.layout.read(ptr, dst) };
            }
        }
        if !self.percpu {
            out.truncate(self.layout.size);
        }
        Ok(out)
    }

    fn update_all(&self, key: &[u8], value: &[u8], flags: u64) -> Result<(), MapError> {
        if !self.percpu {
            return self.update(key, value, flags, 0);
        }
        let index = check::index_key(&self.spec, key)?;
        check::value_len(&self.spec, value, self.stride * self.cpus as usize)?;
        // bpf_percpu_array_update: BPF_F_LOCK is not accepted.
        self.check_update(index, flags, false)?;
        for (cpu, chunk) in value.chunks_exact(self.stride).enumerate() {
            let ptr = self.value_ptr(index, cpu as u32).ok_or(MapError::TooBig)?;
            if let Some(src) = chunk.get(..self.layout.size) {
                // SAFETY: `ptr` is a value of this layout inside the region.
                unsafe { self.layout.write(ptr, src) };
            }
        }
        Ok(())
    }

    fn next_key(&self, key: Option<&[u8]>) -> Result<Vec<u8>, MapError> {
        check::array_next_key(&self.spec, key)
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}
