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
///
/// Regions are numbered in the order they were granted: 0 is the stack, then
/// the region of [`Input::memory`](crate::Input::memory) if any, then those of
/// [`Input::grant`](crate::Input::grant) in order, then what helpers grant.
/// A callback (see `HelperContext::call_function`) sees its caller's regions
/// under the same numbers (its own stack is number 0, its caller's stack comes
/// last), so a helper can replace a region by number
/// ([`Regions::replace`]) wherever it runs: the packet's region after
/// `bpf_xdp_adjust_head`, memory lent to a callback only for its duration.
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

    /// The regions a callback starts with: its own `stack` as number 0, then
    /// these regions under their numbers, then this run's stack (pointers to
    /// the caller's stack are a callback's usual arguments).
    pub(crate) fn for_callback(&self, stack: Region) -> Regions {
        let mut list = Vec::with_capacity(self.list.len() + 1);
        list.push(stack);
        list.extend_from_slice(&self.list[1..]);
        list.push(self.list[0]);
        Regions { list }
    }

    /// Number of regions (the number the next grant will get).
    pub fn count(&self) -> usize {
        self.list.len()
    }

    /// Region number `index`.
    pub fn get(&self, index: usize) -> Option<Region> {
        self.list.get(index).copied()
    }

    /// Replaces region number `index` with `region`; returns whether there
    /// was such a region. The stack (number 0) cannot be replaced.
    ///
    /// # Safety
    /// As for [`Regions::grant`].
    pub unsafe fn replace(&mut self, index: usize, region: Region) -> bool {
        match self.list.get_mut(index) {
            Some(r) if index != 0 => {
                *r = region;
                true
            }
            _ => false,
        }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replace_keeps_numbers_and_never_the_stack() {
        let mut r = Regions::new(Region::new(0x1000, 0x100, true));
        // SAFETY: nothing is accessed through these test regions.
        unsafe {
            r.grant(Region::new(0x2000, 0x10, false));
            r.grant(Region::new(0x3000, 0x10, true));
            assert!(r.replace(1, Region::new(0x2000, 0x20, true)));
            assert!(!r.replace(0, Region::new(0, 0, false)));
            assert!(!r.replace(3, Region::new(0, 0, false)));
        }
        assert_eq!(r.count(), 3);
        assert_eq!(r.get(1), Some(Region::new(0x2000, 0x20, true)));
        assert!(r.allows(0x2018, 8, Access::Write));
        let cb = r.for_callback(Region::new(0x9000, 0x100, true));
        assert_eq!(cb.count(), 4);
        assert_eq!(cb.get(0), Some(Region::new(0x9000, 0x100, true)));
        assert_eq!(cb.get(1), r.get(1));
        assert_eq!(cb.get(2), r.get(2));
        assert_eq!(cb.get(3), r.get(0));
    }
}
