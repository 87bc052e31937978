//! The uBPF / bpf_conformance assembly syntax: the conformance suite's programs,
//! exact encodings, disassembly round trips of every instruction kind, and
//! error positions.

use std::path::Path;
use waggle_isa::text::ubpf::{assemble, format_insn};
use waggle_isa::*;

/// Sections of a bpf_conformance `.data` file (`-- asm`, `-- raw`, ...), by name.
fn sections(text: &str) -> Vec<(&str, String)> {
    let mut out: Vec<(&str, String)> = Vec::new();
    for line in text.lines() {
        if let Some(name) = line.strip_prefix("-- ") {
            out.push((name.trim(), String::new()));
        } else if let Some((_, body)) = out.last_mut() {
            body.push_str(line);
            body.push('\n');
        }
    }
    out
}

fn section<'a>(sections: &'a [(&str, String)], name: &str) -> Option<&'a str> {
    sections
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, body)| body.as_str())
}

/// Disassembles and reassembles `insns`, expecting the same instructions.
fn assert_round_trip(insns: &[Insn], context: &str) {
    let text: Vec<String> = insns.iter().map(format_insn).collect();
    let again = assemble(&text.join("\n"))
        .unwrap_or_else(|e| panic!("{context}: reassembling {text:#?}: {e}"));
    assert_eq!(again, insns, "{context}: {text:#?}");
}

/// Expected words of a `-- raw` section: each is one slot read as a
/// little-endian u64.
fn raw_words(body: &str) -> Vec<u64> {
    body.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(|l| {
            let hex = l.strip_prefix("0x").expect("raw words are hexadecimal");
            u64::from_str_radix(hex, 16).expect("raw word")
        })
        .collect()
}

#[test]
fn conformance_programs_assemble_and_round_trip() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/bpf_conformance/tests");
    let Ok(entries) = std::fs::read_dir(&dir) else {
        println!("skipped: no bpf_conformance tests at {}", dir.display());
        return;
    };
    let mut paths: Vec<_> = entries
        .map(|e| e.expect("directory entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "data"))
        .collect();
    paths.sort();
    let mut raw_checked = 0;
    for path in &paths {
        let name = path.file_name().unwrap().to_string_lossy();
        let text = std::fs::read_to_string(path).expect("readable test file");
        let sections = sections(&text);
        let asm = section(&sections, "asm").unwrap_or_else(|| panic!("{name}: no asm section"));
        let insns = assemble(asm).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(!insns.is_empty(), "{name}: no instructions");
        assert_round_trip(&insns, &name);
        // Whatever the assembler builds is a valid program.
        let bytes = encode_program(&insns);
        let decoded: Vec<Insn> = decode_program(&bytes)
            .unwrap_or_else(|e| panic!("{name}: {e}"))
            .into_iter()
            .map(|(_, i)| i)
            .collect();
        assert_eq!(decoded, insns, "{name}");
        if let Some(raw) = section(&sections, "raw") {
            let words: Vec<u64> = bytes
                .chunks_exact(8)
                .map(|c| u64::from_le_bytes(c.try_into().unwrap()))
                .collect();
            assert_eq!(words, raw_words(raw), "{name}: raw encoding");
            raw_checked += 1;
        }
    }
    assert!(paths.len() > 300, "only {} conformance files", paths.len());
    assert!(raw_checked >= 1, "no `-- raw` section was checked");
    println!(
        "{} conformance files checked, {raw_checked} with raw encodings",
        paths.len()
    );
}

#[test]
fn encodings_are_exact() {
    let cases: &[(&str, &[u8])] = &[
        ("mov %r0, 1", &[0xb7, 0x00, 0, 0, 1, 0, 0, 0]),
        ("mov32 %r1, %r2", &[0xbc, 0x21, 0, 0, 0, 0, 0, 0]),
        (
            "add32 %r1, 0xffffff80",
            &[0x04, 0x01, 0, 0, 0x80, 0xff, 0xff, 0xff],
        ),
        ("sdiv %r1, -3", &[0x37, 0x01, 1, 0, 0xfd, 0xff, 0xff, 0xff]),
        ("smod32 %r1, %r2", &[0x9c, 0x21, 1, 0, 0, 0, 0, 0]),
        ("movsx832 %r2, %r1", &[0xbc, 0x12, 8, 0, 0, 0, 0, 0]),
        ("movsx3264 r0, r9", &[0xbf, 0x90, 32, 0, 0, 0, 0, 0]),
        ("neg32 %r3", &[0x84, 0x03, 0, 0, 0, 0, 0, 0]),
        ("be16 %r0", &[0xdc, 0x00, 0, 0, 16, 0, 0, 0]),
        ("le64 %r0", &[0xd4, 0x00, 0, 0, 64, 0, 0, 0]),
        ("swap32 %r3", &[0xd7, 0x03, 0, 0, 32, 0, 0, 0]),
        ("ldxh %r0, [%r1+2]", &[0x69, 0x10, 2, 0, 0, 0, 0, 0]),
        ("ldxsb %r0, [%r10-1]", &[0x91, 0xa0, 0xff, 0xff, 0, 0, 0, 0]),
        ("ldxdw %r0, [%r1]", &[0x79, 0x10, 0, 0, 0, 0, 0, 0]),
        (
            "stw [%r10-4], 0x11223344",
            &[0x62, 0x0a, 0xfc, 0xff, 0x44, 0x33, 0x22, 0x11],
        ),
        ("stxdw [%r10-8], %r0", &[0x7b, 0x0a, 0xf8, 0xff, 0, 0, 0, 0]),
        (
            "lock fetch add32 [%r10-8], %r1",
            &[0xc3, 0x1a, 0xf8, 0xff, 0x01, 0, 0, 0],
        ),
        ("lock xor [%r1+4], %r2", &[0xdb, 0x21, 4, 0, 0xa0, 0, 0, 0]),
        (
            "lock cmpxchg [%r1], %r2",
            &[0xdb, 0x21, 0, 0, 0xf1, 0, 0, 0],
        ),
        ("lock xchg32 [%r1], %r2", &[0xc3, 0x21, 0, 0, 0xe1, 0, 0, 0]),
        ("jne %r0, 15, +3", &[0x55, 0x00, 3, 0, 15, 0, 0, 0]),
        ("jeq32 %r1, %r2, -1", &[0x1e, 0x21, 0xff, 0xff, 0, 0, 0, 0]),
        (
            "jsle %r1, -2, +0",
            &[0xd5, 0x01, 0, 0, 0xfe, 0xff, 0xff, 0xff],
        ),
        ("ja -2", &[0x05, 0x00, 0xfe, 0xff, 0, 0, 0, 0]),
        ("ja32 +1", &[0x06, 0x00, 0, 0, 1, 0, 0, 0]),
        ("ldabsw 16", &[0x20, 0x00, 0, 0, 16, 0, 0, 0]),
        ("ldindh %r1, 4", &[0x48, 0x10, 0, 0, 4, 0, 0, 0]),
        ("call 5", &[0x85, 0x00, 0, 0, 5, 0, 0, 0]),
        ("call local +2", &[0x85, 0x10, 0, 0, 2, 0, 0, 0]),
        ("call kfunc 7, 2", &[0x85, 0x20, 2, 0, 7, 0, 0, 0]),
        ("call %r2", &[0x8d, 0x02, 0, 0, 0, 0, 0, 0]),
        ("exit", &[0x95, 0x00, 0, 0, 0, 0, 0, 0]),
        (
            "lddw %r0, 0x1122334455667788",
            &[
                0x18, 0x00, 0, 0, 0x88, 0x77, 0x66, 0x55, 0, 0, 0, 0, 0x44, 0x33, 0x22, 0x11,
            ],
        ),
        (
            "lddw %r1, -1",
            &[
                0x18, 0x01, 0, 0, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff,
            ],
        ),
        (
            "lddw %r1, map_fd 3",
            &[0x18, 0x11, 0, 0, 3, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
        ),
        (
            "lddw %r2, map_value 3, 16",
            &[0x18, 0x22, 0, 0, 3, 0, 0, 0, 0, 0, 0, 0, 16, 0, 0, 0],
        ),
        (
            "lddw %r3, btf_id 5, 1",
            &[0x18, 0x33, 0, 0, 5, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0],
        ),
        (
            "lddw %r4, func -1",
            &[
                0x18, 0x44, 0, 0, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0, 0, 0, 0, 0,
            ],
        ),
        (
            "lddw %r5, map_idx 2",
            &[0x18, 0x55, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
        ),
        (
            "lddw %r6, map_idx_value 2, 8",
            &[0x18, 0x66, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 8, 0, 0, 0],
        ),
    ];
    for &(text, bytes) in cases {
        let insns = assemble(text).unwrap_or_else(|e| panic!("`{text}`: {e}"));
        assert_eq!(encode_program(&insns), bytes, "`{text}`");
    }
}

#[test]
fn labels_count_slots_and_follow_conformance_conventions() {
    // `lddw` takes two slots; a label may share a line with an instruction;
    // `//` comments; registers without `%`.
    let src = "start: mov r0, 0 // zero\n lddw %r1, 5\n jeq %r0, 0, start\n ja32 end\nend:\n exit";
    let insns = assemble(src).unwrap();
    assert_eq!(
        insns[2],
        Insn::Jump {
            width: Width::W64,
            cond: JmpCond::Eq,
            dst: Reg::R0,
            src: Source::Imm(0),
            off: -4
        }
    );
    assert_eq!(insns[3], Insn::JaLong { imm: 0 });

    // An undefined `exit` label is the first `exit` instruction...
    let insns = assemble("ja exit\nmov %r0, 1\nexit\nexit").unwrap();
    assert_eq!(insns[0], Insn::Ja { off: 1 });
    // ...unless a label of that name exists.
    let insns = assemble("ja exit\nexit\nexit:\nexit").unwrap();
    assert_eq!(insns[0], Insn::Ja { off: 1 });

    // Labels named like mnemonics, and function references by label (relative
    // to the slot after the first one of the `lddw`).
    let insns = assemble("call local mov\nlddw %r1, func mov\nexit\nmov: exit").unwrap();
    assert_eq!(insns[0], Insn::Call(CallTarget::Local(3)));
    assert_eq!(
        insns[1],
        Insn::LdImm64 {
            dst: Reg::R1,
            value: LdImm64::Func(2)
        }
    );

    // bpf_conformance's explicit call modes.
    assert_eq!(
        assemble("call helper 7").unwrap(),
        [Insn::Call(CallTarget::Helper(7))]
    );
    assert_eq!(
        assemble("call runtime 7").unwrap(),
        [Insn::Call(CallTarget::Kfunc {
            btf_id: 7,
            module: 0
        })]
    );
    assert_eq!(
        assemble("add64 %r1, 2").unwrap(),
        assemble("add %r1, 2").unwrap()
    );
}

/// One of every instruction kind, in every valid width, size and source.
fn every_insn_kind() -> Vec<Insn> {
    let (r1, r2) = (Reg::R1, Reg::R10);
    let widths = [Width::W32, Width::W64];
    let sources = [
        Source::Reg(Reg::R9),
        Source::Imm(-7),
        Source::Imm(i32::MIN),
        Source::Imm(i32::MAX),
    ];
    let plain_alu = [
        AluOp::Add,
        AluOp::Sub,
        AluOp::Mul,
        AluOp::Div,
        AluOp::Sdiv,
        AluOp::Or,
        AluOp::And,
        AluOp::Lsh,
        AluOp::Rsh,
        AluOp::Mod,
        AluOp::Smod,
        AluOp::Xor,
        AluOp::Mov,
        AluOp::Arsh,
    ];
    let sizes = [MemSize::B, MemSize::H, MemSize::W, MemSize::DW];
    let offsets = [0, 1, -8, i16::MIN, i16::MAX];
    let mut out = Vec::new();
    for width in widths {
        for op in plain_alu {
            for src in sources {
                out.push(Insn::Alu {
                    width,
                    op,
                    dst: r1,
                    src,
                });
            }
        }
        for op in [AluOp::MovSx8, AluOp::MovSx16] {
            out.push(Insn::Alu {
                width,
                op,
                dst: r1,
                src: Source::Reg(r2),
            });
        }
        out.push(Insn::Neg { width, dst: r2 });
        for cond in JmpCond::ALL {
            for src in sources {
                for off in offsets {
                    out.push(Insn::Jump {
                        width,
                        cond,
                        dst: r1,
                        src,
                        off,
                    });
                }
            }
        }
    }
    out.push(Insn::Alu {
        width: Width::W64,
        op: AluOp::MovSx32,
        dst: r1,
        src: Source::Reg(r2),
    });
    for op in [EndianOp::ToLe, EndianOp::ToBe, EndianOp::Swap] {
        for bits in [16, 32, 64] {
            out.push(Insn::Endian { op, bits, dst: r1 });
        }
    }
    for off in offsets {
        out.push(Insn::Ja { off });
    }
    for imm in [0, -1, i32::MIN, i32::MAX] {
        out.push(Insn::JaLong { imm });
        out.push(Insn::Call(CallTarget::Helper(imm)));
        out.push(Insn::Call(CallTarget::Local(imm)));
    }
    for size in sizes {
        for off in offsets {
            out.push(Insn::Load {
                size,
                sign_extend: false,
                dst: r1,
                src: r2,
                off,
            });
            out.push(Insn::Store {
                size,
                dst: r2,
                off,
                src: Source::Reg(r1),
            });
            out.push(Insn::Store {
                size,
                dst: r2,
                off,
                src: Source::Imm(-5),
            });
        }
        if size != MemSize::DW {
            out.push(Insn::Load {
                size,
                sign_extend: true,
                dst: r1,
                src: r2,
                off: -3,
            });
            out.push(Insn::LdAbs { size, imm: 12 });
            out.push(Insn::LdInd {
                size,
                src: r1,
                imm: -2,
            });
        }
    }
    let atomic_ops = [
        AtomicOp::Add { fetch: false },
        AtomicOp::Add { fetch: true },
        AtomicOp::Or { fetch: false },
        AtomicOp::Or { fetch: true },
        AtomicOp::And { fetch: false },
        AtomicOp::And { fetch: true },
        AtomicOp::Xor { fetch: false },
        AtomicOp::Xor { fetch: true },
        AtomicOp::Xchg,
        AtomicOp::Cmpxchg,
    ];
    for size in [MemSize::W, MemSize::DW] {
        for op in atomic_ops {
            out.push(Insn::Atomic {
                size,
                op,
                dst: r2,
                src: r1,
                off: -16,
            });
        }
    }
    let ld_imm64 = [
        LdImm64::Imm(0),
        LdImm64::Imm(u64::MAX),
        LdImm64::Imm(0x1122_3344_5566_7788),
        LdImm64::MapFd(3),
        LdImm64::MapFd(-1),
        LdImm64::MapValue {
            map_fd: 3,
            offset: u32::MAX,
        },
        LdImm64::BtfId {
            btf_id: 5,
            btf_fd: -2,
        },
        LdImm64::Func(-4),
        LdImm64::Func(i32::MAX),
        LdImm64::MapIdx(0),
        LdImm64::MapIdxValue {
            map_idx: 1,
            offset: 8,
        },
    ];
    for value in ld_imm64 {
        out.push(Insn::LdImm64 { dst: r1, value });
    }
    out.push(Insn::Call(CallTarget::Kfunc {
        btf_id: 42,
        module: 0,
    }));
    out.push(Insn::Call(CallTarget::Kfunc {
        btf_id: -1,
        module: i16::MIN,
    }));
    out.push(Insn::CallX { dst: r1 });
    out.push(Insn::Exit);
    out
}

#[test]
fn every_instruction_kind_round_trips() {
    let insns = every_insn_kind();
    for insn in &insns {
        let text = format_insn(insn);
        let again = assemble(&text).unwrap_or_else(|e| panic!("`{text}` from {insn:?}: {e}"));
        assert_eq!(again, [*insn], "`{text}`");
    }
    // The same instructions as one program (numeric offsets are relative, so
    // the surrounding instructions do not matter).
    assert_round_trip(&insns, "every kind");
}

#[test]
fn disassembly_spelling() {
    let cases = [
        (
            Insn::Jump {
                width: Width::W64,
                cond: JmpCond::Ne,
                dst: Reg::R0,
                src: Source::Imm(15),
                off: 3,
            },
            "jne %r0, 15, +3",
        ),
        (Insn::Ja { off: -2 }, "ja -2"),
        (Insn::Call(CallTarget::Local(5)), "call local +5"),
        (
            Insn::LdImm64 {
                dst: Reg::R0,
                value: LdImm64::Imm(0x1122_3344_5566_7788),
            },
            "lddw %r0, 0x1122334455667788",
        ),
        (
            Insn::Load {
                size: MemSize::W,
                sign_extend: false,
                dst: Reg::R0,
                src: Reg::R1,
                off: 0,
            },
            "ldxw %r0, [%r1+0]",
        ),
        (
            Insn::Store {
                size: MemSize::DW,
                dst: Reg::R10,
                off: -8,
                src: Source::Reg(Reg::R1),
            },
            "stxdw [%r10-8], %r1",
        ),
        (
            Insn::Atomic {
                size: MemSize::W,
                op: AtomicOp::Add { fetch: true },
                dst: Reg::R10,
                src: Reg::R1,
                off: -8,
            },
            "lock fetch add32 [%r10-8], %r1",
        ),
        (
            Insn::Alu {
                width: Width::W32,
                op: AluOp::Mov,
                dst: Reg::R2,
                src: Source::Imm(-128),
            },
            "mov32 %r2, -128",
        ),
        (
            Insn::Alu {
                width: Width::W64,
                op: AluOp::MovSx16,
                dst: Reg::R2,
                src: Source::Reg(Reg::R3),
            },
            "movsx1664 %r2, %r3",
        ),
        (
            Insn::Endian {
                op: EndianOp::Swap,
                bits: 16,
                dst: Reg::R0,
            },
            "bswap16 %r0",
        ),
        (
            Insn::LdImm64 {
                dst: Reg::R1,
                value: LdImm64::MapValue {
                    map_fd: 3,
                    offset: 16,
                },
            },
            "lddw %r1, map_value 3, 16",
        ),
        (
            Insn::Call(CallTarget::Kfunc {
                btf_id: 9,
                module: 0,
            }),
            "call kfunc 9",
        ),
    ];
    for (insn, text) in cases {
        assert_eq!(format_insn(&insn), text);
    }
}

/// Assembles `src`, expecting an error at `line`:`column`; returns its kind.
fn error_at(src: &str, line: usize, column: usize) -> AsmErrorKind {
    let err = assemble(src).expect_err(src);
    assert_eq!((err.line, err.column), (line, column), "`{src}`: {err}");
    err.kind
}

#[test]
fn errors_carry_line_and_column() {
    use AsmErrorKind::*;
    assert_eq!(
        error_at("exit\n  foo %r0, 1", 2, 3),
        UnknownMnemonic("foo".into())
    );
    assert_eq!(error_at("mov %r11, 1", 1, 5), BadRegister("%r11".into()));
    assert_eq!(error_at("mov %r1, r12", 1, 10), BadRegister("r12".into()));
    assert_eq!(
        error_at("mov %r0, 1\nja nowhere\nexit", 2, 4),
        UndefinedLabel("nowhere".into())
    );
    assert_eq!(
        error_at("a:\nexit\n  a: exit", 3, 3),
        DuplicateLabel("a".into())
    );
    assert_eq!(
        error_at("mov %r0, 0x100000000", 1, 10),
        OutOfRange {
            what: "immediate",
            value: 0x1_0000_0000,
            bits: 32
        }
    );
    assert_eq!(
        error_at("mov %r0, -0x80000001", 1, 10),
        OutOfRange {
            what: "immediate",
            value: -0x8000_0001,
            bits: 32
        }
    );
    assert_eq!(
        error_at("lddw %r0, 0x10000000000000000", 1, 11),
        OutOfRange {
            what: "immediate",
            value: 1 << 64,
            bits: 64
        }
    );
    assert_eq!(
        error_at("ldxw %r0, [%r1+32768]", 1, 15),
        OutOfRange {
            what: "offset",
            value: 32768,
            bits: 16
        }
    );
    assert_eq!(
        error_at("ja +32768", 1, 4),
        OutOfRange {
            what: "branch offset",
            value: 32768,
            bits: 16
        }
    );
    // A label too far for a 16-bit jump, fine for `ja32`.
    let far = format!("ja end\n{}end: exit", "mov %r0, 0\n".repeat(40_000));
    assert_eq!(
        error_at(&far, 1, 4),
        OutOfRange {
            what: "branch offset",
            value: 40_000,
            bits: 16
        }
    );
    assert!(assemble(&far.replacen("ja end", "ja32 end", 1)).is_ok());

    assert_eq!(
        error_at("mov %r0,", 1, 9),
        MissingOperand("register or immediate")
    );
    assert_eq!(
        error_at("mov %r0", 1, 8),
        MissingOperand("register or immediate")
    );
    assert_eq!(error_at("ldxw %r0, [%r1+2", 1, 17), MissingOperand("`]`"));
    assert_eq!(
        error_at("jeq %r0, 1 # no target", 1, 11),
        MissingOperand("jump target")
    );
    assert_eq!(error_at("exit 5", 1, 6), TrailingInput("5".into()));
    assert_eq!(error_at("mov %r0, 1, 2", 1, 11), TrailingInput(",".into()));
    assert_eq!(error_at("mov %r0, 0x1g", 1, 10), BadNumber("0x1g".into()));
    assert_eq!(
        error_at("ja 3", 1, 4),
        Expected {
            expected: "label or offset (`+N`, `-N`)",
            found: "3".into()
        }
    );
    assert_eq!(
        error_at("movsx864 %r0, 1", 1, 15),
        Expected {
            expected: "register",
            found: "1".into()
        }
    );
    assert!(matches!(
        error_at("lock fetch xchg [%r1], %r2", 1, 12),
        Expected { .. }
    ));
    assert!(matches!(
        error_at("ldxsdw %r0, [%r1]", 1, 1),
        UnknownMnemonic(_)
    ));
    assert!(matches!(
        error_at("movsx3232 %r0, %r1", 1, 1),
        UnknownMnemonic(_)
    ));
}

#[test]
fn no_input_panics() {
    // Prefixes of valid lines exercise every "ends too early" path, and odd
    // characters every "unexpected token" path.
    let lines = [
        "lock fetch add32 [%r10-8], %r1",
        "lddw %r1, map_idx_value 2, 8",
        "lddw %r1, btf_id 5, 0",
        "call kfunc 7, 2",
        "jsge32 %r1, -0x10, +3",
        "stxdw [%r10-8], %r1",
        "lbl: ldindw %r1, 4",
    ];
    for line in lines {
        for (end, _) in line.char_indices() {
            let _ = assemble(&line[..end]);
        }
    }
    for junk in [
        "%",
        "[",
        "]]",
        ":",
        "::",
        "-",
        "+-1",
        "é",
        "mov é, 1",
        "ja +",
        "0x",
        "r1:",
        "call local",
    ] {
        let _ = assemble(junk);
        let _ = assemble(&format!("mov %r0, {junk}"));
        let _ = assemble(&format!("ldxw %r0, [%r1{junk}]"));
    }
}
