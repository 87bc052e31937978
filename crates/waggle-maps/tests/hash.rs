//! Hash, per-CPU hash, LRU hash and LRU per-CPU hash maps.

mod common;
use common::*;
use std::collections::BTreeSet;
use waggle_maps::{HashMap, MapFlags, MapType, BPF_ANY, BPF_EXIST, BPF_F_LOCK, BPF_NOEXIST};

fn len(m: &std::sync::Arc<dyn waggle_maps::Map>) -> usize {
    concrete::<HashMap>(m).len()
}

#[test]
fn insert_lookup_delete_with_flags() {
    let m = make(&spec(MapType::Hash, 8, 4, 4));
    assert_eq!(errno(m.lookup(&k64(1))), ENOENT);
    assert_eq!(m.lookup_ptr(&k64(1), 0), None);
    // BPF_EXIST on a missing key: ENOENT.
    assert_eq!(errno(m.update(&k64(1), &k32(10), BPF_EXIST, 0)), ENOENT);
    m.update(&k64(1), &k32(10), BPF_NOEXIST, 0).unwrap();
    // BPF_NOEXIST on a present key: EEXIST.
    assert_eq!(errno(m.update(&k64(1), &k32(11), BPF_NOEXIST, 0)), EEXIST);
    m.update(&k64(1), &k32(12), BPF_EXIST, 0).unwrap();
    assert_eq!(m.lookup(&k64(1)).unwrap(), k32(12));
    m.update_all(&k64(1), &k32(13), BPF_ANY).unwrap();
    assert_eq!(m.lookup(&k64(1)).unwrap(), k32(13));
    m.delete(&k64(1)).unwrap();
    assert_eq!(errno(m.delete(&k64(1))), ENOENT);
    assert_eq!(errno(m.lookup(&k64(1))), ENOENT);
    assert!(concrete::<HashMap>(&m).is_empty());
    // Unknown flags, BPF_F_LOCK without a lock, wrong sizes.
    assert_eq!(errno(m.update(&k64(1), &k32(1), 8, 0)), EINVAL);
    assert_eq!(
        errno(m.update(&k64(1), &k32(1), BPF_NOEXIST | BPF_EXIST, 0)),
        EINVAL
    );
    assert_eq!(errno(m.update(&k64(1), &k32(1), BPF_F_LOCK, 0)), EINVAL);
    assert_eq!(errno(m.update(&k32(1), &k32(1), BPF_ANY, 0)), EINVAL);
    assert_eq!(errno(m.update(&k64(1), &k64(1), BPF_ANY, 0)), EINVAL);
    assert_eq!(errno(m.delete(&k32(1))), EINVAL);
    assert_eq!(m.lookup_ptr(&k32(1), 0), None);
}

#[test]
fn full_map_refuses_new_keys_only() {
    let m = make(&spec(MapType::Hash, 4, 4, 3));
    for i in 0..3 {
        m.update(&k32(i), &k32(i), BPF_ANY, 0).unwrap();
    }
    assert_eq!(errno(m.update(&k32(3), &k32(3), BPF_ANY, 0)), E2BIG);
    // Existing keys can still be updated in a full map.
    m.update(&k32(1), &k32(100), BPF_ANY, 0).unwrap();
    m.update(&k32(2), &k32(200), BPF_EXIST, 0).unwrap();
    assert_eq!(m.lookup(&k32(1)).unwrap(), k32(100));
    assert_eq!(len(&m), 3);
    m.delete(&k32(0)).unwrap();
    m.update(&k32(3), &k32(3), BPF_NOEXIST, 0).unwrap();
    assert_eq!(errno(m.update(&k32(4), &k32(4), BPF_ANY, 0)), E2BIG);
    // Many rounds of churn never leak slots.
    for round in 0..100u32 {
        m.delete(&k32(3 + round)).unwrap();
        m.update(&k32(4 + round), &k32(round), BPF_NOEXIST, 0)
            .unwrap();
    }
    assert_eq!(len(&m), 3);
}

#[test]
fn pointers_follow_linux_replacement_semantics() {
    let m = make(&spec(MapType::Hash, 4, 8, 2));
    m.update(&k32(1), &k64(1), BPF_ANY, 0).unwrap();
    let old = m.lookup_ptr(&k32(1), 0).unwrap();
    assert_eq!(old.as_ptr() as usize % 8, 0);
    // Updating installs a new element; the old pointer keeps the old value
    // (Linux's preallocated hash swaps in a fresh element too).
    m.update(&k32(1), &k64(2), BPF_ANY, 0).unwrap();
    let new = m.lookup_ptr(&k32(1), 0).unwrap();
    assert_ne!(old, new);
    // SAFETY: map values live as long as the map.
    unsafe {
        assert_eq!(old.as_ptr().cast::<u64>().read(), 1);
        assert_eq!(new.as_ptr().cast::<u64>().read(), 2);
    }
    // Writes through the program pointer are what the application sees.
    // SAFETY: as above.
    unsafe { new.as_ptr().cast::<u64>().write(77) };
    assert_eq!(m.lookup(&k32(1)).unwrap(), k64(77));
    // A deleted element's pointer stays valid memory.
    m.delete(&k32(1)).unwrap();
    // SAFETY: as above.
    assert_eq!(unsafe { new.as_ptr().cast::<u64>().read() }, 77);
}

#[test]
fn next_key_visits_every_key_once() {
    let m = make(&spec(MapType::Hash, 4, 4, 64));
    assert_eq!(errno(m.next_key(None)), ENOENT);
    let keys: BTreeSet<u32> = (0..40).map(|i| i * 7919 % 1000).collect();
    for &k in &keys {
        m.update(&k32(k), &k32(k), BPF_ANY, 0).unwrap();
    }
    let mut seen = BTreeSet::new();
    let mut cur = m.next_key(None).unwrap();
    loop {
        assert!(seen.insert(u32_at(&cur, 0)), "key repeated");
        match m.next_key(Some(&cur)) {
            Ok(next) => cur = next,
            Err(e) => {
                assert_eq!(e.errno(), ENOENT);
                break;
            }
        }
    }
    assert_eq!(seen, keys);
    // An absent key restarts from the first key, as in Linux.
    assert_eq!(
        m.next_key(Some(&k32(5000))).unwrap(),
        m.next_key(None).unwrap()
    );
    assert_eq!(errno(m.next_key(Some(&k64(0)))), EINVAL);
}

#[test]
fn zero_seed_and_no_prealloc_maps_work() {
    let m = make(&with_flags(
        spec(MapType::Hash, 4, 4, 8),
        MapFlags::ZERO_SEED | MapFlags::NO_PREALLOC,
    ));
    for i in 0..8 {
        m.update(&k32(i), &k32(i * 2), BPF_ANY, 0).unwrap();
    }
    assert_eq!(errno(m.update(&k32(8), &k32(0), BPF_ANY, 0)), E2BIG);
    for i in 0..8 {
        assert_eq!(m.lookup(&k32(i)).unwrap(), k32(i * 2));
    }
}

#[test]
fn spin_lock_values() {
    let mut s = spec(MapType::Hash, 4, 16, 4);
    s.spin_lock_offset = Some(0);
    let m = make(&s);
    let h = concrete::<HashMap>(&m);
    // BPF_F_LOCK creates a missing element, honours BPF_EXIST/NOEXIST.
    assert_eq!(
        errno(m.update(&k32(1), &[5; 16], BPF_F_LOCK | BPF_EXIST, 0)),
        ENOENT
    );
    m.update(&k32(1), &[5; 16], BPF_F_LOCK, 0).unwrap();
    assert_eq!(
        errno(m.update(&k32(1), &[5; 16], BPF_F_LOCK | BPF_NOEXIST, 0)),
        EEXIST
    );
    let got = m.lookup(&k32(1)).unwrap();
    assert_eq!(&got[..4], &[0; 4], "lock word reads as 0");
    assert_eq!(&got[4..], &[5; 12]);
    // In-place locked update: the pointer does not change.
    let p = m.lookup_ptr(&k32(1), 0).unwrap();
    m.update(&k32(1), &[6; 16], BPF_F_LOCK, 0).unwrap();
    assert_eq!(m.lookup_ptr(&k32(1), 0), Some(p));
    assert_eq!(
        &h.lookup_with_flags(&k32(1), BPF_F_LOCK).unwrap()[4..],
        &[6; 12]
    );
    assert_eq!(errno(h.lookup_with_flags(&k32(9), BPF_F_LOCK)), ENOENT);
    let plain = make(&spec(MapType::Hash, 4, 16, 4));
    assert_eq!(
        errno(concrete::<HashMap>(&plain).lookup_with_flags(&k32(1), BPF_F_LOCK)),
        EINVAL
    );
}

#[test]
fn percpu_hash_isolation() {
    let m = make(&spec(MapType::PercpuHash, 4, 4, 4));
    // A program's insert from CPU 2: CPU 2 gets the value, the others zero.
    m.update(&k32(1), &k32(22), BPF_NOEXIST, 2).unwrap();
    let all = m.lookup(&k32(1)).unwrap();
    assert_eq!(all.len(), 32);
    assert_eq!(
        (0..4).map(|c| u32_at(&all, c * 8)).collect::<Vec<_>>(),
        [0, 0, 22, 0]
    );
    // Updating from CPU 1 changes CPU 1's copy in place.
    let p1 = m.lookup_ptr(&k32(1), 1).unwrap();
    m.update(&k32(1), &k32(11), BPF_EXIST, 1).unwrap();
    assert_eq!(m.lookup_ptr(&k32(1), 1), Some(p1));
    let all = m.lookup(&k32(1)).unwrap();
    assert_eq!(
        (0..4).map(|c| u32_at(&all, c * 8)).collect::<Vec<_>>(),
        [0, 11, 22, 0]
    );
    // SAFETY: the value lives as long as the map.
    assert_eq!(unsafe { p1.as_ptr().cast::<u32>().read() }, 11);
    assert_ne!(m.lookup_ptr(&k32(1), 0), Some(p1));
    assert_eq!(m.lookup_ptr(&k32(1), 4), None);
    // The application writes every CPU's value.
    let mut v = vec![0u8; 32];
    for c in 0..4 {
        v[c * 8..c * 8 + 4].copy_from_slice(&k32(1000 + c as u32));
    }
    m.update_all(&k32(2), &v, BPF_NOEXIST).unwrap();
    assert_eq!(m.lookup(&k32(2)).unwrap(), v);
    assert_eq!(errno(m.update_all(&k32(2), &v, BPF_NOEXIST)), EEXIST);
    assert_eq!(errno(m.update_all(&k32(3), &v, BPF_EXIST)), ENOENT);
    assert_eq!(errno(m.update_all(&k32(2), &v[..8], BPF_ANY)), EINVAL);
    assert_eq!(errno(m.update(&k32(2), &k32(0), BPF_F_LOCK, 0)), EINVAL);
    assert_eq!(errno(m.update(&k32(2), &k32(0), BPF_ANY, 9)), EINVAL);
    // A recycled slot does not leak old per-CPU values.
    m.delete(&k32(2)).unwrap();
    m.delete(&k32(1)).unwrap();
    for i in 10..14 {
        m.update(&k32(i), &k32(5), BPF_ANY, 0).unwrap();
        let all = m.lookup(&k32(i)).unwrap();
        assert_eq!(
            (0..4).map(|c| u32_at(&all, c * 8)).collect::<Vec<_>>(),
            [5, 0, 0, 0]
        );
    }
    assert_eq!(errno(m.update(&k32(20), &k32(5), BPF_ANY, 0)), E2BIG);
}

fn keys_of(m: &std::sync::Arc<dyn waggle_maps::Map>) -> BTreeSet<u32> {
    let mut out = BTreeSet::new();
    let mut cur = m.next_key(None).ok();
    while let Some(k) = cur {
        out.insert(u32_at(&k, 0));
        cur = m.next_key(Some(&k)).ok();
    }
    out
}

#[test]
fn lru_evicts_least_recently_used() {
    let m = make(&spec(MapType::LruHash, 4, 4, 3));
    for k in [1, 2, 3] {
        m.update(&k32(k), &k32(k), BPF_ANY, 0).unwrap();
    }
    // A program uses 1: it becomes recently used; 2 is now the oldest.
    assert!(m.lookup_ptr(&k32(1), 0).is_some());
    m.update(&k32(4), &k32(4), BPF_ANY, 0).unwrap();
    assert_eq!(keys_of(&m), BTreeSet::from([1, 3, 4]));
    m.update(&k32(5), &k32(5), BPF_ANY, 0).unwrap();
    assert_eq!(keys_of(&m), BTreeSet::from([1, 4, 5]));
    assert!(m.lookup_ptr(&k32(4), 0).is_some());
    m.update(&k32(6), &k32(6), BPF_ANY, 0).unwrap();
    assert_eq!(keys_of(&m), BTreeSet::from([4, 5, 6]));
    assert_eq!(len(&m), 3);
    // Updating an existing key in a full LRU map evicts nothing.
    m.update(&k32(5), &k32(50), BPF_EXIST, 0).unwrap();
    assert_eq!(keys_of(&m), BTreeSet::from([4, 5, 6]));
    assert_eq!(m.lookup(&k32(5)).unwrap(), k32(50));
}

#[test]
fn lru_application_lookups_do_not_count_as_use() {
    let m = make(&spec(MapType::LruHash, 4, 4, 3));
    for k in [1, 2, 3] {
        m.update(&k32(k), &k32(k), BPF_ANY, 0).unwrap();
    }
    m.lookup(&k32(1)).unwrap();
    m.update(&k32(4), &k32(4), BPF_ANY, 0).unwrap();
    assert_eq!(keys_of(&m), BTreeSet::from([2, 3, 4]));
}

#[test]
fn lru_flags() {
    let m = make(&with_flags(
        spec(MapType::LruHash, 4, 4, 2),
        MapFlags::NO_COMMON_LRU,
    ));
    m.update(&k32(1), &k32(1), BPF_NOEXIST, 0).unwrap();
    assert_eq!(errno(m.update(&k32(1), &k32(1), BPF_NOEXIST, 0)), EEXIST);
    assert_eq!(errno(m.update(&k32(2), &k32(1), BPF_EXIST, 0)), ENOENT);
    // LRU maps take no BPF_F_LOCK (Linux: flags > BPF_EXIST is EINVAL).
    assert_eq!(errno(m.update(&k32(1), &k32(1), BPF_F_LOCK, 0)), EINVAL);
    // Never E2BIG: a full LRU map evicts.
    for k in 10..100 {
        m.update(&k32(k), &k32(k), BPF_NOEXIST, 0).unwrap();
    }
    assert_eq!(keys_of(&m), BTreeSet::from([98, 99]));
    m.delete(&k32(98)).unwrap();
    assert_eq!(errno(m.delete(&k32(98))), ENOENT);
}

#[test]
fn lru_percpu_isolation_and_eviction() {
    let m = make(&spec(MapType::LruPercpuHash, 4, 8, 2));
    m.update(&k32(1), &k64(10), BPF_ANY, 3).unwrap();
    m.update(&k32(1), &k64(11), BPF_ANY, 0).unwrap();
    let all = m.lookup(&k32(1)).unwrap();
    assert_eq!(
        (0..4).map(|c| u64_at(&all, c * 8)).collect::<Vec<_>>(),
        [11, 0, 0, 10]
    );
    m.update(&k32(2), &k64(2), BPF_ANY, 0).unwrap();
    assert!(m.lookup_ptr(&k32(1), 2).is_some());
    m.update(&k32(3), &k64(3), BPF_ANY, 0).unwrap();
    assert_eq!(keys_of(&m), BTreeSet::from([1, 3]));
    assert_eq!(u64_at(&m.lookup(&k32(1)).unwrap(), 24), 10);
}
