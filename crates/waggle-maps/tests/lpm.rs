//! LPM trie maps.

mod common;
use common::*;
use std::sync::Arc;
use waggle_maps::{Map, MapFlags, MapType, BPF_ANY, BPF_EXIST, BPF_F_LOCK, BPF_NOEXIST};

/// `struct bpf_lpm_trie_key` for IPv4: host-endian prefix length, then the address.
fn v4(prefix: u32, addr: [u8; 4]) -> Vec<u8> {
    let mut k = prefix.to_ne_bytes().to_vec();
    k.extend_from_slice(&addr);
    k
}

fn trie(max: u32) -> Arc<dyn Map> {
    make(&with_flags(
        spec(MapType::LpmTrie, 8, 4, max),
        MapFlags::NO_PREALLOC,
    ))
}

fn routes() -> Arc<dyn Map> {
    let m = trie(16);
    m.update(&v4(8, [10, 0, 0, 0]), &k32(8), BPF_ANY, 0)
        .unwrap();
    m.update(&v4(16, [10, 1, 0, 0]), &k32(16), BPF_ANY, 0)
        .unwrap();
    m.update(&v4(24, [10, 1, 2, 0]), &k32(24), BPF_ANY, 0)
        .unwrap();
    m.update(&v4(32, [10, 1, 2, 3]), &k32(32), BPF_ANY, 0)
        .unwrap();
    m
}

fn route(m: &Arc<dyn Map>, prefix: u32, addr: [u8; 4]) -> Option<u32> {
    let key = v4(prefix, addr);
    let app = m.lookup(&key).ok().map(|v| u32_at(&v, 0));
    // The program's pointer agrees with the application's copy.
    // SAFETY: LPM values live as long as the map.
    let prog = m
        .lookup_ptr(&key, 0)
        .map(|p| unsafe { p.as_ptr().cast::<u32>().read() });
    assert_eq!(app, prog);
    app
}

#[test]
fn longest_prefix_wins() {
    let m = routes();
    assert_eq!(route(&m, 32, [10, 1, 2, 3]), Some(32));
    assert_eq!(route(&m, 32, [10, 1, 2, 4]), Some(24));
    assert_eq!(route(&m, 32, [10, 1, 3, 1]), Some(16));
    assert_eq!(route(&m, 32, [10, 2, 0, 0]), Some(8));
    assert_eq!(route(&m, 32, [10, 255, 255, 255]), Some(8));
    assert_eq!(route(&m, 32, [11, 0, 0, 0]), None);
    assert_eq!(errno(m.lookup(&v4(32, [11, 0, 0, 0]))), ENOENT);
    // The query's prefix length bounds the match: a /20 query cannot
    // match the /24 or the /32.
    assert_eq!(route(&m, 20, [10, 1, 2, 3]), Some(16));
    assert_eq!(route(&m, 16, [10, 1, 2, 3]), Some(16));
    assert_eq!(route(&m, 15, [10, 1, 2, 3]), Some(8));
    assert_eq!(route(&m, 7, [10, 1, 2, 3]), None);
    // A default route catches everything else.
    m.update(&v4(0, [0, 0, 0, 0]), &k32(0), BPF_NOEXIST, 0)
        .unwrap();
    assert_eq!(route(&m, 32, [11, 0, 0, 0]), Some(0));
    assert_eq!(route(&m, 0, [10, 1, 2, 3]), Some(0));
    // A prefix length past the data bits matches nothing.
    assert_eq!(route(&m, 33, [10, 1, 2, 3]), None);
}

#[test]
fn update_and_delete_are_exact_and_ignore_bits_past_the_prefix() {
    let m = routes();
    // 10.1.2.99/24 is the same element as 10.1.2.0/24.
    m.update(&v4(24, [10, 1, 2, 99]), &k32(2400), BPF_EXIST, 0)
        .unwrap();
    assert_eq!(route(&m, 32, [10, 1, 2, 200]), Some(2400));
    m.delete(&v4(16, [10, 1, 77, 77])).unwrap();
    assert_eq!(route(&m, 32, [10, 1, 3, 1]), Some(8));
    assert_eq!(route(&m, 32, [10, 1, 2, 200]), Some(2400));
    assert_eq!(errno(m.delete(&v4(16, [10, 1, 0, 0]))), ENOENT);
    // No element has this exact prefix, even though /8 covers it.
    assert_eq!(errno(m.delete(&v4(12, [10, 0, 0, 0]))), ENOENT);
    assert_eq!(
        errno(m.update(&v4(12, [10, 0, 0, 0]), &k32(1), BPF_EXIST, 0)),
        ENOENT
    );
    assert_eq!(
        errno(m.update(&v4(8, [10, 9, 9, 9]), &k32(1), BPF_NOEXIST, 0)),
        EEXIST
    );
}

#[test]
fn bad_prefixes_and_flags() {
    let m = routes();
    assert_eq!(
        errno(m.update(&v4(33, [10, 1, 2, 3]), &k32(1), BPF_ANY, 0)),
        EINVAL
    );
    assert_eq!(errno(m.delete(&v4(33, [10, 1, 2, 3]))), EINVAL);
    assert_eq!(
        errno(m.update(&v4(8, [1, 0, 0, 0]), &k32(1), BPF_F_LOCK, 0)),
        EINVAL
    );
    assert_eq!(errno(m.update(&v4(8, [1, 0, 0, 0]), &k32(1), 3, 0)), EINVAL);
    assert_eq!(errno(m.update(&[0; 7], &k32(1), BPF_ANY, 0)), EINVAL);
    assert_eq!(
        errno(m.update(&v4(8, [1, 0, 0, 0]), &k64(1), BPF_ANY, 0)),
        EINVAL
    );
    assert_eq!(m.lookup_ptr(&[0; 4], 0), None);
}

#[test]
fn full_trie_is_enospc_for_new_prefixes_only() {
    let m = trie(2);
    m.update(&v4(8, [1, 0, 0, 0]), &k32(1), BPF_ANY, 0).unwrap();
    m.update(&v4(8, [2, 0, 0, 0]), &k32(2), BPF_ANY, 0).unwrap();
    assert_eq!(
        errno(m.update(&v4(8, [3, 0, 0, 0]), &k32(3), BPF_ANY, 0)),
        ENOSPC
    );
    m.update(&v4(8, [2, 0, 0, 0]), &k32(20), BPF_ANY, 0)
        .unwrap();
    assert_eq!(route(&m, 32, [2, 3, 4, 5]), Some(20));
    m.delete(&v4(8, [1, 0, 0, 0])).unwrap();
    m.update(&v4(8, [3, 0, 0, 0]), &k32(3), BPF_ANY, 0).unwrap();
}

fn walk(m: &Arc<dyn Map>) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    let mut cur = m.next_key(None).ok();
    while let Some(k) = cur {
        cur = m.next_key(Some(&k)).ok();
        out.push(k);
    }
    out
}

#[test]
fn next_key_in_linux_postorder() {
    let m = trie(8);
    assert_eq!(errno(m.next_key(None)), ENOENT);
    for (p, a) in [
        (16, [192, 168, 0, 0]),
        (24, [192, 168, 128, 0]),
        (24, [192, 168, 1, 0]),
        (24, [192, 168, 0, 0]),
    ] {
        m.update(&v4(p, a), &k32(p), BPF_ANY, 0).unwrap();
    }
    // The order lpm_trie.c documents: more specific prefixes first.
    assert_eq!(
        walk(&m),
        [
            v4(24, [192, 168, 0, 0]),
            v4(24, [192, 168, 1, 0]),
            v4(24, [192, 168, 128, 0]),
            v4(16, [192, 168, 0, 0]),
        ]
    );
    assert_eq!(errno(m.next_key(Some(&v4(16, [192, 168, 0, 0])))), ENOENT);
    // An absent key or a bad prefix length starts over.
    assert_eq!(
        m.next_key(Some(&v4(8, [1, 0, 0, 0]))).unwrap(),
        v4(24, [192, 168, 0, 0])
    );
    assert_eq!(
        m.next_key(Some(&v4(99, [1, 0, 0, 0]))).unwrap(),
        v4(24, [192, 168, 0, 0])
    );
    // Keys come back with the data bytes they were stored with.
    m.update(&v4(8, [10, 9, 8, 7]), &k32(8), BPF_ANY, 0)
        .unwrap();
    assert!(walk(&m).contains(&v4(8, [10, 9, 8, 7])));
    assert_eq!(errno(m.next_key(Some(&[0; 3]))), EINVAL);
}

#[test]
fn ipv6_keys() {
    let m = make(&with_flags(
        spec(MapType::LpmTrie, 20, 8, 8),
        MapFlags::NO_PREALLOC,
    ));
    let key = |p: u32, a: [u8; 16]| {
        let mut k = p.to_ne_bytes().to_vec();
        k.extend_from_slice(&a);
        k
    };
    let mut net = [0u8; 16];
    net[..4].copy_from_slice(&[0x20, 0x01, 0x0d, 0xb8]);
    m.update(&key(32, net), &k64(32), BPF_ANY, 0).unwrap();
    let mut sub = net;
    sub[7] = 0x01;
    m.update(&key(64, sub), &k64(64), BPF_ANY, 0).unwrap();
    let mut host = sub;
    host[15] = 0x42;
    assert_eq!(m.lookup(&key(128, host)).unwrap(), k64(64));
    host[7] = 0x02;
    assert_eq!(m.lookup(&key(128, host)).unwrap(), k64(32));
    assert_eq!(
        errno(m.update(&key(129, host), &k64(0), BPF_ANY, 0)),
        EINVAL
    );
}

#[test]
fn odd_prefix_lengths() {
    let m = trie(8);
    // 128.0.0.0/1 and 192.0.0.0/3 (bits 110).
    m.update(&v4(1, [0x80, 0, 0, 0]), &k32(1), BPF_ANY, 0)
        .unwrap();
    m.update(&v4(3, [0xc0, 0, 0, 0]), &k32(3), BPF_ANY, 0)
        .unwrap();
    assert_eq!(route(&m, 32, [0xc1, 0, 0, 0]), Some(3));
    assert_eq!(route(&m, 32, [0xe0, 0, 0, 0]), Some(1));
    assert_eq!(route(&m, 32, [0x7f, 0, 0, 0]), None);
    assert_eq!(walk(&m), [v4(3, [0xc0, 0, 0, 0]), v4(1, [0x80, 0, 0, 0])]);
}

/// xorshift64*: a small deterministic generator for the differential test.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// The reference model: elements as stored keys with their values, in no
/// particular order; every question answered by a linear scan.
struct Model {
    data_size: usize,
    elements: Vec<(Vec<u8>, u64)>,
}

fn key_bit(key: &[u8], i: usize) -> bool {
    key[4 + i / 8] & (0x80 >> (i % 8)) != 0
}

fn key_len(key: &[u8]) -> usize {
    u32::from_ne_bytes(key[..4].try_into().unwrap()) as usize
}

impl Model {
    /// Whether element key `e` covers the first `len` bits of `key`.
    fn covers(e: &[u8], key: &[u8], len: usize) -> bool {
        key_len(e) <= len && (0..key_len(e)).all(|i| key_bit(e, i) == key_bit(key, i))
    }

    fn position(&self, key: &[u8]) -> Option<usize> {
        let len = key_len(key);
        self.elements
            .iter()
            .position(|(e, _)| key_len(e) == len && Self::covers(e, key, len))
    }

    fn longest_match(&self, key: &[u8]) -> Option<u64> {
        let len = key_len(key);
        if len > self.data_size * 8 {
            return None;
        }
        self.elements
            .iter()
            .filter(|(e, _)| Self::covers(e, key, len))
            .max_by_key(|(e, _)| key_len(e))
            .map(|&(_, v)| v)
    }

    /// The keys in trie post-order: each prefix's bits as '0'/'1' then '2',
    /// sorted as strings, puts the 0-branch first and a prefix after every
    /// longer prefix it covers.
    fn postorder(&self) -> Vec<Vec<u8>> {
        let mut keys: Vec<(String, Vec<u8>)> = self
            .elements
            .iter()
            .map(|(e, _)| {
                let mut s: String = (0..key_len(e))
                    .map(|i| if key_bit(e, i) { '1' } else { '0' })
                    .collect();
                s.push('2');
                (s, e.clone())
            })
            .collect();
        keys.sort();
        keys.into_iter().map(|(_, k)| k).collect()
    }
}

/// A random key: data near one of a few bases (so prefixes nest and
/// collide), random bits past the prefix, and now and then a prefix length
/// past the data bits.
fn random_key(rng: &mut Rng, bases: &[Vec<u8>], lens: &[u32]) -> Vec<u8> {
    let base = &bases[rng.below(bases.len() as u64) as usize];
    let max = base.len() as u32 * 8;
    let len = match rng.below(16) {
        0 => max + 1 + rng.below(3) as u32,
        1..=4 => rng.below(u64::from(max) + 1) as u32,
        _ => lens[rng.below(lens.len() as u64) as usize],
    };
    let mut data = base.clone();
    for _ in 0..rng.below(3) {
        let bit = rng.below(u64::from(max)) as usize;
        data[bit / 8] ^= 0x80 >> (bit % 8);
    }
    let mut key = len.to_ne_bytes().to_vec();
    key.extend_from_slice(&data);
    key
}

fn differential(seed: u64, data_size: usize, max_entries: u32) {
    let mut rng = Rng(seed);
    let m = make(&with_flags(
        spec(MapType::LpmTrie, 4 + data_size as u32, 8, max_entries),
        MapFlags::NO_PREALLOC,
    ));
    let mut model = Model {
        data_size,
        elements: Vec::new(),
    };
    let bases: Vec<Vec<u8>> = (0..3)
        .map(|_| (0..data_size).map(|_| rng.next() as u8).collect())
        .collect();
    // A few favourite prefix lengths, including word and byte boundaries.
    let max = data_size as u32 * 8;
    let lens: Vec<u32> = [0, 1, 7, 8, 9, max / 2, max.saturating_sub(1), max]
        .into_iter()
        .chain((0..4).map(|_| rng.below(u64::from(max) + 1) as u32))
        .chain([63, 64, 65, 128].into_iter().filter(|&l| l <= max))
        .collect();
    let mut counter = 0u64;
    for step in 0..6000 {
        let key = random_key(&mut rng, &bases, &lens);
        let valid = key_len(&key) <= max as usize;
        match rng.below(10) {
            0..=3 => {
                counter += 1;
                let flags = [BPF_ANY, BPF_NOEXIST, BPF_EXIST][rng.below(3) as usize];
                let got = m.update(&key, &k64(counter), flags, 0);
                let at = if valid { model.position(&key) } else { None };
                let want = match (valid, at, flags) {
                    (false, _, _) => Err(EINVAL),
                    (_, Some(_), BPF_NOEXIST) => Err(EEXIST),
                    (_, None, BPF_EXIST) => Err(ENOENT),
                    (_, None, _) if model.elements.len() >= max_entries as usize => Err(ENOSPC),
                    _ => Ok(()),
                };
                assert_eq!(got.map_err(|e| e.errno()), want, "update {key:?} {flags}");
                if want.is_ok() {
                    match at {
                        Some(i) => model.elements[i] = (key, counter),
                        None => model.elements.push((key, counter)),
                    }
                }
            }
            4..=5 => {
                let at = if valid { model.position(&key) } else { None };
                let got = m.delete(&key).map_err(|e| e.errno());
                let want = match (valid, at) {
                    (false, _) => Err(EINVAL),
                    (_, None) => Err(ENOENT),
                    (_, Some(_)) => Ok(()),
                };
                assert_eq!(got, want, "delete {key:?}");
                if let Some(i) = at {
                    model.elements.swap_remove(i);
                }
            }
            _ => {
                let want = model.longest_match(&key);
                let got = m.lookup(&key).ok().map(|v| u64_at(&v, 0));
                assert_eq!(got, want, "lookup {key:?}");
                // SAFETY: LPM values live as long as the map.
                let via_ptr = m
                    .lookup_ptr(&key, 0)
                    .map(|p| unsafe { p.as_ptr().cast::<u64>().read_unaligned() });
                assert_eq!(via_ptr, want, "lookup_ptr {key:?}");
            }
        }
        if step % 100 == 0 {
            let order = model.postorder();
            assert_eq!(walk(&m), order, "next_key order at step {step}");
            if let Some(k) = order.get(rng.below(order.len() as u64 + 1) as usize) {
                let i = order.iter().position(|o| o == k).unwrap();
                let next = m.next_key(Some(k)).map_err(|e| e.errno());
                assert_eq!(next, order.get(i + 1).cloned().ok_or(ENOENT));
            }
        }
    }
}

#[test]
fn differential_against_linear_scan() {
    // Data sizes cover one partial word, exactly one word, a word and a
    // byte, and several words; small maps fill up and hit ENOSPC.
    for (seed, data_size, max_entries) in [
        (1, 1, 8),
        (2, 4, 24),
        (3, 4, 200),
        (4, 8, 40),
        (5, 9, 40),
        (6, 16, 64),
        (7, 33, 32),
    ] {
        differential(0x9e37_79b9_7f4a_7c15 ^ seed, data_size, max_entries);
    }
}

#[test]
fn lookups_race_updates_and_deletes() {
    let m = trie(64);
    m.update(&v4(8, [10, 0, 0, 0]), &k32(8), BPF_ANY, 0)
        .unwrap();
    std::thread::scope(|s| {
        for _ in 0..3 {
            let m = &m;
            s.spawn(move || {
                for _ in 0..20_000 {
                    // The /8 is always there, the /16 and /24 come and go.
                    let key = v4(32, [10, 1, 2, 3]);
                    let got = m.lookup(&key).ok().map(|v| u32_at(&v, 0));
                    assert!(matches!(got, Some(8 | 16 | 24)), "{got:?}");
                    // Read after the lock is released, a value may be a
                    // recycled slot's: every value written is one of these.
                    // SAFETY: LPM values live as long as the map.
                    let got = m
                        .lookup_ptr(&key, 0)
                        .map(|p| unsafe { p.as_ptr().cast::<u32>().read() });
                    assert!(matches!(got, Some(8 | 16 | 24)), "{got:?}");
                }
            });
        }
        for i in 0..5_000u32 {
            m.update(&v4(16, [10, 1, 0, 0]), &k32(16), BPF_ANY, 0)
                .unwrap();
            m.update(&v4(24, [10, 1, 2, i as u8]), &k32(24), BPF_ANY, 0)
                .unwrap();
            // Other prefixes grow and shrink the table under the readers.
            m.update(&v4(32, [11, 0, 0, i as u8]), &k32(24), BPF_ANY, 0)
                .unwrap();
            m.delete(&v4(24, [10, 1, 2, 0])).unwrap();
            if i % 2 == 0 {
                m.delete(&v4(16, [10, 1, 0, 0])).unwrap();
            }
            if i % 40 == 39 {
                for j in 0..40u32 {
                    m.delete(&v4(32, [11, 0, 0, (i - j) as u8])).unwrap();
                }
            }
        }
    });
}
