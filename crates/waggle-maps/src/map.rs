//! The interface every map type implements.

use crate::array::ArrayMap;
use crate::hash::HashMap;
use crate::queue::QueueStack;
use crate::{MapError, MapSpec};
use std::any::Any;
use std::ptr::NonNull;
use std::sync::Arc;

/// How maps are created on this host.
#[derive(Debug, Clone, Copy)]
pub struct MapOptions {
    /// Number of per-CPU slots (the `cpu` argument ranges over `0..cpus`).
    pub cpus: u32,
}

/// A map. All methods take `&self`: maps are shared between threads.
///
/// Two views: the program's (`lookup_ptr`, `update`, `delete`, `push`,
/// `pop`, `peek` with the calling thread's `cpu`), which works on value
/// memory in place, and the application's (`lookup`, `update_all`,
/// `next_key`), which copies, and for per-CPU maps sees every CPU's value
/// (each rounded up to 8 bytes, concatenated, as `bpf(BPF_MAP_LOOKUP_ELEM)`
/// returns them).
pub trait Map: Send + Sync + 'static {
    fn spec(&self) -> &MapSpec;

    /// The address of the value for `key` as the program sees it (this CPU's
    /// copy for per-CPU maps; the inner map's address for map-in-map types),
    /// or `None`. The address stays valid for the map's lifetime.
    fn lookup_ptr(&self, key: &[u8], cpu: u32) -> Option<NonNull<u8>>;

    /// `bpf_map_update_elem` from a program or the application: for per-CPU
    /// maps, writes `cpu`'s copy only (a program's view).
    fn update(&self, key: &[u8], value: &[u8], flags: u64, cpu: u32) -> Result<(), MapError>;

    /// `bpf_map_delete_elem`.
    fn delete(&self, key: &[u8]) -> Result<(), MapError>;

    /// The application's copy of the value for `key` (every CPU's for per-CPU maps).
    fn lookup(&self, key: &[u8]) -> Result<Vec<u8>, MapError>;

    /// The application's update: for per-CPU maps `value` holds every CPU's
    /// value, each rounded up to 8 bytes; otherwise as [`Map::update`].
    fn update_all(&self, key: &[u8], value: &[u8], flags: u64) -> Result<(), MapError>;

    /// The key after `key` (the first key for `None`), for iteration;
    /// `NotFound` past the last.
    fn next_key(&self, key: Option<&[u8]>) -> Result<Vec<u8>, MapError>;

    /// `bpf_map_push_elem` (queue, stack, bloom filter).
    fn push(&self, _value: &[u8], _flags: u64) -> Result<(), MapError> {
        Err(MapError::NotSupported(self.spec().map_type.name()))
    }

    /// `bpf_map_pop_elem` (queue, stack).
    fn pop(&self) -> Result<Vec<u8>, MapError> {
        Err(MapError::NotSupported(self.spec().map_type.name()))
    }

    /// `bpf_map_peek_elem` (queue, stack; bloom filter: `value` membership).
    fn peek(&self, _value: Option<&[u8]>) -> Result<Vec<u8>, MapError> {
        Err(MapError::NotSupported(self.spec().map_type.name()))
    }

    /// Downcasting to a concrete type, for type-specific operations (ring
    /// buffer reserve and consume, perf event output, prog array slots).
    fn as_any(&self) -> &dyn Any;
}

/// Creates a map of `spec`'s type, validating the spec as Linux does
/// (`EINVAL` for zero sizes, bad flags, a key size the type forbids, ...).
/// A map that would take more than [`MAX_MAP_BYTES`](crate::MAX_MAP_BYTES)
/// is refused with `ENOMEM`.
///
/// Type-specific operations are on the concrete types, reached with
/// [`Map::as_any`]: [`RingBuf`](crate::RingBuf),
/// [`PerfEventArray`](crate::PerfEventArray), [`ProgArray`](crate::ProgArray),
/// [`ArrayOfMaps`](crate::ArrayOfMaps), [`HashOfMaps`](crate::HashOfMaps).
pub fn create(spec: &MapSpec, opts: MapOptions) -> Result<Arc<dyn Map>, MapError> {
    use crate::MapType::*;
    Ok(match spec.map_type {
        Array | PercpuArray => Arc::new(ArrayMap::new(spec, opts)?),
        Hash | PercpuHash | LruHash | LruPercpuHash => Arc::new(HashMap::new(spec, opts)?),
        LpmTrie => Arc::new(crate::lpm::LpmTrie::new(spec, opts)?),
        Queue | Stack => Arc::new(QueueStack::new(spec, opts)?),
        BloomFilter => Arc::new(crate::bloom::BloomFilter::new(spec, opts)?),
        RingBuf => Arc::new(crate::ringbuf::RingBuf::new(spec, opts)?),
        PerfEventArray => Arc::new(crate::perf::PerfEventArray::new(spec, opts)?),
        ProgArray => Arc::new(crate::prog_array::ProgArray::new(spec, opts)?),
        ArrayOfMaps => Arc::new(crate::map_in_map::ArrayOfMaps::new(spec, opts)?),
        HashOfMaps => Arc::new(crate::map_in_map::HashOfMaps::new(spec, opts)?),
    })
}

/// Checks `spec` as [`create`] would, without allocating anything.
pub fn validate(spec: &MapSpec, opts: MapOptions) -> Result<(), MapError> {
    let bytes = check_spec(spec, opts)?;
    crate::check::cap(bytes)
}

/// The type's creation checks; returns the bytes the map would take.
pub(crate) fn check_spec(spec: &MapSpec, opts: MapOptions) -> Result<u64, MapError> {
    use crate::MapType::*;
    match spec.map_type {
        Array | PercpuArray => ArrayMap::check(spec, opts),
        Hash | PercpuHash | LruHash | LruPercpuHash => HashMap::check(spec, opts),
        LpmTrie => crate::lpm::LpmTrie::check(spec, opts),
        Queue | Stack => QueueStack::check(spec, opts),
        BloomFilter => crate::bloom::BloomFilter::check(spec, opts),
        RingBuf => crate::ringbuf::RingBuf::check(spec, opts),
        PerfEventArray => {
            crate::perf::PerfEventArray::check(spec, opts, crate::perf::PERF_BUFFER_BYTES)
        }
        ProgArray => crate::prog_array::ProgArray::check(spec, opts),
        ArrayOfMaps => crate::map_in_map::ArrayOfMaps::check(spec, opts),
        HashOfMaps => crate::map_in_map::HashOfMaps::check(spec, opts),
    }
}

/// The address that identifies `map` to programs: the LD_IMM64 of a map
/// reference loads it, helpers receive it, map-in-map lookups return it.
pub fn map_address(map: &Arc<dyn Map>) -> u64 {
    Arc::as_ptr(map) as *const u8 as u64
}
