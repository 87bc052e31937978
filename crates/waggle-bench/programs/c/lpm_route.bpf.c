/* SPDX-License-Identifier: Apache-2.0 */
/*
 * lpm_route — a routing decision: longest-prefix-match lookups of the IPv4
 * destination and source addresses in an LPM trie of routes (the benchmark
 * fills it with 0.0.0.0/0, 10.0.0.0/8, 64 /16s and 256 /24s inside
 * 10.0.0.0/8, each value naming its route).
 *
 * Measures: two LPM trie lookups per packet, next to a short header parse.
 *
 * Result: the destination's route in bits 32-63, the source's in the low
 * 32 bits (0xffffffff for no route); 0 if the frame is not IPv4.
 *
 * No native row: an LPM trie has no native equivalent simple enough to be
 * a fair stand-in for the kernel's.
 */
#include "bench.h"

#ifndef BENCH_NATIVE

struct lpm_v4 {
	__u32 prefixlen;
	__u32 addr;
};

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, 1024);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct lpm_v4);
	__type(value, __u32);
} routes SEC(".maps");

static __always_inline __u32 route_of(__u32 addr)
{
	struct lpm_v4 key = { .prefixlen = 32, .addr = addr };
	__u32 *route = bpf_map_lookup_elem(&routes, &key);

	return route ? *route : 0xffffffff;
}

static __always_inline __u64 bench_lpm_route(const __u8 *data, const __u8 *data_end)
{
	const __u8 *ip = data + 14;

	if (ip + 20 > data_end || bench_be16(data + 12) != 0x0800)
		return 0;
	return ((__u64)route_of(bench_load32(ip + 16)) << 32) | route_of(bench_load32(ip + 12));
}

BENCH_PROGRAM_NO_RAW(lpm_route)

#endif /* BENCH_NATIVE */
