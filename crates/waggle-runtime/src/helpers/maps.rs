//! Map helpers: lookup, update, delete, push/pop/peek, for-each.
//!
//! The map operations are the maps' own (`waggle_maps`, Linux semantics and
//! errnos); the helpers add what the verifier would check (which map types
//! a helper accepts) and what the kernel's calling convention implies:
//! lookups of value-bearing maps (array, hash, their per-CPU and LRU kinds,
//! LPM trie) hand out the value's address and grant it to the program
//! (read-only for `BPF_F_RDONLY_PROG` maps); lookups of maps of maps return
//! the inner map's address, which the program may only pass back to map
//! helpers; per-CPU maps use the run's CPU slot.
//!
//! `bpf_for_each_map_elem` visits the elements present when it starts
//! (hash maps: a snapshot of their keys, skipping keys deleted meanwhile;
//! arrays: every index), lending the callback the key (read-only) and the
//! value for the duration of the call. Unlike Linux, visiting an LRU map
//! marks its elements as recently used (the visit is a lookup).
//!
//! On the JIT, lookups, updates and deletes on the object's own maps mostly
//! bypass these functions (see `jit_maps.rs`): a change of their semantics
//! must be made there too.

use super::{cpu, errno, grant, lend, map_at, map_result, neg, refused, relend, take_back};
use crate::env::env;
use std::collections::HashSet;
use std::sync::Arc;
use waggle_maps::{Map, MapFlags, MapType};
use waggle_vm::{HelperContext, HelperResult, Interrupt, Region};

/// Map types whose values programs reach by pointer.
fn value_bearing(t: MapType) -> bool {
    use MapType::*;
    matches!(
        t,
        Array | PercpuArray | Hash | PercpuHash | LruHash | LruPercpuHash | LpmTrie
    )
}

/// Map types the generic lookup/update/delete helpers refuse (Linux's
/// `check_map_func_compatibility`).
fn keyless(t: MapType) -> bool {
    use MapType::*;
    matches!(
        t,
        ProgArray | PerfEventArray | RingBuf | Queue | Stack | BloomFilter
    )
}

fn check_type(map: &Arc<dyn Map>, helper: &str, ok: bool) -> Result<(), Interrupt> {
    if ok {
        Ok(())
    } else {
        Err(refused(format_args!(
            "{helper} on {} map {}",
            map.spec().map_type.name(),
            map.spec().name
        )))
    }
}

/// The value region of `map`'s element at `ptr`.
fn value_region(map: &Arc<dyn Map>, ptr: u64) -> Region {
    let spec = map.spec();
    let writable = spec.flags & MapFlags::RDONLY_PROG == 0;
    Region::new(ptr, u64::from(spec.value_size), writable)
}

/// `bpf_map_lookup_elem(map, key)`.
pub(crate) fn lookup_elem(cx: &mut HelperContext<'_>, a: [u64; 5]) -> HelperResult {
    let map = map_at(cx, a[0])?;
    let t = map.spec().map_type;
    check_type(&map, "bpf_map_lookup_elem", !keyless(t))?;
    let cpu = cpu(cx)?;
    let key = cx.read(a[1], u64::from(map.spec().key_size))?;
    let Some(ptr) = map.lookup_ptr(key, cpu) else {
        return Ok(0);
    };
    let ptr = ptr.as_ptr() as u64;
    if value_bearing(t) {
        let region = value_region(&map, ptr);
        // SAFETY: map values stay allocated for the map's lifetime, and the
        // run holds the map (through its `Shared`, or an outer map that keeps
        // retired inner maps alive).
        unsafe { grant(cx, region) };
        if cx.is_checked() {
            let values = &mut env(cx)?.helper_state.map_values;
            if !values.contains(&(region.start, region.end)) {
                values.push((region.start, region.end));
            }
        }
    }
    Ok(ptr)
}

/// `bpf_map_update_elem(map, key, value, flags)`.
pub(crate) fn update_elem(cx: &mut HelperContext<'_>, a: [u64; 5]) -> HelperResult {
    let map = map_at(cx, a[0])?;
    let t = map.spec().map_type;
    let ok = !keyless(t) && !matches!(t, MapType::ArrayOfMaps | MapType::HashOfMaps);
    check_type(&map, "bpf_map_update_elem", ok)?;
    let cpu = cpu(cx)?;
    let spec = map.spec();
    let key = cx.read(a[1], u64::from(spec.key_size))?;
    let value = cx.read(a[2], u64::from(spec.value_size))?;
    Ok(map_result(map.update(key, value, a[3], cpu)))
}

/// `bpf_map_delete_elem(map, key)`.
pub(crate) fn delete_elem(cx: &mut HelperContext<'_>, a: [u64; 5]) -> HelperResult {
    let map = map_at(cx, a[0])?;
    let t = map.spec().map_type;
    let ok = !keyless(t) && !matches!(t, MapType::ArrayOfMaps | MapType::HashOfMaps);
    check_type(&map, "bpf_map_delete_elem", ok)?;
    let key = cx.read(a[1], u64::from(map.spec().key_size))?;
    Ok(map_result(map.delete(key)))
}

/// `bpf_map_push_elem(map, value, flags)`: queue, stack, bloom filter.
pub(crate) fn push_elem(cx: &mut HelperContext<'_>, a: [u64; 5]) -> HelperResult {
    let map = map_at(cx, a[0])?;
    let t = map.spec().map_type;
    let ok = matches!(t, MapType::Queue | MapType::Stack | MapType::BloomFilter);
    check_type(&map, "bpf_map_push_elem", ok)?;
    let value = cx.read(a[1], u64::from(map.spec().value_size))?;
    Ok(map_result(map.push(value, a[2])))
}

/// `bpf_map_pop_elem(map, value)`: queue, stack.
pub(crate) fn pop_elem(cx: &mut HelperContext<'_>, a: [u64; 5]) -> HelperResult {
    let map = map_at(cx, a[0])?;
    let ok = matches!(map.spec().map_type, MapType::Queue | MapType::Stack);
    check_type(&map, "bpf_map_pop_elem", ok)?;
    let dst = cx.write(a[1], u64::from(map.spec().value_size))?;
    Ok(copy_out(map.pop(), dst))
}

/// `bpf_map_peek_elem(map, value)`: queue and stack copy their next element
/// to `value`; a bloom filter tests whether `value` may be a member (0) or
/// certainly is not (`-ENOENT`).
pub(crate) fn peek_elem(cx: &mut HelperContext<'_>, a: [u64; 5]) -> HelperResult {
    let map = map_at(cx, a[0])?;
    let t = map.spec().map_type;
    let size = u64::from(map.spec().value_size);
    match t {
        MapType::BloomFilter => {
            let value = cx.read(a[1], size)?;
            Ok(map_result(map.peek(Some(value)).map(|_| ())))
        }
        MapType::Queue | MapType::Stack => {
            let dst = cx.write(a[1], size)?;
            Ok(copy_out(map.peek(None), dst))
        }
        _ => Err(refused(format_args!(
            "bpf_map_peek_elem on {} map {}",
            t.name(),
            map.spec().name
        ))),
    }
}

fn copy_out(r: Result<Vec<u8>, waggle_maps::MapError>, dst: &mut [u8]) -> u64 {
    match r {
        Ok(v) => {
            let n = v.len().min(dst.len());
            dst[..n].copy_from_slice(&v[..n]);
            0
        }
        Err(e) => e.errno() as u64,
    }
}

/// The keys `bpf_for_each_map_elem` visits.
fn keys_to_visit(map: &Arc<dyn Map>) -> Vec<Vec<u8>> {
    let spec = map.spec();
    if matches!(spec.map_type, MapType::Array | MapType::PercpuArray) {
        return (0..spec.max_entries)
            .map(|i| i.to_ne_bytes().to_vec())
            .collect();
    }
    let limit = spec.max_entries as usize + 1;
    let mut keys = Vec::new();
    let mut seen = HashSet::new();
    let mut prev: Option<Vec<u8>> = None;
    // Bounded: a concurrent delete may restart the walk from the first key.
    for _ in 0..limit * 2 {
        let Ok(key) = map.next_key(prev.as_deref()) else {
            break;
        };
        if seen.insert(key.clone()) {
            keys.push(key.clone());
        }
        prev = Some(key);
        if keys.len() >= limit {
            break;
        }
    }
    keys
}

/// `bpf_for_each_map_elem(map, callback, ctx, flags)`: calls
/// `callback(map, key, value, ctx)` for each element until it returns
/// non-zero; returns the number of elements visited, or `-EINVAL` for flags
/// other than 0.
pub(crate) fn for_each_map_elem(cx: &mut HelperContext<'_>, a: [u64; 5]) -> HelperResult {
    let [map_addr, callback, ctx, flags, _] = a;
    let map = map_at(cx, map_addr)?;
    use MapType::*;
    let ok = matches!(
        map.spec().map_type,
        Hash | LruHash | Array | PercpuArray | PercpuHash | LruPercpuHash
    );
    check_type(&map, "bpf_for_each_map_elem", ok)?;
    if flags != 0 {
        return Ok(neg(errno::EINVAL));
    }
    let cpu = cpu(cx)?;
    let key_size = map.spec().key_size as usize;
    // The key the callback sees: one buffer, lent read-only for the loop.
    let mut key = vec![0u8; key_size.max(1)];
    let key_addr = key.as_ptr() as u64;
    // SAFETY: `key` lives, unmoved, until the regions are taken back below.
    let key_slot = unsafe { lend(cx, Region::new(key_addr, key_size as u64, false)) };
    // SAFETY: an empty region needs no memory.
    let value_slot = unsafe { lend(cx, Region::new(0, 0, false)) };
    let mut visited = 0u64;
    let mut result = Ok(());
    for k in keys_to_visit(&map) {
        let Some(ptr) = map.lookup_ptr(&k, cpu) else {
            continue;
        };
        let ptr = ptr.as_ptr() as u64;
        let n = key_size.min(k.len());
        key[..n].copy_from_slice(&k[..n]);
        // SAFETY: map values stay allocated for the map's lifetime.
        unsafe { relend(cx, value_slot, value_region(&map, ptr)) };
        visited += 1;
        match cx.call_function(callback, [map_addr, key_addr, ptr, ctx, 0]) {
            Ok(0) => {}
            Ok(_) => break,
            Err(e) => {
                result = Err(e);
                break;
            }
        }
    }
    take_back(cx, key_slot);
    take_back(cx, value_slot);
    drop(key);
    result.map(|()| visited)
}
