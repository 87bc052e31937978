//! Waggle's Linux kernel backend: the same clang-compiled object the
//! userspace runtime runs, loaded into the running kernel through the raw
//! bpf() system call, run with `BPF_PROG_TEST_RUN`, its maps read back.
//!
//! There is one object model: objects are parsed and linked by
//! `waggle_object` (CO-RE resolved against `/sys/kernel/btf/vmlinux`); this
//! crate binds the result to kernel objects. The linker's map references
//! (LD_IMM64 `BPF_PSEUDO_MAP_IDX` / `BPF_PSEUDO_MAP_IDX_VALUE`, naming
//! indices into `Object::maps`) are rewritten to `BPF_PSEUDO_MAP_FD` /
//! `BPF_PSEUDO_MAP_VALUE` with the maps' fds, as libbpf does, which every
//! kernel with BPF understands (the `fd_array` alternative needs 5.14).
//!
//! - [`availability`]: can this process use bpf() here (tests skip on `Err`).
//! - [`KernelObject::load`]: BTF, maps, programs, static slots;
//!   [`KernelObject::test_run`], [`KernelObject::map_entries`],
//!   [`KernelObject::map_lookup`], [`KernelObject::map_update`],
//!   [`KernelObject::ringbuf_drain`].
//! - [`load_raw`]: a raw instruction stream as one program;
//!   [`KernelMaps::create`] and [`load_raw_with_maps`] for raw programs that
//!   refer to maps by index (the verifier's corpus, benchmarks);
//!   [`load_conformance`] / [`RawProgram::run_conformance`] for the ISA
//!   conformance suite's programs, as XDP programs.
//!
//! The kernel's `trace_pipe` is global to the machine, so `bpf_printk`
//! output is not captured.
//!
//! Modules: `sys` (the syscall and `union bpf_attr` members), `btf`
//! (upload), `maps`, `programs`, `run` (test runs), `ringbuf`, `raw`,
//! `object`.

#![warn(missing_docs)]

mod btf;
mod maps;
mod object;
mod programs;
mod raw;
mod ringbuf;
mod run;
mod sys;

pub use object::{KernelObject, KernelProgram};
pub use raw::{
    conformance_prologue, load_conformance, load_raw, load_raw_with_maps, KernelMaps, RawProgram,
    VerifierLog, VerifierStats,
};
pub use run::{TestRun, TestRunResult};

use std::sync::OnceLock;
use thiserror::Error;
use waggle_btf::Btf;
use waggle_isa::RawInsn;
use waggle_object::ProgramType;

/// A map's (key, value) pairs, as [`KernelObject::map_entries`] returns them.
pub type MapEntries = Vec<(Vec<u8>, Vec<u8>)>;

/// Where the running kernel's BTF is.
pub const VMLINUX_BTF: &str = "/sys/kernel/btf/vmlinux";

/// Why the kernel backend failed.
#[derive(Debug, Error)]
pub enum KernelError {
    /// bpf() cannot be used here: not permitted (EPERM: not root, no
    /// CAP_BPF, seccomp), not implemented (ENOSYS), or no kernel BTF.
    #[error("the kernel backend is unavailable: {0}")]
    Unavailable(String),
    /// The object could not be parsed or linked.
    #[error(transparent)]
    Object(#[from] waggle_object::ObjectError),
    /// A system call failed.
    #[error("{op} failed for {what}: {message}")]
    Syscall {
        /// The bpf() command (`BPF_MAP_CREATE`) or other call (`mmap`).
        op: &'static str,
        /// What it was for (`map \`counts\``).
        what: String,
        /// The errno.
        errno: i32,
        /// The errno's name and description, and any detail.
        message: String,
    },
    /// The verifier rejected a program.
    #[error("{}", verifier_message(program, *errno, log))]
    Verifier {
        /// The program's name.
        program: String,
        /// The errno of `BPF_PROG_LOAD` (usually EACCES or EINVAL).
        errno: i32,
        /// The whole level-1 verifier log.
        log: String,
    },
    /// The object has no map of this name.
    #[error("no map `{0}` in the object")]
    NoSuchMap(String),
    /// The object has no program of this name.
    #[error("no program `{0}` in the object")]
    NoSuchProgram(String),
    /// An argument does not fit (key or value size, a map index out of
    /// range, a missing attach target, ...).
    #[error("{0}")]
    InvalidInput(String),
    /// Something this backend does not do (freplace and struct_ops
    /// programs, ...).
    #[error("not supported by the kernel backend: {0}")]
    Unsupported(String),
}

/// How many of the log's last lines the error message shows.
const LOG_TAIL_LINES: usize = 40;

fn verifier_message(program: &str, errno: i32, log: &str) -> String {
    let lines: Vec<&str> = log.lines().collect();
    let skip = lines.len().saturating_sub(LOG_TAIL_LINES);
    let mut out = format!(
        "the kernel verifier rejected program `{program}` ({})",
        sys::errno_message(errno)
    );
    if lines.is_empty() {
        out.push_str(" with an empty log");
    } else {
        out.push_str(":\n");
        if skip > 0 {
            out.push_str(&format!("[... {skip} earlier lines of the log ...]\n"));
        }
        out.push_str(&lines[skip..].join("\n"));
    }
    out
}

/// The running kernel's BTF, parsed once.
pub(crate) fn vmlinux() -> Result<&'static Btf, KernelError> {
    static VMLINUX: OnceLock<Result<Btf, String>> = OnceLock::new();
    VMLINUX
        .get_or_init(|| {
            let bytes = std::fs::read(VMLINUX_BTF).map_err(|e| {
                format!("cannot read the kernel's BTF at {VMLINUX_BTF} ({e}); it needs CONFIG_DEBUG_INFO_BTF")
            })?;
            Btf::parse(&bytes).map_err(|e| format!("cannot parse {VMLINUX_BTF}: {e}"))
        })
        .as_ref()
        .map_err(|e| KernelError::Unavailable(e.clone()))
}

/// Whether this process can use bpf() here: `Ok(())`, or `Err` with the
/// reason (no kernel BTF, not root / no CAP_BPF, bpf() disabled or filtered,
/// test runs refused). Cheap: it creates a one-element array map, loads a
/// two-instruction XDP program and test-runs it once, then closes both.
/// Tests call it first and skip with the printed reason.
pub fn availability() -> Result<(), String> {
    std::fs::File::open(VMLINUX_BTF).map_err(|e| {
        format!(
            "no readable kernel BTF at {VMLINUX_BTF} ({e}): the kernel needs CONFIG_DEBUG_INFO_BTF"
        )
    })?;
    let mut attr = sys::MapCreateAttr {
        map_type: 2,
        key_size: 4,
        value_size: 4,
        max_entries: 1,
        map_name: sys::obj_name("waggle_probe"),
        ..Default::default()
    };
    // SAFETY: the attr holds no pointers.
    let map = unsafe { sys::bpf_fd(sys::BPF_MAP_CREATE, &mut attr) };
    if let Err(errno) = map {
        return Err(
            sys::unavailable_reason("BPF_MAP_CREATE", errno).unwrap_or_else(|| {
                format!(
                    "bpf(BPF_MAP_CREATE) of a one-element array failed: {}",
                    sys::errno_message(errno)
                )
            }),
        );
    }
    drop(map);
    // r0 = XDP_PASS; exit
    let insns = [
        RawInsn::new(0xb7, 0, 0, 0, 2),
        RawInsn::new(0x95, 0, 0, 0, 0),
    ];
    let prog = load_raw(&insns, ProgramType::Xdp, "waggle_probe").map_err(|e| match e {
        KernelError::Unavailable(reason) => reason,
        other => format!("loading a trivial XDP program failed: {other}"),
    })?;
    let frame = [0u8; 14];
    prog.test_run(&TestRun::packet(&frame))
        .map_err(|e| format!("BPF_PROG_TEST_RUN of a trivial XDP program failed: {e}"))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verifier_errors_show_the_log_tail() {
        let log: String = (0..100).map(|i| format!("line {i}\n")).collect();
        let e = KernelError::Verifier {
            program: "p".into(),
            errno: libc::EACCES,
            log,
        };
        let text = e.to_string();
        assert!(text.contains("rejected program `p` (EACCES"));
        assert!(text.contains("[... 60 earlier lines"));
        assert!(text.contains("line 99"));
        assert!(!text.contains("line 59\n"));
    }
}
