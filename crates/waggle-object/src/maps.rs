//! Map definitions: legacy `maps` sections and global-data sections. (BTF
//! `.maps` definitions are read in `btf_maps.rs`.)

use crate::elf::{Elf, Section, SectionKind, SymbolKind};
use crate::error::{Ctx, ErrorKind, ObjectError};

/// `BPF_MAP_TYPE_ARRAY`, the type of global-data maps.
const BPF_MAP_TYPE_ARRAY: u32 = 2;
/// `BPF_F_RDONLY_PROG`: programs may not write `.rodata`.
const BPF_F_RDONLY_PROG: u32 = 1 << 7;
/// `BPF_F_MMAPABLE`: libbpf creates global-data maps mmapable.
const BPF_F_MMAPABLE: u32 = 1 << 10;

/// Initial contents of a global-data map.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MapData {
    /// The section's bytes (zeroes for `.bss`).
    pub bytes: Vec<u8>,
    /// `.rodata*`: constant for programs.
    pub read_only: bool,
}

/// A map an object declares.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MapDef {
    /// The symbol name (`counts`), or the section name for global data
    /// (`.rodata`, `.bss`).
    pub name: String,
    /// Linux `bpf_map_type` number (checked for support when the map is
    /// created, not here: other backends may support more).
    pub map_type: u32,
    pub key_size: u32,
    pub value_size: u32,
    pub max_entries: u32,
    pub flags: u32,
    pub map_extra: u64,
    /// `LIBBPF_PIN_*`: 0 none, 1 by name.
    pub pinning: u32,
    /// The template of inner maps, for map-in-map types.
    pub inner: Option<Box<MapDef>>,
    /// Global data: the map holds one element, the section's contents.
    pub data: Option<MapData>,
    /// Static initial values of prog arrays and map-in-map types, from
    /// libbpf's `.values = { [i] = &x }`: slot index and the program or map
    /// name.
    pub initial_slots: Vec<(u32, String)>,
    /// BTF type ids of the key and value, when declared with `__type`.
    pub btf_key_type_id: u32,
    pub btf_value_type_id: u32,
    /// BTF type of the value, for finding a `struct bpf_spin_lock` in it.
    pub spin_lock_offset: Option<u32>,
}

impl MapDef {
    /// A map defined by its type and sizes alone, as a legacy `maps`
    /// section defines one: no flags, BTF types, data or inner map.
    pub fn with_sizes(
        name: impl Into<String>,
        map_type: u32,
        key_size: u32,
        value_size: u32,
        max_entries: u32,
    ) -> MapDef {
        MapDef {
            key_size,
            value_size,
            max_entries,
            ..MapDef::new(name.into(), map_type)
        }
    }

    pub(crate) fn new(name: String, map_type: u32) -> MapDef {
        MapDef {
            name,
            map_type,
            key_size: 0,
            value_size: 0,
            max_entries: 0,
            flags: 0,
            map_extra: 0,
            pinning: 0,
            inner: None,
            data: None,
            initial_slots: Vec::new(),
            btf_key_type_id: 0,
            btf_value_type_id: 0,
            spin_lock_offset: None,
        }
    }
}

/// Where a map came from, to resolve relocations against it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum MapOrigin {
    /// Declared by a symbol in a maps section (legacy or BTF).
    Symbol { section: usize, symbol: String },
    /// A whole global-data section.
    DataSection(usize),
}

/// The map of each global-data section.
pub(crate) fn data_maps(elf: &Elf) -> Vec<(MapOrigin, MapDef)> {
    elf.sections
        .iter()
        .filter_map(|s| match s.kind {
            // Empty sections define no variables and get no map, as in libbpf.
            SectionKind::Data { read_only } if s.size > 0 => Some((s, read_only)),
            _ => None,
        })
        .map(|(s, read_only)| {
            let mut def = MapDef::new(s.name.clone(), BPF_MAP_TYPE_ARRAY);
            def.key_size = 4;
            def.value_size = s.size as u32;
            def.max_entries = 1;
            def.flags = BPF_F_MMAPABLE | if read_only { BPF_F_RDONLY_PROG } else { 0 };
            let mut bytes = s.data.clone();
            bytes.resize(s.size as usize, 0);
            def.data = Some(MapData { bytes, read_only });
            (MapOrigin::DataSection(s.index), def)
        })
        .collect()
}

/// Maps of a legacy `maps` section: one `struct bpf_map_def` per symbol.
pub(crate) fn legacy_maps(
    ctx: &Ctx,
    elf: &Elf,
    section: &Section,
) -> Result<Vec<(MapOrigin, MapDef)>, ObjectError> {
    let err = |reason: String, map: &str| {
        ctx.err(
            Some(&section.name),
            ErrorKind::Map {
                map: map.to_string(),
                reason,
            },
        )
    };
    let syms: Vec<_> = elf
        .symbols_in(section.index)
        .filter(|(_, s)| {
            matches!(s.kind, SymbolKind::Object | SymbolKind::Other) && !s.name.is_empty()
        })
        .map(|(_, s)| s.clone())
        .collect();
    if syms.is_empty() {
        return Ok(Vec::new());
    }
    // Each definition is the section divided evenly among its symbols, as
    // libbpf computes it; at least the five mandatory u32 fields.
    let def_size = section.data.len() / syms.len();
    if def_size < 20 || section.data.len() % syms.len() != 0 {
        return Err(err(
            format!(
                "legacy map definitions must be at least 20 bytes each; the section has {} bytes for {} maps",
                section.data.len(),
                syms.len()
            ),
            &syms[0].name,
        ));
    }
    let mut out = Vec::new();
    for sym in syms {
        let start = sym.value as usize;
        let Some(raw) = section.data.get(start..start + def_size) else {
            return Err(err(
                format!("definition at offset {start} runs past the section"),
                &sym.name,
            ));
        };
        let word =
            |i: usize| u32::from_le_bytes(raw[i * 4..i * 4 + 4].try_into().expect("4 bytes"));
        let mut def = MapDef::new(sym.name.clone(), word(0));
        def.key_size = word(1);
        def.value_size = word(2);
        def.max_entries = word(3);
        def.flags = word(4);
        if def_size >= 28 {
            def.pinning = word(6);
        }
        out.push((
            MapOrigin::Symbol {
                section: section.index,
                symbol: sym.name,
            },
            def,
        ));
    }
    Ok(out)
}
