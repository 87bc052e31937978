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

impl Shared {
    pub(crate) fn map(&self, addr: u64) -> Result<Arc<dyn Map>, Interrupt> {
        self.maps
            .read()
            .expect("map table lock")
            .get(&addr)
            .cloned()
            .ok_or_else(|| Interrupt::Fault(format!("{addr:#x} is not a map")))
    }
}

/// The packet of an XDP or skb run, for the helpers that read, write or resize it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct PacketState {
    pub kind: CtxKind,
    /// Address of the context structure (Waggle's layout).
    pub ctx: u64,
    /// The frame buffer: headroom, packet, tailroom.
    pub buf: u64,
    pub buf_len: u64,
    /// Index of the packet's region in the run's regions (checked mode), so
    /// helpers that move the packet's bounds can move the region too.
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
    /// `bpf_trace_printk` output, one entry per call.
    pub(crate) trace: Vec<String>,
    pub(crate) packet: Option<PacketState>,
    pub(crate) redirect: Option<Redirect>,
}

/// The run's environment; every Waggle helper runs inside one.
pub(crate) fn env<'a>(cx: &'a mut HelperContext<'_>) -> Result<&'a mut RunEnv, Interrupt> {
    cx.env::<RunEnv>()
        .ok_or_else(|| Interrupt::Fault("helper called outside a Waggle runtime run".into()))
}
