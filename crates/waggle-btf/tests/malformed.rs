//! Malformed input: every error names what is wrong, nothing panics, and
//! resolution of cyclic or hostile type graphs is bounded.

mod common;

use common::Obj;
use std::time::{Duration, Instant};
use waggle_btf::core::{self, CoreError, CoreRelo, CoreReloKind};
use waggle_btf::{
    Array, Btf, BtfError, BtfExt, BtfKind, BtfType, Composite, Int, Member, Ref, BTF_INT_SIGNED,
};
use waggle_isa::RawInsn;

fn put32(b: &mut [u8], at: usize, v: u32) {
    b[at..at + 4].copy_from_slice(&v.to_le_bytes());
}

fn get32(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(b[at..at + 4].try_into().unwrap())
}

fn sample() -> Vec<u8> {
    Obj::load("types.o").btf_bytes()
}

#[test]
fn header_errors() {
    let good = sample();
    assert_eq!(
        Btf::parse(&[]).unwrap_err().to_string(),
        "BTF header truncated: needs 8 bytes at offset 0, only 0 available"
    );
    let mut b = good.clone();
    b[0] = 0xeb;
    b[1] = 0x9f; // big-endian magic
    assert_eq!(
        Btf::parse(&b).unwrap_err().to_string(),
        "bad BTF magic 0x9feb (expected 0xeb9f, little-endian)"
    );
    let mut b = good.clone();
    b[2] = 2;
    assert_eq!(
        Btf::parse(&b).unwrap_err(),
        BtfError::BadVersion {
            what: "BTF",
            found: 2
        }
    );
    assert!(matches!(
        Btf::parse(&good[..20]).unwrap_err(),
        BtfError::BadHeaderLength { hdr_len: 24, .. }
    ));
    let mut b = good.clone();
    put32(&mut b, 4, 16);
    assert!(matches!(
        Btf::parse(&b).unwrap_err(),
        BtfError::BadHeaderLength {
            hdr_len: 16,
            min: 24,
            ..
        }
    ));
    // Sections outside the data.
    let mut b = good.clone();
    let str_off = get32(&b, 16);
    put32(&mut b, 20, 1 << 20);
    let err = Btf::parse(&b).unwrap_err();
    assert_eq!(
        err,
        BtfError::SectionOutOfBounds {
            section: "string",
            offset: str_off,
            len: 1 << 20,
            available: good.len() - 24
        }
    );
    assert!(
        err.to_string().starts_with("string section (offset"),
        "{err}"
    );
    let mut b = good.clone();
    put32(&mut b, 8, u32::MAX); // type_off + type_len overflows
    assert!(matches!(
        Btf::parse(&b).unwrap_err(),
        BtfError::SectionOutOfBounds {
            section: "type",
            ..
        }
    ));
}

#[test]
fn every_truncation_is_an_error() {
    for bytes in [sample(), waggle_btf::WAGGLE_TYPES_BTF.to_vec()] {
        for len in 0..bytes.len() {
            assert!(
                Btf::parse(&bytes[..len]).is_err(),
                "prefix of {len} bytes parsed"
            );
        }
        // A type section cut inside a type (header patched to match).
        let type_len = get32(&bytes, 12);
        let mut b = bytes.clone();
        put32(&mut b, 12, type_len - 4);
        let err = Btf::parse(&b).unwrap_err();
        assert!(
            matches!(err, BtfError::Truncated { ref what, .. } if what.starts_with("type id ")),
            "{err}"
        );
    }
}

/// Offset of type `id`'s record in `bytes` (a 24-byte header, then the types).
fn type_record_offset(bytes: &[u8], id: u32) -> usize {
    let btf = Btf::parse(bytes).unwrap();
    24 + btf
        .types()
        .take_while(|(tid, _)| *tid < id)
        .map(|(_, t)| encoded_len(t))
        .sum::<usize>()
}

fn encoded_len(t: &BtfType) -> usize {
    12 + match t {
        BtfType::Int(_) | BtfType::Var(_) | BtfType::DeclTag(_) => 4,
        BtfType::Array(_) => 12,
        BtfType::Struct(c) | BtfType::Union(c) => 12 * c.members.len(),
        BtfType::Enum(e) => 8 * e.values.len(),
        BtfType::Enum64(e) => 12 * e.values.len(),
        BtfType::FuncProto(p) => 8 * p.params.len(),
        BtfType::Datasec(d) => 12 * d.vars.len(),
        _ => 0,
    }
}

#[test]
fn type_errors_name_the_type() {
    let good = sample();
    let btf = Btf::parse(&good).unwrap();

    // Unknown kind 25 in type 1.
    let mut b = good.clone();
    let at = type_record_offset(&good, 1);
    let info = get32(&b, at + 4);
    put32(&mut b, at + 4, (info & !(0x1f << 24)) | 25 << 24);
    assert_eq!(
        Btf::parse(&b).unwrap_err().to_string(),
        "unknown BTF kind 25 at type id 1"
    );
    // Kind 0 is not a valid type either.
    put32(&mut b, at + 4, info & !(0x1f << 24));
    assert_eq!(
        Btf::parse(&b).unwrap_err().to_string(),
        "unknown BTF kind 0 at type id 1"
    );

    // A pointer to a type that does not exist.
    let ptr = btf
        .types()
        .find(|(_, t)| t.kind() == BtfKind::Ptr)
        .unwrap()
        .0;
    let mut b = good.clone();
    let at = type_record_offset(&good, ptr);
    put32(&mut b, at + 8, 99_999);
    assert_eq!(
        Btf::parse(&b).unwrap_err().to_string(),
        format!(
            "type id 99999 out of range (ids go up to {}) in referenced type of type id {ptr}",
            btf.max_type_id()
        )
    );

    // A name past the string section.
    let named = btf.types().find(|(_, t)| t.name_off() != 0).unwrap().0;
    let mut b = good.clone();
    let at = type_record_offset(&good, named);
    put32(&mut b, at, 0x00ff_ffff);
    let err = Btf::parse(&b).unwrap_err();
    assert!(
        err.to_string()
            .starts_with("string offset 16777215 out of range")
            && err
                .to_string()
                .ends_with(&format!("in type name of type id {named}")),
        "{err}"
    );

    // INT with reserved bits.
    let int = btf
        .types()
        .find(|(_, t)| t.kind() == BtfKind::Int)
        .unwrap()
        .0;
    let mut b = good.clone();
    let at = type_record_offset(&good, int);
    let data = get32(&b, at + 12);
    put32(&mut b, at + 12, data | 0x100);
    assert!(
        matches!(Btf::parse(&b).unwrap_err(), BtfError::InvalidType { type_id, .. } if type_id == int)
    );

    // Strings not NUL-terminated.
    let mut b = good.clone();
    let last = b.len() - 1;
    b[last] = b'x';
    assert_eq!(
        Btf::parse(&b).unwrap_err().to_string(),
        "bad string section: does not end with a NUL byte"
    );
}

fn int_type(btf: &mut Btf) -> u32 {
    let name_off = btf.add_string("int");
    btf.add_type(BtfType::Int(Int {
        name_off,
        size: 4,
        encoding: BTF_INT_SIGNED,
        offset: 0,
        bits: 32,
    }))
    .unwrap()
}

fn typedef(btf: &mut Btf, name: &str, to: u32) -> u32 {
    let name_off = btf.add_string(name);
    btf.add_type(BtfType::Typedef(Ref {
        name_off,
        type_id: to,
        kind_flag: false,
    }))
    .unwrap()
}

#[test]
fn cycles_are_reported_not_followed() {
    // typedef loop_t loop_t; typedef a_t -> const -> a_t; an array of itself.
    let mut btf = Btf::new();
    let _int = int_type(&mut btf);
    let self_loop = typedef(&mut btf, "loop_t", 2);
    assert_eq!(self_loop, 2);
    let a = typedef(&mut btf, "a_t", 0);
    let c = btf
        .add_type(BtfType::Const(Ref {
            name_off: 0,
            type_id: a,
            kind_flag: false,
        }))
        .unwrap();
    // Close the loop: a_t -> const a_t.
    let BtfType::Typedef(r) = btf.type_by_id_mut(a).unwrap() else {
        panic!()
    };
    r.type_id = c;
    let arr = btf
        .add_type(BtfType::Array(Array {
            name_off: 0,
            elem_type: 5,
            index_type: 1,
            nelems: 1,
        }))
        .unwrap();
    // A legitimate pointer cycle: struct list { struct list *next; }.
    let list_name = btf.add_string("list");
    let next_name = btf.add_string("next");
    let list = btf
        .add_type(BtfType::Struct(Composite {
            name_off: list_name,
            size: 8,
            kind_flag: false,
            members: vec![Member {
                name_off: next_name,
                type_id: 7,
                bit_offset: 0,
                bitfield_size: 0,
            }],
        }))
        .unwrap();
    let ptr = btf
        .add_type(BtfType::Ptr(Ref {
            name_off: 0,
            type_id: list,
            kind_flag: false,
        }))
        .unwrap();
    assert_eq!(ptr, 7);

    // It encodes and parses: cycles are a property of queries, not of the format.
    let btf = Btf::parse(&btf.to_bytes().unwrap()).unwrap();
    for id in [self_loop, a, c] {
        let err = btf.resolve_type(id).unwrap_err();
        assert_eq!(
            err,
            BtfError::Cycle {
                type_id: id,
                limit: 32
            }
        );
        assert_eq!(
            err.to_string(),
            format!("cycle at type id {id}: reference chain longer than 32 links")
        );
        assert!(matches!(btf.size_of(id), Err(BtfError::Cycle { .. })));
    }
    assert_eq!(
        btf.size_of(arr).unwrap_err(),
        BtfError::Cycle {
            type_id: arr,
            limit: 32
        }
    );
    assert_eq!(btf.size_of(list).unwrap(), 8);
    assert_eq!(btf.resolve_type(ptr).unwrap(), ptr);

    // CO-RE over cyclic types fails cleanly too.
    for (id, access) in [(self_loop, "0"), (a, "0"), (list, "0:0"), (arr, "0:1")] {
        let mut local = btf.clone();
        for kind in [
            CoreReloKind::FieldByteOffset,
            CoreReloKind::TypeExists,
            CoreReloKind::TypeMatches,
            CoreReloKind::TypeSize,
        ] {
            let relo = CoreRelo {
                insn_off: 0,
                type_id: id,
                access_str_off: local.add_string(access),
                kind,
            };
            let _ = core::relocate(&local, &btf, &relo);
        }
    }
}

/// Nested anonymous members that double at every level: a naive search
/// visits 2^60 paths. The work budget stops it.
#[test]
fn hostile_type_graphs_are_bounded() {
    let mut target = Btf::new();
    let int = int_type(&mut target);
    let x = target.add_string("x");
    let mut prev = target
        .add_type(BtfType::Struct(Composite {
            name_off: 0,
            size: 4,
            kind_flag: false,
            members: vec![Member {
                name_off: x,
                type_id: int,
                bit_offset: 0,
                bitfield_size: 0,
            }],
        }))
        .unwrap();
    let anon = |t: u32| Member {
        name_off: 0,
        type_id: t,
        bit_offset: 0,
        bitfield_size: 0,
    };
    for _ in 0..60 {
        prev = target
            .add_type(BtfType::Struct(Composite {
                name_off: 0,
                size: 4,
                kind_flag: false,
                members: vec![anon(prev), anon(prev)],
            }))
            .unwrap();
    }
    let big = target.add_string("big");
    let root = target
        .add_type(BtfType::Struct(Composite {
            name_off: big,
            size: 4,
            kind_flag: false,
            members: vec![anon(prev)],
        }))
        .unwrap();

    let mut local = Btf::new();
    let lint = int_type(&mut local);
    let nothere = local.add_string("nothere");
    let lbig = local.add_string("big");
    let lroot = local
        .add_type(BtfType::Struct(Composite {
            name_off: lbig,
            size: 4,
            kind_flag: false,
            members: vec![Member {
                name_off: nothere,
                type_id: lint,
                bit_offset: 0,
                bitfield_size: 0,
            }],
        }))
        .unwrap();
    let relo = CoreRelo {
        insn_off: 0,
        type_id: lroot,
        access_str_off: local.add_string("0:0"),
        kind: CoreReloKind::FieldExists,
    };
    let start = Instant::now();
    let res = core::relocate(&local, &target, &relo);
    assert!(
        start.elapsed() < Duration::from_secs(20),
        "took {:?}",
        start.elapsed()
    );
    assert!(
        matches!(
            res,
            Err(CoreError::TooComplex) | Err(CoreError::SpecTooLong)
        ),
        "{res:?}"
    );
    let _ = root;

    // TYPE_MATCHES between two doubling struct trees: bounded as well.
    let mut a = Btf::new();
    let aint = int_type(&mut a);
    let (l, r) = (a.add_string("l"), a.add_string("r"));
    let mut prev = aint;
    for i in 0..40 {
        let name = a.add_string(&format!("t{i}"));
        let m = |n, t| Member {
            name_off: n,
            type_id: t,
            bit_offset: 0,
            bitfield_size: 0,
        };
        prev = a
            .add_type(BtfType::Struct(Composite {
                name_off: name,
                size: 8,
                kind_flag: false,
                members: vec![m(l, prev), m(r, prev)],
            }))
            .unwrap();
    }
    let relo = CoreRelo {
        insn_off: 0,
        type_id: prev,
        access_str_off: a.add_string("0"),
        kind: CoreReloKind::TypeMatches,
    };
    let start = Instant::now();
    let res = core::relocate(&a, &a, &relo);
    assert!(
        start.elapsed() < Duration::from_secs(20),
        "took {:?}",
        start.elapsed()
    );
    assert!(matches!(res, Err(CoreError::TooComplex)), "{res:?}");
}

#[test]
fn btf_ext_errors() {
    let obj = Obj::load("core_local.o");
    let btf = obj.btf();
    let good = obj.section(".BTF.ext").unwrap();
    assert!(BtfExt::parse(&good, &btf).is_ok());
    for len in 0..good.len() {
        assert!(
            BtfExt::parse(&good[..len], &btf).is_err(),
            "prefix of {len} bytes parsed"
        );
    }
    let mut b = good.clone();
    b[0] = 0;
    assert!(matches!(
        BtfExt::parse(&b, &btf).unwrap_err(),
        BtfError::BadMagic {
            what: "BTF.ext",
            ..
        }
    ));

    // The func_info record size: too small, or not a multiple of 4.
    let hdr_len = get32(&good, 4) as usize;
    let func_off = hdr_len + get32(&good, 8) as usize;
    for bad in [4, 10] {
        let mut b = good.clone();
        put32(&mut b, func_off, bad);
        let err = BtfExt::parse(&b, &btf).unwrap_err();
        assert!(
            matches!(
                err,
                BtfError::BadExtSection {
                    section: "func_info",
                    ..
                }
            ),
            "{err}"
        );
    }
    // A section name offset out of range.
    let mut b = good.clone();
    put32(&mut b, func_off + 4, 1 << 24);
    let err = BtfExt::parse(&b, &btf).unwrap_err();
    assert!(
        err.to_string().contains("func_info section #0 name"),
        "{err}"
    );
    // A record type id out of range.
    let mut b = good.clone();
    put32(&mut b, func_off + 16, 1 << 24);
    let err = BtfExt::parse(&b, &btf).unwrap_err();
    assert!(
        err.to_string()
            .contains("in func_info record #0 of section"),
        "{err}"
    );
    // A record count larger than the data.
    let mut b = good.clone();
    put32(&mut b, func_off + 8, 1 << 30);
    assert!(matches!(
        BtfExt::parse(&b, &btf).unwrap_err(),
        BtfError::Truncated { .. }
    ));
}

/// Record sizes come from the file: a larger record (as a future compiler
/// may write) is read by its known prefix and the rest skipped.
#[test]
fn btf_ext_honours_record_size() {
    let obj = Obj::load("core_local.o");
    let btf = obj.btf();
    let good = obj.section(".BTF.ext").unwrap();
    let ext = BtfExt::parse(&good, &btf).unwrap();
    assert_eq!(
        (
            ext.func_info_rec_size,
            ext.line_info_rec_size,
            ext.core_relo_rec_size
        ),
        (8, 16, 16)
    );

    // Rebuild the core_relo subsection with 24-byte records.
    let hdr_len = get32(&good, 4) as usize;
    assert!(hdr_len >= 32);
    let core_off = hdr_len + get32(&good, 24) as usize;
    let core_len = get32(&good, 28) as usize;
    let old = &good[core_off..core_off + core_len];
    let mut new = 24u32.to_le_bytes().to_vec();
    let mut pos = 4;
    while pos < old.len() {
        let count = get32(old, pos + 4) as usize;
        new.extend_from_slice(&old[pos..pos + 8]);
        pos += 8;
        for _ in 0..count {
            new.extend_from_slice(&old[pos..pos + 16]);
            new.extend_from_slice(&[0xaa; 8]);
            pos += 16;
        }
    }
    let mut b = good[..core_off].to_vec();
    b.extend_from_slice(&new);
    b.extend_from_slice(&good[core_off + core_len..]);
    put32(&mut b, 28, new.len() as u32);
    let wide = BtfExt::parse(&b, &btf).unwrap();
    assert_eq!(wide.core_relo_rec_size, 24);
    assert_eq!(wide.core_relos, ext.core_relos);
    assert_eq!(wide.func_info, ext.func_info);
    assert_eq!(wide.line_info, ext.line_info);
}

/// xorshift64*: a small deterministic PRNG.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

fn mutate(rng: &mut Rng, input: &[u8]) -> Vec<u8> {
    let mut b = input.to_vec();
    for _ in 0..1 + rng.below(6) {
        if b.is_empty() {
            break;
        }
        match rng.below(7) {
            0..=2 => {
                let i = rng.below(b.len());
                b[i] ^= 1 << rng.below(8);
            }
            3 => {
                let i = rng.below(b.len());
                b[i] = [0, 0xff, 0x7f, 0x80, 1][rng.below(5)];
            }
            4 => {
                let i = rng.below(b.len() / 4) * 4;
                if i + 4 <= b.len() {
                    let v = [0u32, 1, 2, 0x7fff_ffff, u32::MAX, 32, 64][rng.below(7)];
                    b[i..i + 4].copy_from_slice(&v.to_le_bytes());
                }
            }
            5 => {
                let n = rng.below(b.len());
                b.truncate(n);
            }
            _ => {
                let i = rng.below(b.len());
                let n = rng.below(16).min(b.len() - i);
                let chunk = b[i..i + n].to_vec();
                let j = rng.below(b.len());
                b.splice(j..j, chunk);
            }
        }
    }
    b
}

/// Runs every query on parsed BTF; none may panic or loop.
fn exercise(btf: &Btf, other: &Btf) {
    let again =
        Btf::parse(&btf.to_bytes().expect("parsed BTF re-encodes")).expect("re-encoded BTF parses");
    assert_eq!(&again, btf);
    for id in 0..=btf.type_count() {
        let _ = btf.name_of(id);
        let _ = btf.resolve_type(id);
        let _ = btf.size_of(id);
        let _ = btf.members(id);
        if let Ok(t) = btf.type_by_id(id) {
            let _ = btf.find_type(t.kind(), btf.name_of(id).unwrap_or(""));
        }
    }
    // A few CO-RE relocations rooted at the first types, in both directions.
    let mut local = btf.clone();
    let accesses = ["0", "0:0", "0:1", "0:0:0", "1", "0:2:1"];
    for id in 1..btf.type_count().min(12) {
        for (k, access) in accesses.iter().enumerate() {
            let kind = CoreReloKind::from_u32((id as usize * 7 + k) as u32 % 13);
            let relo = CoreRelo {
                insn_off: 0,
                type_id: id,
                access_str_off: local.add_string(access),
                kind,
            };
            if let Ok(outcome) = core::relocate(&local, other, &relo) {
                let mut insns = [
                    RawInsn::new(0x18, 1, 0, 0, 0),
                    RawInsn::default(),
                    RawInsn::new(0x61, 1, 1, 0, 0),
                ];
                let _ = core::patch_insn(&mut insns, 0, &outcome);
                let _ = core::patch_insn(&mut insns, 2, &outcome);
            }
            let _ = core::relocate(
                other,
                &local,
                &CoreRelo {
                    type_id: id.min(other.max_type_id()),
                    ..relo
                },
            );
        }
    }
}

#[test]
fn thousands_of_mutated_inputs_never_panic() {
    let objects = ["types.o", "core_local.o", "core_target.o", "core_waggle.o"];
    let mut btfs: Vec<Vec<u8>> = objects.iter().map(|o| Obj::load(o).btf_bytes()).collect();
    btfs.push(waggle_btf::WAGGLE_TYPES_BTF.to_vec());
    let exts: Vec<(Btf, Vec<u8>)> = objects
        .iter()
        .map(|o| {
            let obj = Obj::load(o);
            (obj.btf(), obj.section(".BTF.ext").unwrap())
        })
        .collect();
    let target = waggle_btf::waggle_types();

    let mut rng = Rng(0x5eed_b7f0_0d15_ea5e);
    let (mut ok, mut err) = (0, 0);
    let start = Instant::now();
    for round in 0..10_000 {
        let input = &btfs[round % btfs.len()];
        let bytes = mutate(&mut rng, input);
        match Btf::parse(&bytes) {
            Ok(btf) => {
                ok += 1;
                exercise(&btf, target);
            }
            Err(e) => {
                err += 1;
                assert!(!e.to_string().is_empty());
            }
        }

        let (btf, ext) = &exts[round % exts.len()];
        let bytes = mutate(&mut rng, ext);
        if let Ok(ext) = BtfExt::parse(&bytes, btf) {
            for s in &ext.line_info {
                for l in &s.records {
                    let _ = (l.file_name(btf), l.source_line(btf), l.line(), l.column());
                }
            }
            for s in &ext.core_relos {
                for r in &s.records {
                    if let Ok(o) = core::relocate(btf, target, r) {
                        let mut insns = vec![RawInsn::new(0xb7, 1, 0, 0, 0); 4];
                        let _ = core::patch_insn(&mut insns, r.insn_index(), &o);
                    }
                }
            }
        }
    }
    println!(
        "mutated BTF: {ok} parsed, {err} rejected in {:?}",
        start.elapsed()
    );
    assert!(ok > 100 && err > 100, "{ok} parsed, {err} rejected");
}
