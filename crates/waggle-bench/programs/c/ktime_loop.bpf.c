/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ktime_loop — 32 calls of bpf_ktime_get_ns, as a latency tracker
 * timestamping the stages of its work does, checking that the clock never
 * goes backwards.
 *
 * Measures: the cost of a helper call that reads a clock. The native row
 * calls clock_gettime(CLOCK_MONOTONIC), the clock the kernel helper reads.
 *
 * Result: the number of non-decreasing readings (32), plus the frame's
 * first 8 bytes so it comes from the packet; 0 for a frame under 8 bytes.
 * The readings themselves go to the .bss variable `elapsed`.
 */
#include "bench.h"

#define CALLS 32

BENCH_SINK(__u64, elapsed);

static __always_inline __u64 bench_ktime_loop(const __u8 *data, const __u8 *data_end)
{
	__u64 first, prev, now;
	__u32 monotonic = 0, i;

	if (data + 8 > data_end)
		return 0;
	first = prev = bpf_ktime_get_ns();
	for (i = 1; i < CALLS; i++) {
		now = bpf_ktime_get_ns();
		monotonic += now >= prev;
		prev = now;
	}
	elapsed += prev - first;
	return monotonic + 1 + bench_load64(data);
}

BENCH_PROGRAM_NO_RAW(ktime_loop)
