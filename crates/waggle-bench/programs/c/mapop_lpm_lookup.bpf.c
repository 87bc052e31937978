/* SPDX-License-Identifier: Apache-2.0 */
/*
 * mapop_lpm_lookup — one bpf_map_lookup_elem in an LPM trie of IPv4 routes
 * (the routes of lpm_route: 0.0.0.0/0, 10.0.0.0/8, 64 /16s and 256 /24s),
 * keyed by the frame's IPv4 destination (bytes 30-33 of an untagged frame;
 * any 4 bytes for other frames).
 *
 * One of the map benchmarks: see mapop_none, whose time per run is the
 * baseline to subtract.
 *
 * Result: the route found, or all ones if none.
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

static __always_inline __u64 bench_mapop_lpm_lookup(const __u8 *data, const __u8 *data_end)
{
	struct lpm_v4 key = { .prefixlen = 32 };
	__u32 *route;

	if (data + 34 > data_end)
		return ~0ull;
	key.addr = bench_load32(data + 30);
	route = bpf_map_lookup_elem(&routes, &key);
	return route ? *route : ~0ull;
}

BENCH_PROGRAM_NO_RAW(mapop_lpm_lookup)

#endif /* BENCH_NATIVE */
