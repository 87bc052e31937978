//! Ring buffer maps.

mod common;
use common::*;
use std::ptr::NonNull;
use std::sync::Arc;
use std::time::Duration;
use waggle_maps::{
    Map, MapType, RingBuf, BPF_ANY, BPF_RB_AVAIL_DATA, BPF_RB_CONS_POS, BPF_RB_FORCE_WAKEUP,
    BPF_RB_NO_WAKEUP, BPF_RB_PROD_POS, BPF_RB_RING_SIZE,
};

fn ring(size: u32) -> Arc<dyn Map> {
    make(&spec(MapType::RingBuf, 0, 0, size))
}

fn rb(m: &Arc<dyn Map>) -> &RingBuf {
    concrete::<RingBuf>(m)
}

/// Fills a reserved record.
fn fill(p: NonNull<u8>, data: &[u8]) {
    // SAFETY: `p` was reserved with at least `data.len()` bytes.
    unsafe { std::ptr::copy_nonoverlapping(data.as_ptr(), p.as_ptr(), data.len()) };
}

#[test]
fn reserve_submit_consume() {
    let m = ring(4096);
    let r = rb(&m);
    assert_eq!(r.query(BPF_RB_RING_SIZE), 4096);
    assert_eq!(r.query(BPF_RB_AVAIL_DATA), 0);
    let p = r.reserve(10, 0).unwrap();
    assert_eq!(p.as_ptr() as usize % 8, 0, "records are 8-byte aligned");
    fill(p, b"0123456789");
    // 8-byte header + 10 bytes, rounded up to 8: 24 bytes.
    assert_eq!(r.query(BPF_RB_PROD_POS), 24);
    assert_eq!(r.query(BPF_RB_AVAIL_DATA), 24);
    assert!(r.drain().is_empty(), "not submitted yet");
    r.submit(p, 0);
    r.output(b"abc", 0).unwrap();
    // 8 + 3 rounds up to 16.
    assert_eq!(r.query(BPF_RB_PROD_POS), 40);
    assert_eq!(r.drain(), [b"0123456789".to_vec(), b"abc".to_vec()]);
    assert_eq!(r.query(BPF_RB_CONS_POS), 40);
    assert_eq!(r.query(BPF_RB_AVAIL_DATA), 0);
    assert_eq!(r.query(99), 0, "unknown selector");
    // Zero-length records exist too.
    r.output(&[], 0).unwrap();
    assert_eq!(r.drain(), [Vec::<u8>::new()]);
}

#[test]
fn discarded_records_are_skipped_and_free_space() {
    let m = ring(4096);
    let r = rb(&m);
    let a = r.reserve(100, 0).unwrap();
    let b = r.reserve(100, 0).unwrap();
    let c = r.reserve(100, 0).unwrap();
    fill(a, &[1; 100]);
    fill(c, &[3; 100]);
    r.submit(a, 0);
    r.discard(b, 0);
    r.submit(c, BPF_RB_NO_WAKEUP);
    let mut seen = Vec::new();
    assert_eq!(r.consume(|rec| seen.push(rec.to_vec())), 2);
    assert_eq!(seen, [vec![1; 100], vec![3; 100]]);
    assert_eq!(
        r.query(BPF_RB_AVAIL_DATA),
        0,
        "discarded space is consumed too"
    );
    // Submitting twice, or a pointer that is not a record, changes nothing.
    r.submit(a, 0);
    let mut local = 0u64;
    r.submit(NonNull::from(&mut local).cast(), 0);
    r.discard(NonNull::dangling(), 0);
    assert!(r.drain().is_empty());
}

#[test]
fn reserved_records_block_the_consumer_in_order() {
    let m = ring(4096);
    let r = rb(&m);
    let a = r.reserve(8, 0).unwrap();
    let b = r.reserve(8, 0).unwrap();
    fill(a, b"first...");
    fill(b, b"second..");
    r.submit(b, 0);
    // `a` is still reserved: nothing can be consumed past it.
    assert!(r.drain().is_empty());
    assert_eq!(r.query(BPF_RB_CONS_POS), 0);
    r.submit(a, 0);
    assert_eq!(r.drain(), [b"first...".to_vec(), b"second..".to_vec()]);
}

#[test]
fn space_is_accounted_like_linux() {
    let m = ring(4096);
    let r = rb(&m);
    // Records of 8 data bytes take 16: the producer may be at most
    // size - 1 = 4095 bytes ahead, so 255 fit (4080) and the 256th does not.
    for i in 0..255u64 {
        r.output(&k64(i), 0).unwrap();
    }
    assert_eq!(errno(r.output(&k64(255), 0)), EAGAIN);
    assert!(r.reserve(8, 0).is_none());
    assert!(r.reserve(0, 0).is_some_and(|p| {
        // 8 bytes left: a bare header fits.
        r.discard(p, 0);
        true
    }));
    let got = r.drain();
    assert_eq!(got.len(), 255);
    assert!(got.iter().enumerate().all(|(i, v)| v == &k64(i as u64)));
    // The largest record: header + data rounded to 8 must stay below 4096.
    assert!(r.reserve(4096 - 8, 0).is_none());
    let big = r.reserve(4080, 0).unwrap();
    r.discard(big, 0);
    // A discarded record holds its space until the consumer passes it.
    assert_eq!(errno(r.output(b"x", 0)), EAGAIN);
    assert!(r.drain().is_empty());
    assert!(r.reserve(1 << 40, 0).is_none());
    // Reserve takes no flags; output only the wakeup flags.
    assert!(r.reserve(8, 1).is_none());
    assert_eq!(errno(r.output(b"x", 4)), EINVAL);
    r.output(b"x", BPF_RB_FORCE_WAKEUP | BPF_RB_NO_WAKEUP)
        .unwrap();
    r.drain();
    // An unsubmitted record holds its space until submitted.
    let hold = r.reserve(2000, 0).unwrap();
    assert!(r.reserve(2100, 0).is_none());
    r.submit(hold, 0);
    assert!(r.reserve(2100, 0).is_none(), "not consumed yet");
    assert_eq!(r.drain().len(), 1);
    assert!(r.reserve(2100, 0).is_some());
}

#[test]
fn records_wrap_around_the_end_intact() {
    let m = ring(4096);
    let r = rb(&m);
    let mut crossed = 0;
    for i in 0..200u32 {
        // Sizes that do not divide the ring, so records straddle its end.
        let len = 300 + (i as usize * 37) % 700;
        let data: Vec<u8> = (0..len).map(|j| (i as usize * 31 + j) as u8).collect();
        let before = r.query(BPF_RB_PROD_POS) % 4096;
        let p = r.reserve(len as u64, 0).unwrap();
        if before + 8 + len as u64 > 4096 {
            crossed += 1;
        }
        fill(p, &data);
        r.submit(p, 0);
        assert_eq!(r.drain(), [data]);
    }
    assert!(crossed > 10, "records crossed the end {crossed} times");
    assert!(
        r.query(BPF_RB_CONS_POS) > 20 * 4096,
        "positions kept growing"
    );
}

#[test]
fn map_operations_are_not_supported() {
    let m = ring(4096);
    assert_eq!(m.lookup_ptr(&[], 0), None);
    assert_eq!(errno(m.lookup(&[])), EOPNOTSUPP);
    assert_eq!(errno(m.update(&[], &[], BPF_ANY, 0)), EOPNOTSUPP);
    assert_eq!(errno(m.update_all(&[], &[], BPF_ANY)), EOPNOTSUPP);
    assert_eq!(errno(m.delete(&[])), EOPNOTSUPP);
    assert_eq!(errno(m.next_key(None)), EOPNOTSUPP);
    assert_eq!(errno(m.push(&[1], BPF_ANY)), EOPNOTSUPP);
}

#[test]
fn wait_wakes_on_submit() {
    let m = ring(4096);
    let r = rb(&m);
    assert!(!r.wait(Duration::from_millis(10)), "nothing to wait for");
    std::thread::scope(|s| {
        s.spawn(|| {
            std::thread::sleep(Duration::from_millis(20));
            r.output(b"wake", 0).unwrap();
        });
        assert!(r.wait(Duration::from_secs(10)));
    });
    assert_eq!(r.drain(), [b"wake".to_vec()]);
}

#[test]
fn concurrent_producers_and_consumer() {
    const PER_PRODUCER: u32 = 4000;
    const PRODUCERS: u32 = 2;
    let m = ring(4096);
    let r = rb(&m);
    std::thread::scope(|s| {
        for p in 0..PRODUCERS {
            s.spawn(move || {
                for seq in 0..PER_PRODUCER {
                    // Variable sizes, content derived from (producer, seq).
                    let len = 8 + (seq as usize % 5) * 8 + p as usize;
                    let mut rec = vec![(seq % 251) as u8; len];
                    rec[..4].copy_from_slice(&p.to_ne_bytes());
                    rec[4..8].copy_from_slice(&seq.to_ne_bytes());
                    loop {
                        if seq % 2 == 0 {
                            match r.output(&rec, 0) {
                                Ok(()) => break,
                                Err(e) => assert_eq!(e.errno(), EAGAIN),
                            }
                        } else if let Some(ptr) = r.reserve(len as u64, 0) {
                            fill(ptr, &rec);
                            r.submit(ptr, 0);
                            break;
                        }
                        std::thread::yield_now();
                    }
                }
            });
        }
        let mut next = [0u32; PRODUCERS as usize];
        let total = PER_PRODUCER * PRODUCERS;
        let mut got = 0;
        while got < total {
            r.wait(Duration::from_millis(100));
            got += r.consume(|rec| {
                let p = u32_at(rec, 0);
                let seq = u32_at(rec, 4);
                assert_eq!(seq, next[p as usize], "producer {p} out of order");
                next[p as usize] += 1;
                assert_eq!(rec.len(), 8 + (seq as usize % 5) * 8 + p as usize);
                assert!(rec[8..].iter().all(|&b| b == (seq % 251) as u8));
            }) as u32;
        }
        assert_eq!(next, [PER_PRODUCER; PRODUCERS as usize]);
    });
    assert_eq!(r.query(BPF_RB_AVAIL_DATA), 0);
}
