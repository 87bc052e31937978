/* SPDX-License-Identifier: Apache-2.0 */
/*
 * parse_flow — the header walk of every XDP load balancer or firewall:
 * Ethernet, up to two VLAN tags, IPv4 (options skipped by ihl) or IPv6,
 * then TCP or UDP, each bounds-checked against data_end; the 5-tuple is
 * hashed into a flow id.
 *
 * Measures: one pass of dependent, bounds-checked header loads and
 * protocol branches; a short program, so the per-run cost of the runtime
 * shows.
 *
 * Result: the flow hash in the low 32 bits, the L4 protocol in bits 32-39,
 * the L3 EtherType in bits 40-55; 0 for a frame that is not IP TCP/UDP.
 */
#include "bench.h"

static __always_inline __u32 flow_mix(__u32 a, __u32 b, __u32 c)
{
	c ^= b; c -= bench_rotl32(b, 14);
	a ^= c; a -= bench_rotl32(c, 11);
	b ^= a; b -= bench_rotl32(a, 25);
	c ^= b; c -= bench_rotl32(b, 16);
	a ^= c; a -= bench_rotl32(c, 4);
	b ^= a; b -= bench_rotl32(a, 14);
	c ^= b; c -= bench_rotl32(b, 24);
	return c;
}

static __always_inline __u64 bench_parse_flow(const __u8 *data, const __u8 *data_end)
{
	const __u8 *p = data + 14, *l4;
	__u32 saddr, daddr, ports, proto, ethertype, i;

	if (p > data_end)
		return 0;
	ethertype = bench_be16(data + 12);
	for (i = 0; i < 2; i++) {
		if (ethertype != 0x8100 && ethertype != 0x88a8)
			break;
		if (p + 4 > data_end)
			return 0;
		ethertype = bench_be16(p + 2);
		p += 4;
	}
	if (ethertype == 0x0800) {
		__u32 ihl;

		if (p + 20 > data_end)
			return 0;
		ihl = p[0] & 0xf;
		if (ihl < 5)
			return 0;
		/* Fragments after the first carry no L4 header. */
		if (bench_be16(p + 6) & 0x1fff)
			return 0;
		proto = p[9];
		saddr = bench_load32(p + 12);
		daddr = bench_load32(p + 16);
		l4 = p + ihl * 4;
	} else if (ethertype == 0x86dd) {
		if (p + 40 > data_end)
			return 0;
		proto = p[6];
		saddr = bench_load32(p + 8) ^ bench_load32(p + 12) ^ bench_load32(p + 16) ^
			bench_load32(p + 20);
		daddr = bench_load32(p + 24) ^ bench_load32(p + 28) ^ bench_load32(p + 32) ^
			bench_load32(p + 36);
		l4 = p + 40;
	} else {
		return 0;
	}
	if (proto != 6 && proto != 17)
		return 0;
	if (l4 + 4 > data_end)
		return 0;
	ports = bench_load32(l4);
	return ((__u64)ethertype << 40) | ((__u64)proto << 32) |
	       flow_mix(saddr, daddr, ports ^ proto);
}

BENCH_PROGRAM(parse_flow)
