//! `BPF_MAP_TYPE_LPM_TRIE`: longest-prefix match.
//!
//! A key is `struct bpf_lpm_trie_key`: a host-endian `u32` prefix length,
//! then `key_size - 4` bytes of data read most significant bit first (network
//! order). An element is identified by its prefix: (prefix length, the first
//! prefix-length bits of its data); bits past the prefix are kept as given
//! (Linux stores and returns them too) but never compared.
//!
//! Instead of Linux's path-compressed trie, the elements sit in an ordered
//! map whose order is exactly the trie's post-order (a prefix after
//! everything it covers, 0-branch before 1-branch), which gives Linux's
//! `next_key` order: more specific prefixes first. A lookup probes the
//! prefix lengths present in the map, longest first, up to the key's length:
//! at most `8 * data size + 1` ordered-map probes, usually a handful.
//!
//! Values live in preallocated slots recycled through a FIFO free list, as
//! in the hash maps (and for the same reason: program pointers stay valid).
//! `BPF_F_NO_PREALLOC` is mandatory, as in Linux, but only the index
//! allocates on demand. Updates of an existing prefix install the value in a
//! fresh slot, as Linux installs a fresh node. Linux's trie accepts
//! `BPF_NOEXIST`/`BPF_EXIST` and reports a full map as `ENOSPC` only when a
//! new prefix would be added (its behaviour since 6.13; earlier kernels
//! ignored the flags and refused any update of a full trie).

use crate::check::{self, invalid, round8};
use crate::lock::ValueLayout;
use crate::region::Region;
use crate::{Map, MapError, MapFlags, MapOptions, MapSpec, MapType, BPF_EXIST, BPF_NOEXIST};
use std::any::Any;
use std::borrow::Borrow;
use std::cmp::Ordering;
use std::collections::{BTreeMap, VecDeque};
use std::ops::Bound;
use std::ptr::NonNull;
use std::sync::RwLock;

const PREFIX_LEN_SIZE: usize = 4;
const DATA_SIZE_MAX: u32 = 256;
/// Linux's `LPM_VAL_SIZE_MAX`: KMALLOC_MAX_SIZE - LPM_DATA_SIZE_MAX - sizeof(struct lpm_trie_node).
const VALUE_SIZE_MAX: u64 = check::KMALLOC_MAX_SIZE - DATA_SIZE_MAX as u64 - 40;
/// Rough per-element cost of the ordered index (node share and boxed key).
const INDEX_OVERHEAD: u64 = 64;

fn prefix_len(key: &[u8]) -> u32 {
    let mut b = [0u8; 4];
    if let Some(p) = key.get(..PREFIX_LEN_SIZE) {
        b.copy_from_slice(p);
    }
    u32::from_ne_bytes(b)
}

fn bit(data: &[u8], index: usize) -> u8 {
    data.get(index / 8)
        .map_or(0, |b| (b >> (7 - index % 8)) & 1)
}

/// Trie post-order of two raw keys: compare the bits both prefixes have; at
/// the first difference the 0 side comes first; if one prefix covers the
/// other, the longer (more specific) one comes first.
fn postorder(a: &[u8], b: &[u8]) -> Ordering {
    let (la, lb) = (prefix_len(a) as usize, prefix_len(b) as usize);
    let da = a.get(PREFIX_LEN_SIZE..).unwrap_or(&[]);
    let db = b.get(PREFIX_LEN_SIZE..).unwrap_or(&[]);
    let common = la.min(lb);
    let whole = common / 8;
    let (ha, hb) = (da.get(..whole).unwrap_or(da), db.get(..whole).unwrap_or(db));
    if ha != hb {
        // Find the first differing bit in the whole bytes.
        for (x, y) in ha.iter().zip(hb) {
            if x != y {
                let first = (x ^ y).leading_zeros();
                return if (x >> (7 - first)) & 1 == 0 {
                    Ordering::Less
                } else {
                    Ordering::Greater
                };
            }
        }
    }
    for i in whole * 8..common {
        match bit(da, i).cmp(&bit(db, i)) {
            Ordering::Equal => continue,
            other => return other,
        }
    }
    // Equal on the common bits: the longer prefix first.
    lb.cmp(&la)
}

/// A raw key (prefix length + data) ordered in trie post-order.
#[repr(transparent)]
struct KeyRef([u8]);

impl KeyRef {
    fn new(bytes: &[u8]) -> &KeyRef {
        // SAFETY: `KeyRef` is `repr(transparent)` over `[u8]`, so the fat
        // pointer casts to one with the same layout and metadata.
        unsafe { &*(bytes as *const [u8] as *const KeyRef) }
    }
}

impl PartialEq for KeyRef {
    fn eq(&self, other: &Self) -> bool {
        postorder(&self.0, &other.0) == Ordering::Equal
    }
}
impl Eq for KeyRef {}
impl PartialOrd for KeyRef {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for KeyRef {
    fn cmp(&self, other: &Self) -> Ordering {
        postorder(&self.0, &other.0)
    }
}

/// An owned key in the index.
struct Key(Box<[u8]>);

impl Borrow<KeyRef> for Key {
    fn borrow(&self) -> &KeyRef {
        KeyRef::new(&self.0)
    }
}
impl PartialEq for Key {
    fn eq(&self, other: &Self) -> bool {
        postorder(&self.0, &other.0) == Ordering::Equal
    }
}
impl Eq for Key {}
impl PartialOrd for Key {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Key {
    fn cmp(&self, other: &Self) -> Ordering {
        postorder(&self.0, &other.0)
    }
}

struct Index {
    tree: BTreeMap<Key, u32>,
    /// Elements per prefix length (index 0..=max_prefixlen).
    per_len: Vec<u32>,
    free: VecDeque<u32>,
}

pub struct LpmTrie {
    spec: MapSpec,
    max_prefixlen: u32,
    stride: usize,
    layout: ValueLayout,
    values: Region,
    index: RwLock<Index>,
}

impl LpmTrie {
    /// Validates `spec` as Linux's `trie_alloc` does and returns the bytes
    /// the map may take.
    pub(crate) fn check(spec: &MapSpec, opts: MapOptions) -> Result<u64, MapError> {
        check::common(spec, opts)?;
        check::max_entries_nonzero(spec)?;
        if spec.flags & MapFlags::NO_PREALLOC == 0 {
            return Err(invalid(format!(
                "{}: LPM tries require BPF_F_NO_PREALLOC",
                spec.name
            )));
        }
        check::flags_within(
            spec,
            MapFlags::NO_PREALLOC | MapFlags::NUMA_NODE | MapFlags::ACCESS_MASK,
        )?;
        let data = spec.key_size.saturating_sub(PREFIX_LEN_SIZE as u32);
        if !(1..=DATA_SIZE_MAX).contains(&data) {
            return Err(invalid(format!(
                "{}: LPM key_size must be 4 (prefix length) + 1..=256 data bytes, not {}",
                spec.name, spec.key_size
            )));
        }
        if spec.value_size == 0 || u64::from(spec.value_size) > VALUE_SIZE_MAX {
            return Err(invalid(format!(
                "{}: LPM value_size must be 1..={VALUE_SIZE_MAX}, not {}",
                spec.name, spec.value_size
            )));
        }
        let slots = u64::from(spec.max_entries) + 1;
        let per =
            round8(u64::from(spec.value_size)) + u64::from(spec.key_size) + INDEX_OVERHEAD + 4;
        Ok(slots.saturating_mul(per))
    }

    pub fn new(spec: &MapSpec, opts: MapOptions) -> Result<LpmTrie, MapError> {
        if spec.map_type != MapType::LpmTrie {
            return Err(invalid(format!("{}: not an LPM trie", spec.name)));
        }
        let bytes = Self::check(spec, opts)?;
        check::cap(bytes)?;
        let stride = round8(u64::from(spec.value_size)) as usize;
        let slots = spec.max_entries + 1;
        let max_prefixlen = (spec.key_size - PREFIX_LEN_SIZE as u32) * 8;
        let mut free = VecDeque::new();
        free.try_reserve_exact(slots as usize)
            .map_err(|_| MapError::NoMemory)?;
        free.extend(0..slots);
        Ok(LpmTrie {
            spec: spec.clone(),
            max_prefixlen,
            stride,
            layout: ValueLayout {
                size: spec.value_size as usize,
                lock: None,
            },
            values: Region::zeroed(u64::from(slots).saturating_mul(stride as u64))?,
            index: RwLock::new(Index {
                tree: BTreeMap::new(),
                per_len: vec![0; max_prefixlen as usize + 1],
                free,
            }),
        })
    }

    fn value_ptr(&self, slot: u32) -> Option<*mut u8> {
        self.values.at(slot as usize * self.stride, self.stride)
    }

    /// The slot of the longest prefix covering `key`'s first prefix-length bits.
    fn longest_match(&self, index: &Index, key: &[u8]) -> Option<u32> {
        let want = prefix_len(key);
        if want > self.max_prefixlen {
            return None;
        }
        let mut probe = [0u8; PREFIX_LEN_SIZE + DATA_SIZE_MAX as usize];
        let probe = probe.get_mut(..key.len())?;
        probe.copy_from_slice(key);
        for len in (0..=want).rev() {
            if index.per_len.get(len as usize).copied().unwrap_or(0) == 0 {
                continue;
            }
            if let Some(p) = probe.get_mut(..PREFIX_LEN_SIZE) {
                p.copy_from_slice(&len.to_ne_bytes());
            }
            if let Some(&slot) = index.tree.get(KeyRef::new(probe)) {
                return Some(slot);
            }
        }
        None
    }

    fn check_prefix(&self, key: &[u8]) -> Result<(), MapError> {
        check::key_len(&self.spec, key)?;
        let len = prefix_len(key);
        if len > self.max_prefixlen {
            return Err(invalid(format!(
                "{}: prefix length {len} exceeds the {} data bits",
                self.spec.name, self.max_prefixlen
            )));
        }
        Ok(())
    }
}

impl Map for LpmTrie {
    fn spec(&self) -> &MapSpec {
        &self.spec
    }

    fn lookup_ptr(&self, key: &[u8], _cpu: u32) -> Option<NonNull<u8>> {
        if key.len() != self.spec.key_size as usize {
            return None;
        }
        let index = check::read(&self.index);
        let slot = self.longest_match(&index, key)?;
        NonNull::new(self.value_ptr(slot)?)
    }

    fn update(&self, key: &[u8], value: &[u8], flags: u64, _cpu: u32) -> Result<(), MapError> {
        if flags > BPF_EXIST {
            return Err(invalid(format!(
                "{}: unknown update flags {flags:#x}",
                self.spec.name
            )));
        }
        self.check_prefix(key)?;
        check::value_len(&self.spec, value, self.layout.size)?;
        let mut index = check::write(&self.index);
        let old = index.tree.get(KeyRef::new(key)).copied();
        match (old, flags) {
            (Some(_), BPF_NOEXIST) => return Err(MapError::Exists),
            (None, BPF_EXIST) => return Err(MapError::NotFound),
            _ => {}
        }
        if old.is_none() && index.tree.len() >= self.spec.max_entries as usize {
            return Err(MapError::NoSpace);
        }
        let slot = index.free.pop_front().ok_or(MapError::NoSpace)?;
        let ptr = self.value_ptr(slot).ok_or(MapError::NoSpace)?;
        // SAFETY: `ptr` is a value of this layout inside the region.
        unsafe { self.layout.init(ptr, value) };
        let new_key = Key(key.to_vec().into_boxed_slice());
        match old {
            Some(o) => {
                // Replace the key too: Linux's new node carries the new data bytes.
                index.tree.remove(KeyRef::new(key));
                index.tree.insert(new_key, slot);
                index.free.push_back(o);
            }
            None => {
                index.tree.insert(new_key, slot);
                if let Some(n) = index.per_len.get_mut(prefix_len(key) as usize) {
                    *n += 1;
                }
            }
        }
        Ok(())
    }

    fn delete(&self, key: &[u8]) -> Result<(), MapError> {
        self.check_prefix(key)?;
        let mut index = check::write(&self.index);
        let slot = index
            .tree
            .remove(KeyRef::new(key))
            .ok_or(MapError::NotFound)?;
        index.free.push_back(slot);
        if let Some(n) = index.per_len.get_mut(prefix_len(key) as usize) {
            *n = n.saturating_sub(1);
        }
        Ok(())
    }

    /// Longest-prefix match, as a program's lookup.
    fn lookup(&self, key: &[u8]) -> Result<Vec<u8>, MapError> {
        check::key_len(&self.spec, key)?;
        let index = check::read(&self.index);
        let slot = self.longest_match(&index, key).ok_or(MapError::NotFound)?;
        let ptr = self.value_ptr(slot).ok_or(MapError::NotFound)?;
        let mut out = vec![0u8; self.layout.size];
        // SAFETY: `ptr` is a value of this layout inside the region.
        unsafe { self.layout.read(ptr, &mut out) };
        Ok(out)
    }

    fn update_all(&self, key: &[u8], value: &[u8], flags: u64) -> Result<(), MapError> {
        self.update(key, value, flags, 0)
    }

    /// Post-order, more specific prefixes first; the first key for `None`,
    /// an absent key or a prefix length past the data bits (as Linux).
    fn next_key(&self, key: Option<&[u8]>) -> Result<Vec<u8>, MapError> {
        let index = check::read(&self.index);
        let first = || {
            index
                .tree
                .keys()
                .next()
                .map(|k| k.0.to_vec())
                .ok_or(MapError::NotFound)
        };
        let Some(key) = key else { return first() };
        check::key_len(&self.spec, key)?;
        if prefix_len(key) > self.max_prefixlen || !index.tree.contains_key(KeyRef::new(key)) {
            return first();
        }
        index
            .tree
            .range::<KeyRef, _>((Bound::Excluded(KeyRef::new(key)), Bound::Unbounded))
            .next()
            .map(|(k, _)| k.0.to_vec())
            .ok_or(MapError::NotFound)
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn k(len: u32, data: [u8; 4]) -> Vec<u8> {
        let mut v = len.to_ne_bytes().to_vec();
        v.extend_from_slice(&data);
        v
    }

    #[test]
    fn postorder_matches_linux_example() {
        // Linux's lpm_trie.c comment: /24s before the /16 covering them.
        let mut keys = [
            k(16, [192, 168, 0, 0]),
            k(24, [192, 168, 128, 0]),
            k(24, [192, 168, 1, 0]),
            k(24, [192, 168, 0, 0]),
        ];
        keys.sort_by(|a, b| postorder(a, b));
        assert_eq!(
            keys,
            [
                k(24, [192, 168, 0, 0]),
                k(24, [192, 168, 1, 0]),
                k(24, [192, 168, 128, 0]),
                k(16, [192, 168, 0, 0]),
            ]
        );
        // Bits past the prefix do not matter.
        assert_eq!(
            postorder(&k(16, [192, 168, 0, 0]), &k(16, [192, 168, 7, 9])),
            Ordering::Equal
        );
        assert_eq!(
            postorder(&k(0, [1, 2, 3, 4]), &k(0, [9, 9, 9, 9])),
            Ordering::Equal
        );
        assert_eq!(
            postorder(&k(9, [0, 0x80, 0, 0]), &k(9, [0, 0, 0, 0])),
            Ordering::Greater
        );
    }
}
