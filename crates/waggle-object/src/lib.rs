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

mod btf_maps;
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
use waggle_btf::{Btf, BtfExt, FuncInfo, LineInfo};
use waggle_isa::{decode_slots, RawInsn};

/// A source line from BTF line information.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceLine {
    pub file: String,
    pub line: u32,
    pub column: u32,
    /// The line's text as the compiler recorded it.
    pub text: String,
}

/// Which type information CO-RE relocations are resolved against.
#[derive(Clone, Copy)]
pub enum CoreTarget<'a> {
    /// Waggle's own types (`waggle_btf::waggle_types`): for the userspace
    /// runtime.
    Waggle,
    /// Other type information, such as the running kernel's
    /// `/sys/kernel/btf/vmlinux`.
    Btf(&'a Btf),
}

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
    /// Source line of each instruction that starts one, from BTF line info
    /// (empty when the object has none).
    pub lines: Vec<Option<SourceLine>>,
    /// The BTF.ext function info of the linked program (the program and
    /// each appended subprogram), `insn_off` being the byte offset in
    /// `insns`, in order; empty without BTF.ext. What `BPF_PROG_LOAD` takes
    /// as `func_info` (in instructions: `insn_index()`).
    pub func_info: Vec<FuncInfo>,
    /// The BTF.ext line info of the linked program, `insn_off` being the
    /// byte offset in `insns`, in order; empty without BTF.ext.
    pub line_info: Vec<LineInfo>,
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
    /// The object's BTF, when it has one.
    pub btf: Option<Btf>,
}

impl Object {
    /// Parses and links the object in `data`, resolving CO-RE relocations
    /// against Waggle's own types; `name` appears in errors.
    pub fn parse(name: &str, data: &[u8]) -> Result<Object, ObjectError> {
        Object::parse_for(name, data, CoreTarget::Waggle)
    }

    /// [`Object::parse`] with CO-RE relocations resolved against `target`.
    pub fn parse_for(
        name: &str,
        data: &[u8],
        target: CoreTarget<'_>,
    ) -> Result<Object, ObjectError> {
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

        let btf_err = |section: &str, e: String| ctx.err(Some(section), ErrorKind::Btf(e));
        let btf = match elf.section_by_kind(&SectionKind::Btf) {
            Some(s) => {
                let mut btf = Btf::parse(&s.data).map_err(|e| btf_err(&s.name, e.to_string()))?;
                fixup_datasecs(&elf, &mut btf);
                Some(btf)
            }
            None => None,
        };
        let btf_ext = match (elf.section_by_kind(&SectionKind::BtfExt), &btf) {
            (Some(s), Some(btf)) => {
                Some(BtfExt::parse(&s.data, btf).map_err(|e| btf_err(&s.name, e.to_string()))?)
            }
            _ => None,
        };

        let (mut code, entries) = collect_code(&ctx, &elf)?;
        if let (Some(btf), Some(ext)) = (&btf, &btf_ext) {
            let waggle;
            let target = match target {
                CoreTarget::Waggle => {
                    waggle = waggle_btf::waggle_types();
                    &waggle
                }
                CoreTarget::Btf(t) => t,
            };
            relocate_core(&ctx, &elf, &mut code, btf, ext, target)?;
        }

        let mut map_list: Vec<(MapOrigin, MapDef)> = Vec::new();
        if let Some(s) = elf.section_by_kind(&SectionKind::LegacyMaps) {
            map_list.extend(maps::legacy_maps(&ctx, &elf, s)?);
        }
        if let Some(s) = elf.section_by_kind(&SectionKind::BtfMaps) {
            map_list.extend(btf_maps::btf_maps(&ctx, &elf, s, btf.as_ref())?);
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
            let lines = match (&btf, &btf_ext) {
                (Some(btf), Some(ext)) => source_lines(&elf, btf, ext, &linked.origins),
                _ => Vec::new(),
            };
            let (func_info, line_info) = match &btf_ext {
                Some(ext) => linked_ext_info(&elf, ext, &linked.origins),
                None => (Vec::new(), Vec::new()),
            };
            programs.push(ProgramDef {
                name: func.name.clone(),
                section: section.name.clone(),
                prog_type,
                insns: linked.insns,
                lines,
                func_info,
                line_info,
            });
        }
        Ok(Object {
            name: name.to_string(),
            license,
            kernel_version,
            maps: map_defs,
            programs,
            btf,
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

/// Applies the CO-RE relocations of every code section, before linking (the
/// records address instructions by section and offset).
fn relocate_core(
    ctx: &Ctx,
    elf: &elf::Elf,
    code: &mut Code,
    local: &Btf,
    ext: &BtfExt,
    target: &Btf,
) -> Result<(), ObjectError> {
    for sec in &ext.core_relos {
        let Some(section) = elf.sections.iter().find(|s| s.name == sec.name) else {
            return Err(ctx.err(
                Some(&sec.name),
                ErrorKind::Btf("CO-RE relocations for a section the object does not have".into()),
            ));
        };
        let Some(insns) = code.insns.get_mut(&section.index) else {
            continue;
        };
        for relo in &sec.records {
            waggle_btf::core::apply_relo(local, target, relo, insns).map_err(|e| {
                let access = relo.access_string(local).unwrap_or("?");
                ctx.err(
                    Some(&sec.name),
                    ErrorKind::Instruction {
                        insn: relo.insn_index(),
                        reason: format!(
                            "CO-RE relocation {} (access `{access}`): {e}",
                            relo.kind.name()
                        ),
                    },
                )
            })?;
        }
    }
    Ok(())
}

/// The source line of each linked instruction that starts one.
fn source_lines(
    elf: &elf::Elf,
    btf: &Btf,
    ext: &BtfExt,
    origins: &[link::Origin],
) -> Vec<Option<SourceLine>> {
    let mut by_origin: HashMap<(usize, usize), SourceLine> = HashMap::new();
    for sec in &ext.line_info {
        let Some(section) = elf.sections.iter().find(|s| s.name == sec.name) else {
            continue;
        };
        for li in &sec.records {
            let line = SourceLine {
                file: li.file_name(btf).unwrap_or("?").to_string(),
                line: li.line(),
                column: li.column(),
                text: li.source_line(btf).unwrap_or("").to_string(),
            };
            by_origin.insert((section.index, li.insn_index()), line);
        }
    }
    origins.iter().map(|o| by_origin.get(o).cloned()).collect()
}

/// The function and line info records of a linked program's instructions,
/// re-addressed to byte offsets in the linked program and sorted.
fn linked_ext_info(
    elf: &elf::Elf,
    ext: &BtfExt,
    origins: &[link::Origin],
) -> (Vec<FuncInfo>, Vec<LineInfo>) {
    let at: HashMap<link::Origin, u32> = origins
        .iter()
        .enumerate()
        .map(|(i, &o)| (o, (i * waggle_isa::opcode::INSN_SIZE) as u32))
        .collect();
    let section = |name: &str| {
        elf.sections
            .iter()
            .find(|s| s.name == name)
            .map(|s| s.index)
    };
    let mut funcs = Vec::new();
    for sec in &ext.func_info {
        let Some(index) = section(&sec.name) else {
            continue;
        };
        for fi in &sec.records {
            if let Some(&off) = at.get(&(index, fi.insn_index())) {
                funcs.push(FuncInfo {
                    insn_off: off,
                    ..*fi
                });
            }
        }
    }
    let mut lines = Vec::new();
    for sec in &ext.line_info {
        let Some(index) = section(&sec.name) else {
            continue;
        };
        for li in &sec.records {
            if let Some(&off) = at.get(&(index, li.insn_index())) {
                lines.push(LineInfo {
                    insn_off: off,
                    ..*li
                });
            }
        }
    }
    funcs.sort_by_key(|f| f.insn_off);
    lines.sort_by_key(|l| l.insn_off);
    (funcs, lines)
}

/// Fills in DATASEC sizes and variable offsets, which clang leaves as zero in
/// object files, from the ELF sections and symbols (as libbpf does before
/// using or uploading the BTF).
fn fixup_datasecs(elf: &elf::Elf, btf: &mut Btf) {
    use waggle_btf::BtfType;
    let ids: Vec<u32> = btf
        .types()
        .filter(|(_, t)| matches!(t, BtfType::Datasec(_)))
        .map(|(id, _)| id)
        .collect();
    for id in ids {
        let Ok(name) = btf.name_of(id).map(str::to_string) else {
            continue;
        };
        let Some(section) = elf.sections.iter().find(|s| s.name == name) else {
            continue;
        };
        // Offsets and sizes of the section's variables, by name.
        let vars: HashMap<String, (u64, u64)> = elf
            .symbols_in(section.index)
            .map(|(_, s)| (s.name.clone(), (s.value, s.size)))
            .collect();
        let var_names: Vec<Option<String>> = match btf.type_by_id(id) {
            Ok(BtfType::Datasec(ds)) => ds
                .vars
                .iter()
                .map(|v| match btf.type_by_id(v.type_id) {
                    Ok(BtfType::Var(var)) => btf.string_at(var.name_off).ok().map(str::to_string),
                    _ => None,
                })
                .collect(),
            _ => continue,
        };
        if let Ok(BtfType::Datasec(ds)) = btf.type_by_id_mut(id) {
            ds.size = section.size as u32;
            for (info, name) in ds.vars.iter_mut().zip(var_names) {
                if let Some(&(offset, size)) = name.as_ref().and_then(|n| vars.get(n)) {
                    info.offset = offset as u32;
                    if size > 0 {
                        info.size = size as u32;
                    }
                }
            }
        }
    }
}
