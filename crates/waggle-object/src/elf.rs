//! The ELF layer: sections, symbols and relocations of a BPF object, read
//! with the `object` crate and checked for what the later stages rely on.

use crate::error::{Ctx, ErrorKind, ObjectError};
use object::elf;
use object::read::elf::{ElfFile64, FileHeader};
use object::{
    LittleEndian, Object, ObjectSection, ObjectSymbol, RelocationFlags, RelocationTarget,
};

/// What a section holds, by libbpf's naming conventions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum SectionKind {
    /// Executable code other than `.text`: entry programs (and their static
    /// subprograms).
    Program,
    /// `.text`: subprograms only.
    Text,
    /// `.data*`, `.rodata*`, `.bss*`: global variables, become array maps.
    Data {
        read_only: bool,
    },
    /// `maps`: legacy `struct bpf_map_def` definitions.
    LegacyMaps,
    /// `.maps`: BTF-defined maps.
    BtfMaps,
    Btf,
    BtfExt,
    License,
    Version,
    /// Anything else (debug info, symbol tables, ...).
    Other,
}

pub(crate) struct Section {
    pub index: usize,
    pub name: String,
    pub kind: SectionKind,
    /// Contents; empty for `.bss` (NOBITS).
    pub data: Vec<u8>,
    pub size: u64,
    pub relocs: Vec<Reloc>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SymbolKind {
    Func,
    Object,
    Section,
    Other,
}

#[derive(Debug, Clone)]
pub(crate) struct Symbol {
    pub name: String,
    pub section: Option<usize>,
    pub value: u64,
    pub size: u64,
    pub kind: SymbolKind,
    pub global: bool,
}

#[derive(Debug, Clone, Copy)]
pub(crate) struct Reloc {
    /// Byte offset inside the section the relocation applies to.
    pub offset: u64,
    /// Index into [`Elf::symbols`].
    pub symbol: usize,
    pub r_type: u32,
}

pub(crate) struct Elf {
    pub sections: Vec<Section>,
    /// Symbols by ELF symbol index (index 0 is the null symbol).
    pub symbols: Vec<Option<Symbol>>,
}

impl Elf {
    pub fn section(&self, index: usize) -> Option<&Section> {
        self.sections.iter().find(|s| s.index == index)
    }

    pub fn section_by_kind(&self, kind: &SectionKind) -> Option<&Section> {
        self.sections.iter().find(|s| &s.kind == kind)
    }

    /// Symbols defined in section `index`, with their ELF symbol index.
    pub fn symbols_in(&self, index: usize) -> impl Iterator<Item = (usize, &Symbol)> {
        self.symbols.iter().enumerate().filter_map(move |(i, s)| {
            s.as_ref()
                .filter(|s| s.section == Some(index))
                .map(|s| (i, s))
        })
    }
}

fn classify(name: &str, flags: u64, sh_type: u32) -> SectionKind {
    let is_exec = flags & u64::from(elf::SHF_EXECINSTR) != 0;
    let has = |prefix: &str| name == prefix || name.starts_with(&format!("{prefix}."));
    if sh_type == elf::SHT_REL || sh_type == elf::SHT_RELA {
        SectionKind::Other
    } else if name == ".text" {
        SectionKind::Text
    } else if is_exec {
        SectionKind::Program
    } else if name == "license" {
        SectionKind::License
    } else if name == "version" {
        SectionKind::Version
    } else if name == "maps" {
        SectionKind::LegacyMaps
    } else if name == ".maps" {
        SectionKind::BtfMaps
    } else if name == ".BTF" {
        SectionKind::Btf
    } else if name == ".BTF.ext" {
        SectionKind::BtfExt
    } else if has(".rodata") {
        SectionKind::Data { read_only: true }
    } else if has(".data") || has(".bss") {
        SectionKind::Data { read_only: false }
    } else {
        SectionKind::Other
    }
}

/// Reads the ELF structure of `data`.
pub(crate) fn read(ctx: &Ctx, data: &[u8]) -> Result<Elf, ObjectError> {
    // The ELF reader needs its input 8-byte aligned; a copy makes any slice so.
    let mut aligned = vec![0u64; data.len().div_ceil(8)];
    // SAFETY: a u64 buffer viewed as bytes, within its length.
    let buf =
        unsafe { std::slice::from_raw_parts_mut(aligned.as_mut_ptr() as *mut u8, data.len()) };
    buf.copy_from_slice(data);
    let data: &[u8] = buf;
    let elf_err = |e: object::Error| ctx.err(None, ErrorKind::Elf(e.to_string()));
    let file = ElfFile64::<LittleEndian>::parse(data).map_err(|e| {
        // A big-endian BPF object parses as an ELF64 file of the other
        // endianness; say so rather than "invalid ELF".
        if ElfFile64::<object::BigEndian>::parse(data).is_ok() {
            ctx.err(None, ErrorKind::BigEndian)
        } else {
            elf_err(e)
        }
    })?;
    let header = file.elf_header();
    let machine = header.e_machine(LittleEndian);
    if machine != elf::EM_BPF {
        return Err(ctx.err(None, ErrorKind::NotBpf(machine)));
    }

    let mut sections = Vec::new();
    for section in file.sections() {
        let name = section.name().map_err(elf_err)?.to_string();
        let shdr = section.elf_section_header();
        let flags = shdr.sh_flags.get(LittleEndian);
        let sh_type = shdr.sh_type.get(LittleEndian);
        let kind = classify(&name, flags, sh_type);
        let data = if sh_type == elf::SHT_NOBITS {
            Vec::new()
        } else {
            section
                .data()
                .map_err(|e| ctx.err(Some(&name), ErrorKind::Elf(e.to_string())))?
                .to_vec()
        };
        let mut relocs = Vec::new();
        for (offset, rel) in section.relocations() {
            let RelocationTarget::Symbol(sym) = rel.target() else {
                return Err(ctx.err(
                    Some(&name),
                    ErrorKind::Relocation {
                        offset,
                        reason: "does not name a symbol".into(),
                    },
                ));
            };
            let r_type = match rel.flags() {
                RelocationFlags::Elf { r_type } => r_type,
                _ => 0,
            };
            relocs.push(Reloc {
                offset,
                symbol: sym.0,
                r_type,
            });
        }
        sections.push(Section {
            index: section.index().0,
            name,
            kind,
            data,
            size: section.size(),
            relocs,
        });
    }

    let mut symbols = Vec::new();
    for sym in file.symbols() {
        let index = sym.index().0;
        if symbols.len() <= index {
            symbols.resize(index + 1, None);
        }
        let name = sym.name().unwrap_or("").to_string();
        let kind = match sym.kind() {
            object::SymbolKind::Text => SymbolKind::Func,
            object::SymbolKind::Data => SymbolKind::Object,
            object::SymbolKind::Section => SymbolKind::Section,
            _ => SymbolKind::Other,
        };
        symbols[index] = Some(Symbol {
            name,
            section: sym.section_index().map(|s| s.0),
            value: sym.address(),
            size: sym.size(),
            kind,
            global: sym.is_global(),
        });
    }
    Ok(Elf { sections, symbols })
}
