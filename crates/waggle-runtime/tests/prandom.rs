//! `RunConfig::prandom_seed`: reproducible `bpf_get_prandom_u32`.
//!
//! A test binary of its own: runs here take per-thread CPU slots, which
//! `loading.rs` counts.

use std::path::Path;
use waggle_runtime::{Engine, LoadOptions, LoadedObject, RunConfig};

/// The same seed gives the same numbers on every engine, another seed
/// others. `prandom_loop` xors its 32 numbers into `draws` in `.bss`, so
/// each run gets a fresh object.
#[test]
fn seeded_random_numbers_repeat_on_every_engine() {
    let path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../waggle-bench/programs/c/prandom_loop.bpf.o");
    let frame = [0x42u8; 64];
    let draws = |seed: u64, engine: Engine| {
        let obj = LoadedObject::from_file(&path, &LoadOptions::default()).unwrap();
        let def = &obj.object.programs[0];
        waggle_verifier::verify(def, &obj.object.maps, &Default::default()).unwrap();
        let prog = obj.program(&def.name).unwrap();
        let cfg = RunConfig {
            prandom_seed: Some(seed),
            ..RunConfig::default()
        };
        // SAFETY: the verifier accepted the program above.
        unsafe { obj.run_packet_with(prog, &frame, &cfg, engine) }.unwrap();
        obj.map(".bss")
            .unwrap()
            .lookup(&0u32.to_le_bytes())
            .unwrap()
    };
    let first = draws(7, Engine::Interp);
    for engine in Engine::ALL {
        assert_eq!(draws(7, engine), first, "{engine}");
    }
    assert_ne!(draws(8, Engine::Jit), first);
}
