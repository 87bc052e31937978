/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fletcher32 — Fletcher-32 of the whole frame as 16-bit little-endian
 * words, both sums reduced modulo 65535 after every word (the textbook
 * form; a trailing odd byte is one more word).
 *
 * Measures: 16-bit loads and a modulo by a constant per word, which
 * compilers turn into a multiply and shifts.
 */
#include "bench.h"

static __always_inline __u64 bench_fletcher32(const __u8 *data, const __u8 *data_end)
{
	const __u8 *p = data;
	__u32 s1 = 0, s2 = 0;
	__u32 i;

	for (i = 0; i < BENCH_MAX_FRAME / 2; i++) {
		if (p + 2 > data_end)
			break;
		s1 = (s1 + bench_load16(p)) % 65535;
		s2 = (s2 + s1) % 65535;
		p += 2;
	}
	if (p + 1 <= data_end) {
		s1 = (s1 + *p) % 65535;
		s2 = (s2 + s1) % 65535;
	}
	return (s2 << 16) | s1;
}

BENCH_PROGRAM(fletcher32)
