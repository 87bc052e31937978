//! Array and per-CPU array maps.

mod common;
use common::*;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;
use waggle_maps::{
    spin_lock, spin_unlock, ArrayMap, MapType, BPF_ANY, BPF_EXIST, BPF_F_LOCK, BPF_NOEXIST,
};

#[test]
fn values_start_zeroed_and_round_trip() {
    let m = make(&spec(MapType::Array, 4, 12, 8));
    for i in 0..8 {
        assert_eq!(m.lookup(&k32(i)).unwrap(), vec![0; 12]);
    }
    let v: Vec<u8> = (1..=12).collect();
    m.update(&k32(3), &v, BPF_ANY, 0).unwrap();
    assert_eq!(m.lookup(&k32(3)).unwrap(), v);
    m.update_all(&k32(3), &[9; 12], BPF_EXIST).unwrap();
    assert_eq!(m.lookup(&k32(3)).unwrap(), vec![9; 12]);
}

#[test]
fn program_pointers_are_stable_and_shared() {
    let m = make(&spec(MapType::Array, 4, 8, 4));
    let p = m.lookup_ptr(&k32(2), 0).unwrap();
    assert_eq!(p.as_ptr() as usize % 8, 0, "values are 8-byte aligned");
    assert_eq!(m.lookup_ptr(&k32(2), 3), Some(p), "cpu is ignored");
    // SAFETY: the value is 8 bytes, 8-aligned, and lives as long as `m`.
    unsafe { p.as_ptr().cast::<u64>().write(0xdead_beef) };
    assert_eq!(u64_at(&m.lookup(&k32(2)).unwrap(), 0), 0xdead_beef);
    m.update(&k32(2), &k64(7), BPF_ANY, 0).unwrap();
    // SAFETY: as above.
    assert_eq!(unsafe { p.as_ptr().cast::<u64>().read() }, 7);
    assert_ne!(m.lookup_ptr(&k32(1), 0), Some(p));
}

#[test]
fn layout_gives_the_addresses_lookups_return() {
    for (t, cpus) in [(MapType::Array, 1), (MapType::PercpuArray, OPTS.cpus)] {
        let m = make(&spec(t, 4, 12, 5));
        let array = m.as_any().downcast_ref::<ArrayMap>().unwrap();
        let layout = array.layout();
        assert_eq!(
            (layout.max_entries, layout.cpus, layout.stride),
            (5, cpus, 16)
        );
        for index in 0..5u32 {
            for cpu in 0..cpus {
                let slot = (index * cpus + cpu) as usize;
                let addr = layout.base.as_ptr() as usize + slot * layout.stride;
                let found = m.lookup_ptr(&k32(index), cpu).unwrap();
                assert_eq!(found.as_ptr() as usize, addr, "{t:?} [{index}] cpu {cpu}");
            }
        }
    }
}

#[test]
fn flags_and_errors() {
    let m = make(&spec(MapType::Array, 4, 8, 4));
    // Every element exists: BPF_NOEXIST always fails with EEXIST.
    assert_eq!(errno(m.update(&k32(0), &k64(1), BPF_NOEXIST, 0)), EEXIST);
    m.update(&k32(0), &k64(1), BPF_EXIST, 0).unwrap();
    // Out of range: E2BIG for updates (cannot add), ENOENT for lookups.
    assert_eq!(errno(m.update(&k32(4), &k64(1), BPF_ANY, 0)), E2BIG);
    assert_eq!(errno(m.lookup(&k32(4))), ENOENT);
    assert_eq!(m.lookup_ptr(&k32(4), 0), None);
    assert_eq!(m.lookup_ptr(&k32(u32::MAX), 0), None);
    // Unknown flags are checked first, even out of range.
    assert_eq!(errno(m.update(&k32(9), &k64(1), 8, 0)), EINVAL);
    assert_eq!(
        errno(m.update(&k32(0), &k64(1), BPF_NOEXIST | BPF_EXIST, 0)),
        EINVAL
    );
    // BPF_F_LOCK needs a spin lock in the value.
    assert_eq!(errno(m.update(&k32(0), &k64(1), BPF_F_LOCK, 0)), EINVAL);
    // Array elements cannot be deleted.
    let e = m.delete(&k32(0)).unwrap_err();
    assert_eq!(e.errno(), EINVAL);
    assert!(e.to_string().contains("cannot be deleted"));
    // Wrong sizes.
    assert_eq!(errno(m.update(&[0; 8], &k64(1), BPF_ANY, 0)), EINVAL);
    assert_eq!(errno(m.update(&k32(0), &[1; 4], BPF_ANY, 0)), EINVAL);
    assert_eq!(errno(m.lookup(&[0; 2])), EINVAL);
    assert_eq!(m.lookup_ptr(&[0; 3], 0), None);
    // Not a queue.
    assert_eq!(errno(m.push(&k64(1), 0)), EOPNOTSUPP);
    assert_eq!(errno(m.pop()), EOPNOTSUPP);
}

#[test]
fn next_key_walks_indexes() {
    let m = make(&spec(MapType::Array, 4, 8, 3));
    assert_eq!(m.next_key(None).unwrap(), k32(0));
    assert_eq!(m.next_key(Some(&k32(0))).unwrap(), k32(1));
    assert_eq!(m.next_key(Some(&k32(1))).unwrap(), k32(2));
    assert_eq!(errno(m.next_key(Some(&k32(2)))), ENOENT);
    // Past the end restarts at 0, as in Linux.
    assert_eq!(m.next_key(Some(&k32(17))).unwrap(), k32(0));
    assert_eq!(errno(m.next_key(Some(&[0; 5]))), EINVAL);
}

fn locked_array() -> std::sync::Arc<dyn waggle_maps::Map> {
    let mut s = spec(MapType::Array, 4, 16, 2);
    s.spin_lock_offset = Some(4);
    make(&s)
}

#[test]
fn f_lock_copies_around_the_lock_word() {
    let m = locked_array();
    let a = concrete::<ArrayMap>(&m);
    let v: Vec<u8> = (1..=16).collect();
    m.update(&k32(0), &v, BPF_F_LOCK, 0).unwrap();
    let got = m.lookup(&k32(0)).unwrap();
    assert_eq!(&got[..4], &v[..4]);
    assert_eq!(
        &got[4..8],
        &[0; 4],
        "the application sees the lock word as 0"
    );
    assert_eq!(&got[8..], &v[8..]);
    assert_eq!(a.lookup_with_flags(&k32(0), BPF_F_LOCK).unwrap(), got);
    assert_eq!(errno(a.lookup_with_flags(&k32(0), 2)), EINVAL);
    // Plain updates do not touch the lock word either.
    let p = m.lookup_ptr(&k32(0), 0).unwrap();
    // SAFETY: the lock word is at offset 4 of a live value.
    let word = unsafe { &*p.as_ptr().add(4).cast::<AtomicU32>() };
    word.store(1, Ordering::SeqCst);
    m.update(&k32(0), &[0xaa; 16], BPF_ANY, 0).unwrap();
    assert_eq!(word.load(Ordering::SeqCst), 1);
    word.store(0, Ordering::SeqCst);
    // BPF_F_LOCK with BPF_NOEXIST is still EEXIST.
    assert_eq!(
        errno(m.update(&k32(0), &v, BPF_F_LOCK | BPF_NOEXIST, 0)),
        EEXIST
    );
}

#[test]
fn f_lock_update_waits_for_the_holder() {
    let m = locked_array();
    let p = m.lookup_ptr(&k32(1), 0).unwrap();
    // SAFETY: offset 4 is the value's lock word.
    let word = unsafe { p.as_ptr().add(4) }.cast::<u32>();
    // A "program" holds the lock (as bpf_spin_lock would).
    // SAFETY: aligned lock word of a live value.
    unsafe { spin_lock(word) };
    std::thread::scope(|s| {
        let updater = s.spawn(|| m.update(&k32(1), &[7; 16], BPF_F_LOCK, 0));
        std::thread::sleep(Duration::from_millis(50));
        assert_eq!(m.lookup(&k32(1)).unwrap()[8..], [0; 8], "update waited");
        // SAFETY: we hold the lock.
        unsafe { spin_unlock(word) };
        updater.join().unwrap().unwrap();
    });
    assert_eq!(m.lookup(&k32(1)).unwrap()[8..], [7; 8]);
}

#[test]
fn percpu_values_are_isolated() {
    let m = make(&spec(MapType::PercpuArray, 4, 4, 2));
    // Program view: each CPU has its own copy.
    m.update(&k32(0), &k32(11), BPF_ANY, 1).unwrap();
    m.update(&k32(0), &k32(33), BPF_ANY, 3).unwrap();
    let p0 = m.lookup_ptr(&k32(0), 0).unwrap();
    let p1 = m.lookup_ptr(&k32(0), 1).unwrap();
    assert_ne!(p0, p1);
    // SAFETY: 4-byte values, live as long as `m`.
    unsafe {
        assert_eq!(p0.as_ptr().cast::<u32>().read(), 0);
        assert_eq!(p1.as_ptr().cast::<u32>().read(), 11);
    }
    assert_eq!(m.lookup_ptr(&k32(0), 4), None, "no CPU 4");
    assert_eq!(errno(m.update(&k32(0), &k32(1), BPF_ANY, 4)), EINVAL);
    // Application view: every CPU's value, each padded to 8 bytes.
    let all = m.lookup(&k32(0)).unwrap();
    assert_eq!(all.len(), 4 * 8);
    let per_cpu: Vec<u32> = (0..4).map(|c| u32_at(&all, c * 8)).collect();
    assert_eq!(per_cpu, [0, 11, 0, 33]);
    assert!(
        (0..4).all(|c| all[c * 8 + 4..c * 8 + 8] == [0; 4]),
        "padding is zero"
    );
    // update_all takes the same layout.
    let mut v = vec![0u8; 32];
    for c in 0..4 {
        v[c * 8..c * 8 + 4].copy_from_slice(&k32(100 + c as u32));
    }
    m.update_all(&k32(1), &v, BPF_EXIST).unwrap();
    assert_eq!(m.lookup(&k32(1)).unwrap(), v);
    assert_eq!(m.lookup(&k32(0)).unwrap(), all, "other elements untouched");
    // Its errors: size, flags (no BPF_F_LOCK for per-CPU), range.
    assert_eq!(errno(m.update_all(&k32(1), &[0; 16], BPF_ANY)), EINVAL);
    assert_eq!(errno(m.update_all(&k32(1), &v, BPF_F_LOCK)), EINVAL);
    assert_eq!(errno(m.update_all(&k32(1), &v, BPF_NOEXIST)), EEXIST);
    assert_eq!(errno(m.update_all(&k32(2), &v, BPF_ANY)), E2BIG);
    assert_eq!(errno(m.update(&k32(1), &k32(1), BPF_F_LOCK, 0)), EINVAL);
    assert_eq!(errno(m.delete(&k32(1))), EINVAL);
}
