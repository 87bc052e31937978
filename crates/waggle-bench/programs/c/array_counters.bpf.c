/* SPDX-License-Identifier: Apache-2.0 */
/*
 * array_counters — a byte-value histogram kept in an array map instead of
 * the stack: for each of the first 128 bytes of the frame, one
 * bpf_map_lookup_elem of the counter for (byte & 63) and an increment
 * through the returned pointer, as per-key statistics are kept.
 *
 * Measures: an array map lookup (a helper call in an interpreter, inlined
 * by the kernel's JIT) per byte.
 *
 * Result: a sum over the bytes of key * position for every lookup that
 * found its counter, which does not depend on the counters' values left by
 * earlier runs. The native row keeps the counters in a static array.
 */
#include "bench.h"

#define COUNTERS 64
#define BYTES 128

BENCH_ARRAY_MAP(counters, __u64, COUNTERS);

static __always_inline __u64 bench_array_counters(const __u8 *data, const __u8 *data_end)
{
	__u64 acc = 0;
	__u32 i;

	for (i = 0; i < BYTES; i++) {
		__u32 key;
		__u64 *counter;

		if (data + i + 1 > data_end)
			break;
		key = data[i] & (COUNTERS - 1);
		counter = bench_array_lookup(counters, key);
		if (counter) {
			*counter += 1;
			acc += (__u64)key * (i + 1);
		}
	}
	return acc;
}

BENCH_PROGRAM_NO_RAW(array_counters)
