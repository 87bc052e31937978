//! Perf event arrays, prog arrays, arrays and hashes of maps.

mod common;
use common::*;
use std::sync::Arc;
use waggle_maps::{
    create, map_address, ArrayOfMaps, HashOfMaps, Map, MapFlags, MapSpec, MapType, PerfEventArray,
    ProgArray, BPF_ANY, BPF_EXIST, BPF_F_CURRENT_CPU, BPF_NOEXIST, PERF_BUFFER_BYTES,
};

#[test]
fn perf_output_and_drain() {
    let m = make(&spec(MapType::PerfEventArray, 4, 4, 4));
    let p = concrete::<PerfEventArray>(&m);
    p.output(0, b"on cpu 0").unwrap();
    p.output(2, b"on cpu 2").unwrap();
    // An explicit index from CPU 0, and BPF_F_CURRENT_CPU from CPU 3.
    p.output_with_flags(0, 3, b"to index 3").unwrap();
    p.output_with_flags(3, BPF_F_CURRENT_CPU, b"current")
        .unwrap();
    assert_eq!(
        p.drain(),
        [
            (0, b"on cpu 0".to_vec()),
            (2, b"on cpu 2".to_vec()),
            (3, b"to index 3".to_vec()),
            (3, b"current".to_vec()),
        ]
    );
    assert!(p.drain().is_empty());
    assert_eq!(errno(p.output(4, b"x")), E2BIG);
    assert_eq!(errno(p.output_with_flags(0, 9, b"x")), E2BIG);
    assert_eq!(errno(p.output_with_flags(0, 1 << 32, b"x")), EINVAL);
}

#[test]
fn perf_buffers_are_bounded_per_cpu_and_count_lost_events() {
    let s = spec(MapType::PerfEventArray, 4, 4, 2);
    let m: Arc<dyn Map> = Arc::new(PerfEventArray::with_buffer_bytes(&s, OPTS, 64).unwrap());
    let p = concrete::<PerfEventArray>(&m);
    // A 20-byte sample takes 8 (header) + round_up(4 + 20, 8) = 32 bytes.
    p.output(0, &[1; 20]).unwrap();
    p.output(0, &[2; 20]).unwrap();
    assert_eq!(errno(p.output(0, &[3; 20])), ENOSPC);
    assert_eq!(errno(p.output(0, &[4; 1])), ENOSPC);
    assert_eq!(p.lost(0), 2);
    // CPU 1's buffer is separate.
    p.output(1, &[5; 20]).unwrap();
    assert_eq!(p.lost(1), 0);
    assert_eq!(p.drain().len(), 3);
    p.output(0, &[6; 20]).unwrap();
    assert_eq!(p.lost(0), 2, "lost counts are cumulative");
    assert_eq!(PERF_BUFFER_BYTES, 64 * 4096);
}

#[test]
fn perf_map_operations() {
    let m = make(&spec(MapType::PerfEventArray, 4, 4, 2));
    // The application may store "fds"; they are kept and otherwise ignored.
    m.update_all(&k32(0), &k32(17), BPF_ANY).unwrap();
    assert_eq!(errno(m.update_all(&k32(0), &k32(17), BPF_NOEXIST)), EINVAL);
    assert_eq!(errno(m.update_all(&k32(2), &k32(17), BPF_ANY)), E2BIG);
    assert_eq!(errno(m.update_all(&k32(0), &k64(17), BPF_ANY)), EINVAL);
    m.delete(&k32(0)).unwrap();
    assert_eq!(errno(m.delete(&k32(0))), ENOENT);
    assert_eq!(errno(m.delete(&k32(5))), E2BIG);
    assert_eq!(errno(m.lookup(&k32(0))), EOPNOTSUPP);
    assert_eq!(m.lookup_ptr(&k32(0), 0), None);
    assert_eq!(m.next_key(None).unwrap(), k32(0));
    assert_eq!(m.next_key(Some(&k32(0))).unwrap(), k32(1));
    assert_eq!(errno(m.next_key(Some(&k32(1)))), ENOENT);
}

#[test]
fn prog_array_slots() {
    let m = make(&spec(MapType::ProgArray, 4, 4, 3));
    let pa = concrete::<ProgArray>(&m);
    assert_eq!(pa.get(0), None);
    m.update_all(&k32(0), &k32(42), BPF_ANY).unwrap();
    m.update_all(&k32(2), &k32(0), BPF_ANY).unwrap();
    assert_eq!(pa.get(0), Some(42));
    assert_eq!(pa.get(1), None);
    assert_eq!(pa.get(2), Some(0), "id 0 is an id like any other");
    assert_eq!(pa.get(3), None);
    assert_eq!(m.lookup(&k32(0)).unwrap(), k32(42));
    assert_eq!(errno(m.lookup(&k32(1))), ENOENT);
    assert_eq!(errno(m.lookup(&k32(9))), ENOENT);
    // Programs cannot read prog arrays.
    assert_eq!(m.lookup_ptr(&k32(0), 0), None);
    // Linux: BPF_ANY only, E2BIG past the end.
    assert_eq!(errno(m.update_all(&k32(1), &k32(1), BPF_NOEXIST)), EINVAL);
    assert_eq!(errno(m.update_all(&k32(1), &k32(1), BPF_EXIST)), EINVAL);
    assert_eq!(errno(m.update_all(&k32(3), &k32(1), BPF_ANY)), E2BIG);
    assert_eq!(errno(m.update_all(&k32(1), &k64(1), BPF_ANY)), EINVAL);
    m.delete(&k32(0)).unwrap();
    assert_eq!(pa.get(0), None);
    assert_eq!(errno(m.delete(&k32(0))), ENOENT);
    assert_eq!(errno(m.delete(&k32(3))), E2BIG);
    assert_eq!(m.next_key(Some(&k32(1))).unwrap(), k32(2));
}

fn outer(t: MapType, inner: MapSpec, max: u32) -> MapSpec {
    let mut s = spec(t, 4, 4, max);
    s.inner = Some(Box::new(inner));
    s
}

fn as_ptr(m: &Arc<dyn Map>) -> usize {
    map_address(m) as usize
}

#[test]
fn array_of_maps() {
    let inner_spec = spec(MapType::Array, 4, 8, 4);
    let m = make(&outer(MapType::ArrayOfMaps, inner_spec.clone(), 2));
    let aom = concrete::<ArrayOfMaps>(&m);
    let a = make(&inner_spec);
    let b = make(&inner_spec);
    a.update(&k32(1), &k64(111), BPF_ANY, 0).unwrap();
    assert_eq!(m.lookup_ptr(&k32(0), 0), None);
    aom.set_inner(&k32(0), a.clone()).unwrap();
    // Programs get the inner map's address, which the helpers resolve.
    let ptr = m.lookup_ptr(&k32(0), 0).unwrap();
    assert_eq!(ptr.as_ptr() as usize, as_ptr(&a));
    let resolved = aom.inner_by_address(ptr.as_ptr() as u64).unwrap();
    assert_eq!(resolved.lookup(&k32(1)).unwrap(), k64(111));
    assert!(Arc::ptr_eq(&aom.get_inner(&k32(0)).unwrap(), &a));
    // Replacing retires the old map but keeps it resolvable (programs may hold it).
    aom.set_inner(&k32(0), b.clone()).unwrap();
    assert_eq!(
        m.lookup_ptr(&k32(0), 0).unwrap().as_ptr() as usize,
        as_ptr(&b)
    );
    assert!(aom.inner_by_address(map_address(&a)).is_some());
    m.delete(&k32(0)).unwrap();
    assert_eq!(errno(m.delete(&k32(0))), ENOENT);
    assert_eq!(errno(m.delete(&k32(2))), E2BIG);
    assert!(aom.inner_by_address(map_address(&b)).is_some());
    assert!(aom.inner_by_address(12345).is_none());
    assert_eq!(errno(aom.set_inner(&k32(2), a.clone())), E2BIG);
    // A 4-byte value cannot carry a map: the error says what to use.
    let e = m.update_all(&k32(0), &k32(3), BPF_ANY).unwrap_err();
    assert_eq!(e.errno(), EINVAL);
    assert!(e.to_string().contains("set_inner"));
    assert_eq!(errno(m.update(&k32(0), &k32(3), BPF_ANY, 0)), EINVAL);
    assert_eq!(errno(m.lookup(&k32(0))), EOPNOTSUPP);
    assert_eq!(m.next_key(None).unwrap(), k32(0));
}

#[test]
fn inner_maps_must_match() {
    let inner_spec = spec(MapType::Array, 4, 8, 4);
    let m = make(&outer(MapType::ArrayOfMaps, inner_spec.clone(), 2));
    let aom = concrete::<ArrayOfMaps>(&m);
    let check = |s: &MapSpec, mentions: &str| {
        let e = aom.set_inner(&k32(0), make(s)).unwrap_err();
        assert_eq!(e.errno(), EINVAL, "{s:?}");
        assert!(
            e.to_string().contains(mentions),
            "{e} should mention {mentions}"
        );
    };
    check(&spec(MapType::Array, 4, 16, 4), "value_size");
    check(&spec(MapType::Hash, 4, 8, 4), "type");
    check(
        &with_flags(spec(MapType::Array, 4, 8, 4), MapFlags::RDONLY_PROG),
        "map_flags",
    );
    // Arrays must match in size too (Linux's array_map_meta_equal)...
    check(&spec(MapType::Array, 4, 8, 5), "max_entries");
    let mut locked = inner_spec.clone();
    locked.spin_lock_offset = Some(0);
    check(&locked, "spin lock");
    check(
        &outer(MapType::ArrayOfMaps, inner_spec.clone(), 2),
        "cannot nest",
    );
    // ...unless the template is marked BPF_F_INNER_MAP.
    let flexible = with_flags(spec(MapType::Array, 4, 8, 4), MapFlags::INNER_MAP);
    let m2 = make(&outer(MapType::ArrayOfMaps, flexible, 2));
    let bigger = make(&with_flags(
        spec(MapType::Array, 4, 8, 100),
        MapFlags::INNER_MAP,
    ));
    concrete::<ArrayOfMaps>(&m2)
        .set_inner(&k32(1), bigger)
        .unwrap();
}

#[test]
fn hash_of_maps() {
    let inner_spec = spec(MapType::Hash, 4, 4, 16);
    let m = make(&outer(MapType::HashOfMaps, inner_spec.clone(), 2));
    let hom = concrete::<HashOfMaps>(&m);
    // Non-array inner maps may differ in max_entries (Linux's bpf_map_meta_equal).
    let small = make(&spec(MapType::Hash, 4, 4, 1));
    let big = make(&spec(MapType::Hash, 4, 4, 1000));
    hom.set_inner(&k32(7), small.clone()).unwrap();
    hom.set_inner_with_flags(&k32(3), big.clone(), BPF_NOEXIST)
        .unwrap();
    assert_eq!(
        errno(hom.set_inner_with_flags(&k32(3), big.clone(), BPF_NOEXIST)),
        EEXIST
    );
    assert_eq!(
        errno(hom.set_inner_with_flags(&k32(9), big.clone(), BPF_EXIST)),
        ENOENT
    );
    assert_eq!(errno(hom.set_inner(&k32(9), big.clone())), E2BIG, "full");
    assert_eq!(
        errno(hom.set_inner_with_flags(&k32(9), big.clone(), 8)),
        EINVAL
    );
    assert_eq!(
        m.lookup_ptr(&k32(7), 0).unwrap().as_ptr() as usize,
        as_ptr(&small)
    );
    assert_eq!(m.lookup_ptr(&k32(8), 0), None);
    // Iteration: first key for None or an absent key, then in order.
    let first = m.next_key(None).unwrap();
    assert_eq!(m.next_key(Some(&k32(100))).unwrap(), first);
    let second = m.next_key(Some(&first)).unwrap();
    let mut keys = vec![u32_at(&first, 0), u32_at(&second, 0)];
    keys.sort();
    assert_eq!(keys, [3, 7]);
    assert_eq!(errno(m.next_key(Some(&second))), ENOENT);
    m.delete(&k32(7)).unwrap();
    assert_eq!(errno(m.delete(&k32(7))), ENOENT);
    assert!(hom.inner_by_address(map_address(&small)).is_some());
    assert!(hom.get_inner(&k32(7)).is_none());
    assert!(hom.get_inner(&k32(3)).is_some());
    assert_eq!(errno(m.update_all(&k32(1), &k32(1), BPF_ANY)), EINVAL);
    assert_eq!(errno(m.lookup(&k32(3))), EOPNOTSUPP);
    let wrong = make(&spec(MapType::Hash, 8, 4, 16));
    assert_eq!(errno(hom.set_inner(&k32(1), wrong)), EINVAL);
    assert!(create(&outer(MapType::HashOfMaps, inner_spec, 2), OPTS).is_ok());
}
