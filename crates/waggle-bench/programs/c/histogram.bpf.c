/* SPDX-License-Identifier: Apache-2.0 */
/*
 * histogram — a byte-value histogram of the whole frame in 64 buckets (value
 * / 4) of 32-bit counters on the stack, then a pass over the buckets: the
 * sum of squared counts (a uniformity score, as entropy estimators for
 * encrypted-traffic detection compute) and the fullest bucket.
 *
 * Measures: stack loads and stores at offsets computed from packet bytes.
 *
 * Result: sum of squares in bits 8-63, index of the fullest bucket in the
 * low 8 bits.
 */
#include "bench.h"

#define BUCKETS 64

static __always_inline __u64 bench_histogram(const __u8 *data, const __u8 *data_end)
{
	__u32 hist[BUCKETS];
	__u32 i, best = 0, best_count = 0;
	__u64 squares = 0;

	for (i = 0; i < BUCKETS; i++)
		hist[i] = 0;
	for (i = 0; i < BENCH_MAX_FRAME; i++) {
		if (data + i + 1 > data_end)
			break;
		hist[(data[i] >> 2) & (BUCKETS - 1)]++;
	}
	for (i = 0; i < BUCKETS; i++) {
		__u32 c = hist[i];

		squares += (__u64)c * c;
		if (c > best_count) {
			best_count = c;
			best = i;
		}
	}
	return (squares << 8) | best;
}

BENCH_PROGRAM(histogram)
