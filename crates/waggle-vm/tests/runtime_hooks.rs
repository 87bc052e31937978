//! What embedding runtimes build on: per-run state for helpers, callbacks
//! into the program (as `bpf_loop` needs), and tail calls.

use std::sync::{Arc, Mutex};
use waggle_isa::{assemble, encode_program, Syntax};
use waggle_vm::{HelperRegistry, Input, Interrupt, Program, RunError, RunOptions};

fn program(src: &str, reg: &Arc<HelperRegistry>) -> Program {
    let insns = assemble(src, Syntax::Ubpf).expect("assembles");
    Program::from_bytes(&encode_program(&insns), reg.clone()).expect("prepares")
}

/// Per-run state a runtime hands its helpers.
#[derive(Default)]
struct Trace(Vec<u64>);

#[test]
fn helpers_reach_the_state_of_their_run() {
    let mut reg = HelperRegistry::new();
    reg.register(6, "record", |cx, a| {
        let trace = cx
            .env::<Trace>()
            .ok_or(Interrupt::Fault("no trace".into()))?;
        trace.0.push(a[0]);
        Ok(0)
    });
    let reg = Arc::new(reg);
    let p = program("mov %r1, 7\ncall 6\nmov %r1, 9\ncall 6\nexit", &reg);
    let mut trace = Trace::default();
    p.run_checked(Input::empty().with_env(&mut trace), &RunOptions::default())
        .unwrap();
    assert_eq!(trace.0, [7, 9]);
    // Without the state, the helper says so.
    let err = p
        .run_checked(Input::empty(), &RunOptions::default())
        .unwrap_err();
    assert!(err.to_string().contains("no trace"), "{err}");
}

/// `loop(n, callback, ctx)`: calls `callback(i, ctx)` for i in 0..n until it
/// returns 1, like `bpf_loop`; returns the number of iterations.
fn loop_registry() -> Arc<HelperRegistry> {
    let mut reg = HelperRegistry::new();
    reg.register(181, "loop", |cx, a| {
        for i in 0..a[0] {
            if cx.call_function(a[1], [i, a[2], 0, 0, 0])? == 1 {
                return Ok(i + 1);
            }
        }
        Ok(a[0])
    });
    Arc::new(reg)
}

// main: *(u64 *)(r10 - 8) = 0; loop(10, &add, r10 - 8); r0 = *(u64 *)(r10 - 8) * 1000 + loop's r0
// add:  *(u64 *)ctx += i; return i == 4 (stop after i = 4)
const LOOP_PROGRAM: &str = "
    stdw [%r10-8], 0
    mov %r1, 10
    lddw %r2, func add
    mov %r3, %r10
    add %r3, -8
    call 181
    ldxdw %r6, [%r10-8]
    mul %r6, 1000
    add %r0, %r6
    exit
add:
    ldxdw %r3, [%r2]
    add %r3, %r1
    stxdw [%r2], %r3
    mov %r0, 0
    jne %r1, 4, +1
    mov %r0, 1
    exit
";

#[test]
fn callbacks_run_on_their_own_stack_and_reach_the_callers() {
    let p = program(LOOP_PROGRAM, &loop_registry());
    let out = p
        .run_checked(Input::empty(), &RunOptions::default())
        .unwrap();
    // 0+1+2+3+4 = 10 accumulated through the caller's stack; 5 iterations.
    assert_eq!(out.r0, 10 * 1000 + 5);
    // SAFETY: the checked run above shows the program stays in bounds.
    let unchecked = unsafe { p.run_unchecked(Input::empty(), &RunOptions::default()) }.unwrap();
    assert_eq!(unchecked.r0, out.r0);
    // Instructions of callbacks count: 5 iterations of 6 or 7 instructions.
    assert!(out.insns > 10 + 5 * 6, "{}", out.insns);
}

#[test]
fn a_callback_must_be_a_function_of_the_program() {
    let p = program(
        "mov %r1, 1\nlddw %r2, 0xbf00000000000003\nmov %r3, 0\ncall 181\nexit",
        &loop_registry(),
    );
    let err = p
        .run_checked(Input::empty(), &RunOptions::default())
        .unwrap_err();
    assert!(matches!(err, RunError::HelperFault { .. }), "{err}");
    assert!(err.to_string().contains("names no function"), "{err}");
}

#[test]
fn tail_calls_replace_the_program_and_keep_the_context() {
    // Programs in a shared table; helper 12 tail-calls table[r2], at most
    // 33 times in a chain, and otherwise returns -2 (ENOENT) like Linux.
    let table: Arc<Mutex<Vec<Arc<Program>>>> = Arc::default();
    let mut reg = HelperRegistry::new();
    let t = table.clone();
    reg.register(12, "tail_call", move |cx, a| {
        let next = t.lock().unwrap().get(a[1] as usize).cloned();
        match next {
            Some(p) if cx.tail_calls() < 33 => Err(Interrupt::TailCall(p)),
            _ => Ok((-2i64) as u64),
        }
    });
    let reg = Arc::new(reg);
    // Program 0: r0 = ctx + 100, tail-call 1; if that fails, return 77.
    let p0 = Arc::new(program("mov %r2, 1\ncall 12\nmov %r0, 77\nexit", &reg));
    // Program 1: return ctx * 2.
    let p1 = Arc::new(program("mov %r0, %r1\nmul %r0, 2\nexit", &reg));
    // Program 2: tail-calls itself forever; the 34th attempt fails.
    let p2 = Arc::new(program(
        "add %r1, 1\nmov %r6, %r1\nmov %r2, 2\ncall 12\nmov %r0, %r6\nexit",
        &reg,
    ));
    table.lock().unwrap().extend([p0.clone(), p1, p2.clone()]);

    let out = p0
        .run_checked(
            Input::empty().with_args([21, 0, 0, 0, 0]),
            &RunOptions::default(),
        )
        .unwrap();
    assert_eq!(out.r0, 42, "program 1 ran on the same context");
    assert_eq!(out.insns, 2 + 3, "both programs' instructions count");

    let out = p2
        .run_checked(Input::empty(), &RunOptions::default())
        .unwrap();
    assert_eq!(
        out.r0, 34,
        "33 tail calls succeed, the 34th returns to its caller"
    );

    table.lock().unwrap().truncate(1);
    let out = p0
        .run_checked(Input::empty(), &RunOptions::default())
        .unwrap();
    assert_eq!(out.r0, 77, "a failed tail call continues after the call");
}
