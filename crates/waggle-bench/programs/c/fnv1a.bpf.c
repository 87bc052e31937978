/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fnv1a — 64-bit FNV-1a hash of the whole frame, one byte at a time.
 *
 * Measures: a byte load, a bounds check, an xor and a 64-bit multiply per
 * byte; the loop-carried multiply chain is what a native CPU waits on.
 */
#include "bench.h"

static __always_inline __u64 bench_fnv1a(const __u8 *data, const __u8 *data_end)
{
	__u64 h = 0xcbf29ce484222325ull;
	__u32 i;

	for (i = 0; i < BENCH_MAX_FRAME; i++) {
		if (data + i + 1 > data_end)
			break;
		h ^= data[i];
		h *= 0x100000001b3ull;
	}
	return h;
}

BENCH_PROGRAM(fnv1a)
