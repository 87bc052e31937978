//! `bpf_probe_read*`: copies from any address of the process, without
//! faulting.
//!
//! Linux reads kernel or user memory with fault handlers armed; Waggle asks
//! the kernel to do the copy for it, with `process_vm_readv` on its own pid
//! (or, where a seccomp policy forbids that call, by writing the memory into
//! a pipe), so an unmapped or unreadable address yields `-EFAULT` instead of
//! a crash. Reads are done one page at a time, so a read that fails is one
//! that touches an unreadable page.
//!
//! Waggle has one address space: the `_kernel` and `_user` variants read the
//! same memory as the legacy `bpf_probe_read`/`bpf_probe_read_str`. (On
//! x86-64 Linux, `bpf_probe_read_kernel` of a user address fails with
//! `-ERANGE`; Waggle reads it.)

use super::{errno, neg};
use std::cell::RefCell;
use std::sync::atomic::{AtomicU8, Ordering};
use waggle_vm::{HelperContext, HelperResult};

/// Reads never cross this boundary (a divisor of every page size).
const CHUNK: u64 = 4096;

/// How reads are done: not yet known, `process_vm_readv`, or a pipe.
static METHOD: AtomicU8 = AtomicU8::new(UNKNOWN);
const UNKNOWN: u8 = 0;
const VM_READV: u8 = 1;
const PIPE: u8 = 2;

/// Reads `buf.len()` bytes at `addr`, all within one [`CHUNK`]; whether all
/// could be read.
fn read_chunk(addr: u64, buf: &mut [u8]) -> bool {
    if buf.is_empty() {
        return true;
    }
    if METHOD.load(Ordering::Relaxed) != PIPE {
        match read_vm(addr, buf) {
            Ok(ok) => {
                METHOD.store(VM_READV, Ordering::Relaxed);
                return ok;
            }
            Err(()) => METHOD.store(PIPE, Ordering::Relaxed),
        }
    }
    read_pipe(addr, buf)
}

/// `process_vm_readv` on this process: `Ok(readable)`, or `Err` if the call
/// itself is unavailable.
fn read_vm(addr: u64, buf: &mut [u8]) -> Result<bool, ()> {
    let local = libc::iovec {
        iov_base: buf.as_mut_ptr().cast(),
        iov_len: buf.len(),
    };
    let remote = libc::iovec {
        iov_base: addr as *mut libc::c_void,
        iov_len: buf.len(),
    };
    // SAFETY: `local` describes `buf`, writable; the kernel checks `remote`
    // and fails cleanly on unreadable memory.
    let n = unsafe { libc::process_vm_readv(libc::getpid(), &local, 1, &remote, 1, 0) };
    if n == buf.len() as isize {
        return Ok(true);
    }
    if n < 0 {
        let e = std::io::Error::last_os_error().raw_os_error();
        if matches!(e, Some(libc::ENOSYS) | Some(libc::EPERM)) {
            return Err(());
        }
    }
    Ok(false)
}

thread_local! {
    /// This thread's pipe for [`read_pipe`]: (read end, write end).
    static PIPE_FDS: RefCell<Option<(libc::c_int, libc::c_int)>> = const { RefCell::new(None) };
}

/// Reads through a pipe: `write(2)` copies from our memory and fails with
/// `EFAULT` on unreadable memory. A chunk is at most 4096 bytes, so it
/// always fits the empty pipe.
fn read_pipe(addr: u64, buf: &mut [u8]) -> bool {
    PIPE_FDS.with(|fds| {
        let mut fds = fds.borrow_mut();
        if fds.is_none() {
            let mut p = [0 as libc::c_int; 2];
            // SAFETY: `p` has room for the two descriptors.
            if unsafe { libc::pipe2(p.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
                return false;
            }
            *fds = Some((p[0], p[1]));
        }
        let Some((rd, wr)) = *fds else {
            return false;
        };
        // SAFETY: the kernel reads `buf.len()` bytes at `addr`, failing
        // cleanly with EFAULT on unreadable memory.
        let n = unsafe { libc::write(wr, addr as *const libc::c_void, buf.len()) };
        if n <= 0 {
            return false;
        }
        let mut got = 0usize;
        while got < n as usize {
            // SAFETY: reads into the unfilled part of `buf`.
            let r = unsafe { libc::read(rd, buf[got..].as_mut_ptr().cast(), n as usize - got) };
            if r <= 0 {
                // The pipe is in an unknown state: start a new one next time.
                // SAFETY: closing descriptors this thread owns.
                unsafe {
                    libc::close(rd);
                    libc::close(wr);
                }
                *fds = None;
                return false;
            }
            got += r as usize;
        }
        got == buf.len()
    })
}

/// Copies `buf.len()` bytes from `addr`; whether every byte was readable.
pub(crate) fn read_nofault(addr: u64, buf: &mut [u8]) -> bool {
    let mut done = 0usize;
    while done < buf.len() {
        let Some(at) = addr.checked_add(done as u64) else {
            return false;
        };
        let room = (CHUNK - at % CHUNK) as usize;
        let n = room.min(buf.len() - done);
        if !read_chunk(at, &mut buf[done..done + n]) {
            return false;
        }
        done += n;
    }
    true
}

/// The NUL-terminated string at `addr`, as `strncpy_from_kernel_nofault`
/// with `count` = `max` reads it: at most `max - 1` bytes (without the
/// NUL); `None` if unreadable memory comes first.
pub(crate) fn read_str_nofault(addr: u64, max: usize) -> Option<Vec<u8>> {
    let limit = max.checked_sub(1)?;
    let mut out = Vec::new();
    let mut chunk = [0u8; CHUNK as usize];
    while out.len() < limit {
        let at = addr.checked_add(out.len() as u64)?;
        let n = ((CHUNK - at % CHUNK) as usize).min(limit - out.len());
        let part = &mut chunk[..n];
        if !read_chunk(at, part) {
            // The string may end before the unreadable byte: retry byte by
            // byte up to it (only when the chunk read failed).
            for i in 0..n {
                let mut b = [0u8];
                if !read_chunk(at + i as u64, &mut b) {
                    return None;
                }
                if b[0] == 0 {
                    return Some(out);
                }
                out.push(b[0]);
            }
            continue;
        }
        if let Some(end) = part.iter().position(|&b| b == 0) {
            out.extend_from_slice(&part[..end]);
            return Some(out);
        }
        out.extend_from_slice(part);
    }
    Some(out)
}

/// `bpf_probe_read{,_user,_kernel}(dst, size, unsafe_ptr)`: 0, or
/// `-EFAULT` with `dst` zeroed.
pub(crate) fn probe_read(cx: &mut HelperContext<'_>, a: [u64; 5]) -> HelperResult {
    let size = a[1] as u32 as u64;
    let dst = cx.write(a[0], size)?;
    // Read into a copy: the source may overlap the destination.
    let mut tmp = vec![0u8; dst.len()];
    if read_nofault(a[2], &mut tmp) {
        dst.copy_from_slice(&tmp);
        Ok(0)
    } else {
        dst.fill(0);
        Ok(neg(errno::EFAULT))
    }
}

/// `bpf_probe_read{,_user,_kernel}_str(dst, size, unsafe_ptr)`: copies the
/// string, at most `size - 1` bytes and a NUL, and returns its length
/// including the NUL; `-EFAULT` with `dst` zeroed if unreadable memory comes
/// before the NUL; 0 for `size` 0. Bytes of `dst` after the NUL are left as
/// they were.
pub(crate) fn probe_read_str(cx: &mut HelperContext<'_>, a: [u64; 5]) -> HelperResult {
    let size = a[1] as u32 as u64;
    let dst = cx.write(a[0], size)?;
    if dst.is_empty() {
        return Ok(0);
    }
    match read_str_nofault(a[2], dst.len()) {
        Some(s) => {
            dst[..s.len()].copy_from_slice(&s);
            dst[s.len()] = 0;
            Ok(s.len() as u64 + 1)
        }
        None => {
            dst.fill(0);
            Ok(neg(errno::EFAULT))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_valid_memory_and_refuses_unmapped() {
        let src = *b"hello, world\0tail";
        let mut buf = [0u8; 5];
        assert!(read_nofault(src.as_ptr() as u64, &mut buf));
        assert_eq!(&buf, b"hello");
        assert!(!read_nofault(0x10, &mut buf));
        assert!(!read_nofault(u64::MAX - 2, &mut buf));
        assert_eq!(
            read_str_nofault(src.as_ptr() as u64, 64).as_deref(),
            Some(&b"hello, world"[..])
        );
        assert_eq!(
            read_str_nofault(src.as_ptr() as u64, 6).as_deref(),
            Some(&b"hello"[..])
        );
        assert_eq!(read_str_nofault(0x10, 6), None);
        assert_eq!(read_str_nofault(src.as_ptr() as u64, 0), None);
    }

    #[test]
    fn pipe_fallback_reads_the_same() {
        let src = *b"pipe bytes";
        let mut buf = [0u8; 10];
        assert!(read_pipe(src.as_ptr() as u64, &mut buf));
        assert_eq!(&buf, b"pipe bytes");
        assert!(!read_pipe(0x10, &mut buf));
        // The pipe still works after a failed read.
        let mut buf = [0u8; 4];
        assert!(read_pipe(src.as_ptr() as u64, &mut buf));
        assert_eq!(&buf, b"pipe");
    }
}
