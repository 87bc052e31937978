/* SPDX-License-Identifier: Apache-2.0 */
/*
 * strsearch — searches the L4 payload for the 8-byte needle "X-Trace:", as
 * an L7 filter looking for a header does, the way memmem implementations
 * do: a byte-by-byte scan for the first byte, then one 8-byte compare of
 * the candidate.
 *
 * Measures: a byte load and compare per offset, a rarer 8-byte load.
 *
 * Result: match count in bits 32-63, sum of match offsets in the low 32
 * bits; 0 if the frame has no TCP/UDP payload.
 */
#include "bench.h"

/* "X-Trace:" as a little-endian 64-bit word. */
#define NEEDLE 0x3a65636172542d58ull

static __always_inline __u64 bench_strsearch(const __u8 *data, const __u8 *data_end)
{
	int off = bench_payload_offset(data, data_end);
	const __u8 *payload;
	__u32 count = 0, sum = 0, i;

	if (off < 0)
		return 0;
	payload = data + off;
	for (i = 0; i < BENCH_MAX_FRAME; i++) {
		const __u8 *p = payload + i;

		if (p + 8 > data_end)
			break;
		if (p[0] == 'X' && bench_load64(p) == NEEDLE) {
			count++;
			sum += i;
		}
	}
	return ((__u64)count << 32) | sum;
}

BENCH_PROGRAM(strsearch)
