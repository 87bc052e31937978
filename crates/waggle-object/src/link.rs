//! Linking: each program with the subprograms it calls appended after it (as
//! libbpf lays programs out), calls and function references re-targeted,
//! map and global-data references turned into map-index LD_IMM64s.

use crate::elf::{Elf, SectionKind, SymbolKind};
use crate::error::{Ctx, ErrorKind, ObjectError};
use crate::maps::MapOrigin;
use std::collections::HashMap;
use waggle_isa::opcode::{
    BPF_CALL, BPF_JMP, BPF_PSEUDO_CALL, BPF_PSEUDO_FUNC, BPF_PSEUDO_MAP_IDX,
    BPF_PSEUDO_MAP_IDX_VALUE, INSN_SIZE,
};
use waggle_isa::RawInsn;

const LD_IMM64: u8 = 0x18;
/// ELF relocation types LLVM emits in BPF code: LD_IMM64 and call immediates.
const R_BPF_64_64: u32 = 1;
const R_BPF_64_32: u32 = 10;
const CALL: u8 = BPF_JMP | BPF_CALL;

/// A function: a program or a subprogram, a range of one code section.
#[derive(Debug, Clone)]
pub(crate) struct Func {
    pub name: String,
    pub section: usize,
    /// First instruction, as an index into the section.
    pub start: usize,
    pub len: usize,
}

/// The code sections' instructions and the functions in them.
pub(crate) struct Code {
    pub insns: HashMap<usize, Vec<RawInsn>>,
    pub funcs: Vec<Func>,
}

impl Code {
    /// The function of `section` that contains instruction `insn`.
    fn func_at(&self, section: usize, insn: usize) -> Option<usize> {
        self.funcs
            .iter()
            .position(|f| f.section == section && (f.start..f.start + f.len).contains(&insn))
    }
}

/// Where each instruction of a linked program came from: (section, index in
/// section). Line information follows it.
pub type Origin = (usize, usize);

/// A linked program: its instructions and their origins.
pub(crate) struct Linked {
    pub insns: Vec<RawInsn>,
    pub origins: Vec<Origin>,
}

/// What an instruction's relocation resolved to, before layout.
enum Target {
    /// A call or function reference to (section, instruction).
    Code(usize, usize),
    /// `src` pseudo kind with map index and value offset.
    Map { src: u8, index: u32, offset: u32 },
}

pub(crate) struct Linker<'a> {
    pub ctx: &'a Ctx,
    pub elf: &'a Elf,
    pub code: &'a Code,
    /// Map origins in map-index order.
    pub maps: &'a [MapOrigin],
}

impl Linker<'_> {
    fn section_name(&self, index: usize) -> &str {
        self.elf.section(index).map_or("?", |s| s.name.as_str())
    }

    fn insn_err(&self, section: usize, insn: usize, reason: String) -> ObjectError {
        self.ctx.err(
            Some(self.section_name(section)),
            ErrorKind::Instruction { insn, reason },
        )
    }

    /// Resolves the relocation (or, for local calls, the plain offset) of the
    /// instruction at `insn` of `section`.
    fn target(&self, section: usize, insn: usize) -> Result<Option<Target>, ObjectError> {
        let code = &self.code.insns[&section];
        let raw = code[insn];
        let reloc = self.elf.section(section).and_then(|s| {
            s.relocs
                .iter()
                .find(|r| r.offset == (insn * INSN_SIZE) as u64)
        });
        let Some(reloc) = reloc else {
            return Ok(match (raw.opcode, raw.src) {
                // A call to a static function of the same section needs no relocation.
                (CALL, BPF_PSEUDO_CALL) => Some(Target::Code(
                    section,
                    self.offset_target(section, insn, raw.imm as i64)?,
                )),
                _ => None,
            });
        };
        if !matches!(reloc.r_type, R_BPF_64_64 | R_BPF_64_32) {
            return Err(self.insn_err(
                section,
                insn,
                format!(
                    "unsupported relocation type {} (code takes R_BPF_64_64 and R_BPF_64_32)",
                    reloc.r_type
                ),
            ));
        }
        let sym = self
            .elf
            .symbols
            .get(reloc.symbol)
            .and_then(Option::as_ref)
            .ok_or_else(|| {
                self.insn_err(
                    section,
                    insn,
                    format!("relocation names missing symbol {}", reloc.symbol),
                )
            })?;
        let Some(sym_section) = sym.section else {
            let what = if raw.opcode == CALL {
                "kernel function (kfunc)"
            } else {
                "extern variable"
            };
            return Err(self.insn_err(
                section,
                insn,
                format!(
                    "{what} `{}` is not supported: Waggle resolves no extern symbols",
                    sym.name
                ),
            ));
        };
        let target_kind = self.elf.section(sym_section).map(|s| s.kind.clone());
        match (raw.opcode, raw.src) {
            (CALL, BPF_PSEUDO_CALL) => {
                // LLVM's offset is relative to the symbol: for a function
                // symbol, imm is -1 and the call lands on the symbol.
                let base = (sym.value / INSN_SIZE as u64) as i64;
                let target = base + raw.imm as i64 + 1;
                let target = usize::try_from(target)
                    .map_err(|_| self.insn_err(section, insn, "call before its section's start".into()))?;
                Ok(Some(Target::Code(sym_section, target)))
            }
            (LD_IMM64, _) => match target_kind {
                Some(SectionKind::LegacyMaps | SectionKind::BtfMaps) => {
                    let index = self
                        .maps
                        .iter()
                        .position(|m| {
                            matches!(m, MapOrigin::Symbol { section, symbol } if *section == sym_section && *symbol == sym.name)
                        })
                        .ok_or_else(|| {
                            self.insn_err(section, insn, format!("references `{}`, which is not a map", sym.name))
                        })?;
                    Ok(Some(Target::Map { src: BPF_PSEUDO_MAP_IDX, index: index as u32, offset: 0 }))
                }
                Some(SectionKind::Data { .. }) => {
                    let index = self
                        .maps
                        .iter()
                        .position(|m| *m == MapOrigin::DataSection(sym_section))
                        .ok_or_else(|| {
                            self.insn_err(section, insn, format!("references empty data section of `{}`", sym.name))
                        })?;
                    let base = if sym.kind == SymbolKind::Section { 0 } else { sym.value };
                    let offset = base + raw.imm as u32 as u64;
                    let size = self.elf.section(sym_section).map_or(0, |s| s.size);
                    if offset >= size.max(1) {
                        return Err(self.insn_err(
                            section,
                            insn,
                            format!("global `{}` at offset {offset} is past its section ({size} bytes)", sym.name),
                        ));
                    }
                    Ok(Some(Target::Map { src: BPF_PSEUDO_MAP_IDX_VALUE, index: index as u32, offset: offset as u32 }))
                }
                Some(SectionKind::Text | SectionKind::Program) => {
                    // A function pointer (callbacks of bpf_loop and friends).
                    let byte = sym.value + raw.imm as u32 as u64;
                    if byte % INSN_SIZE as u64 != 0 {
                        return Err(self.insn_err(section, insn, "function reference not on an instruction".into()));
                    }
                    Ok(Some(Target::Code(sym_section, (byte / INSN_SIZE as u64) as usize)))
                }
                _ => Err(self.insn_err(
                    section,
                    insn,
                    format!("LD_IMM64 relocated against `{}` in section `{}`, which holds neither maps, data nor code", sym.name, self.section_name(sym_section)),
                )),
            },
            _ => Err(self.insn_err(
                section,
                insn,
                format!("relocation against `{}` on an instruction (opcode {:#04x}) that takes none", sym.name, raw.opcode),
            )),
        }
    }

    fn offset_target(&self, section: usize, insn: usize, off: i64) -> Result<usize, ObjectError> {
        usize::try_from(insn as i64 + 1 + off).map_err(|_| {
            self.insn_err(section, insn, "call before the start of its section".into())
        })
    }

    /// Links program `entry` (an index into `code.funcs`).
    pub fn link(&self, entry: usize) -> Result<Linked, ObjectError> {
        // Lay out: the program first, then each subprogram it reaches, once,
        // in the order first reached.
        let mut order = vec![entry];
        let mut placed: HashMap<usize, usize> = HashMap::from([(entry, 0)]);
        let mut total = self.code.funcs[entry].len;
        let mut targets: HashMap<(usize, usize), Target> = HashMap::new();
        let mut i = 0;
        while i < order.len() {
            let f = self.code.funcs[order[i]].clone();
            for idx in f.start..f.start + f.len {
                let Some(t) = self.target(f.section, idx)? else {
                    continue;
                };
                if let Target::Code(sec, at) = t {
                    let callee = self.code.func_at(sec, at).ok_or_else(|| {
                        self.insn_err(f.section, idx, format!("call or reference to instruction {at} of `{}`, which is in no function", self.section_name(sec)))
                    })?;
                    if let std::collections::hash_map::Entry::Vacant(e) = placed.entry(callee) {
                        e.insert(total);
                        total += self.code.funcs[callee].len;
                        order.push(callee);
                    }
                }
                targets.insert((f.section, idx), t);
            }
            i += 1;
        }

        let mut insns = Vec::with_capacity(total);
        let mut origins = Vec::with_capacity(total);
        for &fi in &order {
            let f = &self.code.funcs[fi];
            let code = &self.code.insns[&f.section];
            let end = f.start + f.len;
            let mut idx = f.start;
            while idx < end {
                let out = insns.len();
                let mut raw = code[idx];
                let mut second = None;
                match targets.get(&(f.section, idx)) {
                    Some(&Target::Code(sec, at)) => {
                        let callee = self.code.func_at(sec, at).expect("resolved during layout");
                        let dest = placed[&callee] + (at - self.code.funcs[callee].start);
                        raw.imm = (dest as i64 - (out as i64 + 1)) as i32;
                        if raw.opcode == LD_IMM64 {
                            raw.src = BPF_PSEUDO_FUNC;
                        }
                    }
                    Some(&Target::Map { src, index, offset }) => {
                        raw.src = src;
                        raw.imm = index as i32;
                        let mut slot =
                            *code.get(idx + 1).filter(|_| idx + 1 < end).ok_or_else(|| {
                                self.insn_err(
                                    f.section,
                                    idx,
                                    "LD_IMM64 is missing its second slot".into(),
                                )
                            })?;
                        slot.imm = offset as i32;
                        second = Some(slot);
                    }
                    None => {}
                }
                insns.push(raw);
                origins.push((f.section, idx));
                idx += 1;
                if let Some(slot) = second {
                    insns.push(slot);
                    origins.push((f.section, idx));
                    idx += 1;
                }
            }
        }
        Ok(Linked { insns, origins })
    }
}
