use super::super::testutil::*;
use super::call;
use waggle_maps::{map_address, MapFlags, MapType, BPF_EXIST};
use waggle_vm::RunError;

const ENOENT: i64 = 2;
const EINVAL: i64 = 22;
const E2BIG: i64 = 7;

/// Update `key` to 42, look it up, add 1 through the pointer, return the
/// new value (or 0xdead if a helper failed).
fn bump(map: u64, key: u64) -> String {
    format!(
        "lddw %r6, {key:#x}
        stxdw [%r10-16], %r6
        lddw %r6, 42
        stxdw [%r10-8], %r6
        lddw %r1, {map:#x}
        mov %r2, %r10
        add %r2, -16
        mov %r3, %r10
        add %r3, -8
        mov %r4, 0
        call 2
        jne %r0, 0, fail
        lddw %r1, {map:#x}
        mov %r2, %r10
        add %r2, -16
        call 1
        jeq %r0, 0, fail
        ldxdw %r1, [%r0+0]
        add %r1, 1
        stxdw [%r0+0], %r1
        mov %r0, %r1
        exit
        fail:
        mov %r0, 0xdead
        exit"
    )
}

/// Deletes `key`, returning the helper's result.
fn delete(map: u64, key: u64) -> String {
    format!(
        "lddw %r6, {key:#x}
        stxdw [%r10-8], %r6
        lddw %r1, {map:#x}
        mov %r2, %r10
        add %r2, -8
        call 3
        exit"
    )
}

/// Looks `key` up, returning the pointer (0 if absent).
fn lookup(map: u64, key: u64) -> String {
    format!(
        "lddw %r6, {key:#x}
        stxdw [%r10-8], %r6
        lddw %r1, {map:#x}
        mov %r2, %r10
        add %r2, -8
        call 1
        exit"
    )
}

#[test]
fn lookup_update_delete_on_every_value_bearing_type() {
    use MapType::*;
    let lpm_key = 32u64 | (u64::from(u32::from_le_bytes([10, 0, 0, 1])) << 32);
    for t in [
        Array,
        PercpuArray,
        Hash,
        PercpuHash,
        LruHash,
        LruPercpuHash,
        LpmTrie,
    ] {
        let (key_size, key, other) = match t {
            LpmTrie => (
                8,
                lpm_key,
                32u64 | (u64::from(u32::from_le_bytes([10, 0, 0, 2])) << 32),
            ),
            _ => (4, 1u64, 3u64),
        };
        let mut s = spec(t, key_size, 8, 2);
        if t == LpmTrie {
            s.flags = MapFlags::NO_PREALLOC;
        }
        let m = map(&s);
        let a = map_address(&m);
        let shared = shared(vec![m.clone()], vec![]);
        let mut env = env(&shared);
        let mut mem = [0u8; 8];
        assert_eq!(
            run(&program(&bump(a, key)), &mut env, &mut mem),
            Ok(43),
            "{t:?}"
        );
        // The write through the pointer reached the map (CPU 1's copy for
        // per-CPU maps).
        let v = m.lookup(&key.to_le_bytes()[..key_size as usize]).unwrap();
        let cpu1 = if t.is_per_cpu() { &v[8..16] } else { &v[..8] };
        assert_eq!(cpu1, 43u64.to_le_bytes(), "{t:?}");
        // A missing key: NULL (an array index past the end too).
        assert_eq!(
            run(&program(&lookup(a, other)), &mut env, &mut mem),
            Ok(0),
            "{t:?}"
        );
        let del = program(&delete(a, key));
        let expected = match t {
            Array | PercpuArray => [err(EINVAL), err(EINVAL)],
            _ => [0, err(ENOENT)],
        };
        for want in expected {
            assert_eq!(run(&del, &mut env, &mut mem), Ok(want), "{t:?}");
        }
        // Unchecked mode computes the same.
        if matches!(t, Hash | LruHash) {
            assert_eq!(
                run_unchecked(&program(&bump(a, key)), &mut env, &mut mem),
                43
            );
        }
    }
}

#[test]
fn granted_value_is_exactly_the_value() {
    let m = map(&spec(MapType::Array, 4, 8, 2));
    let a = map_address(&m);
    let shared = shared(vec![m.clone()], vec![]);
    let mut env = env(&shared);
    // Writing one byte past the 8-byte value is out of bounds.
    let src = lookup(a, 0).replace("exit", "stb [%r0+8], 1\nexit");
    let r = run(&program(&src), &mut env, &mut [0u8; 8]);
    assert!(matches!(r, Err(RunError::OutOfBounds { .. })), "{r:?}");
    // A read-only map's values are granted read-only.
    let mut s = spec(MapType::Array, 4, 8, 2);
    s.flags = MapFlags::RDONLY_PROG;
    let ro = map(&s);
    let shared = super::super::testutil::shared(vec![ro.clone()], vec![]);
    let mut env = super::super::testutil::env(&shared);
    let src =
        lookup(map_address(&ro), 0).replace("exit", "ldxdw %r1, [%r0+0]\nstb [%r0+0], 1\nexit");
    let r = run(&program(&src), &mut env, &mut [0u8; 8]);
    assert!(matches!(r, Err(RunError::OutOfBounds { .. })), "{r:?}");
}

#[test]
fn repeated_lookups_do_not_pile_up_regions() {
    // 1000 lookups of one element in a loop: runs fine and fast.
    let m = map(&spec(MapType::Hash, 4, 8, 4));
    m.update(&1u32.to_ne_bytes(), &5u64.to_ne_bytes(), 0, 0)
        .unwrap();
    let a = map_address(&m);
    let shared = shared(vec![m], vec![]);
    let mut env = env(&shared);
    let src = format!(
        "mov %r7, 0
        stw [%r10-4], 1
        again:
        lddw %r1, {a:#x}
        mov %r2, %r10
        add %r2, -4
        call 1
        ldxdw %r1, [%r0+0]
        add %r7, %r1
        add %r8, 1
        jlt %r8, 1000, again
        mov %r0, %r7
        exit"
    );
    assert_eq!(run(&program(&src), &mut env, &mut [0u8; 8]), Ok(5000));
}

#[test]
fn wrong_map_types_are_refused() {
    let q = map(&spec(MapType::Queue, 0, 8, 4));
    let shared = shared(vec![q.clone()], vec![]);
    let mut env = env(&shared);
    let r = run(
        &program(&lookup(map_address(&q), 0)),
        &mut env,
        &mut [0u8; 8],
    );
    assert!(
        matches!(r, Err(RunError::HelperFault { id: 1, .. })),
        "{r:?}"
    );
    // Not a map at all.
    let r = run(&program(&lookup(0x1234, 0)), &mut env, &mut [0u8; 8]);
    assert!(
        matches!(r, Err(RunError::HelperFault { id: 1, .. })),
        "{r:?}"
    );
}

/// Pushes `values` (8 bytes each) with `flags`, then pops/peeks as `ops`
/// says (`p` pop, `k` peek), storing each result and each value in `out`.
fn queue_ops(map: u64, pushes: &[(u64, u64)], ops: &str) -> String {
    let mut s = String::from("mov %r9, %r1\n");
    let mut slot = 0;
    for &(v, flags) in pushes {
        s += &format!(
            "lddw %r1, {v:#x}
            stxdw [%r10-8], %r1
            lddw %r1, {map:#x}
            mov %r2, %r10
            add %r2, -8
            mov %r3, {flags}
            call 87
            stxdw [%r9+{slot}], %r0\n"
        );
        slot += 8;
    }
    for op in ops.chars() {
        let id = if op == 'p' { 88 } else { 89 };
        s += &format!(
            "stdw [%r10-8], 0
            lddw %r1, {map:#x}
            mov %r2, %r10
            add %r2, -8
            call {id}
            stxdw [%r9+{slot}], %r0
            ldxdw %r1, [%r10-8]
            stxdw [%r9+{}], %r1\n",
            slot + 8
        );
        slot += 16;
    }
    s + "mov %r0, 0\nexit"
}

fn words(mem: &[u8]) -> Vec<u64> {
    mem.chunks(8)
        .map(|c| u64::from_le_bytes(c.try_into().unwrap()))
        .collect()
}

#[test]
fn queue_stack_and_bloom_filter() {
    let q = map(&spec(MapType::Queue, 0, 8, 2));
    let st = map(&spec(MapType::Stack, 0, 8, 2));
    let bloom = map(&spec(MapType::BloomFilter, 0, 8, 100));
    let shared = shared(vec![q.clone(), st.clone(), bloom.clone()], vec![]);
    let mut env = env(&shared);

    let mut mem = [0u8; 128];
    let src = queue_ops(
        map_address(&q),
        &[(1, 0), (2, 0), (3, 0), (3, BPF_EXIST)],
        "kppp",
    );
    run(&program(&src), &mut env, &mut mem).unwrap();
    let w = words(&mem);
    // Pushes: ok, ok, full, ok (dropping the oldest).
    assert_eq!(&w[..4], &[0, 0, err(E2BIG), 0]);
    // peek 2, pop 2, pop 3, pop: empty.
    assert_eq!(&w[4..12], &[0, 2, 0, 2, 0, 3, err(ENOENT), 0]);

    let mut mem = [0u8; 128];
    let src = queue_ops(map_address(&st), &[(1, 0), (2, 0)], "kpp");
    run(&program(&src), &mut env, &mut mem).unwrap();
    assert_eq!(&words(&mem)[..8], &[0, 0, 0, 2, 0, 2, 0, 1]);

    // Bloom filter: push 7; peek with the value tests membership.
    let b = map_address(&bloom);
    let member = |v: u64| {
        format!(
            "lddw %r1, {v:#x}
            stxdw [%r10-8], %r1
            lddw %r1, {b:#x}
            mov %r2, %r10
            add %r2, -8
            call 89
            exit"
        )
    };
    let push = format!(
        "stdw [%r10-8], 7
        lddw %r1, {b:#x}
        mov %r2, %r10
        add %r2, -8
        mov %r3, 0
        call 87
        exit"
    );
    assert_eq!(run(&program(&push), &mut env, &mut mem), Ok(0));
    assert_eq!(run(&program(&member(7)), &mut env, &mut mem), Ok(0));
    assert_eq!(
        run(&program(&member(8)), &mut env, &mut mem),
        Ok(err(ENOENT))
    );
    // Pop is not for bloom filters.
    let r = run(&program(&call(88, &[(1, b), (2, 0)])), &mut env, &mut mem);
    assert!(
        matches!(r, Err(RunError::HelperFault { id: 88, .. })),
        "{r:?}"
    );
}

/// `bpf_for_each_map_elem(map, cb, &ctx, flags)` with `cb` as given;
/// stores the result and the 8-byte context in `out`.
fn for_each(map: u64, flags: u64, callback: &str) -> String {
    format!(
        "mov %r9, %r1
        stdw [%r10-8], 0
        lddw %r1, {map:#x}
        lddw %r2, func cb
        mov %r3, %r10
        add %r3, -8
        lddw %r4, {flags:#x}
        call 164
        stxdw [%r9+0], %r0
        ldxdw %r1, [%r10-8]
        stxdw [%r9+8], %r1
        mov %r0, 0
        exit
        cb:
        {callback}"
    )
}

/// Callback: adds the value to the context, doubles the value in place,
/// checks the key is readable; returns 0.
const SUM_AND_DOUBLE: &str = "ldxw %r5, [%r2+0]
        ldxdw %r5, [%r3+0]
        ldxdw %r0, [%r4+0]
        add %r0, %r5
        stxdw [%r4+0], %r0
        lsh %r5, 1
        stxdw [%r3+0], %r5
        mov %r0, 0
        exit";

#[test]
fn for_each_map_elem_visits_counts_and_stops() {
    let h = map(&spec(MapType::Hash, 4, 8, 8));
    for k in 1..=5u32 {
        h.update(&k.to_ne_bytes(), &u64::from(k * 10).to_ne_bytes(), 0, 0)
            .unwrap();
    }
    let arr = map(&spec(MapType::PercpuArray, 4, 8, 3));
    let shared = shared(vec![h.clone(), arr.clone()], vec![]);
    let mut env = env(&shared);
    let mut mem = [0u8; 16];
    let ha = map_address(&h);
    run(
        &program(&for_each(ha, 0, SUM_AND_DOUBLE)),
        &mut env,
        &mut mem,
    )
    .unwrap();
    assert_eq!(words(&mem), [5, 150]);
    for k in 1..=5u32 {
        assert_eq!(
            h.lookup(&k.to_ne_bytes()).unwrap(),
            u64::from(k * 20).to_ne_bytes()
        );
    }
    // Returning 1 stops after the first element, which counts.
    run(
        &program(&for_each(ha, 0, "mov %r0, 1\nexit")),
        &mut env,
        &mut mem,
    )
    .unwrap();
    assert_eq!(words(&mem)[0], 1);
    // Arrays visit every index; flags must be 0.
    let aa = map_address(&arr);
    run(
        &program(&for_each(aa, 0, "mov %r0, 0\nexit")),
        &mut env,
        &mut mem,
    )
    .unwrap();
    assert_eq!(words(&mem)[0], 3);
    run(
        &program(&for_each(aa, 1, "mov %r0, 0\nexit")),
        &mut env,
        &mut mem,
    )
    .unwrap();
    assert_eq!(words(&mem)[0], err(EINVAL));
}

#[test]
fn for_each_lends_key_and_value_only_to_the_callback() {
    let h = map(&spec(MapType::Hash, 4, 8, 8));
    h.update(&1u32.to_ne_bytes(), &7u64.to_ne_bytes(), 0, 0)
        .unwrap();
    let shared = shared(vec![h.clone()], vec![]);
    let mut env = env(&shared);
    let ha = map_address(&h);
    // The key is read-only.
    let r = run(
        &program(&for_each(ha, 0, "stw [%r2+0], 9\nmov %r0, 0\nexit")),
        &mut env,
        &mut [0u8; 16],
    );
    assert!(
        matches!(r, Err(RunError::HelperFault { id: 164, .. })),
        "{r:?}"
    );
    // The value pointer, saved in the context, is no longer usable after
    // the helper returns.
    let src = for_each(ha, 0, "stxdw [%r4+0], %r3\nmov %r0, 0\nexit").replace(
        "mov %r0, 0\n        exit\n        cb:",
        "ldxdw %r2, [%r10-8]\nldxdw %r0, [%r2+0]\nexit\ncb:",
    );
    let r = run(&program(&src), &mut env, &mut [0u8; 16]);
    assert!(matches!(r, Err(RunError::OutOfBounds { .. })), "{r:?}");
}
