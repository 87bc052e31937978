//! `BPF_MAP_TYPE_LPM_TRIE`: longest-prefix match.
//!
//! A key is `struct bpf_lpm_trie_key`: a host-endian `u32` prefix length,
//! then `key_size - 4` bytes of data read most significant bit first (network
//! order). An element is identified by its prefix: (prefix length, the first
//! prefix-length bits of its data); bits past the prefix are kept as given
//! (Linux stores and returns them too) but never compared.
//!
//! Instead of Linux's path-compressed trie, the elements are indexed twice:
//! - an ordered set whose order is exactly the trie's post-order (a prefix
//!   after everything it covers, 0-branch before 1-branch), which gives
//!   Linux's `next_key` order: more specific prefixes first;
//! - an open-addressing hash table keyed by (prefix length, data masked to
//!   the prefix), for lookups. The data is held as big-endian 64-bit words,
//!   so masking and comparing a prefix takes a word or two for IPv4 and IPv6
//!   keys. A lookup probes the prefix lengths present in the map, longest
//!   first, up to the key's length: one hash probe per length present,
//!   usually a handful, without allocating.
//!
//! The table's hash is a folded multiply keyed by a random per-map seed:
//! fast for the few words of a prefix, and collisions cannot be planned
//! without the seed.
//!
//! Values live in preallocated slots recycled through a FIFO free list, as
//! in the hash maps (and for the same reason: program pointers stay valid).
//! `BPF_F_NO_PREALLOC` is mandatory, as in Linux, but only the indexes
//! allocate on demand. Updates of an existing prefix install the value in a
//! fresh slot, as Linux installs a fresh node. Linux's trie accepts
//! `BPF_NOEXIST`/`BPF_EXIST` and reports a full map as `ENOSPC` only when a
//! new prefix would be added (its behaviour since 6.13; earlier kernels
//! ignored the flags and refused any update of a full trie).
//!
//! Both indexes are behind one `RwLock`: lookups share it, updates and
//! deletes take it exclusively.

use crate::check::{self, invalid, round8};
use crate::lock::ValueLayout;
use crate::region::Region;
use crate::{Map, MapError, MapFlags, MapOptions, MapSpec, MapType, BPF_EXIST, BPF_NOEXIST};
use std::any::Any;
use std::borrow::Borrow;
use std::cmp::Ordering;
use std::collections::{BTreeSet, VecDeque};
use std::hash::{BuildHasher, RandomState};
use std::ops::Bound;
use std::ptr::NonNull;
use std::sync::RwLock;

const PREFIX_LEN_SIZE: usize = 4;
const DATA_SIZE_MAX: u32 = 256;
/// Data words of the largest key.
const WORDS_MAX: usize = DATA_SIZE_MAX as usize / 8;
/// Linux's `LPM_VAL_SIZE_MAX`: KMALLOC_MAX_SIZE - LPM_DATA_SIZE_MAX - sizeof(struct lpm_trie_node).
const VALUE_SIZE_MAX: u64 = check::KMALLOC_MAX_SIZE - DATA_SIZE_MAX as u64 - 40;
/// Rough per-element cost of the ordered index (node share and boxed key).
const INDEX_OVERHEAD: u64 = 64;
/// Hash table entries per element at the lowest load (a table grows when
/// half full, so after growing it is a quarter full).
const TABLE_ENTRIES_PER_ELEMENT: u64 = 4;
/// An empty hash table entry.
const EMPTY: u32 = u32::MAX;

fn prefix_len(key: &[u8]) -> u32 {
    let mut b = [0u8; 4];
    if let Some(p) = key.get(..PREFIX_LEN_SIZE) {
        b.copy_from_slice(p);
    }
    u32::from_ne_bytes(b)
}

/// The mask of the first `bits` (1..=8) bits of a byte.
fn byte_mask(bits: usize) -> u8 {
    0xffu8 << (8 - bits.min(8))
}

/// Trie post-order of two raw keys: compare the bits both prefixes have; at
/// the first difference the 0 side comes first; if one prefix covers the
/// other, the longer (more specific) one comes first.
fn postorder(a: &[u8], b: &[u8]) -> Ordering {
    let (la, lb) = (prefix_len(a) as usize, prefix_len(b) as usize);
    let da = a.get(PREFIX_LEN_SIZE..).unwrap_or(&[]);
    let db = b.get(PREFIX_LEN_SIZE..).unwrap_or(&[]);
    let common = la.min(lb);
    for (i, (x, y)) in da.iter().zip(db).take(common.div_ceil(8)).enumerate() {
        // Bits past the common prefix in its last byte do not count.
        let diff = (x ^ y) & byte_mask(common - i * 8);
        if diff != 0 {
            let first = 0x80u8 >> diff.leading_zeros();
            return if x & first == 0 {
                Ordering::Less
            } else {
                Ordering::Greater
            };
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

/// An owned key in the ordered index.
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

/// A key's data as big-endian words: data bit `i` (most significant first)
/// is bit `63 - i % 64` of word `i / 64`; the last word is zero-padded.
/// `N` is at least the data's words: a lookup's words live on the stack, so
/// small keys use a small array.
fn load_words<const N: usize>(data: &[u8]) -> [u64; N] {
    let mut words = [0u64; N];
    let mut chunks = data.chunks_exact(8);
    let mut out = words.iter_mut();
    for (chunk, w) in (&mut chunks).zip(&mut out) {
        *w = u64::from_be_bytes(chunk.try_into().unwrap_or_default());
    }
    let rest = chunks.remainder();
    if let (false, Some(w)) = (rest.is_empty(), out.next()) {
        // Built in a register: bytes copied to a buffer and read back as a
        // word would stall on store forwarding, a good part of a lookup.
        let v = rest.iter().fold(0u64, |acc, &b| acc << 8 | u64::from(b));
        *w = v << (64 - 8 * rest.len());
    }
    words
}

/// The first `len` bits of a key's data words: whole words, then the
/// masked partial word if `len` is not a multiple of 64.
#[derive(Clone, Copy)]
struct Prefix<'a> {
    len: u32,
    whole: &'a [u64],
    partial: Option<u64>,
}

impl<'a> Prefix<'a> {
    /// `len` must not exceed the bits of `words`.
    fn new(words: &'a [u64], len: u32) -> Prefix<'a> {
        let full = len as usize / 64;
        let rem = len % 64;
        Prefix {
            len,
            whole: words.get(..full).unwrap_or(words),
            partial: (rem != 0).then(|| words.get(full).map_or(0, |w| w & (!0u64 << (64 - rem)))),
        }
    }

    /// Whether `stored`, a prefix of this length written by
    /// [`Table::insert`] (masked, zero past the prefix), is this prefix.
    fn matches(&self, stored: &[u64]) -> bool {
        // Compared word by word: these are one or two words, too few for a
        // call to memcmp to pay.
        let n = self.whole.len();
        stored.len() >= n
            && self.whole.iter().zip(stored).all(|(a, b)| a == b)
            && self.partial.is_none_or(|p| stored.get(n) == Some(&p))
    }
}

/// 64x64 -> 128-bit multiply, halves folded together.
fn fold_mul(a: u64, b: u64) -> u64 {
    let p = u128::from(a) * u128::from(b);
    (p as u64) ^ ((p >> 64) as u64)
}

#[derive(Clone, Copy)]
struct Entry {
    hash: u64,
    len: u32,
    /// The element's value slot, or [`EMPTY`].
    slot: u32,
}

/// The lookup index: open addressing with linear probing over a power-of-two
/// number of entries at most half full, each entry with the prefix's masked
/// data words (`width` per entry) in `words`. Deletion shifts later entries
/// back, so there are no tombstones and a probe stops at the first empty
/// entry.
struct Table {
    entries: Vec<Entry>,
    words: Vec<u64>,
    width: usize,
    count: usize,
    seed: [u64; 2],
}

impl Table {
    fn new(width: usize) -> Table {
        let random = RandomState::new();
        Table {
            entries: Vec::new(),
            words: Vec::new(),
            width,
            count: 0,
            seed: [random.hash_one(0u64), random.hash_one(1u64)],
        }
    }

    fn hash(&self, p: &Prefix) -> u64 {
        let [s0, s1] = self.seed;
        // The length goes into the first multiplier rather than a multiply
        // of its own: one multiply per word, so one for an IPv4 prefix.
        let mut h = s1 ^ u64::from(p.len);
        for &w in p.whole.iter().chain(&p.partial) {
            h = fold_mul(w ^ s0, h);
        }
        h
    }

    fn stored(&self, pos: usize) -> &[u64] {
        self.words
            .get(pos * self.width..(pos + 1) * self.width)
            .unwrap_or(&[])
    }

    /// The position of `p`, whose hash is `hash`.
    fn find(&self, p: &Prefix, hash: u64) -> Option<usize> {
        let mask = self.entries.len().checked_sub(1)?;
        let mut pos = hash as usize & mask;
        loop {
            let e = self.entries.get(pos)?;
            if e.slot == EMPTY {
                return None;
            }
            if e.hash == hash && e.len == p.len && p.matches(self.stored(pos)) {
                return Some(pos);
            }
            pos = (pos + 1) & mask;
        }
    }

    /// Makes room for one more entry, so that [`Table::insert`] cannot fail.
    fn reserve_one(&mut self) -> Result<(), MapError> {
        if (self.count + 1) * 2 <= self.entries.len() {
            return Ok(());
        }
        let cap = (self.entries.len() * 2).max(16);
        let mut entries = Vec::new();
        entries
            .try_reserve_exact(cap)
            .map_err(|_| MapError::NoMemory)?;
        entries.resize(
            cap,
            Entry {
                hash: 0,
                len: 0,
                slot: EMPTY,
            },
        );
        let mut words = Vec::new();
        words
            .try_reserve_exact(cap * self.width)
            .map_err(|_| MapError::NoMemory)?;
        words.resize(cap * self.width, 0);
        let old = std::mem::replace(
            self,
            Table {
                entries,
                words,
                width: self.width,
                count: 0,
                seed: self.seed,
            },
        );
        for (pos, e) in old.entries.iter().enumerate() {
            if e.slot != EMPTY {
                self.place(*e, old.stored(pos));
            }
        }
        Ok(())
    }

    /// Puts `e` with its words in the first empty entry from its home.
    fn place(&mut self, e: Entry, stored: &[u64]) {
        let mask = self.entries.len() - 1;
        let mut pos = e.hash as usize & mask;
        while self.entries.get(pos).is_some_and(|x| x.slot != EMPTY) {
            pos = (pos + 1) & mask;
        }
        if let Some(x) = self.entries.get_mut(pos) {
            *x = e;
        }
        let width = self.width;
        if let Some(dst) = self.words.get_mut(pos * width..(pos + 1) * width) {
            dst.copy_from_slice(stored);
        }
        self.count += 1;
    }

    /// Adds absent prefix `p` (hash `hash`) with `slot`, after
    /// [`Table::reserve_one`].
    fn insert(&mut self, p: &Prefix, hash: u64, slot: u32) {
        let mut stored = [0u64; WORDS_MAX];
        for (dst, &w) in stored.iter_mut().zip(p.whole.iter().chain(&p.partial)) {
            *dst = w;
        }
        let e = Entry {
            hash,
            len: p.len,
            slot,
        };
        self.place(e, stored.get(..self.width).unwrap_or(&[]));
    }

    /// Removes the entry at `pos`: later entries of the same run move back
    /// into the hole when their home position allows it.
    fn remove(&mut self, mut hole: usize) {
        let mask = self.entries.len() - 1;
        let width = self.width;
        let mut pos = hole;
        loop {
            pos = (pos + 1) & mask;
            let Some(&e) = self.entries.get(pos) else {
                break;
            };
            if e.slot == EMPTY {
                break;
            }
            let home = e.hash as usize & mask;
            // The hole lies between the entry's home and the entry.
            if pos.wrapping_sub(home) & mask >= pos.wrapping_sub(hole) & mask {
                if let Some(x) = self.entries.get_mut(hole) {
                    *x = e;
                }
                self.words
                    .copy_within(pos * width..(pos + 1) * width, hole * width);
                hole = pos;
            }
        }
        if let Some(x) = self.entries.get_mut(hole) {
            x.slot = EMPTY;
        }
        self.count -= 1;
    }
}

struct Index {
    /// The elements' keys as stored, in trie post-order.
    tree: BTreeSet<Key>,
    /// The elements by prefix, with their value slots.
    table: Table,
    /// Elements per prefix length (index 0..=max_prefixlen).
    per_len: Vec<u32>,
    /// The prefix lengths present, longest first.
    lens: Vec<u32>,
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
        let table = TABLE_ENTRIES_PER_ELEMENT
            * (std::mem::size_of::<Entry>() as u64 + round8(u64::from(data)));
        let per = round8(u64::from(spec.value_size))
            + u64::from(spec.key_size)
            + INDEX_OVERHEAD
            + table
            + 4;
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
        let data = (spec.key_size - PREFIX_LEN_SIZE as u32) as usize;
        let max_prefixlen = data as u32 * 8;
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
                tree: BTreeSet::new(),
                table: Table::new(data.div_ceil(8)),
                per_len: vec![0; max_prefixlen as usize + 1],
                lens: Vec::new(),
                free,
            }),
        })
    }

    fn value_ptr(&self, slot: u32) -> Option<*mut u8> {
        self.values.at(slot as usize * self.stride, self.stride)
    }

    /// The slot of the longest prefix covering `key`'s first prefix-length bits.
    fn longest_match(&self, index: &Index, key: &[u8]) -> Option<u32> {
        // IPv4 and IPv6 keys take one and two words.
        match index.table.width {
            1 => self.longest_match_in::<1>(index, key),
            2 => self.longest_match_in::<2>(index, key),
            _ => self.longest_match_in::<WORDS_MAX>(index, key),
        }
    }

    /// [`LpmTrie::longest_match`] with `N` (at least the data's) words.
    fn longest_match_in<const N: usize>(&self, index: &Index, key: &[u8]) -> Option<u32> {
        let want = prefix_len(key);
        if want > self.max_prefixlen {
            return None;
        }
        let words = load_words::<N>(key.get(PREFIX_LEN_SIZE..)?);
        let table = &index.table;
        let shorter = index.lens.partition_point(|&len| len > want);
        for &len in index.lens.get(shorter..)? {
            let p = Prefix::new(&words, len);
            if let Some(pos) = table.find(&p, table.hash(&p)) {
                return table.entries.get(pos).map(|e| e.slot);
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
        let len = prefix_len(key);
        let words = load_words::<WORDS_MAX>(key.get(PREFIX_LEN_SIZE..).unwrap_or(&[]));
        let p = Prefix::new(&words, len);
        let mut guard = check::write(&self.index);
        let index = &mut *guard;
        let hash = index.table.hash(&p);
        let old = index.table.find(&p, hash);
        match (old, flags) {
            (Some(_), BPF_NOEXIST) => return Err(MapError::Exists),
            (None, BPF_EXIST) => return Err(MapError::NotFound),
            _ => {}
        }
        if old.is_none() {
            if index.table.count >= self.spec.max_entries as usize {
                return Err(MapError::NoSpace);
            }
            index.table.reserve_one()?;
        }
        let slot = *index.free.front().ok_or(MapError::NoSpace)?;
        let ptr = self.value_ptr(slot).ok_or(MapError::NoSpace)?;
        index.free.pop_front();
        // SAFETY: `ptr` is a value of this layout inside the region.
        unsafe { self.layout.init(ptr, value) };
        // Linux's new node carries the new data bytes, also past the prefix.
        let new_key = Key(key.to_vec().into_boxed_slice());
        match old.and_then(|pos| index.table.entries.get_mut(pos)) {
            Some(e) => {
                let retired = std::mem::replace(&mut e.slot, slot);
                index.tree.replace(new_key);
                index.free.push_back(retired);
            }
            None => {
                index.table.insert(&p, hash, slot);
                index.tree.insert(new_key);
                if let Some(n) = index.per_len.get_mut(len as usize) {
                    *n += 1;
                    if *n == 1 {
                        let at = index.lens.partition_point(|&l| l > len);
                        index.lens.insert(at, len);
                    }
                }
            }
        }
        Ok(())
    }

    fn delete(&self, key: &[u8]) -> Result<(), MapError> {
        self.check_prefix(key)?;
        let len = prefix_len(key);
        let words = load_words::<WORDS_MAX>(key.get(PREFIX_LEN_SIZE..).unwrap_or(&[]));
        let p = Prefix::new(&words, len);
        let mut guard = check::write(&self.index);
        let index = &mut *guard;
        let pos = index
            .table
            .find(&p, index.table.hash(&p))
            .ok_or(MapError::NotFound)?;
        let slot = index.table.entries.get(pos).map_or(EMPTY, |e| e.slot);
        index.table.remove(pos);
        index.tree.remove(KeyRef::new(key));
        index.free.push_back(slot);
        if let Some(n) = index.per_len.get_mut(len as usize) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                index.lens.retain(|&l| l != len);
            }
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
                .first()
                .map(|k| k.0.to_vec())
                .ok_or(MapError::NotFound)
        };
        let Some(key) = key else { return first() };
        check::key_len(&self.spec, key)?;
        if prefix_len(key) > self.max_prefixlen || !index.tree.contains(KeyRef::new(key)) {
            return first();
        }
        index
            .tree
            .range::<KeyRef, _>((Bound::Excluded(KeyRef::new(key)), Bound::Unbounded))
            .next()
            .map(|k| k.0.to_vec())
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
