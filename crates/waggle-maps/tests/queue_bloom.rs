//! Queue, stack and bloom filter maps.

mod common;
use common::*;
use waggle_maps::{
    BloomFilter, MapFlags, MapType, QueueStack, BPF_ANY, BPF_EXIST, BPF_F_LOCK, BPF_NOEXIST,
};

fn pops(m: &std::sync::Arc<dyn waggle_maps::Map>) -> Vec<u32> {
    std::iter::from_fn(|| m.pop().ok().map(|v| u32_at(&v, 0))).collect()
}

#[test]
fn queue_is_fifo() {
    let m = make(&spec(MapType::Queue, 0, 4, 3));
    assert_eq!(errno(m.pop()), ENOENT);
    assert_eq!(errno(m.peek(None)), ENOENT);
    for i in 1..=3 {
        m.push(&k32(i), BPF_ANY).unwrap();
    }
    assert_eq!(concrete::<QueueStack>(&m).len(), 3);
    assert_eq!(m.peek(None).unwrap(), k32(1));
    assert_eq!(m.peek(None).unwrap(), k32(1), "peek does not remove");
    // Full: E2BIG, unless BPF_EXIST makes room by dropping the oldest.
    assert_eq!(errno(m.push(&k32(4), BPF_ANY)), E2BIG);
    m.push(&k32(4), BPF_EXIST).unwrap();
    assert_eq!(pops(&m), [2, 3, 4]);
    assert_eq!(errno(m.pop()), ENOENT);
    // Wrapping around the ring many times keeps the order (checked
    // against a model, for both map kinds).
    for t in [MapType::Queue, MapType::Stack] {
        let m = make(&spec(t, 0, 4, 3));
        let mut model = std::collections::VecDeque::new();
        for i in 0..200u32 {
            let op = i.wrapping_mul(2_654_435_761) >> 29;
            if op < 4 {
                let r = m.push(&k32(i), if op == 0 { BPF_EXIST } else { BPF_ANY });
                if model.len() == 3 && op != 0 {
                    assert_eq!(errno(r), E2BIG);
                } else {
                    r.unwrap();
                    if model.len() == 3 {
                        model.pop_front();
                    }
                    model.push_back(i);
                }
            } else {
                let want = if t == MapType::Queue {
                    model.pop_front()
                } else {
                    model.pop_back()
                };
                assert_eq!(m.pop().ok().map(|v| u32_at(&v, 0)), want);
            }
        }
    }
}

#[test]
fn stack_is_lifo_and_bpf_exist_drops_the_bottom() {
    let m = make(&spec(MapType::Stack, 0, 4, 3));
    for i in 1..=3 {
        m.push(&k32(i), BPF_ANY).unwrap();
    }
    assert_eq!(m.peek(None).unwrap(), k32(3));
    assert_eq!(errno(m.push(&k32(4), BPF_ANY)), E2BIG);
    // Linux makes room by dropping the oldest element, for stacks too.
    m.push(&k32(4), BPF_EXIST).unwrap();
    assert_eq!(pops(&m), [4, 3, 2]);
    assert_eq!(errno(m.pop()), ENOENT);
    m.push(&k32(7), BPF_ANY).unwrap();
    m.push(&k32(8), BPF_ANY).unwrap();
    assert_eq!(m.pop().unwrap(), k32(8));
    m.push(&k32(9), BPF_ANY).unwrap();
    assert_eq!(pops(&m), [9, 7]);
}

#[test]
fn queue_and_stack_key_operations() {
    for t in [MapType::Queue, MapType::Stack] {
        let m = make(&spec(t, 0, 4, 2));
        assert_eq!(errno(m.push(&k32(1), BPF_NOEXIST)), EINVAL);
        assert_eq!(errno(m.push(&k32(1), BPF_F_LOCK)), EINVAL);
        assert_eq!(errno(m.push(&k64(1), BPF_ANY)), EINVAL);
        assert_eq!(errno(m.update(&[], &k32(1), BPF_ANY, 0)), EINVAL);
        assert_eq!(errno(m.delete(&[])), EINVAL);
        assert_eq!(errno(m.next_key(None)), EINVAL);
        assert_eq!(m.lookup_ptr(&[], 0), None);
        // The bpf() syscall's update and lookup are push and peek.
        m.update_all(&[], &k32(5), BPF_ANY).unwrap();
        assert_eq!(m.lookup(&[]).unwrap(), k32(5));
        assert_eq!(m.pop().unwrap(), k32(5));
        assert_eq!(errno(m.lookup(&[])), ENOENT);
        assert_eq!(errno(m.update_all(&[1], &k32(5), BPF_ANY)), EINVAL);
    }
}

/// A value no other test value equals: `i` spread over 16 bytes.
fn val(i: u64) -> Vec<u8> {
    let mut v = i.to_le_bytes().to_vec();
    v.extend_from_slice(&(i.wrapping_mul(0x9e37_79b9_7f4a_7c15)).to_le_bytes());
    v
}

#[test]
fn bloom_has_no_false_negatives_and_few_false_positives() {
    let m = make(&spec(MapType::BloomFilter, 0, 16, 1000));
    let b = concrete::<BloomFilter>(&m);
    assert_eq!(b.hash_functions(), 5, "map_extra 0 means 5 hashes");
    // Linux sizing: 1000 * 5 * 7 / 5 = 7000 bits, rounded up to 8192.
    assert_eq!(b.bit_count(), 8192);
    assert_eq!(errno(m.peek(Some(&val(1)))), ENOENT, "empty filter");
    for i in 0..1000 {
        m.push(&val(i), BPF_ANY).unwrap();
    }
    for i in 0..1000 {
        assert_eq!(
            m.peek(Some(&val(i))).unwrap(),
            Vec::<u8>::new(),
            "value {i}"
        );
    }
    let trials = 20_000u64;
    let fp = (1_000_000..1_000_000 + trials)
        .filter(|&i| m.peek(Some(&val(i))).is_ok())
        .count() as f64
        / trials as f64;
    // Theory: (1 - e^(-k n / m))^k = (1 - e^(-5000/8192))^5 ~ 2%.
    let theory = (1.0 - (-5000.0f64 / 8192.0).exp()).powi(5);
    assert!(
        fp < 2.0 * theory + 0.005,
        "false positive rate {fp} vs {theory}"
    );
    assert!(
        fp > theory / 4.0,
        "suspiciously few false positives: {fp} vs {theory}"
    );
}

#[test]
fn bloom_hash_count_and_operations() {
    let mut s = spec(MapType::BloomFilter, 0, 4, 100);
    s.map_extra = 1;
    let m = make(&s);
    assert_eq!(concrete::<BloomFilter>(&m).hash_functions(), 1);
    m.push(&k32(42), BPF_ANY).unwrap();
    m.update_all(&[], &k32(43), BPF_ANY).unwrap();
    assert!(m.peek(Some(&k32(42))).is_ok());
    assert!(m.peek(Some(&k32(43))).is_ok());
    assert_eq!(errno(m.push(&k32(1), BPF_EXIST)), EINVAL);
    assert_eq!(errno(m.push(&k32(1), BPF_NOEXIST)), EINVAL);
    assert_eq!(errno(m.push(&k64(1), BPF_ANY)), EINVAL);
    assert_eq!(errno(m.peek(None)), EINVAL);
    assert_eq!(errno(m.peek(Some(&k64(1)))), EINVAL);
    assert_eq!(errno(m.pop()), EOPNOTSUPP);
    assert_eq!(errno(m.delete(&[])), EOPNOTSUPP);
    assert_eq!(errno(m.next_key(None)), EOPNOTSUPP);
    assert_eq!(errno(m.lookup(&[])), EINVAL);
    assert_eq!(errno(m.update(&[], &k32(1), BPF_ANY, 0)), EINVAL);
    assert_eq!(m.lookup_ptr(&[], 0), None);
    // Zero-seed filters are deterministic across instances.
    let z = with_flags(spec(MapType::BloomFilter, 0, 4, 100), MapFlags::ZERO_SEED);
    let (a, b) = (make(&z), make(&z));
    for i in 0..50 {
        a.push(&k32(i), BPF_ANY).unwrap();
        b.push(&k32(i), BPF_ANY).unwrap();
    }
    for i in 0..2000 {
        assert_eq!(a.peek(Some(&k32(i))).is_ok(), b.peek(Some(&k32(i))).is_ok());
    }
}
