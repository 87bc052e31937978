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
