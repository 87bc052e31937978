/* SPDX-License-Identifier: Apache-2.0 */
/*
 * prandom_loop — 32 calls of bpf_get_prandom_u32, as a packet sampler
 * drawing for every decision does.
 *
 * Measures: the cost of a helper call that steps a pseudo-random generator.
 * The native row steps the generator the kernel's helper steps (per-CPU
 * Tausworthe, prandom_u32_state), per thread.
 *
 * Result: the number of draws (32) plus the frame's first 8 bytes, so it is
 * the same on every runtime; 0 for a frame under 8 bytes. The draws
 * themselves go to the .bss variable `draws`.
 */
#include "bench.h"

#define CALLS 32

BENCH_SINK(__u32, draws);

static __always_inline __u64 bench_prandom_loop(const __u8 *data, const __u8 *data_end)
{
	__u32 acc = 0, i;

	if (data + 8 > data_end)
		return 0;
	for (i = 0; i < CALLS; i++)
		acc ^= bpf_get_prandom_u32();
	draws ^= acc;
	return CALLS + bench_load64(data);
}

BENCH_PROGRAM_NO_RAW(prandom_loop)
