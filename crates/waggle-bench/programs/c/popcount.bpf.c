/* SPDX-License-Identifier: Apache-2.0 */
/*
 * popcount — population count of the first 32 64-bit words of the frame
 * with Kernighan's loop (clear the lowest set bit until none is left): an
 * inner loop whose trip count is data-dependent, bounded by 64 for the
 * verifier.
 *
 * Measures: nested bounded loops with data-dependent exits; about 32 inner
 * iterations per word on random data.
 *
 * Result: total set bits in bits 32-63, a position-weighted sum in the low
 * 32 bits.
 */
#include "bench.h"

#define WORDS 32

static __always_inline __u64 bench_popcount(const __u8 *data, const __u8 *data_end)
{
	__u32 total = 0, weighted = 0, i, j;

	for (i = 0; i < WORDS; i++) {
		const __u8 *p = data + i * 8;
		__u64 w;
		__u32 bits = 0;

		if (p + 8 > data_end)
			break;
		w = bench_load64(p);
		for (j = 0; j < 64; j++) {
			/* Keeps j and bits apart: merged, the bit count would be
			 * the loop counter, which the verifier tracks exactly,
			 * and no two paths through the words would ever meet. */
			bench_opaque(j);
			if (!w)
				break;
			w &= w - 1;
			bits++;
		}
		total += bits;
		weighted += bits * (i + 1);
	}
	return ((__u64)total << 32) | weighted;
}

BENCH_PROGRAM(popcount)
