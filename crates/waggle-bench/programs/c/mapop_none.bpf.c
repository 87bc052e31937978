/* SPDX-License-Identifier: Apache-2.0 */
/*
 * mapop_none — the baseline of the map benchmarks: the key computation
 * alone.
 *
 * One of the map benchmarks: each program computes a key from the frame's
 * IPv4 addresses (bytes 26-33 of an untagged frame; any 8 bytes for other
 * frames), so the compiler cannot fold the operation away, and does exactly
 * one map operation (here: none). mapop_none does everything but the
 * operation; the difference in time per run is the cost of the operation.
 *
 * Result: the key.
 */
#include "bench.h"

#ifndef BENCH_NATIVE

/* A key in [0, 1024): the benchmark fills every one of them. */
static __always_inline __u32 mapop_key(const __u8 *data, const __u8 *data_end)
{
	if (data + 34 > data_end)
		return 0;
	return ((bench_load32(data + 26) ^ bench_load32(data + 30)) * 0x9e3779b1) >> 22;
}

static __always_inline __u64 bench_mapop_none(const __u8 *data, const __u8 *data_end)
{
	return mapop_key(data, data_end);
}

BENCH_PROGRAM_NO_RAW(mapop_none)

#endif /* BENCH_NATIVE */
