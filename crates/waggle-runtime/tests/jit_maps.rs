//! Map helper calls the JIT compiles without the helper: array lookups
//! inlined, hash, LRU hash and LPM trie operations called directly. Each
//! request runs on the JIT and in the checked interpreter, on two objects
//! loaded side by side, and must give the same result and leave the same
//! map contents; the compiled programs must really take the fast paths.

use std::path::Path;
use std::sync::Arc;
use waggle_jit::MapCallSites;
use waggle_maps::Map;
use waggle_runtime::{Engine, LoadOptions, LoadedObject, RunConfig};
use waggle_verifier::{verify, VerifyOptions};

const OBJECT: &str = "tests/data/objects/jit_maps.bpf.o";

const LOOKUP: u8 = 0;
const UPDATE: u8 = 1;
const DELETE: u8 = 2;
const MISS: u64 = 1000;
const OK: u64 = 2000;
const ENOENT: u64 = 2002;
const EEXIST: u64 = 2017;
const E2BIG: u64 = 2007;

fn load(cpus: u32) -> LoadedObject {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(OBJECT);
    let obj = LoadedObject::from_file(
        &path,
        &LoadOptions {
            cpus,
            ..LoadOptions::default()
        },
    )
    .unwrap();
    // The safety contract of `run_packet_with` on the JIT.
    for def in &obj.object.programs {
        if let Err(e) = verify(def, &obj.object.maps, &VerifyOptions::default()) {
            panic!("the verifier rejects `{}`:\n{}", def.name, e.render());
        }
    }
    obj
}

/// The packet the programs read their request from (see the C source).
fn request(key: u32, op: u8, flags: u8, prefixlen: u8, value: u64) -> Vec<u8> {
    let mut p = key.to_le_bytes().to_vec();
    p.extend([op, flags, prefixlen, 0]);
    p.extend(value.to_le_bytes());
    p
}

fn run(obj: &LoadedObject, prog: &str, packet: &[u8], engine: Engine) -> u64 {
    let prog = obj.program(prog).unwrap();
    // SAFETY: `load` verified every program of the object.
    let result = unsafe { obj.run_packet_with(prog, packet, &RunConfig::default(), engine) };
    let result = result.unwrap();
    assert_eq!(result.engine, engine);
    result.retval
}

/// Every element of `map`, in iteration order, as the application sees it.
fn dump(map: &Arc<dyn Map>) -> Vec<(Vec<u8>, Vec<u8>)> {
    let mut out = Vec::new();
    let mut key: Option<Vec<u8>> = None;
    while let Ok(next) = map.next_key(key.as_deref()) {
        if let Ok(value) = map.lookup(&next) {
            out.push((next.clone(), value));
        }
        key = Some(next);
    }
    out
}

/// Runs `requests` on the JIT and in the interpreter, each on its own
/// object, checking that both agree request by request and on `map`'s
/// final contents; returns the JIT's results and object.
fn differential(
    cpus: u32,
    prog: &str,
    map: &str,
    requests: &[Vec<u8>],
) -> (Vec<u64>, LoadedObject) {
    let (jit, interp) = (load(cpus), load(cpus));
    let mut results = Vec::new();
    for (i, packet) in requests.iter().enumerate() {
        let got = run(&jit, prog, packet, Engine::Jit);
        let want = run(&interp, prog, packet, Engine::Interp);
        assert_eq!(got, want, "{prog}: request {i}");
        results.push(got);
    }
    let (got, want) = (dump(jit.map(map).unwrap()), dump(interp.map(map).unwrap()));
    assert_eq!(got, want, "{prog}: contents of {map}");
    (results, jit)
}

fn sites(obj: &LoadedObject, prog: &str) -> MapCallSites {
    obj.program(prog).unwrap().jit().unwrap().map_call_sites()
}

#[test]
fn array_lookups_are_inlined_and_write_the_map() {
    let keys = [0, 3, 3, 7, 8, 3, u32::MAX, 7];
    let requests: Vec<_> = keys.iter().map(|&k| request(k, LOOKUP, 0, 0, 0)).collect();
    let (results, obj) = differential(2, "count", "counters", &requests);
    // In bounds (the last index included): the counter after the increment;
    // past the end: a miss.
    assert_eq!(results, [1, 1, 2, 1, MISS, 3, MISS, 2]);
    let counters = obj.map("counters").unwrap();
    assert_eq!(
        counters.lookup(&3u32.to_ne_bytes()).unwrap(),
        3u64.to_ne_bytes()
    );
    assert_eq!(
        sites(&obj, "count"),
        MapCallSites {
            inlined_lookups: 1,
            direct_calls: 0,
            helper_calls: 0,
        }
    );
}

#[test]
fn per_cpu_arrays_keep_the_helper_unless_there_is_one_slot() {
    let requests: Vec<_> = [1, 1, 8]
        .iter()
        .map(|&k| request(k, LOOKUP, 0, 0, 0))
        .collect();
    for (cpus, inlined, helper) in [(2, 0, 1), (1, 1, 0)] {
        let (results, obj) = differential(cpus, "count_percpu", "percpu_counters", &requests);
        assert_eq!(results, [1, 2, MISS], "{cpus} slots");
        let s = sites(&obj, "count_percpu");
        assert_eq!(
            (s.inlined_lookups, s.helper_calls),
            (inlined, helper),
            "{cpus} slots"
        );
    }
}

/// Lookups, updates (with each flag) and deletes, hits and misses.
fn hash_requests(full_at: u32) -> Vec<Vec<u8>> {
    let mut r = vec![
        request(5, LOOKUP, 0, 0, 0),
        request(5, UPDATE, 0, 0, 50),
        request(5, LOOKUP, 0, 0, 0),
        request(5, UPDATE, 1, 0, 51), // BPF_NOEXIST on a present key
        request(5, UPDATE, 2, 0, 52), // BPF_EXIST
        request(6, UPDATE, 2, 0, 60), // BPF_EXIST on an absent key
        request(5, LOOKUP, 0, 0, 0),
        request(5, DELETE, 0, 0, 0),
        request(5, DELETE, 0, 0, 0),
        request(5, LOOKUP, 0, 0, 0),
    ];
    r.extend((0..full_at).map(|k| request(100 + k, UPDATE, 0, 0, k.into())));
    r
}

#[test]
fn hash_operations_are_direct_calls() {
    let (results, obj) = differential(2, "table_op", "table", &hash_requests(5));
    let expected = [MISS, OK, 50, EEXIST, OK, ENOENT, 52, OK, ENOENT, MISS];
    assert_eq!(results[..10], expected);
    // Four entries fit; the fifth new key does not.
    assert_eq!(results[10..], [OK, OK, OK, OK, E2BIG]);
    let s = sites(&obj, "table_op");
    assert_eq!((s.direct_calls, s.helper_calls), (3, 0));
}

#[test]
fn lru_lookups_through_direct_calls_mark_elements_used() {
    let (results, obj) = differential(2, "recent_op", "recent", &hash_requests(0));
    assert_eq!(
        results,
        [MISS, OK, 50, EEXIST, OK, ENOENT, 52, OK, ENOENT, MISS]
    );
    let s = sites(&obj, "recent_op");
    assert_eq!((s.direct_calls, s.helper_calls), (3, 0));

    // Two entries fit. A third evicts the least recently used: key 1,
    // unless a lookup just used it, and then key 2.
    for (used, kept, evicted) in [(false, 2u32, 1u32), (true, 1, 2)] {
        let mut requests = vec![request(1, UPDATE, 0, 0, 1), request(2, UPDATE, 0, 0, 2)];
        if used {
            requests.push(request(1, LOOKUP, 0, 0, 0));
        }
        requests.push(request(3, UPDATE, 0, 0, 3));
        let (_, obj) = differential(2, "recent_op", "recent", &requests);
        let recent = obj.map("recent").unwrap();
        assert!(recent.lookup(&kept.to_ne_bytes()).is_ok(), "used {used}");
        assert!(
            recent.lookup(&evicted.to_ne_bytes()).is_err(),
            "used {used}"
        );
    }
}

#[test]
fn lpm_operations_are_direct_calls() {
    let net = u32::from_ne_bytes([10, 1, 0, 0]);
    let host = u32::from_ne_bytes([10, 1, 2, 3]);
    let requests = [
        request(host, LOOKUP, 0, 32, 0),
        request(net, UPDATE, 0, 16, 16),
        request(host, UPDATE, 0, 32, 32),
        request(host, LOOKUP, 0, 32, 0),
        request(host, DELETE, 0, 32, 0),
        request(host, LOOKUP, 0, 32, 0),
        request(u32::from_ne_bytes([10, 2, 0, 0]), LOOKUP, 0, 32, 0),
        request(net, DELETE, 0, 24, 0),
    ];
    let (results, obj) = differential(2, "route_op", "routes", &requests);
    assert_eq!(results, [MISS, OK, OK, 32, OK, 16, MISS, ENOENT]);
    let s = sites(&obj, "route_op");
    assert_eq!((s.direct_calls, s.helper_calls), (3, 0));
}
