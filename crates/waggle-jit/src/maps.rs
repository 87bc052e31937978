//! Map operations compiled code performs without a helper call.
//!
//! A helper call costs a trampoline, a [`waggle_vm::HelperContext`] and,
//! in the runtime, finding the map behind the address the program passed.
//! When the map is known at compile time (the program loads its address
//! with LD_IMM64 right before the call, as clang emits it), none of that is
//! needed: as Linux's verifier does (`map_gen_lookup`, direct calls of
//! `map->ops`), the JIT inlines array lookups into an index check and an
//! address computation, and calls the other maps' operations directly.
//!
//! The JIT knows nothing of map types: whoever compiles the program (the
//! runtime) describes each map it may inline with a [`MapAccess`] — the
//! array's value layout, or `extern "C"` functions taking the map object —
//! and vouches that they do what helpers 1 to 3 (`bpf_map_lookup_elem`,
//! `bpf_map_update_elem`, `bpf_map_delete_elem`) of its registry do. The
//! compiled program keeps each description's `keepalive`, so the memory the
//! code points into lives as long as the code.

use std::any::Any;
use std::collections::{HashMap, HashSet};
use std::ffi::c_void;
use std::ptr::NonNull;

/// Linux's ids of the map helpers the JIT can replace.
pub(crate) mod helper_id {
    pub const LOOKUP: i32 = 1;
    pub const UPDATE: i32 = 2;
    pub const DELETE: i32 = 3;
}

/// `bpf_map_lookup_elem(map, key)` called directly: the value's address, or 0.
///
/// Called with [`MapAccess::map`] and the program's key pointer. Must not
/// unwind: a panic aborts the process (the `extern "C"` ABI guarantees it),
/// since it cannot unwind through compiled code.
pub type LookupFn = unsafe extern "C" fn(map: *const c_void, key: *const u8) -> u64;

/// `bpf_map_update_elem(map, key, value, flags)` called directly: 0 or a
/// negative errno. Must not unwind, as [`LookupFn`].
pub type UpdateFn =
    unsafe extern "C" fn(map: *const c_void, key: *const u8, value: *const u8, flags: u64) -> u64;

/// `bpf_map_delete_elem(map, key)` called directly: 0 or a negative errno.
/// Must not unwind, as [`LookupFn`].
pub type DeleteFn = unsafe extern "C" fn(map: *const c_void, key: *const u8) -> u64;

/// How compiled code looks up an element of one map.
#[derive(Debug, Clone, Copy)]
pub enum Lookup {
    /// An array, inlined: the key is a `u32` index; below `max_entries` the
    /// value is at `base + index * stride`, otherwise the lookup returns 0.
    Array {
        base: NonNull<u8>,
        max_entries: u32,
        stride: u32,
    },
    /// A direct call.
    Call(LookupFn),
}

/// What compiled code may do with one map instead of calling a map helper
/// (each operation left `None` stays a helper call).
///
/// Everything here must behave as the registry's helper does on this map
/// for every run of the program (per-CPU maps: whatever CPU slot the run
/// has), and stay valid while `keepalive` lives; the compiled program
/// keeps `keepalive` until it is dropped. [`crate::JitProgram::run`]'s
/// safety contract includes this.
pub struct MapAccess {
    /// The object passed to the functions.
    pub map: *const c_void,
    pub lookup: Option<Lookup>,
    pub update: Option<UpdateFn>,
    pub delete: Option<DeleteFn>,
    /// Keeps the map (its values and the object `map` points to) alive.
    pub keepalive: Box<dyn Any + Send + Sync>,
}

/// How many map helper calls of a compiled program became what (call sites
/// as compiled: code shared between BPF functions is compiled once per
/// function, and counts as often).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MapCallSites {
    /// `bpf_map_lookup_elem` calls compiled to an index check and an address.
    pub inlined_lookups: usize,
    /// Lookups, updates and deletes compiled to a direct call of the map's
    /// operation.
    pub direct_calls: usize,
    /// Map helper calls left to the helper: the map was not known at
    /// compile time, or its description leaves the operation out.
    pub helper_calls: usize,
}

impl std::ops::AddAssign for MapCallSites {
    fn add_assign(&mut self, other: MapCallSites) {
        self.inlined_lookups += other.inlined_lookups;
        self.direct_calls += other.direct_calls;
        self.helper_calls += other.helper_calls;
    }
}

/// The maps a program names, by the address its LD_IMM64 loads.
#[derive(Default)]
pub(crate) struct MapTable {
    maps: HashMap<u64, MapAccess>,
}

impl MapTable {
    /// Asks `resolve` about every 64-bit immediate the program loads.
    pub fn resolve(
        values: impl Iterator<Item = u64>,
        resolve: &dyn Fn(u64) -> Option<MapAccess>,
    ) -> MapTable {
        let mut asked = HashSet::new();
        let maps = values
            .filter(|&v| asked.insert(v))
            .filter_map(|v| Some((v, resolve(v)?)))
            .collect();
        MapTable { maps }
    }

    pub fn get(&self, address: u64) -> Option<&MapAccess> {
        self.maps.get(&address)
    }

    /// What keeps the maps alive, for the compiled program to hold.
    pub fn into_keepalives(self) -> Box<[Box<dyn Any + Send + Sync>]> {
        self.maps.into_values().map(|m| m.keepalive).collect()
    }
}
