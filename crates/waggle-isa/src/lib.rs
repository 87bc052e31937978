//! The eBPF instruction set of RFC 9669 (ISA v4, as Linux 6.x runs it).
//!
//! - [`RawInsn`]: the 8-byte wire form of one slot.
//! - [`Insn`]: a typed instruction; every value is a valid instruction.
//! - [`Insn::decode`], [`decode_program`]: raw to typed, rejecting every invalid
//!   encoding (unknown opcode, bad register, reserved field set, truncated
//!   LD_IMM64, branch target outside the program) with the slot it was found at.
//! - [`Insn::encode`], [`encode_program`]: typed to raw; `decode` then `encode`
//!   gives back the input bytes.
//! - [`regs`]: the registers an instruction reads and writes, and which hold
//!   zero-extended values after it, for analyses.
//!
//! ```
//! use waggle_isa::{decode_program, encode_program, Insn};
//! let bytes = [0xb7, 0x00, 0, 0, 0x2a, 0, 0, 0, 0x95, 0, 0, 0, 0, 0, 0, 0];
//! let insns: Vec<Insn> = decode_program(&bytes).unwrap().into_iter().map(|(_, i)| i).collect();
//! assert_eq!(insns.len(), 2);
//! assert_eq!(encode_program(&insns), bytes);
//! ```

mod decode;
mod encode;
mod insn;
pub mod opcode;
mod raw;
pub mod regs;

pub use decode::{decode_program, decode_slots, DecodeError, DecodeErrorKind};
pub use encode::encode_program;
pub use insn::*;
pub use raw::RawInsn;
pub mod text;
pub use text::{assemble, format_insn, AsmError, AsmErrorKind, Syntax};
