//! Many threads on one map: no lost updates, no crashes, consistent copies.

mod common;
use common::*;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use waggle_maps::{ArrayMap, HashMap, Map, MapType, BPF_ANY, BPF_F_LOCK, BPF_NOEXIST};

const THREADS: u32 = 4;
const ROUNDS: u64 = 3000;
const COUNTERS: u32 = 16;

/// Adds 1 to the u64 value of `key` the way a program would: through the
/// value pointer, with an atomic instruction.
fn bump(m: &dyn Map, key: &[u8], cpu: u32) {
    let p = m.lookup_ptr(key, cpu).expect("counter present");
    // SAFETY: values are 8-aligned, at least 8 bytes, and live as long as the map.
    let counter = unsafe { AtomicU64::from_ptr(p.as_ptr().cast::<u64>()) };
    counter.fetch_add(1, Ordering::Relaxed);
}

/// Counters under concurrent increments, while every thread also churns its
/// own keys (insert, look up, delete) so the index changes underneath.
fn hammer(m: &Arc<dyn Map>) {
    for c in 0..COUNTERS {
        m.update(&k32(c), &k64(0), BPF_NOEXIST, 0).unwrap();
    }
    std::thread::scope(|s| {
        for t in 0..THREADS {
            let m = m.clone();
            s.spawn(move || {
                for i in 0..ROUNDS {
                    bump(m.as_ref(), &k32((i as u32 + t) % COUNTERS), t);
                    let own = k32(1000 + t * 100 + (i % 40) as u32);
                    let value = k64(i << 8 | u64::from(t));
                    match i % 3 {
                        0 => m.update(&own, &value, BPF_ANY, t).unwrap(),
                        1 => {
                            if let Ok(v) = m.lookup(&own) {
                                assert_eq!(
                                    u64_at(&v, 0) & 0xff,
                                    u64::from(t),
                                    "another thread's value"
                                );
                            }
                        }
                        _ => {
                            let _ = m.delete(&own);
                        }
                    }
                    if i % 64 == 0 {
                        // Iterating while others mutate must not fail oddly.
                        let mut cur = m.next_key(None).ok();
                        let mut steps = 0;
                        while let Some(k) = cur {
                            cur = m.next_key(Some(&k)).ok();
                            steps += 1;
                            assert!(steps < 10_000, "iteration does not end");
                        }
                    }
                }
            });
        }
    });
    let total: u64 = (0..COUNTERS)
        .map(|c| u64_at(&m.lookup(&k32(c)).unwrap(), 0))
        .sum();
    assert_eq!(total, u64::from(THREADS) * ROUNDS, "lost increments");
}

#[test]
fn hash_map_under_contention() {
    let m = make(&spec(MapType::Hash, 4, 8, 256));
    hammer(&m);
    assert!(concrete::<HashMap>(&m).len() <= COUNTERS as usize + THREADS as usize * 40);
}

#[test]
fn lru_map_under_contention() {
    // Large enough that the counters are never evicted.
    let m = make(&spec(MapType::LruHash, 4, 8, 512));
    hammer(&m);
}

#[test]
fn lru_eviction_under_contention() {
    let m = make(&spec(MapType::LruHash, 4, 8, 64));
    std::thread::scope(|s| {
        for t in 0..THREADS {
            let m = m.clone();
            s.spawn(move || {
                for i in 0..ROUNDS as u32 {
                    let key = t * 1_000_000 + i;
                    // A full LRU map always accepts new keys.
                    m.update(&k32(key), &k64(u64::from(key) * 3), BPF_NOEXIST, t)
                        .unwrap();
                    let probe = t * 1_000_000 + i.saturating_sub(i % 7);
                    if let Ok(v) = m.lookup(&k32(probe)) {
                        assert_eq!(u64_at(&v, 0), u64::from(probe) * 3, "value of another key");
                    }
                    let _ = m.lookup_ptr(&k32(probe), t);
                }
            });
        }
    });
    let h = concrete::<HashMap>(&m);
    assert_eq!(h.len(), 64);
    // Every surviving element is intact.
    let mut cur = m.next_key(None).ok();
    let mut n = 0;
    while let Some(k) = cur {
        assert_eq!(
            u64_at(&m.lookup(&k).unwrap(), 0),
            u64::from(u32_at(&k, 0)) * 3
        );
        cur = m.next_key(Some(&k)).ok();
        n += 1;
    }
    assert_eq!(n, 64);
}

#[test]
fn array_atomic_increments() {
    let m = make(&spec(MapType::Array, 4, 8, COUNTERS));
    std::thread::scope(|s| {
        for t in 0..THREADS {
            let m = m.clone();
            s.spawn(move || {
                for i in 0..ROUNDS {
                    bump(m.as_ref(), &k32((i as u32 * 7 + t) % COUNTERS), t);
                    if i % 100 == 0 {
                        m.update(&k32(COUNTERS - 1), &k64(0), BPF_NOEXIST, 0)
                            .unwrap_err();
                    }
                }
            });
        }
    });
    let total: u64 = (0..COUNTERS)
        .map(|c| u64_at(&m.lookup(&k32(c)).unwrap(), 0))
        .sum();
    assert_eq!(total, u64::from(THREADS) * ROUNDS);
}

#[test]
fn percpu_array_threads_own_their_cpu() {
    let m = make(&spec(MapType::PercpuArray, 4, 8, 1));
    std::thread::scope(|s| {
        for t in 0..THREADS {
            let m = m.clone();
            s.spawn(move || {
                for _ in 0..ROUNDS * (u64::from(t) + 1) {
                    // Non-atomic read-modify-write is fine: nobody else uses this CPU's copy.
                    let p = m.lookup_ptr(&k32(0), t).unwrap().as_ptr().cast::<u64>();
                    // SAFETY: this thread's CPU slot of a live value.
                    unsafe { p.write(p.read() + 1) };
                }
            });
        }
    });
    let all = m.lookup(&k32(0)).unwrap();
    let per_cpu: Vec<u64> = (0..4).map(|c| u64_at(&all, c * 8)).collect();
    assert_eq!(per_cpu, [ROUNDS, 2 * ROUNDS, 3 * ROUNDS, 4 * ROUNDS]);
    assert!(concrete::<ArrayMap>(&m)
        .lookup_with_flags(&k32(0), 0)
        .is_ok());
}

#[test]
fn locked_copies_are_never_torn() {
    // A value of a lock word, padding and seven u64 words that writers keep equal.
    let mut s = spec(MapType::Hash, 4, 64, 4);
    s.spin_lock_offset = Some(0);
    let m = make(&s);
    let value = |x: u64| {
        let mut v = vec![0u8; 64];
        for w in 1..8 {
            v[w * 8..w * 8 + 8].copy_from_slice(&x.to_ne_bytes());
        }
        v
    };
    m.update(&k32(0), &value(0), BPF_ANY, 0).unwrap();
    let h = concrete::<HashMap>(&m);
    std::thread::scope(|s| {
        for t in 0..2u64 {
            let m = &m;
            s.spawn(move || {
                for i in 0..ROUNDS {
                    m.update(&k32(0), &value(i * 2 + t), BPF_F_LOCK, 0).unwrap();
                }
            });
        }
        for _ in 0..2 {
            s.spawn(|| {
                for _ in 0..ROUNDS {
                    let v = h.lookup_with_flags(&k32(0), BPF_F_LOCK).unwrap();
                    let first = u64_at(&v, 8);
                    assert!((1..8).all(|w| u64_at(&v, w * 8) == first), "torn value");
                }
            });
        }
    });
}
