//! BTF-defined maps: the `.maps` section, read through the object's BTF as
//! libbpf does.
//!
//! A definition like
//! ```c
//! struct {
//!     __uint(type, BPF_MAP_TYPE_HASH);   // int (*type)[BPF_MAP_TYPE_HASH];
//!     __type(key, __u32);                // __u32 *key;
//!     __array(values, struct inner);     // struct inner *values[];
//! } m SEC(".maps");
//! ```
//! encodes numbers as array lengths and types as pointer targets; this
//! module decodes them. Static initial values (`.values = { [i] = &x }`)
//! are relocations inside the `.maps` section.

use crate::elf::{Elf, Section};
use crate::error::{Ctx, ErrorKind, ObjectError};
use crate::maps::{MapDef, MapOrigin};
use waggle_btf::{Btf, BtfKind, BtfType};

struct Reader<'a> {
    btf: &'a Btf,
    map: String,
}

type Res<T> = Result<T, String>;

impl Reader<'_> {
    fn name(&self, off: u32) -> Res<&str> {
        self.btf.string_at(off).map_err(|e| e.to_string())
    }

    fn resolve(&self, id: u32) -> Res<(u32, &BtfType)> {
        self.btf.resolve(id).map_err(|e| e.to_string())
    }

    /// The target of a pointer member (`__type`, `__array` elements).
    fn pointee(&self, id: u32, field: &str) -> Res<u32> {
        match self.resolve(id)?.1 {
            BtfType::Ptr(r) => Ok(r.type_id),
            other => Err(format!(
                "field `{field}` must be a pointer, found {}",
                other.kind().name()
            )),
        }
    }

    /// An `__uint(field, N)` value: a pointer to an array of N elements.
    fn uint(&self, id: u32, field: &str) -> Res<u32> {
        let target = self.pointee(id, field)?;
        match self.resolve(target)?.1 {
            BtfType::Array(a) => Ok(a.nelems),
            other => Err(format!(
                "field `{field}` must be declared with __uint (a pointer to an array), found a pointer to {}",
                other.kind().name()
            )),
        }
    }

    fn size(&self, id: u32) -> Res<u32> {
        self.btf.size_of(id).map_err(|e| e.to_string())
    }

    /// Byte offset of a `struct bpf_spin_lock` member at the top level of `id`.
    fn spin_lock_offset(&self, id: u32) -> Option<u32> {
        let members = self.btf.members(self.btf.resolve_type(id).ok()?).ok()?;
        members.iter().find_map(|m| {
            let (mid, ty) = self.btf.resolve(m.type_id).ok()?;
            let is_lock = matches!(ty, BtfType::Struct(_))
                && self.btf.name_of(mid).ok() == Some("bpf_spin_lock");
            is_lock.then_some(m.bit_offset / 8)
        })
    }

    /// A map definition struct; returns it and the byte offset of its
    /// `values` member, if any.
    fn def(&self, struct_id: u32, name: &str) -> Res<(MapDef, Option<u32>)> {
        let (_, ty) = self.resolve(struct_id)?;
        let BtfType::Struct(s) = ty else {
            return Err(format!(
                "definition must be a struct, found {}",
                ty.kind().name()
            ));
        };
        let mut def = MapDef::new(name.to_string(), 0);
        let mut key_type = None;
        let mut value_type = None;
        let mut values_offset = None;
        for m in &s.members {
            let field = self.name(m.name_off)?;
            match field {
                "type" => def.map_type = self.uint(m.type_id, field)?,
                "max_entries" => def.max_entries = self.uint(m.type_id, field)?,
                "map_flags" => def.flags = self.uint(m.type_id, field)?,
                "key_size" => def.key_size = self.uint(m.type_id, field)?,
                "value_size" => def.value_size = self.uint(m.type_id, field)?,
                "map_extra" => def.map_extra = self.uint(m.type_id, field)? as u64,
                "pinning" => def.pinning = self.uint(m.type_id, field)?,
                // NUMA placement means nothing to a userspace runtime.
                "numa_node" => {
                    self.uint(m.type_id, field)?;
                }
                "key" => key_type = Some(self.pointee(m.type_id, field)?),
                "value" => value_type = Some(self.pointee(m.type_id, field)?),
                "values" => {
                    let (_, arr) = self.resolve(m.type_id)?;
                    let BtfType::Array(a) = arr else {
                        return Err("field `values` must be declared with __array".into());
                    };
                    let inner = self.pointee(a.elem_type, field)?;
                    // Prog arrays declare program prototypes, not maps.
                    if !matches!(self.resolve(inner)?.1, BtfType::FuncProto(_)) {
                        let (inner_def, _) = self.def(inner, &format!("{name}.inner"))?;
                        def.inner = Some(Box::new(inner_def));
                    }
                    values_offset = Some(m.bit_offset / 8);
                }
                other => return Err(format!("unknown field `{other}` in the map definition")),
            }
        }
        if let Some(k) = key_type {
            let size = self.size(k)?;
            if def.key_size != 0 && def.key_size != size {
                return Err(format!(
                    "key_size {} conflicts with key type of {size} bytes",
                    def.key_size
                ));
            }
            def.key_size = size;
            def.btf_key_type_id = k;
        }
        if let Some(v) = value_type {
            let size = self.size(v)?;
            if def.value_size != 0 && def.value_size != size {
                return Err(format!(
                    "value_size {} conflicts with value type of {size} bytes",
                    def.value_size
                ));
            }
            def.value_size = size;
            def.btf_value_type_id = v;
            def.spin_lock_offset = self.spin_lock_offset(v);
        }
        if values_offset.is_some() && def.value_size == 0 {
            // Map-in-map and prog-array values are 4-byte ids.
            def.value_size = 4;
        }
        Ok((def, values_offset))
    }
}

/// The maps of the `.maps` section.
pub(crate) fn btf_maps(
    ctx: &Ctx,
    elf: &Elf,
    section: &Section,
    btf: Option<&Btf>,
) -> Result<Vec<(MapOrigin, MapDef)>, ObjectError> {
    let err = |map: &str, reason: String| {
        ctx.err(
            Some(&section.name),
            ErrorKind::Map {
                map: map.to_string(),
                reason,
            },
        )
    };
    let btf = btf.ok_or_else(|| {
        ctx.err(
            Some(&section.name),
            ErrorKind::Btf(
                "BTF-defined maps need the object's .BTF section, which is missing".into(),
            ),
        )
    })?;
    let datasec = btf.find_type(BtfKind::Datasec, ".maps").ok_or_else(|| {
        ctx.err(
            Some(&section.name),
            ErrorKind::Btf("no DATASEC `.maps` in the object's BTF".into()),
        )
    })?;
    let Ok(BtfType::Datasec(ds)) = btf.type_by_id(datasec) else {
        return Err(ctx.err(
            Some(&section.name),
            ErrorKind::Btf("`.maps` is not a DATASEC".into()),
        ));
    };
    let mut out = Vec::new();
    for var_info in &ds.vars {
        let Ok(BtfType::Var(var)) = btf.type_by_id(var_info.type_id) else {
            return Err(ctx.err(
                Some(&section.name),
                ErrorKind::Btf("`.maps` entry is not a VAR".into()),
            ));
        };
        let name = btf
            .string_at(var.name_off)
            .map_err(|e| err("?", e.to_string()))?
            .to_string();
        let reader = Reader {
            btf,
            map: name.clone(),
        };
        let (mut def, values_offset) = reader
            .def(var.type_id, &name)
            .map_err(|e| err(&reader.map, e))?;
        if let Some(values) = values_offset {
            // `.values = { [i] = &x }`: a relocation per initialised slot.
            let start = var_info.offset as u64 + values as u64;
            let end = var_info.offset as u64 + var_info.size as u64;
            for reloc in section
                .relocs
                .iter()
                .filter(|r| (start..end).contains(&r.offset))
            {
                let sym = elf
                    .symbols
                    .get(reloc.symbol)
                    .and_then(Option::as_ref)
                    .ok_or_else(|| {
                        err(
                            &name,
                            format!(
                                "initial value relocation names missing symbol {}",
                                reloc.symbol
                            ),
                        )
                    })?;
                let slot = ((reloc.offset - start) / 8) as u32;
                def.initial_slots.push((slot, sym.name.clone()));
            }
        }
        out.push((
            MapOrigin::Symbol {
                section: section.index,
                symbol: name,
            },
            def,
        ));
    }
    Ok(out)
}
