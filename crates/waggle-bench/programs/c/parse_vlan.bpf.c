/* SPDX-License-Identifier: Apache-2.0 */
/*
 * parse_vlan — walks a stack of up to eight 802.1Q / 802.1ad VLAN tags, as a
 * provider-edge classifier does, folding each tag's priority and VLAN id
 * into a key, then reads the inner EtherType and the IP version byte.
 *
 * Measures: a bounded loop whose trip count comes from the packet, with a
 * bounds check per tag.
 *
 * Result: tag count in bits 56-63, inner EtherType in bits 40-55, the first
 * byte after the tags in bits 32-39, the folded tag key in the low 32 bits.
 */
#include "bench.h"

#define MAX_TAGS 8

static __always_inline __u64 bench_parse_vlan(const __u8 *data, const __u8 *data_end)
{
	const __u8 *p = data + 14;
	__u32 ethertype, key = 0, tags = 0, i;
	__u64 first = 0;

	if (p > data_end)
		return 0;
	ethertype = bench_be16(data + 12);
	for (i = 0; i < MAX_TAGS; i++) {
		__u32 tci;

		if (ethertype != 0x8100 && ethertype != 0x88a8)
			break;
		if (p + 4 > data_end)
			return 0;
		tci = bench_be16(p);
		/* Priority (3 bits) and VLAN id (12 bits), outermost first. */
		key = key * 0x01000193 ^ (((tci >> 13) << 12) | (tci & 0xfff));
		ethertype = bench_be16(p + 2);
		p += 4;
		tags++;
	}
	if (p + 1 <= data_end)
		first = *p;
	return ((__u64)tags << 56) | ((__u64)ethertype << 40) | (first << 32) | key;
}

BENCH_PROGRAM(parse_vlan)
