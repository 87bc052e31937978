//! `BPF_MAP_TYPE_HASH`, `PERCPU_HASH`, `LRU_HASH` and `LRU_PERCPU_HASH`.
//!
//! # Memory
//! Element slots are preallocated (`max_entries + 1` of them: one spare, see
//! below) and recycled through a FIFO free list, never freed while the map
//! lives, so a value pointer a program got from a lookup stays valid memory
//! even after the element is deleted or replaced. This holds with
//! `BPF_F_NO_PREALLOC` too: Linux then allocates elements on demand and
//! frees them after an RCU grace period; Waggle has no grace periods, so it
//! always preallocates (the pages stay untouched, hence unbacked, until used).
//! The FIFO free list delays the reuse of a freed slot as long as possible.
//!
//! # Updates
//! As in Linux's preallocated hash: updating an existing key of a hash or
//! LRU hash installs the new value in a fresh slot and retires the old one
//! (the spare slot makes this possible in a full map), so a program that
//! holds the old value's pointer keeps reading a consistent old value.
//! `BPF_F_LOCK` updates and per-CPU maps update the value in place, as Linux
//! does.
//!
//! # Concurrency
//! The index (buckets, keys, free list, LRU list) is behind one `RwLock`:
//! program and application lookups share it, updates and deletes take it
//! exclusively, and copy the value while holding it. Value bytes themselves
//! are read and written by programs through their pointers without any lock,
//! so programs race on values exactly as they do in Linux (use atomics or
//! `bpf_spin_lock` for shared counters).
//!
//! # LRU
//! Recency is tracked with a list ordered by insertion and a reference bit
//! per element that program lookups set (application lookups do not, like
//! Linux's `lookup_elem_sys_only`). A full map evicts from the old end of the
//! list, giving elements whose bit is set a second chance (the bit is
//! cleared and the element moves to the young end): the CLOCK approximation
//! of LRU, in the spirit of Linux's active/inactive lists. Unlike Linux,
//! which caches free elements per CPU and can evict before the map is full
//! (and may evict when replacing an existing key), Waggle evicts only when a
//! new key is inserted into a full map. `BPF_F_NO_COMMON_LRU` is accepted and
//! behaves as the common LRU.

use crate::check::{self, invalid, round8};
use crate::lock::{zero_bytes, ValueLayout};
use crate::region::Region;
use crate::{
    Map, MapError, MapFlags, MapOptions, MapSpec, MapType, BPF_EXIST, BPF_F_LOCK, BPF_NOEXIST,
};
use std::any::Any;
use std::collections::VecDeque;
use std::hash::{BuildHasher, DefaultHasher, Hasher, RandomState};
use std::ptr::NonNull;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::RwLock;

/// "No slot" in chains, buckets and the LRU list.
const NIL: u32 = u32::MAX;

/// Linux's `sizeof(struct htab_elem)` on x86-64, for its element size limit.
const HTAB_ELEM_SIZE: u64 = 48;

/// The key hash: SipHash with a random key per map (Linux uses jhash with a
/// random seed), or with a zero key for `BPF_F_ZERO_SEED`.
pub(crate) enum KeyHasher {
    Random(RandomState),
    Zero,
}

impl KeyHasher {
    pub(crate) fn for_flags(flags: u32) -> KeyHasher {
        if flags & MapFlags::ZERO_SEED != 0 {
            KeyHasher::Zero
        } else {
            KeyHasher::Random(RandomState::new())
        }
    }

    pub(crate) fn hash(&self, bytes: &[u8]) -> u64 {
        let mut h = match self {
            KeyHasher::Random(s) => s.build_hasher(),
            KeyHasher::Zero => DefaultHasher::new(),
        };
        h.write(bytes);
        h.finish()
    }
}

/// A vector of `n` copies of `v`, `NoMemory` if it cannot be allocated.
pub(crate) fn try_vec<T: Clone>(n: usize, v: T) -> Result<Vec<T>, MapError> {
    let mut out = Vec::new();
    out.try_reserve_exact(n).map_err(|_| MapError::NoMemory)?;
    out.resize(n, v);
    Ok(out)
}

/// The index: a chained hash table over slot numbers, with keys stored per slot.
struct Table {
    key_size: usize,
    keys: Vec<u8>,
    hashes: Vec<u64>,
    chain: Vec<u32>,
    used: Vec<bool>,
    buckets: Vec<u32>,
    free: VecDeque<u32>,
    count: u32,
    lru_prev: Vec<u32>,
    lru_next: Vec<u32>,
    /// Youngest element.
    lru_head: u32,
    /// Oldest element: the next eviction candidate.
    lru_tail: u32,
}

impl Table {
    fn new(slots: u32, key_size: usize, buckets: usize, lru: bool) -> Result<Table, MapError> {
        let n = slots as usize;
        let mut free = VecDeque::new();
        free.try_reserve_exact(n).map_err(|_| MapError::NoMemory)?;
        free.extend(0..slots);
        let lru_n = if lru { n } else { 0 };
        Ok(Table {
            key_size,
            keys: try_vec(n.saturating_mul(key_size), 0u8)?,
            hashes: try_vec(n, 0u64)?,
            chain: try_vec(n, NIL)?,
            used: try_vec(n, false)?,
            buckets: try_vec(buckets, NIL)?,
            free,
            count: 0,
            lru_prev: try_vec(lru_n, NIL)?,
            lru_next: try_vec(lru_n, NIL)?,
            lru_head: NIL,
            lru_tail: NIL,
        })
    }

    fn key(&self, slot: u32) -> &[u8] {
        let start = slot as usize * self.key_size;
        self.keys.get(start..start + self.key_size).unwrap_or(&[])
    }

    fn bucket(&self, hash: u64) -> usize {
        (hash as usize) & (self.buckets.len().saturating_sub(1))
    }

    fn find(&self, key: &[u8], hash: u64) -> Option<u32> {
        let mut slot = *self.buckets.get(self.bucket(hash))?;
        while slot != NIL {
            let i = slot as usize;
            if self.hashes.get(i) == Some(&hash) && self.key(slot) == key {
                return Some(slot);
            }
            slot = *self.chain.get(i)?;
        }
        None
    }

    /// Puts `slot` (holding `key`) at the head of its bucket's chain.
    fn link(&mut self, slot: u32, key: &[u8], hash: u64) {
        let i = slot as usize;
        let start = i * self.key_size;
        if let Some(k) = self.keys.get_mut(start..start + self.key_size) {
            k.copy_from_slice(key);
        }
        let b = self.bucket(hash);
        if let (Some(h), Some(c), Some(head), Some(u)) = (
            self.hashes.get_mut(i),
            self.chain.get_mut(i),
            self.buckets.get_mut(b),
            self.used.get_mut(i),
        ) {
            *h = hash;
            *c = *head;
            *head = slot;
            *u = true;
        }
    }

    /// Removes `slot` from its bucket's chain.
    fn unlink(&mut self, slot: u32) {
        let i = slot as usize;
        let Some(&hash) = self.hashes.get(i) else {
            return;
        };
        let next = self.chain.get(i).copied().unwrap_or(NIL);
        let b = self.bucket(hash);
        if self.buckets.get(b) == Some(&slot) {
            if let Some(head) = self.buckets.get_mut(b) {
                *head = next;
            }
        } else {
            let mut at = self.buckets.get(b).copied().unwrap_or(NIL);
            while at != NIL {
                let after = self.chain.get(at as usize).copied().unwrap_or(NIL);
                if after == slot {
                    if let Some(c) = self.chain.get_mut(at as usize) {
                        *c = next;
                    }
                    break;
                }
                at = after;
            }
        }
        if let (Some(c), Some(u)) = (self.chain.get_mut(i), self.used.get_mut(i)) {
            *c = NIL;
            *u = false;
        }
    }

    fn lru_push_front(&mut self, slot: u32) {
        let i = slot as usize;
        let old_head = self.lru_head;
        if let (Some(p), Some(n)) = (self.lru_prev.get_mut(i), self.lru_next.get_mut(i)) {
            *p = NIL;
            *n = old_head;
        } else {
            return;
        }
        if old_head != NIL {
            if let Some(p) = self.lru_prev.get_mut(old_head as usize) {
                *p = slot;
            }
        } else {
            self.lru_tail = slot;
        }
        self.lru_head = slot;
    }

    fn lru_remove(&mut self, slot: u32) {
        let i = slot as usize;
        let (Some(&prev), Some(&next)) = (self.lru_prev.get(i), self.lru_next.get(i)) else {
            return;
        };
        match self.lru_next.get_mut(prev as usize) {
            Some(n) => *n = next,
            None => self.lru_head = next,
        }
        match self.lru_prev.get_mut(next as usize) {
            Some(p) => *p = prev,
            None => self.lru_tail = prev,
        }
        if let (Some(p), Some(n)) = (self.lru_prev.get_mut(i), self.lru_next.get_mut(i)) {
            *p = NIL;
            *n = NIL;
        }
    }
}

/// What an update writes: one CPU's value (a program's view; the only value
/// of non-per-CPU maps) or every CPU's, 8-byte padded (the application's).
#[derive(Clone, Copy)]
enum Source<'a> {
    One(&'a [u8], u32),
    All(&'a [u8]),
}

pub struct HashMap {
    spec: MapSpec,
    percpu: bool,
    lru: bool,
    /// Copies per element: the CPU count for per-CPU maps, else 1.
    cpus: u32,
    stride: usize,
    layout: ValueLayout,
    values: Region,
    /// LRU reference bits, one per slot (empty for non-LRU maps). Atomics,
    /// so that lookups set them under the shared lock.
    refs: Box<[AtomicBool]>,
    hasher: KeyHasher,
    table: RwLock<Table>,
}

impl HashMap {
    fn is_percpu(t: MapType) -> bool {
        matches!(t, MapType::PercpuHash | MapType::LruPercpuHash)
    }

    fn is_lru(t: MapType) -> bool {
        matches!(t, MapType::LruHash | MapType::LruPercpuHash)
    }

    /// Validates `spec` as Linux's `htab_map_alloc_check` does and returns
    /// the bytes the map will take.
    pub(crate) fn check(spec: &MapSpec, opts: MapOptions) -> Result<u64, MapError> {
        check::common(spec, opts)?;
        let percpu = Self::is_percpu(spec.map_type);
        let lru = Self::is_lru(spec.map_type);
        check::flags_within(
            spec,
            MapFlags::NO_PREALLOC
                | MapFlags::NO_COMMON_LRU
                | MapFlags::NUMA_NODE
                | MapFlags::ACCESS_MASK
                | MapFlags::ZERO_SEED,
        )?;
        let percpu_lru = spec.flags & MapFlags::NO_COMMON_LRU != 0;
        if percpu_lru && !lru {
            return Err(invalid(format!(
                "{}: BPF_F_NO_COMMON_LRU is only for LRU hash maps",
                spec.name
            )));
        }
        if lru && spec.flags & MapFlags::NO_PREALLOC != 0 {
            // Linux: ENOTSUPP.
            return Err(MapError::NotSupported(spec.map_type.name()));
        }
        if spec.flags & MapFlags::NUMA_NODE != 0 && (percpu || percpu_lru) {
            return Err(invalid(format!(
                "{}: BPF_F_NUMA_NODE is not supported with per-CPU values or LRU lists",
                spec.name
            )));
        }
        check::max_entries_nonzero(spec)?;
        if spec.key_size == 0 {
            return Err(invalid(format!("{}: key_size must not be 0", spec.name)));
        }
        check::value_size_nonzero(spec)?;
        if u64::from(spec.key_size) + u64::from(spec.value_size)
            >= check::KMALLOC_MAX_SIZE - HTAB_ELEM_SIZE
        {
            return Err(MapError::TooBig);
        }
        if percpu && round8(u64::from(spec.value_size)) > check::PCPU_MIN_UNIT_SIZE {
            return Err(MapError::TooBig);
        }
        let slots = u64::from(spec.max_entries) + 1;
        if slots >= u64::from(NIL) {
            return Err(MapError::NoMemory);
        }
        let copies = if percpu { u64::from(opts.cpus) } else { 1 };
        let elem = round8(u64::from(spec.value_size)).saturating_mul(copies);
        // key + hash + chain + used + free list (+ LRU links and bit)
        let meta = u64::from(spec.key_size) + 8 + 4 + 1 + 4 + if lru { 9 } else { 0 };
        let buckets = u64::from(spec.max_entries)
            .next_power_of_two()
            .saturating_mul(4);
        Ok(slots
            .saturating_mul(elem.saturating_add(meta))
            .saturating_add(buckets))
    }

    pub fn new(spec: &MapSpec, opts: MapOptions) -> Result<HashMap, MapError> {
        if !matches!(
            spec.map_type,
            MapType::Hash | MapType::PercpuHash | MapType::LruHash | MapType::LruPercpuHash
        ) {
            return Err(invalid(format!("{}: not a hash map", spec.name)));
        }
        let bytes = Self::check(spec, opts)?;
        check::cap(bytes)?;
        let percpu = Self::is_percpu(spec.map_type);
        let lru = Self::is_lru(spec.map_type);
        let cpus = if percpu { opts.cpus } else { 1 };
        let stride = round8(u64::from(spec.value_size)) as usize;
        let slots = spec.max_entries + 1;
        let region = (slots as u64)
            .saturating_mul(stride as u64)
            .saturating_mul(u64::from(cpus));
        let buckets = (spec.max_entries as usize)
            .checked_next_power_of_two()
            .ok_or(MapError::NoMemory)?;
        let mut refs = Vec::new();
        if lru {
            refs.try_reserve_exact(slots as usize)
                .map_err(|_| MapError::NoMemory)?;
            refs.extend((0..slots).map(|_| AtomicBool::new(false)));
        }
        Ok(HashMap {
            spec: spec.clone(),
            percpu,
            lru,
            cpus,
            stride,
            layout: ValueLayout {
                size: spec.value_size as usize,
                lock: spec.spin_lock_offset.map(|o| o as usize),
            },
            values: Region::zeroed(region)?,
            refs: refs.into_boxed_slice(),
            hasher: KeyHasher::for_flags(spec.flags),
            table: RwLock::new(Table::new(slots, spec.key_size as usize, buckets, lru)?),
        })
    }

    /// Number of elements.
    pub fn len(&self) -> usize {
        check::read(&self.table).count as usize
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The value of `slot` for `cpu`.
    fn value_ptr(&self, slot: u32, cpu: u32) -> Option<*mut u8> {
        if cpu >= self.cpus {
            return None;
        }
        let index = slot as usize * self.cpus as usize + cpu as usize;
        self.values.at(index * self.stride, self.stride)
    }

    fn touch(&self, slot: u32) {
        if let Some(r) = self.refs.get(slot as usize) {
            // Load first: avoid dirtying the cache line on every hit.
            if !r.load(Ordering::Relaxed) {
                r.store(true, Ordering::Relaxed);
            }
        }
    }

    /// Evicts the least recently used element (second-chance order).
    fn evict(&self, t: &mut Table) -> bool {
        let mut chances = u64::from(t.count) + 1;
        loop {
            let victim = t.lru_tail;
            if victim == NIL {
                return false;
            }
            let referenced = self
                .refs
                .get(victim as usize)
                .is_some_and(|r| r.swap(false, Ordering::Relaxed));
            if referenced && chances > 0 {
                chances -= 1;
                t.lru_remove(victim);
                t.lru_push_front(victim);
                continue;
            }
            t.unlink(victim);
            t.lru_remove(victim);
            t.free.push_back(victim);
            t.count = t.count.saturating_sub(1);
            return true;
        }
    }

    /// Writes `src` into the fresh `slot`; a program's update of a new
    /// per-CPU element zeroes the other CPUs' copies, as Linux does.
    fn init_slot(&self, slot: u32, src: Source<'_>) {
        for cpu in 0..self.cpus {
            let Some(ptr) = self.value_ptr(slot, cpu) else {
                continue;
            };
            match src {
                Source::One(value, c) if c == cpu => {
                    // SAFETY: `ptr` is a value of this layout inside the region.
                    unsafe { self.layout.init(ptr, value) }
                }
                Source::One(..) => {
                    // SAFETY: `ptr..ptr + stride` is inside the region.
                    unsafe { zero_bytes(ptr, self.stride) }
                }
                Source::All(all) => {
                    let start = cpu as usize * self.stride;
                    if let Some(value) = all.get(start..start + self.layout.size) {
                        // SAFETY: as above.
                        unsafe { self.layout.init(ptr, value) }
                    }
                }
            }
        }
    }

    /// In-place update of an existing per-CPU element.
    fn write_in_place(&self, slot: u32, src: Source<'_>) {
        match src {
            Source::One(value, cpu) => {
                if let Some(ptr) = self.value_ptr(slot, cpu) {
                    // SAFETY: `ptr` is a value of this layout inside the region.
                    unsafe { self.layout.write(ptr, value) }
                }
            }
            Source::All(all) => {
                for cpu in 0..self.cpus {
                    let start = cpu as usize * self.stride;
                    let (Some(ptr), Some(value)) = (
                        self.value_ptr(slot, cpu),
                        all.get(start..start + self.layout.size),
                    ) else {
                        continue;
                    };
                    // SAFETY: as above.
                    unsafe { self.layout.write(ptr, value) }
                }
            }
        }
    }

    fn update_impl(&self, key: &[u8], src: Source<'_>, flags: u64) -> Result<(), MapError> {
        check::key_len(&self.spec, key)?;
        // Plain hash maps take BPF_F_LOCK; per-CPU and LRU maps do not (as in Linux).
        let lock_bit = if self.percpu || self.lru {
            0
        } else {
            BPF_F_LOCK
        };
        if flags & !lock_bit > BPF_EXIST {
            return Err(invalid(format!(
                "{}: unknown update flags {flags:#x}",
                self.spec.name
            )));
        }
        match src {
            Source::One(value, cpu) => {
                check::value_len(&self.spec, value, self.layout.size)?;
                if cpu >= self.cpus {
                    return Err(invalid(format!(
                        "{}: cpu {cpu} out of range",
                        self.spec.name
                    )));
                }
            }
            Source::All(value) => {
                check::value_len(&self.spec, value, self.stride * self.cpus as usize)?
            }
        }
        let locked = flags & BPF_F_LOCK != 0;
        if locked && self.layout.lock.is_none() {
            return Err(invalid(format!(
                "{}: BPF_F_LOCK on a value without a bpf_spin_lock",
                self.spec.name
            )));
        }
        let value = match src {
            Source::One(v, _) | Source::All(v) => v,
        };
        let mode = flags & (BPF_NOEXIST | BPF_EXIST);
        let hash = self.hasher.hash(key);

        if locked {
            // Update in place under the element's lock, without the index's
            // exclusive lock, as Linux does when the element exists.
            let t = check::read(&self.table);
            if let Some(slot) = t.find(key, hash) {
                if mode == BPF_NOEXIST {
                    return Err(MapError::Exists);
                }
                if let Some(ptr) = self.value_ptr(slot, 0) {
                    // SAFETY: `ptr` is a value of this layout, which has a lock word.
                    unsafe { self.layout.write_locked(ptr, value) };
                }
                return Ok(());
            }
        }

        let mut t = check::write(&self.table);
        let old = t.find(key, hash);
        match (old, mode) {
            (Some(_), BPF_NOEXIST) => return Err(MapError::Exists),
            (None, BPF_EXIST) => return Err(MapError::NotFound),
            _ => {}
        }
        if let Some(slot) = old {
            if locked {
                if let Some(ptr) = self.value_ptr(slot, 0) {
                    // SAFETY: as above.
                    unsafe { self.layout.write_locked(ptr, value) };
                }
                return Ok(());
            }
            if self.percpu {
                self.write_in_place(slot, src);
                if self.lru {
                    self.touch(slot);
                }
                return Ok(());
            }
        }
        if old.is_none() && t.count >= self.spec.max_entries {
            if !self.lru {
                return Err(MapError::TooBig);
            }
            if !self.evict(&mut t) {
                return Err(MapError::NoMemory);
            }
        }
        // There are max_entries + 1 slots and at most max_entries elements,
        // so a slot is free here.
        let slot = t.free.pop_front().ok_or(MapError::TooBig)?;
        self.init_slot(slot, src);
        t.link(slot, key, hash);
        if self.lru {
            t.lru_push_front(slot);
            // Linux marks a replacing element as referenced.
            if let Some(r) = self.refs.get(slot as usize) {
                r.store(old.is_some(), Ordering::Relaxed);
            }
        }
        match old {
            Some(o) => {
                t.unlink(o);
                if self.lru {
                    t.lru_remove(o);
                }
                t.free.push_back(o);
            }
            None => t.count += 1,
        }
        Ok(())
    }

    /// The application's lookup with `bpf(BPF_MAP_LOOKUP_ELEM)` flags: 0, or
    /// `BPF_F_LOCK` to copy the value while holding its spin lock.
    pub fn lookup_with_flags(&self, key: &[u8], flags: u64) -> Result<Vec<u8>, MapError> {
        if flags & !BPF_F_LOCK != 0 {
            return Err(invalid(format!(
                "{}: unknown lookup flags {flags:#x}",
                self.spec.name
            )));
        }
        if flags & BPF_F_LOCK == 0 {
            return self.lookup(key);
        }
        if self.layout.lock.is_none() {
            return Err(invalid(format!(
                "{}: BPF_F_LOCK on a value without a bpf_spin_lock",
                self.spec.name
            )));
        }
        check::key_len(&self.spec, key)?;
        let hash = self.hasher.hash(key);
        let t = check::read(&self.table);
        let slot = t.find(key, hash).ok_or(MapError::NotFound)?;
        let ptr = self.value_ptr(slot, 0).ok_or(MapError::NotFound)?;
        let mut out = vec![0u8; self.layout.size];
        // SAFETY: `ptr` is a value of this layout, which has a lock word.
        unsafe { self.layout.read_locked(ptr, &mut out) };
        Ok(out)
    }
}

impl Map for HashMap {
    fn spec(&self) -> &MapSpec {
        &self.spec
    }

    fn lookup_ptr(&self, key: &[u8], cpu: u32) -> Option<NonNull<u8>> {
        if key.len() != self.spec.key_size as usize {
            return None;
        }
        let cpu = if self.percpu { cpu } else { 0 };
        if cpu >= self.cpus {
            return None;
        }
        let hash = self.hasher.hash(key);
        let t = check::read(&self.table);
        let slot = t.find(key, hash)?;
        if self.lru {
            self.touch(slot);
        }
        NonNull::new(self.value_ptr(slot, cpu)?)
    }

    fn update(&self, key: &[u8], value: &[u8], flags: u64, cpu: u32) -> Result<(), MapError> {
        let cpu = if self.percpu { cpu } else { 0 };
        self.update_impl(key, Source::One(value, cpu), flags)
    }

    fn delete(&self, key: &[u8]) -> Result<(), MapError> {
        check::key_len(&self.spec, key)?;
        let hash = self.hasher.hash(key);
        let mut t = check::write(&self.table);
        let slot = t.find(key, hash).ok_or(MapError::NotFound)?;
        t.unlink(slot);
        if self.lru {
            t.lru_remove(slot);
        }
        t.free.push_back(slot);
        t.count = t.count.saturating_sub(1);
        Ok(())
    }

    fn lookup(&self, key: &[u8]) -> Result<Vec<u8>, MapError> {
        check::key_len(&self.spec, key)?;
        let hash = self.hasher.hash(key);
        let t = check::read(&self.table);
        let slot = t.find(key, hash).ok_or(MapError::NotFound)?;
        let mut out = vec![0u8; self.stride * self.cpus as usize];
        for (cpu, chunk) in out.chunks_exact_mut(self.stride).enumerate() {
            let (Some(ptr), Some(dst)) = (
                self.value_ptr(slot, cpu as u32),
                chunk.get_mut(..self.layout.size),
            ) else {
                continue;
            };
            // SAFETY: `ptr` is a value of this layout inside the region.
            unsafe { self.layout.read(ptr, dst) };
        }
        if !self.percpu {
            out.truncate(self.layout.size);
        }
        Ok(out)
    }

    fn update_all(&self, key: &[u8], value: &[u8], flags: u64) -> Result<(), MapError> {
        if self.percpu {
            self.update_impl(key, Source::All(value), flags)
        } else {
            self.update_impl(key, Source::One(value, 0), flags)
        }
    }

    /// Iteration in slot order: the key after `key`'s slot, or the first
    /// key when `key` is `None` or absent (as Linux restarts from the first
    /// bucket).
    fn next_key(&self, key: Option<&[u8]>) -> Result<Vec<u8>, MapError> {
        let t = check::read(&self.table);
        let start = match key {
            None => 0,
            Some(k) => {
                check::key_len(&self.spec, k)?;
                let hash = self.hasher.hash(k);
                t.find(k, hash).map_or(0, |s| s as usize + 1)
            }
        };
        let slot = t
            .used
            .iter()
            .skip(start)
            .position(|&u| u)
            .ok_or(MapError::NotFound)?;
        Ok(t.key((start + slot) as u32).to_vec())
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}
