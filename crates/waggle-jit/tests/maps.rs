//! Map helper calls compiled without the helper, on maps described with
//! `MapAccess`: array lookups inlined, other operations called directly.
//! The interpreter runs the same programs through registry helpers that
//! implement the same fake maps, and both must agree.

use std::ffi::c_void;
use std::ptr::NonNull;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use waggle_isa::{assemble, encode_program, Syntax};
use waggle_jit::{JitOptions, JitProgram, Lookup, MapAccess, MapCallSites};
use waggle_vm::{HelperRegistry, Input, Program, RunOptions};

/// Elements of the fake array.
const ENTRIES: u32 = 4;

/// A fake array of `ENTRIES` u64 values and a fake "hash" map whose lookup
/// returns its own address plus the key, update `key + value + flags`,
/// delete `key * 2`.
struct Maps {
    array: Arc<[AtomicU64; ENTRIES as usize]>,
    hash: Arc<u64>,
}

impl Maps {
    fn new() -> Maps {
        Maps {
            array: Arc::new(std::array::from_fn(|i| AtomicU64::new(i as u64 * 10))),
            hash: Arc::new(0),
        }
    }

    fn array_addr(&self) -> u64 {
        self.array.as_ptr() as u64
    }

    fn hash_addr(&self) -> u64 {
        Arc::as_ptr(&self.hash) as u64
    }

    fn access(&self, addr: u64) -> Option<MapAccess> {
        if addr == self.array_addr() {
            Some(MapAccess {
                map: std::ptr::null(),
                lookup: Some(Lookup::Array {
                    base: NonNull::new(self.array.as_ptr() as *mut u8).unwrap(),
                    max_entries: ENTRIES,
                    stride: 8,
                }),
                update: None,
                delete: None,
                keepalive: Box::new(self.array.clone()),
            })
        } else if addr == self.hash_addr() {
            Some(MapAccess {
                map: Arc::as_ptr(&self.hash).cast(),
                lookup: Some(Lookup::Call(hash_lookup)),
                update: Some(hash_update),
                delete: Some(hash_delete),
                keepalive: Box::new(self.hash.clone()),
            })
        } else {
            None
        }
    }

    /// Helpers 1 to 3 doing to the fake maps what the descriptions say.
    fn registry(&self) -> Arc<HelperRegistry> {
        let (array, hash) = (self.array_addr(), self.hash_addr());
        let mut reg = HelperRegistry::new();
        reg.register(1, "lookup", move |cx, a| {
            let key = u32::from_ne_bytes(cx.read(a[1], 4)?.try_into().unwrap());
            Ok(match a[0] {
                m if m == array && key < ENTRIES => array + u64::from(key) * 8,
                m if m == hash => hash + u64::from(key),
                _ => 0,
            })
        });
        reg.register(2, "update", move |cx, a| {
            let key = u32::from_ne_bytes(cx.read(a[1], 4)?.try_into().unwrap());
            let value = u64::from_ne_bytes(cx.read(a[2], 8)?.try_into().unwrap());
            Ok(u64::from(key) + value + a[3])
        });
        reg.register(3, "delete", move |cx, a| {
            let key = u32::from_ne_bytes(cx.read(a[1], 4)?.try_into().unwrap());
            Ok(u64::from(key) * 2)
        });
        Arc::new(reg)
    }

    fn compile(&self, src: &str) -> (Program, JitProgram) {
        let src = src
            .replace("ARRAY", &format!("{:#x}", self.array_addr()))
            .replace("HASH", &format!("{:#x}", self.hash_addr()));
        let bytes = encode_program(&assemble(&src, Syntax::Ubpf).expect("assembles"));
        let insns = waggle_isa::decode_program(&bytes).unwrap();
        let reg = self.registry();
        let maps = |a| self.access(a);
        let opts = JitOptions {
            maps: Some(&maps),
            ..JitOptions::default()
        };
        let jit = JitProgram::compile(&insns, reg.clone(), &opts).unwrap();
        (Program::from_bytes(&bytes, reg).unwrap(), jit)
    }
}

unsafe extern "C" fn hash_lookup(map: *const c_void, key: *const u8) -> u64 {
    // SAFETY: the programs pass a 4-byte key on their stack.
    map as u64 + u64::from(unsafe { key.cast::<u32>().read_unaligned() })
}

unsafe extern "C" fn hash_update(
    _map: *const c_void,
    key: *const u8,
    value: *const u8,
    flags: u64,
) -> u64 {
    // SAFETY: the programs pass a 4-byte key and an 8-byte value on their stack.
    let (key, value) = unsafe {
        (
            key.cast::<u32>().read_unaligned(),
            value.cast::<u64>().read_unaligned(),
        )
    };
    u64::from(key) + value + flags
}

unsafe extern "C" fn hash_delete(_map: *const c_void, key: *const u8) -> u64 {
    // SAFETY: the programs pass a 4-byte key on their stack.
    u64::from(unsafe { key.cast::<u32>().read_unaligned() }) * 2
}

/// Runs both engines with `input` as the memory `r1` points to; returns
/// the JIT's `r0` after checking that the interpreter agrees.
fn run(interp: &Program, jit: &JitProgram, input: u32) -> u64 {
    let opts = RunOptions::default();
    let mut mem = input.to_ne_bytes();
    // SAFETY: the programs touch their stack, their input and the fake
    // maps' values, which outlive the run.
    let want = unsafe { interp.run_unchecked(Input::memory(&mut mem), &opts) }.unwrap();
    let mut mem = input.to_ne_bytes();
    // SAFETY: as above.
    let got = unsafe { jit.run(Input::memory(&mut mem), &opts) }.unwrap();
    assert_eq!(got.r0, want.r0, "input {input}");
    got.r0
}

/// Looks up the key given as input in `MAP` and returns the value's address.
const LOOKUP: &str = "
    ldxw %r3, [%r1]
    stxw [%r10-4], %r3
    mov %r2, %r10
    add %r2, -4
    lddw %r1, MAP
    call 1
    exit";

#[test]
fn array_lookups_are_inlined() {
    let maps = Maps::new();
    let (interp, jit) = maps.compile(&LOOKUP.replace("MAP", "ARRAY"));
    let sites = MapCallSites {
        inlined_lookups: 1,
        direct_calls: 0,
        helper_calls: 0,
    };
    assert_eq!(jit.map_call_sites(), sites);
    let base = maps.array_addr();
    for key in [0, 1, ENTRIES - 1] {
        assert_eq!(run(&interp, &jit, key), base + u64::from(key) * 8);
    }
    for key in [ENTRIES, ENTRIES + 1, u32::MAX] {
        assert_eq!(run(&interp, &jit, key), 0, "key {key}");
    }
}

#[test]
fn values_written_through_inlined_lookups_reach_the_map() {
    let maps = Maps::new();
    let src = "
        ldxw %r3, [%r1]
        stxw [%r10-4], %r3
        mov %r2, %r10
        add %r2, -4
        lddw %r1, ARRAY
        call 1
        jeq %r0, 0, +2
        stdw [%r0], 77
        mov %r0, 1
        exit";
    let (_, jit) = maps.compile(src);
    assert_eq!(jit.map_call_sites().inlined_lookups, 1);
    for (key, found) in [(2, 1), (ENTRIES, 0)] {
        let mut mem = key.to_ne_bytes();
        // SAFETY: the program writes to its stack and to an element of the
        // fake array, found in bounds.
        let out = unsafe { jit.run(Input::memory(&mut mem), &RunOptions::default()) };
        assert_eq!(out.unwrap().r0, found);
    }
    let values: Vec<u64> = maps
        .array
        .iter()
        .map(|v| v.load(Ordering::Relaxed))
        .collect();
    assert_eq!(values, [0, 10, 77, 30]);
}

#[test]
fn other_map_operations_are_direct_calls() {
    let maps = Maps::new();
    let (interp, jit) = maps.compile(&LOOKUP.replace("MAP", "HASH"));
    assert_eq!(jit.map_call_sites().direct_calls, 1);
    assert_eq!(run(&interp, &jit, 5), maps.hash_addr() + 5);

    // update(key = input, value = 1000, flags = 2) + delete(key = input).
    let src = "
        ldxw %r3, [%r1]
        stxw [%r10-4], %r3
        stdw [%r10-16], 1000
        mov %r2, %r10
        add %r2, -4
        mov %r3, %r10
        add %r3, -16
        mov %r4, 2
        lddw %r1, HASH
        call 2
        mov %r6, %r0
        mov %r2, %r10
        add %r2, -4
        lddw %r1, HASH
        call 3
        add %r0, %r6
        exit";
    let (interp, jit) = maps.compile(src);
    assert_eq!(jit.map_call_sites().direct_calls, 2);
    assert_eq!(run(&interp, &jit, 7), (7 + 1000 + 2) + 7 * 2);
}

#[test]
fn a_map_known_on_only_some_paths_keeps_the_helper() {
    // r1 is the array on one path and the hash map on the other: at the
    // call, where the paths join, neither is known.
    let maps = Maps::new();
    let src = "
        ldxw %r3, [%r1]
        stw [%r10-4], 1
        mov %r2, %r10
        add %r2, -4
        lddw %r1, ARRAY
        jeq %r3, 0, +2
        lddw %r1, HASH
        call 1
        exit";
    let (interp, jit) = maps.compile(src);
    let sites = MapCallSites {
        inlined_lookups: 0,
        direct_calls: 0,
        helper_calls: 1,
    };
    assert_eq!(jit.map_call_sites(), sites);
    assert_eq!(run(&interp, &jit, 0), maps.array_addr() + 8);
    assert_eq!(run(&interp, &jit, 1), maps.hash_addr() + 1);
}

#[test]
fn a_map_address_clobbered_by_a_call_is_not_trusted() {
    // After a helper call r1 is unknown: the second lookup goes through the
    // helper even though nothing in the program changed r1 explicitly.
    let maps = Maps::new();
    let src = "
        stw [%r10-4], 1
        mov %r2, %r10
        add %r2, -4
        lddw %r1, HASH
        call 1
        call 1
        exit";
    let (_, jit) = maps.compile(src);
    let sites = jit.map_call_sites();
    assert_eq!((sites.direct_calls, sites.helper_calls), (1, 1));
}
