//! What helpers see of the runtime during a run.

use crate::context::CtxKind;
use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use waggle_maps::Map;
use waggle_vm::{HelperContext, Interrupt, Program};

/// State shared by every run of a loaded object's programs.
pub struct Shared {
    /// Maps by the address programs know them by (`waggle_maps::map_address`),
    /// inner maps of map-in-map types included once the application sets them.
    pub(crate) maps: RwLock<HashMap<u64, Arc<dyn Map>>>,
    /// Prepared programs by program id (their index in the object), for tail
    /// calls: prog arrays hold these ids.
    pub(crate) programs: RwLock<Vec<Arc<Program>>>,
}

/// The packet of an XDP or skb run, for the helpers that read, write or resize it.
///
/// The packet's bounds live in the context structure (`data`, `data_end`,
/// `data_meta` as 64-bit pointers at [`context::layout`](crate::context::layout)
/// offsets), where helpers read and update them; they must always satisfy
/// `buf <= data_meta <= data <= data_end <= buf + buf_len` (`data_meta ==
/// data` when there is no metadata). The context structure and the frame
/// buffer must stay valid, and not be otherwise accessed, for the whole run.
///
/// For XDP, `[buf, buf + buf_len)` is the whole frame as Linux sizes it
/// (`frame_sz`): the helpers keep Linux's reserved areas out of reach, the
/// first `sizeof(struct xdp_frame)` (40) bytes of headroom and the last
/// `SKB_DATA_ALIGN(sizeof(struct skb_shared_info))` (320) bytes of tailroom.
/// `BPF_PROG_TEST_RUN` uses a 4096-byte frame with the packet at offset 256.
#[derive(Debug, Clone, Copy)]
pub(crate) struct PacketState {
    pub kind: CtxKind,
    /// Address of the context structure (Waggle's layout).
    pub ctx: u64,
    /// The frame buffer: headroom, packet, tailroom.
    pub buf: u64,
    pub buf_len: u64,
    /// Number of the packet's region in the run's regions (checked mode; see
    /// `waggle_vm::memory::Regions` for the numbering), so helpers that move
    /// the packet's bounds can move the region too: they keep it at
    /// `[data_meta, data_end)`, writable. 0 (the stack's number) means the
    /// run has no packet region (no direct packet access).
    pub region: usize,
}

/// Where a program asked the packet to go (`bpf_redirect`, `bpf_redirect_map`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Redirect {
    Ifindex { ifindex: u32, flags: u64 },
    Map { map: String, key: u32, flags: u64 },
}

/// Per-run state, handed to the VM as the run's environment.
pub struct RunEnv {
    pub(crate) shared: Arc<Shared>,
    /// This thread's per-CPU slot.
    pub(crate) cpu: u32,
    /// `bpf_trace_printk` (and `bpf_trace_vprintk`) output, one entry per
    /// call: the formatted message exactly as the program wrote it (a
    /// trailing `\n` included if the format has one), cut at Linux's
    /// 1023-byte limit and at the first NUL.
    pub(crate) trace: Vec<String>,
    pub(crate) packet: Option<PacketState>,
    pub(crate) redirect: Option<Redirect>,
    /// The helpers' own bookkeeping for this run (ring buffer records
    /// reserved and not yet submitted).
    pub(crate) helper_state: crate::helpers::HelperState,
}

impl RunEnv {
    /// A run with no packet, no trace output and no redirect yet.
    pub(crate) fn new(shared: Arc<Shared>, cpu: u32) -> RunEnv {
        RunEnv {
            shared,
            cpu,
            trace: Vec::new(),
            packet: None,
            redirect: None,
            helper_state: Default::default(),
        }
    }
}

/// The run's environment; every Waggle helper runs inside one.
pub(crate) fn env<'a>(cx: &'a mut HelperContext<'_>) -> Result<&'a mut RunEnv, Interrupt> {
    cx.env::<RunEnv>()
        .ok_or_else(|| Interrupt::Fault("helper called outside a Waggle runtime run".into()))
}
