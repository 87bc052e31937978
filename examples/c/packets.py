#!/usr/bin/env python3
"""Test packets and expected results for the examples in this folder.

Every behaviour in README.md's table is written down here as a case: an input
frame, the expected return value, the expected output frame, and the expected
map contents after a sequence of runs. The packets are built with struct, and
the expected values are computed independently of the C code (the xdp_lb
backend choice, the checksums, the socket filter's digest).

Usage:
  python3 packets.py write DIR     write every case as DIR/<program>/<case>.in
                                   (input frame), .out (expected output frame)
                                   and DIR/cases.json (return values, maps)
  python3 packets.py maglev        print the xdp_lb Maglev table and check it
                                   against the one in xdp_lb.bpf.c
  python3 packets.py lb SRC SPORT [tcp|udp]
                                   the backend xdp_lb picks for SRC:SPORT ->
                                   10.0.0.10:80
  sudo python3 packets.py check    load every object into the running kernel
                                   (bpftool, BPF_PROG_TEST_RUN) and compare
                                   each case; prints 'N passed, N failed'

'check' needs root, bpftool (apt-get install bpftool), a mounted bpffs (it
mounts one on /sys/fs/bpf if needed) and the built objects (./build.sh). It
pins under /sys/fs/bpf/waggle-examples-<pid> and removes the pins, and a veth
pair it creates for the core_read rx-queue case, when it ends. To find
subprog_globals' bpf_printk lines it reads /sys/kernel/tracing/trace, mounting
tracefs there if it is not mounted (the check is skipped if that fails).
"""

import ctypes
import json
import mmap
import os
import re
import shutil
import struct
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))

# ---------------------------------------------------------------------------
# Packet building
# ---------------------------------------------------------------------------

ETH_P_IP, ETH_P_ARP, ETH_P_IPV6 = 0x0800, 0x0806, 0x86DD
TCP_FIN, TCP_SYN, TCP_RST, TCP_PSH, TCP_ACK = 0x01, 0x02, 0x04, 0x08, 0x10

CLIENT_MAC = bytes.fromhex("0200000000aa")
LB_MAC = bytes.fromhex("020000000001")  # also the destination MAC clients use
ROUTER_MAC = bytes.fromhex("0200000000fe")


def ip4(s):
    return bytes(int(x) for x in s.split("."))


def ip6(s):
    import ipaddress
    return ipaddress.IPv6Address(s).packed


def csum_sum(data):
    """One's complement sum (folded, not inverted) of big-endian 16-bit words."""
    if len(data) % 2:
        data += b"\0"
    s = 0
    for i in range(0, len(data), 2):
        s += (data[i] << 8) | data[i + 1]
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return s


def inet_csum(data):
    """RFC 1071 Internet checksum, as a host integer."""
    return ~csum_sum(data) & 0xFFFF


def eth(dst, src, etype, payload):
    return dst + src + struct.pack("!H", etype) + payload


def ipv4(src, dst, proto, payload, ttl=64, ident=0x1234, frag=0x4000, options=b"",
         bad_csum=False, ihl=None):
    assert len(options) % 4 == 0
    if ihl is None:
        ihl = 5 + len(options) // 4
    total = 20 + len(options) + len(payload)
    hdr = struct.pack("!BBHHHBBH4s4s", 0x40 | ihl, 0, total, ident, frag, ttl, proto, 0,
                      ip4(src), ip4(dst)) + options
    c = inet_csum(hdr)
    if bad_csum:
        c ^= 0x0101
    hdr = hdr[:10] + struct.pack("!H", c) + hdr[12:]
    return hdr + payload


def pseudo4(src, dst, proto, length):
    return ip4(src) + ip4(dst) + struct.pack("!BBH", 0, proto, length)


def tcp(src, dst, sport, dport, flags, payload=b"", seq=1000, ack=0, doff=None,
        options=b"", window=64240):
    if doff is None:
        doff = 5 + len(options) // 4
    hdr = struct.pack("!HHIIBBHHH", sport, dport, seq, ack, doff << 4, flags, window, 0, 0)
    seg = hdr + options + payload
    c = inet_csum(pseudo4(src, dst, 6, len(seg)) + seg)
    return seg[:16] + struct.pack("!H", c) + seg[18:]


def udp(src, dst, sport, dport, payload, with_csum=True):
    seg = struct.pack("!HHHH", sport, dport, 8 + len(payload), 0) + payload
    if with_csum:
        c = inet_csum(pseudo4(src, dst, 17, len(seg)) + seg)
        if c == 0:
            c = 0xFFFF
        seg = seg[:6] + struct.pack("!H", c) + seg[8:]
    return seg


def icmp_echo(ident=0x4242, seq=1, payload=b"waggle-ping-0123456789abcdef....", typ=8):
    msg = struct.pack("!BBHHH", typ, 0, 0, ident, seq) + payload
    return msg[:2] + struct.pack("!H", inet_csum(msg)) + msg[4:]


def ipv6(src, dst, nexthdr, payload, hop=64):
    return struct.pack("!IHBB", 0x60000000, len(payload), nexthdr, hop) + ip6(src) + ip6(dst) + payload


def icmpv6_echo(src, dst, ident=0x4242, seq=1, payload=b"waggle-ping6"):
    msg = struct.pack("!BBHHH", 128, 0, 0, ident, seq) + payload
    pseudo = ip6(src) + ip6(dst) + struct.pack("!IxxxB", len(msg), 58)
    return msg[:2] + struct.pack("!H", inet_csum(pseudo + msg)) + msg[4:]


def udp6(src, dst, sport, dport, payload):
    seg = struct.pack("!HHHH", sport, dport, 8 + len(payload), 0) + payload
    pseudo = ip6(src) + ip6(dst) + struct.pack("!IxxxB", len(seg), 17)
    return seg[:6] + struct.pack("!H", inet_csum(pseudo + seg)) + seg[8:]


def arp_request(sender_ip="192.0.2.1", target_ip="192.0.2.254"):
    body = struct.pack("!HHBBH6s4s6s4s", 1, ETH_P_IP, 6, 4, 1, CLIENT_MAC, ip4(sender_ip),
                       bytes(6), ip4(target_ip))
    return eth(b"\xff" * 6, CLIENT_MAC, ETH_P_ARP, body)


def v4frame(ip_packet, dst_mac=LB_MAC):
    return eth(dst_mac, CLIENT_MAC, ETH_P_IP, ip_packet)


CLIENT = "192.0.2.1"
SERVER = "198.51.100.7"

# ---------------------------------------------------------------------------
# xdp_lb reference implementation
# ---------------------------------------------------------------------------

VIP, VIP_PORT = "10.0.0.10", 80
BACKENDS = [("10.0.1.%d" % i, bytes.fromhex("02000000010%d" % i)) for i in range(1, 5)]
MAGLEV_SIZE = 67


def fnv1a32(data):
    h = 0x811C9DC5
    for b in data:
        h = ((h ^ b) * 0x01000193) & 0xFFFFFFFF
    return h


def maglev_params():
    offs = [fnv1a32(ip4(ip)) % MAGLEV_SIZE for ip, _ in BACKENDS]
    skips = [fnv1a32(ip4(ip)[::-1]) % (MAGLEV_SIZE - 1) + 1 for ip, _ in BACKENDS]
    return offs, skips


def maglev_table():
    offs, skips = maglev_params()
    n = len(BACKENDS)
    nxt, entry, filled = [0] * n, [-1] * MAGLEV_SIZE, 0
    while filled < MAGLEV_SIZE:
        for i in range(n):
            c = (offs[i] + nxt[i] * skips[i]) % MAGLEV_SIZE
            while entry[c] >= 0:
                nxt[i] += 1
                c = (offs[i] + nxt[i] * skips[i]) % MAGLEV_SIZE
            entry[c] = i
            nxt[i] += 1
            filled += 1
            if filled == MAGLEV_SIZE:
                break
    return entry


def lb_backend(saddr, daddr, sport, dport, proto):
    """Backend index for a flow; addresses as dotted strings, ports as ints."""
    key = ip4(saddr) + ip4(daddr) + struct.pack("!HHB", sport, dport, proto)
    h = fnv1a32(key)
    return maglev_table()[h % MAGLEV_SIZE], h


def csum_replace4(check, old, new):
    """RFC 1624 eqn. 3 on a 16-bit checksum field for a 4-byte field change."""
    s = ~check & 0xFFFF
    for w in struct.unpack("!HH", old):
        s += ~w & 0xFFFF
    for w in struct.unpack("!HH", new):
        s += w
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def lb_expected(frame):
    """(verdict, output frame, backend index or None) for xdp_lb."""
    ihl = (frame[14] & 0xF) * 4
    proto = frame[14 + 9]
    saddr, daddr = frame[26:30], frame[30:34]
    l4 = 14 + ihl
    sport, dport = struct.unpack("!HH", frame[l4:l4 + 4])
    idx, _ = lb_backend(".".join(map(str, saddr)), ".".join(map(str, daddr)), sport, dport, proto)
    bip, bmac = ip4(BACKENDS[idx][0]), BACKENDS[idx][1]
    out = bytearray(frame)
    out[0:6] = bmac
    out[6:12] = LB_MAC
    out[30:34] = bip
    (ipc,) = struct.unpack("!H", frame[24:26])
    out[24:26] = struct.pack("!H", csum_replace4(ipc, daddr, bip))
    coff = l4 + (16 if proto == 6 else 6)
    (l4c,) = struct.unpack("!H", frame[coff:coff + 2])
    if proto == 6 or l4c != 0:
        n = csum_replace4(l4c, daddr, bip)
        if proto == 17 and n == 0:
            n = 0xFFFF
        out[coff:coff + 2] = struct.pack("!H", n)
    return 3, bytes(out), idx


def verify_checksums(frame):
    """True if the IPv4 header and TCP/UDP checksums of an Ethernet frame verify."""
    ihl = (frame[14] & 0xF) * 4
    if csum_sum(frame[14:14 + ihl]) != 0xFFFF:
        return False
    proto = frame[23]
    total = struct.unpack("!H", frame[16:18])[0]
    seg = frame[14 + ihl:14 + total]
    src, dst = frame[26:30], frame[30:34]
    if proto == 17 and seg[6:8] == b"\0\0":
        return True
    if proto in (6, 17):
        pseudo = src + dst + struct.pack("!BBH", 0, proto, len(seg))
        return csum_sum(pseudo + seg) == 0xFFFF
    return True


# ---------------------------------------------------------------------------
# tc_rewrite reference
# ---------------------------------------------------------------------------

DNS_ADDR, DNS_PORT = "10.0.0.53", 5353


def csum_replace2(check, old, new):
    s = (~check & 0xFFFF) + (~old & 0xFFFF) + new
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def tc_expected(frame):
    ihl = (frame[14] & 0xF) * 4
    l4 = 14 + ihl
    out = bytearray(frame)
    old_addr, new_addr = frame[30:34], ip4(DNS_ADDR)
    (ipc,) = struct.unpack("!H", frame[24:26])
    out[24:26] = struct.pack("!H", csum_replace4(ipc, old_addr, new_addr))
    out[30:34] = new_addr
    (uc,) = struct.unpack("!H", frame[l4 + 6:l4 + 8])
    if uc != 0:
        uc = csum_replace4(uc, old_addr, new_addr) or 0xFFFF
        uc = csum_replace2(uc, 53, DNS_PORT) or 0xFFFF
    out[l4 + 6:l4 + 8] = struct.pack("!H", uc)
    out[l4 + 2:l4 + 4] = struct.pack("!H", DNS_PORT)
    return bytes(out)


# ---------------------------------------------------------------------------
# subprog_globals reference
# ---------------------------------------------------------------------------

SNAPLEN = {0: 64, 1: 96, 2: 128, 3: 0xFFFF}


def sg_expected(frame):
    """(retval, class or reason, digest or None) for the socket filter."""
    l3 = frame[14:]
    if len(l3) < 20 or l3[0] >> 4 != 4 or (l3[0] & 0xF) < 5 or len(l3) < (l3[0] & 0xF) * 4:
        return 0, -1, None
    if csum_sum(l3[:(l3[0] & 0xF) * 4]) != 0xFFFF:
        return 0, -2, None
    cls = {6: 1, 17: 2, 1: 3}.get(l3[9], 0)
    digest = inet_csum(l3[:min(len(l3), 64)])
    return min(len(l3), SNAPLEN[cls]), cls, digest


# ---------------------------------------------------------------------------
# The cases
# ---------------------------------------------------------------------------

# BPF_PROG_TEST_RUN refuses (EINVAL) skb-based runs of an IPv4 frame shorter than
# Ethernet + 20 bytes, so these cases cannot be confirmed against the kernel.
SKB_SHORT = "kernel BPF_PROG_TEST_RUN rejects IPv4 skbs shorter than 34 bytes (EINVAL)"

DNS_QUERY = bytes.fromhex("abcd01000001000000000000076578616d706c6503636f6d0000010001")


def frames():
    f = {}
    f["icmp_echo"] = v4frame(ipv4(CLIENT, SERVER, 1, icmp_echo()))
    f["tcp_syn"] = v4frame(ipv4(CLIENT, SERVER, 6, tcp(CLIENT, SERVER, 40000, 80, TCP_SYN)))
    f["tcp_synack"] = v4frame(ipv4(SERVER, CLIENT, 6, tcp(SERVER, CLIENT, 80, 40000,
                                                          TCP_SYN | TCP_ACK, ack=1001)))
    f["tcp_ack"] = v4frame(ipv4(CLIENT, SERVER, 6, tcp(CLIENT, SERVER, 40000, 80, TCP_ACK,
                                                       seq=1001, ack=5001)))
    f["udp"] = v4frame(ipv4(CLIENT, SERVER, 17, udp(CLIENT, SERVER, 40001, 9999, b"hello waggle")))
    f["gre"] = v4frame(ipv4(CLIENT, SERVER, 47, bytes(4) + bytes(range(36))))
    f["icmpv6_echo"] = eth(LB_MAC, CLIENT_MAC, ETH_P_IPV6,
                           ipv6("2001:db8::1", "2001:db8::2", 58,
                                icmpv6_echo("2001:db8::1", "2001:db8::2")))
    f["udp6"] = eth(LB_MAC, CLIENT_MAC, ETH_P_IPV6,
                    ipv6("2001:db8::1", "2001:db8::2", 17,
                         udp6("2001:db8::1", "2001:db8::2", 40002, 53, b"v6")))
    f["arp"] = arp_request()
    # Ethernet + the first 10 bytes of an IPv4 ICMP header (protocol not reached): 24 bytes.
    f["ipv4_truncated"] = f["icmp_echo"][:24]
    return f


def lb_cases():
    cases = []
    flows = [("192.0.2.1", 40000, 6), ("192.0.2.1", 40001, 6), ("192.0.2.2", 40000, 6),
             ("192.0.2.3", 12345, 6), ("198.51.100.20", 55555, 6), ("203.0.113.9", 1024, 6),
             ("192.0.2.1", 40000, 17), ("192.0.2.77", 5000, 17)]
    for src, sport, proto in flows:
        if proto == 6:
            ip = ipv4(src, VIP, 6, tcp(src, VIP, sport, 80, TCP_SYN))
        else:
            ip = ipv4(src, VIP, 17, udp(src, VIP, sport, 80, b"lb-udp-payload"))
        name = "%s_%s_%d" % ("tcp" if proto == 6 else "udp", src, sport)
        cases.append((name, v4frame(ip)))
    # UDP without checksum: stays 0.
    cases.append(("udp_nocsum_192.0.2.5_7000",
                  v4frame(ipv4("192.0.2.5", VIP, 17, udp("192.0.2.5", VIP, 7000, 80, b"no-csum",
                                                         with_csum=False)))))
    # IPv4 header with one 4-byte option (NOP NOP NOP EOL), ihl = 6.
    src = "192.0.2.9"
    cases.append(("tcp_ipopts_192.0.2.9_41000",
                  v4frame(ipv4(src, VIP, 6, tcp(src, VIP, 41000, 80, TCP_SYN | TCP_PSH,
                                                payload=b"GET / HTTP/1.0\r\n\r\n"),
                               options=b"\x01\x01\x01\x00"))))
    # A UDP flow whose rewritten checksum computes to 0 -> sent as 0xffff.
    cases.append(("udp_csum_zero", udp_zero_after_lb()))
    return cases


def udp_zero_after_lb():
    src, sport = "192.0.2.200", 6000
    idx, _ = lb_backend(src, VIP, sport, 80, 17)
    for w in range(0x10000):
        payload = b"zz" + struct.pack("!H", w)
        frame = v4frame(ipv4(src, VIP, 17, udp(src, VIP, sport, 80, payload)))
        _, out, _ = lb_expected(frame)
        if out[14 + 20 + 6:14 + 20 + 8] == b"\xff\xff":
            return frame
    raise RuntimeError("no payload gives a zero checksum")


def all_cases():
    """{program: {"object", "prog", "kind", "cases": [...], "maps": {...}}}."""
    f = frames()
    out = {}

    # xdp_drop_icmp
    c = []
    for name, ret in [("icmp_echo", 1), ("icmpv6_echo", 1), ("tcp_syn", 2), ("udp", 2),
                      ("udp6", 2), ("arp", 2), ("gre", 2), ("ipv4_truncated", 2)]:
        c.append(dict(name=name, data=f[name], retval=ret, out=f[name]))
    out["xdp_drop_icmp"] = dict(object="xdp_drop_icmp.bpf.o", prog="xdp_drop_icmp", cases=c, maps={})

    # xdp_proto_count: the whole sequence, then the counters
    seq = ["icmp_echo", "tcp_syn", "tcp_ack", "udp", "gre", "icmpv6_echo", "udp6", "arp",
           "ipv4_truncated"]
    c = [dict(name=n, data=f[n], retval=2, out=f[n]) for n in seq]
    counts = {1: 1, 6: 2, 17: 2, 47: 1, 58: 1}
    out["xdp_proto_count"] = dict(object="xdp_proto_count.bpf.o", prog="xdp_proto_count", cases=c,
                                  maps={"proto_count": {"type": "percpu_u64", "entries": counts}})

    # xdp_lb
    c = []
    stats = {}
    for name, frame in lb_cases():
        ret, o, idx = lb_expected(frame)
        assert verify_checksums(o), name
        c.append(dict(name=name, data=frame, retval=ret, out=o, backend=idx,
                      backend_ip=BACKENDS[idx][0]))
        p, b = stats.get(idx, (0, 0))
        stats[idx] = (p + 1, b + len(frame))
    passes = [
        ("tcp_vip_port443", v4frame(ipv4(CLIENT, VIP, 6, tcp(CLIENT, VIP, 40000, 443, TCP_SYN)))),
        ("tcp_other_dst_port80", f["tcp_syn"]),
        ("icmp_to_vip", v4frame(ipv4(CLIENT, VIP, 1, icmp_echo()))),
        ("udp_vip_fragment_mf", v4frame(ipv4(CLIENT, VIP, 17, udp(CLIENT, VIP, 40000, 80, b"frag"),
                                             frag=0x2000))),
        ("udp_vip_fragment_offset", v4frame(ipv4(CLIENT, VIP, 17, b"\x9c\x40\x00\x50rest",
                                                 frag=0x0010))),
        ("tcp_vip_truncated_l4", v4frame(ipv4(CLIENT, VIP, 6, tcp(CLIENT, VIP, 40000, 80, TCP_SYN)))[:14 + 20 + 12]),
        ("icmpv6", f["icmpv6_echo"]),
        ("arp", f["arp"]),
    ]
    for name, frame in passes:
        c.append(dict(name=name, data=frame, retval=2, out=frame))
    out["xdp_lb"] = dict(object="xdp_lb.bpf.o", prog="xdp_lb", cases=c,
                         maps={"lb_stats": {"type": "lb_stats", "entries": stats}})

    # tc_rewrite
    c = []
    dns = v4frame(ipv4(CLIENT, SERVER, 17, udp(CLIENT, SERVER, 40053, 53, DNS_QUERY)),
                  dst_mac=ROUTER_MAC)
    dns_nocsum = v4frame(ipv4(CLIENT, SERVER, 17, udp(CLIENT, SERVER, 40054, 53, DNS_QUERY,
                                                     with_csum=False)), dst_mac=ROUTER_MAC)
    dns_opts = v4frame(ipv4(CLIENT, "8.8.8.8", 17, udp(CLIENT, "8.8.8.8", 40055, 53, DNS_QUERY),
                            options=b"\x94\x04\x00\x00"), dst_mac=ROUTER_MAC)
    for name, frame in [("dns_query", dns), ("dns_query_nocsum", dns_nocsum),
                        ("dns_query_ipopts", dns_opts)]:
        o = tc_expected(frame)
        assert verify_checksums(o), name
        c.append(dict(name=name, data=frame, retval=0, out=o))
    bad_ihl = bytearray(f["udp"])
    bad_ihl[14] = 0x44
    unchanged = [
        ("udp_port_5353", v4frame(ipv4(CLIENT, SERVER, 17, udp(CLIENT, SERVER, 40053, 5353, DNS_QUERY)))),
        ("tcp_port_53", v4frame(ipv4(CLIENT, SERVER, 6, tcp(CLIENT, SERVER, 40053, 53, TCP_SYN)))),
        ("udp_dns_fragment", v4frame(ipv4(CLIENT, SERVER, 17, udp(CLIENT, SERVER, 40053, 53, DNS_QUERY),
                                          frag=0x2000))),
        ("udp_truncated_l4", v4frame(ipv4(CLIENT, SERVER, 17, udp(CLIENT, SERVER, 40053, 53, b"")))[:14 + 20 + 6]),
        ("icmp_echo", f["icmp_echo"]),
        ("udp6_port53", f["udp6"]),
        ("arp", f["arp"]),
    ]
    for name, frame in unchanged:
        c.append(dict(name=name, data=frame, retval=0, out=frame))
    c.append(dict(name="ipv4_ihl4", data=bytes(bad_ihl), retval=2, out=bytes(bad_ihl)))
    extra = [dict(name="ipv4_truncated", data=f["ipv4_truncated"], retval=2,
                  out=f["ipv4_truncated"], kernel=SKB_SHORT)]
    out["tc_rewrite"] = dict(object="tc_rewrite.bpf.o", prog="tc_rewrite", cases=c, extra=extra,
                             maps={"rewrite_stats": {"type": "u64_array",
                                                     "entries": {0: 3, 1: 7, 2: 1}}})

    # ringbuf_events
    syn_doff4 = bytearray(f["tcp_syn"])
    syn_doff4[14 + 20 + 12] = 0x40
    syn_doff15 = bytearray(f["tcp_syn"])
    syn_doff15[14 + 20 + 12] = 0xF0
    seq = [("tcp_syn", f["tcp_syn"]), ("tcp_synack", f["tcp_synack"]), ("tcp_ack", f["tcp_ack"]),
           ("udp", f["udp"]), ("icmp_echo", f["icmp_echo"]), ("tcp_syn_doff4", bytes(syn_doff4)),
           ("tcp_syn_doff15", bytes(syn_doff15)), ("udp6", f["udp6"]), ("arp", f["arp"])]
    c = [dict(name=n, data=d, retval=2, out=d) for n, d in seq]

    def rec(kind, frame):
        return struct.pack("<I", kind) + frame[26:34] + frame[34:38] + struct.pack("<I", len(frame))

    records = [dict(data=rec(1, f["tcp_syn"]), discarded=False),
               dict(data=rec(2, f["udp"]), discarded=False),
               dict(data=rec(1, bytes(syn_doff4)), discarded=True),
               dict(data=rec(1, bytes(syn_doff15)), discarded=True)]
    out["ringbuf_events"] = dict(object="ringbuf_events.bpf.o", prog="ringbuf_events", cases=c,
                                 maps={"events": {"type": "ringbuf", "records": records},
                                       ".bss": {"type": "bss_vars", "vars":
                                                dict(events_lost=0, events_discarded=2)}})

    # tail_calls (run the entry program)
    seq = [("icmp_echo", 1), ("tcp_syn", 2), ("tcp_ack", 2), ("udp", 2), ("gre", 2), ("arp", 2),
           ("icmpv6_echo", 2), ("ipv4_truncated", 2)]
    c = [dict(name=n, data=f[n], retval=r, out=f[n]) for n, r in seq]
    out["tail_calls"] = dict(object="tail_calls.bpf.o", prog="xdp_dispatch", cases=c,
                             maps={"counters": {"type": "u64_array",
                                                "entries": {0: 4, 1: 1, 2: 2, 3: 1}}})

    # subprog_globals (socket filter; sees the frame from the IPv4 header on)
    big_udp = v4frame(ipv4(CLIENT, SERVER, 17, udp(CLIENT, SERVER, 40001, 9999, bytes(range(256)))))
    odd = v4frame(ipv4(CLIENT, SERVER, 47, b"abcdefghijklmnopqrstu"))  # 41 bytes of L3: odd
    opts = v4frame(ipv4(CLIENT, SERVER, 6, tcp(CLIENT, SERVER, 40000, 80, TCP_SYN),
                        options=b"\x01\x01\x01\x00"))
    bad = v4frame(ipv4(CLIENT, SERVER, 6, tcp(CLIENT, SERVER, 40000, 80, TCP_SYN), bad_csum=True))
    seq = [("tcp_syn", f["tcp_syn"]), ("udp_300", big_udp), ("icmp_echo", f["icmp_echo"]),
           ("gre", f["gre"]), ("gre_odd_41", odd), ("tcp_ipopts", opts),
           ("bad_ip_csum", bad), ("arp", f["arp"]), ("icmpv6_echo", f["icmpv6_echo"]),
           ("tcp_syn_again", f["tcp_syn"])]
    c = []
    seen = acc = dropped = 0
    last_digest = last_class = 0
    for n, d in seq:
        ret, cls, digest = sg_expected(d)
        seen += 1
        if digest is None:
            dropped += 1
        else:
            acc += 1
            last_digest, last_class = digest, cls
        # BPF_PROG_TEST_RUN zeroes the Ethernet header in data_out of a socket filter.
        case = dict(name=n, data=d, retval=ret, out=bytes(14) + d[14:], cls=cls, digest=digest)
        if digest is None:
            case["printk"] = "subprog_globals: drop len=%d reason=%d" % (len(d) - 14, cls)
        else:
            case["bss"] = dict(last_digest=digest, last_class=cls)
        c.append(case)
    sg_bss = dict(packets_seen=seen, packets_accepted=acc, packets_dropped=dropped,
                  last_digest=last_digest, last_class=last_class)
    short = f["ipv4_truncated"]
    extra = [dict(name="ipv4_truncated", data=short, retval=0, out=bytes(14) + short[14:],
                  cls=-1, digest=None, kernel=SKB_SHORT,
                  printk="subprog_globals: drop len=%d reason=-1" % (len(short) - 14))]
    out["subprog_globals"] = dict(object="subprog_globals.bpf.o", prog="subprog_globals", cases=c,
                                  extra=extra,
                                  maps={".bss": {"type": "bss_vars", "vars": sg_bss}})

    # core_read
    c = [dict(name="ipv4_default_ctx", data=f["tcp_syn"], retval=0x01005524, out=f["tcp_syn"]),
         dict(name="arp_default_ctx", data=f["arp"], retval=0x01001524, out=f["arp"]),
         dict(name="ipv4_ifindex1_rxq0", data=f["udp"], retval=0x01005524, out=f["udp"],
              ctx=dict(ingress_ifindex=1, rx_queue_index=0)),
         dict(name="ipv4_veth_rxq3", data=f["udp"], retval=None, out=f["udp"],
              ctx=dict(ingress_ifindex="veth", rx_queue_index=3))]
    out["core_read"] = dict(object="core_read.bpf.o", prog="core_read", cases=c,
                            maps={".bss": {"type": "bss_vars", "vars": dict(
                                xdp_md_size=24, ifindex_offset=12, h_proto_offset=12,
                                skb_mark_size=4, xdp_pass=2, h_proto=0x0800)}})
    return out


def core_ret(ifindex, rxq, ipv4_frame):
    return ((ifindex & 0xFF) << 24) | ((rxq & 0xFF) << 16) | 0x1524 | (0x4000 if ipv4_frame else 0)


# ---------------------------------------------------------------------------
# write / maglev / lb commands
# ---------------------------------------------------------------------------

def cmd_write(outdir):
    cases = all_cases()
    manifest = {}
    for prog, spec in cases.items():
        d = os.path.join(outdir, prog)
        os.makedirs(d, exist_ok=True)
        entries = []
        for case in spec["cases"] + spec.get("extra", []):
            with open(os.path.join(d, case["name"] + ".in"), "wb") as fh:
                fh.write(case["data"])
            with open(os.path.join(d, case["name"] + ".out"), "wb") as fh:
                fh.write(case["out"])
            e = {k: v for k, v in case.items() if k not in ("data", "out")}
            entries.append(e)
        maps = json.loads(json.dumps(spec["maps"], default=lambda b: b.hex()))
        n = len(spec["cases"])
        manifest[prog] = dict(object=spec["object"], prog=spec["prog"], cases=entries[:n],
                              extra=entries[n:], maps=maps)
    with open(os.path.join(outdir, "cases.json"), "w") as fh:
        json.dump(manifest, fh, indent=1, sort_keys=True)
    print("wrote %d cases under %s" % (sum(len(s["cases"]) for s in cases.values()), outdir))


def cmd_maglev():
    offs, skips = maglev_params()
    table = maglev_table()
    print("offsets", offs, "skips", skips)
    print("table", table)
    print("share", [table.count(i) for i in range(len(BACKENDS))])
    src = open(os.path.join(HERE, "xdp_lb.bpf.c")).read()
    m = re.search(r"maglev_table\[MAGLEV_SIZE\] = \{([^}]*)\}", src)
    in_c = [int(x) for x in m.group(1).replace("\n", " ").split(",") if x.strip()]
    if in_c != table:
        print("MISMATCH with xdp_lb.bpf.c:", in_c)
        return 1
    print("xdp_lb.bpf.c table matches")
    return 0


def cmd_lb(src, sport, proto):
    p = 17 if proto == "udp" else 6
    idx, h = lb_backend(src, VIP, int(sport), VIP_PORT, p)
    print("hash 0x%08x slot %d backend %d (%s %s)" % (h, h % MAGLEV_SIZE, idx, BACKENDS[idx][0],
                                                      BACKENDS[idx][1].hex(":")))


# ---------------------------------------------------------------------------
# check: run every case in the kernel with bpftool
# ---------------------------------------------------------------------------

libc = ctypes.CDLL(None, use_errno=True)
SYS_BPF = 321  # x86_64
BPF_OBJ_GET = 7


def bpf_obj_get(path):
    p = ctypes.create_string_buffer(path.encode())
    attr = ctypes.create_string_buffer(struct.pack("=QII", ctypes.addressof(p), 0, 0), 128)
    fd = libc.syscall(SYS_BPF, BPF_OBJ_GET, attr, 128)
    if fd < 0:
        raise OSError(ctypes.get_errno(), "BPF_OBJ_GET " + path)
    return fd


def ringbuf_records(path, size):
    """All records between consumer and producer position: (data, discarded)."""
    fd = bpf_obj_get(path)
    try:
        page = mmap.PAGESIZE
        cons = mmap.mmap(fd, page, mmap.MAP_SHARED, mmap.PROT_READ | mmap.PROT_WRITE, offset=0)
        prod = mmap.mmap(fd, page + 2 * size, mmap.MAP_SHARED, mmap.PROT_READ, offset=page)
        cpos = struct.unpack_from("<Q", cons, 0)[0]
        ppos = struct.unpack_from("<Q", prod, 0)[0]
        recs = []
        while cpos < ppos:
            off = page + (cpos & (size - 1))
            ln, _ = struct.unpack_from("<II", prod, off)
            busy, discard = bool(ln & (1 << 31)), bool(ln & (1 << 30))
            ln &= ~((1 << 31) | (1 << 30))
            if busy:
                break
            recs.append(dict(data=bytes(prod[off + 8:off + 8 + ln]), discarded=discard))
            cpos += (ln + 8 + 7) & ~7
        struct.pack_into("<Q", cons, 0, cpos)
        cons.close()
        prod.close()
        return recs
    finally:
        os.close(fd)


def run(cmd, **kw):
    return subprocess.run(cmd, check=True, capture_output=True, text=True, **kw).stdout


def map_dump(path):
    return json.loads(run(["bpftool", "-j", "map", "dump", "pinned", path]))


def hexbytes(lst):
    return bytes(int(x, 16) for x in lst)


class Checker:
    def __init__(self):
        self.passed = 0
        self.failed = 0

    def check(self, label, ok, detail=""):
        if ok:
            self.passed += 1
            print("ok    " + label)
        else:
            self.failed += 1
            print("FAIL  " + label + ("  " + detail if detail else ""))


def bss_vars(pin):
    dump = map_dump(pin)
    vals = {}
    for d in dump[0]["formatted"]["value"][".bss"]:
        for k, v in d.items():
            vals.update(v if isinstance(v, dict) else {k: v})
    return vals


class Runner:
    """Runs cases with `bpftool prog run` (BPF_PROG_TEST_RUN)."""

    def __init__(self, tmp):
        self.tmp = tmp
        self.veth = None

    def ifindex_for(self, spec):
        if spec != "veth":
            return spec
        if self.veth is None:
            name = "wglcr%d" % (os.getpid() % 100000)
            run(["ip", "link", "add", name, "numrxqueues", "4", "type", "veth",
                 "peer", "name", name + "p"])
            self.veth = name
        return int(open("/sys/class/net/%s/ifindex" % self.veth).read())

    def cleanup(self):
        if self.veth:
            subprocess.run(["ip", "link", "del", self.veth])

    def run_case(self, ck, prog, pin, case, mdir=None):
        label = "%s: %s" % (prog, case["name"])
        if case.get("kernel"):
            print("skip  %s (%s)" % (label, case["kernel"]))
            return
        din, dout = os.path.join(self.tmp, "in.bin"), os.path.join(self.tmp, "out.bin")
        with open(din, "wb") as fh:
            fh.write(case["data"])
        if os.path.exists(dout):
            os.unlink(dout)
        cmd = ["bpftool", "-j", "prog", "run", "pinned", pin, "data_in", din,
               "data_out", dout, "data_size_out", "4096"]
        expect_ret = case["retval"]
        if "ctx" in case:
            ifindex = self.ifindex_for(case["ctx"]["ingress_ifindex"])
            rxq = case["ctx"]["rx_queue_index"]
            if expect_ret is None:
                expect_ret = core_ret(ifindex, rxq, True)
                label += " (ifindex %d)" % ifindex
            ctxf = os.path.join(self.tmp, "ctx.bin")
            with open(ctxf, "wb") as fh:
                # struct xdp_md: data, data_end, data_meta, ingress_ifindex,
                # rx_queue_index, egress_ifindex
                fh.write(struct.pack("<6I", 0, len(case["data"]), 0, ifindex, rxq, 0))
            cmd += ["ctx_in", ctxf]
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        stdout, stderr = proc.communicate()
        if proc.returncode != 0:
            ck.check(label, False, "bpftool: " + stderr.strip()[-500:])
            return
        res = json.loads(stdout)
        got = open(dout, "rb").read() if os.path.exists(dout) else b""
        ok_ret, ok_out = res["retval"] == expect_ret, got == case["out"]
        detail = ""
        if not ok_ret:
            detail += "retval %#x want %#x " % (res["retval"], expect_ret)
        if not ok_out:
            detail += "out %s want %s" % (got.hex(), case["out"].hex())
        ck.check(label + " -> %#x" % res["retval"], ok_ret and ok_out, detail)
        if "bss" in case and mdir:
            vals = bss_vars(bss_pin(mdir))
            sub = {k: vals.get(k) for k in case["bss"]}
            ck.check("%s: .bss after %s %s" % (prog, case["name"], sub), sub == case["bss"],
                     "want %s" % case["bss"])
        if "printk" in case:
            trace = trace_file()
            if trace is None:
                print("skip  %s: printk (no tracefs)" % prog)
            else:
                tag = "bpftool-%d " % proc.pid
                lines = [ln for ln in open(trace, errors="replace") if tag in ln]
                ok = any(ln.rstrip("\n").endswith("bpf_trace_printk: " + case["printk"])
                         for ln in lines)
                ck.check("%s: printk after %s: %r" % (prog, case["name"], case["printk"]), ok,
                         "trace lines of that run: %r" % lines)


def trace_file():
    """The ftrace buffer that bpf_trace_printk writes to, mounting tracefs if needed."""
    for d in ("/sys/kernel/tracing", "/sys/kernel/debug/tracing"):
        if os.path.exists(d + "/trace"):
            return d + "/trace"
    try:
        run(["mount", "-t", "tracefs", "tracefs", "/sys/kernel/tracing"])
    except (subprocess.CalledProcessError, OSError):
        return None
    return "/sys/kernel/tracing/trace" if os.path.exists("/sys/kernel/tracing/trace") else None


def bss_pin(mdir):
    return os.path.join(mdir, [p for p in os.listdir(mdir) if p.endswith("_bss")][0])


def cmd_check():
    if os.geteuid() != 0:
        print("check needs root", file=sys.stderr)
        return 2
    if not shutil.which("bpftool"):
        print("check needs bpftool: apt-get install bpftool", file=sys.stderr)
        return 2
    if not os.path.ismount("/sys/fs/bpf"):
        run(["mount", "-t", "bpf", "bpf", "/sys/fs/bpf"])
    base = "/sys/fs/bpf/waggle-examples-%d" % os.getpid()
    tmp = tempfile.mkdtemp(prefix="waggle-examples-")
    runner = Runner(tmp)
    ck = Checker()
    try:
        for prog, spec in all_cases().items():
            obj = os.path.join(HERE, spec["object"])
            pdir, mdir = "%s/%s/progs" % (base, prog), "%s/%s/maps" % (base, prog)
            os.makedirs("%s/%s" % (base, prog))
            try:
                run(["bpftool", "prog", "loadall", obj, pdir, "pinmaps", mdir])
                ck.check("%s: loads (kernel verifier): %s" % (prog, " ".join(sorted(os.listdir(pdir)))),
                         True)
            except subprocess.CalledProcessError as e:
                ck.check("%s: loads (kernel verifier)" % prog, False, e.stderr[-2000:])
                continue
            pin = os.path.join(pdir, spec["prog"])
            for case in spec["cases"]:
                runner.run_case(ck, prog, pin, case, mdir)
            check_maps(ck, prog, spec, mdir)
            for case in spec.get("extra", []):
                runner.run_case(ck, prog, pin, case)
    finally:
        runner.cleanup()
        shutil.rmtree(base, ignore_errors=True)
        shutil.rmtree(tmp, ignore_errors=True)
    print("%d passed, %d failed" % (ck.passed, ck.failed))
    return 1 if ck.failed else 0


def check_maps(ck, prog, spec, mdir):
    for name, m in spec["maps"].items():
        label = "%s: map %s" % (prog, name)
        if name == ".bss":
            pin = bss_pin(mdir)
        else:
            pin = os.path.join(mdir, name)
        t = m["type"]
        if t == "percpu_u64":
            got = {}
            for e in map_dump(pin):
                k = struct.unpack("<I", hexbytes(e["key"]))[0]
                total = sum(struct.unpack("<Q", hexbytes(v["value"]))[0] for v in e["values"])
                if total:
                    got[k] = total
            ck.check(label + " " + str(got), got == m["entries"], "want %s" % m["entries"])
        elif t in ("u64_array", "lb_stats"):
            got = {}
            for e in map_dump(pin):
                k = struct.unpack("<I", hexbytes(e["key"]))[0]
                v = hexbytes(e["value"])
                val = struct.unpack("<Q", v)[0] if t == "u64_array" else struct.unpack("<QQ", v)
                if any(val) if isinstance(val, tuple) else val:
                    got[k] = val
            ck.check(label + " " + str(got), got == m["entries"], "want %s" % m["entries"])
        elif t == "ringbuf":
            recs = ringbuf_records(pin, 16384)
            ck.check(label + " %d records" % len(recs), recs == m["records"],
                     "got %s want %s" % (recs, m["records"]))
        elif t == "bss_vars":
            vals = bss_vars(pin)
            sub = {k: vals.get(k) for k in m["vars"]}
            ck.check(label + " " + str(sub), sub == m["vars"], "want %s" % m["vars"])


def main(argv):
    if len(argv) >= 2 and argv[1] == "write" and len(argv) == 3:
        cmd_write(argv[2])
        return 0
    if len(argv) == 2 and argv[1] == "maglev":
        return cmd_maglev()
    if len(argv) in (4, 5) and argv[1] == "lb":
        cmd_lb(argv[2], argv[3], argv[4] if len(argv) == 5 else "tcp")
        return 0
    if len(argv) == 2 and argv[1] == "check":
        return cmd_check()
    print(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
