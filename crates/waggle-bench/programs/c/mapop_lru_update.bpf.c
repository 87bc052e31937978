/* SPDX-License-Identifier: Apache-2.0 */
/*
 * mapop_lru_update — one bpf_map_update_elem (BPF_ANY) of an existing key in
 * an LRU hash map (4096 entries, 1024 present).
 *
 * One of the map benchmarks: each program computes a key from the frame's
 * IPv4 addresses (bytes 26-33 of an untagged frame; any 8 bytes for other
 * frames), so the compiler cannot fold the operation away, and does exactly
 * one map operation. mapop_none does everything but the operation; the
 * difference in time per run is the cost of the operation.
 *
 * Result: the key in the low 32 bits, the helper's return value (0) in the
 * high 32 bits.
 */
#include "bench.h"

#ifndef BENCH_NATIVE

/* A key in [0, 1024): the benchmark fills every one of them. */
static __always_inline __u32 mapop_key(const __u8 *data, const __u8 *data_end)
{
	if (data + 34 > data_end)
		return 0;
	return ((bench_load32(data + 26) ^ bench_load32(data + 30)) * 0x9e3779b1) >> 22;
}

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 4096);
	__type(key, __u32);
	__type(value, __u64);
} table SEC(".maps");

static __always_inline __u64 bench_mapop_lru_update(const __u8 *data, const __u8 *data_end)
{
	__u32 key = mapop_key(data, data_end);
	__u64 value = key ^ 0x5555;
	long ret = bpf_map_update_elem(&table, &key, &value, BPF_ANY);

	return ((__u64)(__u32)ret << 32) | key;
}

BENCH_PROGRAM_NO_RAW(mapop_lru_update)

#endif /* BENCH_NATIVE */
