//! Fixed, zeroed, 8-byte-aligned memory that never moves.
//!
//! Programs hold raw pointers into map values, so value memory is one
//! allocation made when the map is created and released only when the map is
//! dropped. It is allocated with `alloc_zeroed`, which for large sizes gets
//! lazily-zeroed pages from the OS: a big, mostly empty map costs address
//! space, not resident memory. Allocation failure is reported as
//! [`MapError::NoMemory`] instead of aborting.

use crate::MapError;
use std::alloc::{alloc_zeroed, dealloc, Layout};
use std::ptr::NonNull;

/// Alignment of every region: values are 8-byte aligned as in Linux, so
/// programs may use 8-byte atomics on them.
const ALIGN: usize = 8;

pub(crate) struct Region {
    ptr: NonNull<u8>,
    len: usize,
}

// SAFETY: a Region is plain memory. Every access goes through raw pointers;
// the map types that own regions synchronise their own accesses (locks or
// atomics) and document where programs race on values as they do in Linux.
unsafe impl Send for Region {}
// SAFETY: as above; `&Region` only hands out raw pointers.
unsafe impl Sync for Region {}

impl Region {
    /// `len` zeroed bytes; `NoMemory` when the allocator refuses.
    pub(crate) fn zeroed(len: u64) -> Result<Region, MapError> {
        let len = usize::try_from(len).map_err(|_| MapError::NoMemory)?;
        if len == 0 {
            return Ok(Region {
                ptr: NonNull::<u64>::dangling().cast(),
                len: 0,
            });
        }
        let layout = Layout::from_size_align(len, ALIGN).map_err(|_| MapError::NoMemory)?;
        // SAFETY: `layout` has a non-zero size.
        let raw = unsafe { alloc_zeroed(layout) };
        let ptr = NonNull::new(raw).ok_or(MapError::NoMemory)?;
        Ok(Region { ptr, len })
    }

    /// The first byte. Writing through it is allowed (interior mutability by
    /// raw pointer): the region is never borrowed as a Rust reference.
    pub(crate) fn base(&self) -> *mut u8 {
        self.ptr.as_ptr()
    }

    /// The first byte, as a non-null pointer (dangling for an empty region).
    pub(crate) fn start(&self) -> NonNull<u8> {
        self.ptr
    }

    /// The address of byte `offset`, if `offset + size` fits in the region.
    pub(crate) fn at(&self, offset: usize, size: usize) -> Option<*mut u8> {
        let end = offset.checked_add(size)?;
        if end > self.len {
            return None;
        }
        // SAFETY: `offset <= len`, so the result is inside the allocation or one past it.
        Some(unsafe { self.base().add(offset) })
    }
}

impl Drop for Region {
    fn drop(&mut self) {
        if self.len == 0 {
            return;
        }
        if let Ok(layout) = Layout::from_size_align(self.len, ALIGN) {
            // SAFETY: allocated in `zeroed` with this same layout, freed once.
            unsafe { dealloc(self.ptr.as_ptr(), layout) };
        }
    }
}
