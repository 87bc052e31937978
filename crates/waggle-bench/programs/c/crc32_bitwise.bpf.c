/* SPDX-License-Identifier: Apache-2.0 */
/*
 * crc32_bitwise — CRC-32 (IEEE 802.3, reflected polynomial 0xedb88320) of
 * the first 256 bytes of the frame, computed bit by bit.
 *
 * Measures: shift/xor/and chains with no memory traffic, eight dependent
 * steps per byte; only 256 bytes, as it costs eight times what a table
 * lookup does.
 */
#include "bench.h"

#define CRC_BYTES 256

static __always_inline __u64 bench_crc32_bitwise(const __u8 *data, const __u8 *data_end)
{
	__u32 crc = 0xffffffff;
	__u32 i, j;

	for (i = 0; i < CRC_BYTES; i++) {
		if (data + i + 1 > data_end)
			break;
		crc ^= data[i];
		for (j = 0; j < 8; j++) {
			__u32 bit = crc & 1;

			/* A multiply, not a {0, -1} mask: see bench_opaque. */
			bench_opaque(bit);
			crc = (crc >> 1) ^ (0xedb88320 * bit);
		}
	}
	return ~crc;
}

BENCH_PROGRAM(crc32_bitwise)
