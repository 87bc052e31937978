// SPDX-License-Identifier: GPL-2.0
/*
 * xdp_proto_count — count packets per IP protocol number.
 *
 * Program: xdp_proto_count, section "xdp" (BPF_PROG_TYPE_XDP).
 *
 * What it does: for an IPv4 frame (EtherType 0x0800) it takes the IPv4
 * header's protocol field, for an IPv6 frame (EtherType 0x86DD) the IPv6
 * header's next-header field (extension headers are not walked), and adds 1
 * to this CPU's slot of proto_count[protocol]. Frames of any other EtherType,
 * and frames too short for the Ethernet + IP header, are not counted.
 *
 * Returns: XDP_PASS (2), always. The packet is never modified.
 *
 * Maps:
 *   proto_count  BPF_MAP_TYPE_PERCPU_ARRAY, 256 entries, key __u32 (the IP
 *                protocol number), value __u64 (packets seen on that CPU).
 *                The total for a protocol is the sum over all CPUs.
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 256);
	__type(key, __u32);
	__type(value, __u64);
} proto_count SEC(".maps");

SEC("xdp")
int xdp_proto_count(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	__u32 proto;
	__u64 *count;

	if ((void *)(eth + 1) > data_end)
		return XDP_PASS;

	if (eth->h_proto == bpf_htons(ETH_P_IP)) {
		struct iphdr *iph = (void *)(eth + 1);

		if ((void *)(iph + 1) > data_end)
			return XDP_PASS;
		proto = iph->protocol;
	} else if (eth->h_proto == bpf_htons(ETH_P_IPV6)) {
		struct ipv6hdr *ip6h = (void *)(eth + 1);

		if ((void *)(ip6h + 1) > data_end)
			return XDP_PASS;
		proto = ip6h->nexthdr;
	} else {
		return XDP_PASS;
	}

	count = bpf_map_lookup_elem(&proto_count, &proto);
	if (count)
		*count += 1; /* per-CPU slot: no other CPU writes it */
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
