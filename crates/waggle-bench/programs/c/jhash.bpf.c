/* SPDX-License-Identifier: Apache-2.0 */
/*
 * jhash — Bob Jenkins' lookup3 (the kernel's jhash) over the whole frame:
 * __jhash_mix on every 12-byte block, the last 1 to 12 bytes added into
 * a, b and c as jhash() does, then __jhash_final.
 *
 * Measures: 32-bit add/xor/rotate chains, the ALU32 side of the ISA.
 */
#include "bench.h"

#define JHASH_INITVAL 0xdeadbeef

#define jhash_mix(a, b, c)                                                       \
	do {                                                                     \
		a -= c; a ^= bench_rotl32(c, 4);  c += b;                        \
		b -= a; b ^= bench_rotl32(a, 6);  a += c;                        \
		c -= b; c ^= bench_rotl32(b, 8);  b += a;                        \
		a -= c; a ^= bench_rotl32(c, 16); c += b;                        \
		b -= a; b ^= bench_rotl32(a, 19); a += c;                        \
		c -= b; c ^= bench_rotl32(b, 4);  b += a;                        \
	} while (0)

#define jhash_final(a, b, c)                                                     \
	do {                                                                     \
		c ^= b; c -= bench_rotl32(b, 14);                                \
		a ^= c; a -= bench_rotl32(c, 11);                                \
		b ^= a; b -= bench_rotl32(a, 25);                                \
		c ^= b; c -= bench_rotl32(b, 16);                                \
		a ^= c; a -= bench_rotl32(c, 4);                                 \
		b ^= a; b -= bench_rotl32(a, 14);                                \
		c ^= b; c -= bench_rotl32(b, 24);                                \
	} while (0)

static __always_inline __u64 bench_jhash(const __u8 *data, const __u8 *data_end)
{
	__u32 a = JHASH_INITVAL, b = JHASH_INITVAL, c = JHASH_INITVAL;
	const __u8 *p = data;
	__u32 i, tail[3] = { 0, 0, 0 };

	/* Every block but the last, which jhash() finalises instead of mixing. */
	for (i = 0; i < BENCH_MAX_FRAME / 12; i++) {
		if (p + 13 > data_end)
			break;
		a += bench_load32(p);
		b += bench_load32(p + 4);
		c += bench_load32(p + 8);
		jhash_mix(a, b, c);
		p += 12;
	}
	for (i = 0; i < 12; i++) {
		if (p + i + 1 > data_end)
			break;
		tail[i / 4] |= (__u32)p[i] << (8 * (i % 4));
	}
	if (i == 0)
		return c;
	a += tail[0];
	b += tail[1];
	c += tail[2];
	jhash_final(a, b, c);
	return ((__u64)b << 32) | c;
}

BENCH_PROGRAM(jhash)
