//! The 8-byte wire form of one instruction slot.

use crate::opcode::INSN_SIZE;

/// One 64-bit instruction slot exactly as stored in an object file: opcode,
/// destination and source register nibbles, 16-bit offset and 32-bit immediate,
/// little-endian (the byte order of every target Waggle and Linux run on).
///
/// `RawInsn` holds any bit pattern; [`Insn::decode`](crate::Insn::decode) is
/// where validity is decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct RawInsn {
    pub opcode: u8,
    /// Destination register nibble (0..=15 before validation).
    pub dst: u8,
    /// Source register nibble (0..=15 before validation).
    pub src: u8,
    pub off: i16,
    pub imm: i32,
}

impl RawInsn {
    pub const fn new(opcode: u8, dst: u8, src: u8, off: i16, imm: i32) -> Self {
        RawInsn {
            opcode,
            dst,
            src,
            off,
            imm,
        }
    }

    pub fn from_bytes(b: [u8; INSN_SIZE]) -> Self {
        RawInsn {
            opcode: b[0],
            dst: b[1] & 0x0f,
            src: b[1] >> 4,
            off: i16::from_le_bytes([b[2], b[3]]),
            imm: i32::from_le_bytes([b[4], b[5], b[6], b[7]]),
        }
    }

    pub fn to_bytes(self) -> [u8; INSN_SIZE] {
        let off = self.off.to_le_bytes();
        let imm = self.imm.to_le_bytes();
        [
            self.opcode,
            (self.dst & 0x0f) | (self.src << 4),
            off[0],
            off[1],
            imm[0],
            imm[1],
            imm[2],
            imm[3],
        ]
    }

    /// Splits a byte buffer into slots. Returns `None` when the length is not a
    /// multiple of eight.
    pub fn slice_from_bytes(bytes: &[u8]) -> Option<Vec<RawInsn>> {
        if bytes.len() % INSN_SIZE != 0 {
            return None;
        }
        Some(
            bytes
                .chunks_exact(INSN_SIZE)
                .map(|c| RawInsn::from_bytes(c.try_into().expect("chunk of 8")))
                .collect(),
        )
    }

    /// Concatenates slots into their byte form.
    pub fn slice_to_bytes(insns: &[RawInsn]) -> Vec<u8> {
        insns.iter().flat_map(|i| i.to_bytes()).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn byte_layout_matches_linux_struct_bpf_insn() {
        // r3 = *(u32 *)(r10 - 8): opcode 0x61, dst 3, src 10, off -8
        let raw = RawInsn::new(0x61, 3, 10, -8, 0x1234_5678);
        let b = raw.to_bytes();
        assert_eq!(b, [0x61, 0xa3, 0xf8, 0xff, 0x78, 0x56, 0x34, 0x12]);
        assert_eq!(RawInsn::from_bytes(b), raw);
    }

    #[test]
    fn rejects_partial_slot() {
        assert!(RawInsn::slice_from_bytes(&[0u8; 12]).is_none());
        assert_eq!(RawInsn::slice_from_bytes(&[0u8; 16]).unwrap().len(), 2);
    }
}
