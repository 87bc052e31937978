//! Bad objects get errors that name the object, section and reason; no input
//! panics the loader. A bounded mutation run over real objects stands in for
//! the `object` fuzz target in the test suite.

use waggle_object::{ErrorKind, Object};

fn example(name: &str) -> Vec<u8> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../examples/c")
        .join(name);
    std::fs::read(path).expect("example object")
}

#[test]
fn not_an_object() {
    let err = Object::parse("junk.o", b"hello, world").unwrap_err();
    assert_eq!(err.object, "junk.o");
    assert!(matches!(err.kind, ErrorKind::Elf(_)), "{err}");
    let err = Object::parse("empty.o", &[]).unwrap_err();
    assert!(matches!(err.kind, ErrorKind::Elf(_)), "{err}");
}

#[test]
fn truncated_objects_are_errors_at_every_length() {
    let data = example("xdp_drop_icmp.bpf.o");
    for len in (0..data.len()).step_by(7) {
        if let Err(e) = Object::parse("t.o", &data[..len]) {
            assert!(e.to_string().starts_with("t.o"), "{e}");
        }
    }
}

#[test]
fn wrong_machine_is_named() {
    let mut data = example("xdp_drop_icmp.bpf.o");
    // e_machine at offset 18: EM_X86_64 (62).
    data[18] = 62;
    data[19] = 0;
    let err = Object::parse("x86.o", &data).unwrap_err();
    assert_eq!(err.kind, ErrorKind::NotBpf(62));
    assert_eq!(
        err.to_string(),
        "x86.o: not an eBPF object (ELF machine 62, expected 247 for BPF)"
    );
}

#[test]
fn unknown_program_section_is_named() {
    let data = include_bytes!("data/unknown_section.bpf.o");
    let err = Object::parse("s.o", data).unwrap_err();
    assert_eq!(err.section.as_deref(), Some("frobnicate"));
    assert!(matches!(err.kind, ErrorKind::UnknownSection(_)), "{err}");
    assert!(
        err.to_string()
            .starts_with("s.o: section `frobnicate`: unknown program section type"),
        "{err}"
    );
}

/// xorshift64*: deterministic mutations.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
}

#[test]
fn mutated_objects_never_panic() {
    let seeds = [
        "xdp_lb.bpf.o",
        "tail_calls.bpf.o",
        "core_read.bpf.o",
        "subprog_globals.bpf.o",
    ];
    let mut rng = Rng(0xfeed_beef_1234_5678);
    let (mut ok, mut failed) = (0, 0);
    for seed in seeds {
        let original = example(seed);
        for _ in 0..600 {
            let mut data = original.clone();
            for _ in 0..1 + rng.next() % 8 {
                let i = (rng.next() % data.len() as u64) as usize;
                match rng.next() % 3 {
                    0 => data[i] ^= 1 << (rng.next() % 8),
                    1 => data[i] = rng.next() as u8,
                    _ => data[i] = [0, 0xff, 0x7f, 0x80][(rng.next() % 4) as usize],
                }
            }
            match Object::parse("m.o", &data) {
                Ok(_) => ok += 1,
                Err(e) => {
                    assert!(e.to_string().starts_with("m.o"), "{e}");
                    failed += 1
                }
            }
        }
    }
    println!("mutated objects: {ok} loaded, {failed} rejected with an error, 0 panics");
    assert!(failed > 0, "mutations must hit something");
}
