//! Load errors: each names the object, the section when there is one, and
//! the reason.

use thiserror::Error;

/// Why an object cannot be loaded.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("{object}{}: {kind}", section.as_ref().map(|s| format!(": section `{s}`")).unwrap_or_default())]
pub struct ObjectError {
    /// The object's name (its file name, as given to the loader).
    pub object: String,
    pub section: Option<String>,
    pub kind: ErrorKind,
}

/// The reason of an [`ObjectError`].
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ErrorKind {
    #[error("not a valid ELF file: {0}")]
    Elf(String),
    #[error("not an eBPF object (ELF machine {0}, expected 247 for BPF)")]
    NotBpf(u16),
    #[error("big-endian eBPF objects are not supported")]
    BigEndian,
    #[error("unknown program section type `{0}` (see `waggle` docs for the section names libbpf defines)")]
    UnknownSection(String),
    #[error("section size {size} is not a multiple of 8 bytes")]
    PartialInstruction { size: u64 },
    #[error("instruction {insn}: {reason}")]
    Instruction { insn: usize, reason: String },
    #[error("relocation at offset {offset:#x} {reason}")]
    Relocation { offset: u64, reason: String },
    #[error("map `{map}`: {reason}")]
    Map { map: String, reason: String },
    #[error("{0}")]
    Btf(String),
    #[error("program `{program}` calls itself through {depth} levels or more of subprograms")]
    CallChain { program: String, depth: usize },
    #[error("{0}")]
    Other(String),
}

/// Builds errors for one object.
#[derive(Clone)]
pub(crate) struct Ctx {
    pub object: String,
}

impl Ctx {
    pub fn err(&self, section: Option<&str>, kind: ErrorKind) -> ObjectError {
        ObjectError {
            object: self.object.clone(),
            section: section.map(str::to_string),
            kind,
        }
    }
}
