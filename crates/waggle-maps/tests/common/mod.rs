//! Shared helpers for the map tests.
#![allow(dead_code)]

use std::sync::Arc;
use waggle_maps::{create, Map, MapError, MapOptions, MapSpec, MapType};

/// Four CPUs, so per-CPU layouts are visible.
pub const OPTS: MapOptions = MapOptions { cpus: 4 };

pub const ENOENT: i64 = -2;
pub const EAGAIN: i64 = -11;
pub const ENOMEM: i64 = -12;
pub const EEXIST: i64 = -17;
pub const EINVAL: i64 = -22;
pub const E2BIG: i64 = -7;
pub const ENOSPC: i64 = -28;
pub const EOPNOTSUPP: i64 = -95;

pub fn spec(map_type: MapType, key_size: u32, value_size: u32, max_entries: u32) -> MapSpec {
    MapSpec {
        name: format!("test_{}", map_type.name()),
        map_type,
        key_size,
        value_size,
        max_entries,
        flags: 0,
        map_extra: 0,
        spin_lock_offset: None,
        inner: None,
    }
}

pub fn with_flags(mut s: MapSpec, flags: u32) -> MapSpec {
    s.flags = flags;
    s
}

pub fn make(s: &MapSpec) -> Arc<dyn Map> {
    match create(s, OPTS) {
        Ok(m) => m,
        Err(e) => panic!("creating {s:?}: {e}"),
    }
}

/// The errno of a failed result (panics on success).
pub fn errno<T: std::fmt::Debug>(r: Result<T, MapError>) -> i64 {
    match r {
        Ok(v) => panic!("expected an error, got Ok({v:?})"),
        Err(e) => e.errno(),
    }
}

/// The errno and message of a failed creation.
pub fn create_err(s: &MapSpec) -> (i64, String) {
    match create(s, OPTS) {
        Ok(_) => panic!("creating {s:?} should fail"),
        Err(e) => (e.errno(), e.to_string()),
    }
}

pub fn k32(i: u32) -> [u8; 4] {
    i.to_ne_bytes()
}

pub fn k64(i: u64) -> [u8; 8] {
    i.to_ne_bytes()
}

pub fn u64_at(bytes: &[u8], at: usize) -> u64 {
    u64::from_ne_bytes(bytes[at..at + 8].try_into().unwrap())
}

pub fn u32_at(bytes: &[u8], at: usize) -> u32 {
    u32::from_ne_bytes(bytes[at..at + 4].try_into().unwrap())
}

/// Downcasts a created map to its concrete type.
pub fn concrete<T: 'static>(m: &Arc<dyn Map>) -> &T {
    m.as_any()
        .downcast_ref::<T>()
        .expect("map of the expected concrete type")
}
