//! Creation checks: Linux's `map_alloc_check`s and the memory cap.

mod common;
use common::*;
use waggle_maps::{create, validate, MapFlags, MapOptions, MapType, MAX_MAP_BYTES};

fn assert_invalid(s: &waggle_maps::MapSpec, mentions: &str) {
    let (errno, msg) = create_err(s);
    assert_eq!(errno, EINVAL, "{s:?}: {msg}");
    assert!(
        msg.contains(mentions),
        "message {msg:?} should mention {mentions:?}"
    );
    assert_eq!(validate(s, OPTS).unwrap_err().errno(), EINVAL);
}

#[test]
fn every_type_creates_with_a_valid_spec() {
    let mut inner_holder = spec(MapType::ArrayOfMaps, 4, 4, 2);
    inner_holder.inner = Some(Box::new(spec(MapType::Array, 4, 8, 2)));
    let mut hash_holder = spec(MapType::HashOfMaps, 4, 4, 2);
    hash_holder.inner = Some(Box::new(spec(MapType::Hash, 4, 8, 2)));
    let specs = [
        spec(MapType::Array, 4, 8, 4),
        spec(MapType::PercpuArray, 4, 8, 4),
        spec(MapType::Hash, 4, 8, 4),
        spec(MapType::PercpuHash, 4, 8, 4),
        spec(MapType::LruHash, 4, 8, 4),
        spec(MapType::LruPercpuHash, 4, 8, 4),
        with_flags(spec(MapType::LpmTrie, 8, 8, 4), MapFlags::NO_PREALLOC),
        spec(MapType::Queue, 0, 8, 4),
        spec(MapType::Stack, 0, 8, 4),
        spec(MapType::BloomFilter, 0, 8, 4),
        spec(MapType::RingBuf, 0, 0, 4096),
        spec(MapType::PerfEventArray, 4, 4, 4),
        spec(MapType::ProgArray, 4, 4, 4),
        inner_holder,
        hash_holder,
    ];
    for s in &specs {
        validate(s, OPTS).unwrap_or_else(|e| panic!("{s:?}: {e}"));
        let m = make(s);
        assert_eq!(m.spec(), s);
    }
}

#[test]
fn zero_max_entries_is_invalid_for_every_type() {
    let mut aom = spec(MapType::ArrayOfMaps, 4, 4, 0);
    aom.inner = Some(Box::new(spec(MapType::Array, 4, 8, 2)));
    let mut hom = spec(MapType::HashOfMaps, 4, 4, 0);
    hom.inner = Some(Box::new(spec(MapType::Hash, 4, 8, 2)));
    for s in [
        spec(MapType::Array, 4, 8, 0),
        spec(MapType::PercpuArray, 4, 8, 0),
        spec(MapType::Hash, 4, 8, 0),
        spec(MapType::LruHash, 4, 8, 0),
        with_flags(spec(MapType::LpmTrie, 8, 8, 0), MapFlags::NO_PREALLOC),
        spec(MapType::Queue, 0, 8, 0),
        spec(MapType::Stack, 0, 8, 0),
        spec(MapType::BloomFilter, 0, 8, 0),
        spec(MapType::PerfEventArray, 4, 4, 0),
        spec(MapType::ProgArray, 4, 4, 0),
        aom,
        hom,
    ] {
        assert_invalid(&s, "max_entries");
    }
    // A ring buffer's size is its max_entries: 0 is not a power of two.
    assert_invalid(&spec(MapType::RingBuf, 0, 0, 0), "power of 2");
}

#[test]
fn array_checks() {
    assert_invalid(&spec(MapType::Array, 8, 8, 4), "key_size 4");
    assert_invalid(&spec(MapType::PercpuArray, 0, 8, 4), "key_size 4");
    assert_invalid(&spec(MapType::Array, 4, 0, 4), "value_size");
    assert_invalid(
        &with_flags(spec(MapType::Array, 4, 8, 4), 1 << 20),
        "0x100000",
    );
    assert_invalid(
        &with_flags(spec(MapType::Array, 4, 8, 4), MapFlags::NO_PREALLOC),
        "0x1",
    );
    // mmapable and inner-map arrays are fine, but not for per-CPU arrays.
    make(&with_flags(
        spec(MapType::Array, 4, 8, 4),
        MapFlags::MMAPABLE | MapFlags::INNER_MAP | MapFlags::RDONLY_PROG,
    ));
    assert_invalid(
        &with_flags(spec(MapType::PercpuArray, 4, 8, 4), MapFlags::MMAPABLE),
        "MMAPABLE",
    );
    assert_invalid(
        &with_flags(spec(MapType::PercpuArray, 4, 8, 4), MapFlags::NUMA_NODE),
        "NUMA",
    );
    assert_invalid(
        &with_flags(spec(MapType::Array, 4, 8, 4), MapFlags::PRESERVE_ELEMS),
        "PRESERVE_ELEMS",
    );
    // Per-CPU values are limited to PCPU_MIN_UNIT_SIZE (32 KiB): E2BIG.
    assert_eq!(
        create_err(&spec(MapType::PercpuArray, 4, 40_000, 1)).0,
        E2BIG
    );
}

#[test]
fn common_flag_checks() {
    assert_invalid(
        &with_flags(
            spec(MapType::Hash, 4, 8, 4),
            MapFlags::RDONLY | MapFlags::WRONLY,
        ),
        "BPF_F_RDONLY and BPF_F_WRONLY",
    );
    assert_invalid(
        &with_flags(
            spec(MapType::Array, 4, 8, 4),
            MapFlags::RDONLY_PROG | MapFlags::WRONLY_PROG,
        ),
        "RDONLY_PROG",
    );
    let mut s = spec(MapType::Hash, 4, 8, 4);
    s.map_extra = 3;
    assert_invalid(&s, "map_extra");
    let (errno, msg) = match create(&spec(MapType::Array, 4, 8, 4), MapOptions { cpus: 0 }) {
        Err(e) => (e.errno(), e.to_string()),
        Ok(_) => panic!("cpus 0 accepted"),
    };
    assert_eq!(errno, EINVAL);
    assert!(msg.contains("cpus"));
}

#[test]
fn hash_checks() {
    assert_invalid(&spec(MapType::Hash, 0, 8, 4), "key_size");
    assert_invalid(&spec(MapType::PercpuHash, 4, 0, 4), "value_size");
    assert_invalid(
        &with_flags(spec(MapType::Hash, 4, 8, 4), MapFlags::NO_COMMON_LRU),
        "NO_COMMON_LRU",
    );
    assert_invalid(
        &with_flags(spec(MapType::Hash, 4, 8, 4), MapFlags::MMAPABLE),
        "0x400",
    );
    assert_invalid(
        &with_flags(spec(MapType::PercpuHash, 4, 8, 4), MapFlags::NUMA_NODE),
        "NUMA",
    );
    // LRU maps must preallocate: Linux says ENOTSUPP.
    assert_eq!(
        create_err(&with_flags(
            spec(MapType::LruHash, 4, 8, 4),
            MapFlags::NO_PREALLOC
        ))
        .0,
        EOPNOTSUPP
    );
    make(&with_flags(
        spec(MapType::Hash, 4, 8, 4),
        MapFlags::NO_PREALLOC | MapFlags::ZERO_SEED,
    ));
    make(&with_flags(
        spec(MapType::LruPercpuHash, 4, 8, 4),
        MapFlags::NO_COMMON_LRU,
    ));
    // key + value must stay under KMALLOC_MAX_SIZE.
    assert_eq!(create_err(&spec(MapType::Hash, 4, 4 << 20, 1)).0, E2BIG);
}

#[test]
fn keyless_type_checks() {
    assert_invalid(&spec(MapType::Queue, 4, 8, 4), "key_size 0");
    assert_invalid(&spec(MapType::Stack, 0, 0, 4), "value_size");
    assert_invalid(
        &with_flags(spec(MapType::Queue, 0, 8, 4), MapFlags::NO_PREALLOC),
        "0x1",
    );
    assert_invalid(&spec(MapType::BloomFilter, 4, 8, 4), "key_size 0");
    assert_invalid(&spec(MapType::BloomFilter, 0, 0, 4), "value_size");
    let mut s = spec(MapType::BloomFilter, 0, 8, 4);
    s.map_extra = 16;
    assert_invalid(&s, "map_extra");
    s.map_extra = 15;
    make(&s);
    make(&with_flags(
        spec(MapType::BloomFilter, 0, 8, 4),
        MapFlags::ZERO_SEED,
    ));
}

#[test]
fn ringbuf_checks() {
    assert_invalid(
        &spec(MapType::RingBuf, 4, 0, 4096),
        "key_size 0 and value_size 0",
    );
    assert_invalid(
        &spec(MapType::RingBuf, 0, 8, 4096),
        "key_size 0 and value_size 0",
    );
    assert_invalid(&spec(MapType::RingBuf, 0, 0, 6000), "power of 2");
    assert_invalid(&spec(MapType::RingBuf, 0, 0, 2048), "multiple of 4096");
    assert_invalid(
        &with_flags(spec(MapType::RingBuf, 0, 0, 4096), MapFlags::RDONLY),
        "0x8",
    );
    make(&spec(MapType::RingBuf, 0, 0, 1 << 16));
}

#[test]
fn lpm_checks() {
    assert_invalid(&spec(MapType::LpmTrie, 8, 8, 4), "BPF_F_NO_PREALLOC");
    let lpm = |key, value| with_flags(spec(MapType::LpmTrie, key, value, 4), MapFlags::NO_PREALLOC);
    assert_invalid(&lpm(4, 8), "key_size");
    assert_invalid(&lpm(3, 8), "key_size");
    assert_invalid(&lpm(4 + 257, 8), "key_size");
    assert_invalid(&lpm(8, 0), "value_size");
    make(&lpm(5, 1));
    make(&lpm(4 + 256, 8));
    assert_invalid(
        &with_flags(lpm(8, 8), MapFlags::NO_PREALLOC | MapFlags::ZERO_SEED),
        "0x40",
    );
}

#[test]
fn fd_array_checks() {
    for t in [MapType::ProgArray, MapType::PerfEventArray] {
        assert_invalid(&spec(t, 4, 8, 4), "value_size 4");
        assert_invalid(&spec(t, 8, 4, 4), "key_size 4");
        assert_invalid(
            &with_flags(spec(t, 4, 4, 4), MapFlags::RDONLY_PROG),
            "RDONLY_PROG",
        );
    }
    make(&with_flags(
        spec(MapType::PerfEventArray, 4, 4, 4),
        MapFlags::PRESERVE_ELEMS,
    ));
    assert_invalid(
        &with_flags(spec(MapType::ProgArray, 4, 4, 4), MapFlags::PRESERVE_ELEMS),
        "PRESERVE_ELEMS",
    );
}

#[test]
fn map_in_map_checks() {
    assert_invalid(&spec(MapType::ArrayOfMaps, 4, 4, 4), "inner map definition");
    assert_invalid(&spec(MapType::HashOfMaps, 4, 4, 4), "inner map definition");
    let mut s = spec(MapType::HashOfMaps, 4, 8, 4);
    s.inner = Some(Box::new(spec(MapType::Hash, 4, 8, 2)));
    assert_invalid(&s, "value_size 4");
    let mut nested = spec(MapType::ArrayOfMaps, 4, 4, 4);
    nested.inner = Some(Box::new(spec(MapType::Array, 4, 8, 2)));
    let mut s = spec(MapType::ArrayOfMaps, 4, 4, 4);
    s.inner = Some(Box::new(nested));
    assert_invalid(&s, "cannot nest");
    s.inner = Some(Box::new(spec(MapType::ProgArray, 4, 4, 2)));
    assert_eq!(create_err(&s).0, EOPNOTSUPP);
    // The inner definition is validated like a map of its own.
    s.inner = Some(Box::new(spec(MapType::Array, 8, 8, 2)));
    assert_invalid(&s, "key_size 4");
}

#[test]
fn spin_lock_placement() {
    let mut s = spec(MapType::Hash, 4, 16, 4);
    s.spin_lock_offset = Some(8);
    make(&s);
    s.spin_lock_offset = Some(6);
    assert_invalid(&s, "4-byte aligned");
    s.spin_lock_offset = Some(16);
    assert_invalid(&s, "inside the 16-byte value");
    let mut p = spec(MapType::PercpuHash, 4, 16, 4);
    p.spin_lock_offset = Some(0);
    assert_eq!(create_err(&p).0, EOPNOTSUPP);
    let mut l = spec(MapType::LruHash, 4, 16, 4);
    l.spin_lock_offset = Some(0);
    assert_eq!(create_err(&l).0, EOPNOTSUPP);
}

#[test]
fn memory_cap_refuses_huge_maps() {
    assert_eq!(MAX_MAP_BYTES, 1 << 30);
    // 2 GiB of array values.
    assert_eq!(
        create_err(&spec(MapType::Array, 4, 1 << 20, 2048)).0,
        ENOMEM
    );
    // 4 CPUs x 16 KiB x 32768 entries = 2 GiB of per-CPU values.
    assert_eq!(
        create_err(&spec(MapType::PercpuArray, 4, 16 << 10, 32768)).0,
        ENOMEM
    );
    // A hash map of u32::MAX elements.
    assert_eq!(create_err(&spec(MapType::Hash, 8, 8, u32::MAX)).0, ENOMEM);
    assert_eq!(
        create_err(&spec(MapType::Queue, 0, 1 << 20, 4096)).0,
        ENOMEM
    );
    assert_eq!(create_err(&spec(MapType::RingBuf, 0, 0, 1 << 30)).0, ENOMEM);
    assert_eq!(
        validate(&spec(MapType::Array, 4, 1 << 20, 2048), OPTS)
            .unwrap_err()
            .errno(),
        ENOMEM
    );
    // Just under the cap is fine (and cheap: untouched pages are not backed).
    make(&spec(MapType::Array, 4, 1 << 20, 1000));
}
