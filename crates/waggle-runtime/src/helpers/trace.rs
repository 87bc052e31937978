//! `bpf_trace_printk`, `bpf_trace_vprintk` and `bpf_snprintf`, on the
//! printf engine of [`super::format`].
//!
//! The trace output goes to the run's `trace` list (one entry per call)
//! instead of the kernel's trace pipe: the message as formatted, cut at
//! Linux's 1023-byte limit and at its first NUL (a `%c` of 0), bytes that
//! are not UTF-8 replaced. The helpers return what Linux returns: the
//! length of the whole message.

use super::format::{format, ProcessMemory};
use super::{errno, neg, read_cstr, read_mem, write_mem};
use crate::env::env;
use waggle_vm::{HelperContext, HelperResult};

/// Linux's `MAX_BPRINTF_BUF`: the trace message buffer, NUL included.
const TRACE_BUF: usize = 1024;
/// Linux's `MAX_BPRINTF_VARARGS`: arguments of the data-array variants.
const MAX_VARARGS: u64 = 12;
/// Longest format `bpf_snprintf` looks for a NUL in.
const MAX_FMT: u64 = 1 << 16;

/// A format passed with its size: the bytes before the first NUL inside
/// it, or `None` if it has none (`-EINVAL` in Linux).
fn sized_format(
    cx: &HelperContext<'_>,
    addr: u64,
    size: u64,
) -> Result<Option<Vec<u8>>, waggle_vm::Interrupt> {
    let bytes = read_mem(cx, addr, size)?;
    Ok(bytes
        .iter()
        .position(|&b| b == 0)
        .map(|n| bytes[..n].to_vec()))
}

/// The `u64` arguments of the data-array variants, or `None` for a bad
/// length (`-EINVAL`).
fn data_args(
    cx: &HelperContext<'_>,
    addr: u64,
    len: u64,
) -> Result<Option<Vec<u64>>, waggle_vm::Interrupt> {
    if len % 8 != 0 || len > MAX_VARARGS * 8 || (len != 0 && addr == 0) {
        return Ok(None);
    }
    let bytes = read_mem(cx, addr, len)?;
    Ok(Some(
        bytes
            .chunks_exact(8)
            .map(|c| u64::from_ne_bytes(c.try_into().unwrap_or([0; 8])))
            .collect(),
    ))
}

/// Formats and appends a trace message; returns the helper's result.
fn trace(cx: &mut HelperContext<'_>, fmt: Option<Vec<u8>>, args: &[u64]) -> HelperResult {
    let Some(fmt) = fmt else {
        return Ok(neg(errno::EINVAL));
    };
    match format(&fmt, args, &ProcessMemory, TRACE_BUF - 1) {
        Ok(msg) => {
            let end = msg
                .text
                .iter()
                .position(|&b| b == 0)
                .unwrap_or(msg.text.len());
            let line = String::from_utf8_lossy(&msg.text[..end]).into_owned();
            env(cx)?.trace.push(line);
            Ok(msg.len as u64)
        }
        Err(e) => Ok(e as u64),
    }
}

/// `bpf_trace_printk(fmt, fmt_size, arg1, arg2, arg3)`.
pub(crate) fn trace_printk(cx: &mut HelperContext<'_>, a: [u64; 5]) -> HelperResult {
    let fmt = sized_format(cx, a[0], u64::from(a[1] as u32))?;
    trace(cx, fmt, &a[2..5])
}

/// `bpf_trace_vprintk(fmt, fmt_size, data, data_len)`: as
/// `bpf_trace_printk` with up to 12 arguments in an array.
pub(crate) fn trace_vprintk(cx: &mut HelperContext<'_>, a: [u64; 5]) -> HelperResult {
    let Some(args) = data_args(cx, a[2], u64::from(a[3] as u32))? else {
        return Ok(neg(errno::EINVAL));
    };
    let fmt = sized_format(cx, a[0], u64::from(a[1] as u32))?;
    trace(cx, fmt, &args)
}

/// `bpf_snprintf(str, str_size, fmt, data, data_len)`: formats into `str`,
/// truncated to `str_size - 1` bytes and NUL-terminated (nothing is written
/// for `str_size` 0); returns the length of the whole message plus one.
pub(crate) fn snprintf(cx: &mut HelperContext<'_>, a: [u64; 5]) -> HelperResult {
    let [dst, size, fmt, data, data_len] = a;
    let size = u64::from(size as u32);
    let Some(args) = data_args(cx, data, u64::from(data_len as u32))? else {
        return Ok(neg(errno::EINVAL));
    };
    let fmt = read_cstr(cx, fmt, MAX_FMT)?;
    let cap = (size as usize).saturating_sub(1);
    let msg = match format(&fmt, &args, &ProcessMemory, cap) {
        Ok(m) => m,
        Err(e) => return Ok(e as u64),
    };
    let out = write_mem(cx, dst, size)?;
    if !out.is_empty() {
        out[..msg.text.len()].copy_from_slice(&msg.text);
        out[msg.text.len()] = 0;
    }
    Ok(msg.len as u64 + 1)
}
