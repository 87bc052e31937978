//! The regions of host memory a program may touch, for the checked mode.
//!
//! Programs run on real host memory: a pointer in a register is a host address.
//! In checked mode every load, store and atomic is tested against a [`Regions`]
//! list before it happens; in unchecked mode (verified code) nothing is tested.

use std::fmt;

/// One contiguous range of host memory `[start, end)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Region {
    pub start: u64,
    pub end: u64,
    pub writable: bool,
}

impl Region {
    /// A region covering `len` bytes from `start`.
    pub fn new(start: u64, len: u64, writable: bool) -> Region {
        Region {
            start,
            end: start.saturating_add(len),
            writable,
        }
    }

    /// The region of a byte slice. Holding the region does not keep the slice
    /// alive: the caller keeps it borrowed for as long as the program runs.
    pub fn of_slice(mem: &[u8], writable: bool) -> Region {
        Region::new(mem.as_ptr() as u64, mem.len() as u64, writable)
    }

    #[inline]
    fn contains(&self, addr: u64, end: u64, write: bool) -> bool {
        addr >= self.start && end <= self.end && (self.writable || !write)
    }
}

/// Kind of memory access, for errors.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    Read,
    Write,
}

impl fmt::Display for Access {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Access::Read => "read",
            Access::Write => "write",
        })
    }
}

/// The set of regions a checked run may touch. The first entry is always the
/// stack, whose lower bound follows the current call frame: a function may
/// touch its own frame and its callers' frames (pointers to a caller's stack are
/// legal arguments), never the frames below it.
#[derive(Debug, Clone)]
pub struct Regions {
    list: Vec<Region>,
}

impl Regions {
    pub(crate) fn new(stack: Region) -> Regions {
        Regions { list: vec![stack] }
    }

    /// Adds a region the program may touch from now on.
    ///
    /// # Safety
    /// The memory must stay valid (and, if `writable`, exclusively available to
    /// the program) until the run ends.
    pub unsafe fn grant(&mut self, region: Region) {
        self.list.push(region);
    }

    pub(crate) fn iter(&self) -> impl Iterator<Item = &Region> {
        self.list.iter()
    }

    pub(crate) fn set_stack_floor(&mut self, floor: u64) {
        self.list[0].start = floor;
    }

    /// Whether `size` bytes at `addr` lie wholly inside one region that allows
    /// the access.
    #[inline]
    pub fn allows(&self, addr: u64, size: u64, access: Access) -> bool {
        let Some(end) = addr.checked_add(size) else {
            return false;
        };
        let write = access == Access::Write;
        self.list.iter().any(|r| r.contains(addr, end, write))
    }
}
