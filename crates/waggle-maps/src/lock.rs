//! `bpf_spin_lock` and the copies of value memory the maps make.
//!
//! A value with a `struct bpf_spin_lock` has a 4-byte lock word at
//! `MapSpec::spin_lock_offset`. The protocol is the simplest one: the word
//! is an `AtomicU32`, 0 when free, 1 when held; acquiring spins on a 0 -> 1
//! compare-exchange, releasing stores 0. [`spin_lock`] and [`spin_unlock`]
//! are public so that the `bpf_spin_lock`/`bpf_spin_unlock` helpers use the
//! very same word and protocol as `BPF_F_LOCK` map operations.
//!
//! As in Linux, a map copy never writes the lock word (`copy_map_value`
//! skips it) and the application's copy of a value shows it as zero.
//!
//! Value memory is shared with running programs that read and write it
//! without any lock, exactly as in Linux. The copies here use relaxed atomic
//! accesses (8 bytes at a time where aligned) so that racing with a
//! program's atomics yields at worst a torn value, never a broken map.

use std::hint::spin_loop;
use std::sync::atomic::{AtomicU32, AtomicU64, AtomicU8, Ordering};

/// Acquires the `bpf_spin_lock` whose lock word is at `word`.
///
/// # Safety
/// `word` must be 4-byte aligned and valid for reads and writes for the
/// duration of the call, and only accessed atomically by others meanwhile.
pub unsafe fn spin_lock(word: *mut u32) {
    // SAFETY: the caller guarantees alignment and validity.
    let lock = unsafe { AtomicU32::from_ptr(word) };
    let mut spins = 0u32;
    loop {
        if lock
            .compare_exchange_weak(0, 1, Ordering::Acquire, Ordering::Relaxed)
            .is_ok()
        {
            return;
        }
        while lock.load(Ordering::Relaxed) != 0 {
            spins = spins.wrapping_add(1);
            if spins % 128 == 0 {
                // A holder may have been preempted (userspace threads, unlike
                // Linux's non-preemptible holders): let it run.
                std::thread::yield_now();
            } else {
                spin_loop();
            }
        }
    }
}

/// Releases the `bpf_spin_lock` whose lock word is at `word`.
///
/// # Safety
/// As for [`spin_lock`]; the caller must hold the lock.
pub unsafe fn spin_unlock(word: *mut u32) {
    // SAFETY: the caller guarantees alignment and validity.
    unsafe { AtomicU32::from_ptr(word) }.store(0, Ordering::Release);
}

/// Stores `src` at `dst` with relaxed atomic accesses.
///
/// # Safety
/// `dst..dst + src.len()` must be valid for writes.
pub(crate) unsafe fn store_bytes(dst: *mut u8, src: &[u8]) {
    let mut rest = src;
    let mut at = dst;
    while !rest.is_empty() {
        if at as usize % 8 == 0 && rest.len() >= 8 {
            let (word, tail) = rest.split_at(8);
            let mut bytes = [0u8; 8];
            bytes.copy_from_slice(word);
            // SAFETY: `at` is 8-aligned and 8 bytes remain inside the destination.
            unsafe { AtomicU64::from_ptr(at.cast::<u64>()) }
                .store(u64::from_ne_bytes(bytes), Ordering::Relaxed);
            rest = tail;
            // SAFETY: stays within (or one past) the destination.
            at = unsafe { at.add(8) };
        } else if let Some((&byte, tail)) = rest.split_first() {
            // SAFETY: one byte remains inside the destination.
            unsafe { AtomicU8::from_ptr(at) }.store(byte, Ordering::Relaxed);
            rest = tail;
            // SAFETY: stays within (or one past) the destination.
            at = unsafe { at.add(1) };
        }
    }
}

/// Loads `dst.len()` bytes from `src` with relaxed atomic accesses.
///
/// # Safety
/// `src..src + dst.len()` must be valid for reads.
pub(crate) unsafe fn load_bytes(src: *const u8, dst: &mut [u8]) {
    let mut at = src.cast_mut();
    let mut rest: &mut [u8] = dst;
    while !rest.is_empty() {
        if at as usize % 8 == 0 && rest.len() >= 8 {
            let (word, tail) = std::mem::take(&mut rest).split_at_mut(8);
            // SAFETY: `at` is 8-aligned and 8 bytes remain inside the source.
            let v = unsafe { AtomicU64::from_ptr(at.cast::<u64>()) }.load(Ordering::Relaxed);
            word.copy_from_slice(&v.to_ne_bytes());
            rest = tail;
            // SAFETY: stays within (or one past) the source.
            at = unsafe { at.add(8) };
        } else if let Some((byte, tail)) = std::mem::take(&mut rest).split_first_mut() {
            // SAFETY: one byte remains inside the source.
            *byte = unsafe { AtomicU8::from_ptr(at) }.load(Ordering::Relaxed);
            rest = tail;
            // SAFETY: stays within (or one past) the source.
            at = unsafe { at.add(1) };
        }
    }
}

/// Fills `len` bytes at `dst` with zeros (relaxed atomic stores).
///
/// # Safety
/// `dst..dst + len` must be valid for writes.
pub(crate) unsafe fn zero_bytes(dst: *mut u8, len: usize) {
    const ZEROS: [u8; 64] = [0; 64];
    let mut done = 0;
    while done < len {
        let n = (len - done).min(ZEROS.len());
        // SAFETY: `done + n <= len`.
        unsafe { store_bytes(dst.add(done), &ZEROS[..n]) };
        done += n;
    }
}

/// How a value is copied: its size and where its lock word is, if any.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ValueLayout {
    pub size: usize,
    pub lock: Option<usize>,
}

impl ValueLayout {
    /// The value bytes before and after the lock word, as (offset, len) pairs.
    fn parts(&self) -> [(usize, usize); 2] {
        match self.lock {
            Some(off) if off + 4 <= self.size => [(0, off), (off + 4, self.size - off - 4)],
            _ => [(0, self.size), (self.size, 0)],
        }
    }

    /// Writes `src` (`size` bytes) into the value at `dst`, leaving the lock word alone.
    ///
    /// # Safety
    /// `dst` must point to a value of this layout, valid for writes.
    pub(crate) unsafe fn write(&self, dst: *mut u8, src: &[u8]) {
        for (off, len) in self.parts() {
            if let Some(part) = src.get(off..off + len) {
                // SAFETY: `off + len <= size`, inside the value.
                unsafe { store_bytes(dst.add(off), part) };
            }
        }
    }

    /// Writes a fresh element: the value, and the lock word reset to "free".
    ///
    /// # Safety
    /// As for [`ValueLayout::write`].
    pub(crate) unsafe fn init(&self, dst: *mut u8, src: &[u8]) {
        // SAFETY: forwarded from the caller.
        unsafe { self.write(dst, src) };
        if let Some(off) = self.lock {
            // SAFETY: the lock word lies inside the value (checked at creation).
            unsafe { store_bytes(dst.add(off), &[0; 4]) };
        }
    }

    /// Reads the value at `src` into `dst` (`size` bytes); the lock word reads as zero.
    ///
    /// # Safety
    /// `src` must point to a value of this layout, valid for reads.
    pub(crate) unsafe fn read(&self, src: *const u8, dst: &mut [u8]) {
        for (off, len) in self.parts() {
            if let Some(part) = dst.get_mut(off..off + len) {
                // SAFETY: `off + len <= size`, inside the value.
                unsafe { load_bytes(src.add(off), part) };
            }
        }
        if let Some(off) = self.lock {
            if let Some(word) = dst.get_mut(off..off + 4) {
                word.fill(0);
            }
        }
    }

    /// `BPF_F_LOCK` update: [`ValueLayout::write`] while holding the value's lock.
    ///
    /// # Safety
    /// As for [`ValueLayout::write`]; the layout must have a lock word.
    pub(crate) unsafe fn write_locked(&self, dst: *mut u8, src: &[u8]) {
        let Some(off) = self.lock else { return };
        // SAFETY: the lock word is 4-aligned inside the 8-aligned value.
        let word = unsafe { dst.add(off) }.cast::<u32>();
        // SAFETY: `word` is valid and aligned (above).
        unsafe { spin_lock(word) };
        // SAFETY: forwarded from the caller.
        unsafe { self.write(dst, src) };
        // SAFETY: we hold the lock.
        unsafe { spin_unlock(word) };
    }

    /// `BPF_F_LOCK` lookup: [`ValueLayout::read`] while holding the value's lock.
    ///
    /// # Safety
    /// As for [`ValueLayout::read`]; the layout must have a lock word.
    pub(crate) unsafe fn read_locked(&self, src: *mut u8, dst: &mut [u8]) {
        let Some(off) = self.lock else { return };
        // SAFETY: the lock word is 4-aligned inside the 8-aligned value.
        let word = unsafe { src.add(off) }.cast::<u32>();
        // SAFETY: `word` is valid and aligned (above).
        unsafe { spin_lock(word) };
        // SAFETY: forwarded from the caller.
        unsafe { self.read(src, dst) };
        // SAFETY: we hold the lock.
        unsafe { spin_unlock(word) };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn copies_skip_the_lock_word() {
        let mut mem = [u64::MAX; 3];
        let dst = mem.as_mut_ptr().cast::<u8>();
        let layout = ValueLayout {
            size: 20,
            lock: Some(8),
        };
        let src: Vec<u8> = (1..=20).collect();
        // SAFETY: `mem` is 24 bytes, 8-aligned.
        unsafe { layout.write(dst, &src) };
        let mut out = vec![0u8; 20];
        // SAFETY: as above.
        unsafe { load_bytes(dst, &mut out) };
        assert_eq!(&out[..8], &src[..8]);
        assert_eq!(&out[8..12], &[0xff; 4]);
        assert_eq!(&out[12..], &src[12..]);
        // SAFETY: as above.
        unsafe { layout.read(dst, &mut out) };
        assert_eq!(&out[8..12], &[0; 4]);
        // SAFETY: as above.
        unsafe { layout.init(dst, &src) };
        // SAFETY: as above.
        unsafe { load_bytes(dst, &mut out) };
        assert_eq!(&out[8..12], &[0; 4]);
    }

    #[test]
    fn unaligned_copies() {
        let mut mem = [0u64; 4];
        let base = mem.as_mut_ptr().cast::<u8>();
        let src: Vec<u8> = (0..21).collect();
        // SAFETY: 3 + 21 <= 32.
        unsafe { store_bytes(base.add(3), &src) };
        let mut out = vec![0u8; 21];
        // SAFETY: as above.
        unsafe { load_bytes(base.add(3), &mut out) };
        assert_eq!(out, src);
        // SAFETY: as above.
        unsafe { zero_bytes(base.add(3), 21) };
        // SAFETY: as above.
        unsafe { load_bytes(base.add(3), &mut out) };
        assert!(out.iter().all(|&b| b == 0));
    }
}
