//! `BPF_MAP_TYPE_ARRAY_OF_MAPS` and `BPF_MAP_TYPE_HASH_OF_MAPS`.
//!
//! The values are maps. In Linux the application stores inner map fds (the
//! 4-byte value) and reads back map ids; a 4-byte value cannot carry an
//! `Arc<dyn Map>`, so here the application stores inner maps with
//! `set_inner` (and reads them with `get_inner`); `update_all` is refused
//! with a message saying so, and the application's `lookup` is
//! `EOPNOTSUPP` (Waggle maps have no ids). A program's `lookup_ptr` returns
//! the inner map's [`map_address`](crate::map_address), which the helpers
//! resolve with `inner_by_address`.
//!
//! An inner map must match the outer map's `inner` spec as Linux's
//! `bpf_map_meta_equal` requires: same type, key size, value size, flags and
//! spin lock; `max_entries` too for arrays without `BPF_F_INNER_MAP`
//! (Linux's `array_map_meta_equal`; other types may differ in size). Maps of
//! maps cannot nest (`EINVAL`) and prog arrays cannot be inner maps.
//!
//! A program may still hold an inner map's address after the application
//! replaced or deleted it; Linux keeps the map alive for an RCU grace
//! period. Waggle has no grace periods, so replaced inner maps are retired
//! into a list and kept alive as long as the outer map.

use crate::check::{self, invalid};
use crate::hash::HashMap;
use crate::{map_address, Map, MapError, MapFlags, MapOptions, MapSpec, MapType, BPF_ANY};
use std::any::Any;
use std::collections::BTreeMap;
use std::ops::Bound;
use std::ptr::NonNull;
use std::sync::{Arc, Mutex, RwLock};

fn is_map_in_map(t: MapType) -> bool {
    matches!(t, MapType::ArrayOfMaps | MapType::HashOfMaps)
}

/// The outer spec's inner template, validated as Linux validates the inner
/// map it is given at creation.
fn check_inner(spec: &MapSpec, opts: MapOptions) -> Result<&MapSpec, MapError> {
    let inner = spec.inner.as_deref().ok_or_else(|| {
        invalid(format!(
            "{}: {} maps need an inner map definition",
            spec.name,
            spec.map_type.name()
        ))
    })?;
    if is_map_in_map(inner.map_type) || inner.inner.is_some() {
        return Err(invalid(format!(
            "{}: maps of maps cannot nest (inner map {})",
            spec.name, inner.name
        )));
    }
    if inner.map_type == MapType::ProgArray {
        return Err(MapError::NotSupported(inner.map_type.name()));
    }
    crate::map::check_spec(inner, opts)?;
    Ok(inner)
}

/// `bpf_map_meta_equal` (and `array_map_meta_equal`) between the template and a map.
fn check_compatible(outer: &MapSpec, template: &MapSpec, map: &dyn Map) -> Result<(), MapError> {
    let got = map.spec();
    if is_map_in_map(got.map_type) || got.inner.is_some() {
        return Err(invalid(format!(
            "{}: maps of maps cannot nest (inner map {})",
            outer.name, got.name
        )));
    }
    let mismatch = |what: &str, want: String, have: String| {
        invalid(format!(
            "{}: inner map {} has {what} {have}, the map expects {want}",
            outer.name, got.name
        ))
    };
    if got.map_type != template.map_type {
        return Err(mismatch(
            "type",
            template.map_type.name().into(),
            got.map_type.name().into(),
        ));
    }
    if got.key_size != template.key_size {
        return Err(mismatch(
            "key_size",
            template.key_size.to_string(),
            got.key_size.to_string(),
        ));
    }
    if got.value_size != template.value_size {
        return Err(mismatch(
            "value_size",
            template.value_size.to_string(),
            got.value_size.to_string(),
        ));
    }
    if got.flags != template.flags {
        return Err(mismatch(
            "map_flags",
            format!("{:#x}", template.flags),
            format!("{:#x}", got.flags),
        ));
    }
    if got.spin_lock_offset != template.spin_lock_offset {
        return Err(mismatch(
            "spin lock",
            format!("{:?}", template.spin_lock_offset),
            format!("{:?}", got.spin_lock_offset),
        ));
    }
    if template.map_type == MapType::Array
        && template.flags & MapFlags::INNER_MAP == 0
        && got.max_entries != template.max_entries
    {
        return Err(mismatch(
            "max_entries",
            template.max_entries.to_string(),
            got.max_entries.to_string(),
        ));
    }
    Ok(())
}

fn address_ptr(map: &Arc<dyn Map>) -> Option<NonNull<u8>> {
    NonNull::new(Arc::as_ptr(map) as *const u8 as *mut u8)
}

/// Inner maps no longer stored but possibly still used by programs.
#[derive(Default)]
struct Retired(Mutex<Vec<Arc<dyn Map>>>);

impl Retired {
    fn keep(&self, map: Arc<dyn Map>) {
        let mut list = check::lock(&self.0);
        let addr = map_address(&map);
        if !list.iter().any(|m| map_address(m) == addr) {
            list.push(map);
        }
    }

    fn find(&self, addr: u64) -> Option<Arc<dyn Map>> {
        check::lock(&self.0)
            .iter()
            .find(|m| map_address(m) == addr)
            .cloned()
    }
}

fn use_set_inner(spec: &MapSpec) -> MapError {
    invalid(format!(
        "{}: a 4-byte value cannot name an inner map; use set_inner",
        spec.name
    ))
}

pub struct ArrayOfMaps {
    spec: MapSpec,
    template: MapSpec,
    slots: RwLock<Vec<Option<Arc<dyn Map>>>>,
    retired: Retired,
}

impl ArrayOfMaps {
    pub(crate) fn check(spec: &MapSpec, opts: MapOptions) -> Result<u64, MapError> {
        check::common(spec, opts)?;
        check::fd_array(spec)?;
        check_inner(spec, opts)?;
        Ok(u64::from(spec.max_entries) * 16)
    }

    pub fn new(spec: &MapSpec, opts: MapOptions) -> Result<ArrayOfMaps, MapError> {
        if spec.map_type != MapType::ArrayOfMaps {
            return Err(invalid(format!("{}: not an array of maps", spec.name)));
        }
        let bytes = Self::check(spec, opts)?;
        check::cap(bytes)?;
        let template = check_inner(spec, opts)?.clone();
        let n = spec.max_entries as usize;
        let mut slots = Vec::new();
        slots.try_reserve_exact(n).map_err(|_| MapError::NoMemory)?;
        slots.resize(n, None);
        Ok(ArrayOfMaps {
            spec: spec.clone(),
            template,
            slots: RwLock::new(slots),
            retired: Retired::default(),
        })
    }

    /// Stores `map` at index `key` (a 4-byte index), as an fd update does in
    /// Linux: `E2BIG` past the end, `EINVAL` if `map` does not match the
    /// inner spec.
    pub fn set_inner(&self, key: &[u8], map: Arc<dyn Map>) -> Result<(), MapError> {
        let index = check::index_key(&self.spec, key)?;
        if index >= self.spec.max_entries {
            return Err(MapError::TooBig);
        }
        check_compatible(&self.spec, &self.template, map.as_ref())?;
        let old = {
            let mut slots = check::write(&self.slots);
            let slot = slots.get_mut(index as usize).ok_or(MapError::TooBig)?;
            slot.replace(map)
        };
        if let Some(old) = old {
            self.retired.keep(old);
        }
        Ok(())
    }

    /// The inner map at index `key`.
    pub fn get_inner(&self, key: &[u8]) -> Option<Arc<dyn Map>> {
        let index = check::index_key(&self.spec, key).ok()?;
        check::read(&self.slots).get(index as usize)?.clone()
    }

    /// The inner map (stored now or earlier) whose address is `addr`.
    pub fn inner_by_address(&self, addr: u64) -> Option<Arc<dyn Map>> {
        let current = check::read(&self.slots)
            .iter()
            .flatten()
            .find(|m| map_address(m) == addr)
            .cloned();
        current.or_else(|| self.retired.find(addr))
    }
}

impl Map for ArrayOfMaps {
    fn spec(&self) -> &MapSpec {
        &self.spec
    }

    fn lookup_ptr(&self, key: &[u8], _cpu: u32) -> Option<NonNull<u8>> {
        let index = check::index_key(&self.spec, key).ok()?;
        let slots = check::read(&self.slots);
        address_ptr(slots.get(index as usize)?.as_ref()?)
    }

    fn update(&self, _key: &[u8], _value: &[u8], _flags: u64, _cpu: u32) -> Result<(), MapError> {
        Err(use_set_inner(&self.spec))
    }

    fn delete(&self, key: &[u8]) -> Result<(), MapError> {
        let index = check::index_key(&self.spec, key)?;
        let old = {
            let mut slots = check::write(&self.slots);
            slots
                .get_mut(index as usize)
                .ok_or(MapError::TooBig)?
                .take()
        };
        let old = old.ok_or(MapError::NotFound)?;
        self.retired.keep(old);
        Ok(())
    }

    fn lookup(&self, _key: &[u8]) -> Result<Vec<u8>, MapError> {
        Err(MapError::NotSupported(self.spec.map_type.name()))
    }

    fn update_all(&self, _key: &[u8], _value: &[u8], _flags: u64) -> Result<(), MapError> {
        Err(use_set_inner(&self.spec))
    }

    fn next_key(&self, key: Option<&[u8]>) -> Result<Vec<u8>, MapError> {
        check::array_next_key(&self.spec, key)
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}

pub struct HashOfMaps {
    spec: MapSpec,
    template: MapSpec,
    entries: RwLock<BTreeMap<Vec<u8>, Arc<dyn Map>>>,
    retired: Retired,
}

impl HashOfMaps {
    pub(crate) fn check(spec: &MapSpec, opts: MapOptions) -> Result<u64, MapError> {
        check::value_size_is(spec, 4)?;
        // The outer map is a hash map as far as flags and sizes go.
        let bytes = HashMap::check(spec, opts)?;
        check_inner(spec, opts)?;
        Ok(bytes)
    }

    pub fn new(spec: &MapSpec, opts: MapOptions) -> Result<HashOfMaps, MapError> {
        if spec.map_type != MapType::HashOfMaps {
            return Err(invalid(format!("{}: not a hash of maps", spec.name)));
        }
        let bytes = Self::check(spec, opts)?;
        check::cap(bytes)?;
        let template = check_inner(spec, opts)?.clone();
        Ok(HashOfMaps {
            spec: spec.clone(),
            template,
            entries: RwLock::new(BTreeMap::new()),
            retired: Retired::default(),
        })
    }

    /// Stores `map` under `key` (`BPF_ANY`).
    pub fn set_inner(&self, key: &[u8], map: Arc<dyn Map>) -> Result<(), MapError> {
        self.set_inner_with_flags(key, map, BPF_ANY)
    }

    /// Stores `map` under `key` with hash update flags: `BPF_NOEXIST`
    /// (`EEXIST` if present), `BPF_EXIST` (`ENOENT` if absent); `E2BIG` when
    /// full; `EINVAL` if `map` does not match the inner spec.
    pub fn set_inner_with_flags(
        &self,
        key: &[u8],
        map: Arc<dyn Map>,
        flags: u64,
    ) -> Result<(), MapError> {
        check::key_len(&self.spec, key)?;
        if flags > crate::BPF_EXIST {
            return Err(invalid(format!(
                "{}: unknown update flags {flags:#x}",
                self.spec.name
            )));
        }
        check_compatible(&self.spec, &self.template, map.as_ref())?;
        let old = {
            let mut entries = check::write(&self.entries);
            let present = entries.contains_key(key);
            match (present, flags) {
                (true, crate::BPF_NOEXIST) => return Err(MapError::Exists),
                (false, crate::BPF_EXIST) => return Err(MapError::NotFound),
                _ => {}
            }
            if !present && entries.len() >= self.spec.max_entries as usize {
                return Err(MapError::TooBig);
            }
            entries.insert(key.to_vec(), map)
        };
        if let Some(old) = old {
            self.retired.keep(old);
        }
        Ok(())
    }

    /// The inner map under `key`.
    pub fn get_inner(&self, key: &[u8]) -> Option<Arc<dyn Map>> {
        check::read(&self.entries).get(key).cloned()
    }

    /// The inner map (stored now or earlier) whose address is `addr`.
    pub fn inner_by_address(&self, addr: u64) -> Option<Arc<dyn Map>> {
        let current = check::read(&self.entries)
            .values()
            .find(|m| map_address(m) == addr)
            .cloned();
        current.or_else(|| self.retired.find(addr))
    }
}

impl Map for HashOfMaps {
    fn spec(&self) -> &MapSpec {
        &self.spec
    }

    fn lookup_ptr(&self, key: &[u8], _cpu: u32) -> Option<NonNull<u8>> {
        let entries = check::read(&self.entries);
        address_ptr(entries.get(key)?)
    }

    fn update(&self, _key: &[u8], _value: &[u8], _flags: u64, _cpu: u32) -> Result<(), MapError> {
        Err(use_set_inner(&self.spec))
    }

    fn delete(&self, key: &[u8]) -> Result<(), MapError> {
        check::key_len(&self.spec, key)?;
        let old = check::write(&self.entries).remove(key);
        self.retired.keep(old.ok_or(MapError::NotFound)?);
        Ok(())
    }

    fn lookup(&self, _key: &[u8]) -> Result<Vec<u8>, MapError> {
        Err(MapError::NotSupported(self.spec.map_type.name()))
    }

    fn update_all(&self, _key: &[u8], _value: &[u8], _flags: u64) -> Result<(), MapError> {
        Err(use_set_inner(&self.spec))
    }

    /// Keys in byte order; the first key for `None` or an absent key.
    fn next_key(&self, key: Option<&[u8]>) -> Result<Vec<u8>, MapError> {
        let entries = check::read(&self.entries);
        let first = || entries.keys().next().cloned().ok_or(MapError::NotFound);
        let Some(key) = key else { return first() };
        check::key_len(&self.spec, key)?;
        if !entries.contains_key(key) {
            return first();
        }
        entries
            .range::<[u8], _>((Bound::Excluded(key), Bound::Unbounded))
            .next()
            .map(|(k, _)| k.clone())
            .ok_or(MapError::NotFound)
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}
