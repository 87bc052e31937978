//! Any bytes as an ELF object: the loader returns an object or an error
//! naming the problem, never panics or hangs.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = waggle_object::Object::parse("fuzz.o", data);
});
