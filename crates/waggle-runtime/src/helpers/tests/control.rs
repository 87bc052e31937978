use super::super::testutil::*;
use waggle_maps::{map_address, MapType};
use waggle_vm::RunError;

const ENOENT: i64 = 2;
const EINVAL: i64 = 22;
const E2BIG: i64 = 7;

/// `bpf_loop(n, cb, &ctx, flags)` where the callback adds `i` to the
/// context and stops (returns 1) at `stop`; stores r0 and the context.
fn loop_prog(n: u64, flags: u64, stop: u64) -> String {
    format!(
        "mov %r9, %r1
        stdw [%r10-8], 0
        lddw %r1, {n:#x}
        lddw %r2, func cb
        mov %r3, %r10
        add %r3, -8
        lddw %r4, {flags:#x}
        call 181
        stxdw [%r9+0], %r0
        ldxdw %r1, [%r10-8]
        stxdw [%r9+8], %r1
        mov %r0, 0
        exit
        cb:
        ldxdw %r3, [%r2+0]
        add %r3, %r1
        stxdw [%r2+0], %r3
        mov %r0, 0
        jne %r1, {stop}, +1
        mov %r0, 1
        exit"
    )
}

fn run_loop(n: u64, flags: u64, stop: u64) -> (u64, u64) {
    let shared = shared(vec![], vec![]);
    let mut env = env(&shared);
    let mut mem = [0u8; 16];
    run(&program(&loop_prog(n, flags, stop)), &mut env, &mut mem).unwrap();
    (
        u64::from_le_bytes(mem[..8].try_into().unwrap()),
        u64::from_le_bytes(mem[8..].try_into().unwrap()),
    )
}

#[test]
fn bpf_loop_counts_stops_and_refuses() {
    assert_eq!(run_loop(10, 0, 100), (10, 45));
    assert_eq!(run_loop(10, 0, 5), (6, 15));
    assert_eq!(run_loop(0, 0, 0), (0, 0));
    assert_eq!(run_loop((1 << 23) + 1, 0, 0).0, err(E2BIG));
    assert_eq!(run_loop(3, 1, 0).0, err(EINVAL));
    // Only the low 32 bits of nr_loops count.
    assert_eq!(run_loop((1 << 32) | 2, 0, 100), (2, 1));
}

#[test]
fn tail_calls_follow_the_prog_array_and_the_chain_limit() {
    let pa = map(&spec(MapType::ProgArray, 4, 4, 4));
    let a = map_address(&pa);
    // Program 0: counts its runs in the context, tail-calls slot r (from
    // the context's second word), and returns the failed call's r0.
    let counting = program(&format!(
        "ldxdw %r2, [%r1+0]
        add %r2, 1
        stxdw [%r1+0], %r2
        ldxdw %r3, [%r1+8]
        lddw %r2, {a:#x}
        call 12
        exit"
    ));
    let answer = program("mov %r0, 42\nexit");
    let shared = shared(vec![pa.clone()], vec![counting.clone(), answer]);
    let mut env = env(&shared);
    pa.update_all(&0u32.to_ne_bytes(), &0u32.to_ne_bytes(), 0)
        .unwrap();
    pa.update_all(&1u32.to_ne_bytes(), &1u32.to_ne_bytes(), 0)
        .unwrap();
    // Slot 1 holds program 1.
    let mut mem = [0u8; 16];
    mem[8] = 1;
    assert_eq!(run(&counting, &mut env, &mut mem), Ok(42));
    assert_eq!(mem[0], 1);
    // An empty slot, or one past the end: the call falls through.
    for slot in [2u8, 200] {
        let mut mem = [0u8; 16];
        mem[8] = slot;
        assert_eq!(run(&counting, &mut env, &mut mem), Ok(err(ENOENT)));
        assert_eq!(mem[0], 1);
    }
    // Slot 0 is the program itself: 1 run and 33 tail calls.
    let mut mem = [0u8; 16];
    assert_eq!(run(&counting, &mut env, &mut mem), Ok(err(ENOENT)));
    assert_eq!(mem[0], 34);
    // Unchecked mode too.
    let mut mem = [0u8; 16];
    assert_eq!(run_unchecked(&counting, &mut env, &mut mem), err(ENOENT));
    assert_eq!(mem[0], 34);
}

/// Looks up index 0 of `map` and locks the spin lock at value offset 0,
/// then runs `then`.
fn lock_prog(map: u64, then: &str) -> String {
    format!(
        "stw [%r10-4], 0
        lddw %r1, {map:#x}
        mov %r2, %r10
        add %r2, -4
        call 1
        mov %r6, %r0
        mov %r1, %r6
        call 93
        {then}
        exit"
    )
}

#[test]
fn spin_locks() {
    let mut s = spec(MapType::Array, 4, 16, 1);
    s.spin_lock_offset = Some(0);
    let m = map(&s);
    let a = map_address(&m);
    let shared = shared(vec![m.clone()], vec![]);
    let mut env = env(&shared);
    let mut mem = [0u8; 8];
    // Lock, bump the counter, unlock.
    let ok = lock_prog(
        a,
        "ldxdw %r1, [%r6+8]
        add %r1, 1
        stxdw [%r6+8], %r1
        mov %r1, %r6
        call 94",
    );
    let ok = program(&ok);
    assert_eq!(run(&ok, &mut env, &mut mem), Ok(0));
    assert_eq!(run(&ok, &mut env, &mut mem), Ok(0));
    assert_eq!(m.lookup(&0u32.to_ne_bytes()).unwrap()[8], 2);
    // Locking twice would deadlock: refused.
    let twice = lock_prog(a, "mov %r1, %r6\ncall 93");
    let r = run(&program(&twice), &mut env, &mut mem);
    assert!(
        matches!(r, Err(RunError::HelperFault { id: 93, .. })),
        "{r:?}"
    );
    // The lock left held by the failed run was released when it ended.
    assert_eq!(run(&ok, &mut env, &mut mem), Ok(0));
    // A run that ends holding the lock: released too.
    let forget = lock_prog(a, "mov %r0, 0");
    assert_eq!(run(&program(&forget), &mut env, &mut mem), Ok(0));
    assert_eq!(run(&ok, &mut env, &mut mem), Ok(0));
    // Unlocking a lock the run does not hold is refused.
    let stray = "stw [%r10-4], 0
        lddw %r1, MAP
        mov %r2, %r10
        add %r2, -4
        call 1
        mov %r1, %r0
        call 94
        exit"
        .replace("MAP", &format!("{a:#x}"));
    let r = run(&program(&stray), &mut env, &mut mem);
    assert!(
        matches!(r, Err(RunError::HelperFault { id: 94, .. })),
        "{r:?}"
    );
    // A misaligned lock word is refused.
    let r = run(
        &program(&lock_prog(a, "").replace("mov %r1, %r6\n", "mov %r1, %r6\nadd %r1, 2\n")),
        &mut env,
        &mut mem,
    );
    assert!(
        matches!(r, Err(RunError::HelperFault { id: 93, .. })),
        "{r:?}"
    );
}
