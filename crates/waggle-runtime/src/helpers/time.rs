//! Clocks: `bpf_ktime_get_ns` and friends read the host's clocks, which are
//! the very clocks Linux's helpers read.
//!
//! `bpf_jiffies64` has no host counterpart: Waggle derives it from
//! `CLOCK_MONOTONIC` (like jiffies, it does not advance while the system is
//! suspended) with `HZ` = 250, the usual x86-64 distribution setting, plus
//! Linux's `INITIAL_JIFFIES` offset (jiffies start 300 s before wrapping 32
//! bits), so values look like the kernel's. Programs should only compare
//! jiffies with jiffies.

/// The tick rate `bpf_jiffies64` counts in.
pub(crate) const HZ: u64 = 250;
/// Linux's `INITIAL_JIFFIES`: `(u32)(-300 * HZ)`.
const INITIAL_JIFFIES: u64 = (-300i64 * HZ as i64) as u32 as u64;

/// Nanoseconds of `clock`.
pub(crate) fn clock_ns(clock: libc::clockid_t) -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec.
    let rc = unsafe { libc::clock_gettime(clock, &mut ts) };
    if rc != 0 {
        return 0;
    }
    (ts.tv_sec as u64)
        .wrapping_mul(1_000_000_000)
        .wrapping_add(ts.tv_nsec as u64)
}

/// `bpf_ktime_get_ns()`: `CLOCK_MONOTONIC`.
pub(crate) extern "C" fn ktime_get_ns(_: u64, _: u64, _: u64, _: u64, _: u64) -> u64 {
    clock_ns(libc::CLOCK_MONOTONIC)
}

/// `bpf_ktime_get_boot_ns()`: `CLOCK_BOOTTIME`.
pub(crate) extern "C" fn ktime_get_boot_ns(_: u64, _: u64, _: u64, _: u64, _: u64) -> u64 {
    clock_ns(libc::CLOCK_BOOTTIME)
}

/// `bpf_ktime_get_coarse_ns()`: `CLOCK_MONOTONIC_COARSE`.
pub(crate) extern "C" fn ktime_get_coarse_ns(_: u64, _: u64, _: u64, _: u64, _: u64) -> u64 {
    clock_ns(libc::CLOCK_MONOTONIC_COARSE)
}

/// `bpf_ktime_get_tai_ns()`: `CLOCK_TAI`.
pub(crate) extern "C" fn ktime_get_tai_ns(_: u64, _: u64, _: u64, _: u64, _: u64) -> u64 {
    clock_ns(libc::CLOCK_TAI)
}

/// `bpf_jiffies64()`: see the module documentation.
pub(crate) extern "C" fn jiffies64(_: u64, _: u64, _: u64, _: u64, _: u64) -> u64 {
    INITIAL_JIFFIES + clock_ns(libc::CLOCK_MONOTONIC) / (1_000_000_000 / HZ)
}
