/* SPDX-License-Identifier: Apache-2.0 */
/*
 * flow_table — per-flow packet and byte counters in a hash map, the core of
 * every flow monitor: parses the IPv4 5-tuple, looks the flow up, and
 * writes back the counters plus this packet (bpf_map_update_elem, which
 * inserts the flow the first time).
 *
 * Measures: one hash map lookup and one update per packet, with a 16-byte
 * key, next to a short header parse.
 *
 * Result: the 5-tuple folded with the IP total length, which does not depend
 * on what earlier runs left in the map; 0 if the frame is not IPv4 TCP/UDP
 * without VLAN tags.
 *
 * No native row: a hash map has no native equivalent simple enough to be a
 * fair stand-in for the kernel's.
 */
#include "bench.h"

#ifndef BENCH_NATIVE

struct flow_key {
	__u32 saddr;
	__u32 daddr;
	__u32 ports;
	__u32 proto;
};

struct flow_stats {
	__u64 packets;
	__u64 bytes;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, struct flow_key);
	__type(value, struct flow_stats);
} flows SEC(".maps");

static __always_inline __u64 bench_flow_table(const __u8 *data, const __u8 *data_end)
{
	const __u8 *ip = data + 14, *l4;
	struct flow_key key;
	struct flow_stats stats, *old;
	__u32 ihl, tot_len;

	if (ip + 20 > data_end || bench_be16(data + 12) != 0x0800)
		return 0;
	ihl = ip[0] & 0xf;
	if (ihl < 5 || (ip[9] != 6 && ip[9] != 17))
		return 0;
	l4 = ip + ihl * 4;
	if (l4 + 4 > data_end)
		return 0;
	key.saddr = bench_load32(ip + 12);
	key.daddr = bench_load32(ip + 16);
	key.ports = bench_load32(l4);
	key.proto = ip[9];
	tot_len = bench_be16(ip + 2);

	stats.packets = 1;
	stats.bytes = tot_len;
	old = bpf_map_lookup_elem(&flows, &key);
	if (old) {
		stats.packets += old->packets;
		stats.bytes += old->bytes;
	}
	bpf_map_update_elem(&flows, &key, &stats, BPF_ANY);
	return ((__u64)(key.saddr ^ key.ports) << 32) | (key.daddr ^ (key.proto << 16) ^ tot_len);
}

BENCH_PROGRAM_NO_RAW(flow_table)

#endif /* BENCH_NATIVE */
