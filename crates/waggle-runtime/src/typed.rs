//! Typed access to maps from the application.
//!
//! ```no_run
//! use waggle_runtime::{LoadOptions, LoadedObject, TypedMap};
//! let obj = LoadedObject::from_file("examples/c/xdp_proto_count.bpf.o".as_ref(), &LoadOptions::default())?;
//! // BPF_MAP_TYPE_PERCPU_ARRAY of u64 keyed by protocol number.
//! let counts: TypedMap<u32, u64> = obj.typed_map("proto_count")?;
//! let tcp: u64 = counts.lookup_percpu(&6)?.iter().sum();
//! for (proto, per_cpu) in counts.iter_percpu() {
//!     println!("{proto}: {}", per_cpu.iter().sum::<u64>());
//! }
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use crate::loader::LoadedObject;
use bytemuck::Pod;
use std::marker::PhantomData;
use std::sync::Arc;
use waggle_maps::{Map, MapError};

/// A map viewed with Rust key and value types whose sizes match the map's.
/// Keys and values are plain data (`bytemuck::Pod`): integers, arrays of
/// them, `#[repr(C)]` structs without padding.
pub struct TypedMap<K, V> {
    map: Arc<dyn Map>,
    _types: PhantomData<fn(K) -> V>,
}

impl LoadedObject {
    /// The map `name` as a [`TypedMap`]; errors when the sizes of `K` and
    /// `V` do not match the map's key and value sizes.
    pub fn typed_map<K: Pod, V: Pod>(&self, name: &str) -> Result<TypedMap<K, V>, MapError> {
        let map = self
            .map(name)
            .ok_or_else(|| MapError::Invalid(format!("no map `{name}`")))?
            .clone();
        TypedMap::new(map)
    }
}

impl<K: Pod, V: Pod> TypedMap<K, V> {
    pub fn new(map: Arc<dyn Map>) -> Result<TypedMap<K, V>, MapError> {
        let spec = map.spec();
        let (k, v) = (size_of::<K>(), size_of::<V>());
        if spec.key_size as usize != k || spec.value_size as usize != v {
            return Err(MapError::Invalid(format!(
                "map `{}` has {}-byte keys and {}-byte values; the types are {k} and {v} bytes",
                spec.name, spec.key_size, spec.value_size
            )));
        }
        Ok(TypedMap {
            map,
            _types: PhantomData,
        })
    }

    /// The untyped map.
    pub fn map(&self) -> &Arc<dyn Map> {
        &self.map
    }

    /// The value for `key`, `None` when absent. For per-CPU maps, use
    /// [`TypedMap::lookup_percpu`].
    pub fn lookup(&self, key: &K) -> Result<Option<V>, MapError> {
        match self.map.lookup(bytemuck::bytes_of(key)) {
            Ok(bytes) => Ok(Some(bytemuck::pod_read_unaligned(&bytes[..size_of::<V>()]))),
            Err(MapError::NotFound) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Every CPU's value for `key` of a per-CPU map (empty when absent).
    pub fn lookup_percpu(&self, key: &K) -> Result<Vec<V>, MapError> {
        match self.map.lookup(bytemuck::bytes_of(key)) {
            Ok(bytes) => Ok(split_percpu(&bytes)),
            Err(MapError::NotFound) => Ok(Vec::new()),
            Err(e) => Err(e),
        }
    }

    /// `bpf_map_update_elem` from the application (`flags`: `BPF_ANY`,
    /// `BPF_NOEXIST`, `BPF_EXIST`, `BPF_F_LOCK`).
    pub fn update(&self, key: &K, value: &V, flags: u64) -> Result<(), MapError> {
        self.map
            .update(bytemuck::bytes_of(key), bytemuck::bytes_of(value), flags, 0)
    }

    pub fn delete(&self, key: &K) -> Result<(), MapError> {
        self.map.delete(bytemuck::bytes_of(key))
    }

    /// The keys, in the map's iteration order.
    pub fn keys(&self) -> impl Iterator<Item = K> + '_ {
        let mut last: Option<Vec<u8>> = None;
        std::iter::from_fn(move || {
            let next = self.map.next_key(last.as_deref()).ok()?;
            let key = bytemuck::pod_read_unaligned(&next);
            last = Some(next);
            Some(key)
        })
    }

    /// Entries of a map with one value per key.
    pub fn iter(&self) -> impl Iterator<Item = (K, V)> + '_ {
        self.keys()
            .filter_map(|k| Some((k, self.lookup(&k).ok()??)))
    }

    /// Entries of a per-CPU map, with every CPU's value.
    pub fn iter_percpu(&self) -> impl Iterator<Item = (K, Vec<V>)> + '_ {
        self.keys()
            .filter_map(|k| Some((k, self.lookup_percpu(&k).ok()?)))
    }
}

/// Per-CPU values as the application sees them: each rounded up to 8 bytes.
fn split_percpu<V: Pod>(bytes: &[u8]) -> Vec<V> {
    let stride = size_of::<V>().div_ceil(8) * 8;
    bytes
        .chunks(stride)
        .filter(|c| c.len() >= size_of::<V>())
        .map(|c| bytemuck::pod_read_unaligned(&c[..size_of::<V>()]))
        .collect()
}
