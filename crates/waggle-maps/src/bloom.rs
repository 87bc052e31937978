//! `BPF_MAP_TYPE_BLOOM_FILTER`.
//!
//! A bit array sized as Linux sizes it (`max_entries * hashes * 7 / 5` bits,
//! rounded up to a power of two, at least 64, at most 2^32) with `map_extra`
//! hash functions (0 means 5). `push` sets the value's bits, `peek(Some(v))`
//! answers "possibly present" (`Ok`, empty) or "certainly absent"
//! (`ENOENT`). Bits are set with atomic ORs, so pushes and peeks from any
//! number of threads need no lock, as in Linux.
//!
//! The hash functions are Waggle's own seeded 64-bit mix, not Linux's jhash:
//! which bits a value sets differs, membership answers do not (no false
//! negatives, a similar false-positive rate). The seed is random unless
//! `BPF_F_ZERO_SEED` is set.
//!
//! Operations by key are Linux's: `lookup`/`update` are `EINVAL`, `delete`,
//! `pop` and `next_key` `EOPNOTSUPP`; the application's `update_all` is the
//! `bpf()` syscall's update, which Linux maps to a push.

use crate::check::{self, invalid};
use crate::region::Region;
use crate::{Map, MapError, MapFlags, MapOptions, MapSpec, MapType, BPF_ANY};
use std::any::Any;
use std::hash::{BuildHasher, RandomState};
use std::ptr::NonNull;
use std::sync::atomic::{AtomicU64, Ordering};

/// 64-bit avalanche (MurmurHash3's finaliser).
fn fmix(mut h: u64) -> u64 {
    h ^= h >> 33;
    h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
    h ^= h >> 33;
    h = h.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    h ^ (h >> 33)
}

/// A seeded hash of `data`: every input bit affects every output bit.
fn hash64(data: &[u8], seed: u64) -> u64 {
    const K: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut h = fmix(seed ^ K) ^ (data.len() as u64).wrapping_mul(K);
    let mut chunks = data.chunks_exact(8);
    for c in &mut chunks {
        let mut w = [0u8; 8];
        w.copy_from_slice(c);
        h = (h ^ fmix(u64::from_le_bytes(w)))
            .wrapping_mul(K)
            .rotate_left(29);
    }
    let rest = chunks.remainder();
    if !rest.is_empty() {
        let mut w = [0u8; 8];
        if let Some(dst) = w.get_mut(..rest.len()) {
            dst.copy_from_slice(rest);
        }
        h = (h ^ fmix(u64::from_le_bytes(w) ^ 0xff))
            .wrapping_mul(K)
            .rotate_left(29);
    }
    fmix(h)
}

pub struct BloomFilter {
    spec: MapSpec,
    hashes: u32,
    /// Number of bits - 1 (a power of two minus one).
    mask: u64,
    seed: u64,
    bits: Region,
}

impl BloomFilter {
    /// Linux's sizing: returns (bit mask, bytes).
    fn size(max_entries: u32, hashes: u32) -> (u64, u64) {
        let bits = u64::from(max_entries) * u64::from(hashes);
        let bits = bits / 5 * 7;
        let nbits = if bits > 1 << 31 {
            1u64 << 32
        } else if bits <= 64 {
            64
        } else {
            bits.next_power_of_two()
        };
        (nbits - 1, nbits / 8)
    }

    fn hash_count(spec: &MapSpec) -> u32 {
        match spec.map_extra & 0xf {
            0 => 5,
            n => n as u32,
        }
    }

    /// Validates `spec` as Linux's `bloom_map_alloc` does and returns the
    /// bytes the map will take.
    pub(crate) fn check(spec: &MapSpec, opts: MapOptions) -> Result<u64, MapError> {
        check::common(spec, opts)?;
        check::key_size_is(spec, 0)?;
        check::value_size_nonzero(spec)?;
        check::max_entries_nonzero(spec)?;
        check::flags_within(
            spec,
            MapFlags::NUMA_NODE | MapFlags::ZERO_SEED | MapFlags::ACCESS_MASK,
        )?;
        if spec.map_extra & !0xf != 0 {
            return Err(invalid(format!(
                "{}: bloom filter map_extra (number of hashes) must be 0..=15, not {}",
                spec.name, spec.map_extra
            )));
        }
        if u64::from(spec.value_size) > check::KMALLOC_MAX_SIZE {
            return Err(MapError::TooBig);
        }
        Ok(Self::size(spec.max_entries, Self::hash_count(spec)).1)
    }

    pub fn new(spec: &MapSpec, opts: MapOptions) -> Result<BloomFilter, MapError> {
        if spec.map_type != MapType::BloomFilter {
            return Err(invalid(format!("{}: not a bloom filter", spec.name)));
        }
        let bytes = Self::check(spec, opts)?;
        check::cap(bytes)?;
        let hashes = Self::hash_count(spec);
        let (mask, bytes) = Self::size(spec.max_entries, hashes);
        let seed = if spec.flags & MapFlags::ZERO_SEED != 0 {
            0
        } else {
            RandomState::new().hash_one(0x5eed_u64)
        };
        Ok(BloomFilter {
            spec: spec.clone(),
            hashes,
            mask,
            seed,
            bits: Region::zeroed(bytes)?,
        })
    }

    /// The number of bits in the filter.
    pub fn bit_count(&self) -> u64 {
        self.mask + 1
    }

    /// The number of hash functions.
    pub fn hash_functions(&self) -> u32 {
        self.hashes
    }

    /// The word holding bit `n`, and the bit's mask in it.
    fn word(&self, n: u64) -> Option<(&AtomicU64, u64)> {
        let ptr = self.bits.at((n / 64) as usize * 8, 8)?;
        // SAFETY: `ptr` is 8-aligned (region base and offset are) and inside
        // the region, which outlives `&self`; the region is only accessed
        // atomically.
        let word = unsafe { AtomicU64::from_ptr(ptr.cast::<u64>()) };
        Some((word, 1 << (n % 64)))
    }

    fn bit_indexes<'a>(&'a self, value: &'a [u8]) -> impl Iterator<Item = u64> + 'a {
        (0..u64::from(self.hashes))
            .map(move |i| hash64(value, self.seed.wrapping_add(i)) & self.mask)
    }
}

impl Map for BloomFilter {
    fn spec(&self) -> &MapSpec {
        &self.spec
    }

    fn lookup_ptr(&self, _key: &[u8], _cpu: u32) -> Option<NonNull<u8>> {
        None
    }

    fn update(&self, _key: &[u8], _value: &[u8], _flags: u64, _cpu: u32) -> Result<(), MapError> {
        Err(invalid(format!(
            "{}: bloom filters have no keys; push instead",
            self.spec.name
        )))
    }

    fn delete(&self, _key: &[u8]) -> Result<(), MapError> {
        Err(MapError::NotSupported(self.spec.map_type.name()))
    }

    fn lookup(&self, _key: &[u8]) -> Result<Vec<u8>, MapError> {
        Err(invalid(format!(
            "{}: bloom filters have no keys; peek(Some(value)) instead",
            self.spec.name
        )))
    }

    /// `bpf(BPF_MAP_UPDATE_ELEM)` on a bloom filter: a push.
    fn update_all(&self, key: &[u8], value: &[u8], flags: u64) -> Result<(), MapError> {
        check::key_len(&self.spec, key)?;
        self.push(value, flags)
    }

    fn next_key(&self, _key: Option<&[u8]>) -> Result<Vec<u8>, MapError> {
        Err(MapError::NotSupported(self.spec.map_type.name()))
    }

    fn push(&self, value: &[u8], flags: u64) -> Result<(), MapError> {
        if flags != BPF_ANY {
            return Err(invalid(format!(
                "{}: bloom filter push flags must be BPF_ANY, not {flags:#x}",
                self.spec.name
            )));
        }
        check::value_len(&self.spec, value, self.spec.value_size as usize)?;
        for n in self.bit_indexes(value) {
            if let Some((word, bit)) = self.word(n) {
                if word.load(Ordering::Relaxed) & bit == 0 {
                    word.fetch_or(bit, Ordering::Relaxed);
                }
            }
        }
        Ok(())
    }

    fn pop(&self) -> Result<Vec<u8>, MapError> {
        Err(MapError::NotSupported(self.spec.map_type.name()))
    }

    /// Membership of `value`: `Ok(vec![])` if possibly present, `NotFound` if absent.
    fn peek(&self, value: Option<&[u8]>) -> Result<Vec<u8>, MapError> {
        let value = value.ok_or_else(|| {
            invalid(format!(
                "{}: bloom filter peek needs a value",
                self.spec.name
            ))
        })?;
        check::value_len(&self.spec, value, self.spec.value_size as usize)?;
        for n in self.bit_indexes(value) {
            let Some((word, bit)) = self.word(n) else {
                return Err(MapError::NotFound);
            };
            if word.load(Ordering::Relaxed) & bit == 0 {
                return Err(MapError::NotFound);
            }
        }
        Ok(Vec::new())
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}
