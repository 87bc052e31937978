use super::super::testutil::*;
use super::{addr, call};
use waggle_maps::{
    map_address, MapType, PerfEventArray, RingBuf, BPF_F_CURRENT_CPU, BPF_RB_AVAIL_DATA,
};
use waggle_vm::RunError;

const EINVAL: i64 = 22;
const E2BIG: i64 = 7;

/// `bpf_trace_printk(mem, fmt_size, args...)` with the format at the start
/// of the run's memory.
fn printk(mem: &mut [u8], fmt_size: u64, args: [u64; 3]) -> (u64, Vec<String>) {
    let shared = shared(vec![], vec![]);
    let mut env = env(&shared);
    let src = call(
        6,
        &[(2, fmt_size), (3, args[0]), (4, args[1]), (5, args[2])],
    );
    let r0 = run(&program(&src), &mut env, mem).unwrap();
    (r0, env.trace.clone())
}

fn printk_str(fmt: &str, args: [u64; 3]) -> (u64, Vec<String>) {
    let mut mem = format!("{fmt}\0").into_bytes();
    let n = mem.len() as u64;
    printk(&mut mem, n, args)
}

#[test]
fn trace_printk_formats_each_specifier() {
    let s = b"str\0";
    let cases: &[(&str, [u64; 3], &str)] = &[
        ("%d %i %u", [-3i64 as u64, 4, u64::MAX], "-3 4 4294967295"),
        ("%x %X", [255, 255, 0], "ff FF"),
        (
            "%ld %li %lu",
            [-3i64 as u64, 5, u64::MAX],
            "-3 5 18446744073709551615",
        ),
        (
            "%lx %lld %lli",
            [1 << 40, i64::MIN as u64, 1],
            "10000000000 -9223372036854775808 1",
        ),
        (
            "%llu %llx",
            [u64::MAX, 0xabc, 0],
            "18446744073709551615 abc",
        ),
        ("%p", [0x1000, 0, 0], "0000000000001000"),
        ("<%s> %c%%", [addr(s), b'!' as u64, 0], "<str> !%"),
        ("[%5d|%-3u]", [42, 7, 0], "[   42|7  ]"),
        ("no args\n", [0, 0, 0], "no args\n"),
    ];
    for &(fmt, args, want) in cases {
        let (r0, trace) = printk_str(fmt, args);
        assert_eq!(trace, [want], "{fmt}");
        assert_eq!(r0, want.len() as u64, "{fmt}");
    }
}

#[test]
fn trace_printk_errors() {
    for (fmt, args) in [
        ("%d %d %d %d", [1, 2, 3]),
        ("%q", [0; 3]),
        ("%.3d", [0; 3]),
        ("%sabc", [0; 3]),
    ] {
        let (r0, trace) = printk_str(fmt, args);
        assert_eq!(r0, err(EINVAL), "{fmt}");
        assert!(trace.is_empty());
    }
    // No NUL inside fmt_size.
    let mut mem = *b"abc\0";
    let (r0, trace) = printk(&mut mem, 3, [0; 3]);
    assert_eq!((r0, trace.len()), (err(EINVAL), 0));
    // The size is checked against the program's memory.
    let shared = shared(vec![], vec![]);
    let mut env = env(&shared);
    let r = run(&program(&call(6, &[(2, 64)])), &mut env, &mut [0u8; 8]);
    assert!(
        matches!(r, Err(RunError::HelperFault { id: 6, .. })),
        "{r:?}"
    );
}

#[test]
fn trace_printk_cuts_long_lines_but_returns_the_full_length() {
    let (r0, trace) = printk_str("%1500d", [1, 0, 0]);
    assert_eq!(r0, 1500);
    assert_eq!(trace[0].len(), 1023);
}

#[test]
fn trace_vprintk_takes_an_array() {
    let mut mem = [0u8; 64];
    mem[..10].copy_from_slice(b"%d-%d-%d!\0");
    for (i, v) in [1u64, 2, 3].iter().enumerate() {
        mem[16 + 8 * i..24 + 8 * i].copy_from_slice(&v.to_ne_bytes());
    }
    let base = addr(&mem[..]);
    let shared = shared(vec![], vec![]);
    let mut env = env(&shared);
    let prog = program(&call(177, &[(2, 10), (3, base + 16), (4, 24)]));
    assert_eq!(run(&prog, &mut env, &mut mem), Ok(6));
    assert_eq!(env.trace, ["1-2-3!"]);
    let bad = program(&call(177, &[(2, 10), (3, base + 16), (4, 12)]));
    assert_eq!(run(&bad, &mut env, &mut mem), Ok(err(EINVAL)));
}

/// `bpf_snprintf(out, size, fmt, data, data_len)` in the run's memory:
/// [0..32) format, [32..64) output, [64..) data.
fn snprintf(fmt: &str, size: u64, data: &[u64]) -> (u64, [u8; 32]) {
    let mut mem = [0xaau8; 192];
    mem[..fmt.len()].copy_from_slice(fmt.as_bytes());
    mem[fmt.len()] = 0;
    for (i, v) in data.iter().enumerate() {
        mem[64 + 8 * i..72 + 8 * i].copy_from_slice(&v.to_ne_bytes());
    }
    let base = addr(&mem[..]);
    let shared = shared(vec![], vec![]);
    let mut env = env(&shared);
    let src = call(
        165,
        &[
            (1, base + 32),
            (2, size),
            (3, base),
            (4, base + 64),
            (5, 8 * data.len() as u64),
        ],
    );
    let r0 = run(&program(&src), &mut env, &mut mem).unwrap();
    let mut out = [0u8; 32];
    out.copy_from_slice(&mem[32..64]);
    (r0, out)
}

#[test]
fn snprintf_truncates_and_returns_the_needed_size() {
    let (r0, out) = snprintf("hello %d", 32, &[42]);
    assert_eq!(r0, 9);
    assert_eq!(&out[..10], b"hello 42\0\xaa");
    let (r0, out) = snprintf("hello %d", 5, &[42]);
    assert_eq!(r0, 9);
    assert_eq!(&out[..6], b"hell\0\xaa");
    // Size 0 writes nothing.
    let (r0, out) = snprintf("%d", 0, &[12345]);
    assert_eq!(r0, 6);
    assert_eq!(out[0], 0xaa);
    // Bad data length or format.
    assert_eq!(snprintf("%d", 32, &[]).0, err(EINVAL));
    assert_eq!(snprintf("%y", 32, &[1]).0, err(EINVAL));
    assert_eq!(snprintf("%d", 32, &[0; 13]).0, err(EINVAL));
}

#[test]
fn ring_buffer_reserve_submit_discard_output_query() {
    let rb = map(&spec(MapType::RingBuf, 0, 0, 4096));
    let ra = map_address(&rb);
    let shared = shared(vec![rb.clone()], vec![]);
    let mut env = env(&shared);
    let src = format!(
        "mov %r9, %r1
        lddw %r1, {ra:#x}
        mov %r2, 16
        mov %r3, 0
        call 131
        jeq %r0, 0, fail
        lddw %r1, 0x1122334455667788
        stxdw [%r0+0], %r1
        stxdw [%r0+8], %r1
        mov %r1, %r0
        mov %r2, 0
        call 132
        lddw %r1, {ra:#x}
        mov %r2, 8
        mov %r3, 0
        call 131
        jeq %r0, 0, fail
        mov %r1, %r0
        mov %r2, 0
        call 133
        stw [%r10-4], 0x64636261
        lddw %r1, {ra:#x}
        mov %r2, %r10
        add %r2, -4
        mov %r3, 4
        mov %r4, 0
        call 130
        jne %r0, 0, fail
        lddw %r1, {ra:#x}
        mov %r2, {BPF_RB_AVAIL_DATA}
        call 134
        exit
        fail:
        mov %r0, 0xdead
        exit"
    );
    // Header (8) + 16, header + 8 (discarded), header + 4 rounded to 8.
    assert_eq!(
        run(&program(&src), &mut env, &mut [0u8; 8]),
        Ok(24 + 16 + 16)
    );
    let ring = rb.as_any().downcast_ref::<RingBuf>().unwrap();
    let records = ring.drain();
    assert_eq!(records.len(), 2);
    assert_eq!(
        records[0],
        [0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11].repeat(2)
    );
    assert_eq!(records[1], b"abcd");
    // Flags must be 0 to reserve.
    assert_eq!(
        run(
            &program(&call(131, &[(1, ra), (2, 8), (3, 1)])),
            &mut env,
            &mut [0u8; 8]
        ),
        Ok(0)
    );
}

#[test]
fn ring_buffer_records_are_lent_until_submitted() {
    let rb = map(&spec(MapType::RingBuf, 0, 0, 4096));
    let ra = map_address(&rb);
    let shared = shared(vec![rb.clone()], vec![]);
    let mut env = env(&shared);
    // Writing a record after submitting it is out of bounds.
    let src = format!(
        "lddw %r1, {ra:#x}
        mov %r2, 8
        mov %r3, 0
        call 131
        mov %r6, %r0
        mov %r1, %r0
        mov %r2, 0
        call 132
        stdw [%r6+0], 1
        exit"
    );
    let r = run(&program(&src), &mut env, &mut [0u8; 8]);
    assert!(matches!(r, Err(RunError::OutOfBounds { .. })), "{r:?}");
    // Submitting something that is not a reserved record is refused.
    let r = run(&program(&call(132, &[(2, 0)])), &mut env, &mut [0u8; 8]);
    assert!(
        matches!(r, Err(RunError::HelperFault { id: 132, .. })),
        "{r:?}"
    );
    // A record left reserved is discarded when the run ends, so the ring
    // keeps flowing.
    let leak = format!(
        "lddw %r1, {ra:#x}
        mov %r2, 8
        mov %r3, 0
        call 131
        mov %r0, 0
        exit"
    );
    let ring = rb.as_any().downcast_ref::<RingBuf>().unwrap();
    ring.drain();
    assert_eq!(run(&program(&leak), &mut env, &mut [0u8; 8]), Ok(0));
    let out = format!(
        "stw [%r10-4], 7
        lddw %r1, {ra:#x}
        mov %r2, %r10
        add %r2, -4
        mov %r3, 4
        mov %r4, 0
        call 130
        exit"
    );
    assert_eq!(run(&program(&out), &mut env, &mut [0u8; 8]), Ok(0));
    assert_eq!(ring.drain(), [7u32.to_ne_bytes().to_vec()]);
}

#[test]
fn perf_event_output_by_cpu_and_index() {
    let perf = map(&spec(MapType::PerfEventArray, 4, 4, CPUS));
    let pa = map_address(&perf);
    let shared = shared(vec![perf.clone()], vec![]);
    let mut env = env(&shared);
    let mut mem = *b"event!!!";
    let base = addr(&mem[..]);
    let out = |flags: u64| call(25, &[(2, pa), (3, flags), (4, base), (5, 6)]);
    assert_eq!(
        run(&program(&out(BPF_F_CURRENT_CPU)), &mut env, &mut mem),
        Ok(0)
    );
    assert_eq!(run(&program(&out(2)), &mut env, &mut mem), Ok(0));
    assert_eq!(run(&program(&out(9)), &mut env, &mut mem), Ok(err(E2BIG)));
    assert_eq!(
        run(&program(&out(1 << 40)), &mut env, &mut mem),
        Ok(err(EINVAL))
    );
    let events = perf
        .as_any()
        .downcast_ref::<PerfEventArray>()
        .unwrap()
        .drain();
    assert_eq!(events, [(1, b"event!".to_vec()), (2, b"event!".to_vec())]);
}
