//! Parsing real clang-19 output (tests/data/*.o, built by tests/data/build.sh).

mod common;

use common::{read_data, Obj};
use std::collections::BTreeSet;
use waggle_btf::{linkage, Btf, BtfError, BtfKind, BtfType, Member};

fn types_btf() -> Btf {
    Obj::load("types.o").btf()
}

fn member<'a>(btf: &'a Btf, id: u32, name: &str) -> &'a Member {
    btf.member_by_name(id, name)
        .unwrap()
        .unwrap_or_else(|| panic!("no member {name} in type {id}"))
}

fn struct_id(btf: &Btf, name: &str) -> u32 {
    btf.find_type(BtfKind::Struct, name)
        .unwrap_or_else(|| panic!("no struct {name}"))
}

#[test]
fn every_kind_is_parsed() {
    let btf = types_btf();
    let kinds: BTreeSet<BtfKind> = btf.types().map(|(_, t)| t.kind()).collect();
    for k in 1..=BtfKind::MAX {
        let kind = BtfKind::from_u8(k).unwrap();
        assert!(kinds.contains(&kind), "types.o has no {kind}");
    }
    assert_eq!(btf.type_by_id(0).unwrap(), &BtfType::Void);
    assert_eq!(btf.name_of(0).unwrap(), "");
    assert_eq!(btf.type_count(), btf.max_type_id() + 1);
}

#[test]
fn bitfields_use_kind_flag_offsets() {
    let btf = types_btf();
    let bits = struct_id(&btf, "bits");
    let BtfType::Struct(c) = btf.type_by_id(bits).unwrap() else {
        panic!()
    };
    assert!(c.kind_flag);
    assert_eq!(c.size, 16);
    let layout: Vec<(&str, u32, u32)> = c
        .members
        .iter()
        .map(|m| {
            (
                btf.string_at(m.name_off).unwrap(),
                m.bit_offset,
                m.bitfield_size,
            )
        })
        .collect();
    assert_eq!(
        layout,
        [
            ("a", 0, 3),
            ("b", 3, 5),
            ("c", 8, 40),
            ("d", 48, 0),
            ("e", 64, 9)
        ]
    );
    let b = member(&btf, bits, "b");
    let BtfType::Int(int) = btf.type_by_id(b.type_id).unwrap() else {
        panic!()
    };
    assert!(int.is_signed());
    assert_eq!((int.size, int.bits), (4, 32));
    assert_eq!(btf.size_of(bits).unwrap(), 16);
}

#[test]
fn unions() {
    let btf = types_btf();
    let id = btf.find_type(BtfKind::Union, "number").unwrap();
    assert_eq!(btf.size_of(id).unwrap(), 8);
    let members = btf.members(id).unwrap();
    assert_eq!(members.len(), 4);
    assert!(members.iter().all(|m| m.bit_offset == 0));
    let f = member(&btf, id, "f");
    assert_eq!(btf.kind_of(f.type_id).unwrap(), BtfKind::Float);
    assert_eq!(btf.name_of(f.type_id).unwrap(), "float");
    let bytes = member(&btf, id, "bytes");
    let BtfType::Array(a) = btf.type_by_id(bytes.type_id).unwrap() else {
        panic!()
    };
    assert_eq!(a.nelems, 8);
    assert_eq!(btf.name_of(a.elem_type).unwrap(), "char");
    assert_eq!(btf.name_of(a.index_type).unwrap(), "__ARRAY_SIZE_TYPE__");
}

#[test]
fn enums_and_enum64() {
    let btf = types_btf();
    let color = btf.find_type(BtfKind::Enum, "color").unwrap();
    let BtfType::Enum(e) = btf.type_by_id(color).unwrap() else {
        panic!()
    };
    assert!(e.signed, "an enum with a negative value is signed");
    assert_eq!(e.size, 4);
    let values: Vec<(&str, i64)> = e
        .values
        .iter()
        .map(|v| (btf.string_at(v.name_off).unwrap(), v.value as i64))
        .collect();
    assert_eq!(values, [("RED", 0), ("GREEN", 5), ("BLUE", -1)]);

    let big = btf.find_type(BtfKind::Enum64, "big").unwrap();
    let BtfType::Enum64(e) = btf.type_by_id(big).unwrap() else {
        panic!()
    };
    assert!(!e.signed);
    assert_eq!(e.size, 8);
    assert_eq!(btf.size_of(big).unwrap(), 8);
    let values: Vec<(&str, u64)> = e
        .values
        .iter()
        .map(|v| (btf.string_at(v.name_off).unwrap(), v.value))
        .collect();
    assert_eq!(
        values,
        [("BIG_SMALL", 1), ("BIG_HUGE", 0x1234_5678_9abc_def0)]
    );
}

#[test]
fn arrays_and_sizes() {
    let btf = types_btf();
    let record = struct_id(&btf, "record");
    let matrix = member(&btf, record, "matrix");
    let BtfType::Array(outer) = btf.type_by_id(matrix.type_id).unwrap() else {
        panic!()
    };
    assert_eq!(outer.nelems, 3);
    let BtfType::Array(inner) = btf.type_by_id(outer.elem_type).unwrap() else {
        panic!()
    };
    assert_eq!(inner.nelems, 4);
    assert_eq!(btf.name_of(inner.elem_type).unwrap(), "int");
    assert_eq!(btf.size_of(matrix.type_id).unwrap(), 48);
    assert_eq!(
        btf.size_of(member(&btf, record, "name").type_id).unwrap(),
        16
    );
    // Pointers are 8 bytes, whatever they point to.
    assert_eq!(
        btf.size_of(member(&btf, record, "next").type_id).unwrap(),
        8
    );
    assert_eq!(
        btf.size_of(member(&btf, record, "callback").type_id)
            .unwrap(),
        8
    );
    assert_eq!(btf.size_of(record).unwrap(), 160);
    assert_eq!(member(&btf, record, "count").bit_offset, 1216);
}

#[test]
fn typedef_chains_resolve() {
    let btf = types_btf();
    let record = struct_id(&btf, "record");
    let flags = member(&btf, record, "flags");
    // cv_u32 -> const -> volatile -> my_u32 -> u32_t -> unsigned int
    let mut chain = Vec::new();
    let mut id = flags.type_id;
    while let Ok(BtfType::Typedef(r) | BtfType::Const(r) | BtfType::Volatile(r)) =
        btf.type_by_id(id)
    {
        chain.push((
            btf.kind_of(id).unwrap(),
            btf.name_of(id).unwrap().to_string(),
        ));
        id = r.type_id;
    }
    let chain: Vec<(BtfKind, &str)> = chain.iter().map(|(k, n)| (*k, n.as_str())).collect();
    assert_eq!(
        chain,
        [
            (BtfKind::Typedef, "cv_u32"),
            (BtfKind::Const, ""),
            (BtfKind::Volatile, ""),
            (BtfKind::Typedef, "my_u32"),
            (BtfKind::Typedef, "u32_t"),
        ]
    );
    let resolved = btf.resolve_type(flags.type_id).unwrap();
    assert_eq!(resolved, id);
    assert_eq!(btf.name_of(resolved).unwrap(), "unsigned int");
    assert_eq!(btf.size_of(flags.type_id).unwrap(), 4);
    // Resolving a non-modifier is the identity.
    assert_eq!(btf.resolve_type(record).unwrap(), record);
}

#[test]
fn func_protos_and_funcs() {
    let btf = types_btf();
    let record = struct_id(&btf, "record");

    // void (*callback)(int code, struct record *rec)
    let cb = member(&btf, record, "callback");
    let BtfType::Ptr(p) = btf.type_by_id(cb.type_id).unwrap() else {
        panic!()
    };
    let BtfType::FuncProto(proto) = btf.type_by_id(p.type_id).unwrap() else {
        panic!()
    };
    assert_eq!(proto.return_type, 0);
    assert_eq!(proto.params.len(), 2);
    assert_eq!(btf.name_of(proto.params[0].type_id).unwrap(), "int");
    let BtfType::Ptr(rp) = btf.type_by_id(proto.params[1].type_id).unwrap() else {
        panic!()
    };
    assert_eq!(rp.type_id, record);

    let helper = btf.find_type(BtfKind::Func, "helper_fn").unwrap();
    let BtfType::Func(f) = btf.type_by_id(helper).unwrap() else {
        panic!()
    };
    assert_eq!(u32::from(f.linkage), linkage::STATIC);
    let BtfType::FuncProto(proto) = btf.type_by_id(f.proto_type).unwrap() else {
        panic!()
    };
    let names: Vec<&str> = proto
        .params
        .iter()
        .map(|p| btf.string_at(p.name_off).unwrap())
        .collect();
    assert_eq!(names, ["r", "x"]);
    assert_eq!(btf.name_of(proto.return_type).unwrap(), "int");

    let one = btf.find_type(BtfKind::Func, "prog_one").unwrap();
    let BtfType::Func(f) = btf.type_by_id(one).unwrap() else {
        panic!()
    };
    assert_eq!(u32::from(f.linkage), linkage::GLOBAL);
    assert!(matches!(
        btf.size_of(one),
        Err(BtfError::NoSize {
            kind: BtfKind::Func,
            ..
        })
    ));
}

#[test]
fn tags_float_restrict() {
    let btf = types_btf();
    let record = struct_id(&btf, "record");

    let uptr = member(&btf, record, "uptr");
    let BtfType::Ptr(p) = btf.type_by_id(uptr.type_id).unwrap() else {
        panic!()
    };
    let BtfType::TypeTag(tag) = btf.type_by_id(p.type_id).unwrap() else {
        panic!()
    };
    assert_eq!(btf.string_at(tag.name_off).unwrap(), "user");
    assert_eq!(
        btf.name_of(btf.resolve_type(p.type_id).unwrap()).unwrap(),
        "int"
    );

    let rptr = member(&btf, record, "rptr");
    assert_eq!(btf.kind_of(rptr.type_id).unwrap(), BtfKind::Restrict);
    assert_eq!(
        btf.kind_of(btf.resolve_type(rptr.type_id).unwrap())
            .unwrap(),
        BtfKind::Ptr
    );
    assert_eq!(btf.size_of(rptr.type_id).unwrap(), 8);

    let (tag_id, tag) = btf
        .types()
        .find_map(|(id, t)| match t {
            BtfType::DeclTag(d) => Some((id, d)),
            _ => None,
        })
        .unwrap();
    assert_eq!(btf.name_of(tag_id).unwrap(), "counted");
    assert_eq!(tag.type_id, record);
    let count_index = btf
        .members(record)
        .unwrap()
        .iter()
        .position(|m| btf.string_at(m.name_off).unwrap() == "count")
        .unwrap();
    assert_eq!(tag.component_idx, count_index as i32);

    let ratio = member(&btf, record, "ratio");
    assert_eq!(
        btf.type_by_id(ratio.type_id).unwrap(),
        &BtfType::Float(waggle_btf::Float {
            name_off: btf.type_by_id(ratio.type_id).unwrap().name_off(),
            size: 8
        })
    );
    assert_eq!(btf.name_of(ratio.type_id).unwrap(), "double");
}

#[test]
fn datasecs_of_globals() {
    let btf = types_btf();
    let sec_vars = |name: &str| -> Vec<(String, u32)> {
        let id = btf.find_type(BtfKind::Datasec, name).unwrap();
        let BtfType::Datasec(d) = btf.type_by_id(id).unwrap() else {
            panic!()
        };
        d.vars
            .iter()
            .map(|v| (btf.name_of(v.type_id).unwrap().to_string(), v.size))
            .collect()
    };
    assert_eq!(sec_vars(".data"), [("counter".to_string(), 4)]);
    assert_eq!(sec_vars(".bss"), [("last_record".to_string(), 160)]);
    assert_eq!(sec_vars(".rodata"), [("limit".to_string(), 4)]);
    assert_eq!(sec_vars("license"), [("LICENSE".to_string(), 4)]);
    assert_eq!(
        sec_vars(".maps"),
        [("records".to_string(), 32), ("counts".to_string(), 32)]
    );

    // const volatile unsigned int limit
    let limit = btf.find_type(BtfKind::Var, "limit").unwrap();
    let BtfType::Var(v) = btf.type_by_id(limit).unwrap() else {
        panic!()
    };
    assert_eq!(v.linkage, linkage::GLOBAL);
    assert_eq!(btf.kind_of(v.type_id).unwrap(), BtfKind::Const);
    assert_eq!(
        btf.name_of(btf.resolve_type(v.type_id).unwrap()).unwrap(),
        "unsigned int"
    );
    assert_eq!(btf.size_of(limit).unwrap(), 4);
}

/// Reads a BTF-defined map the way a loader does: `__uint(name, N)` is a
/// pointer to an array of N elements, `__type(name, T)` a pointer to T.
fn map_def(btf: &Btf, var_name: &str) -> (u32, u32, u32, u32) {
    let var = btf.find_type(BtfKind::Var, var_name).unwrap();
    let BtfType::Var(v) = btf.type_by_id(var).unwrap() else {
        panic!()
    };
    let def = btf.resolve_type(v.type_id).unwrap();
    let uint = |name: &str| -> u32 {
        let m = member(btf, def, name);
        let BtfType::Ptr(p) = btf.type_by_id(m.type_id).unwrap() else {
            panic!("{name} is not a pointer")
        };
        let BtfType::Array(a) = btf.type_by_id(p.type_id).unwrap() else {
            panic!("{name} is not a pointer to an array")
        };
        a.nelems
    };
    let ty = |name: &str| -> u32 {
        let m = member(btf, def, name);
        let BtfType::Ptr(p) = btf.type_by_id(m.type_id).unwrap() else {
            panic!("{name} is not a pointer")
        };
        p.type_id
    };
    (uint("type"), uint("max_entries"), ty("key"), ty("value"))
}

#[test]
fn btf_defined_maps() {
    const BPF_MAP_TYPE_HASH: u32 = 1;
    const BPF_MAP_TYPE_ARRAY: u32 = 2;
    let btf = types_btf();

    let (ty, max, key, value) = map_def(&btf, "records");
    assert_eq!(ty, BPF_MAP_TYPE_HASH);
    assert_eq!(max, 1024);
    assert_eq!(btf.name_of(key).unwrap(), "__u32");
    assert_eq!(btf.size_of(key).unwrap(), 4);
    assert_eq!(value, struct_id(&btf, "record"));
    assert_eq!(btf.size_of(value).unwrap(), 160);

    let (ty, max, key, value) = map_def(&btf, "counts");
    assert_eq!(ty, BPF_MAP_TYPE_ARRAY);
    assert_eq!(max, 4);
    assert_eq!(btf.name_of(key).unwrap(), "__u32");
    assert_eq!(btf.name_of(value).unwrap(), "__u64");
    assert_eq!(btf.size_of(value).unwrap(), 8);
}

#[test]
fn line_info_matches_the_source() {
    let obj = Obj::load("types.o");
    let btf = obj.btf();
    let ext = obj.ext(&btf);
    assert_eq!(ext.line_info_rec_size, 16);
    let source = String::from_utf8(read_data("types.bpf.c")).unwrap();
    let lines: Vec<&str> = source.lines().collect();
    let mut seen = 0;
    for sec in &ext.line_info {
        assert!(
            ["xdp", "tc", ".text"].contains(&sec.name.as_str()),
            "{}",
            sec.name
        );
        let mut last_off = None;
        for li in &sec.records {
            assert_eq!(li.file_name(&btf).unwrap(), "./types.bpf.c");
            let line = li.line() as usize;
            assert!(line >= 1 && line <= lines.len());
            assert_eq!(
                li.source_line(&btf).unwrap(),
                lines[line - 1],
                "line {line}"
            );
            assert!(li.column() as usize <= lines[line - 1].len() + 1);
            assert_eq!(li.insn_off % 8, 0);
            assert!(
                last_off.is_none_or(|o| o <= li.insn_off),
                "sorted by instruction"
            );
            last_off = Some(li.insn_off);
            seen += 1;
        }
    }
    assert!(seen > 10);
    // The first line of prog_one is its signature.
    let first = &ext.line_info_for("xdp").unwrap()[0];
    assert_eq!(first.insn_index(), 0);
    assert_eq!(
        first.source_line(&btf).unwrap(),
        "int prog_one(struct xdp_md *ctx)"
    );
    // A line inside it, with its column.
    let lookup = ext
        .line_info_for("xdp")
        .unwrap()
        .iter()
        .find(|l| l.source_line(&btf).unwrap().contains("bpf_map_lookup_elem"))
        .unwrap();
    assert_eq!(
        lines[lookup.line() as usize - 1],
        "\tr = bpf_map_lookup_elem(&records, &key);"
    );
    assert_eq!(lookup.column(), 6);
}

#[test]
fn func_info_names_every_program() {
    let obj = Obj::load("types.o");
    let btf = obj.btf();
    let ext = obj.ext(&btf);
    assert_eq!(ext.func_info_rec_size, 8);
    let mut funcs: Vec<(String, u32, String)> = ext
        .func_info
        .iter()
        .flat_map(|s| {
            s.records.iter().map(|f| {
                (
                    s.name.clone(),
                    f.insn_off,
                    btf.name_of(f.type_id).unwrap().to_string(),
                )
            })
        })
        .collect();
    funcs.sort();
    assert_eq!(
        funcs,
        [
            (".text".to_string(), 0, "helper_fn".to_string()),
            ("tc".to_string(), 0, "prog_two".to_string()),
            ("xdp".to_string(), 0, "prog_one".to_string()),
        ]
    );
    for s in &ext.func_info {
        for f in &s.records {
            assert_eq!(btf.kind_of(f.type_id).unwrap(), BtfKind::Func);
            assert_eq!(f.insn_index(), 0);
        }
    }
    assert_eq!(ext.func_info_for("xdp").unwrap().len(), 1);
    assert!(ext.func_info_for("nope").is_none());
    assert!(ext.core_relos.is_empty());
}

#[test]
fn round_trip_is_byte_exact() {
    for name in ["types.o", "core_local.o", "core_target.o", "core_waggle.o"] {
        let bytes = Obj::load(name).btf_bytes();
        let btf = Btf::parse(&bytes).unwrap();
        assert_eq!(btf.to_bytes().unwrap(), bytes, "{name}");
    }
    let bytes = waggle_btf::WAGGLE_TYPES_BTF;
    assert_eq!(Btf::parse(bytes).unwrap().to_bytes().unwrap(), bytes);
}

#[test]
fn edits_re_encode() {
    // What a kernel loader does before upload: fill in the DATASEC sizes
    // and variable offsets clang leaves for the linker.
    let mut btf = types_btf();
    let data = btf.find_type(BtfKind::Datasec, ".data").unwrap();
    let BtfType::Datasec(d) = btf.type_by_id_mut(data).unwrap() else {
        panic!()
    };
    d.size = 4;
    let off = btf.add_string("waggle_added");
    assert_eq!(btf.add_string("waggle_added"), off, "strings are reused");
    assert_eq!(
        btf.add_string("counter"),
        btf.type_by_id(btf.find_type(BtfKind::Var, "counter").unwrap())
            .unwrap()
            .name_off()
    );
    let int = btf.find_type(BtfKind::Int, "int").unwrap();
    let id = btf
        .add_type(BtfType::Typedef(waggle_btf::Ref {
            name_off: off,
            type_id: int,
            kind_flag: false,
        }))
        .unwrap();
    let again = Btf::parse(&btf.to_bytes().unwrap()).unwrap();
    assert_eq!(again, btf);
    assert_eq!(again.find_type(BtfKind::Typedef, "waggle_added"), Some(id));
    assert_eq!(again.size_of(id).unwrap(), 4);
    let BtfType::Datasec(d) = again.type_by_id(data).unwrap() else {
        panic!()
    };
    assert_eq!(d.size, 4);

    // Bad edits are refused.
    btf.validate().unwrap();
    let dangling = btf
        .add_type(BtfType::Ptr(waggle_btf::Ref {
            name_off: 0,
            type_id: 10_000,
            kind_flag: false,
        }))
        .unwrap();
    assert_eq!(
        btf.validate().unwrap_err().to_string(),
        format!("type id 10000 out of range (ids go up to {dangling}) in referenced type of type id {dangling}")
    );
    assert!(Btf::parse(&btf.to_bytes().unwrap()).is_err());
    assert!(matches!(
        btf.add_type(BtfType::Ptr(waggle_btf::Ref {
            name_off: 1 << 30,
            type_id: 0,
            kind_flag: false
        })),
        Err(BtfError::StringOffsetOutOfRange { .. })
    ));
    assert!(btf.add_type(BtfType::Void).is_err());
    assert!(btf.type_by_id_mut(0).is_err());
}

#[test]
fn queries_name_what_is_wrong() {
    let btf = types_btf();
    let max = btf.max_type_id();
    let err = btf.type_by_id(max + 1).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!("type id {} out of range (ids go up to {max})", max + 1)
    );
    let err = btf.string_at(1 << 20).unwrap_err();
    assert!(
        err.to_string()
            .starts_with("string offset 1048576 out of range"),
        "{err}"
    );
    let err = btf.size_of(0).unwrap_err();
    assert_eq!(err.to_string(), "type id 0 (VOID) has no size");
    assert!(btf.find_type(BtfKind::Struct, "no_such_struct").is_none());
    assert!(btf.find_by_name("").is_none());
    assert_eq!(
        btf.find_by_name("record"),
        btf.find_type(BtfKind::Struct, "record")
    );
    assert!(btf
        .members(btf.find_type(BtfKind::Int, "int").unwrap())
        .is_err());
    // Forward declarations have no size.
    let fwd = btf.find_type(BtfKind::Fwd, "bpf_sock").unwrap();
    assert!(matches!(
        btf.size_of(fwd),
        Err(BtfError::NoSize {
            kind: BtfKind::Fwd,
            ..
        })
    ));
    let BtfType::Fwd(f) = btf.type_by_id(fwd).unwrap() else {
        panic!()
    };
    assert!(!f.is_union);
}

#[test]
fn waggle_types_contents() {
    let btf = waggle_btf::waggle_types();
    let xdp = struct_id(btf, "xdp_md");
    assert_eq!(btf.size_of(xdp).unwrap(), 24);
    let fields: Vec<(&str, u32)> = btf
        .members(xdp)
        .unwrap()
        .iter()
        .map(|m| (btf.string_at(m.name_off).unwrap(), m.bit_offset / 8))
        .collect();
    assert_eq!(
        fields,
        [
            ("data", 0),
            ("data_end", 4),
            ("data_meta", 8),
            ("ingress_ifindex", 12),
            ("rx_queue_index", 16),
            ("egress_ifindex", 20)
        ]
    );
    let skb = struct_id(btf, "__sk_buff");
    assert_eq!(btf.size_of(skb).unwrap(), 192);
    for (name, off) in [
        ("len", 0),
        ("mark", 8),
        ("cb", 48),
        ("data", 76),
        ("data_end", 80),
        ("tstamp", 152),
    ] {
        assert_eq!(
            member(btf, skb, name).bit_offset / 8,
            off,
            "__sk_buff.{name}"
        );
    }
    let enum_values = |name: &str| -> Vec<(String, u64)> {
        let id = btf.find_type(BtfKind::Enum, name).unwrap();
        btf.type_by_id(id)
            .unwrap()
            .enum_values()
            .unwrap()
            .iter()
            .map(|v| (btf.string_at(v.name_off).unwrap().to_string(), v.value))
            .collect()
    };
    let xa = enum_values("xdp_action");
    let xa: Vec<(&str, u64)> = xa.iter().map(|(n, v)| (n.as_str(), *v)).collect();
    assert_eq!(
        xa,
        [
            ("XDP_ABORTED", 0),
            ("XDP_DROP", 1),
            ("XDP_PASS", 2),
            ("XDP_TX", 3),
            ("XDP_REDIRECT", 4)
        ]
    );
    let sa = enum_values("sk_action");
    let sa: Vec<(&str, u64)> = sa.iter().map(|(n, v)| (n.as_str(), *v)).collect();
    assert_eq!(sa, [("SK_DROP", 0), ("SK_PASS", 1)]);
    assert_eq!(btf.size_of(struct_id(btf, "bpf_spin_lock")).unwrap(), 4);
    assert!(btf.find_type(BtfKind::Fwd, "bpf_sock").is_some());
    assert!(btf.find_type(BtfKind::Struct, "bpf_timer").is_none());
    // The same bytes as the committed file.
    assert_eq!(
        waggle_btf::WAGGLE_TYPES_BTF,
        &read_data("../../data/waggle_types.btf")[..]
    );
}
