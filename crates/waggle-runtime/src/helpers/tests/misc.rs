use super::super::testutil::*;
use super::{addr, call};

const EINVAL: i64 = 22;
const EFAULT: i64 = 14;
const ERANGE: i64 = 34;

/// Runs helper `id` with `regs` on `mem`; returns `r0`.
fn run_call(id: u32, regs: &[(u8, u64)], mem: &mut [u8]) -> u64 {
    let shared = shared(vec![], vec![]);
    let mut env = env(&shared);
    run(&program(&call(id, regs)), &mut env, mem).unwrap()
}

#[test]
fn probe_read_valid_and_unmapped() {
    let src = *b"0123456789\0xyz";
    for id in [4, 112, 113] {
        let mut mem = [0xffu8; 8];
        assert_eq!(run_call(id, &[(2, 8), (3, addr(&src))], &mut mem), 0);
        assert_eq!(&mem, b"01234567");
        assert_eq!(run_call(id, &[(2, 8), (3, 0x10)], &mut mem), err(EFAULT));
        assert_eq!(mem, [0; 8]);
        assert_eq!(run_call(id, &[(2, 0), (3, 0x10)], &mut mem), 0);
    }
}

#[test]
fn probe_read_str_variants() {
    let src = *b"hello\0world";
    for id in [45, 114, 115] {
        let mut mem = [0xffu8; 16];
        assert_eq!(run_call(id, &[(2, 16), (3, addr(&src))], &mut mem), 6);
        assert_eq!(&mem[..7], b"hello\0\xff");
        // Truncated to size - 1 bytes and a NUL; the length includes it.
        assert_eq!(run_call(id, &[(2, 4), (3, addr(&src))], &mut mem), 4);
        assert_eq!(&mem[..4], b"hel\0");
        assert_eq!(run_call(id, &[(2, 16), (3, 0x10)], &mut mem), err(EFAULT));
        assert_eq!(mem, [0; 16]);
        assert_eq!(run_call(id, &[(2, 0), (3, addr(&src))], &mut mem), 0);
    }
}

#[test]
fn probe_read_checks_the_destination() {
    let src = [1u8; 64];
    let shared = shared(vec![], vec![]);
    let mut env = env(&shared);
    let r = run(
        &program(&call(4, &[(2, 64), (3, addr(&src))])),
        &mut env,
        &mut [0u8; 8],
    );
    assert!(r.is_err(), "{r:?}");
}

/// `bpf_strncmp(s1, n, s2)`, both strings in the run's memory.
fn strncmp(s1: &[u8], n: u64, s2: &[u8]) -> i64 {
    let mut mem = s2.to_vec();
    mem.extend_from_slice(s1);
    let s1_addr = addr(&mem[..]) + s2.len() as u64;
    let s2_addr = addr(&mem[..]);
    run_call(182, &[(1, s1_addr), (2, n), (3, s2_addr)], &mut mem) as i64
}

#[test]
fn strncmp_as_linux() {
    let s2 = b"abc\0";
    assert_eq!(strncmp(b"abc", 3, s2), 0);
    assert_eq!(strncmp(b"abd", 3, s2), 1);
    assert_eq!(strncmp(b"abb", 3, s2), -1);
    assert_eq!(strncmp(b"abcd", 4, s2), 1); // 'd' against the NUL
    assert_eq!(strncmp(b"ab\0x", 4, s2), -1);
    assert_eq!(strncmp(b"abx", 2, s2), 0);
    assert_eq!(strncmp(b"\xff", 1, b"a\0"), 1); // unsigned bytes
    assert_eq!(strncmp(b"abc\0zz", 6, s2), 0);
}

/// `bpf_strtol`/`bpf_strtoul(buf, len, flags, res)`: (r0, *res).
fn strto(id: u32, s: &str, flags: u64) -> (i64, i64) {
    let mut mem = vec![0xffu8; 8 + s.len()];
    mem[8..].copy_from_slice(s.as_bytes());
    let base = addr(&mem[..]);
    let r0 = run_call(
        id,
        &[(1, base + 8), (2, s.len() as u64), (3, flags), (4, base)],
        &mut mem,
    );
    (r0 as i64, i64::from_ne_bytes(mem[..8].try_into().unwrap()))
}

#[test]
fn strtol_and_strtoul_edge_cases() {
    const STRTOL: u32 = 105;
    const STRTOUL: u32 = 106;
    assert_eq!(strto(STRTOL, "  -123abc", 10), (6, -123));
    assert_eq!(strto(STRTOL, "0x1F", 0), (4, 31));
    assert_eq!(strto(STRTOL, "0777", 0), (4, 511));
    assert_eq!(strto(STRTOL, "ff", 16), (2, 255));
    assert_eq!(strto(STRTOL, "9223372036854775807", 10), (19, i64::MAX));
    assert_eq!(strto(STRTOL, "-9223372036854775808", 10), (20, i64::MIN));
    assert_eq!(strto(STRTOL, "9223372036854775808", 10), (-ERANGE, 0));
    assert_eq!(strto(STRTOL, "-9223372036854775809", 10), (-ERANGE, 0));
    assert_eq!(strto(STRTOL, "abc", 10), (-EINVAL, 0));
    assert_eq!(strto(STRTOL, "12", 7), (-EINVAL, 0));
    assert_eq!(strto(STRTOUL, "18446744073709551615", 10), (20, -1));
    assert_eq!(strto(STRTOUL, "18446744073709551616", 10), (-ERANGE, 0));
    assert_eq!(strto(STRTOUL, "-1", 10), (-EINVAL, 0));
    assert_eq!(strto(STRTOUL, " 42 ", 0), (3, 42));
}

#[test]
fn thread_identity_and_cpu() {
    let mut mem = [0u8; 8];
    // SAFETY: no preconditions.
    let (pid, tid) = unsafe { (libc::getpid() as u64, libc::gettid() as u64) };
    assert_eq!(run_call(14, &[], &mut mem), pid << 32 | tid);
    // SAFETY: no preconditions.
    let (uid, gid) = unsafe { (libc::getuid() as u64, libc::getgid() as u64) };
    assert_eq!(run_call(15, &[], &mut mem), gid << 32 | uid);
    assert_eq!(run_call(8, &[], &mut mem), 1);
    assert_eq!(run_call(42, &[], &mut mem), 0);
}

#[test]
fn current_comm_is_the_thread_name() {
    let mut name = [0u8; 16];
    // SAFETY: PR_GET_NAME writes 16 bytes.
    unsafe { libc::prctl(libc::PR_GET_NAME, name.as_mut_ptr() as libc::c_ulong) };
    let mut mem = [0xffu8; 16];
    assert_eq!(run_call(16, &[(2, 16)], &mut mem), 0);
    assert_eq!(mem, name);
    let mut mem = [0xffu8; 4];
    assert_eq!(run_call(16, &[(2, 4)], &mut mem), 0);
    assert_eq!(&mem[..3], &name[..3]);
    assert_eq!(mem[3], 0);
}

#[test]
fn random_numbers_vary() {
    let shared = shared(vec![], vec![]);
    let mut env = env(&shared);
    let prog = program(&call(7, &[]));
    let values: std::collections::HashSet<u64> = (0..16)
        .map(|_| run(&prog, &mut env, &mut [0u8; 8]).unwrap())
        .collect();
    assert!(values.len() > 8);
    assert!(values.iter().all(|&v| v <= u64::from(u32::MAX)));
}

#[test]
fn clocks() {
    let mut mem = [0u8; 8];
    let a = run_call(5, &[], &mut mem);
    let b = run_call(5, &[], &mut mem);
    assert!(a > 0 && b >= a);
    let boot = run_call(125, &[], &mut mem);
    assert!(boot >= a);
    let coarse = run_call(160, &[], &mut mem);
    assert!(coarse > 0 && coarse <= run_call(5, &[], &mut mem) + 10_000_000);
    let jiffies = run_call(118, &[], &mut mem);
    let expected = (1u64 << 32) - 300 * 250 + b / 4_000_000;
    assert!(
        jiffies >= expected && jiffies < expected + 250,
        "{jiffies} {expected}"
    );
}
