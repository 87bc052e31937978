/* SPDX-License-Identifier: Apache-2.0 */
/*
 * csum_diff_loop — the checksum of the frame's 32-byte blocks through
 * bpf_csum_diff, one call per block carrying the running sum as the seed,
 * as programs that rewrite a payload recompute its checksum.
 *
 * Measures: a helper call that reads packet memory, per 32 bytes. The
 * native row runs the kernel's arithmetic (csum_partial and the fold).
 *
 * Result: the folded 16-bit sum; bytes after the last whole block are left
 * out.
 */
#include "bench.h"

#define BLOCK 32

static __always_inline __u64 bench_csum_diff_loop(const __u8 *data, const __u8 *data_end)
{
	__u32 sum = 0, i;

	for (i = 0; i < BENCH_MAX_FRAME / BLOCK; i++) {
		const __u8 *p = data + i * BLOCK;
		__s64 r;

		if (p + BLOCK > data_end)
			break;
		r = bpf_csum_diff(NULL, 0, (__be32 *)p, BLOCK, sum);
		if (r < 0)
			return 0;
		sum = (__u32)r;
	}
	return sum;
}

BENCH_PROGRAM_NO_RAW(csum_diff_loop)
