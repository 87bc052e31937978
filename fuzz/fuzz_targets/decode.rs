//! Any byte string: decoding never panics, and what decodes encodes back to
//! the same bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use waggle_isa::{decode_program, encode_program, Insn};

fuzz_target!(|data: &[u8]| {
    if let Ok(insns) = decode_program(data) {
        let insns: Vec<Insn> = insns.into_iter().map(|(_, i)| i).collect();
        assert_eq!(encode_program(&insns), data);
    }
});
