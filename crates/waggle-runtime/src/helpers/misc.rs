//! The running thread: CPU slot, ids, name, random numbers.
//!
//! A Waggle run executes on an application thread, which stands for
//! Linux's "current task": `bpf_get_current_pid_tgid` returns its process
//! id (tgid) and thread id, `bpf_get_current_comm` its thread name. The CPU
//! number is the run's per-CPU slot, not the host CPU. Random numbers come
//! from a per-thread xorshift generator seeded from the clock and the
//! thread id (Linux's is a per-CPU Tausworthe generator; neither is
//! cryptographic).

use super::errno;
use super::{cpu, neg};
use std::cell::Cell;
use waggle_vm::{HelperContext, HelperResult};

thread_local! {
    static PRANDOM: Cell<u64> = const { Cell::new(0) };
}

fn thread_id() -> u64 {
    // SAFETY: gettid has no preconditions.
    (unsafe { libc::gettid() }) as u32 as u64
}

/// Restarts the calling thread's generator from `seed`.
pub(crate) fn seed_prandom(seed: u64) {
    // xorshift's state must not be 0 (0 also means "not seeded yet").
    PRANDOM.with(|state| state.set(seed | 1));
}

/// `bpf_get_prandom_u32()`.
pub(crate) extern "C" fn get_prandom_u32(_: u64, _: u64, _: u64, _: u64, _: u64) -> u64 {
    PRANDOM.with(|state| {
        let mut x = state.get();
        if x == 0 {
            let seed = super::time::clock_ns(libc::CLOCK_MONOTONIC)
                ^ thread_id().wrapping_mul(0x9e37_79b9_7f4a_7c15);
            x = seed | 1;
        }
        // xorshift64*
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        state.set(x);
        (x.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 32) as u32 as u64
    })
}

/// `bpf_get_smp_processor_id()`: the run's per-CPU slot.
pub(crate) fn get_smp_processor_id(cx: &mut HelperContext<'_>, _: [u64; 5]) -> HelperResult {
    Ok(u64::from(cpu(cx)?))
}

/// `bpf_get_numa_node_id()`: Waggle has one node, 0.
pub(crate) extern "C" fn get_numa_node_id(_: u64, _: u64, _: u64, _: u64, _: u64) -> u64 {
    0
}

/// `bpf_get_current_pid_tgid()`: `tgid << 32 | tid` of the calling thread.
pub(crate) extern "C" fn get_current_pid_tgid(_: u64, _: u64, _: u64, _: u64, _: u64) -> u64 {
    // SAFETY: getpid has no preconditions.
    let tgid = (unsafe { libc::getpid() }) as u32 as u64;
    tgid << 32 | thread_id()
}

/// `bpf_get_current_uid_gid()`: `gid << 32 | uid` (real ids, as Linux's
/// `current_uid_gid`).
pub(crate) extern "C" fn get_current_uid_gid(_: u64, _: u64, _: u64, _: u64, _: u64) -> u64 {
    // SAFETY: getuid and getgid have no preconditions.
    let (uid, gid) = unsafe { (libc::getuid(), libc::getgid()) };
    u64::from(gid) << 32 | u64::from(uid)
}

/// The calling thread's name (Linux's `comm`, at most 15 bytes).
fn thread_name() -> Option<Vec<u8>> {
    let mut buf = [0u8; 16];
    // SAFETY: PR_GET_NAME writes at most 16 bytes, NUL included, to `buf`.
    let rc = unsafe { libc::prctl(libc::PR_GET_NAME, buf.as_mut_ptr() as libc::c_ulong) };
    if rc != 0 {
        return None;
    }
    let len = buf.iter().position(|&b| b == 0).unwrap_or(15).min(15);
    Some(buf[..len].to_vec())
}

/// `bpf_get_current_comm(buf, size)`: the thread name, truncated to
/// `size - 1` bytes, NUL-terminated and padded with NULs (`strscpy_pad`);
/// returns 0, or `-EINVAL` (buffer zeroed) if the name cannot be read.
pub(crate) fn get_current_comm(cx: &mut HelperContext<'_>, a: [u64; 5]) -> HelperResult {
    let size = a[1] as u32 as u64;
    let buf = cx.write(a[0], size)?;
    buf.fill(0);
    let Some(name) = thread_name() else {
        return Ok(neg(errno::EINVAL));
    };
    let n = name.len().min(buf.len().saturating_sub(1));
    buf[..n].copy_from_slice(&name[..n]);
    Ok(0)
}
