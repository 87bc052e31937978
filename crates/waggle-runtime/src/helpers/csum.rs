//! Internet checksums: `bpf_csum_diff`, `bpf_l3_csum_replace`,
//! `bpf_l4_csum_replace`, with Linux's arithmetic.
//!
//! Checksums are ones'-complement sums of 16-bit words. Linux computes them
//! on the words as the host loads them (little-endian on x86-64), which is
//! equivalent to the network-order computation byte-swapped; Waggle does the
//! same, so checksum fields and `from`/`to` values are used exactly as the
//! program passes them (in network byte order, as loaded from the packet).
//!
//! `csum_partial` is x86-64's: a 32-bit ones'-complement sum, 0 only when
//! everything summed is 0. `bpf_csum_diff` returns its result folded to 16
//! bits (not complemented), as Linux does since 6.13 on every architecture;
//! earlier x86-64 kernels returned the unfolded 32-bit sum and refused sizes
//! that are not multiples of 4 or exceed 512 bytes in total (Linux 6.13
//! dropped both checks: any sizes work).
//!
//! The replace helpers work as on an skb with `CHECKSUM_NONE` (what test
//! runs build): the checksum field is always updated, and
//! `BPF_F_PSEUDO_HDR` (whose only other effect is on `CHECKSUM_COMPLETE`
//! and `CHECKSUM_PARTIAL` skbs) changes nothing.

use super::{errno, neg, read_mem};
use std::ptr;
use waggle_vm::{HelperContext, HelperResult};

/// `BPF_F_HDR_FIELD_MASK`: the field size in the replace helpers' flags.
const HDR_FIELD_MASK: u64 = 0xf;
const BPF_F_PSEUDO_HDR: u64 = 1 << 4;
const BPF_F_MARK_MANGLED_0: u64 = 1 << 5;
const BPF_F_MARK_ENFORCE: u64 = 1 << 6;
const BPF_F_IPV6: u64 = 1 << 7;
/// `CSUM_MANGLED_0`: a zero UDP checksum written as all ones.
const CSUM_MANGLED_0: u16 = 0xffff;

/// x86-64's `csum_partial(data, sum)`.
///
/// The sum of the little-endian 32-bit words (an odd tail zero-padded) and
/// `sum`, modulo 2^32 - 1 in ones'-complement form: 0 only for an all-zero
/// sum, else in 1..=0xffff_ffff. Summed in 64 bits (no buffer a helper gets
/// comes near 2^34 bytes) and folded with end-around carries, since 2^32 is
/// 1 modulo 2^32 - 1.
pub(crate) fn csum_partial(data: &[u8], sum: u32) -> u32 {
    let words = data.chunks_exact(4);
    let tail = words.remainder();
    let mut total = u64::from(sum);
    for w in words {
        total += u64::from(u32::from_le_bytes([w[0], w[1], w[2], w[3]]));
    }
    // The odd tail, zero-padded to a word (assembled in a register: a copy
    // of 0 to 3 bytes into a buffer costs a call on every block).
    let last = tail
        .iter()
        .enumerate()
        .fold(0u32, |w, (i, &b)| w | u32::from(b) << (8 * i));
    total += u64::from(last);
    // Two folds bring any 64-bit total below 2^32 (the first gives at most
    // 2 * (2^32 - 1), the second adds at most 1 to a number below 2^32 - 1).
    let total = (total & 0xffff_ffff) + (total >> 32);
    let total = (total & 0xffff_ffff) + (total >> 32);
    total as u32
}

/// `csum_add`: 32-bit ones'-complement addition.
pub(crate) fn csum_add(a: u32, b: u32) -> u32 {
    let (s, carry) = a.overflowing_add(b);
    s.wrapping_add(u32::from(carry))
}

/// `csum_sub`.
pub(crate) fn csum_sub(a: u32, b: u32) -> u32 {
    csum_add(a, !b)
}

/// `from32to16`: folds a 32-bit sum to 16 bits.
pub(crate) fn from32to16(x: u32) -> u16 {
    let x = (x & 0xffff) + (x >> 16);
    let x = (x & 0xffff) + (x >> 16);
    x as u16
}

/// `csum_fold`: folds and complements, giving a checksum field's value.
pub(crate) fn csum_fold(sum: u32) -> u16 {
    !from32to16(sum)
}

/// `csum16_add`: 16-bit ones'-complement addition.
fn csum16_add(a: u16, b: u16) -> u16 {
    let (s, carry) = a.overflowing_add(b);
    s.wrapping_add(u16::from(carry))
}

/// `csum_replace2`.
fn replace2(sum: u16, from: u16, to: u16) -> u16 {
    !csum16_add(csum16_add(!sum, !from), to)
}

/// `csum_replace4`.
fn replace4(sum: u16, from: u32, to: u32) -> u16 {
    let tmp = csum_sub(!u32::from(sum), from);
    csum_fold(csum_add(tmp, to))
}

/// `csum_replace_by_diff`, also `inet_proto_csum_replace_by_diff` for
/// `CHECKSUM_NONE`.
fn replace_by_diff(sum: u16, diff: u32) -> u16 {
    csum_fold(csum_add(diff, !u32::from(sum)))
}

/// `inet_proto_csum_replace4` for `CHECKSUM_NONE`.
fn proto_replace4(sum: u16, from: u32, to: u32) -> u16 {
    let mut diff = [0u8; 8];
    diff[..4].copy_from_slice(&(!from).to_ne_bytes());
    diff[4..].copy_from_slice(&to.to_ne_bytes());
    csum_fold(csum_partial(&diff, !u32::from(sum)))
}

/// `bpf_csum_diff(from, from_size, to, to_size, seed)`.
pub(crate) fn csum_diff(cx: &mut HelperContext<'_>, a: [u64; 5]) -> HelperResult {
    let from = read_mem(cx, a[0], u64::from(a[1] as u32))?;
    let to = read_mem(cx, a[2], u64::from(a[3] as u32))?;
    let seed = a[4] as u32;
    Ok(u64::from(diff(from, to, seed)))
}

/// `bpf_csum_diff`'s direct entry point for verified programs (see
/// `waggle_vm::helpers::NativeHelper`): the verifier proved both buffers
/// readable for their sizes.
///
/// # Safety
/// `from` and `to` are readable for `from_size` and `to_size` bytes (their
/// low 32 bits), or those sizes are 0.
pub(crate) unsafe extern "C" fn csum_diff_native(
    from: u64,
    from_size: u64,
    to: u64,
    to_size: u64,
    seed: u64,
) -> u64 {
    // SAFETY: forwarded from the caller.
    let (from, to) = unsafe { (raw_bytes(from, from_size), raw_bytes(to, to_size)) };
    u64::from(diff(from, to, seed as u32))
}

/// The `size as u32` bytes at `addr` (none for size 0, whatever `addr`).
///
/// # Safety
/// As for [`csum_diff_native`].
unsafe fn raw_bytes<'a>(addr: u64, size: u64) -> &'a [u8] {
    match size as u32 {
        0 => &[],
        // SAFETY: forwarded from the caller.
        n => unsafe { std::slice::from_raw_parts(addr as *const u8, n as usize) },
    }
}

/// Linux 6.13's `bpf_csum_diff` arithmetic.
pub(crate) fn diff(from: &[u8], to: &[u8], seed: u32) -> u32 {
    let folded = match (from.is_empty(), to.is_empty()) {
        (false, false) => csum_sub(csum_partial(to, seed), csum_partial(from, 0)),
        (true, false) => csum_partial(to, seed),
        (false, true) => !csum_partial(from, !seed),
        (true, true) => return seed,
    };
    u32::from(from32to16(folded))
}

/// Reads, updates and writes back the checksum field at `field`.
fn update(field: *mut u16, f: impl FnOnce(u16) -> u16) -> u16 {
    // SAFETY: `csum_field` checked that the two bytes lie in the packet,
    // valid and writable for the run.
    unsafe {
        let new = f(ptr::read_unaligned(field));
        ptr::write_unaligned(field, new);
        new
    }
}

/// `bpf_l3_csum_replace(skb, offset, from, to, flags)`: 0, `-EINVAL` for
/// bad flags or sizes, `-EFAULT` for a bad offset.
pub(crate) fn l3_csum_replace(cx: &mut HelperContext<'_>, a: [u64; 5]) -> HelperResult {
    let [_, offset, from, to, flags] = a;
    if flags & !HDR_FIELD_MASK != 0 {
        return Ok(neg(errno::EINVAL));
    }
    let field =
        match super::packet::csum_field(cx, u64::from(offset as u32), "bpf_l3_csum_replace")? {
            Ok(f) => f,
            Err(e) => return Ok(e),
        };
    match flags & HDR_FIELD_MASK {
        0 if from != 0 => return Ok(neg(errno::EINVAL)),
        0 => update(field, |s| replace_by_diff(s, to as u32)),
        2 => update(field, |s| replace2(s, from as u16, to as u16)),
        4 => update(field, |s| replace4(s, from as u32, to as u32)),
        _ => return Ok(neg(errno::EINVAL)),
    };
    Ok(0)
}

/// `bpf_l4_csum_replace(skb, offset, from, to, flags)`: as
/// `bpf_l3_csum_replace`, plus `BPF_F_MARK_MANGLED_0` (a zero checksum,
/// meaning "none" in UDP, is left alone unless `BPF_F_MARK_ENFORCE`, and a
/// result of zero is written as 0xffff), `BPF_F_PSEUDO_HDR` and
/// `BPF_F_IPV6` (accepted; no effect, see the module documentation).
pub(crate) fn l4_csum_replace(cx: &mut HelperContext<'_>, a: [u64; 5]) -> HelperResult {
    let [_, offset, from, to, flags] = a;
    let known =
        BPF_F_MARK_MANGLED_0 | BPF_F_MARK_ENFORCE | BPF_F_PSEUDO_HDR | BPF_F_IPV6 | HDR_FIELD_MASK;
    if flags & !known != 0 {
        return Ok(neg(errno::EINVAL));
    }
    let field =
        match super::packet::csum_field(cx, u64::from(offset as u32), "bpf_l4_csum_replace")? {
            Ok(f) => f,
            Err(e) => return Ok(e),
        };
    let mangled_0 = flags & BPF_F_MARK_MANGLED_0 != 0;
    // SAFETY: as in `update`.
    let current = unsafe { ptr::read_unaligned(field) };
    if mangled_0 && flags & BPF_F_MARK_ENFORCE == 0 && current == 0 {
        return Ok(0);
    }
    let new = match flags & HDR_FIELD_MASK {
        0 if from != 0 => return Ok(neg(errno::EINVAL)),
        0 => update(field, |s| replace_by_diff(s, to as u32)),
        2 => update(field, |s| {
            proto_replace4(s, u32::from(from as u16), u32::from(to as u16))
        }),
        4 => update(field, |s| proto_replace4(s, from as u32, to as u32)),
        _ => return Ok(neg(errno::EINVAL)),
    };
    if mangled_0 && new == 0 {
        update(field, |_| CSUM_MANGLED_0);
    }
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 1071 over big-endian words: the checksum field's value.
    pub(crate) fn rfc1071(data: &[u8]) -> u16 {
        let mut sum = 0u32;
        for w in data.chunks(2) {
            sum += u32::from(u16::from_be_bytes([w[0], *w.get(1).unwrap_or(&0)]));
        }
        while sum > 0xffff {
            sum = (sum & 0xffff) + (sum >> 16);
        }
        !(sum as u16)
    }

    #[test]
    fn csum_diff_matches_linux_selftests() {
        let to = 0xdead_beef_dead_beefu64.to_le_bytes();
        assert_eq!(diff(&[], &to, 0), 0x3b3b);
        assert_eq!(diff(&[], &[], 0x1234_5678), 0x1234_5678);
        // Pushing then pulling the same data gives the seed back.
        let pushed = diff(&[], &to, 0x1234);
        assert_eq!(diff(&to, &[], pushed), 0x1234);
        // Diffing equal buffers gives a zero sum (0 or its twin 0xffff).
        assert!(matches!(diff(&to, &to, 0), 0 | 0xffff));
    }

    /// The definition: the sum modulo 2^32 - 1, in 1..=2^32 - 1 unless 0.
    fn csum_partial_model(data: &[u8], sum: u32) -> u32 {
        let mut total = u128::from(sum);
        for chunk in data.chunks(4) {
            let mut word = [0u8; 4];
            word[..chunk.len()].copy_from_slice(chunk);
            total += u128::from(u32::from_le_bytes(word));
        }
        if total == 0 {
            0
        } else {
            ((total - 1) % 0xffff_ffff + 1) as u32
        }
    }

    #[test]
    fn csum_partial_matches_its_definition() {
        let mut x = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        for len in 0..200 {
            for fill in [None, Some(0x00), Some(0xff)] {
                let data: Vec<u8> = (0..len).map(|_| fill.unwrap_or(next() as u8)).collect();
                for seed in [0, 1, 0xffff_fffe, 0xffff_ffff, next() as u32] {
                    assert_eq!(
                        csum_partial(&data, seed),
                        csum_partial_model(&data, seed),
                        "{len} bytes, fill {fill:?}, seed {seed:#x}"
                    );
                }
            }
        }
    }

    #[test]
    fn csum_partial_is_a_ones_complement_sum() {
        assert_eq!(csum_partial(&[], 0), 0);
        assert_eq!(csum_partial(&[0xff; 4], 0), 0xffff_ffff);
        assert_eq!(csum_partial(&[0xff; 8], 0), 0xffff_ffff);
        assert_eq!(csum_partial(&[1, 0, 0, 0], 0xffff_ffff), 1);
        // An odd tail is zero-padded.
        assert_eq!(csum_partial(&[1, 2, 3], 0), 0x0003_0201);
    }

    #[test]
    fn ipv4_header_checksum_via_diff() {
        let mut hdr = [
            0x45, 0x00, 0x00, 0x54, 0x12, 0x34, 0x40, 0x00, 0x40, 0x01, 0, 0, 10, 0, 0, 1, 10, 0,
            0, 2,
        ];
        let sum = diff(&[], &hdr, 0) as u16;
        let field = (!sum).to_ne_bytes();
        assert_eq!(field, rfc1071(&hdr).to_be_bytes());
        hdr[10..12].copy_from_slice(&field);
        assert_eq!(rfc1071(&hdr), 0);
    }

    #[test]
    fn replace_helpers_agree_with_recomputing() {
        let mut hdr = [
            0x45u8, 0, 0, 0x54, 0, 0, 0x40, 0, 0x40, 0x11, 0, 0, 192, 168, 0, 1, 192, 168, 0, 2,
        ];
        let c = rfc1071(&hdr).to_be_bytes();
        hdr[10..12].copy_from_slice(&c);
        let field = u16::from_ne_bytes(c);
        let old = u32::from_ne_bytes(hdr[16..20].try_into().unwrap());
        let new_addr = [10u8, 1, 2, 3];
        let new = u32::from_ne_bytes(new_addr);
        hdr[16..20].copy_from_slice(&new_addr);
        hdr[10..12].fill(0);
        let want = rfc1071(&hdr);
        assert_eq!(replace4(field, old, new).to_ne_bytes(), want.to_be_bytes());
        assert_eq!(
            proto_replace4(field, old, new).to_ne_bytes(),
            want.to_be_bytes()
        );
        let d = diff(&old.to_ne_bytes(), &new.to_ne_bytes(), 0);
        assert_eq!(replace_by_diff(field, d).to_ne_bytes(), want.to_be_bytes());
        // A 2-byte field: the total length.
        let old16 = u16::from_ne_bytes([hdr[2], hdr[3]]);
        let c = rfc1071(&hdr).to_be_bytes();
        hdr[10..12].copy_from_slice(&c);
        hdr[2..4].copy_from_slice(&[0x01, 0x00]);
        let new16 = u16::from_ne_bytes([0x01, 0x00]);
        hdr[10..12].fill(0);
        let want = rfc1071(&hdr);
        let field = u16::from_ne_bytes(c);
        assert_eq!(
            replace2(field, old16, new16).to_ne_bytes(),
            want.to_be_bytes()
        );
        assert_eq!(
            proto_replace4(field, u32::from(old16), u32::from(new16)).to_ne_bytes(),
            want.to_be_bytes()
        );
    }
}
