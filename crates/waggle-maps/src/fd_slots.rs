//! The slot table of Linux's fd-array maps (prog arrays, perf event
//! arrays): one `u32` id per index, in atomics so readers never lock.
//!
//! As in Linux for both types: updates take `BPF_ANY` only, an index past
//! the end is `E2BIG` for updates and deletes, and deleting an empty slot is
//! `ENOENT`.

use crate::check::{self, invalid};
use crate::{MapError, MapSpec, BPF_ANY};
use std::sync::atomic::{AtomicU64, Ordering};

/// An empty slot (ids are `u32`, so it cannot clash).
const EMPTY: u64 = u64::MAX;

pub(crate) struct FdSlots {
    slots: Box<[AtomicU64]>,
}

impl FdSlots {
    pub fn new(spec: &MapSpec) -> Result<FdSlots, MapError> {
        let n = spec.max_entries as usize;
        let mut slots = Vec::new();
        slots.try_reserve_exact(n).map_err(|_| MapError::NoMemory)?;
        slots.extend((0..n).map(|_| AtomicU64::new(EMPTY)));
        Ok(FdSlots {
            slots: slots.into_boxed_slice(),
        })
    }

    /// The id at `index`, if the slot holds one.
    pub fn get(&self, index: u32) -> Option<u32> {
        match self.slots.get(index as usize)?.load(Ordering::Acquire) {
            EMPTY => None,
            id => Some(id as u32),
        }
    }

    pub fn update(
        &self,
        spec: &MapSpec,
        key: &[u8],
        value: &[u8],
        flags: u64,
    ) -> Result<(), MapError> {
        let index = check::index_key(spec, key)?;
        check::value_len(spec, value, 4)?;
        if flags != BPF_ANY {
            return Err(invalid(format!(
                "{}: {} updates take BPF_ANY only",
                spec.name,
                spec.map_type.name()
            )));
        }
        let slot = self.slots.get(index as usize).ok_or(MapError::TooBig)?;
        let mut b = [0u8; 4];
        b.copy_from_slice(value);
        slot.store(u64::from(u32::from_ne_bytes(b)), Ordering::Release);
        Ok(())
    }

    pub fn delete(&self, spec: &MapSpec, key: &[u8]) -> Result<(), MapError> {
        let index = check::index_key(spec, key)?;
        let slot = self.slots.get(index as usize).ok_or(MapError::TooBig)?;
        if slot.swap(EMPTY, Ordering::AcqRel) == EMPTY {
            return Err(MapError::NotFound);
        }
        Ok(())
    }
}
