//! The `rbpf` crate's interpreter.

use super::{BackendError, Runner};
use crate::registry::Compiled;
use waggle_isa::{decode_program, AluOp, CallTarget, Insn, JmpCond, Source, Width};

/// A program loaded into rbpf's raw VM, which passes the input's address in
/// `r1` (and nothing in `r2`).
pub(super) struct Rbpf<'a> {
    vm: rbpf::EbpfVmRaw<'a>,
    mem: Vec<u8>,
}

impl<'a> Rbpf<'a> {
    /// Loads the program, or says why rbpf cannot run it ("n/a").
    ///
    /// rbpf's loader rejects opcodes it does not know (atomics, sign-extending
    /// loads, `bswap`, `ja32`, `callx`). Some instructions it accepts but runs
    /// differently from RFC 9669; those are screened out first, so that such a
    /// program shows "n/a" instead of failing the result check.
    pub(super) fn new(program: &'a Compiled, mem: Vec<u8>) -> Result<Rbpf<'a>, BackendError> {
        let insns =
            decode_program(program.bytecode()).map_err(|e| BackendError::Load(e.to_string()))?;
        if let Some((pc, why)) = insns.iter().find_map(|(pc, i)| Some((pc, deviation(i)?))) {
            return Err(BackendError::Unsupported(format!(
                "rbpf 0.4 runs {why} (instruction {pc})"
            )));
        }
        let vm = rbpf::EbpfVmRaw::new(Some(program.bytecode()))
            .map_err(|e| BackendError::Unsupported(format!("rbpf: {e}")))?;
        Ok(Rbpf { vm, mem })
    }
}

/// How rbpf 0.4.1's interpreter runs `insn` differently from RFC 9669, if it
/// does.
pub(crate) fn deviation(insn: &Insn) -> Option<&'static str> {
    use JmpCond::{Eq, Ge, Gt, Le, Lt, Ne};
    match *insn {
        Insn::Alu {
            op: AluOp::Sdiv | AluOp::Smod,
            ..
        } => Some("signed division and modulo as unsigned ones"),
        Insn::Alu {
            op: AluOp::MovSx8 | AluOp::MovSx16 | AluOp::MovSx32,
            ..
        } => Some("sign-extending moves as plain moves"),
        Insn::Jump {
            width: Width::W64,
            cond: Eq | Ne | Gt | Ge | Lt | Le,
            src: Source::Imm(imm),
            ..
        } if imm < 0 => Some("64-bit compares with a zero-extended negative immediate"),
        Insn::LdAbs { .. } | Insn::LdInd { .. } => {
            Some("legacy packet loads without converting from network byte order")
        }
        Insn::Call(CallTarget::Local(off)) if off < 0 => {
            Some("backward local calls with an overflowing add (a panic in debug builds)")
        }
        _ => None,
    }
}

impl Runner for Rbpf<'_> {
    fn run(&mut self) -> Result<u64, BackendError> {
        self.vm
            .execute_program(&mut self.mem)
            .map_err(|e| BackendError::Run(format!("rbpf: {e}")))
    }
}
