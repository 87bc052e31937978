//! File descriptors are closed on every path: after a loaded object is
//! dropped, after a failed load, after a rejected raw program. (Its own
//! test binary: fd counts are per process, and other tests would disturb
//! them.)

use waggle_isa::RawInsn;
use waggle_kernel::{availability, load_raw, KernelError, KernelObject, TestRun};
use waggle_object::ProgramType;

fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd").unwrap().count()
}

#[test]
fn fds_are_closed_on_every_path_and_bad_input_is_an_error() {
    if let Err(reason) = availability() {
        println!("skipped: {reason}");
        return;
    }
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/c");
    let lb = std::fs::read(dir.join("xdp_lb.bpf.o")).unwrap();
    let tail = std::fs::read(dir.join("tail_calls.bpf.o")).unwrap();
    let before = open_fds();

    for _ in 0..3 {
        let obj = KernelObject::load("xdp_lb.bpf.o", &lb).unwrap();
        let prog = obj.program("xdp_lb").unwrap();
        obj.test_run(prog, &TestRun::packet(&[0u8; 60])).unwrap();
        obj.ringbuf_drain("lb_stats").unwrap_err();
        drop(obj);
        let obj = KernelObject::load("tail_calls.bpf.o", &tail).unwrap();
        assert_eq!(obj.programs().len(), 4);
    }
    assert_eq!(open_fds(), before, "loaded objects close their fds");

    // Not an object, a truncated object: errors, no panic, no fd left.
    assert!(matches!(
        KernelObject::load("junk", b"not an ELF file"),
        Err(KernelError::Object(_))
    ));
    for cut in [0, 64, lb.len() / 3, lb.len() / 2, lb.len() - 1] {
        let _ = KernelObject::load("cut", &lb[..cut]);
    }
    // Random corruption of the object's bytes: any result but a panic.
    let mut seed = 0x2545_f491_4f6c_dd1du64;
    for _ in 0..200 {
        let mut bad = lb.clone();
        for _ in 0..4 {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            let at = (seed % bad.len() as u64) as usize;
            bad[at] ^= (seed >> 32) as u8 | 1;
        }
        let _ = KernelObject::load("corrupt", &bad);
    }

    // A rejected program and a raw program dropped.
    let bad = [RawInsn::new(0x95, 0, 0, 0, 0)];
    assert!(matches!(
        load_raw(&bad, ProgramType::Xdp, "bad"),
        Err(KernelError::Verifier { .. })
    ));
    let good = [
        RawInsn::new(0xb7, 0, 0, 0, 2),
        RawInsn::new(0x95, 0, 0, 0, 0),
    ];
    drop(load_raw(&good, ProgramType::Xdp, "good").unwrap());
    assert_eq!(open_fds(), before, "every path closes its fds");
}
