/* SPDX-License-Identifier: Apache-2.0 */
/*
 * call_mix — hashes the frame's 64-bit words through BPF-to-BPF calls: one
 * __noinline call per word, which itself calls a second __noinline function
 * every eighth word, then a last call for the avalanche.
 *
 * Measures: call and return (argument and result registers, a new stack
 * frame each) in a loop, around a few ALU instructions.
 *
 * Result: the hash.
 */
#include "bench.h"

#define P1 11400714785074694791ull
#define P2 14029467366897019727ull
#define P4 9650029242287828579ull

static __noinline __u64 avalanche(__u64 h)
{
	h ^= h >> 33;
	h *= P2;
	h ^= h >> 29;
	return h;
}

static __noinline __u64 mix_word(__u64 h, __u64 w, __u32 i)
{
	w *= P2;
	w = bench_rotl64(w, 31);
	h ^= w * P1;
	h = bench_rotl64(h, 27) * P1 + P4;
	if ((i & 7) == 7)
		h = avalanche(h);
	return h;
}

static __always_inline __u64 bench_call_mix(const __u8 *data, const __u8 *data_end)
{
	__u64 h = 0x27d4eb2f165667c5ull;
	__u32 i;

	for (i = 0; i < BENCH_MAX_FRAME / 8; i++) {
		const __u8 *p = data + i * 8;

		if (p + 8 > data_end)
			break;
		h = mix_word(h, bench_load64(p), i);
	}
	return avalanche(h);
}

BENCH_PROGRAM(call_mix)
