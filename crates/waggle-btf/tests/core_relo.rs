//! CO-RE relocation of clang-19 objects: core_local.o against core_target.o's
//! BTF, and core_waggle.o against Waggle's own target BTF.

mod common;

use common::Obj;
use waggle_btf::core::{
    self, CoreError, CoreOutcome, CoreRelo, CoreReloKind, PatchAction, POISON_HELPER_ID,
};
use waggle_btf::{Btf, BtfKind, BtfType};
use waggle_isa::RawInsn;

/// What a relocation should resolve to.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Want {
    /// local value -> target value
    Val(u64, u64),
    /// target value only (the local value is the compiler's business, e.g.
    /// bitfield sizes, which libbpf does not validate)
    Target(u64),
    /// CoreOutcome::Poison
    Poison,
}

struct Case {
    kind: CoreReloKind,
    type_name: &'static str,
    access: &'static str,
    want: Want,
}

const fn case(
    kind: CoreReloKind,
    type_name: &'static str,
    access: &'static str,
    want: Want,
) -> Case {
    Case {
        kind,
        type_name,
        access,
        want,
    }
}

fn describe(btf: &Btf, r: &CoreRelo) -> (CoreReloKind, String, String) {
    (
        r.kind,
        btf.name_of(r.type_id).unwrap().to_string(),
        r.access_string(btf).unwrap().to_string(),
    )
}

/// Checks every relocation of `obj` against `cases` (each case must match at
/// least one relocation and every relocation must have a case), applies them
/// all, and returns the patched sections.
fn check_object(
    obj: &Obj,
    target: &Btf,
    cases: &[Case],
) -> Vec<(String, Vec<RawInsn>, Vec<RawInsn>)> {
    let local = obj.btf();
    let ext = obj.ext(&local);
    let mut used = vec![0usize; cases.len()];
    let mut out = Vec::new();
    for sec in &ext.core_relos {
        let original = obj.insns(&sec.name);
        let mut insns = original.clone();
        for relo in &sec.records {
            let (kind, ty, access) = describe(&local, relo);
            let idx = cases
                .iter()
                .position(|c| c.kind == kind && c.type_name == ty && c.access == access)
                .unwrap_or_else(|| panic!("no expectation for {kind} on {ty} '{access}'"));
            used[idx] += 1;
            let outcome = core::relocate(&local, target, relo).unwrap();
            match (cases[idx].want, &outcome) {
                (Want::Poison, CoreOutcome::Poison) => {}
                (Want::Val(l, t), CoreOutcome::Patch(p)) => {
                    assert_eq!(
                        (p.local_value, p.target_value),
                        (l, t),
                        "{kind} on {ty} '{access}'"
                    )
                }
                (Want::Target(t), CoreOutcome::Patch(p)) => {
                    assert_eq!(p.target_value, t, "{kind} on {ty} '{access}'")
                }
                (want, got) => panic!("{kind} on {ty} '{access}': want {want:?}, got {got:?}"),
            }
            core::patch_insn(&mut insns, relo.insn_index(), &outcome)
                .unwrap_or_else(|e| panic!("patching {kind} on {ty} '{access}': {e}"));
        }
        // The patched program is still a well-formed instruction stream.
        waggle_isa::decode_slots(&insns).unwrap_or_else(|e| panic!("patched {}: {e}", sec.name));
        out.push((sec.name.clone(), original, insns));
    }
    for (c, n) in cases.iter().zip(&used) {
        assert!(
            *n > 0,
            "no relocation for {} on {} '{}'",
            c.kind,
            c.type_name,
            c.access
        );
    }
    out
}

fn relos_of(obj: &Obj, kind: CoreReloKind, access: &str) -> Vec<(String, CoreRelo)> {
    let local = obj.btf();
    let ext = obj.ext(&local);
    ext.core_relos
        .iter()
        .flat_map(|s| s.records.iter().map(move |r| (s.name.clone(), *r)))
        .filter(|(_, r)| r.kind == kind && r.access_string(&local).unwrap() == access)
        .collect()
}

fn core_target() -> Btf {
    Obj::load("core_target.o").btf()
}

#[test]
fn every_relocation_kind_against_a_reordered_target() {
    use CoreReloKind::*;
    use Want::*;
    let target = core_target();
    let pkt = target.find_type(BtfKind::Struct, "pkt").unwrap();
    let local = Obj::load("core_local.o");
    let local_pkt = local.btf().find_type(BtfKind::Struct, "pkt___l").unwrap();
    let cases = [
        // Field offsets on loads: len, in.x (nested, reordered), proto (load
        // narrowed to 2 bytes), lo (inside anonymous members in the target),
        // name[3] and tail[5] (array elements, the second flexible).
        case(FieldByteOffset, "pkt___l", "0:3", Val(28, 0)),
        case(FieldByteOffset, "pkt___l", "0:0:1", Val(8, 8)),
        case(FieldByteOffset, "pkt___l", "0:2", Val(24, 4)),
        case(FieldByteOffset, "pkt___l", "0:7", Val(36, 24)),
        case(FieldByteOffset, "pkt___l", "0:1:3", Val(19, 38)),
        case(FieldByteOffset, "pkt___l", "0:10:5", Val(68, 76)),
        // signed_small: int locally, short in the target: resolves, but the
        // load cannot be resized soundly and is poisoned when patched.
        case(FieldByteOffset, "pkt___l", "0:9", Val(44, 6)),
        // missing: no such field in the target.
        case(FieldByteOffset, "pkt___l", "0:8", Poison),
        case(FieldExists, "pkt___l", "0:8", Val(1, 0)),
        case(FieldExists, "pkt___l", "0:0:0", Val(1, 1)),
        case(FieldByteSize, "pkt___l", "0:2", Val(4, 2)),
        case(FieldByteSize, "pkt___l", "0:1", Val(8, 8)),
        case(FieldByteOffset, "pkt___l", "0:0:0", Val(0, 16)),
        // Bitfields (BPF_CORE_READ_BITFIELD): flags_a (0:5), flags_b (0:4)
        // swapped between local and target, sbits (0:6) signed.
        case(FieldByteOffset, "pkt___l", "0:5", Val(32, 32)),
        case(FieldByteSize, "pkt___l", "0:5", Target(4)),
        case(FieldLShiftU64, "pkt___l", "0:5", Val(48, 60)),
        case(FieldSigned, "pkt___l", "0:5", Val(0, 0)),
        case(FieldRShiftU64, "pkt___l", "0:5", Val(60, 60)),
        case(FieldByteOffset, "pkt___l", "0:4", Val(32, 32)),
        case(FieldByteSize, "pkt___l", "0:4", Target(4)),
        case(FieldLShiftU64, "pkt___l", "0:4", Val(52, 48)),
        case(FieldSigned, "pkt___l", "0:4", Val(0, 0)),
        case(FieldRShiftU64, "pkt___l", "0:4", Val(52, 52)),
        case(FieldByteOffset, "pkt___l", "0:6", Val(32, 32)),
        case(FieldByteSize, "pkt___l", "0:6", Target(4)),
        case(FieldLShiftU64, "pkt___l", "0:6", Val(41, 41)),
        case(FieldSigned, "pkt___l", "0:6", Val(1, 1)),
        case(FieldRShiftU64, "pkt___l", "0:6", Val(57, 57)),
        // Types.
        case(
            TypeIdLocal,
            "pkt___l",
            "0",
            Val(local_pkt as u64, local_pkt as u64),
        ),
        case(TypeIdTarget, "pkt___l", "0", Target(pkt as u64)),
        case(TypeIdTarget, "nowhere", "0", Target(0)),
        case(TypeExists, "only_target___l", "0", Val(1, 1)),
        case(TypeExists, "nowhere", "0", Val(1, 0)),
        case(TypeExists, "pkt_t___l", "0", Val(1, 1)),
        case(TypeSize, "pkt___l", "0", Val(48, 56)),
        case(TypeSize, "nowhere", "0", Val(4, 0)),
        case(TypeMatches, "shape___match", "0", Val(1, 1)),
        case(TypeMatches, "shape___nomatch", "0", Val(1, 0)),
        // Enumerators, including a 64-bit one.
        case(EnumvalExists, "pkt_kind___l", "0", Val(1, 1)),
        case(EnumvalExists, "pkt_kind___l", "2", Val(1, 0)),
        case(EnumvalValue, "pkt_kind___l", "0", Val(10, 1)),
        case(EnumvalValue, "pkt_kind___l", "1", Val(30, 300)),
        case(EnumvalValue, "pkt_kind___l", "2", Poison),
        case(EnumvalValue, "wide64___l", "0", Val(5, 0x10_0000_0000)),
    ];
    check_object(&local, &target, &cases);
}

#[test]
fn patched_instructions() {
    let obj = Obj::load("core_local.o");
    let local = obj.btf();
    let target = core_target();
    let mut insns = obj.insns("tc");
    let ext = obj.ext(&local);
    let mut poisoned_count = 0;
    for relo in ext.core_relos_for("tc").unwrap() {
        let (outcome, action) = core::apply_relo(&local, &target, relo, &mut insns).unwrap();
        if action == PatchAction::Poisoned {
            poisoned_count += 1;
        } else {
            assert!(!outcome.is_poison());
        }
    }
    // p->missing, p->signed_small and PK_MISSING's value.
    assert_eq!(poisoned_count, 3);
    let at = |kind, access: &str| -> (usize, RawInsn) {
        let (_, r) = relos_of(&obj, kind, access).into_iter().next().unwrap();
        (r.insn_index(), insns[r.insn_index()])
    };
    let poisoned = RawInsn::new(0x85, 0, 0, 0, POISON_HELPER_ID);

    // p->len: r = *(u32 *)(r1 + 28) -> + 0, still a 4-byte load.
    let (_, i) = at(CoreReloKind::FieldByteOffset, "0:3");
    assert_eq!((i.opcode, i.off), (0x61, 0));
    // p->proto: 4-byte load at 24 -> 2-byte load (BPF_H) at 4.
    let (_, i) = at(CoreReloKind::FieldByteOffset, "0:2");
    assert_eq!((i.opcode, i.off), (0x69, 4));
    // p->name[3]: 1-byte load at 19 -> 38.
    let (_, i) = at(CoreReloKind::FieldByteOffset, "0:1:3");
    assert_eq!((i.opcode, i.off), (0x71, 38));
    // p->signed_small: int vs short, unsafe to narrow: poisoned.
    let (_, i) = at(CoreReloKind::FieldByteOffset, "0:9");
    assert_eq!(i, poisoned);
    // p->missing: poisoned.
    let (_, i) = at(CoreReloKind::FieldByteOffset, "0:8");
    assert_eq!(i, poisoned);
    // bpf_core_field_exists(p->missing): r = 1 -> r = 0.
    let (_, i) = at(CoreReloKind::FieldExists, "0:8");
    assert_eq!((i.opcode, i.imm), (0xb7, 0));
    // bpf_core_field_offset(p->in.y): r = 0 -> r = 16.
    let (_, i) = at(CoreReloKind::FieldByteOffset, "0:0:0");
    assert_eq!((i.opcode, i.imm), (0xb7, 16));
    // Bitfield shift of flags_a: r <<= 48 -> r <<= 60.
    let (_, i) = at(CoreReloKind::FieldLShiftU64, "0:5");
    assert_eq!((i.opcode, i.imm), (0x67, 60));

    // Enumerator values are LD_IMM64: both halves are written.
    let enum_relo = |name: &str, access: &str| {
        let relos = relos_of(&obj, CoreReloKind::EnumvalValue, access);
        relos
            .into_iter()
            .find(|(_, r)| local.name_of(r.type_id).unwrap() == name)
            .unwrap()
            .1
            .insn_index()
    };
    let i = enum_relo("wide64___l", "0");
    assert_eq!(
        (insns[i].opcode, insns[i].imm, insns[i + 1].imm),
        (0x18, 0, 0x10)
    );
    let i = enum_relo("pkt_kind___l", "1");
    assert_eq!((insns[i].imm, insns[i + 1].imm), (300, 0));
    // An unresolvable enumerator poisons both slots of its LD_IMM64.
    let i = enum_relo("pkt_kind___l", "2");
    assert_eq!((insns[i], insns[i + 1]), (poisoned, poisoned));
}

#[test]
fn against_waggle_types() {
    use CoreReloKind::*;
    use Want::*;
    let target = waggle_btf::waggle_types();
    let xdp_action = target.find_type(BtfKind::Enum, "xdp_action").unwrap();
    let obj = Obj::load("core_waggle.o");
    let cases = [
        // xdp_md___w { data_end, data, rx_queue_index, no_such_field }
        case(FieldByteOffset, "xdp_md___w", "0:0", Val(0, 4)),
        case(FieldByteOffset, "xdp_md___w", "0:1", Val(4, 0)),
        case(FieldByteOffset, "xdp_md___w", "0:2", Val(8, 16)),
        case(FieldExists, "xdp_md___w", "0:3", Val(1, 0)),
        // __sk_buff___w { mark, cb[5], tstamp, len }
        case(FieldByteOffset, "__sk_buff___w", "0:0", Val(0, 8)),
        case(FieldByteOffset, "__sk_buff___w", "0:1:2", Val(12, 56)),
        case(FieldByteOffset, "__sk_buff___w", "0:2", Val(24, 152)),
        case(FieldByteOffset, "__sk_buff___w", "0:3", Val(32, 0)),
        // enum xdp_action___w { XDP_PASS = 100, XDP_TX = 200, XDP_NO_SUCH = 300 }
        case(EnumvalValue, "xdp_action___w", "0", Val(100, 2)),
        case(EnumvalValue, "xdp_action___w", "1", Val(200, 3)),
        case(EnumvalValue, "xdp_action___w", "2", Poison),
        case(TypeSize, "bpf_spin_lock___w", "0", Val(4, 4)),
    ];
    let patched = check_object(&obj, target, &cases);
    assert_eq!(patched.len(), 2, "xdp and tc");

    let local = obj.btf();
    let (_, relo) = relos_of(&obj, EnumvalValue, "1").pop().unwrap();
    match core::relocate(&local, target, &relo).unwrap() {
        CoreOutcome::Patch(p) => assert_eq!(p.target_type_id, Some(xdp_action)),
        CoreOutcome::Poison => panic!(),
    }
}

#[test]
fn patching_validates_the_original_value() {
    let obj = Obj::load("core_local.o");
    let local = obj.btf();
    let target = core_target();
    let (_, relo) = relos_of(&obj, CoreReloKind::FieldByteOffset, "0:3")
        .pop()
        .unwrap();
    let outcome = core::relocate(&local, &target, &relo).unwrap();
    let mut insns = obj.insns("tc");
    let i = relo.insn_index();
    insns[i].off = 12; // not the 28 the local BTF implies
    let err = core::patch_insn(&mut insns, i, &outcome).unwrap_err();
    assert_eq!(
        err,
        CoreError::UnexpectedValue {
            index: i,
            found: 12,
            expected: 28,
            target: 0
        }
    );
    assert!(
        err.to_string().contains("found value 12, expected 28"),
        "{err}"
    );
    // Patching twice fails the same way: the value is no longer the local one.
    let mut insns = obj.insns("tc");
    core::patch_insn(&mut insns, i, &outcome).unwrap();
    insns[i].off = 28; // restore, then the target value 0 ...
    core::patch_insn(&mut insns, i, &outcome).unwrap();
    assert!(core::patch_insn(&mut insns, i, &outcome).is_err());
    // Out of range.
    let len = insns.len();
    assert_eq!(
        core::patch_insn(&mut insns, len, &outcome),
        Err(CoreError::InsnOutOfRange { index: len, len })
    );
}

/// A target with two flavours of `struct pkt` that disagree is ambiguous;
/// two that agree (as deduplication leftovers do) are fine.
#[test]
fn candidate_ambiguity() {
    let obj = Obj::load("core_local.o");
    let local = obj.btf();
    let (_, len_relo) = relos_of(&obj, CoreReloKind::FieldByteOffset, "0:3")
        .pop()
        .unwrap();

    let base = core_target();
    let pkt = base.find_type(BtfKind::Struct, "pkt").unwrap();

    // An identical copy named pkt___copy: same answer.
    let mut same = base.clone();
    let mut copy = same.type_by_id(pkt).unwrap().clone();
    let BtfType::Struct(c) = &mut copy else {
        panic!()
    };
    c.name_off = same.add_string("pkt___copy");
    same.add_type(copy).unwrap();
    let CoreOutcome::Patch(p) = core::relocate(&local, &same, &len_relo).unwrap() else {
        panic!()
    };
    assert_eq!((p.target_value, p.target_type_id), (0, Some(pkt)));

    // A copy whose len moved: ambiguous.
    let mut differ = base.clone();
    let mut moved = differ.type_by_id(pkt).unwrap().clone();
    let BtfType::Struct(c) = &mut moved else {
        panic!()
    };
    c.name_off = differ.add_string("pkt___moved");
    c.members[0].bit_offset = 64;
    let moved_id = differ.add_type(moved).unwrap();
    let err = core::relocate(&local, &differ, &len_relo).unwrap_err();
    assert_eq!(
        err,
        CoreError::AmbiguousOffset {
            first: pkt,
            first_bit_offset: 0,
            other: moved_id,
            other_bit_offset: 64
        }
    );

    // A flavour that lacks the field does not match and is skipped.
    let mut partial = base.clone();
    let mut lacking = partial.type_by_id(pkt).unwrap().clone();
    let BtfType::Struct(c) = &mut lacking else {
        panic!()
    };
    c.name_off = partial.add_string("pkt___old");
    c.members.remove(0);
    partial.add_type(lacking).unwrap();
    let CoreOutcome::Patch(p) = core::relocate(&local, &partial, &len_relo).unwrap() else {
        panic!()
    };
    assert_eq!(p.target_type_id, Some(pkt));
}

#[test]
fn candidates_by_essential_name() {
    let obj = Obj::load("core_local.o");
    let local = obj.btf();
    let target = core_target();
    let local_pkt = local.find_type(BtfKind::Struct, "pkt___l").unwrap();
    let target_pkt = target.find_type(BtfKind::Struct, "pkt").unwrap();
    assert_eq!(
        core::find_candidates(&local, local_pkt, &target).unwrap(),
        [target_pkt]
    );
    // The typedef flavour finds the typedef, not the struct.
    let local_t = local.find_type(BtfKind::Typedef, "pkt_t___l").unwrap();
    let target_t = target.find_type(BtfKind::Typedef, "pkt_t").unwrap();
    assert_eq!(
        core::find_candidates(&local, local_t, &target).unwrap(),
        [target_t]
    );
    // ENUM64 locals find ENUM64 (and would find ENUM) targets.
    let w = local
        .find_type(BtfKind::Enum, "wide64___l")
        .or_else(|| local.find_type(BtfKind::Enum64, "wide64___l"))
        .unwrap();
    assert_eq!(core::find_candidates(&local, w, &target).unwrap().len(), 1);
    assert!(core::types_are_compat(&local, local_pkt, &target, target_pkt).unwrap());
    let shape = target.find_type(BtfKind::Struct, "shape").unwrap();
    let m = local.find_type(BtfKind::Struct, "shape___match").unwrap();
    let n = local.find_type(BtfKind::Struct, "shape___nomatch").unwrap();
    assert!(core::types_match(&local, m, &target, shape).unwrap());
    assert!(!core::types_match(&local, n, &target, shape).unwrap());
}

#[test]
fn bad_relocation_records_are_errors() {
    let obj = Obj::load("core_local.o");
    let local = obj.btf();
    let target = core_target();
    let (_, good) = relos_of(&obj, CoreReloKind::FieldByteOffset, "0:3")
        .pop()
        .unwrap();

    let mut r = good;
    r.kind = CoreReloKind::Unknown(99);
    assert_eq!(
        core::relocate(&local, &target, &r),
        Err(CoreError::UnknownKind(99))
    );

    let mut r = good;
    r.type_id = local.max_type_id() + 1;
    assert!(matches!(
        core::relocate(&local, &target, &r),
        Err(CoreError::Btf(_))
    ));

    // Access strings that are not "N(:N)*" or leave the type.
    let mut l2 = local.clone();
    for bad in [
        "", ":1", "0:", "0::1", "0:x", "-1", "0:99", "0:1:8", "0:3:0",
    ] {
        let mut r = good;
        r.access_str_off = l2.add_string(bad);
        let err = core::relocate(&l2, &target, &r).unwrap_err();
        assert!(
            matches!(err, CoreError::InvalidSpec { .. }),
            "'{bad}': {err}"
        );
    }
    // A type relocation's access string must be "0".
    let mut r = good;
    r.kind = CoreReloKind::TypeSize;
    r.access_str_off = l2.add_string("0:1");
    assert!(matches!(
        core::relocate(&l2, &target, &r),
        Err(CoreError::InvalidSpec { .. })
    ));
    // Too deep.
    let deep = vec!["0"; 65].join(":");
    let mut r = good;
    r.access_str_off = l2.add_string(&deep);
    assert_eq!(
        core::relocate(&l2, &target, &r),
        Err(CoreError::SpecTooLong)
    );
    // Anonymous root types have no candidates.
    let anon = l2
        .types()
        .find(|(_, t)| t.is_composite() && t.name_off() == 0)
        .map(|(id, _)| id);
    if let Some(anon) = anon {
        let mut r = good;
        r.type_id = anon;
        r.access_str_off = l2.add_string("0");
        r.kind = CoreReloKind::FieldExists;
        assert!(matches!(
            core::relocate(&l2, &target, &r),
            Err(CoreError::AnonymousType { .. }) | Err(CoreError::InvalidSpec { .. })
        ));
    }
}
