//! The JIT against the interpreter: programs generated as for
//! `verifier_soundness` (see `generator.rs`), and every one the verifier
//! accepts runs on the checked interpreter and on the JIT, each on a fresh
//! copy of its maps, with the same packet or context. Return value, output
//! packet, trace lines, redirect and every map's contents must be equal; any
//! difference panics with the program's disassembly.
//!
//! The verifier runs with `allow_ptr_leaks: false` (Linux's rules for an
//! unprivileged loader): the two engines give the program its stack, packet
//! and maps at different addresses, so a program whose result depends on an
//! address (a 32-bit copy of a stack pointer compared with a constant, a
//! pointer stored into a map, ...) may rightly return different values on
//! each. Only programs in which no address ever becomes a number have one
//! right result to compare.
#![no_main]

use libfuzzer_sys::fuzz_target;
use waggle_runtime::Engine;
use waggle_verifier::VerifyOptions;

#[path = "generator.rs"]
mod generator;
use generator::*;

/// Every map's entries, for comparing the two runs' side effects.
fn map_contents(loaded: &waggle_runtime::LoadedObject) -> Vec<(String, Vec<(Vec<u8>, Vec<u8>)>)> {
    loaded
        .maps()
        .map(|(name, map)| {
            let mut entries = Vec::new();
            let mut key: Option<Vec<u8>> = None;
            while let Ok(next) = map.next_key(key.as_deref()) {
                if let Ok(v) = map.lookup(&next) {
                    entries.push((next.clone(), v));
                }
                key = Some(next);
                if entries.len() > 4096 {
                    break;
                }
            }
            (name.to_string(), entries)
        })
        .collect()
}

fuzz_target!(|data: &[u8]| {
    let case = case(data);
    let opts = VerifyOptions {
        allow_ptr_leaks: false,
        ..options()
    };
    let Some(interp) = accept(&case, &opts) else {
        report("jit_differential");
        return;
    };
    let Some(jit) = reload(&case) else {
        report("jit_differential");
        return;
    };
    // SAFETY: `accept` returned only after the verifier accepted the
    // program; the checked interpreter needs nothing.
    let (a, b) = unsafe { (run(&interp, &case, Engine::Interp), run(&jit, &case, Engine::Jit)) };
    report("jit_differential");
    let (a, b) = match (a, b) {
        (Ok(a), Ok(b)) => (a, b),
        // Budget and callback limits are the interpreter's alone (the JIT
        // counts no instructions), so a failed interpreter run has nothing
        // to compare.
        (Err(_), _) => return,
        (Ok(a), Err(e)) => panic!(
            "the JIT failed where the interpreter returned {:#x}: {e}\n{}",
            a.retval,
            disassembly(&case.slots)
        ),
    };
    if b.engine != Engine::Jit {
        return; // tail calls fall back to the interpreter
    }
    let (maps_a, maps_b) = (map_contents(&interp), map_contents(&jit));
    let same = a.retval == b.retval
        && a.packet == b.packet
        && a.trace == b.trace
        && a.redirect == b.redirect
        && maps_a == maps_b;
    assert!(
        same,
        "interpreter and JIT differ on a {} program: retval {:#x} vs {:#x}, packet {:?} vs {:?}, maps {:?} vs {:?}\n{}",
        case.prog_type.name(),
        a.retval,
        b.retval,
        a.packet,
        b.packet,
        maps_a,
        maps_b,
        disassembly(&case.slots)
    );
});
