//! Where a function's innermost loop falls in the instruction cache.
//!
//! How fast a small loop runs on x86-64 depends on where its code falls in
//! 64-byte lines (the front end's fetch and decoded-instruction-cache
//! unit): the same machine code ran `char_class` 20% slower when a change
//! four bytes earlier in the function moved its loop, and `adler32` 25%
//! faster with its loop starting a line. Compilers align loop heads for
//! this; Cranelift aligns neither functions (cranelift-jit places them at
//! any byte) nor loops. So the JIT places every function at a 64-byte
//! boundary and starts it with as many padding bytes as make its innermost
//! loop's head (marked by `optimize.rs` with a source location) start a
//! line. The padding runs once per call.

use crate::optimize::loop_head;
use cranelift_codegen::CompiledCode;

/// The alignment of function starts.
pub(crate) const FUNCTION_ALIGNMENT: u64 = 64;
const LINE: usize = 64;

/// How many bytes of padding to put before `code` so that the first
/// instruction marked [`loop_head`] (the innermost loop's head) starts a
/// 64-byte line; 0 if it has no loop.
pub(crate) fn padding(code: &CompiledCode) -> usize {
    code.buffer
        .get_srclocs_sorted()
        .iter()
        .find(|range| range.loc == loop_head())
        .map_or(0, |range| (LINE - range.start as usize % LINE) % LINE)
}

/// `len` bytes of x86-64 code that do nothing: the recommended multi-byte
/// `nop`s for short paddings, a short jump over `int3`s for long ones.
pub(crate) fn x86_padding(len: usize) -> Vec<u8> {
    const NOPS: [&[u8]; 9] = [
        &[0x90],
        &[0x66, 0x90],
        &[0x0f, 0x1f, 0x00],
        &[0x0f, 0x1f, 0x40, 0x00],
        &[0x0f, 0x1f, 0x44, 0x00, 0x00],
        &[0x66, 0x0f, 0x1f, 0x44, 0x00, 0x00],
        &[0x0f, 0x1f, 0x80, 0x00, 0x00, 0x00, 0x00],
        &[0x0f, 0x1f, 0x84, 0x00, 0x00, 0x00, 0x00, 0x00],
        &[0x66, 0x0f, 0x1f, 0x84, 0x00, 0x00, 0x00, 0x00, 0x00],
    ];
    let mut bytes = Vec::with_capacity(len);
    if len > 2 * NOPS.len() {
        // jmp rel8 over the rest
        bytes.extend([0xeb, (len - 2) as u8]);
        bytes.resize(len, 0xcc);
        return bytes;
    }
    let mut left = len;
    while left > 0 {
        let nop = NOPS[left.min(NOPS.len()) - 1];
        bytes.extend_from_slice(nop);
        left -= nop.len();
    }
    bytes
}

#[cfg(test)]
mod tests {
    use super::x86_padding;

    #[test]
    fn padding_has_the_asked_length() {
        for len in 0..64 {
            let bytes = x86_padding(len);
            assert_eq!(bytes.len(), len);
            if len > 18 {
                assert_eq!(bytes[..2], [0xeb, (len - 2) as u8]);
            }
        }
    }
}
