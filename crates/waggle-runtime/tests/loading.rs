//! Loading errors a user meets, typed map access, and per-thread CPU slots.

use std::path::{Path, PathBuf};
use waggle_runtime::{LoadOptions, LoadedObject, RunConfig, TypedMap};

fn path(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(rel)
}

fn load_err(rel: &str) -> String {
    match LoadedObject::from_file(&path(rel), &LoadOptions::default()) {
        Ok(_) => panic!("{rel} loaded"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn unsupported_map_types_oversized_maps_and_missing_helpers_are_named() {
    let e = load_err("tests/data/objects/devmap.bpf.o");
    assert!(
        e.ends_with("devmap.bpf.o: map `ports`: unsupported map type 14"),
        "{e}"
    );
    let e = load_err("tests/data/objects/huge_map.bpf.o");
    assert!(
        e.contains("map `huge`") && e.contains("out of memory"),
        "{e}"
    );
    let e = load_err("tests/data/objects/unknown_helper.bpf.o");
    assert!(
        e.contains("program `vlan`: instruction")
            && e.contains("calls helper bpf_skb_vlan_push (18), which Waggle does not provide"),
        "{e}"
    );
}

fn frame(name: &str) -> Vec<u8> {
    std::fs::read(path(&format!("tests/data/cases/xdp_proto_count/{name}.in"))).unwrap()
}

#[test]
fn typed_maps_and_per_thread_cpu_slots() {
    let obj = LoadedObject::from_file(
        &path("../../examples/c/xdp_proto_count.bpf.o"),
        &LoadOptions {
            cpus: 4,
            ..LoadOptions::default()
        },
    )
    .unwrap();
    let prog = obj.program("xdp_proto_count").unwrap();
    let tcp = frame("tcp_syn");
    let udp = frame("udp");
    // Four threads, each its own CPU slot: 100 TCP and 50 UDP packets each.
    std::thread::scope(|s| {
        for _ in 0..4 {
            s.spawn(|| {
                for i in 0..150 {
                    let f = if i % 3 == 2 { &udp } else { &tcp };
                    assert_eq!(
                        obj.run_packet(prog, f, &RunConfig::default())
                            .unwrap()
                            .retval,
                        2
                    );
                }
            });
        }
    });
    let counts: TypedMap<u32, u64> = obj.typed_map("proto_count").unwrap();
    let per_cpu = counts.lookup_percpu(&6).unwrap();
    assert_eq!(per_cpu.len(), 4);
    assert_eq!(per_cpu.iter().sum::<u64>(), 400);
    // Every thread counted on its own slot: no lost updates, no sharing.
    assert!(per_cpu.iter().all(|&n| n == 100), "{per_cpu:?}");
    assert_eq!(counts.lookup_percpu(&17).unwrap().iter().sum::<u64>(), 200);
    let nonzero: Vec<u32> = counts
        .iter_percpu()
        .filter(|(_, v)| v.iter().any(|&n| n > 0))
        .map(|(k, _)| k)
        .collect();
    assert_eq!(nonzero, [6, 17]);

    // Sizes are checked.
    assert!(obj.typed_map::<u64, u64>("proto_count").is_err());
    // Plain maps: update, lookup, delete.
    let obj = LoadedObject::from_file(
        &path("../../examples/c/xdp_lb.bpf.o"),
        &LoadOptions::default(),
    )
    .unwrap();
    let stats: TypedMap<u32, [u64; 2]> = obj.typed_map("lb_stats").unwrap();
    stats.update(&2, &[5, 500], 0).unwrap();
    assert_eq!(stats.lookup(&2).unwrap(), Some([5, 500]));
    assert_eq!(stats.lookup(&9).unwrap(), None);
    assert_eq!(stats.iter().count(), 4);
}
