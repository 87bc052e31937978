//! Programs: map references bound to map fds, the attach details a section
//! name implies, and `BPF_PROG_LOAD` with the verifier log captured.

use crate::maps::KernelMap;
use crate::sys::{self, ProgLoadAttr, BPF_PROG_LOAD};
use crate::KernelError;
use std::ffi::CString;
use std::os::fd::{AsRawFd, OwnedFd};
use waggle_btf::{Btf, BtfKind};
use waggle_isa::opcode::{
    BPF_PSEUDO_MAP_FD, BPF_PSEUDO_MAP_IDX, BPF_PSEUDO_MAP_IDX_VALUE, BPF_PSEUDO_MAP_VALUE,
};
use waggle_isa::RawInsn;

/// `BPF_LD | BPF_IMM | BPF_DW`.
const LD_IMM64: u8 = 0x18;
/// `BPF_F_SLEEPABLE`.
const BPF_F_SLEEPABLE: u32 = 1 << 4;
/// `BPF_F_XDP_HAS_FRAGS`.
const BPF_F_XDP_HAS_FRAGS: u32 = 1 << 5;

/// First size of the verifier log buffer; grown to what the kernel reports
/// it needed (`log_true_size`, Linux 6.4) or fourfold.
const LOG_START: usize = 256 << 10;
/// The largest log buffer tried. A program whose level-1 log is longer is
/// loaded again without a log and keeps the log's truncated end.
const LOG_MAX: usize = 64 << 20;

/// Rewrites the linker's map-index references into fd references, as libbpf
/// does: `BPF_PSEUDO_MAP_IDX` (5) becomes `BPF_PSEUDO_MAP_FD` (1) and
/// `BPF_PSEUDO_MAP_IDX_VALUE` (6) `BPF_PSEUDO_MAP_VALUE` (2), the immediate
/// the map's fd; the second slot (the value offset) stays.
pub(crate) fn bind_maps(
    program: &str,
    insns: &[RawInsn],
    maps: &[KernelMap],
) -> Result<Vec<RawInsn>, KernelError> {
    let mut out = insns.to_vec();
    let mut i = 0;
    while i < out.len() {
        let insn = &mut out[i];
        if insn.opcode == LD_IMM64 {
            let src = match insn.src {
                BPF_PSEUDO_MAP_IDX => Some(BPF_PSEUDO_MAP_FD),
                BPF_PSEUDO_MAP_IDX_VALUE => Some(BPF_PSEUDO_MAP_VALUE),
                _ => None,
            };
            if let Some(src) = src {
                let map = usize::try_from(insn.imm)
                    .ok()
                    .and_then(|idx| maps.get(idx))
                    .ok_or_else(|| {
                        KernelError::InvalidInput(format!(
                            "program `{program}`: instruction {i} refers to map index {}, \
                             the object has {} maps",
                            insn.imm,
                            maps.len()
                        ))
                    })?;
                insn.src = src;
                insn.imm = map.fd.as_raw_fd();
            }
            i += 2;
        } else {
            i += 1;
        }
    }
    Ok(out)
}

/// What a section name implies beyond the program type (libbpf's
/// `section_defs`): expected attach type, load flags, and for tracing
/// programs the kernel BTF type to attach to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct AttachInfo {
    pub expected_attach_type: u32,
    pub flags: u32,
    /// Kind and name of the vmlinux type giving `attach_btf_id`.
    pub btf_target: Option<(BtfKind, String)>,
}

/// The [`AttachInfo`] of a section.
pub(crate) fn attach_info(section: &str) -> Result<AttachInfo, KernelError> {
    let (head, target) = match section.split_once('/') {
        Some((h, t)) => (h, Some(t)),
        None => (section, None),
    };
    let mut flags = if head.ends_with(".s") {
        BPF_F_SLEEPABLE
    } else {
        0
    };
    let mut btf_target = None;
    let need_target = |prefix: &str, kind| match target {
        Some(t) if !t.is_empty() => Ok(Some((kind, format!("{prefix}{t}")))),
        _ => Err(KernelError::Unsupported(format!(
            "section `{section}` names no attach target (`{head}/<name>`)"
        ))),
    };
    let attach = match section {
        "sk_reuseport/migrate" => 40,
        "sk_reuseport" => 39,
        "tc/ingress" | "tcx/ingress" => 46,
        "tc/egress" | "tcx/egress" => 47,
        "netkit/primary" => 54,
        "netkit/peer" => 55,
        "xdp.frags/devmap" | "xdp/devmap" => 33,
        "xdp.frags/cpumap" | "xdp/cpumap" => 35,
        "sockops" => 3,
        "sk_skb/stream_parser" => 4,
        "sk_skb/stream_verdict" => 5,
        "sk_skb/verdict" => 38,
        "sk_msg" => 7,
        "lirc_mode2" => 16,
        "flow_dissector" => 17,
        "cgroup_skb/egress" => 1,
        "cgroup/sock_create" | "cgroup/sock" => 2,
        "cgroup/sock_release" => 34,
        "cgroup/post_bind4" => 12,
        "cgroup/post_bind6" => 13,
        "cgroup/bind4" => 8,
        "cgroup/bind6" => 9,
        "cgroup/connect4" => 10,
        "cgroup/connect6" => 11,
        "cgroup/connect_unix" => 49,
        "cgroup/sendmsg4" => 14,
        "cgroup/sendmsg6" => 15,
        "cgroup/sendmsg_unix" => 50,
        "cgroup/recvmsg4" => 19,
        "cgroup/recvmsg6" => 20,
        "cgroup/recvmsg_unix" => 51,
        "cgroup/getpeername4" => 29,
        "cgroup/getpeername6" => 30,
        "cgroup/getpeername_unix" => 52,
        "cgroup/getsockname4" => 31,
        "cgroup/getsockname6" => 32,
        "cgroup/getsockname_unix" => 53,
        "cgroup/sysctl" => 18,
        "cgroup/getsockopt" => 21,
        "cgroup/setsockopt" => 22,
        "cgroup/dev" => 6,
        "sk_lookup" => 36,
        "netfilter" => 45,
        _ => match head {
            "xdp" | "xdp.frags" => 37,
            "kprobe.multi" | "kretprobe.multi" => 42,
            "kprobe.session" => 56,
            "uprobe.multi" | "uretprobe.multi" | "uprobe.multi.s" | "uretprobe.multi.s" => 48,
            "tp_btf" => {
                btf_target = need_target("btf_trace_", BtfKind::Typedef)?;
                23
            }
            "fentry" | "fentry.s" => {
                btf_target = need_target("", BtfKind::Func)?;
                24
            }
            "fexit" | "fexit.s" => {
                btf_target = need_target("", BtfKind::Func)?;
                25
            }
            "fmod_ret" | "fmod_ret.s" => {
                btf_target = need_target("", BtfKind::Func)?;
                26
            }
            "lsm" | "lsm.s" => {
                btf_target = need_target("bpf_lsm_", BtfKind::Func)?;
                27
            }
            "lsm_cgroup" => {
                btf_target = need_target("bpf_lsm_", BtfKind::Func)?;
                43
            }
            "iter" | "iter.s" => {
                btf_target = need_target("bpf_iter_", BtfKind::Func)?;
                28
            }
            "freplace" => {
                return Err(KernelError::Unsupported(format!(
                    "section `{section}`: freplace programs need a target program (attach_prog_fd)"
                )))
            }
            "struct_ops" | "struct_ops.s" => {
                return Err(KernelError::Unsupported(format!(
                    "section `{section}`: struct_ops programs need a struct_ops map"
                )))
            }
            _ => 0,
        },
    };
    if head.starts_with("xdp.frags") {
        flags |= BPF_F_XDP_HAS_FRAGS;
    }
    Ok(AttachInfo {
        expected_attach_type: attach,
        flags,
        btf_target,
    })
}

/// The vmlinux type id of a tracing program's attach target.
pub(crate) fn attach_btf_id(
    program: &str,
    info: &AttachInfo,
    vmlinux: &Btf,
) -> Result<u32, KernelError> {
    match &info.btf_target {
        None => Ok(0),
        Some((kind, name)) => vmlinux.find_type(*kind, name).ok_or_else(|| {
            KernelError::InvalidInput(format!(
                "program `{program}`: no {} `{name}` in the kernel's BTF to attach to",
                kind.name()
            ))
        }),
    }
}

/// `struct bpf_func_info` as `BPF_PROG_LOAD` takes it (`insn_off` in
/// instructions).
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub(crate) struct KFuncInfo {
    pub insn_off: u32,
    pub type_id: u32,
}

/// `struct bpf_line_info` as `BPF_PROG_LOAD` takes it.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub(crate) struct KLineInfo {
    pub insn_off: u32,
    pub file_name_off: u32,
    pub line_off: u32,
    pub line_col: u32,
}

/// A program's BTF function and line info, with the BTF they refer to.
pub(crate) struct ExtInfo<'a> {
    pub btf_fd: i32,
    pub funcs: &'a [KFuncInfo],
    pub lines: &'a [KLineInfo],
}

/// The kernel form of a linked program's BTF.ext records (`insn_off` from
/// bytes to instructions).
pub(crate) fn ext_records(def: &waggle_object::ProgramDef) -> (Vec<KFuncInfo>, Vec<KLineInfo>) {
    let funcs = def
        .func_info
        .iter()
        .map(|f| KFuncInfo {
            insn_off: f.insn_index() as u32,
            type_id: f.type_id,
        })
        .collect();
    let lines = def
        .line_info
        .iter()
        .map(|l| KLineInfo {
            insn_off: l.insn_index() as u32,
            file_name_off: l.file_name_off,
            line_off: l.line_off,
            line_col: l.line_col,
        })
        .collect();
    (funcs, lines)
}

/// What `BPF_PROG_LOAD` is given for one program.
pub(crate) struct LoadSpec<'a> {
    /// For errors and, cut to 15 bytes, the kernel's name.
    pub name: &'a str,
    pub prog_type: u32,
    pub insns: &'a [RawInsn],
    pub license: &'a str,
    pub kern_version: u32,
    pub expected_attach_type: u32,
    pub flags: u32,
    pub attach_btf_id: u32,
    /// Function and line info, when the object's BTF is loaded.
    pub ext: Option<ExtInfo<'a>>,
    /// The verifier log's level: 1 (the path to a rejection), or 4
    /// (`BPF_LOG_STATS`: verification time, stack depth, instructions
    /// processed and states).
    pub log_level: u32,
}

/// Loads a program with a level-1 verifier log; returns its fd and the log.
/// A rejection is [`KernelError::Verifier`] carrying the whole log.
pub(crate) fn load(spec: &LoadSpec<'_>) -> Result<(OwnedFd, String), KernelError> {
    if spec.insns.is_empty() {
        return Err(KernelError::InvalidInput(format!(
            "program `{}` has no instructions",
            spec.name
        )));
    }
    let insn_cnt = u32::try_from(spec.insns.len())
        .map_err(|_| KernelError::InvalidInput(format!("program `{}` is too long", spec.name)))?;
    let bytes = RawInsn::slice_to_bytes(spec.insns);
    let license = CString::new(spec.license.replace('\0', "")).unwrap_or_default();
    let mut log_size = LOG_START;
    loop {
        let mut log = vec![0u8; log_size];
        let (result, true_size) = load_once(spec, insn_cnt, &bytes, &license, Some(&mut log));
        match result {
            Ok(fd) => return Ok((fd, sys::log_text(&log))),
            Err(libc::ENOSPC) if log_size < LOG_MAX => {
                let wanted = (true_size as usize).saturating_add(1);
                log_size = wanted.max(log_size.saturating_mul(4)).min(LOG_MAX);
            }
            Err(libc::ENOSPC) => {
                // The log alone overflowed: load without one, keep its end.
                let mut text = sys::log_text(&log);
                text.insert_str(0, "[verifier log truncated: only its end is kept]\n");
                let (result, _) = load_once(spec, insn_cnt, &bytes, &license, None);
                return match result {
                    Ok(fd) => Ok((fd, text)),
                    Err(errno) => Err(rejection(spec.name, errno, text)),
                };
            }
            Err(errno) => return Err(rejection(spec.name, errno, sys::log_text(&log))),
        }
    }
}

/// Loads a program without a verifier log; `None` when that fails (the
/// caller loads again with [`load`] for the error and its log).
pub(crate) fn load_without_log(spec: &LoadSpec<'_>) -> Option<OwnedFd> {
    let insn_cnt = u32::try_from(spec.insns.len()).ok()?;
    if insn_cnt == 0 {
        return None;
    }
    let bytes = RawInsn::slice_to_bytes(spec.insns);
    let license = CString::new(spec.license.replace('\0', "")).unwrap_or_default();
    load_once(spec, insn_cnt, &bytes, &license, None).0.ok()
}

/// The error for a refused program: `Unavailable` for ENOSYS and for EPERM
/// without a verifier log (no privilege), `Verifier` otherwise.
fn rejection(name: &str, errno: i32, log: String) -> KernelError {
    let unavailable = errno == libc::ENOSYS || (errno == libc::EPERM && log.trim().is_empty());
    match sys::unavailable_reason("BPF_PROG_LOAD", errno) {
        Some(reason) if unavailable => {
            KernelError::Unavailable(format!("program `{name}`: {reason}"))
        }
        _ => KernelError::Verifier {
            program: name.to_string(),
            errno,
            log,
        },
    }
}

/// One `BPF_PROG_LOAD` (retried on EAGAIN as libbpf does); returns the
/// outcome and the log size the kernel reported it needed.
fn load_once(
    spec: &LoadSpec<'_>,
    insn_cnt: u32,
    insns: &[u8],
    license: &CString,
    log: Option<&mut Vec<u8>>,
) -> (Result<OwnedFd, i32>, u32) {
    let mut attr = ProgLoadAttr {
        prog_type: spec.prog_type,
        insn_cnt,
        insns: insns.as_ptr() as u64,
        license: license.as_ptr() as u64,
        kern_version: spec.kern_version,
        prog_flags: spec.flags,
        prog_name: sys::obj_name(spec.name),
        expected_attach_type: spec.expected_attach_type,
        attach_btf_id: spec.attach_btf_id,
        ..Default::default()
    };
    if let Some(ext) = &spec.ext {
        attr.prog_btf_fd = ext.btf_fd as u32;
        if !ext.funcs.is_empty() {
            attr.func_info_rec_size = std::mem::size_of::<KFuncInfo>() as u32;
            attr.func_info = ext.funcs.as_ptr() as u64;
            attr.func_info_cnt = ext.funcs.len() as u32;
        }
        if !ext.lines.is_empty() {
            attr.line_info_rec_size = std::mem::size_of::<KLineInfo>() as u32;
            attr.line_info = ext.lines.as_ptr() as u64;
            attr.line_info_cnt = ext.lines.len() as u32;
        }
    }
    if let Some(log) = log {
        attr.log_level = spec.log_level;
        attr.log_buf = log.as_mut_ptr() as u64;
        attr.log_size = u32::try_from(log.len()).unwrap_or(u32::MAX);
    }
    let mut result = Err(libc::EAGAIN);
    for _ in 0..5 {
        // SAFETY: insns holds insn_cnt slots, license is NUL-terminated, the
        // func/line info arrays hold their counts of records of the given
        // sizes, the log buffer is writable for log_size bytes; all outlive
        // the call.
        result = unsafe { sys::bpf_fd(BPF_PROG_LOAD, &mut attr) };
        if !matches!(result, Err(libc::EAGAIN)) {
            break;
        }
    }
    (result, attr.log_true_size)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn section_attach_types() {
        let at = |s: &str| attach_info(s).unwrap().expected_attach_type;
        assert_eq!(at("xdp"), 37);
        assert_eq!(at("tc"), 0);
        assert_eq!(at("socket"), 0);
        assert_eq!(at("cgroup/connect4"), 10);
        assert_eq!(at("cgroup_skb/egress"), 1);
        assert_eq!(at("kprobe/do_unlinkat"), 0);
        let frags = attach_info("xdp.frags").unwrap();
        assert_eq!(frags.flags, BPF_F_XDP_HAS_FRAGS);
        let fentry = attach_info("fentry.s/do_unlinkat").unwrap();
        assert_eq!(fentry.expected_attach_type, 24);
        assert_eq!(fentry.flags, BPF_F_SLEEPABLE);
        assert_eq!(
            fentry.btf_target,
            Some((BtfKind::Func, "do_unlinkat".to_string()))
        );
        assert!(attach_info("fentry").is_err());
        assert!(attach_info("freplace/x").is_err());
    }
}
