//! The map helpers' fast path on the JIT: what `bpf_map_lookup_elem`,
//! `bpf_map_update_elem` and `bpf_map_delete_elem` do, described to the JIT
//! (`waggle_jit::MapAccess`) for the maps a program names by address.
//!
//! Array lookups are inlined (the JIT computes the value's address from the
//! array's layout); hash, LRU hash and LPM trie operations, and array
//! updates and deletes, are direct calls of the functions below with the
//! map object, skipping the helper trampoline and the search of the map by
//! its address. They do what the helpers in `maps.rs` do in an unchecked
//! run — the JIT only runs verified programs, so the type checks and
//! region grants of the helpers have nothing to do — and LRU lookups still
//! mark the element as used. Per-CPU maps take the run's CPU slot, which
//! compiled code does not know, so they keep the helper unless the object
//! has a single slot (then every run uses slot 0). Map-in-map, queue, ring
//! buffer and the other types keep the helpers too.

use super::map_result;
use std::ffi::c_void;
use std::sync::Arc;
use waggle_jit::{Lookup, MapAccess};
use waggle_maps::{map_address, ArrayMap, HashMap, LpmTrie, Map, MapType};

/// An object's maps, as the JIT may reach them.
pub(crate) struct JitMaps {
    maps: Vec<Arc<dyn Map>>,
    /// Per-CPU slots of the object's maps.
    cpus: u32,
}

impl JitMaps {
    pub fn new(maps: &[Arc<dyn Map>], cpus: u32) -> JitMaps {
        JitMaps {
            maps: maps.to_vec(),
            cpus,
        }
    }

    /// How compiled code may use the map at `address`, if it is one of the
    /// object's maps and of a type with a fast path.
    pub fn access(&self, address: u64) -> Option<MapAccess> {
        let map = self.maps.iter().find(|m| map_address(m) == address)?;
        let percpu = matches!(
            map.spec().map_type,
            MapType::PercpuArray | MapType::PercpuHash | MapType::LruPercpuHash
        );
        if percpu && self.cpus > 1 {
            return None;
        }
        let any = map.as_any();
        let keepalive = Box::new(map.clone());
        if let Some(array) = any.downcast_ref::<ArrayMap>() {
            let layout = array.layout();
            let lookup = Lookup::Array {
                base: layout.base,
                max_entries: layout.max_entries,
                stride: u32::try_from(layout.stride).ok()?,
            };
            return Some(MapAccess {
                map: object(array),
                lookup: (layout.cpus == 1).then_some(lookup),
                update: Some(update::<ArrayMap>),
                delete: Some(delete::<ArrayMap>),
                keepalive,
            });
        }
        let (map, lookup, update, delete) = if let Some(hash) = any.downcast_ref::<HashMap>() {
            (
                object(hash),
                lookup::<HashMap> as waggle_jit::LookupFn,
                update::<HashMap> as waggle_jit::UpdateFn,
                delete::<HashMap> as waggle_jit::DeleteFn,
            )
        } else if let Some(trie) = any.downcast_ref::<LpmTrie>() {
            (
                object(trie),
                lookup::<LpmTrie> as waggle_jit::LookupFn,
                update::<LpmTrie> as waggle_jit::UpdateFn,
                delete::<LpmTrie> as waggle_jit::DeleteFn,
            )
        } else {
            return None;
        };
        Some(MapAccess {
            map,
            lookup: Some(Lookup::Call(lookup)),
            update: Some(update),
            delete: Some(delete),
            keepalive,
        })
    }
}

/// The object the functions below receive.
fn object<M: Map>(map: &M) -> *const c_void {
    (map as *const M).cast()
}

/// The map `map` points to and the key at `key`.
///
/// # Safety
/// `map` is an `M` given to the JIT by [`JitMaps::access`], which the
/// compiled program keeps alive; `key` points to the map's `key_size`
/// readable bytes, as the verifier proves for the helper's key argument.
unsafe fn map_and_key<'a, M: Map>(map: *const c_void, key: *const u8) -> (&'a M, &'a [u8]) {
    // SAFETY: the caller's guarantee.
    let map = unsafe { &*map.cast::<M>() };
    let len = map.spec().key_size as usize;
    // SAFETY: the caller's guarantee.
    (map, unsafe { std::slice::from_raw_parts(key, len) })
}

/// `bpf_map_lookup_elem`; slot 0 for per-CPU maps (single-slot objects
/// only, see [`JitMaps::access`]).
///
/// # Safety
/// As for [`map_and_key`].
unsafe extern "C" fn lookup<M: Map>(map: *const c_void, key: *const u8) -> u64 {
    // SAFETY: forwarded from the caller.
    let (map, key) = unsafe { map_and_key::<M>(map, key) };
    map.lookup_ptr(key, 0).map_or(0, |p| p.as_ptr() as u64)
}

/// `bpf_map_update_elem`.
///
/// # Safety
/// As for [`map_and_key`], and `value` points to the map's `value_size`
/// readable bytes.
unsafe extern "C" fn update<M: Map>(
    map: *const c_void,
    key: *const u8,
    value: *const u8,
    flags: u64,
) -> u64 {
    // SAFETY: forwarded from the caller.
    let (map, key) = unsafe { map_and_key::<M>(map, key) };
    let len = map.spec().value_size as usize;
    // SAFETY: the caller's guarantee.
    let value = unsafe { std::slice::from_raw_parts(value, len) };
    map_result(map.update(key, value, flags, 0))
}

/// `bpf_map_delete_elem`.
///
/// # Safety
/// As for [`map_and_key`].
unsafe extern "C" fn delete<M: Map>(map: *const c_void, key: *const u8) -> u64 {
    // SAFETY: forwarded from the caller.
    let (map, key) = unsafe { map_and_key::<M>(map, key) };
    map_result(map.delete(key))
}
