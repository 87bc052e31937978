/* SPDX-License-Identifier: Apache-2.0 */
/*
 * memchr — finds every newline in the L4 payload, as a line splitter does:
 * counts them and sums their offsets.
 *
 * Measures: a byte load, a compare and a rarely taken branch per byte.
 *
 * Result: newline count in bits 32-63, sum of their payload offsets in the
 * low 32 bits; 0 if the frame has no TCP/UDP payload.
 */
#include "bench.h"

static __always_inline __u64 bench_memchr(const __u8 *data, const __u8 *data_end)
{
	int off = bench_payload_offset(data, data_end);
	const __u8 *payload;
	__u32 count = 0, sum = 0, i;

	if (off < 0)
		return 0;
	payload = data + off;
	for (i = 0; i < BENCH_MAX_FRAME; i++) {
		if (payload + i + 1 > data_end)
			break;
		if (payload[i] == '\n') {
			count++;
			sum += i;
		}
	}
	return ((__u64)count << 32) | sum;
}

BENCH_PROGRAM(memchr)
