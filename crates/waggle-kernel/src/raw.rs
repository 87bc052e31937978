//! Raw instruction streams loaded as one program ([`load_raw`]), and the
//! ISA conformance suite's programs run as XDP programs
//! ([`load_conformance`], [`RawProgram::run_conformance`]).

use crate::programs::{self, LoadSpec};
use crate::run::{self, TestRun, TestRunResult};
use crate::KernelError;
use std::os::fd::{AsRawFd, OwnedFd};
use waggle_isa::RawInsn;
use waggle_object::ProgramType;

/// A program loaded from a raw instruction stream; its fd is closed on drop.
#[derive(Debug)]
pub struct RawProgram {
    /// The program's file descriptor (owned by this value).
    pub fd: i32,
    /// The verifier's level-1 log of the successful load.
    pub verifier_log: String,
    /// The name the program was loaded under, for errors.
    name: String,
    owned: OwnedFd,
}

/// Loads `insns` as one program of type `prog_type` under the license
/// "GPL" (so every helper is allowed), with no maps and the kernel's
/// default expected attach type. `name` is the program's name (cut to 15
/// bytes of `[A-Za-z0-9_.]` for the kernel). A rejection is
/// [`KernelError::Verifier`] with the whole verifier log.
pub fn load_raw(
    insns: &[RawInsn],
    prog_type: ProgramType,
    name: &str,
) -> Result<RawProgram, KernelError> {
    let (owned, verifier_log) = programs::load(&LoadSpec {
        name,
        prog_type: prog_type as u32,
        insns,
        license: "GPL",
        kern_version: 0,
        expected_attach_type: 0,
        flags: 0,
        attach_btf_id: 0,
        ext: None,
    })?;
    Ok(RawProgram {
        fd: owned.as_raw_fd(),
        verifier_log,
        name: name.to_string(),
        owned,
    })
}

impl RawProgram {
    /// `BPF_PROG_TEST_RUN` of this program.
    pub fn test_run(&self, run: &TestRun<'_>) -> Result<TestRunResult, KernelError> {
        run::test_run(
            self.owned.as_raw_fd(),
            &format!("program `{}`", self.name),
            run,
        )
    }

    /// Runs a program loaded with [`load_conformance`] on the conformance
    /// case's memory `mem`, passed as the XDP packet, so the program sees
    /// r1 = `mem`'s address and r2 = `mem.len()`.
    ///
    /// XDP test runs refuse packets shorter than 14 bytes (an Ethernet
    /// header), so the packet is `mem` padded with zeroes to at least 14
    /// bytes, and its true length travels in 4 bytes of XDP metadata in
    /// front of it, where [`conformance_prologue`] reads it into r2. The
    /// returned `data_out` is the memory after the run, without metadata or
    /// padding; `retval` is the low 32 bits of r0 (the kernel reports no
    /// more).
    pub fn run_conformance(&self, mem: &[u8]) -> Result<TestRunResult, KernelError> {
        const ETH_HLEN: usize = 14;
        const META: usize = 4;
        let len = u32::try_from(mem.len())
            .map_err(|_| KernelError::InvalidInput("conformance memory too large".into()))?;
        let mut data = len.to_le_bytes().to_vec();
        data.extend_from_slice(mem);
        data.resize(META + mem.len().max(ETH_HLEN), 0);
        // struct xdp_md { data, data_end, data_meta, ingress_ifindex,
        // rx_queue_index, egress_ifindex }, as offsets into data_in.
        let ctx: Vec<u8> = [META as u32, data.len() as u32, 0, 0, 0, 0]
            .iter()
            .flat_map(|v| v.to_le_bytes())
            .collect();
        let mut result = self.test_run(&TestRun {
            data_in: &data,
            ctx_in: Some(&ctx),
            repeat: 1,
            data_out_capacity: data.len(),
        })?;
        let end = (META + mem.len()).min(result.data_out.len());
        result.data_out = result.data_out.get(META..end).unwrap_or_default().to_vec();
        Ok(result)
    }
}

/// The instructions [`load_conformance`] puts before a conformance program:
/// with r1 the `struct xdp_md *` context, and the memory's length in the 4
/// bytes of metadata before the packet ([`RawProgram::run_conformance`]),
///
/// ```text
/// r2 = *(u32 *)(r1 + 8)    ; ctx->data_meta
/// r1 = *(u32 *)(r1 + 0)    ; ctx->data: the memory
/// r2 += 4
/// if r2 <= r1 goto +2      ; the bounds check the verifier needs
/// r0 = 0                   ; (no metadata: return 0)
/// exit
/// r2 = *(u32 *)(r2 - 4)    ; the memory's length
/// ```
///
/// Only r0 (on the exit path), r1 and r2 are touched. The program follows
/// unchanged: its jumps, calls and LD_IMM64 references are relative to
/// themselves, so prepending keeps them valid.
pub fn conformance_prologue() -> Vec<RawInsn> {
    vec![
        RawInsn::new(0x61, 2, 1, 8, 0),
        RawInsn::new(0x61, 1, 1, 0, 0),
        RawInsn::new(0x07, 2, 0, 0, 4),
        RawInsn::new(0xbd, 2, 1, 2, 0),
        RawInsn::new(0xb7, 0, 0, 0, 0),
        RawInsn::new(0x95, 0, 0, 0, 0),
        RawInsn::new(0x61, 2, 2, -4, 0),
    ]
}

/// Loads a conformance suite program (which expects r1 = memory, r2 = its
/// length) as a `BPF_PROG_TYPE_XDP` program behind
/// [`conformance_prologue`]; run it with [`RawProgram::run_conformance`].
/// Many conformance programs are rejected by the verifier (unbounded packet
/// accesses, division by a register, helper 5 being `bpf_ktime_get_ns` on
/// Linux, ...): the error carries its log.
pub fn load_conformance(insns: &[RawInsn]) -> Result<RawProgram, KernelError> {
    let mut all = conformance_prologue();
    all.extend_from_slice(insns);
    load_raw(&all, ProgramType::Xdp, "conformance")
}
