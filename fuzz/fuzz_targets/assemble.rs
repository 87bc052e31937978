//! Any text, in both syntaxes: the assembler never panics, and what assembles
//! formats to text that assembles to the same instructions.
#![no_main]

use libfuzzer_sys::fuzz_target;
use waggle_isa::{assemble, format_insn, Syntax};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    for syntax in [Syntax::Ubpf, Syntax::Llvm] {
        let Ok(insns) = assemble(text, syntax) else {
            continue;
        };
        for insn in insns {
            let printed = format_insn(&insn, syntax);
            // Branch offsets print numerically, so each line stands alone.
            let again = assemble(&printed, syntax)
                .unwrap_or_else(|e| panic!("`{printed}` does not re-assemble: {e}"));
            assert_eq!(again, vec![insn], "`{printed}`");
        }
    }
});
