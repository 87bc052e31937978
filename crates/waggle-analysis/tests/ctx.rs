//! Context-pointer tracking on the patterns clang emits.

use waggle_analysis::cfg::Cfg;
use waggle_analysis::ctx::{accesses, CtxAccessKind, CtxError};
use waggle_isa::{assemble, decode_program, encode_program, MemSize, Syntax};

fn ctx_uses(src: &str) -> Result<Vec<(usize, i64, MemSize, CtxAccessKind)>, CtxError> {
    let insns = assemble(src, Syntax::Ubpf).expect("assembles");
    let decoded = decode_program(&encode_program(&insns)).expect("decodes");
    let cfg = Cfg::new(&decoded);
    Ok(accesses(&cfg)?
        .into_iter()
        .map(|a| (cfg.pcs[a.insn], a.offset, a.size, a.kind))
        .collect())
}

const LOAD: CtxAccessKind = CtxAccessKind::Load { sign_extend: false };

#[test]
fn direct_loads_through_r1() {
    let uses = ctx_uses("ldxw %r2, [%r1+0]\nldxw %r3, [%r1+4]\nldxb %r0, [%r2+0]\nexit").unwrap();
    // The packet load through r2 (data) is not a context access.
    assert_eq!(uses, [(0, 0, MemSize::W, LOAD), (1, 4, MemSize::W, LOAD)]);
}

#[test]
fn copies_and_spills_survive_helper_calls() {
    let src = "
        mov %r6, %r1
        stxdw [%r10-8], %r6
        mov %r7, %r10
        add %r7, -16
        stxdw [%r7+0], %r1
        call 5
        ldxdw %r8, [%r10-8]
        ldxw %r0, [%r8+16]
        ldxdw %r9, [%r10-16]
        ldxw %r0, [%r9+20]
        ldxw %r0, [%r6+12]
        ldxw %r0, [%r1+0]
        exit";
    let uses = ctx_uses(src).unwrap();
    let pcs: Vec<(usize, i64)> = uses.iter().map(|u| (u.0, u.1)).collect();
    // Fill from r10-8, fill from r10-16 (stored through a frame pointer
    // copy), the callee-saved copy; r1 is clobbered by the call.
    assert_eq!(pcs, [(7, 16), (9, 20), (10, 12)]);
}

#[test]
fn subprograms_receive_the_context_in_argument_registers() {
    let src = "
        mov %r6, %r1
        call local f
        mov %r1, 0
        call local f
        exit
    f:
        ldxw %r0, [%r1+12]
        exit";
    // From the second call site r1 is a scalar: the callee's access is then
    // ambiguous, exactly what Linux rejects.
    assert_eq!(ctx_uses(src), Err(CtxError::Ambiguous { pc: 5 }));
    let ok = "
        call local f
        exit
    f:
        ldxw %r0, [%r1+12]
        stw [%r1+8], 1
        exit";
    assert_eq!(
        ctx_uses(ok).unwrap(),
        [
            (2, 12, MemSize::W, LOAD),
            (3, 8, MemSize::W, CtxAccessKind::Store)
        ]
    );
}

#[test]
fn ambiguous_and_modified_pointers_are_errors() {
    let ambiguous = "
        jeq %r2, 0, +1
        mov %r1, %r10
        ldxw %r0, [%r1-4]
        exit";
    assert_eq!(ctx_uses(ambiguous), Err(CtxError::Ambiguous { pc: 2 }));
    let modified = "add %r1, 8\nldxw %r0, [%r1+0]\nexit";
    assert_eq!(
        ctx_uses(modified),
        Err(CtxError::Modified { pc: 1, offset: 8 })
    );
    let variable = "mov %r2, 4\nadd %r1, %r2\nldxw %r0, [%r1+0]\nexit";
    assert_eq!(ctx_uses(variable), Err(CtxError::Ambiguous { pc: 2 }));
}

#[test]
fn loops_reach_a_fixpoint() {
    // The context pointer stays in r6 across a loop that walks the stack.
    let src = "
        mov %r6, %r1
        mov %r2, %r10
        add %r2, -64
    l:
        stxdw [%r2+0], %r3
        add %r2, 8
        ldxw %r0, [%r6+4]
        jne %r2, %r10, l
        exit";
    let uses = ctx_uses(src).unwrap();
    assert_eq!(uses, [(5, 4, MemSize::W, LOAD)]);
}
