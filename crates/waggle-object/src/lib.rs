//! Loader for eBPF ELF objects as clang compiles them (`clang -target bpf`),
//! following libbpf's conventions.
//!
//! [`Object::parse`] reads an object into programs and map definitions:
//!
//! - programs from executable sections, typed by section name as libbpf does
//!   (`xdp`, `tc`, `kprobe/...`), each linked with the subprograms it calls
//!   (from `.text` or its own section) appended after it;
//! - maps from `.maps` (BTF-defined), the legacy `maps` section, and one array
//!   map per global-data section (`.data`, `.rodata*`, `.bss`);
//! - relocations applied: calls and function references point at the linked
//!   subprograms, and every map or global-data reference becomes an LD_IMM64
//!   of `BPF_PSEUDO_MAP_IDX` / `BPF_PSEUDO_MAP_IDX_VALUE` naming a map by its
//!   index in [`Object::maps`]. Each backend then binds indices to its own maps
//!   (addresses in userspace, file descriptors in the kernel).
//!
//! Every error names the object, the section and the reason.

mod elf;
mod error;
mod link;
mod maps;
mod section;

pub use error::{ErrorKind, ObjectError};
pub use maps::{MapData, MapDef};
pub use section::{program_type, ProgramType};

use elf::{SectionKind, SymbolKind};
use error::Ctx;
use link::{Code, Func, Linker};
use maps::MapOrigin;
use std::collections::HashMap;
use waggle_isa::{decode_slots, RawInsn};

/// A program of an object, linked and relocated.
#[derive(Debug, Clone)]
pub struct ProgramDef {
    /// The function name (`xdp_drop_icmp`).
    pub name: String,
    /// The section it came from (`xdp`, `tc/ingress`, `kprobe/do_sys_open`).
    pub section: String,
    pub prog_type: ProgramType,
    /// Instructions, the program's own first, then its subprograms.
    pub insns: Vec<RawInsn>,
}

/// A loaded object.
#[derive(Debug, Clone)]
pub struct Object {
    /// The name the object was loaded under (its file name).
    pub name: String,
    /// The `license` section's string (`"GPL"`), empty when absent.
    pub license: String,
    /// The legacy `version` section, when present.
    pub kernel_version: Option<u32>,
    /// Maps, in the order LD_IMM64 map indices refer to them.
    pub maps: Vec<MapDef>,
    pub programs: Vec<ProgramDef>,
}

impl Object {
    /// Parses and links the object in `data`; `name` appears in errors.
    pub fn parse(name: &str, data: &[u8]) -> Result<Object, ObjectError> {
        let ctx = Ctx {
            object: name.to_string(),
        };
        let elf = elf::read(&ctx, data)?;

        let license = elf
            .section_by_kind(&SectionKind::License)
            .map(|s| {
                let end = s.data.iter().position(|&b| b == 0).unwrap_or(s.data.len());
                String::from_utf8_lossy(&s.data[..end]).into_owned()
            })
            .unwrap_or_default();
        let kernel_version = elf
            .section_by_kind(&SectionKind::Version)
            .and_then(|s| s.data.get(..4))
            .map(|b| u32::from_le_bytes(b.try_into().expect("4 bytes")));

        let (code, entries) = collect_code(&ctx, &elf)?;

        let mut map_list: Vec<(MapOrigin, MapDef)> = Vec::new();
        if let Some(s) = elf.section_by_kind(&SectionKind::LegacyMaps) {
            map_list.extend(maps::legacy_maps(&ctx, &elf, s)?);
        }
        if let Some(s) = elf.section_by_kind(&SectionKind::BtfMaps) {
            if elf
                .symbols_in(s.index)
                .any(|(_, sym)| sym.kind == SymbolKind::Object)
            {
                return Err(ctx.err(
                    Some(&s.name),
                    ErrorKind::Btf("BTF-defined maps are not supported yet".into()),
                ));
            }
        }
        map_list.extend(maps::data_maps(&elf));
        let (origins, map_defs): (Vec<_>, Vec<_>) = map_list.into_iter().unzip();

        let linker = Linker {
            ctx: &ctx,
            elf: &elf,
            code: &code,
            maps: &origins,
        };
        let mut programs = Vec::new();
        for entry in entries {
            let func = &code.funcs[entry];
            let section = elf.section(func.section).expect("code sections exist");
            let prog_type = section::program_type(&section.name).ok_or_else(|| {
                ctx.err(
                    Some(&section.name),
                    ErrorKind::UnknownSection(section.name.clone()),
                )
            })?;
            let linked = linker.link(entry)?;
            // Catch invalid instructions here, naming the program, rather
            // than when a backend first meets them.
            decode_slots(&linked.insns).map_err(|e| {
                let (sec, idx) = linked
                    .origins
                    .get(e.pc)
                    .copied()
                    .unwrap_or((func.section, 0));
                ctx.err(
                    elf.section(sec).map(|s| s.name.as_str()),
                    ErrorKind::Instruction {
                        insn: idx,
                        reason: format!("in program `{}`: {}", func.name, e.kind),
                    },
                )
            })?;
            programs.push(ProgramDef {
                name: func.name.clone(),
                section: section.name.clone(),
                prog_type,
                insns: linked.insns,
            });
        }
        Ok(Object {
            name: name.to_string(),
            license,
            kernel_version,
            maps: map_defs,
            programs,
        })
    }

    /// The program called `name`.
    pub fn program(&self, name: &str) -> Option<&ProgramDef> {
        self.programs.iter().find(|p| p.name == name)
    }

    /// The map called `name`.
    pub fn map(&self, name: &str) -> Option<&MapDef> {
        self.maps.iter().find(|m| m.name == name)
    }
}

/// The code sections' instructions and functions; returns the indices (into
/// `Code::funcs`) of the entry programs, in section then address order.
fn collect_code(ctx: &Ctx, elf: &elf::Elf) -> Result<(Code, Vec<usize>), ObjectError> {
    let mut insns = HashMap::new();
    let mut funcs = Vec::new();
    let mut entries = Vec::new();
    for s in &elf.sections {
        if !matches!(s.kind, SectionKind::Program | SectionKind::Text) || s.size == 0 {
            continue;
        }
        let slots = RawInsn::slice_from_bytes(&s.data).ok_or_else(|| {
            ctx.err(
                Some(&s.name),
                ErrorKind::PartialInstruction { size: s.size },
            )
        })?;
        let mut syms: Vec<_> = elf
            .symbols_in(s.index)
            .filter(|(_, sym)| sym.kind == SymbolKind::Func && !sym.name.is_empty())
            .map(|(_, sym)| sym.clone())
            .collect();
        syms.sort_by_key(|sym| sym.value);
        if syms.is_empty() {
            return Err(ctx.err(
                Some(&s.name),
                ErrorKind::Other("code section without function symbols".into()),
            ));
        }
        for sym in syms {
            let start = (sym.value / 8) as usize;
            // A size of 0 (hand-written assembly) extends to the next symbol or the end.
            let len = if sym.size > 0 {
                (sym.size / 8) as usize
            } else {
                slots.len().saturating_sub(start)
            };
            if sym.value % 8 != 0 || start + len > slots.len() || len == 0 {
                return Err(ctx.err(
                    Some(&s.name),
                    ErrorKind::Other(format!(
                        "function `{}` at offset {} with size {} does not fit the section",
                        sym.name, sym.value, sym.size
                    )),
                ));
            }
            // In program sections, global functions are programs and static
            // ones subprograms; `.text` holds only subprograms (libbpf's rule).
            if s.kind == SectionKind::Program && sym.global {
                entries.push(funcs.len());
            }
            funcs.push(Func {
                name: sym.name,
                section: s.index,
                start,
                len,
            });
        }
        insns.insert(s.index, slots);
    }
    Ok((Code { insns, funcs }, entries))
}
