//! Deterministic input frames: valid Ethernet frames (optional VLAN tags,
//! IPv4 with optional options or IPv6, TCP with optional options or UDP,
//! correct checksums) whose payload is an HTTP request head followed by
//! binary bytes.
//!
//! Built in Rust from a [`FrameSpec`] rather than stored, so that every
//! engine, the tests and the Rust models see the same bytes, and a frame is
//! described by its spec in reports. The payload is text-like because half
//! the programs look for text (newlines, a header name, an HTTP state
//! machine); the binary tail keeps byte values spread for the others.

use crate::registry::random_bytes;
use serde::Serialize;

/// The layer-3 header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum L3 {
    /// IPv4; with `options`, 28 bytes of options (NOP, NOP, record route,
    /// timestamp, EOL and padding).
    V4 { options: bool },
    /// IPv6 without extension headers.
    V6,
}

/// The layer-4 header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum L4 {
    /// TCP to port 80; with `options`, 20 bytes of options (MSS, SACK
    /// permitted, timestamps, NOP, window scale), as a SYN carries them.
    Tcp { options: bool },
    /// UDP to port 8080.
    Udp,
}

/// Everything that determines a frame's bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct FrameSpec {
    /// Total length in bytes (Ethernet header included, no FCS).
    pub len: usize,
    /// VLAN tags, 0 to 2 (two: an 802.1ad tag outside an 802.1Q one).
    pub vlans: u8,
    pub l3: L3,
    pub l4: L4,
    /// Seeds addresses, ports and payload.
    pub seed: u64,
}

/// The frame most programs are measured on: untagged IPv4/TCP, 1024 bytes.
pub const TCP_1024: FrameSpec = FrameSpec {
    len: 1024,
    vlans: 0,
    l3: L3::V4 { options: false },
    l4: L4::Tcp { options: false },
    seed: 1,
};

/// A short frame with every optional header the parsers know but IPv6.
pub const VLAN_UDP_OPTIONS_256: FrameSpec = FrameSpec {
    len: 256,
    vlans: 1,
    l3: L3::V4 { options: true },
    l4: L4::Udp,
    seed: 2,
};

/// A full-size QinQ IPv6/TCP frame with TCP options.
pub const QINQ_V6_TCP_1500: FrameSpec = FrameSpec {
    len: 1500,
    vlans: 2,
    l3: L3::V6,
    l4: L4::Tcp { options: true },
    seed: 3,
};

/// IPv4 and TCP both with options, untagged: what `parse_options` walks.
pub const OPTIONS_1024: FrameSpec = FrameSpec {
    len: 1024,
    vlans: 0,
    l3: L3::V4 { options: true },
    l4: L4::Tcp { options: true },
    seed: 4,
};

/// Two VLAN tags in front of IPv4/TCP: what `parse_vlan` walks.
pub const QINQ_V4_1024: FrameSpec = FrameSpec {
    len: 1024,
    vlans: 2,
    l3: L3::V4 { options: false },
    l4: L4::Tcp { options: false },
    seed: 5,
};

/// The frames every program is tested on, whatever it is measured on: they
/// differ in length, tags, IP version, options and transport.
pub const TEST_FRAMES: [FrameSpec; 3] = [TCP_1024, VLAN_UDP_OPTIONS_256, QINQ_V6_TCP_1500];

const IPV4_OPTIONS: [u8; 28] = [
    1, 1, // NOP, NOP
    7, 11, 4, 192, 0, 2, 1, 198, 51, 100, 7, // record route, two hops
    68, 12, 5, 0, 0, 0, 0, 1, 0, 0, 0, 2, // timestamps only, two of them
    0, 0, 0, // EOL, padding
];

impl FrameSpec {
    /// Header bytes in front of the payload.
    pub fn header_len(&self) -> usize {
        let l3 = match self.l3 {
            L3::V4 { options } => 20 + if options { IPV4_OPTIONS.len() } else { 0 },
            L3::V6 => 40,
        };
        let l4 = match self.l4 {
            L4::Tcp { options } => 20 + if options { 20 } else { 0 },
            L4::Udp => 8,
        };
        14 + 4 * usize::from(self.vlans) + l3 + l4
    }

    /// The frame's bytes. `len` is raised to the headers' length if it is
    /// shorter, and `vlans` capped at 2.
    pub fn build(&self) -> Vec<u8> {
        let mut rng = Rng(self.seed.wrapping_mul(0x2545_f491_4f6c_dd1d) ^ 0x5741_4747);
        let payload = payload(self.len.saturating_sub(self.header_len()), &mut rng);
        let l4 = self.transport(&payload, &mut rng);

        let mut frame = Vec::with_capacity(self.len.max(self.header_len()));
        // Locally administered MACs; the destination's last byte varies, so
        // even a program reading only the first bytes sees different frames.
        frame.extend_from_slice(&[0x02, 0, 0, 0, 0, rng.next() as u8]);
        frame.extend_from_slice(&[0x02, 0, 0, 0, 0, 0xaa]);
        let tpids: &[u16] = match self.vlans {
            0 => &[],
            1 => &[0x8100],
            _ => &[0x88a8, 0x8100],
        };
        for (i, tpid) in tpids.iter().enumerate() {
            let vid = 100 + (rng.next() % 3900) as u16 + i as u16;
            frame.extend_from_slice(&tpid.to_be_bytes());
            frame.extend_from_slice(&((3u16 << 13) | vid).to_be_bytes());
        }
        match self.l3 {
            L3::V4 { options } => {
                frame.extend_from_slice(&0x0800u16.to_be_bytes());
                let ip = self.ipv4(options, &mut rng, l4.len());
                let (src, dst) = (&ip[12..16], &ip[16..20]);
                let l4 = with_l4_checksum(self.l4, l4, &pseudo_v4(src, dst, self.l4, l4_len(&ip)));
                frame.extend_from_slice(&ip);
                frame.extend_from_slice(&l4);
            }
            L3::V6 => {
                frame.extend_from_slice(&0x86ddu16.to_be_bytes());
                let ip = self.ipv6(&mut rng, l4.len());
                let pseudo = pseudo_v6(&ip[8..24], &ip[24..40], self.l4, l4.len());
                let l4 = with_l4_checksum(self.l4, l4, &pseudo);
                frame.extend_from_slice(&ip);
                frame.extend_from_slice(&l4);
            }
        }
        frame
    }

    fn ipv4(&self, options: bool, rng: &mut Rng, l4_len: usize) -> Vec<u8> {
        let opts: &[u8] = if options { &IPV4_OPTIONS } else { &[] };
        let ihl = (20 + opts.len()) / 4;
        let total = (ihl * 4 + l4_len) as u16;
        let mut ip = vec![0x40 | ihl as u8, 0];
        ip.extend_from_slice(&total.to_be_bytes());
        ip.extend_from_slice(&(rng.next() as u16).to_be_bytes()); // id
        ip.extend_from_slice(&0x4000u16.to_be_bytes()); // DF
        ip.push(64);
        ip.push(self.l4_proto());
        ip.extend_from_slice(&[0, 0]);
        // 192.0.2.x -> 10.a.b.c: the destination falls in one of the /24
        // routes the LPM programs are filled with.
        ip.extend_from_slice(&[192, 0, 2, 1 + (rng.next() % 254) as u8]);
        let d = rng.next();
        ip.extend_from_slice(&[
            10,
            (d % 64) as u8,
            ((d >> 8) % 4) as u8,
            1 + (d >> 16) as u8 % 254,
        ]);
        ip.extend_from_slice(opts);
        let sum = checksum(&ip, 0);
        ip[10..12].copy_from_slice(&sum.to_be_bytes());
        ip
    }

    fn ipv6(&self, rng: &mut Rng, l4_len: usize) -> Vec<u8> {
        let flow = (rng.next() & 0xf_ffff) as u32;
        let mut ip = (0x6000_0000u32 | flow).to_be_bytes().to_vec();
        ip.extend_from_slice(&(l4_len as u16).to_be_bytes());
        ip.push(self.l4_proto());
        ip.push(64);
        for net in [
            [0x20, 0x01, 0x0d, 0xb8, 0, 0],
            [0x20, 0x01, 0x0d, 0xb8, 0, 1],
        ] {
            ip.extend_from_slice(&net);
            ip.extend_from_slice(&[0; 6]);
            ip.extend_from_slice(&rng.next().to_be_bytes()[..4]);
        }
        ip
    }

    fn l4_proto(&self) -> u8 {
        match self.l4 {
            L4::Tcp { .. } => 6,
            L4::Udp => 17,
        }
    }

    /// The L4 header and payload, checksum field zero.
    fn transport(&self, payload: &[u8], rng: &mut Rng) -> Vec<u8> {
        let sport = 1024 + (rng.next() % 60000) as u16;
        let mut l4 = sport.to_be_bytes().to_vec();
        match self.l4 {
            L4::Tcp { options } => {
                l4.extend_from_slice(&80u16.to_be_bytes());
                l4.extend_from_slice(&(rng.next() as u32).to_be_bytes()); // seq
                l4.extend_from_slice(&(rng.next() as u32).to_be_bytes()); // ack
                let doff = if options { 10 } else { 5 };
                l4.push(doff << 4);
                l4.push(0x18); // PSH, ACK
                l4.extend_from_slice(&64240u16.to_be_bytes());
                l4.extend_from_slice(&[0, 0, 0, 0]); // checksum, urgent
                if options {
                    l4.extend_from_slice(&[2, 4, 0x05, 0xb4, 4, 2, 8, 10]);
                    l4.extend_from_slice(&(rng.next() as u32).to_be_bytes());
                    l4.extend_from_slice(&(rng.next() as u32).to_be_bytes());
                    l4.extend_from_slice(&[1, 3, 3, 7]);
                }
            }
            L4::Udp => {
                l4.extend_from_slice(&8080u16.to_be_bytes());
                l4.extend_from_slice(&((8 + payload.len()) as u16).to_be_bytes());
                l4.extend_from_slice(&[0, 0]);
            }
        }
        l4.extend_from_slice(payload);
        l4
    }
}

/// The L4 length an IPv4 header announces.
fn l4_len(ip: &[u8]) -> usize {
    usize::from(u16::from_be_bytes([ip[2], ip[3]])) - usize::from(ip[0] & 0xf) * 4
}

fn pseudo_v4(src: &[u8], dst: &[u8], l4: L4, len: usize) -> Vec<u8> {
    let mut p = [src, dst].concat();
    p.extend_from_slice(&[0, proto_of(l4)]);
    p.extend_from_slice(&(len as u16).to_be_bytes());
    p
}

fn pseudo_v6(src: &[u8], dst: &[u8], l4: L4, len: usize) -> Vec<u8> {
    let mut p = [src, dst].concat();
    p.extend_from_slice(&(len as u32).to_be_bytes());
    p.extend_from_slice(&[0, 0, 0, proto_of(l4)]);
    p
}

fn proto_of(l4: L4) -> u8 {
    match l4 {
        L4::Tcp { .. } => 6,
        L4::Udp => 17,
    }
}

/// Fills in the TCP or UDP checksum over the pseudo-header and segment.
fn with_l4_checksum(kind: L4, mut l4: Vec<u8>, pseudo: &[u8]) -> Vec<u8> {
    let at = match kind {
        L4::Tcp { .. } => 16,
        L4::Udp => 6,
    };
    let mut sum = checksum(&l4, ones_sum(pseudo));
    if sum == 0 && kind == L4::Udp {
        sum = 0xffff; // UDP sends a computed 0 as all ones
    }
    l4[at..at + 2].copy_from_slice(&sum.to_be_bytes());
    l4
}

/// Ones' complement sum of big-endian 16-bit words, not folded.
fn ones_sum(data: &[u8]) -> u32 {
    data.chunks(2)
        .map(|c| u32::from(u16::from_be_bytes([c[0], *c.get(1).unwrap_or(&0)])))
        .sum()
}

/// The Internet checksum of `data` added to a partial sum.
fn checksum(data: &[u8], partial: u32) -> u16 {
    let mut sum = u64::from(partial) + u64::from(ones_sum(data));
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

/// An HTTP/1.1 request head filling about three quarters of `len`, ended by
/// the empty line, then binary bytes. Header values are random, and a few
/// headers are `X-Trace`, the needle `strsearch` looks for.
fn payload(len: usize, rng: &mut Rng) -> Vec<u8> {
    const NAMES: [&str; 8] = [
        "Host",
        "User-Agent",
        "Accept",
        "X-Trace",
        "Accept-Encoding",
        "Cookie",
        "X-Request-Id",
        "Cache-Control",
    ];
    let path_len = 6 + rng.next() as usize % 20;
    let mut out = format!("GET /{} HTTP/1.1\r\n", rng.word(path_len)).into_bytes();
    let head = len * 3 / 4;
    loop {
        let name = NAMES[rng.next() as usize % NAMES.len()];
        let value_len = 8 + rng.next() as usize % 40;
        let value = rng.word(value_len);
        let line = format!("{name}: {value}\r\n");
        if out.len() + line.len() + 2 > head {
            break;
        }
        out.extend_from_slice(line.as_bytes());
    }
    out.extend_from_slice(b"\r\n");
    out.extend_from_slice(&random_bytes(len.saturating_sub(out.len()), rng.next()));
    out.truncate(len);
    out
}

/// splitmix64: small, seedable and the same everywhere.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// `len` characters of [a-z0-9].
    fn word(&mut self, len: usize) -> String {
        const CHARS: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
        (0..len)
            .map(|_| char::from(CHARS[self.next() as usize % CHARS.len()]))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A header checksum over a header that includes it sums to 0.
    fn verifies(header: &[u8], partial: u32) -> bool {
        checksum(header, partial) == 0
    }

    #[test]
    fn frames_have_the_asked_length_and_valid_checksums() {
        for spec in TEST_FRAMES.iter().chain([&OPTIONS_1024, &QINQ_V4_1024]) {
            let f = spec.build();
            assert_eq!(f.len(), spec.len, "{spec:?}");
            let l3 = 14 + 4 * usize::from(spec.vlans);
            let ethertype = u16::from_be_bytes([f[l3 - 2], f[l3 - 1]]);
            let (l4, pseudo) = match spec.l3 {
                L3::V4 { .. } => {
                    assert_eq!(ethertype, 0x0800);
                    let ihl = usize::from(f[l3] & 0xf) * 4;
                    assert!(verifies(&f[l3..l3 + ihl], 0), "{spec:?}: IPv4 checksum");
                    let l4 = l3 + ihl;
                    (
                        l4,
                        pseudo_v4(
                            &f[l3 + 12..l3 + 16],
                            &f[l3 + 16..l3 + 20],
                            spec.l4,
                            f.len() - l4,
                        ),
                    )
                }
                L3::V6 => {
                    assert_eq!(ethertype, 0x86dd);
                    let l4 = l3 + 40;
                    (
                        l4,
                        pseudo_v6(
                            &f[l3 + 8..l3 + 24],
                            &f[l3 + 24..l3 + 40],
                            spec.l4,
                            f.len() - l4,
                        ),
                    )
                }
            };
            assert!(
                verifies(&f[l4..], ones_sum(&pseudo)),
                "{spec:?}: L4 checksum"
            );
            assert_eq!(spec.build(), f, "frames are deterministic");
        }
    }

    #[test]
    fn payload_starts_with_a_request_head() {
        let f = TCP_1024.build();
        let payload = &f[TCP_1024.header_len()..];
        assert!(payload.starts_with(b"GET /"));
        let text = String::from_utf8_lossy(payload);
        assert!(text.contains("\r\n\r\n"));
    }
}
