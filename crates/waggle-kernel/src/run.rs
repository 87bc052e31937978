//! `BPF_PROG_TEST_RUN`: a program run by the kernel on given packet data
//! and, optionally, context.

use crate::sys::{self, TestRunAttr, BPF_PROG_TEST_RUN};
use crate::KernelError;

/// The input of one `BPF_PROG_TEST_RUN`.
#[derive(Debug, Clone, Copy)]
pub struct TestRun<'a> {
    /// The packet (`data_in`). XDP and skb-based program types need at
    /// least 14 bytes (an Ethernet header); skb types see it as a frame.
    pub data_in: &'a [u8],
    /// The context (`ctx_in`: `struct xdp_md`, `struct __sk_buff`, ...), or
    /// `None` for the kernel's default.
    pub ctx_in: Option<&'a [u8]>,
    /// How many times to run (at least 1; 0 is taken as 1). Maps see every
    /// run; `duration_ns` is the average.
    pub repeat: u32,
    /// Room for the output packet (`data_out`); an output longer than this
    /// is an `ENOSPC` error. 0 asks for no output packet.
    pub data_out_capacity: usize,
}

impl<'a> TestRun<'a> {
    /// One run on `data`, with room for an output as long as the input plus
    /// 256 bytes (for programs that grow the packet).
    pub fn packet(data: &'a [u8]) -> TestRun<'a> {
        TestRun {
            data_in: data,
            ctx_in: None,
            repeat: 1,
            data_out_capacity: data.len() + 256,
        }
    }
}

/// The outcome of a `BPF_PROG_TEST_RUN`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TestRunResult {
    /// The program's return value (the low 32 bits of r0).
    pub retval: u32,
    /// The packet after the (last) run.
    pub data_out: Vec<u8>,
    /// The kernel's average time per run, in nanoseconds.
    pub duration_ns: u32,
}

/// Runs the program `fd` (`what` names it in errors).
pub(crate) fn test_run(
    fd: i32,
    what: &str,
    run: &TestRun<'_>,
) -> Result<TestRunResult, KernelError> {
    let size = |len: usize, field: &str| {
        u32::try_from(len).map_err(|_| {
            KernelError::InvalidInput(format!("{what}: {field} of {len} bytes is too long"))
        })
    };
    let mut out = vec![0u8; run.data_out_capacity];
    let mut attr = TestRunAttr {
        prog_fd: fd as u32,
        data_size_in: size(run.data_in.len(), "data_in")?,
        data_in: run.data_in.as_ptr() as u64,
        repeat: run.repeat.max(1),
        ..Default::default()
    };
    if !out.is_empty() {
        attr.data_out = out.as_mut_ptr() as u64;
        attr.data_size_out = size(out.len(), "data_out_capacity")?;
    }
    if let Some(ctx) = run.ctx_in {
        attr.ctx_in = ctx.as_ptr() as u64;
        attr.ctx_size_in = size(ctx.len(), "ctx_in")?;
    }
    // SAFETY: data_in and ctx_in are read for their sizes, data_out written
    // for at most data_size_out bytes; all outlive the call.
    match unsafe { sys::bpf(BPF_PROG_TEST_RUN, &mut attr) } {
        Ok(_) => {
            out.truncate(attr.data_size_out as usize);
            Ok(TestRunResult {
                retval: attr.retval,
                data_out: out,
                duration_ns: attr.duration,
            })
        }
        Err(libc::ENOSPC) if attr.data_size_out as usize > run.data_out_capacity => {
            Err(KernelError::Syscall {
                op: "BPF_PROG_TEST_RUN",
                what: what.to_string(),
                errno: libc::ENOSPC,
                message: format!(
                    "{}: the output packet is {} bytes, data_out_capacity is {}",
                    sys::errno_message(libc::ENOSPC),
                    attr.data_size_out,
                    run.data_out_capacity
                ),
            })
        }
        Err(errno) => Err(sys::syscall_error("BPF_PROG_TEST_RUN", what, errno)),
    }
}
