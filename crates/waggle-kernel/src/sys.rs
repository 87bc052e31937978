//! The bpf() system call and the parts of `union bpf_attr` Waggle uses,
//! written from Linux's `include/uapi/linux/bpf.h`.
//!
//! Each command gets its own `#[repr(C)]` struct laid out exactly like the
//! matching member of `union bpf_attr`, with explicit padding fields so no
//! byte passed to the kernel is uninitialised. The size passed is the
//! struct's size: the kernel accepts a shorter `attr` than its own (the rest
//! reads as zero) and a longer one whose extra bytes are zero.

use crate::KernelError;
use std::os::fd::{FromRawFd, OwnedFd};

// `enum bpf_cmd`.
pub(crate) const BPF_MAP_CREATE: u32 = 0;
pub(crate) const BPF_MAP_LOOKUP_ELEM: u32 = 1;
pub(crate) const BPF_MAP_UPDATE_ELEM: u32 = 2;
pub(crate) const BPF_MAP_GET_NEXT_KEY: u32 = 4;
pub(crate) const BPF_PROG_LOAD: u32 = 5;
pub(crate) const BPF_PROG_TEST_RUN: u32 = 10;
pub(crate) const BPF_BTF_LOAD: u32 = 18;
pub(crate) const BPF_MAP_FREEZE: u32 = 22;

/// `BPF_OBJ_NAME_LEN`: map and program names, NUL included.
pub(crate) const BPF_OBJ_NAME_LEN: usize = 16;

/// The kernel-internal `ENOTSUPP`, which bpf() returns for some operations a
/// map type does not support (no libc name).
pub(crate) const ENOTSUPP: i32 = 524;

/// `BPF_MAP_CREATE`.
#[repr(C)]
#[derive(Default)]
pub(crate) struct MapCreateAttr {
    pub map_type: u32,
    pub key_size: u32,
    pub value_size: u32,
    pub max_entries: u32,
    pub map_flags: u32,
    pub inner_map_fd: u32,
    pub numa_node: u32,
    pub map_name: [u8; BPF_OBJ_NAME_LEN],
    pub map_ifindex: u32,
    pub btf_fd: u32,
    pub btf_key_type_id: u32,
    pub btf_value_type_id: u32,
    pub btf_vmlinux_value_type_id: u32,
    pub map_extra: u64,
}

/// `BPF_MAP_*_ELEM`, `BPF_MAP_GET_NEXT_KEY` and `BPF_MAP_FREEZE` (which
/// reads only `map_fd`).
#[repr(C)]
#[derive(Default)]
pub(crate) struct MapElemAttr {
    pub map_fd: u32,
    pub _pad: u32,
    pub key: u64,
    /// `value`, or `next_key` for `BPF_MAP_GET_NEXT_KEY`.
    pub value: u64,
    pub flags: u64,
}

/// `BPF_PROG_LOAD`, up to `log_true_size` (Linux 6.4; older kernels see a
/// zero there and accept it).
#[repr(C)]
#[derive(Default)]
pub(crate) struct ProgLoadAttr {
    pub prog_type: u32,
    pub insn_cnt: u32,
    pub insns: u64,
    pub license: u64,
    pub log_level: u32,
    pub log_size: u32,
    pub log_buf: u64,
    pub kern_version: u32,
    pub prog_flags: u32,
    pub prog_name: [u8; BPF_OBJ_NAME_LEN],
    pub prog_ifindex: u32,
    pub expected_attach_type: u32,
    pub prog_btf_fd: u32,
    pub func_info_rec_size: u32,
    pub func_info: u64,
    pub func_info_cnt: u32,
    pub line_info_rec_size: u32,
    pub line_info: u64,
    pub line_info_cnt: u32,
    pub attach_btf_id: u32,
    pub attach_prog_fd: u32,
    pub core_relo_cnt: u32,
    pub fd_array: u64,
    pub core_relos: u64,
    pub core_relo_rec_size: u32,
    /// Output: the size the whole log needed.
    pub log_true_size: u32,
}

/// `BPF_PROG_TEST_RUN` (`test` in `union bpf_attr`).
#[repr(C)]
#[derive(Default)]
pub(crate) struct TestRunAttr {
    pub prog_fd: u32,
    pub retval: u32,
    pub data_size_in: u32,
    pub data_size_out: u32,
    pub data_in: u64,
    pub data_out: u64,
    pub repeat: u32,
    pub duration: u32,
    pub ctx_size_in: u32,
    pub ctx_size_out: u32,
    pub ctx_in: u64,
    pub ctx_out: u64,
    pub flags: u32,
    pub cpu: u32,
    pub batch_size: u32,
    pub _pad: u32,
}

/// `BPF_BTF_LOAD`.
#[repr(C)]
#[derive(Default)]
pub(crate) struct BtfLoadAttr {
    pub btf: u64,
    pub btf_log_buf: u64,
    pub btf_size: u32,
    pub btf_log_size: u32,
    pub btf_log_level: u32,
    /// Output (Linux 6.4): the size the whole log needed.
    pub btf_log_true_size: u32,
}

/// Issues `bpf(cmd, attr, sizeof(attr))`; returns the result or the errno.
///
/// # Safety
/// Every pointer field of `attr` must be null or point at memory valid for
/// the length the matching size field gives (and writable where the kernel
/// writes), for the duration of the call.
pub(crate) unsafe fn bpf<T>(cmd: u32, attr: &mut T) -> Result<i64, i32> {
    // SAFETY: `attr` is a live, initialised `#[repr(C)]` struct of the given
    // size; the caller vouches for the pointers inside it.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_bpf,
            cmd as libc::c_long,
            attr as *mut T as *mut libc::c_void,
            std::mem::size_of::<T>() as libc::c_uint,
        )
    };
    if ret < 0 {
        Err(errno())
    } else {
        Ok(ret as i64)
    }
}

/// A bpf() call that returns a new file descriptor.
///
/// # Safety
/// As for [`bpf`].
pub(crate) unsafe fn bpf_fd<T>(cmd: u32, attr: &mut T) -> Result<OwnedFd, i32> {
    // SAFETY: forwarded to the caller.
    let fd = unsafe { bpf(cmd, attr) }?;
    let fd = i32::try_from(fd).map_err(|_| libc::EBADF)?;
    // SAFETY: on success these commands return a new descriptor this
    // process owns and nothing else refers to.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

fn errno() -> i32 {
    std::io::Error::last_os_error()
        .raw_os_error()
        .unwrap_or(libc::EIO)
}

/// The symbolic name and description of an errno, as `EACCES: Permission denied`.
pub(crate) fn errno_message(errno: i32) -> String {
    let name = match errno {
        libc::EPERM => "EPERM",
        libc::ENOENT => "ENOENT",
        libc::E2BIG => "E2BIG",
        libc::EBADF => "EBADF",
        libc::EAGAIN => "EAGAIN",
        libc::ENOMEM => "ENOMEM",
        libc::EACCES => "EACCES",
        libc::EFAULT => "EFAULT",
        libc::EBUSY => "EBUSY",
        libc::EEXIST => "EEXIST",
        libc::EINVAL => "EINVAL",
        libc::ENOSPC => "ENOSPC",
        libc::ERANGE => "ERANGE",
        libc::ENOSYS => "ENOSYS",
        libc::EOPNOTSUPP => "EOPNOTSUPP",
        libc::ELOOP => "ELOOP",
        ENOTSUPP => return "ENOTSUPP: operation not supported for this map or program type".into(),
        _ => "errno",
    };
    let text = std::io::Error::from_raw_os_error(errno).to_string();
    // `Permission denied (os error 13)` -> `Permission denied`.
    let text = text.split(" (os error").next().unwrap_or(&text);
    if name == "errno" {
        format!("errno {errno}: {text}")
    } else {
        format!("{name}: {text}")
    }
}

/// Why bpf() is refused outright, for `EPERM` and `ENOSYS`.
pub(crate) fn unavailable_reason(op: &str, errno: i32) -> Option<String> {
    match errno {
        libc::EPERM => {
            // SAFETY: geteuid has no preconditions.
            if unsafe { libc::geteuid() } == 0 {
                return Some(format!(
                    "bpf({op}) is not permitted (EPERM) although this process is root: a \
                     seccomp filter, an LSM or kernel lockdown refuses it, or this kernel does \
                     not allow this program type or attach target"
                ));
            }
            let knob = std::fs::read_to_string("/proc/sys/kernel/unprivileged_bpf_disabled")
                .map(|s| format!("; kernel.unprivileged_bpf_disabled = {}", s.trim()))
                .unwrap_or_default();
            Some(format!(
                "bpf({op}) is not permitted (EPERM): this needs root or CAP_BPF with \
                 CAP_PERFMON/CAP_NET_ADMIN{knob}"
            ))
        }
        libc::ENOSYS => Some(format!(
            "bpf({op}) is not implemented (ENOSYS): the kernel lacks CONFIG_BPF_SYSCALL \
             or a seccomp filter hides the call"
        )),
        _ => None,
    }
}

/// The error for a failed bpf() call: `Unavailable` for EPERM/ENOSYS,
/// `Syscall` otherwise.
pub(crate) fn syscall_error(op: &'static str, what: impl Into<String>, errno: i32) -> KernelError {
    match unavailable_reason(op, errno) {
        Some(reason) => KernelError::Unavailable(format!("{}: {reason}", what.into())),
        None => KernelError::Syscall {
            op,
            what: what.into(),
            errno,
            message: errno_message(errno),
        },
    }
}

/// A name as the kernel takes it: at most 15 bytes of `[A-Za-z0-9_.]`, any
/// other byte replaced by `_`, NUL-padded.
pub(crate) fn obj_name(name: &str) -> [u8; BPF_OBJ_NAME_LEN] {
    let mut out = [0u8; BPF_OBJ_NAME_LEN];
    for (slot, b) in out.iter_mut().zip(sanitize_name(name).bytes()) {
        *slot = b;
    }
    out
}

/// `name` cut to 15 bytes of `[A-Za-z0-9_.]`, other bytes turned into `_`.
pub(crate) fn sanitize_name(name: &str) -> String {
    name.bytes()
        .take(BPF_OBJ_NAME_LEN - 1)
        .map(|b| {
            if b.is_ascii_alphanumeric() || b == b'_' || b == b'.' {
                b as char
            } else {
                '_'
            }
        })
        .collect()
}

/// The text of a log buffer, up to its first NUL.
pub(crate) fn log_text(buf: &[u8]) -> String {
    let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
    String::from_utf8_lossy(&buf[..end]).into_owned()
}

/// The number of possible CPUs (`/sys/devices/system/cpu/possible`): how
/// many values a per-CPU map's syscall view holds.
pub(crate) fn possible_cpus() -> Result<usize, KernelError> {
    let path = "/sys/devices/system/cpu/possible";
    let text = std::fs::read_to_string(path)
        .map_err(|e| KernelError::Unavailable(format!("cannot read {path}: {e}")))?;
    parse_cpu_list(&text)
        .ok_or_else(|| KernelError::Unavailable(format!("cannot parse {path}: `{}`", text.trim())))
}

/// Counts the CPUs of a list like `0-3,5,7-8`.
fn parse_cpu_list(text: &str) -> Option<usize> {
    let mut count = 0usize;
    for part in text.trim().split(',').filter(|p| !p.is_empty()) {
        let (lo, hi) = match part.split_once('-') {
            Some((a, b)) => (a.trim().parse::<usize>().ok()?, b.trim().parse().ok()?),
            None => {
                let n = part.trim().parse().ok()?;
                (n, n)
            }
        };
        count = count.checked_add(hi.checked_sub(lo)?.checked_add(1)?)?;
    }
    (count > 0).then_some(count)
}

/// The system page size.
pub(crate) fn page_size() -> usize {
    // SAFETY: sysconf has no preconditions.
    let n = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    if n > 0 {
        n as usize
    } else {
        4096
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attr_layouts_match_union_bpf_attr() {
        use std::mem::{offset_of, size_of};
        assert_eq!(offset_of!(MapCreateAttr, map_name), 28);
        assert_eq!(offset_of!(MapCreateAttr, btf_fd), 48);
        assert_eq!(offset_of!(MapCreateAttr, map_extra), 64);
        assert_eq!(size_of::<MapCreateAttr>(), 72);
        assert_eq!(size_of::<MapElemAttr>(), 32);
        assert_eq!(offset_of!(ProgLoadAttr, prog_name), 48);
        assert_eq!(offset_of!(ProgLoadAttr, expected_attach_type), 68);
        assert_eq!(offset_of!(ProgLoadAttr, func_info), 80);
        assert_eq!(offset_of!(ProgLoadAttr, attach_btf_id), 108);
        assert_eq!(offset_of!(ProgLoadAttr, fd_array), 120);
        assert_eq!(offset_of!(ProgLoadAttr, log_true_size), 140);
        assert_eq!(size_of::<ProgLoadAttr>(), 144);
        assert_eq!(offset_of!(TestRunAttr, repeat), 32);
        assert_eq!(offset_of!(TestRunAttr, ctx_in), 48);
        assert_eq!(offset_of!(TestRunAttr, batch_size), 72);
        assert_eq!(size_of::<BtfLoadAttr>(), 32);
    }

    #[test]
    fn names_and_cpu_lists() {
        assert_eq!(sanitize_name("xdp_lb.rodata"), "xdp_lb.rodata");
        assert_eq!(sanitize_name("a-very-long-map-name!"), "a_very_long_map");
        assert_eq!(&obj_name("ab")[..3], b"ab\0");
        assert_eq!(parse_cpu_list("0-1\n"), Some(2));
        assert_eq!(parse_cpu_list("0,2-3"), Some(3));
        assert_eq!(parse_cpu_list("3-1"), None);
        assert_eq!(parse_cpu_list("x"), None);
        assert!(errno_message(libc::EACCES).starts_with("EACCES: "));
        assert!(errno_message(ENOTSUPP).starts_with("ENOTSUPP"));
    }
}
