//! Packet helpers: XDP head/tail/metadata adjustment and byte access,
//! redirects, skb byte access.
//!
//! The packet is `[data, data_end)` with metadata `[data_meta, data)`, inside
//! the run's frame buffer (see [`PacketState`]); the pointers live in the
//! context structure, where the program reads them, and helpers that move
//! them move the packet's region of a checked run too. The XDP limits are
//! Linux's: `data` stays at least `sizeof(struct xdp_frame)` (40 bytes)
//! plus the metadata past the frame's start, `data_end` at most at the
//! frame's end less the 320 bytes Linux reserves for `skb_shared_info`, the
//! packet at least `ETH_HLEN` (14) bytes long, the metadata a multiple of 4
//! bytes and at most 255.
//!
//! Redirects are recorded in the run's `redirect` for the caller to act
//! on. Waggle has no device, CPU or socket maps: `bpf_redirect_map` accepts
//! any map standing for one (as the loader creates it) and records the
//! map's name and the key. As in Linux the redirect fails, returning the low
//! two bits of `flags` (an XDP action), when the key has no entry (no
//! element, or an element whose value is all zeros: an empty device slot)
//! and `BPF_F_BROADCAST` is not set.
//!
//! `bpf_skb_store_bytes` ignores `BPF_F_RECOMPUTE_CSUM` (Waggle's skbs have
//! no `CHECKSUM_COMPLETE` checksum to maintain) and honours
//! `BPF_F_INVALIDATE_HASH` by zeroing the context's `hash`.

use super::{cpu, errno, map_at, neg, read_mem, refused, write_mem};
use crate::context::{layout, CtxKind};
use crate::env::{env, PacketState, Redirect};
use std::ptr;
use waggle_vm::{HelperContext, HelperResult, Interrupt, Region};

const ETH_HLEN: u64 = 14;
/// Linux's `sizeof(struct xdp_frame)`, kept free at the frame's start.
const XDP_FRAME_SIZE: u64 = 40;
/// Linux's `SKB_DATA_ALIGN(sizeof(struct skb_shared_info))`, kept free at
/// the frame's end.
const XDP_TAILROOM: u64 = 320;
/// Linux's largest metadata (`skb_shared_info::meta_len` is a `u8`).
const XDP_META_MAX: u64 = 255;

const XDP_ABORTED: u64 = 0;
const XDP_REDIRECT: u64 = 4;
const TC_ACT_SHOT: u64 = 2;
const TC_ACT_REDIRECT: u64 = 7;
const BPF_F_INGRESS: u64 = 1;
const BPF_F_BROADCAST: u64 = 1 << 3;
const BPF_F_EXCLUDE_INGRESS: u64 = 1 << 4;
const BPF_F_RECOMPUTE_CSUM: u64 = 1;
const BPF_F_INVALIDATE_HASH: u64 = 2;

/// The packet of the run, with its pointers as the context holds them.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Packet {
    pub state: PacketState,
    pub meta: u64,
    pub data: u64,
    pub end: u64,
}

/// Offsets of `data`, `data_end` and `data_meta` in the context.
fn pointer_offsets(kind: CtxKind) -> Option<[usize; 3]> {
    use layout::*;
    match kind {
        CtxKind::Xdp => Some([XDP_DATA, XDP_DATA_END, XDP_DATA_META]),
        CtxKind::SkbTc | CtxKind::SkbSocket => Some([SKB_DATA, SKB_DATA_END, SKB_DATA_META]),
        CtxKind::Raw => None,
    }
}

/// The run's packet, if it has one.
pub(crate) fn packet(cx: &mut HelperContext<'_>) -> Result<Option<Packet>, Interrupt> {
    let Some(state) = env(cx)?.packet else {
        return Ok(None);
    };
    let Some([d, e, m]) = pointer_offsets(state.kind) else {
        return Ok(None);
    };
    // SAFETY: `PacketState`'s contract: `ctx` is this kind's context
    // structure in Waggle's layout, valid for the run.
    let read = |off: usize| unsafe { ptr::read_unaligned((state.ctx + off as u64) as *const u64) };
    let p = Packet {
        state,
        data: read(d),
        end: read(e),
        meta: read(m),
    };
    let buf_end = state.buf.saturating_add(state.buf_len);
    if !(state.buf <= p.meta && p.meta <= p.data && p.data <= p.end && p.end <= buf_end) {
        return Err(Interrupt::Fault(format!(
            "packet pointers out of order: buffer {:#x}+{}, meta {:#x}, data {:#x}, end {:#x}",
            state.buf, state.buf_len, p.meta, p.data, p.end
        )));
    }
    Ok(Some(p))
}

/// The run's packet, for a helper that needs one of `kinds`.
fn need(cx: &mut HelperContext<'_>, kinds: &[CtxKind], helper: &str) -> Result<Packet, Interrupt> {
    match packet(cx)? {
        Some(p) if kinds.contains(&p.state.kind) => Ok(p),
        _ => Err(refused(format_args!(
            "{helper} in a program without {} packet",
            if kinds == [CtxKind::Xdp] {
                "an XDP"
            } else {
                "a suitable"
            }
        ))),
    }
}

const XDP: &[CtxKind] = &[CtxKind::Xdp];
const TC: &[CtxKind] = &[CtxKind::SkbTc];
const SKB: &[CtxKind] = &[CtxKind::SkbTc, CtxKind::SkbSocket];

impl Packet {
    fn len(&self) -> u64 {
        self.end - self.data
    }

    /// Copies `len` packet bytes at `offset` (from `data`), if inside.
    pub(crate) fn copy_out(&self, offset: u64, len: u64) -> Option<Vec<u8>> {
        if offset.checked_add(len)? > self.len() {
            return None;
        }
        let mut out = vec![0u8; len as usize];
        // SAFETY: inside the packet, valid for the run (`PacketState`).
        unsafe {
            ptr::copy_nonoverlapping(
                (self.data + offset) as *const u8,
                out.as_mut_ptr(),
                out.len(),
            )
        };
        Some(out)
    }

    /// Stores `bytes` at `offset`; whether they fit.
    fn copy_in(&self, offset: u64, bytes: &[u8]) -> bool {
        match offset.checked_add(bytes.len() as u64) {
            Some(end) if end <= self.len() => {
                // SAFETY: inside the packet, valid and writable for the run.
                unsafe {
                    ptr::copy_nonoverlapping(
                        bytes.as_ptr(),
                        (self.data + offset) as *mut u8,
                        bytes.len(),
                    )
                };
                true
            }
            _ => false,
        }
    }

    /// Writes the pointers back to the context and moves the packet's region.
    fn store(&self, cx: &mut HelperContext<'_>) {
        let Some([d, e, m]) = pointer_offsets(self.state.kind) else {
            return;
        };
        // SAFETY: as in `packet`; the context structure is writable.
        unsafe {
            let ctx = self.state.ctx;
            ptr::write_unaligned((ctx + d as u64) as *mut u64, self.data);
            ptr::write_unaligned((ctx + e as u64) as *mut u64, self.end);
            ptr::write_unaligned((ctx + m as u64) as *mut u64, self.meta);
        }
        if self.state.region != 0 {
            let region = Region::new(self.meta, self.end - self.meta, true);
            // SAFETY: inside the frame buffer, valid for the run.
            unsafe { cx.regrant(self.state.region, region) };
        }
    }
}

/// `data + offset` if it does not overflow.
fn moved(ptr: u64, offset: i64) -> Option<u64> {
    ptr.checked_add_signed(offset)
}

/// `bpf_xdp_adjust_head(xdp, offset)`: moves `data` (and the metadata with
/// it); 0 or `-EINVAL`.
pub(crate) fn xdp_adjust_head(cx: &mut HelperContext<'_>, a: [u64; 5]) -> HelperResult {
    let mut p = need(cx, XDP, "bpf_xdp_adjust_head")?;
    let offset = i64::from(a[1] as i32);
    let metalen = p.data - p.meta;
    let data_start = p.state.buf + XDP_FRAME_SIZE + metalen;
    let Some(data) = moved(p.data, offset) else {
        return Ok(neg(errno::EINVAL));
    };
    if data < data_start || data.saturating_add(ETH_HLEN) > p.end {
        return Ok(neg(errno::EINVAL));
    }
    let meta = p.meta.wrapping_add_signed(offset);
    if metalen > 0 {
        // SAFETY: both ranges lie in the frame buffer (meta + offset >=
        // buf + XDP_FRAME_SIZE and ends before the new data <= data_end).
        unsafe { ptr::copy(p.meta as *const u8, meta as *mut u8, metalen as usize) };
    }
    p.meta = meta;
    p.data = data;
    p.store(cx);
    Ok(0)
}

/// `bpf_xdp_adjust_tail(xdp, offset)`: moves `data_end`, zeroing bytes it
/// adds; 0 or `-EINVAL`.
pub(crate) fn xdp_adjust_tail(cx: &mut HelperContext<'_>, a: [u64; 5]) -> HelperResult {
    let mut p = need(cx, XDP, "bpf_xdp_adjust_tail")?;
    let offset = i64::from(a[1] as i32);
    let hard_end = (p.state.buf + p.state.buf_len).saturating_sub(XDP_TAILROOM);
    let Some(end) = moved(p.end, offset) else {
        return Ok(neg(errno::EINVAL));
    };
    if end > hard_end || end < p.data + ETH_HLEN {
        return Ok(neg(errno::EINVAL));
    }
    if end > p.end {
        // SAFETY: `[data_end, end)` lies in the frame buffer (end <= hard_end).
        unsafe { ptr::write_bytes(p.end as *mut u8, 0, (end - p.end) as usize) };
    }
    p.end = end;
    p.store(cx);
    Ok(0)
}

/// `bpf_xdp_adjust_meta(xdp, offset)`: moves `data_meta`; 0, `-EINVAL` out
/// of bounds, `-EACCES` for a bad metadata size.
pub(crate) fn xdp_adjust_meta(cx: &mut HelperContext<'_>, a: [u64; 5]) -> HelperResult {
    let mut p = need(cx, XDP, "bpf_xdp_adjust_meta")?;
    let offset = i64::from(a[1] as i32);
    let Some(meta) = moved(p.meta, offset) else {
        return Ok(neg(errno::EINVAL));
    };
    if meta < p.state.buf + XDP_FRAME_SIZE || meta > p.data {
        return Ok(neg(errno::EINVAL));
    }
    let metalen = p.data - meta;
    if metalen % 4 != 0 || metalen > XDP_META_MAX {
        return Ok(neg(errno::EACCES));
    }
    p.meta = meta;
    p.store(cx);
    Ok(0)
}

/// `bpf_xdp_get_buff_len(xdp)`: the packet's length (Waggle has no frags).
pub(crate) fn xdp_get_buff_len(cx: &mut HelperContext<'_>, _: [u64; 5]) -> HelperResult {
    Ok(need(cx, XDP, "bpf_xdp_get_buff_len")?.len())
}

/// Linux's `bpf_xdp_pointer` checks: `-EFAULT` for an offset or length past
/// 0xffff, `-EINVAL` past the packet.
fn xdp_range(p: &Packet, offset: u64, len: u64) -> Result<(), u64> {
    if offset > 0xffff || len > 0xffff {
        return Err(neg(errno::EFAULT));
    }
    if offset + len > p.len() {
        return Err(neg(errno::EINVAL));
    }
    Ok(())
}

/// `bpf_xdp_load_bytes(xdp, offset, buf, len)`.
pub(crate) fn xdp_load_bytes(cx: &mut HelperContext<'_>, a: [u64; 5]) -> HelperResult {
    let p = need(cx, XDP, "bpf_xdp_load_bytes")?;
    let (offset, len) = (u64::from(a[1] as u32), u64::from(a[3] as u32));
    let dst = write_mem(cx, a[2], len)?;
    if let Err(e) = xdp_range(&p, offset, len) {
        return Ok(e);
    }
    match p.copy_out(offset, len) {
        Some(bytes) => {
            dst.copy_from_slice(&bytes);
            Ok(0)
        }
        None => Ok(neg(errno::EINVAL)),
    }
}

/// `bpf_xdp_store_bytes(xdp, offset, buf, len)`.
pub(crate) fn xdp_store_bytes(cx: &mut HelperContext<'_>, a: [u64; 5]) -> HelperResult {
    let p = need(cx, XDP, "bpf_xdp_store_bytes")?;
    let (offset, len) = (u64::from(a[1] as u32), u64::from(a[3] as u32));
    let src = read_mem(cx, a[2], len)?.to_vec();
    if let Err(e) = xdp_range(&p, offset, len) {
        return Ok(e);
    }
    Ok(if p.copy_in(offset, &src) {
        0
    } else {
        neg(errno::EINVAL)
    })
}

/// `bpf_redirect(ifindex, flags)`: `XDP_REDIRECT` (XDP) or
/// `TC_ACT_REDIRECT` (TC); bad flags give `XDP_ABORTED` (XDP: any flag) or
/// `TC_ACT_SHOT` (TC: any but `BPF_F_INGRESS`).
pub(crate) fn redirect(cx: &mut HelperContext<'_>, a: [u64; 5]) -> HelperResult {
    let p = need(cx, &[CtxKind::Xdp, CtxKind::SkbTc], "bpf_redirect")?;
    let (ifindex, flags) = (a[0] as u32, a[1]);
    let verdict = if p.state.kind == CtxKind::Xdp {
        if flags != 0 {
            return Ok(XDP_ABORTED);
        }
        XDP_REDIRECT
    } else {
        if flags & !BPF_F_INGRESS != 0 {
            return Ok(TC_ACT_SHOT);
        }
        TC_ACT_REDIRECT
    };
    env(cx)?.redirect = Some(Redirect::Ifindex { ifindex, flags });
    Ok(verdict)
}

/// `bpf_redirect_map(map, key, flags)` (XDP): `XDP_REDIRECT`, or the low
/// two bits of `flags` when the key has no entry, or `XDP_ABORTED` for
/// unknown flags.
pub(crate) fn redirect_map(cx: &mut HelperContext<'_>, a: [u64; 5]) -> HelperResult {
    need(cx, XDP, "bpf_redirect_map")?;
    let map = map_at(cx, a[0])?;
    let (key, flags) = (a[1] as u32, a[2]);
    const ACTIONS: u64 = 3;
    if flags & !(ACTIONS | BPF_F_BROADCAST | BPF_F_EXCLUDE_INGRESS) != 0 {
        return Ok(XDP_ABORTED);
    }
    if flags & BPF_F_BROADCAST == 0 {
        let cpu = cpu(cx)?;
        let spec = map.spec();
        let present = map.lookup_ptr(&key.to_ne_bytes(), cpu).is_some_and(|v| {
            // SAFETY: the value of an element of this map, valid while the
            // map lives.
            let value = unsafe {
                std::slice::from_raw_parts(v.as_ptr() as *const u8, spec.value_size as usize)
            };
            value.iter().any(|&b| b != 0)
        });
        if !present {
            return Ok(flags & ACTIONS);
        }
    }
    let name = map.spec().name.clone();
    env(cx)?.redirect = Some(Redirect::Map {
        map: name,
        key,
        flags,
    });
    Ok(XDP_REDIRECT)
}

/// `bpf_skb_load_bytes(skb, offset, to, len)`: 0, or `-EFAULT` with `to`
/// zeroed when the range is not inside the packet.
pub(crate) fn skb_load_bytes(cx: &mut HelperContext<'_>, a: [u64; 5]) -> HelperResult {
    let p = need(cx, SKB, "bpf_skb_load_bytes")?;
    let (offset, len) = (u64::from(a[1] as u32), u64::from(a[3] as u32));
    let dst = write_mem(cx, a[2], len)?;
    let bytes = if offset > i32::MAX as u64 {
        None
    } else {
        p.copy_out(offset, len)
    };
    match bytes {
        Some(b) => {
            dst.copy_from_slice(&b);
            Ok(0)
        }
        None => {
            dst.fill(0);
            Ok(neg(errno::EFAULT))
        }
    }
}

/// `bpf_skb_store_bytes(skb, offset, from, len, flags)`: 0, `-EINVAL` for
/// unknown flags, `-EFAULT` when the range is not inside the packet.
pub(crate) fn skb_store_bytes(cx: &mut HelperContext<'_>, a: [u64; 5]) -> HelperResult {
    let p = need(cx, TC, "bpf_skb_store_bytes")?;
    let (offset, len, flags) = (u64::from(a[1] as u32), u64::from(a[3] as u32), a[4]);
    let src = read_mem(cx, a[2], len)?.to_vec();
    if flags & !(BPF_F_RECOMPUTE_CSUM | BPF_F_INVALIDATE_HASH) != 0 {
        return Ok(neg(errno::EINVAL));
    }
    if offset > i32::MAX as u64 || !p.copy_in(offset, &src) {
        return Ok(neg(errno::EFAULT));
    }
    if flags & BPF_F_INVALIDATE_HASH != 0 {
        // SAFETY: `hash` is a u32 field of the skb context structure, which
        // is valid and writable for the run (`PacketState`).
        unsafe { ptr::write_unaligned((p.state.ctx + layout::SKB_HASH as u64) as *mut u32, 0) };
    }
    Ok(0)
}

/// The packet of an skb (TC) run, for the checksum helpers: its checksum
/// field at `offset`, as Linux checks it (`-EFAULT` if odd, past 0xffff, or
/// outside the packet).
pub(crate) fn csum_field(
    cx: &mut HelperContext<'_>,
    offset: u64,
    helper: &str,
) -> Result<Result<*mut u16, u64>, Interrupt> {
    let p = need(cx, TC, helper)?;
    if offset > 0xffff || offset % 2 != 0 || offset + 2 > p.len() {
        return Ok(Err(neg(errno::EFAULT)));
    }
    Ok(Ok((p.data + offset) as *mut u16))
}
