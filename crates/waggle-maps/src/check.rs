//! Creation checks shared by every map type (Linux's `map_create` and the
//! per-type `map_alloc_check`s), and the memory cap.

use crate::{MapError, MapFlags, MapOptions, MapSpec, MapType};

/// The most memory one map may take (values, keys, index, buffers). Linux
/// charges maps to the creator's memory cgroup; Waggle has no cgroup, so a
/// fixed cap keeps a hostile object file from exhausting the host: creating
/// a bigger map fails with [`MapError::NoMemory`].
pub const MAX_MAP_BYTES: u64 = 1 << 30;

/// Linux's `KMALLOC_MAX_SIZE` on x86-64 (4 MiB): the limit it puts on
/// element sizes the syscall must copy in one piece.
pub(crate) const KMALLOC_MAX_SIZE: u64 = 4 << 20;

/// Linux's `PCPU_MIN_UNIT_SIZE`: a per-CPU value (rounded to 8) may not exceed it.
pub(crate) const PCPU_MIN_UNIT_SIZE: u64 = 32 << 10;

pub(crate) fn invalid(msg: impl Into<String>) -> MapError {
    MapError::Invalid(msg.into())
}

pub(crate) fn round8(n: u64) -> u64 {
    n.saturating_add(7) & !7
}

/// Checks every map type shares: the CPU count, access flags, `map_extra`,
/// and where a spin lock may be.
pub(crate) fn common(spec: &MapSpec, opts: MapOptions) -> Result<(), MapError> {
    if opts.cpus == 0 {
        return Err(invalid("MapOptions::cpus must be at least 1"));
    }
    let f = spec.flags;
    if f & MapFlags::RDONLY != 0 && f & MapFlags::WRONLY != 0 {
        return Err(invalid(format!(
            "{}: BPF_F_RDONLY and BPF_F_WRONLY are exclusive",
            spec.name
        )));
    }
    if f & MapFlags::RDONLY_PROG != 0 && f & MapFlags::WRONLY_PROG != 0 {
        return Err(invalid(format!(
            "{}: BPF_F_RDONLY_PROG and BPF_F_WRONLY_PROG are exclusive",
            spec.name
        )));
    }
    if spec.map_extra != 0 && spec.map_type != MapType::BloomFilter {
        return Err(invalid(format!(
            "{}: map_extra is only meaningful for bloom filters",
            spec.name
        )));
    }
    if let Some(off) = spec.spin_lock_offset {
        // Linux's map_check_btf allows bpf_spin_lock only in hash and array
        // values (and local storage, which Waggle does not have).
        if !matches!(spec.map_type, MapType::Hash | MapType::Array) {
            return Err(MapError::NotSupported(spec.map_type.name()));
        }
        if off % 4 != 0 || u64::from(off) + 4 > u64::from(spec.value_size) {
            return Err(invalid(format!(
                "{}: spin lock at offset {off} must be 4-byte aligned and inside the {}-byte value",
                spec.name, spec.value_size
            )));
        }
    }
    Ok(())
}

/// `Invalid` unless every set flag is in `allowed`.
pub(crate) fn flags_within(spec: &MapSpec, allowed: u32) -> Result<(), MapError> {
    let bad = spec.flags & !allowed;
    if bad != 0 {
        return Err(invalid(format!(
            "{}: map_flags {:#x} not supported by {} maps",
            spec.name,
            bad,
            spec.map_type.name()
        )));
    }
    Ok(())
}

pub(crate) fn max_entries_nonzero(spec: &MapSpec) -> Result<(), MapError> {
    if spec.max_entries == 0 {
        return Err(invalid(format!("{}: max_entries must not be 0", spec.name)));
    }
    Ok(())
}

pub(crate) fn key_size_is(spec: &MapSpec, size: u32) -> Result<(), MapError> {
    if spec.key_size != size {
        return Err(invalid(format!(
            "{}: {} maps need key_size {size}, not {}",
            spec.name,
            spec.map_type.name(),
            spec.key_size
        )));
    }
    Ok(())
}

pub(crate) fn value_size_is(spec: &MapSpec, size: u32) -> Result<(), MapError> {
    if spec.value_size != size {
        return Err(invalid(format!(
            "{}: {} maps need value_size {size}, not {}",
            spec.name,
            spec.map_type.name(),
            spec.value_size
        )));
    }
    Ok(())
}

pub(crate) fn value_size_nonzero(spec: &MapSpec) -> Result<(), MapError> {
    if spec.value_size == 0 {
        return Err(invalid(format!("{}: value_size must not be 0", spec.name)));
    }
    Ok(())
}

/// `NoMemory` when `bytes` exceeds [`MAX_MAP_BYTES`].
pub(crate) fn cap(bytes: u64) -> Result<(), MapError> {
    if bytes > MAX_MAP_BYTES {
        return Err(MapError::NoMemory);
    }
    Ok(())
}

/// Size check of a key passed to an operation.
pub(crate) fn key_len(spec: &MapSpec, key: &[u8]) -> Result<(), MapError> {
    if key.len() != spec.key_size as usize {
        return Err(invalid(format!(
            "{}: key is {} bytes, the map's key_size is {}",
            spec.name,
            key.len(),
            spec.key_size
        )));
    }
    Ok(())
}

/// Size check of a value passed to an operation.
pub(crate) fn value_len(spec: &MapSpec, value: &[u8], expected: usize) -> Result<(), MapError> {
    if value.len() != expected {
        return Err(invalid(format!(
            "{}: value is {} bytes, expected {expected}",
            spec.name,
            value.len()
        )));
    }
    Ok(())
}

/// The 4-byte index key of array-like maps.
pub(crate) fn index_key(spec: &MapSpec, key: &[u8]) -> Result<u32, MapError> {
    key_len(spec, key)?;
    let mut b = [0u8; 4];
    b.copy_from_slice(key);
    Ok(u32::from_ne_bytes(b))
}

/// Linux's `array_map_get_next_key`: 0 for no key or an index past the end,
/// `NotFound` after the last index.
pub(crate) fn array_next_key(spec: &MapSpec, key: Option<&[u8]>) -> Result<Vec<u8>, MapError> {
    let next = match key {
        None => 0,
        Some(k) => {
            let index = index_key(spec, k)?;
            if index >= spec.max_entries {
                0
            } else if index == spec.max_entries - 1 {
                return Err(MapError::NotFound);
            } else {
                index + 1
            }
        }
    };
    Ok(next.to_ne_bytes().to_vec())
}

/// Flags Linux accepts on array-like maps (`ARRAY_CREATE_FLAG_MASK`), with
/// its per-type exclusions.
pub(crate) fn array_like_flags(spec: &MapSpec) -> Result<(), MapError> {
    flags_within(
        spec,
        MapFlags::NUMA_NODE
            | MapFlags::MMAPABLE
            | MapFlags::ACCESS_MASK
            | MapFlags::PRESERVE_ELEMS
            | MapFlags::INNER_MAP,
    )?;
    if spec.map_type != MapType::Array
        && spec.flags & (MapFlags::MMAPABLE | MapFlags::INNER_MAP) != 0
    {
        return Err(invalid(format!(
            "{}: BPF_F_MMAPABLE and BPF_F_INNER_MAP are only for array maps",
            spec.name
        )));
    }
    if spec.map_type != MapType::PerfEventArray && spec.flags & MapFlags::PRESERVE_ELEMS != 0 {
        return Err(invalid(format!(
            "{}: BPF_F_PRESERVE_ELEMS is only for perf event arrays",
            spec.name
        )));
    }
    Ok(())
}

/// Linux's `fd_array_map_alloc_check` (prog arrays, perf event arrays,
/// arrays of maps): 4-byte keys and values, no program access flags.
pub(crate) fn fd_array(spec: &MapSpec) -> Result<(), MapError> {
    value_size_is(spec, 4)?;
    if spec.flags & (MapFlags::RDONLY_PROG | MapFlags::WRONLY_PROG) != 0 {
        return Err(invalid(format!(
            "{}: BPF_F_RDONLY_PROG/BPF_F_WRONLY_PROG are not supported by {} maps",
            spec.name,
            spec.map_type.name()
        )));
    }
    array_like_flags(spec)?;
    max_entries_nonzero(spec)?;
    key_size_is(spec, 4)
}

/// Reads or writes a lock, recovering from poisoning: map code never panics
/// while holding a lock, and a poisoned lock would otherwise make the map
/// unusable for every program.
pub(crate) fn read<T>(lock: &std::sync::RwLock<T>) -> std::sync::RwLockReadGuard<'_, T> {
    lock.read().unwrap_or_else(|e| e.into_inner())
}

pub(crate) fn write<T>(lock: &std::sync::RwLock<T>) -> std::sync::RwLockWriteGuard<'_, T> {
    lock.write().unwrap_or_else(|e| e.into_inner())
}

pub(crate) fn lock<T>(lock: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    lock.lock().unwrap_or_else(|e| e.into_inner())
}
