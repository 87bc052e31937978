/* SPDX-License-Identifier: Apache-2.0 */
/*
 * xxhash64 — XXH64 (seed 0) of the whole frame: four lanes of 64-bit
 * multiply-rotate rounds over 32-byte stripes, then the merge, the 8-, 4-
 * and 1-byte tails and the avalanche.
 *
 * Measures: 64-bit loads and multiplies with independent lanes, the mixing
 * that murmur3- and xxhash-style hashes are made of.
 */
#include "bench.h"

#define P1 11400714785074694791ull
#define P2 14029467366897019727ull
#define P3 1609587929392839161ull
#define P4 9650029242287828579ull
#define P5 2870177450012600261ull

static __always_inline __u64 xxh_round(__u64 acc, __u64 input)
{
	acc += input * P2;
	acc = bench_rotl64(acc, 31);
	return acc * P1;
}

static __always_inline __u64 xxh_merge(__u64 acc, __u64 val)
{
	acc ^= xxh_round(0, val);
	return acc * P1 + P4;
}

static __always_inline __u64 bench_xxhash64(const __u8 *data, const __u8 *data_end)
{
	__u64 v1 = P1 + P2, v2 = P2, v3 = 0, v4 = 0 - P1;
	const __u8 *p = data;
	__u64 h, len = 0;
	__u32 i;

	for (i = 0; i < BENCH_MAX_FRAME / 32; i++) {
		if (p + 32 > data_end)
			break;
		v1 = xxh_round(v1, bench_load64(p));
		v2 = xxh_round(v2, bench_load64(p + 8));
		v3 = xxh_round(v3, bench_load64(p + 16));
		v4 = xxh_round(v4, bench_load64(p + 24));
		p += 32;
		len += 32;
	}
	if (len) {
		h = bench_rotl64(v1, 1) + bench_rotl64(v2, 7) + bench_rotl64(v3, 12) +
		    bench_rotl64(v4, 18);
		h = xxh_merge(h, v1);
		h = xxh_merge(h, v2);
		h = xxh_merge(h, v3);
		h = xxh_merge(h, v4);
	} else {
		h = P5;
	}
	/* XXH64 adds the total length before the tails; count the tail bytes
	 * first (the verifier allows no arithmetic on data_end). */
	for (i = 0; i < 31; i++) {
		bench_opaque(i);
		if (p + i + 1 > data_end)
			break;
	}
	len += i;
	h += len;
	for (i = 0; i < 3; i++) {
		if (p + 8 > data_end)
			break;
		h ^= xxh_round(0, bench_load64(p));
		h = bench_rotl64(h, 27) * P1 + P4;
		p += 8;
	}
	if (p + 4 <= data_end) {
		h ^= (__u64)bench_load32(p) * P1;
		h = bench_rotl64(h, 23) * P2 + P3;
		p += 4;
	}
	for (i = 0; i < 3; i++) {
		if (p + 1 > data_end)
			break;
		h ^= *p * P5;
		h = bench_rotl64(h, 11) * P1;
		p++;
	}
	h ^= h >> 33;
	h *= P2;
	h ^= h >> 29;
	h *= P3;
	h ^= h >> 32;
	return h;
}

BENCH_PROGRAM(xxhash64)
