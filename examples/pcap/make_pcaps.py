#!/usr/bin/env python3
"""Writes the sample captures of the quick start from the frames of
examples/c/packets.py: mixed.pcap (one frame of each kind) and lb.pcap (flows
to the load balancer's VIP and others). Run from anywhere: python3 make_pcaps.py"""
import os
import struct
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "c"))
import packets  # noqa: E402


def write_pcap(path, frames):
    # Classic pcap, microsecond timestamps, Ethernet link type; fixed
    # timestamps keep the files byte-for-byte reproducible.
    with open(path, "wb") as fh:
        fh.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
        for i, frame in enumerate(frames):
            fh.write(struct.pack("<IIII", 1_700_000_000 + i, 0, len(frame), len(frame)))
            fh.write(frame)


f = packets.frames()
mixed = [f[k] for k in ("icmp_echo", "tcp_syn", "tcp_ack", "udp", "gre", "icmpv6_echo", "udp6", "arp")]
write_pcap(os.path.join(HERE, "mixed.pcap"), mixed)
lb = [frame for _, frame in packets.lb_cases()]
write_pcap(os.path.join(HERE, "lb.pcap"), lb)
print("wrote mixed.pcap (%d frames) and lb.pcap (%d frames)" % (len(mixed), len(lb)))
