use super::super::testutil::*;
use super::{addr, call};
use crate::context::{layout, CtxKind};
use crate::env::{PacketState, Redirect, RunEnv};
use waggle_maps::{map_address, MapType};
use waggle_vm::{Region, RunError};

const EINVAL: i64 = 22;
const EFAULT: i64 = 14;
const EACCES: i64 = 13;

/// A packet run: context, frame (4096 bytes, as Linux's test run) and the
/// packet at `offset` in it.
struct Frame {
    kind: CtxKind,
    ctx: Vec<u8>,
    frame: Vec<u8>,
}

impl Frame {
    fn new(kind: CtxKind, offset: usize, packet: &[u8]) -> Frame {
        let size = if kind == CtxKind::Xdp {
            layout::XDP_SIZE
        } else {
            layout::SKB_SIZE
        };
        let mut f = Frame {
            kind,
            ctx: vec![0; size],
            frame: vec![0xaa; 4096],
        };
        f.frame[offset..offset + packet.len()].copy_from_slice(packet);
        let data = f.buf() + offset as u64;
        f.set_pointers(data, data + packet.len() as u64, data);
        f
    }

    fn buf(&self) -> u64 {
        self.frame.as_ptr() as u64
    }

    fn offsets(&self) -> [usize; 3] {
        if self.kind == CtxKind::Xdp {
            [
                layout::XDP_DATA,
                layout::XDP_DATA_END,
                layout::XDP_DATA_META,
            ]
        } else {
            [
                layout::SKB_DATA,
                layout::SKB_DATA_END,
                layout::SKB_DATA_META,
            ]
        }
    }

    fn set_pointers(&mut self, data: u64, end: u64, meta: u64) {
        for (off, v) in self.offsets().into_iter().zip([data, end, meta]) {
            self.ctx[off..off + 8].copy_from_slice(&v.to_ne_bytes());
        }
    }

    /// (meta, data, end) as offsets in the frame.
    fn pointers(&self) -> (u64, u64, u64) {
        let [d, e, m] = self.offsets();
        let get =
            |o: usize| u64::from_ne_bytes(self.ctx[o..o + 8].try_into().unwrap()) - self.buf();
        (get(m), get(d), get(e))
    }

    /// Runs `src` with `r1` = the context, the packet's region (number 2)
    /// granted.
    fn run(&mut self, env: &mut RunEnv, src: &str) -> Result<u64, RunError> {
        let (meta, _, end) = self.pointers();
        let region = Region::new(self.buf() + meta, end - meta, true);
        env.packet = Some(PacketState {
            kind: self.kind,
            ctx: self.ctx.as_ptr() as u64,
            buf: self.buf(),
            buf_len: self.frame.len() as u64,
            region: 2,
        });
        run_with(&program(src), env, &mut self.ctx, &[region])
    }
}

fn env0() -> RunEnv {
    env(&shared(vec![], vec![]))
}

/// Calls helper `id` with `(ctx, delta)` and returns `r0`.
fn adjust(id: u32, delta: i64) -> String {
    format!("mov %r2, {delta}\ncall {id}\nexit")
}

const HEAD: u32 = 44;
const TAIL: u32 = 65;
const META: u32 = 54;

#[test]
fn xdp_adjust_head_bounds() {
    let mut env = env0();
    let pkt = [0x11u8; 64];
    for (delta, want) in [
        (-216, 0),
        (-217, err(EINVAL)),
        (50, 0),
        (51, err(EINVAL)),
        (0, 0),
    ] {
        let mut f = Frame::new(CtxKind::Xdp, 256, &pkt);
        assert_eq!(f.run(&mut env, &adjust(HEAD, delta)), Ok(want), "{delta}");
        let data = if want == 0 { (256 + delta) as u64 } else { 256 };
        assert_eq!(f.pointers(), (data, data, 320), "{delta}");
    }
}

#[test]
fn xdp_adjust_head_moves_the_region_and_the_metadata() {
    let mut env = env0();
    let mut f = Frame::new(CtxKind::Xdp, 256, &[0x11u8; 64]);
    // Grow by 14 and write the new first byte.
    let grow = format!(
        "mov %r6, %r1
        mov %r2, -14
        call {HEAD}
        jne %r0, 0, out
        ldxdw %r2, [%r6+{d}]
        stb [%r2+0], 0x77
        out:
        exit",
        d = layout::XDP_DATA
    );
    assert_eq!(f.run(&mut env, &grow), Ok(0));
    assert_eq!(f.frame[242], 0x77);
    // Shrink by 20: the old first byte is out of reach.
    let shrink = format!(
        "mov %r6, %r1
        mov %r2, 20
        call {HEAD}
        ldxdw %r2, [%r6+{d}]
        stb [%r2-1], 0x77
        exit",
        d = layout::XDP_DATA
    );
    let r = f.run(&mut env, &shrink);
    assert!(matches!(r, Err(RunError::OutOfBounds { .. })), "{r:?}");
    // Metadata moves along with data.
    let mut f = Frame::new(CtxKind::Xdp, 256, &[0x11u8; 64]);
    assert_eq!(f.run(&mut env, &adjust(META, -8)), Ok(0));
    f.frame[248..256].copy_from_slice(b"metadata");
    assert_eq!(f.run(&mut env, &adjust(HEAD, -4)), Ok(0));
    assert_eq!(f.pointers(), (244, 252, 320));
    assert_eq!(&f.frame[244..252], b"metadata");
    // With 8 bytes of metadata, data may only come down to 48.
    assert_eq!(f.run(&mut env, &adjust(HEAD, -205)), Ok(err(EINVAL)));
    assert_eq!(f.run(&mut env, &adjust(HEAD, -204)), Ok(0));
}

#[test]
fn xdp_adjust_tail_bounds_and_zeroing() {
    let mut env = env0();
    let pkt = [0x11u8; 64];
    for (delta, want, end) in [
        (3456, 0, 3776),
        (3457, err(EINVAL), 320),
        (-50, 0, 270),
        (-51, err(EINVAL), 320),
    ] {
        let mut f = Frame::new(CtxKind::Xdp, 256, &pkt);
        assert_eq!(f.run(&mut env, &adjust(TAIL, delta)), Ok(want), "{delta}");
        assert_eq!(f.pointers().2, end, "{delta}");
    }
    // Growing zeroes the new bytes, which the program may then write.
    let mut f = Frame::new(CtxKind::Xdp, 256, &pkt);
    let grow = format!(
        "mov %r6, %r1
        mov %r2, 10
        call {TAIL}
        ldxdw %r2, [%r6+{e}]
        stb [%r2-1], 0x55
        exit",
        e = layout::XDP_DATA_END
    );
    assert_eq!(f.run(&mut env, &grow), Ok(0));
    assert_eq!(&f.frame[320..329], &[0; 9]);
    assert_eq!(f.frame[329], 0x55);
    assert_eq!(f.frame[330], 0xaa);
}

#[test]
fn xdp_adjust_meta_bounds() {
    let mut env = env0();
    let pkt = [0x11u8; 64];
    for (offset, delta, want) in [
        (256, -8, 0),
        (256, -6, err(EACCES)),
        (256, 4, err(EINVAL)),
        (256, -216, 0),
        (256, -220, err(EINVAL)),
        (1000, -252, 0),
        (1000, -256, err(EACCES)),
    ] {
        let mut f = Frame::new(CtxKind::Xdp, offset, &pkt);
        assert_eq!(f.run(&mut env, &adjust(META, delta)), Ok(want), "{delta}");
        let meta = if want == 0 {
            (offset as i64 + delta) as u64
        } else {
            offset as u64
        };
        assert_eq!(f.pointers().0, meta);
    }
    // The program may write its metadata.
    let mut f = Frame::new(CtxKind::Xdp, 256, &pkt);
    let src = format!(
        "mov %r6, %r1
        mov %r2, -4
        call {META}
        ldxdw %r2, [%r6+{m}]
        stw [%r2+0], 0x01020304
        exit",
        m = layout::XDP_DATA_META
    );
    assert_eq!(f.run(&mut env, &src), Ok(0));
    assert_eq!(&f.frame[252..256], &0x01020304u32.to_ne_bytes());
}

#[test]
fn xdp_bytes_and_length() {
    let mut env = env0();
    let pkt: Vec<u8> = (0..64).collect();
    let mut f = Frame::new(CtxKind::Xdp, 256, &pkt);
    assert_eq!(f.run(&mut env, &call(188, &[])), Ok(64));
    // Bytes go to and from the start of the context (program memory).
    let tail = f.ctx.as_ptr() as u64;
    let load_ctx = |off: u64, len: u64| call(189, &[(2, off), (3, tail), (4, len)]);
    assert_eq!(f.run(&mut env, &load_ctx(10, 4)), Ok(0));
    assert_eq!(&f.ctx[..4], &[10, 11, 12, 13]);
    assert_eq!(f.run(&mut env, &load_ctx(62, 4)), Ok(err(EINVAL)));
    assert_eq!(f.run(&mut env, &load_ctx(0x10000, 4)), Ok(err(EFAULT)));
    f.ctx[..2].copy_from_slice(&[0xde, 0xad]);
    let store = call(190, &[(2, 62), (3, tail), (4, 2)]);
    assert_eq!(f.run(&mut env, &store), Ok(0));
    assert_eq!(&f.frame[318..320], &[0xde, 0xad]);
}

#[test]
fn redirects() {
    let mut env = env0();
    let mut f = Frame::new(CtxKind::Xdp, 256, &[0u8; 64]);
    assert_eq!(f.run(&mut env, &call(23, &[(1, 5), (2, 0)])), Ok(4));
    assert_eq!(
        env.redirect,
        Some(Redirect::Ifindex {
            ifindex: 5,
            flags: 0
        })
    );
    assert_eq!(f.run(&mut env, &call(23, &[(1, 5), (2, 1)])), Ok(0));
    let mut t = Frame::new(CtxKind::SkbTc, 0, &[0u8; 64]);
    assert_eq!(t.run(&mut env, &call(23, &[(1, 6), (2, 1)])), Ok(7));
    assert_eq!(
        env.redirect,
        Some(Redirect::Ifindex {
            ifindex: 6,
            flags: 1
        })
    );
    assert_eq!(t.run(&mut env, &call(23, &[(1, 6), (2, 2)])), Ok(2));

    // A device map stand-in: slot 1 holds ifindex 7, slot 0 is empty.
    let devs = map(&spec(MapType::Array, 4, 4, 4));
    devs.update(&1u32.to_ne_bytes(), &7u32.to_ne_bytes(), 0, 0)
        .unwrap();
    let d = map_address(&devs);
    let mut env = super::super::testutil::env(&shared(vec![devs.clone()], vec![]));
    let rm = |key: u64, flags: u64| call(51, &[(1, d), (2, key), (3, flags)]);
    assert_eq!(f.run(&mut env, &rm(1, 0)), Ok(4));
    assert_eq!(
        env.redirect,
        Some(Redirect::Map {
            map: devs.spec().name.clone(),
            key: 1,
            flags: 0
        })
    );
    env.redirect = None;
    assert_eq!(f.run(&mut env, &rm(0, 2)), Ok(2));
    assert_eq!(f.run(&mut env, &rm(99, 1)), Ok(1));
    assert_eq!(env.redirect, None);
    assert_eq!(f.run(&mut env, &rm(0, 1 << 3)), Ok(4));
    assert_eq!(f.run(&mut env, &rm(1, 1 << 5)), Ok(0));
    // Not for TC programs.
    let r = t.run(&mut env, &rm(1, 0));
    assert!(
        matches!(r, Err(RunError::HelperFault { id: 51, .. })),
        "{r:?}"
    );
}

/// Ethernet + IPv4 + UDP (+ 4 bytes of payload) with correct checksums.
fn udp_packet() -> Vec<u8> {
    let mut p = vec![0u8; 14];
    p[12..14].copy_from_slice(&[0x08, 0x00]);
    p.extend_from_slice(&[
        0x45, 0, 0, 32, 0, 1, 0, 0, 64, 17, 0, 0, 192, 168, 1, 1, 192, 168, 1, 2,
    ]);
    p.extend_from_slice(&[0x30, 0x39, 0x00, 0x35, 0, 12, 0, 0, b'd', b'a', b't', b'a']);
    fix_checksums(&mut p);
    p
}

fn rfc1071(data: &[u8]) -> u16 {
    let mut sum: u32 = data
        .chunks(2)
        .map(|w| u32::from(u16::from_be_bytes([w[0], *w.get(1).unwrap_or(&0)])))
        .sum();
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

fn fix_checksums(p: &mut [u8]) {
    p[24..26].fill(0);
    let ip = rfc1071(&p[14..34]);
    p[24..26].copy_from_slice(&ip.to_be_bytes());
    p[40..42].fill(0);
    let mut pseudo = p[26..34].to_vec();
    pseudo.extend_from_slice(&[0, 17, 0, 12]);
    pseudo.extend_from_slice(&p[34..46]);
    let udp = rfc1071(&pseudo);
    p[40..42].copy_from_slice(&udp.to_be_bytes());
}

#[test]
fn csum_replace_matches_recomputation() {
    let mut env = env0();
    let pkt = udp_packet();
    let mut f = Frame::new(CtxKind::SkbTc, 0, &pkt);
    let old_addr = u64::from(u32::from_ne_bytes(pkt[30..34].try_into().unwrap()));
    let new_addr_bytes = [10u8, 9, 8, 7];
    let new_addr = u64::from(u32::from_ne_bytes(new_addr_bytes));
    let old_port = u64::from(u16::from_ne_bytes([pkt[36], pkt[37]]));
    let new_port = u64::from(u16::from_ne_bytes([0x1f, 0x90]));
    // The new address, stored with bpf_skb_store_bytes from the context's
    // cb area (program memory).
    f.ctx[layout::SKB_CB..layout::SKB_CB + 4].copy_from_slice(&new_addr_bytes);
    let cb = f.ctx.as_ptr() as u64 + layout::SKB_CB as u64;
    let src = format!(
        "mov %r6, %r1
        mov %r2, 30
        lddw %r3, {cb:#x}
        mov %r4, 4
        mov %r5, 0
        call 9
        jne %r0, 0, out
        mov %r1, %r6
        mov %r2, 24
        lddw %r3, {old_addr:#x}
        lddw %r4, {new_addr:#x}
        mov %r5, 4
        call 10
        jne %r0, 0, out
        mov %r1, %r6
        mov %r2, 40
        lddw %r3, {old_addr:#x}
        lddw %r4, {new_addr:#x}
        mov %r5, 0x14
        call 11
        jne %r0, 0, out
        ldxdw %r2, [%r6+{data}]
        sth [%r2+36], 0x901f
        mov %r1, %r6
        mov %r2, 40
        lddw %r3, {old_port:#x}
        lddw %r4, {new_port:#x}
        mov %r5, 2
        call 11
        out:
        exit",
        data = layout::SKB_DATA
    );
    assert_eq!(f.run(&mut env, &src), Ok(0));
    let got = f.frame[..pkt.len()].to_vec();
    let mut want = pkt.clone();
    want[30..34].copy_from_slice(&new_addr_bytes);
    want[36..38].copy_from_slice(&[0x1f, 0x90]);
    fix_checksums(&mut want);
    assert_eq!(got, want);

    // The diff form: from 0, size 0, `to` = a bpf_csum_diff result.
    let mut f = Frame::new(CtxKind::SkbTc, 0, &pkt);
    let diff = super::super::csum::diff(&(old_addr as u32).to_ne_bytes(), &new_addr_bytes, 0);
    let src = format!(
        "mov %r6, %r1
        mov %r2, 24
        mov %r3, 0
        lddw %r4, {diff:#x}
        mov %r5, 0
        call 10
        exit"
    );
    assert_eq!(f.run(&mut env, &src), Ok(0));
    let mut ip = pkt[14..34].to_vec();
    ip[16..20].copy_from_slice(&new_addr_bytes);
    ip[10..12].fill(0);
    assert_eq!(f.frame[24..26], rfc1071(&ip).to_be_bytes());
}

#[test]
fn csum_replace_errors_and_mangled_zero() {
    let mut env = env0();
    let mut pkt = udp_packet();
    let l3 = |off: u64, from: u64, flags: u64| call(10, &[(2, off), (3, from), (4, 1), (5, flags)]);
    let l4 = |off: u64, flags: u64| call(11, &[(2, off), (3, 1), (4, 2), (5, flags)]);
    let mut f = Frame::new(CtxKind::SkbTc, 0, &pkt);
    assert_eq!(f.run(&mut env, &l3(25, 0, 2)), Ok(err(EFAULT)));
    assert_eq!(f.run(&mut env, &l3(46, 0, 2)), Ok(err(EFAULT)));
    assert_eq!(f.run(&mut env, &l3(24, 0, 3)), Ok(err(EINVAL)));
    assert_eq!(f.run(&mut env, &l3(24, 1, 0)), Ok(err(EINVAL)));
    assert_eq!(f.run(&mut env, &l3(24, 0, 0x10)), Ok(err(EINVAL)));
    assert_eq!(f.run(&mut env, &l4(40, 0x100)), Ok(err(EINVAL)));
    assert_eq!(&f.frame[..pkt.len()], &pkt[..], "errors change nothing");
    // A zero UDP checksum stays zero with BPF_F_MARK_MANGLED_0...
    pkt[40..42].fill(0);
    let mut f = Frame::new(CtxKind::SkbTc, 0, &pkt);
    assert_eq!(f.run(&mut env, &l4(40, 0x20 | 2)), Ok(0));
    assert_eq!(f.frame[40..42], [0, 0]);
    // ...unless BPF_F_MARK_ENFORCE.
    assert_eq!(f.run(&mut env, &l4(40, 0x60 | 2)), Ok(0));
    assert_ne!(f.frame[40..42], [0, 0]);
    // A result of zero is written as 0xffff: replace 1 by 2 in a field
    // whose checksum makes the result 0.
    let mut f = Frame::new(CtxKind::SkbTc, 0, &pkt);
    f.frame[40..42].copy_from_slice(&0xfffeu16.to_ne_bytes());
    let src = call(11, &[(2, 40), (3, 2), (4, 1), (5, 0x20 | 2)]);
    assert_eq!(f.run(&mut env, &src), Ok(0));
    assert_eq!(f.frame[40..42], [0xff, 0xff]);
    // XDP programs have no skb.
    let mut x = Frame::new(CtxKind::Xdp, 256, &pkt);
    let r = x.run(&mut env, &l3(24, 0, 2));
    assert!(
        matches!(r, Err(RunError::HelperFault { id: 10, .. })),
        "{r:?}"
    );
}

#[test]
fn skb_load_and_store_bytes() {
    let mut env = env0();
    let pkt = udp_packet();
    let mut f = Frame::new(CtxKind::SkbTc, 0, &pkt);
    let cb = f.ctx.as_ptr() as u64 + layout::SKB_CB as u64;
    let load = |off: u64, len: u64| call(26, &[(2, off), (3, cb), (4, len)]);
    assert_eq!(f.run(&mut env, &load(26, 4)), Ok(0));
    assert_eq!(
        &f.ctx[layout::SKB_CB..layout::SKB_CB + 4],
        &[192, 168, 1, 1]
    );
    assert_eq!(f.run(&mut env, &load(44, 4)), Ok(err(EFAULT)));
    assert_eq!(&f.ctx[layout::SKB_CB..layout::SKB_CB + 4], &[0; 4]);
    assert_eq!(f.run(&mut env, &load(0x8000_0000, 1)), Ok(err(EFAULT)));
    // Store, invalidating the hash.
    f.ctx[layout::SKB_HASH..layout::SKB_HASH + 4].copy_from_slice(&0x1234u32.to_ne_bytes());
    f.ctx[layout::SKB_CB..layout::SKB_CB + 2].copy_from_slice(b"hi");
    let store = |off: u64, flags: u64| call(9, &[(2, off), (3, cb), (4, 2), (5, flags)]);
    assert_eq!(f.run(&mut env, &store(44, 2)), Ok(0));
    assert_eq!(&f.frame[44..46], b"hi");
    assert_eq!(&f.ctx[layout::SKB_HASH..layout::SKB_HASH + 4], &[0; 4]);
    assert_eq!(f.run(&mut env, &store(45, 0)), Ok(err(EFAULT)));
    assert_eq!(f.run(&mut env, &store(0, 4)), Ok(err(EINVAL)));
    // Socket filters may load but not store.
    let mut s = Frame::new(CtxKind::SkbSocket, 14, &pkt[14..]);
    let cb = s.ctx.as_ptr() as u64 + layout::SKB_CB as u64;
    assert_eq!(
        s.run(&mut env, &call(26, &[(2, 0), (3, cb), (4, 1)])),
        Ok(0)
    );
    assert_eq!(s.ctx[layout::SKB_CB], 0x45);
    let r = s.run(&mut env, &call(9, &[(2, 0), (3, cb), (4, 1), (5, 0)]));
    assert!(
        matches!(r, Err(RunError::HelperFault { id: 9, .. })),
        "{r:?}"
    );
}

#[test]
fn csum_diff_against_rfc1071() {
    let mut env = env0();
    let pkt = udp_packet();
    let mut mem = pkt[14..34].to_vec();
    mem[10..12].fill(0);
    let hdr = addr(&mem[..]);
    let src = call(28, &[(1, 0), (2, 0), (3, hdr), (4, 20), (5, 0)]);
    let sum = run(&program(&src), &mut env, &mut mem).unwrap();
    assert!(sum <= 0xffff);
    assert_eq!((!(sum as u16)).to_ne_bytes(), pkt[24..26]);
    // Seed only: returned as is.
    let src = call(28, &[(1, 0), (2, 0), (3, 0), (4, 0), (5, 0xabcdef)]);
    assert_eq!(run(&program(&src), &mut env, &mut mem), Ok(0xabcdef));
}

#[test]
fn perf_event_output_appends_packet_bytes() {
    let perf = map(&spec(MapType::PerfEventArray, 4, 4, CPUS));
    let pa = map_address(&perf);
    let mut env = super::super::testutil::env(&shared(vec![perf.clone()], vec![]));
    let pkt: Vec<u8> = (0..64).collect();
    let mut f = Frame::new(CtxKind::Xdp, 256, &pkt);
    f.ctx[..2].copy_from_slice(b"hi");
    let ctx = f.ctx.as_ptr() as u64;
    let out = |flags: u64| call(25, &[(2, pa), (3, flags), (4, ctx), (5, 2)]);
    assert_eq!(f.run(&mut env, &out(0xffff_ffff | 4 << 32)), Ok(0));
    assert_eq!(
        f.run(&mut env, &out(0xffff_ffff | 65 << 32)),
        Ok(err(EFAULT))
    );
    assert_eq!(f.run(&mut env, &out(1 << 60)), Ok(err(EINVAL)));
    let events = perf
        .as_any()
        .downcast_ref::<waggle_maps::PerfEventArray>()
        .unwrap()
        .drain();
    assert_eq!(events, [(1, vec![b'h', b'i', 0, 1, 2, 3])]);
}
