//! Raw instruction streams loaded as one program ([`load_raw`]), and the
//! ISA conformance suite's programs run as XDP programs
//! ([`load_conformance`], [`RawProgram::run_conformance`]).

use crate::maps::{self, KernelMap};
use crate::programs::{self, ExtInfo, KFuncInfo, LoadSpec};
use crate::run::{self, TestRun, TestRunResult};
use crate::sys;
use crate::KernelError;
use std::os::fd::{AsRawFd, OwnedFd};
use waggle_btf::{linkage, Btf, BtfType, Func, FuncProto, Int};
use waggle_isa::RawInsn;
use waggle_object::{MapDef, ProgramType};

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
///
/// Map references are passed through unchanged, so a program that refers
/// to maps by index needs [`load_raw_with_maps`].
pub fn load_raw(
    insns: &[RawInsn],
    prog_type: ProgramType,
    name: &str,
) -> Result<RawProgram, KernelError> {
    load_bound(insns, prog_type, name)
}

/// Maps created in the kernel from `waggle_object` definitions alone (no
/// object, no BTF), for raw programs that refer to them by index: LD_IMM64
/// `BPF_PSEUDO_MAP_IDX` / `BPF_PSEUDO_MAP_IDX_VALUE` with the index into
/// the definitions. Closed on drop (programs loaded against them keep their
/// own references).
#[derive(Debug)]
pub struct KernelMaps {
    maps: Vec<KernelMap>,
}

impl KernelMaps {
    /// Creates `defs` in order with `BPF_MAP_CREATE`, as
    /// [`KernelObject::load`](crate::KernelObject::load) does but without
    /// BTF: global-data maps (`MapDef::data`) get their initial contents
    /// and read-only ones are frozen; `object` gives them libbpf's name
    /// prefix. Maps whose values need BTF (spin locks, timers) and
    /// map-in-map slots are not supported here; inner-map templates are.
    pub fn create(object: &str, defs: &[MapDef]) -> Result<KernelMaps, KernelError> {
        let mut notes = Vec::new();
        let maps = maps::create_defs(object, defs, None, &mut notes)?;
        Ok(KernelMaps { maps })
    }

    /// How many maps there are.
    pub fn len(&self) -> usize {
        self.maps.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.maps.is_empty()
    }

    /// The file descriptor of map `index` (owned by this value).
    pub fn fd(&self, index: usize) -> Option<i32> {
        self.maps.get(index).map(|m| m.fd.as_raw_fd())
    }

    /// `insns` with their map-index references rewritten to these maps'
    /// fds (`BPF_PSEUDO_MAP_FD` / `BPF_PSEUDO_MAP_VALUE`), as
    /// [`load_raw_with_maps`] loads them; an index out of range is
    /// [`KernelError::InvalidInput`].
    pub fn bind(&self, program: &str, insns: &[RawInsn]) -> Result<Vec<RawInsn>, KernelError> {
        programs::bind_maps(program, insns, &self.maps)
    }
}

/// Whether a load asks the kernel for its verifier log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VerifierLog {
    /// The level-1 log, kept in [`RawProgram::verifier_log`] (and in the
    /// error on rejection).
    Keep,
    /// No log on success (the verifier's own cost alone, for timing); on a
    /// rejection the program is loaded again with a log for the error.
    Skip,
    /// Only the kernel's statistics (`BPF_LOG_STATS`): `verification time
    /// N usec`, `stack depth`, `processed N insns ... total_states N
    /// peak_states N`; see [`VerifierStats::parse`].
    Stats,
}

/// The statistics the kernel's verifier logs (`BPF_LOG_STATS`, or the last
/// line of a level-1 log).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct VerifierStats {
    /// `verification time N usec` (0 when the log does not say).
    pub verification_time_us: u64,
    /// `processed N insns`.
    pub insns_processed: u64,
    /// `total_states N`.
    pub total_states: u64,
    /// `peak_states N`.
    pub peak_states: u64,
    /// `max_states_per_insn N`.
    pub max_states_per_insn: u64,
}

impl VerifierStats {
    /// The statistics in a verifier log; `None` when it has none.
    pub fn parse(log: &str) -> Option<VerifierStats> {
        let mut out = VerifierStats::default();
        let mut found = false;
        for line in log.lines() {
            let words: Vec<&str> = line.split_whitespace().collect();
            let after = |key: &str| {
                words
                    .iter()
                    .position(|w| *w == key)
                    .and_then(|k| words.get(k + 1))
                    .and_then(|v| v.parse::<u64>().ok())
            };
            if line.starts_with("verification time") {
                out.verification_time_us = after("time").unwrap_or(0);
            } else if line.starts_with("processed ") {
                found = true;
                out.insns_processed = after("processed").unwrap_or(0);
                out.total_states = after("total_states").unwrap_or(0);
                out.peak_states = after("peak_states").unwrap_or(0);
                out.max_states_per_insn = after("max_states_per_insn").unwrap_or(0);
            }
        }
        found.then_some(out)
    }
}

/// [`load_raw`] of a program whose LD_IMM64 map references are indices into
/// `maps` (as `waggle_object` links them): each is rewritten to the map's
/// fd, then the program is loaded. Creating the maps is not part of this
/// call, so it times a program load alone.
///
/// A program with more than one function (bpf-to-bpf calls, callbacks
/// referenced with `BPF_PSEUDO_FUNC`) is given the BTF function info the
/// kernel wants for callbacks and for tail calls in subprograms, as a
/// compiler would emit it: a minimal BTF (one static `int fN(void)` per
/// function, `f0` the entry) uploaded with the program.
pub fn load_raw_with_maps(
    insns: &[RawInsn],
    prog_type: ProgramType,
    name: &str,
    maps: &KernelMaps,
    log: VerifierLog,
) -> Result<RawProgram, KernelError> {
    let bound = maps.bind(name, insns)?;
    let starts = function_starts(&bound);
    if starts.len() < 2 {
        return load_spec(&bound, prog_type, name, log, None);
    }
    let btf = function_btf(starts.len())?;
    let funcs: Vec<KFuncInfo> = starts
        .iter()
        .enumerate()
        .map(|(k, &pc)| KFuncInfo {
            insn_off: pc as u32,
            type_id: FIRST_FUNC_TYPE + k as u32,
        })
        .collect();
    let ext = ExtInfo {
        btf_fd: btf.as_raw_fd(),
        funcs: &funcs,
        lines: &[],
    };
    load_spec(&bound, prog_type, name, log, Some(ext))
}

/// Slot indices of the functions of `insns`: 0, each bpf-to-bpf call
/// target and each function reference's target, sorted (the kernel's
/// subprograms).
fn function_starts(insns: &[RawInsn]) -> Vec<usize> {
    const CALL: u8 = 0x85;
    const LD_IMM64: u8 = 0x18;
    const BPF_PSEUDO_CALL: u8 = 1;
    const BPF_PSEUDO_FUNC: u8 = 4;
    let mut starts = vec![0usize];
    let mut i = 0;
    while i < insns.len() {
        let insn = &insns[i];
        let refers = (insn.opcode == CALL && insn.src == BPF_PSEUDO_CALL)
            || (insn.opcode == LD_IMM64 && insn.src == BPF_PSEUDO_FUNC);
        if refers {
            let target = i as i64 + 1 + insn.imm as i64;
            if (0..insns.len() as i64).contains(&target) {
                starts.push(target as usize);
            }
        }
        i += if insn.opcode == LD_IMM64 { 2 } else { 1 };
    }
    starts.sort_unstable();
    starts.dedup();
    starts
}

/// Type id of `f0` in [`function_btf`]: after `int` and `int (void)`.
const FIRST_FUNC_TYPE: u32 = 3;

/// BTF with `int`, the prototype `int (void)` and `count` static functions
/// `f0`, `f1`, ... of that prototype, uploaded.
fn function_btf(count: usize) -> Result<OwnedFd, KernelError> {
    let mut btf = Btf::new();
    let invalid = |e: waggle_btf::BtfError| {
        KernelError::InvalidInput(format!("function BTF for a raw program: {e}"))
    };
    let int_name = btf.add_string("int");
    let int = btf
        .add_type(BtfType::Int(Int {
            name_off: int_name,
            size: 4,
            encoding: waggle_btf::BTF_INT_SIGNED,
            offset: 0,
            bits: 32,
        }))
        .map_err(invalid)?;
    let proto = btf
        .add_type(BtfType::FuncProto(FuncProto {
            name_off: 0,
            return_type: int,
            params: vec![],
        }))
        .map_err(invalid)?;
    for k in 0..count {
        let name_off = btf.add_string(&format!("f{k}"));
        let id = btf
            .add_type(BtfType::Func(Func {
                name_off,
                proto_type: proto,
                linkage: linkage::STATIC as u16,
            }))
            .map_err(invalid)?;
        debug_assert_eq!(id, FIRST_FUNC_TYPE + k as u32);
    }
    let bytes = btf.to_bytes().map_err(invalid)?;
    crate::btf::load_bytes(&bytes, None)
        .map_err(|e| sys::syscall_error("BPF_BTF_LOAD", "function BTF of a raw program", e))
}

fn load_bound(
    insns: &[RawInsn],
    prog_type: ProgramType,
    name: &str,
) -> Result<RawProgram, KernelError> {
    load_spec(insns, prog_type, name, VerifierLog::Keep, None)
}

fn load_spec(
    insns: &[RawInsn],
    prog_type: ProgramType,
    name: &str,
    log: VerifierLog,
    ext: Option<ExtInfo<'_>>,
) -> Result<RawProgram, KernelError> {
    let spec = LoadSpec {
        name,
        prog_type: prog_type as u32,
        insns,
        license: "GPL",
        kern_version: 0,
        expected_attach_type: 0,
        flags: 0,
        attach_btf_id: 0,
        ext,
        log_level: if log == VerifierLog::Stats { 4 } else { 1 },
    };
    let (owned, verifier_log) = match log {
        VerifierLog::Keep | VerifierLog::Stats => programs::load(&spec)?,
        VerifierLog::Skip => match programs::load_without_log(&spec) {
            Some(fd) => (fd, String::new()),
            None => programs::load(&spec)?,
        },
    };
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
