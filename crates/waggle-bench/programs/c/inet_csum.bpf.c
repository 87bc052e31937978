/* SPDX-License-Identifier: Apache-2.0 */
/*
 * inet_csum — the Internet checksum (RFC 1071) of the whole frame: the ones'
 * complement sum of its 16-bit words, folded and complemented.
 *
 * Measures: 16-bit loads and additions into a 64-bit accumulator, the
 * checksum every packet rewrite has to redo.
 */
#include "bench.h"

static __always_inline __u64 bench_inet_csum(const __u8 *data, const __u8 *data_end)
{
	const __u8 *p = data;
	__u64 sum = 0;
	__u32 i;

	for (i = 0; i < BENCH_MAX_FRAME / 2; i++) {
		if (p + 2 > data_end)
			break;
		sum += bench_load16(p);
		p += 2;
	}
	if (p + 1 <= data_end)
		sum += *p;
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return (__u16)~sum;
}

BENCH_PROGRAM(inet_csum)
