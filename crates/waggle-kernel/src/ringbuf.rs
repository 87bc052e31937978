//! Consuming a `BPF_MAP_TYPE_RINGBUF` from userspace, as libbpf's
//! `ring_buffer__consume` does: the consumer position page mapped
//! read-write at offset 0, the producer position page and the data pages
//! (mapped twice in a row by the kernel, so a record that wraps reads as one
//! run of bytes) read-only at offset one page.

use crate::maps::KernelMap;
use crate::sys;
use crate::KernelError;
use std::os::fd::AsRawFd;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};

/// `BPF_RINGBUF_BUSY_BIT`: the record is reserved, not yet committed.
const BUSY_BIT: u32 = 1 << 31;
/// `BPF_RINGBUF_DISCARD_BIT`: the record was discarded.
const DISCARD_BIT: u32 = 1 << 30;
/// `BPF_RINGBUF_HDR_SZ`: the record header (length word, page offset).
const HDR_SZ: u64 = 8;

/// A shared mapping of a map fd, unmapped on drop.
struct Mapping {
    ptr: *mut libc::c_void,
    len: usize,
}

impl Mapping {
    fn new(fd: i32, len: usize, prot: i32, offset: usize, what: &str) -> Result<Self, KernelError> {
        let off = libc::off_t::try_from(offset)
            .map_err(|_| KernelError::InvalidInput(format!("{what}: mmap offset too large")))?;
        // SAFETY: a fresh shared mapping chosen by the kernel; nothing else
        // is affected. The result is checked against MAP_FAILED.
        let ptr = unsafe { libc::mmap(std::ptr::null_mut(), len, prot, libc::MAP_SHARED, fd, off) };
        if ptr == libc::MAP_FAILED {
            let errno = std::io::Error::last_os_error()
                .raw_os_error()
                .unwrap_or(libc::EIO);
            return Err(KernelError::Syscall {
                op: "mmap",
                what: what.to_string(),
                errno,
                message: sys::errno_message(errno),
            });
        }
        Ok(Mapping { ptr, len })
    }

    fn base(&self) -> *mut u8 {
        self.ptr.cast()
    }
}

impl Drop for Mapping {
    fn drop(&mut self) {
        // SAFETY: unmaps exactly the mapping `new` created.
        unsafe {
            libc::munmap(self.ptr, self.len);
        }
    }
}

/// Every committed record the ring holds, consumed (the consumer position
/// advances past them); discarded records are skipped, and reading stops
/// at a record still being written.
pub(crate) fn drain(map: &KernelMap) -> Result<Vec<Vec<u8>>, KernelError> {
    let what = format!("ring buffer `{}`", map.name);
    if map.map_type != crate::maps::BPF_MAP_TYPE_RINGBUF {
        return Err(KernelError::InvalidInput(format!(
            "map `{}` is not a ring buffer (type {})",
            map.name, map.map_type
        )));
    }
    let size = map.max_entries as u64;
    if size == 0 || !size.is_power_of_two() {
        return Err(KernelError::InvalidInput(format!(
            "{what}: size {size} is not a power of two"
        )));
    }
    let page = sys::page_size();
    let fd = map.fd.as_raw_fd();
    let data_len = usize::try_from(2 * size)
        .ok()
        .and_then(|d| d.checked_add(page))
        .ok_or_else(|| KernelError::InvalidInput(format!("{what}: too large to map")))?;
    let consumer = Mapping::new(fd, page, libc::PROT_READ | libc::PROT_WRITE, 0, &what)?;
    let producer = Mapping::new(fd, data_len, libc::PROT_READ, page, &what)?;

    // SAFETY: both positions are 8-byte aligned u64s at the start of their
    // page-aligned mappings, which live until the end of this function; the
    // kernel updates them concurrently, hence the atomics.
    let consumer_pos = unsafe { AtomicU64::from_ptr(consumer.base().cast()) };
    let producer_pos = unsafe { AtomicU64::from_ptr(producer.base().cast()) };
    // SAFETY: the data area starts one page into the producer mapping.
    let data = unsafe { producer.base().add(page) };
    let mask = size - 1;

    let mut records = Vec::new();
    let mut cons = consumer_pos.load(Ordering::Acquire);
    let prod = producer_pos.load(Ordering::Acquire);
    while cons < prod {
        let at = (cons & mask) as usize;
        // SAFETY: `at` < size and records are 8-byte aligned in the data
        // area; the header's length word is written by the kernel.
        let word = unsafe { AtomicU32::from_ptr(data.add(at).cast()) }.load(Ordering::Acquire);
        if word & BUSY_BIT != 0 {
            break;
        }
        let len = (word & !(BUSY_BIT | DISCARD_BIT)) as u64;
        if len + HDR_SZ > size {
            return Err(KernelError::InvalidInput(format!(
                "{what}: record of {len} bytes at position {cons} does not fit the ring"
            )));
        }
        if word & DISCARD_BIT == 0 {
            // SAFETY: the data pages are mapped twice in a row, so
            // `at + 8 + len` < 2 * size stays inside the mapping.
            let bytes =
                unsafe { std::slice::from_raw_parts(data.add(at + HDR_SZ as usize), len as usize) };
            records.push(bytes.to_vec());
        }
        cons += (len + HDR_SZ).div_ceil(8) * 8;
        consumer_pos.store(cons, Ordering::Release);
    }
    Ok(records)
}
