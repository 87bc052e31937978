//! `BPF_MAP_TYPE_PROG_ARRAY`: the tail-call table.
//!
//! In Linux the application stores program fds and the map holds the
//! programs; here it stores program ids (`u32`, whatever numbering the
//! embedder uses for its loaded programs) with `update_all`, and the
//! `bpf_tail_call` helper reads them with [`ProgArray::get`]. Slots are
//! atomics, so tail calls never take a lock.
//!
//! As in Linux: updates take `BPF_ANY` only, an index past the end is
//! `E2BIG` for updates and deletes, deleting an empty slot is `ENOENT`,
//! programs cannot look the map up (`lookup_ptr` is `None`), and the
//! application's lookup returns the stored id (Linux returns the program id).
//! Linux also refuses programs of another type than the map's first user;
//! that check belongs to the loader, which knows program types.

use crate::check::{self, invalid};
use crate::fd_slots::FdSlots;
use crate::{Map, MapError, MapOptions, MapSpec, MapType};
use std::any::Any;
use std::ptr::NonNull;

pub struct ProgArray {
    spec: MapSpec,
    slots: FdSlots,
}

impl ProgArray {
    pub(crate) fn check(spec: &MapSpec, opts: MapOptions) -> Result<u64, MapError> {
        check::common(spec, opts)?;
        check::fd_array(spec)?;
        Ok(u64::from(spec.max_entries) * 8)
    }

    pub fn new(spec: &MapSpec, opts: MapOptions) -> Result<ProgArray, MapError> {
        if spec.map_type != MapType::ProgArray {
            return Err(invalid(format!("{}: not a prog array", spec.name)));
        }
        let bytes = Self::check(spec, opts)?;
        check::cap(bytes)?;
        Ok(ProgArray {
            spec: spec.clone(),
            slots: FdSlots::new(spec)?,
        })
    }

    /// The program id at `index`, for `bpf_tail_call`.
    pub fn get(&self, index: u32) -> Option<u32> {
        self.slots.get(index)
    }
}

impl Map for ProgArray {
    fn spec(&self) -> &MapSpec {
        &self.spec
    }

    /// Programs cannot read prog arrays (Linux returns NULL); tail calls use [`ProgArray::get`].
    fn lookup_ptr(&self, _key: &[u8], _cpu: u32) -> Option<NonNull<u8>> {
        None
    }

    /// Stores a program id. (Linux's verifier refuses this call from
    /// programs; the loader must too.)
    fn update(&self, key: &[u8], value: &[u8], flags: u64, _cpu: u32) -> Result<(), MapError> {
        self.slots.update(&self.spec, key, value, flags)
    }

    fn delete(&self, key: &[u8]) -> Result<(), MapError> {
        self.slots.delete(&self.spec, key)
    }

    fn lookup(&self, key: &[u8]) -> Result<Vec<u8>, MapError> {
        let index = check::index_key(&self.spec, key)?;
        self.get(index)
            .map(|id| id.to_ne_bytes().to_vec())
            .ok_or(MapError::NotFound)
    }

    fn update_all(&self, key: &[u8], value: &[u8], flags: u64) -> Result<(), MapError> {
        self.update(key, value, flags, 0)
    }

    fn next_key(&self, key: Option<&[u8]>) -> Result<Vec<u8>, MapError> {
        check::array_next_key(&self.spec, key)
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}
