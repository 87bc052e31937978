/* SPDX-License-Identifier: Apache-2.0 */
/*
 * adler32 — Adler-32 (zlib) of the whole frame. Like zlib, the two sums are
 * reduced modulo 65521 only once per 5552 bytes (NMAX), here once at the
 * end, since a frame is shorter.
 *
 * Measures: a byte load and two dependent 32-bit additions per byte.
 */
#include "bench.h"

#define ADLER_MOD 65521

static __always_inline __u64 bench_adler32(const __u8 *data, const __u8 *data_end)
{
	__u32 a = 1, b = 0;
	__u32 i;

	for (i = 0; i < BENCH_MAX_FRAME; i++) {
		if (data + i + 1 > data_end)
			break;
		a += data[i];
		b += a;
	}
	a %= ADLER_MOD;
	b %= ADLER_MOD;
	return (b << 16) | a;
}

BENCH_PROGRAM(adler32)
