//! Decode/encode round trips over the whole opcode space, and the rejection of
//! invalid encodings.

use waggle_isa::*;

/// Field values that exercise the boundaries each decoder rule looks at.
const OFFS: [i16; 7] = [0, 1, 8, 16, 32, -1, i16::MIN];
const IMMS: [i32; 9] = [0, 1, 16, 32, 64, 0x41, 0xe1, 0xf1, -1];

#[test]
fn every_accepted_single_slot_encoding_round_trips() {
    let mut accepted = 0;
    for opcode in 0..=255u8 {
        if opcode == 0x18 {
            continue; // LD_IMM64, covered below
        }
        for regs in 0..=255u8 {
            for &off in &OFFS {
                for &imm in &IMMS {
                    let raw = RawInsn::new(opcode, regs & 0xf, regs >> 4, off, imm);
                    if let Ok(insn) = Insn::decode(&[raw]) {
                        accepted += 1;
                        assert_eq!(insn.encode(), vec![raw], "{insn:?} from {raw:?}");
                    }
                }
            }
        }
    }
    // Sanity: the decoder accepts a substantial part of the space, not nothing.
    assert!(accepted > 50_000, "only {accepted} encodings accepted");
}

#[test]
fn ld_imm64_variants_round_trip() {
    for src in 0..=6u8 {
        for hi in [0, 7, -1] {
            let slots = [
                RawInsn::new(0x18, 3, src, 0, 0x1234),
                RawInsn::new(0, 0, 0, 0, hi),
            ];
            match Insn::decode(&slots) {
                Ok(insn) => assert_eq!(insn.encode(), slots.to_vec()),
                // Map fd, func and map idx forms reserve the second immediate.
                Err(DecodeErrorKind::ReservedField { .. }) => {
                    assert!(hi != 0 && [1, 4, 5].contains(&src))
                }
                Err(e) => panic!("src {src}: {e}"),
            }
        }
    }
    let wide = Insn::LdImm64 {
        dst: Reg::R1,
        value: LdImm64::Imm(0x1122_3344_5566_7788),
    };
    let bytes = encode_program(&[wide]);
    assert_eq!(
        bytes,
        [0x18, 0x01, 0, 0, 0x88, 0x77, 0x66, 0x55, 0, 0, 0, 0, 0x44, 0x33, 0x22, 0x11]
    );
}

fn kind_of(slots: &[RawInsn]) -> DecodeErrorKind {
    Insn::decode(slots).expect_err("must be rejected")
}

#[test]
fn invalid_encodings_are_named() {
    assert_eq!(
        kind_of(&[RawInsn::new(0xff, 0, 0, 0, 0)]),
        DecodeErrorKind::UnknownOpcode(0xff)
    );
    // mov r11, 0
    assert!(matches!(
        kind_of(&[RawInsn::new(0xb7, 11, 0, 0, 0)]),
        DecodeErrorKind::BadRegister { value: 11, .. }
    ));
    // add r0, 1 with a source register set
    assert!(matches!(
        kind_of(&[RawInsn::new(0x07, 0, 3, 0, 1)]),
        DecodeErrorKind::ReservedField {
            field: "src",
            value: 3,
            ..
        }
    ));
    // exit with an immediate
    assert!(matches!(
        kind_of(&[RawInsn::new(0x95, 0, 0, 0, 9)]),
        DecodeErrorKind::ReservedField { field: "imm", .. }
    ));
    // LD_IMM64 as the last slot
    assert_eq!(
        kind_of(&[RawInsn::new(0x18, 0, 0, 0, 1)]),
        DecodeErrorKind::TruncatedLdImm64
    );
    // LD_IMM64 whose second slot carries an opcode
    assert_eq!(
        kind_of(&[
            RawInsn::new(0x18, 0, 0, 0, 1),
            RawInsn::new(0x95, 0, 0, 0, 0)
        ]),
        DecodeErrorKind::BadLdImm64SecondSlot
    );
    // be24
    assert!(matches!(
        kind_of(&[RawInsn::new(0xdc, 0, 0, 0, 24)]),
        DecodeErrorKind::BadImmediate { .. }
    ));
    // movsx32 on a 32-bit ALU
    assert!(matches!(
        kind_of(&[RawInsn::new(0xbc, 0, 1, 32, 0)]),
        DecodeErrorKind::BadOffset { .. }
    ));
    // byte-sized atomic
    assert_eq!(
        kind_of(&[RawInsn::new(0xd3, 1, 2, 0, 0)]),
        DecodeErrorKind::UnknownOpcode(0xd3)
    );
    // unknown atomic operation
    assert!(matches!(
        kind_of(&[RawInsn::new(0xdb, 1, 2, 0, 0x10)]),
        DecodeErrorKind::BadImmediate { .. }
    ));
}

#[test]
fn program_level_errors_carry_the_pc() {
    let ret = RawInsn::new(0x95, 0, 0, 0, 0);
    // ja +5 in a 2-slot program
    let prog = RawInsn::slice_to_bytes(&[RawInsn::new(0x05, 0, 0, 5, 0), ret]);
    let err = decode_program(&prog).unwrap_err();
    assert_eq!(err.pc, 0);
    assert!(
        matches!(
            err.kind,
            DecodeErrorKind::TargetOutOfRange { target: 6, .. }
        ),
        "{err}"
    );
    // jump into the middle of an LD_IMM64
    let prog = RawInsn::slice_to_bytes(&[
        RawInsn::new(0x05, 0, 0, 1, 0),
        RawInsn::new(0x18, 0, 0, 0, 1),
        RawInsn::new(0, 0, 0, 0, 0),
        ret,
    ]);
    assert!(matches!(
        decode_program(&prog).unwrap_err().kind,
        DecodeErrorKind::TargetInsideLdImm64 { target: 2, .. }
    ));
    // a bad opcode later in the program reports its slot
    let prog = RawInsn::slice_to_bytes(&[
        RawInsn::new(0xb7, 0, 0, 0, 0),
        RawInsn::new(0xee, 0, 0, 0, 0),
    ]);
    let err = decode_program(&prog).unwrap_err();
    assert_eq!(err.pc, 1);
    assert_eq!(err.to_string(), "instruction 1: unknown opcode 0xee");
    // partial slot
    assert!(matches!(
        decode_program(&[0u8; 9]).unwrap_err().kind,
        DecodeErrorKind::PartialSlot(9)
    ));
    // slots carry their pc across LD_IMM64
    let prog = RawInsn::slice_to_bytes(&[
        RawInsn::new(0x18, 0, 0, 0, 1),
        RawInsn::new(0, 0, 0, 0, 0),
        ret,
    ]);
    let pcs: Vec<usize> = decode_program(&prog)
        .unwrap()
        .iter()
        .map(|(pc, _)| *pc)
        .collect();
    assert_eq!(pcs, [0, 2]);
}
