//! A clang-compiled object with legacy map definitions, global data in each
//! section kind, and subprograms reached by relocated calls.

use waggle_isa::{decode_slots, CallTarget, Insn, LdImm64, Reg};
use waggle_object::{Object, ProgramType};

fn load() -> Object {
    let bytes = include_bytes!("data/legacy.bpf.o");
    Object::parse("legacy.bpf.o", bytes).expect("loads")
}

#[test]
fn maps_come_from_the_legacy_section_and_each_data_section() {
    let obj = load();
    assert_eq!(obj.license, "Dual BSD/GPL");
    let names: Vec<&str> = obj.maps.iter().map(|m| m.name.as_str()).collect();
    assert_eq!(names, ["hits", "table", ".rodata", ".data", ".bss"]);
    let hits = obj.map("hits").unwrap();
    assert_eq!(
        (
            hits.map_type,
            hits.key_size,
            hits.value_size,
            hits.max_entries
        ),
        (2, 4, 8, 16)
    );
    let table = obj.map("table").unwrap();
    assert_eq!(
        (
            table.map_type,
            table.key_size,
            table.value_size,
            table.max_entries,
            table.flags
        ),
        (1, 8, 16, 1024, 1)
    );

    let rodata = obj.map(".rodata").unwrap();
    let data = rodata.data.as_ref().unwrap();
    assert!(data.read_only);
    assert_eq!(
        data.bytes,
        3i32.to_le_bytes(),
        "volatile const int factor = 3"
    );
    assert_eq!(
        (
            rodata.map_type,
            rodata.key_size,
            rodata.value_size,
            rodata.max_entries
        ),
        (2, 4, 4, 1)
    );
    assert_eq!(rodata.flags & 0x80, 0x80, "BPF_F_RDONLY_PROG");
    assert_eq!(
        obj.map(".data").unwrap().data.as_ref().unwrap().bytes,
        7i32.to_le_bytes()
    );
    let bss = obj.map(".bss").unwrap();
    assert_eq!(bss.data.as_ref().unwrap().bytes, [0u8; 8], ".bss is zeroed");
    assert!(!bss.data.as_ref().unwrap().read_only);
}

fn decoded(obj: &Object, name: &str) -> Vec<(usize, Insn)> {
    decode_slots(&obj.program(name).unwrap().insns).expect("linked program decodes")
}

#[test]
fn programs_are_typed_by_section_and_linked_with_their_subprograms() {
    let obj = load();
    let progs: Vec<(&str, &str, ProgramType)> = obj
        .programs
        .iter()
        .map(|p| (p.name.as_str(), p.section.as_str(), p.prog_type))
        .collect();
    assert_eq!(
        progs,
        [
            ("legacy_prog", "socket", ProgramType::SocketFilter),
            ("second_prog", "xdp", ProgramType::Xdp)
        ]
    );

    // legacy_prog: 17 instructions of its own, then `scale` (5) and `add_bias` (10).
    let insns = decoded(&obj, "legacy_prog");
    let total: usize = insns.iter().map(|(_, i)| i.slots()).sum();
    assert_eq!(total, 17 + 5 + 10);
    let call_targets: Vec<usize> = insns
        .iter()
        .filter_map(|&(pc, i)| match i {
            Insn::Call(CallTarget::Local(off)) => Some((pc as i64 + 1 + off as i64) as usize),
            _ => None,
        })
        .collect();
    assert_eq!(
        call_targets,
        [17, 22],
        "scale, then add_bias, appended in call order"
    );

    // Map and global-data references become map-index LD_IMM64s.
    let refs: Vec<LdImm64> = insns
        .iter()
        .filter_map(|&(_, i)| match i {
            Insn::LdImm64 { value, .. } => Some(value),
            _ => None,
        })
        .collect();
    assert_eq!(
        refs,
        [
            LdImm64::MapIdx(0), // &hits
            LdImm64::MapIdxValue {
                map_idx: 2,
                offset: 0
            }, // &factor in .rodata
            LdImm64::MapIdxValue {
                map_idx: 4,
                offset: 0
            }, // &calls in .bss
            LdImm64::MapIdxValue {
                map_idx: 3,
                offset: 0
            }, // &bias in .data
        ]
    );

    // second_prog shares `scale`, linked into its own copy.
    let insns = decoded(&obj, "second_prog");
    assert!(insns
        .iter()
        .any(|&(pc, i)| i == Insn::Call(CallTarget::Local(7 - (pc as i32 + 1)))));
    assert_eq!(
        insns[0].1,
        Insn::Load {
            size: waggle_isa::MemSize::W,
            sign_extend: false,
            dst: Reg::R1,
            src: Reg::R1,
            off: 12
        }
    );
}
