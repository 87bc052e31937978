//! `tests/data/features.bpf.o` (source beside it): what the examples do not
//! exercise — map-in-map with static slots, a spin-lock map value (BTF),
//! a `bpf_loop` callback (BTF func_info), a global subprogram, `xdp.frags`,
//! an expected attach type (`cgroup/connect4`), and tracing programs whose
//! attach target comes from vmlinux BTF (`tp_btf`, `iter`).

use waggle_kernel::{availability, KernelError, KernelObject, TestRun};

#[test]
fn features_beyond_the_examples() {
    if let Err(reason) = availability() {
        println!("skipped: {reason}");
        return;
    }
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/features.bpf.o");
    let data = std::fs::read(path).unwrap();
    let obj = match KernelObject::load("features.bpf.o", &data) {
        Ok(obj) => obj,
        // Tracing program types may be refused where bpf() otherwise works.
        Err(KernelError::Unavailable(reason)) => {
            println!("skipped: {reason}");
            return;
        }
        Err(e) => panic!("{e}"),
    };
    assert!(obj.notes().is_empty(), "{:?}", obj.notes());
    let names: Vec<&str> = obj.programs().iter().map(|p| p.name.as_str()).collect();
    assert_eq!(
        names,
        ["frags", "looper", "connect4", "on_switch", "on_task"]
    );

    // Both static slots of `outer` hold a map (the syscall view gives ids).
    let slots = obj.map_entries("outer").unwrap();
    assert_eq!(slots.len(), 2);
    for (_, id) in &slots {
        assert_ne!(u32::from_le_bytes(id[..4].try_into().unwrap()), 0);
    }
    let frame = [0u8; 64];
    let frags = obj.program("frags").unwrap();
    assert_eq!(
        obj.test_run(frags, &TestRun::packet(&frame))
            .unwrap()
            .retval,
        2
    );

    // bpf_loop sums 0..5; the spin-locked counter counts runs.
    obj.map_update("locked", &0u32.to_le_bytes(), &[0u8; 16], 0)
        .unwrap();
    let looper = obj.program("looper").unwrap();
    let run = TestRun {
        repeat: 3,
        ..TestRun::packet(&frame)
    };
    assert_eq!(obj.test_run(looper, &run).unwrap().retval, 10);
    let value = obj
        .map_lookup("locked", &0u32.to_le_bytes())
        .unwrap()
        .unwrap();
    assert_eq!(u64::from_le_bytes(value[8..16].try_into().unwrap()), 3);
    assert!(
        looper.verifier_log.contains("twice"),
        "the global subprogram is verified on its own: {}",
        looper.verifier_log
    );
}
