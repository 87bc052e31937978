//! Compiling for another architecture, to check and inspect what the JIT
//! would generate there.
//!
//! [`crate::JitProgram::compile`] generates code for the host only. The
//! same translation, defined in a relocatable object built for another
//! target, shows that Cranelift accepts it there: the IR verifier passes,
//! registers are allocated and the machine code is emitted. Tests compile
//! every program they have for aarch64 this way, since no aarch64 machine
//! runs them.

use crate::maps::MapCallSites;
use crate::program::{flags, JitError, JitOptions, Prepared};
use cranelift_codegen::isa;
use cranelift_module::default_libcall_names;
use cranelift_object::{ObjectBuilder, ObjectModule};
use std::sync::Arc;
use waggle_isa::Insn;
use waggle_vm::HelperRegistry;

/// A program compiled for another target by [`compile_for_target`]: code to
/// look at, not to run.
#[derive(Debug, Clone)]
pub struct TargetCode {
    /// The machine code of each function by its entry instruction, as
    /// [`crate::JitProgram::native_code`] gives it (calls between functions
    /// not yet relocated).
    pub functions: Vec<(usize, Vec<u8>)>,
    /// A relocatable object file (ELF for Linux triples) with every
    /// function, as `bpf_fn_<entry>`, for disassemblers.
    pub object: Vec<u8>,
    /// What became of the program's map helper calls.
    pub map_call_sites: MapCallSites,
}

impl TargetCode {
    /// Bytes of machine code, all functions together.
    pub fn code_size(&self) -> usize {
        self.functions.iter().map(|(_, code)| code.len()).sum()
    }
}

/// Compiles `insns` as [`crate::JitProgram::compile`] does, but for
/// `target` (a target triple such as `aarch64-unknown-linux-gnu`) and into
/// an object file, with Cranelift's IR verifier always on.
///
/// This checks that the JIT's translation is valid for that architecture
/// and shows the code it gets; nothing here runs. The code embeds this
/// process's addresses (helper trampolines, `opts.maps`' maps, the blinding
/// key) as the JIT's does, and they mean nothing once this returns: the
/// maps' keepalives and the blinding key are dropped.
///
/// Only the architectures Waggle builds Cranelift with (x86-64 and
/// aarch64) are available; others fail with [`JitError::Target`].
pub fn compile_for_target(
    insns: &[(usize, Insn)],
    registry: Arc<HelperRegistry>,
    opts: &JitOptions<'_>,
    target: &str,
) -> Result<TargetCode, JitError> {
    let unsupported = |e: &dyn std::fmt::Display| JitError::Target {
        target: target.to_string(),
        message: e.to_string(),
    };
    let prepared = Prepared::new(insns, registry, opts)?;
    let isa = isa::lookup_by_name(target)
        .map_err(|e| unsupported(&e))?
        .finish(flags(true).map_err(|e| unsupported(&e))?)
        .map_err(|e| unsupported(&e))?;
    let builder = ObjectBuilder::new(isa, "waggle-bpf", default_libcall_names())
        .map_err(|e| unsupported(&e))?;
    let mut module = ObjectModule::new(builder);
    let mut functions = Vec::with_capacity(prepared.functions.list.len());
    let defined = prepared.define(&mut module, |entry, code| {
        functions.push((entry, code.to_vec()));
    })?;
    let object = module.finish().emit().map_err(|e| unsupported(&e))?;
    Ok(TargetCode {
        functions,
        object,
        map_call_sites: defined.map_call_sites,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use waggle_isa::{assemble, decode_program, encode_program, Syntax};

    fn program(text: &str) -> Vec<(usize, Insn)> {
        decode_program(&encode_program(&assemble(text, Syntax::Ubpf).unwrap())).unwrap()
    }

    #[test]
    fn aarch64_code_and_object() {
        let insns = program("call local f\nexit\nf:\nmov %r0, 7\nexit");
        let code = compile_for_target(
            &insns,
            Arc::new(HelperRegistry::new()),
            &JitOptions::default(),
            "aarch64-unknown-linux-gnu",
        )
        .unwrap();
        assert_eq!(code.functions.len(), 2);
        // aarch64 instructions are 4 bytes.
        assert!(code.functions.iter().all(|(_, c)| c.len() % 4 == 0));
        assert!(code.code_size() > 0);
        // ELF, 64-bit, machine EM_AARCH64 (183).
        assert_eq!(&code.object[..5], b"\x7fELF\x02");
        assert_eq!(u16::from_le_bytes([code.object[18], code.object[19]]), 183);
    }

    #[test]
    fn the_verifier_is_on() {
        assert!(flags(true).unwrap().enable_verifier());
    }

    #[test]
    fn targets_without_a_backend_fail() {
        let insns = program("mov %r0, 0\nexit");
        let registry = Arc::new(HelperRegistry::new());
        let err = compile_for_target(
            &insns,
            registry,
            &JitOptions::default(),
            "riscv64gc-unknown-linux-gnu",
        )
        .unwrap_err();
        assert!(matches!(err, JitError::Target { .. }), "{err}");
    }
}
