//! rbpf's interpreter and JIT on `raw_NAME`, the entry point whose context
//! is rbpf's mbuff: the frame's `data` and `data_end` pointers at offsets 0
//! and 8.
//!
//! rbpf has no XDP context, maps or Linux helpers, so it runs only programs
//! with a raw entry point (those without maps and helpers) that read no
//! global data either; it returns the result folded to 32 bits.

use super::{Observed, Prepared};
use crate::backend::rbpf::deviation;
use crate::backend::{BackendError, Runner};
use crate::csuite::programs::CProgram;
use crate::csuite::run::Workload;
use rbpf::EbpfVmMbuff;
use waggle_isa::{decode_program, CallTarget, Insn, LdImm64};
use waggle_object::Object;

/// Which of rbpf's executors.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Mode {
    Interpreter,
    Jit,
}

/// The linked bytecode of `raw_NAME`, or why rbpf cannot run the program.
pub(crate) fn raw_bytecode(program: &CProgram) -> Result<Vec<u8>, BackendError> {
    let object = Object::parse(program.name(), program.object())
        .map_err(|e| BackendError::Load(e.to_string()))?;
    let entry = program.raw_entry();
    let Some(def) = object.programs.iter().find(|p| p.name == entry) else {
        return Err(BackendError::Unsupported(
            "uses maps or helpers, so it has no raw entry point for rbpf".to_string(),
        ));
    };
    let bytes: Vec<u8> = def.insns.iter().flat_map(|i| i.to_bytes()).collect();
    let insns = decode_program(&bytes).map_err(|e| BackendError::Load(e.to_string()))?;
    for (pc, insn) in &insns {
        let why = match insn {
            Insn::LdImm64 {
                value: LdImm64::Imm(_),
                ..
            } => None,
            Insn::LdImm64 { .. } => Some("reads global data (rbpf has no maps)".to_string()),
            Insn::Call(CallTarget::Helper(_)) => {
                Some("calls helpers (rbpf has no Linux helpers)".to_string())
            }
            other => deviation(other).map(|how| format!("rbpf 0.4 runs {how}")),
        };
        if let Some(why) = why {
            return Err(BackendError::Unsupported(format!(
                "{why} (instruction {pc})"
            )));
        }
    }
    Ok(bytes)
}

struct RbpfRunner<'a> {
    vm: EbpfVmMbuff<'a>,
    mode: Mode,
    frame: Vec<u8>,
    /// `data` and `data_end` of `frame`, whose heap buffer never moves.
    mbuff: [u8; 16],
}

impl Runner for RbpfRunner<'_> {
    fn run(&mut self) -> Result<u64, BackendError> {
        let r0 = match self.mode {
            Mode::Interpreter => self.vm.execute_program(&self.frame, &self.mbuff),
            // SAFETY: the JIT checks no memory access. The program passed the
            // kernel verifier and `prepare` ran it in rbpf's interpreter,
            // which checks every access, on this same frame (which it does
            // not write) without a fault; it calls no helper and reads no
            // global data, so every run takes that path again.
            Mode::Jit => unsafe {
                self.vm
                    .execute_program_jit(&mut self.frame, &mut self.mbuff)
            },
        };
        r0.map_err(|e| BackendError::Run(format!("rbpf: {e}")))
    }
}

pub(super) fn prepare(workload: &Workload, mode: Mode) -> Result<Prepared<'_>, BackendError> {
    let bytecode = workload.raw.as_ref().map_err(Clone::clone)?;
    let vm = EbpfVmMbuff::new(Some(bytecode))
        .map_err(|e| BackendError::Unsupported(format!("rbpf rejects it: {e}")))?;
    let frame = workload.frame.clone();
    let data = frame.as_ptr() as u64;
    let mut mbuff = [0u8; 16];
    mbuff[..8].copy_from_slice(&data.to_le_bytes());
    mbuff[8..].copy_from_slice(&(data + frame.len() as u64).to_le_bytes());
    let mut runner = RbpfRunner {
        vm,
        mode: Mode::Interpreter,
        frame,
        mbuff,
    };
    let r0 = runner.run()?;
    if runner.frame != workload.frame {
        return Err(BackendError::Load(
            "the program writes its frame, so runs would differ".to_string(),
        ));
    }
    if mode == Mode::Jit {
        runner
            .vm
            .jit_compile()
            .map_err(|e| BackendError::Unsupported(format!("rbpf's JIT rejects it: {e}")))?;
        runner.mode = Mode::Jit;
        let jit = runner.run()?;
        if jit != r0 {
            return Err(BackendError::Run(format!(
                "the JIT returned {jit:#x}, rbpf's interpreter {r0:#x}"
            )));
        }
    }
    Ok(Prepared {
        runner: Box::new(runner),
        observed: Observed::Folded(r0 as u32),
        compile_time: None,
    })
}
