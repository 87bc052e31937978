//! Checks [`Facts`] against concrete runs in the interpreter's checked mode.
//!
//! The registers at an instruction are observed by running a copy of the
//! program whose instruction at that slot is replaced by a jump to an
//! appended trampoline: it hands `r0`-`r9` to two recording helpers and
//! exits. So each run observes the *first* arrival at the slot (later loop
//! iterations are not seen), and only programs without bpf-to-bpf calls or
//! callbacks are traced (an `exit` in a callee would return to its caller).

use std::cell::RefCell;
use std::sync::Arc;
use waggle_isa::RawInsn;
use waggle_verifier::Facts;
use waggle_vm::{HelperContext, HelperRegistry, HelperResult, Input, Program, RunOptions};

const REC1: u32 = 0x7ff0_0001;
const REC2: u32 = 0x7ff0_0002;

thread_local! {
    static SEEN: RefCell<Option<[u64; 10]>> = const { RefCell::new(None) };
}

fn rec1(_: &mut HelperContext<'_>, a: [u64; 5]) -> HelperResult {
    SEEN.with(|s| {
        let mut r = [0; 10];
        r[1..6].copy_from_slice(&a);
        *s.borrow_mut() = Some(r);
    });
    Ok(0)
}

fn rec2(_: &mut HelperContext<'_>, a: [u64; 5]) -> HelperResult {
    SEEN.with(|s| {
        let mut s = s.borrow_mut();
        let r = s.as_mut().expect("rec1 runs first");
        r[6..10].copy_from_slice(&a[..4]);
        r[0] = a[4];
    });
    Ok(0)
}

/// `base` plus the two recording helpers.
pub fn tracing_registry(base: &HelperRegistry) -> Arc<HelperRegistry> {
    let mut r = base.clone();
    r.register(REC1, "trace_rec1", rec1);
    r.register(REC2, "trace_rec2", rec2);
    Arc::new(r)
}

/// Whether the tracer can observe `slots`: no local calls, no function
/// references, no tail calls.
pub fn traceable(slots: &[RawInsn]) -> bool {
    !slots.iter().any(|s| {
        (s.opcode == 0x85 && (s.src == 1 || s.imm == 12)) || (s.opcode == 0x18 && s.src == 4)
    })
}

/// `slots` with slot `pc` replaced by a jump to the trampoline.
pub fn redirect(slots: &[RawInsn], pc: usize) -> Vec<RawInsn> {
    let mut p = slots.to_vec();
    let t = p.len();
    p[pc] = RawInsn::new(0x05, 0, 0, (t - pc - 1) as i16, 0); // ja trampoline
    p.extend([
        RawInsn::new(0x7b, 10, 0, -8, 0),         // *(u64 *)(r10 - 8) = r0
        RawInsn::new(0x85, 0, 0, 0, REC1 as i32), // r1-r5
        RawInsn::new(0xbf, 1, 6, 0, 0),
        RawInsn::new(0xbf, 2, 7, 0, 0),
        RawInsn::new(0xbf, 3, 8, 0, 0),
        RawInsn::new(0xbf, 4, 9, 0, 0),
        RawInsn::new(0x79, 5, 10, -8, 0), // r5 = *(u64 *)(r10 - 8)
        RawInsn::new(0x85, 0, 0, 0, REC2 as i32), // r6-r9, r0
        RawInsn::new(0x95, 0, 0, 0, 0),
    ]);
    p
}

/// Tallies of a check.
#[derive(Default, Debug, Clone, Copy)]
pub struct Tally {
    /// Slot arrivals observed.
    pub arrivals: usize,
    /// Constant facts confirmed on an observed arrival.
    pub constants: usize,
    /// zext32 facts confirmed on an observed arrival.
    pub zext32: usize,
}

impl std::ops::AddAssign for Tally {
    fn add_assign(&mut self, o: Tally) {
        self.arrivals += o.arrivals;
        self.constants += o.constants;
        self.zext32 += o.zext32;
    }
}

/// Runs `slots`, redirected at each slot with register facts, on inputs
/// `0..inputs` (`run` runs a program on input `k`), and checks every
/// constant and zext32 fact against the registers observed at the slot.
/// Returns `Err` with a description on the first violation.
pub fn check_facts(
    name: &str,
    slots: &[RawInsn],
    facts: &Facts,
    registry: &Arc<HelperRegistry>,
    inputs: usize,
    run: &mut dyn FnMut(&Program, usize),
) -> Result<Tally, String> {
    let mut tally = Tally::default();
    for pc in 0..slots.len() {
        let claims: Vec<_> = facts
            .reads(pc)
            .iter()
            .filter(|(r, f)| *r < 10 && (f.constant.is_some() || f.zext32))
            .copied()
            .collect();
        if claims.is_empty() {
            continue;
        }
        let bytes = RawInsn::slice_to_bytes(&redirect(slots, pc));
        let program = Program::from_bytes(&bytes, registry.clone())
            .map_err(|e| format!("{name}: the traced program does not prepare: {e}"))?;
        for k in 0..inputs {
            SEEN.with(|s| *s.borrow_mut() = None);
            // A run that faults is not this check's business (the random
            // programs test covers it); one that reaches the slot exits there.
            run(&program, k);
            let Some(regs) = SEEN.with(|s| s.borrow_mut().take()) else {
                continue; // this input does not reach the slot
            };
            tally.arrivals += 1;
            for &(r, f) in &claims {
                let v = regs[r as usize];
                if let Some(c) = f.constant {
                    if v != c {
                        return Err(format!(
                            "{name}: slot {pc}: r{r} is claimed constant {c:#x} but holds {v:#x} (input {k})"
                        ));
                    }
                    tally.constants += 1;
                }
                if f.zext32 {
                    if v >> 32 != 0 {
                        return Err(format!(
                            "{name}: slot {pc}: r{r} is claimed zero-extended but holds {v:#x} (input {k})"
                        ));
                    }
                    tally.zext32 += 1;
                }
            }
        }
    }
    Ok(tally)
}

/// Runs `program` in checked mode on `mem` (the context, and the packet of
/// LD_ABS).
pub fn run_on(program: &Program, mem: &mut [u8]) {
    let _ = program.run_checked(
        Input::memory(mem),
        &RunOptions {
            budget: Some(100_000),
        },
    );
}
